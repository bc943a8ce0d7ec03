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
import { compareKeys, namespaceFilter, readIdentity, silentLogger } from './identity.js';
import { describeDifference, repositoryName } from './near-miss.js';
import { KINDS, compileSubscriptions, type CompiledSubscription } from './subscriptions.js';
import { checkQualifiers, explainWarehouse } from './warehouse-explanation.js';

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

/** The Warehouses subscribed to one repository: one entry (the common case) or a set. */
type Bucket = WarehouseEntry | Set<WarehouseEntry>;

/** The values of a key of a map holding one value as is (the common case), several in a set. */
function valuesOf<T>(held: T | Set<T> | undefined): Iterable<T> {
  return held === undefined ? [] : held instanceof Set ? held : [held];
}

/** Adds `value` under `key`; true when the key is new. */
function addValue<T>(map: Map<string, T | Set<T>>, key: string, value: T): boolean {
  const held = map.get(key);
  if (held === undefined) map.set(key, value);
  else if (held instanceof Set) held.add(value);
  else if (held !== value) map.set(key, new Set([held, value]));
  return held === undefined;
}

/** Removes `value` from under `key`; true when the key is gone. */
function removeValue<T>(map: Map<string, T | Set<T>>, key: string, value: T): boolean {
  const held = map.get(key);
  if (held === value) return map.delete(key);
  if (held instanceof Set) {
    held.delete(value);
    if (held.size === 1) for (const only of held) map.set(key, only);
  }
  return false;
}

/** The Warehouses of one namespace; `namespace` is the one string every entry of it shares. */
interface NamespaceEntries {
  namespace: string;
  byName: Map<string, WarehouseEntry>;
}

/**
 * Warehouses by kind and normalized repoURL of their subscriptions, rules compiled once at {@link upsert}.
 * Memory (100 000 Warehouses; see `npm run bench`): one shared namespace string, exact-size subscription arrays;
 * a bucket is the entry itself until a second Warehouse subscribes, keyed by the subscription's own `repoURL`.
 */
