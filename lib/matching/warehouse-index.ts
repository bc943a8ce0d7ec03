/**
 * An in-memory index of Warehouses by subscribed repository, answering "which
 * Warehouses does this push concern?" without scanning them all.
 * @module
 */
import type { ArtifactKind, Logger, PushEvent, RefreshTarget } from '../types.js';
import { compareKeys, keyOf, namespaceFilter, readIdentity, silentLogger } from './identity.js';
import { asRecord, compileSubscription, type CompiledSubscription } from './subscriptions.js';

/** What the index keeps of a Warehouse: never the manifest itself. */
interface WarehouseEntry {
  namespace: string;
  name: string;
  subscriptions: CompiledSubscription[];
}

/** One Warehouse's verdict for an event, from {@link WarehouseIndex.explain}. */
export interface WarehouseExplanation {
  namespace: string;
  name: string;
  /** Whether {@link WarehouseIndex.match} returns this Warehouse for the event. */
  refreshed: boolean;
  /** Which subscription matched, or why none did. */
  reason: string;
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
): string | undefined {
  if (qualifiers.length === 0) return undefined;
  const reasons: string[] = [];
  for (const qualifier of qualifiers) {
    const reason = sub.rule(qualifier);
    if (reason === undefined) return undefined;
    reasons.push(reason);
  }
  return reasons.join('; ');
}

function describe(sub: CompiledSubscription): string {
  return `${sub.kind} subscription ${String(sub.index)} (${sub.repoURL})`;
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
      if (bucket?.size === 0) this.#buckets.delete(bk);
    }
  }

  /** Removes every Warehouse. */
  clear(): void {
    this.#warehouses.clear();
    this.#buckets.clear();
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
          if (subs.some((sub) => checkQualifiers(sub, event.qualifiers) === undefined))
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
   * `event.repoURLs`, whether {@link match} returns it and why (not). Sorted
   * by namespace then name.
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
      let matched: string | undefined;
      for (const sub of subs) {
        if (!kinds.has(sub.kind)) {
          reasons.push(
            `${describe(sub)}: the event concerns ${[...kinds].join(', ') || 'no kind'}`,
          );
          continue;
        }
        const reason = checkQualifiers(sub, event.qualifiers);
        if (reason === undefined) {
          const taken = event.qualifiers.find((qualifier) => sub.rule(qualifier) === undefined);
          matched = `${describe(sub)} matches ${taken ?? 'the push (no qualifier to filter on)'}`;
          break;
        }
        reasons.push(`${describe(sub)}: ${reason}`);
      }
      result.push({
        namespace: entry.namespace,
        name: entry.name,
        refreshed: matched !== undefined,
        reason: matched ?? reasons.join(' | '),
      });
    }
    return result.sort(compareKeys);
  }
}
