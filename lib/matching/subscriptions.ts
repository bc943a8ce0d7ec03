/**
 * Compiles one entry of a Warehouse's `spec.subscriptions` into the small
 * projection the index keeps.
 * @module
 */
import type { ArtifactKind, Logger } from '../types.js';
import { normalizeChartURL, normalizeGitURL, normalizeImageURL } from './urls.js';
import { compileChartRule, compileGitRule, compileImageRule, type Rule } from './qualifiers.js';

/** A subscription reduced to what matching needs. */
export interface CompiledSubscription {
  /** Position in `spec.subscriptions`, for logs and explanations. */
  index: number;
  kind: ArtifactKind;
  /** The normalized `repoURL`. */
  repoURL: string;
  /** Why a qualifier does not match, or undefined when it does. */
  rule: Rule;
}

export const KINDS: readonly ArtifactKind[] = ['git', 'image', 'chart'];

const NORMALIZE: Record<ArtifactKind, (url: string) => string> = {
  git: normalizeGitURL,
  image: normalizeImageURL,
  chart: normalizeChartURL,
};

const COMPILE: Record<ArtifactKind, (sub: Record<string, unknown>) => Rule> = {
  git: compileGitRule,
  image: compileImageRule,
  chart: compileChartRule,
};

/**
 * Compiled rules by kind and configuration (the subscription without its
 * `repoURL`): thousands of Warehouses share a handful of configurations
 * (`semverConstraint: ^1.0.0`, `branch: main`), so they share one rule
 * instead of a closure each. A rule depends on nothing else. Bounded: past
 * {@link MAX_SHARED_RULES} configurations, new ones are compiled unshared.
 */
const sharedRules = new Map<string, Rule>();
const MAX_SHARED_RULES = 10_000;

function ruleFor(kind: ArtifactKind, sub: Record<string, unknown>): Rule {
  const { repoURL: _repoURL, ...config } = sub;
  const key = `${kind} ${JSON.stringify(config)}`;
  let rule = sharedRules.get(key);
  if (rule === undefined) {
    rule = COMPILE[kind](sub);
    if (sharedRules.size < MAX_SHARED_RULES) sharedRules.set(key, rule);
  }
  return rule;
}

/** A plain object (as parsed from JSON or YAML), or undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * Compiles `spec.subscriptions[index]`. Returns undefined for a subscription of
 * a kind this package does not serve (e.g. Kargo's generic subscriptions).
 * Throws an Error whose message says why for a broken one.
 */
export function compileSubscription(raw: unknown, index: number): CompiledSubscription | undefined {
  const entry = asRecord(raw);
  if (entry === undefined) throw new Error('subscription is not an object');
  const present = KINDS.filter((kind) => entry[kind] !== undefined && entry[kind] !== null);
  const [kind, ...others] = present;
  if (kind === undefined) return undefined;
  if (others.length > 0) throw new Error(`subscription has more than one of ${present.join(', ')}`);
  const sub = asRecord(entry[kind]);
  if (sub === undefined) throw new Error(`${kind} is not an object`);
  const repoURL = sub['repoURL'];
  if (typeof repoURL !== 'string' || repoURL.trim() === '')
    throw new Error(`${kind}.repoURL is missing`);
  return { index, kind, repoURL: NORMALIZE[kind](repoURL), rule: ruleFor(kind, sub) };
}

/** The supported subscriptions of a Warehouse manifest; each skipped one logged (a broken one as a warning). */
export function compileSubscriptions(
  manifest: unknown,
  id: { namespace: string; name: string },
  logger: Logger,
): CompiledSubscription[] {
  const raw = asRecord(asRecord(manifest)?.['spec'])?.['subscriptions'];
  if (!Array.isArray(raw)) logger.warn(id, 'Warehouse has no spec.subscriptions list');
  const subscriptions: CompiledSubscription[] = [];
  (Array.isArray(raw) ? (raw as unknown[]) : []).forEach((entry, index) => {
    try {
      const compiled = compileSubscription(entry, index);
      if (compiled) subscriptions.push(compiled);
      else
        logger.debug(
          { ...id, subscription: index },
          'skipping a subscription of an unsupported kind',
        );
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      logger.warn(
        { ...id, subscription: index, reason },
        'skipping a broken Warehouse subscription',
      );
    }
  });
  return subscriptions;
}