export class WarehouseIndex {
  readonly #logger: Logger;
  /** namespace → name → entry. */
  readonly #namespaces = new Map<string, NamespaceEntries>();
  /** kind → normalized repoURL → the Warehouses subscribed to it. */
  readonly #buckets: Record<ArtifactKind, Map<string, Bucket>> = {
    git: new Map(),
    image: new Map(),
    chart: new Map(),
  };
  #size = 0;
  /** kind → repository name (last path segment) → subscribed repoURLs (their own strings), for near misses. */
  readonly #byName: Record<ArtifactKind, Map<string, string | Set<string>>> = {
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
    return this.#size;
  }

  /**
   * Adds or replaces a Warehouse from its manifest, keeping only namespace, name and compiled subscriptions.
   * Broken subscriptions are skipped, manifests without name or namespace ignored, with a warning. Never throws.
   */
  upsert(manifest: unknown): void {
    const id = readIdentity(manifest, 'Warehouse', this.#logger);
    if (id === undefined) return;
    const { namespace, name } = id;
    const subscriptions = compileSubscriptions(manifest, id, this.#logger);
    this.delete(namespace, name);
    let scope = this.#namespaces.get(namespace);
    if (scope === undefined) {
      scope = { namespace, byName: new Map() };
      this.#namespaces.set(namespace, scope);
    }
    // slice(): an exact-size copy, without the spare capacity push() leaves.
    const entry: WarehouseEntry = {
      namespace: scope.namespace,
      name,
      subscriptions: subscriptions.slice(),
    };
    scope.byName.set(name, entry);
    this.#size += 1;
    for (const sub of entry.subscriptions)
      if (addValue(this.#buckets[sub.kind], sub.repoURL, entry))
        addValue(this.#byName[sub.kind], repositoryName(sub.repoURL), sub.repoURL);
  }

  /** Removes a Warehouse; nothing happens when it is not held. */
  delete(namespace: string, name: string): void {
    const scope = this.#namespaces.get(namespace);
    const entry = scope?.byName.get(name);
    if (scope === undefined || entry === undefined) return;
    scope.byName.delete(name);
    if (scope.byName.size === 0) this.#namespaces.delete(namespace);
    this.#size -= 1;
    for (const sub of entry.subscriptions)
      if (removeValue(this.#buckets[sub.kind], sub.repoURL, entry))
        removeValue(this.#byName[sub.kind], repositoryName(sub.repoURL), sub.repoURL);
  }

  /** Removes every Warehouse. */
  clear(): void {
    this.#namespaces.clear();
    for (const kind of KINDS) {
      this.#buckets[kind].clear();
      this.#byName[kind].clear();
    }
    this.#size = 0;
  }

  /**
   * Warehouses with a subscription of one of `event.kinds` and `event.repoURLs` whose rule takes a qualifier
   * (or none given); each once, sorted by namespace then name. Costs O(matching Warehouses).
   */
  match(event: PushEvent, options: MatchOptions = {}): RefreshTarget[] {
    const inScope = namespaceFilter(options.namespaces);
    const found = new Set<WarehouseEntry>();
    for (const repoURL of new Set(event.repoURLs)) {
      for (const kind of new Set(event.kinds)) {
        for (const entry of valuesOf(this.#buckets[kind].get(repoURL))) {
          if (found.has(entry) || !inScope(entry.namespace)) continue;
          const takes = entry.subscriptions.some(
            (sub) =>
              sub.kind === kind &&
              sub.repoURL === repoURL &&
              checkQualifiers(sub, event.qualifiers, event) === undefined,
          );
          if (takes) found.add(entry);
        }
      }
    }
    return [...found]
      .sort(compareKeys)
      .map(({ namespace, name }) => ({ kind: 'Warehouse', namespace, name }));
  }

  /** For each Warehouse subscribed to one of `event.repoURLs`, whether and why (not) {@link match} returns it. O(subscribed). */
  explain(event: PushEvent, options: MatchOptions = {}): WarehouseExplanation[] {
    const inScope = namespaceFilter(options.namespaces);
    const urls = new Set(event.repoURLs);
    const subscribed = new Map<WarehouseEntry, CompiledSubscription[]>();
    for (const repoURL of urls) {
      for (const kind of KINDS) {
        for (const entry of valuesOf(this.#buckets[kind].get(repoURL))) {
          if (!subscribed.has(entry))
            subscribed.set(
              entry,
              entry.subscriptions.filter((sub) => urls.has(sub.repoURL)),
            );
        }
      }
    }
    const result: WarehouseExplanation[] = [];
    for (const [entry, subs] of subscribed)
      if (inScope(entry.namespace)) result.push(explainWarehouse(entry, subs, event));
    return result.sort(compareKeys);
  }

  /**
   * Warehouses subscribed to a repository named like a pushed one but spelled so normalization does not join them
   * (another host, path prefix or scheme): the likely reason a push refreshed nothing. Sorted; O(same-name subscriptions).
   */
  nearMisses(event: PushEvent, options: MatchOptions = {}): NearMiss[] {
    const inScope = namespaceFilter(options.namespaces);
    const pushed = new Set(event.repoURLs);
    const found = new Map<string, NearMiss>();
    for (const repoURL of pushed) {
      for (const kind of new Set(event.kinds)) {
        for (const subscribedURL of valuesOf(this.#byName[kind].get(repositoryName(repoURL)))) {
          if (pushed.has(subscribedURL)) continue;
          const difference = describeDifference(repoURL, subscribedURL, kind);
          if (difference === undefined) continue;
          const subscription = `${kind} ${subscribedURL}`;
          for (const entry of valuesOf(this.#buckets[kind].get(subscribedURL))) {
            if (!inScope(entry.namespace)) continue;
            found.set(`${entry.namespace}/${entry.name}|${subscription}`, {
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

  /** {@link explain}, plus {@link nearMisses} when no Warehouse takes the push: what an adapter's `explain` answers. */
  explainPush(event: PushEvent, options: MatchOptions = {}): PushExplanation {
    const warehouses = this.explain(event, options);
    const nearMisses = warehouses.some((w) => w.refreshed) ? [] : this.nearMisses(event, options);
    return { warehouses, nearMisses };
  }
}
