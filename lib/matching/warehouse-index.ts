/**
 * An in-memory index of Warehouses by subscribed repository, answering "which
 * Warehouses does this push concern?" without scanning them all.
 * @module
 */
import type {
  ArtifactKind,
  Logger,
  NearMiss,
  PushEvent,
  PushExplanation,
  RefreshTarget,
  WarehouseExplanation,
} from '../types.js';
import { compareKeys, keyOf, namespaceFilter, readIdentity, silentLogger } from './identity.js';
import { describeDifference, repositoryName } from './near-miss.js';
import type { RuleContext } from './qualifiers.js';
import { asRecord, compileSubscription, type CompiledSubscription } from './subscriptions.js';

export type { NearMiss, WarehouseExplanation } from '../types.js';

/** What the index keeps of a Warehouse: never the manifest itself. */
interface WarehouseEntry {
  namespace: string;
  name: string;
  subscriptions: CompiledSubscription[];
}

/** Options of {@link WarehouseIndex}. */
export interface WarehouseIndexOptions {
  /** Receives a warning for each ignored manifest and skipped subscription. */
  logger?: Logger;
}

/** Options of {@link WarehouseIndex.match} and {@link WarehouseIndex.explain}. */
export interface MatchOptions {
  /** Only Warehouses in these namespaces (Kargo projects); all when absent. */
  namespaces?: readonly string[];
}

const ALL_KINDS: readonly ArtifactKind[] = ['git', 'image', 'chart'];

function bucketKey(kind: ArtifactKind, repoURL: string): string {
  return `${kind}|${repoURL}`;
}

/**
 * Why `sub` does not take any of `qualifiers`, or undefined when it takes one.
 * No qualifiers means the event carries nothing to filter on: every subscriber
 * matches.
 */
function checkQualifiers(
  sub: CompiledSubscription,
  qualifiers: readonly string[],
  context: RuleContext,
): string | undefined {
  if (qualifiers.length === 0) return undefined;
  const reasons: string[] = [];
  for (const qualifier of qualifiers) {
    const reason = sub.rule(qualifier, context);
    if (reason === undefined) return undefined;
    reasons.push(reason);
  }
  return reasons.join('; ');
}

/** `image myregistry.azurecr.io/app`: the subscription column of an explanation. */
function describe(sub: CompiledSubscription): string {
  return `${sub.kind} ${sub.repoURL}`;
}

/** Where the subscription sits in the manifest. */
function label(sub: CompiledSubscription): string {
  return `spec.subscriptions[${String(sub.index)}]`;
}

const QUALIFIER_NOUN: Record<ArtifactKind, string> = { git: '', image: 'tag ', chart: 'version ' };

/** Which qualifier `sub` takes, in words, with the note of its rule (the default branch it followed). */
function takes(sub: CompiledSubscription, event: PushEvent): string {
  const taken = event.qualifiers.find((q) => sub.rule(q, event) === undefined);
  const what =
    taken === undefined
      ? 'the push (it names no tag or ref to filter on)'
      : sub.kind === 'git'
        ? taken
        : `${QUALIFIER_NOUN[sub.kind]}${JSON.stringify(taken)}`;
  const note = taken === undefined ? undefined : sub.rule.note?.(event);
  return `${label(sub)} takes ${what}${note ? ` (${note})` : ''}`;
}

const WITH_ARTICLE: Record<ArtifactKind, string> = {
  git: 'a git',
  image: 'an image',
  chart: 'a chart',
};

/** `an image`, `an image or a chart`: what a push can be, for reasons. */
function kindsPhrase(kinds: readonly ArtifactKind[]): string {
  return kinds.length === 0 ? 'nothing' : kinds.map((kind) => WITH_ARTICLE[kind]).join(' or ');
}

/**
 * Warehouses by `${kind}|${normalized repoURL}` of their subscriptions, with
 * each subscription's qualifier rule compiled once at {@link upsert}.
 */
export class WarehouseIndex {
  readonly #logger: Logger;
  readonly #warehouses = new Map<string, WarehouseEntry>();
  /** `${kind}|${repoURL}` → Warehouse key → that Warehouse's subscriptions to it. */
  readonly #buckets = new Map<string, Map<string, CompiledSubscription[]>>();
  /**
   * kind → repository name (last path segment) → the subscribed repoURLs of
   * that name, for near misses: one entry per distinct subscribed
   * repository (the subscription's own string, no key built), kept as
   * buckets come and go.
   */
  readonly #byName: Record<ArtifactKind, Map<string, Set<string>>> = {
    git: new Map(),
    image: new Map(),
    chart: new Map(),
  };

  /** Creates an empty index. */
  constructor(options: WarehouseIndexOptions = {}) {
    this.#logger = options.logger ?? silentLogger;
  }

  /** Number of Warehouses held. */
  get size(): number {
    return this.#warehouses.size;
  }

  /**
   * Adds or replaces a Warehouse from its manifest (a plain object as parsed
   * from YAML or JSON). Keeps only namespace, name and compiled
   * subscriptions. A broken subscription (bad regex, bad semver constraint,
   * missing `repoURL`) is skipped with a warning; a manifest without
   * `metadata.name` or `metadata.namespace` is ignored with a warning. Never
   * throws.
   */
  upsert(manifest: unknown): void {
    const id = readIdentity(manifest, 'Warehouse', this.#logger);
    if (id === undefined) return;
    const { namespace, name } = id;
    const spec = asRecord(asRecord(manifest)?.['spec']);
    const raw = spec?.['subscriptions'];
    const list: unknown[] = Array.isArray(raw) ? raw : [];
    if (!Array.isArray(raw)) {
      this.#logger.warn({ namespace, name }, 'Warehouse has no spec.subscriptions list');
    }
    const subscriptions: CompiledSubscription[] = [];
    list.forEach((entry, index) => {
      try {
        const compiled = compileSubscription(entry, index);
        if (compiled === undefined) {
          this.#logger.debug(
            { namespace, name, subscription: index },
            'skipping a subscription of an unsupported kind',
          );
        } else {
          subscriptions.push(compiled);
        }
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        this.#logger.warn(
          { namespace, name, subscription: index, reason },
          'skipping a broken Warehouse subscription',
        );
      }
    });
    this.delete(namespace, name);
    const key = keyOf(namespace, name);
    this.#warehouses.set(key, { namespace, name, subscriptions });
    for (const sub of subscriptions) {
      const bk = bucketKey(sub.kind, sub.repoURL);
      let bucket = this.#buckets.get(bk);
      if (bucket === undefined) {
        bucket = new Map();
        this.#buckets.set(bk, bucket);
        this.#nameRepository(sub.kind, sub.repoURL, true);
      }
      const subs = bucket.get(key);
      if (subs === undefined) bucket.set(key, [sub]);
      else subs.push(sub);
    }
  }

  /** Removes a Warehouse; nothing happens when it is not held. */
  delete(namespace: string, name: string): void {
    const key = keyOf(namespace, name);
    const entry = this.#warehouses.get(key);
    if (entry === undefined) return;
    this.#warehouses.delete(key);
    for (const sub of entry.subscriptions) {
      const bk = bucketKey(sub.kind, sub.repoURL);
      const bucket = this.#buckets.get(bk);
      bucket?.delete(key);
      if (bucket?.size === 0) {
        this.#buckets.delete(bk);
        this.#nameRepository(sub.kind, sub.repoURL, false);
      }
    }
  }

  /** Adds or removes a subscribed repository in {@link #byName}. */
  #nameRepository(kind: ArtifactKind, repoURL: string, add: boolean): void {
    const byName = this.#byName[kind];
    const name = repositoryName(repoURL);
    let urls = byName.get(name);
    if (add) {
      if (urls === undefined) {
        urls = new Set();
        byName.set(name, urls);
      }
      urls.add(repoURL);
      return;
    }
    urls?.delete(repoURL);
    if (urls?.size === 0) byName.delete(name);
  }

  /** Removes every Warehouse. */
  clear(): void {
    this.#warehouses.clear();
    this.#buckets.clear();
    for (const kind of ALL_KINDS) this.#byName[kind].clear();
  }

  /**
   * Warehouses with at least one subscription the event concerns: same kind
   * (one of `event.kinds`), same normalized URL (one of `event.repoURLs`) and
   * a qualifier its rule takes (or no qualifiers at all). Each Warehouse at
   * most once, sorted by namespace then name. Costs O(matching Warehouses).
   */
  match(event: PushEvent, options: MatchOptions = {}): RefreshTarget[] {
    const inScope = namespaceFilter(options.namespaces);
    const found = new Map<string, WarehouseEntry>();
    for (const repoURL of new Set(event.repoURLs)) {
      for (const kind of new Set(event.kinds)) {
        const bucket = this.#buckets.get(bucketKey(kind, repoURL));
        if (bucket === undefined) continue;
        for (const [key, subs] of bucket) {
          const entry = this.#warehouses.get(key);
          if (entry === undefined || found.has(key) || !inScope(entry.namespace)) continue;
          if (subs.some((sub) => checkQualifiers(sub, event.qualifiers, event) === undefined))
            found.set(key, entry);
        }
      }
    }
    return [...found.values()]
      .sort(compareKeys)
      .map(({ namespace, name }) => ({ kind: 'Warehouse', namespace, name }));
  }

  /**
   * For each Warehouse with a subscription (of any kind) to one of
   * `event.repoURLs`, whether {@link match} returns it, for which
   * subscription, and why (not). Same rules as {@link match}; sorted by
   * namespace then name. Costs O(subscribed Warehouses).
   */
  explain(event: PushEvent, options: MatchOptions = {}): WarehouseExplanation[] {
    const inScope = namespaceFilter(options.namespaces);
    const kinds = new Set(event.kinds);
    const subscribed = new Map<string, CompiledSubscription[]>();
    for (const repoURL of new Set(event.repoURLs)) {
      for (const kind of ALL_KINDS) {
        for (const [key, subs] of this.#buckets.get(bucketKey(kind, repoURL)) ?? []) {
          const list = subscribed.get(key);
          if (list === undefined) subscribed.set(key, [...subs]);
          else list.push(...subs);
        }
      }
    }
    const result: WarehouseExplanation[] = [];
    for (const [key, subs] of subscribed) {
      const entry = this.#warehouses.get(key);
      if (entry === undefined || !inScope(entry.namespace)) continue;
      subs.sort((a, b) => a.index - b.index);
      const reasons: string[] = [];
      let matched: CompiledSubscription | undefined;
      for (const sub of subs) {
        if (!kinds.has(sub.kind)) {
          reasons.push(
            `${label(sub)} is ${WITH_ARTICLE[sub.kind]} subscription; the push is ${kindsPhrase(event.kinds)}`,
          );
          continue;
        }
        const reason = checkQualifiers(sub, event.qualifiers, event);
        if (reason === undefined) {
          matched = sub;
          break;
        }
        reasons.push(`${label(sub)}: ${reason}`);
      }
      const shown = matched ?? subs[0];
      result.push({
        namespace: entry.namespace,
        name: entry.name,
        refreshed: matched !== undefined,
        subscription: shown === undefined ? '' : describe(shown),
        reason: matched ? takes(matched, event) : reasons.join('; '),
      });
    }
    return result.sort(compareKeys);
  }

  /**
   * Warehouses of a kind the push can satisfy, subscribed to a repository
   * with the same name as a pushed one but spelled so that normalization
   * does not join them (another registry host, path prefix or scheme): the
   * likely reason a push refreshed nothing. One entry per Warehouse and
   * spelling, sorted by namespace, name, then subscription. Costs
   * O(subscriptions to repositories of that name).
   */
  nearMisses(event: PushEvent, options: MatchOptions = {}): NearMiss[] {
    const inScope = namespaceFilter(options.namespaces);
    const pushed = new Set(event.repoURLs);
    const found = new Map<string, NearMiss>();
    for (const repoURL of pushed) {
      for (const kind of new Set(event.kinds)) {
        for (const subscribedURL of this.#byName[kind].get(repositoryName(repoURL)) ?? []) {
          if (pushed.has(subscribedURL)) continue;
          const difference = describeDifference(repoURL, subscribedURL, kind);
          if (difference === undefined) continue;
          const subscription = `${kind} ${subscribedURL}`;
          for (const key of this.#buckets.get(bucketKey(kind, subscribedURL))?.keys() ?? []) {
            const entry = this.#warehouses.get(key);
            if (entry === undefined || !inScope(entry.namespace)) continue;
            found.set(`${key}|${subscription}`, {
              namespace: entry.namespace,
              name: entry.name,
              subscription,
              difference,
            });
          }
        }
      }
    }
    return [...found.values()].sort(
      (a, b) =>
        compareKeys(a, b) ||
        (a.subscription < b.subscription ? -1 : a.subscription > b.subscription ? 1 : 0),
    );
  }

  /**
   * {@link explain}, plus {@link nearMisses} when no Warehouse takes the
   * push: what an adapter's `explain` answers.
   */
  explainPush(event: PushEvent, options: MatchOptions = {}): PushExplanation {
    const warehouses = this.explain(event, options);
    const nearMisses = warehouses.some((w) => w.refreshed) ? [] : this.nearMisses(event, options);
    return { warehouses, nearMisses };
  }
}
