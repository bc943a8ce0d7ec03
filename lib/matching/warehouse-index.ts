/**
 * An in-memory index of Warehouses by subscribed repository, answering "which
 * Warehouses does this push concern?" without scanning them all.
 * @module
 */
import type { ArtifactKind, Logger, PushEvent, RefreshTarget } from '../types.js';
import { compareKeys, namespaceFilter, readIdentity, silentLogger } from './identity.js';
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

/** The Warehouses subscribed to one repository: one entry (the common case) or a set. */
type Bucket = WarehouseEntry | Set<WarehouseEntry>;

function* entriesOf(bucket: Bucket | undefined): Iterable<WarehouseEntry> {
  if (bucket === undefined) return;
  if (bucket instanceof Set) yield* bucket;
  else yield bucket;
}

/** The Warehouses of one namespace; `namespace` is the one string every entry of it shares. */
interface NamespaceEntries {
  namespace: string;
  byName: Map<string, WarehouseEntry>;
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
 * Warehouses by kind and normalized repoURL of their subscriptions, with
 * each subscription's qualifier rule compiled once at {@link upsert}.
 *
 * Memory (100 000 Warehouses is a large installation; see `npm run bench`):
 * an entry keeps namespace (one shared string per namespace), name and the
 * compiled subscriptions in an exact-size array; a repository's bucket is
 * the entry itself until a second Warehouse subscribes to it, and is keyed
 * by the subscription's own `repoURL` string, so no key string is built.
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

  /** Creates an empty index. */
  constructor(options: WarehouseIndexOptions = {}) {
    this.#logger = options.logger ?? silentLogger;
  }

  /** Number of Warehouses held. */
  get size(): number {
    return this.#size;
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
    const { name } = id;
    const spec = asRecord(asRecord(manifest)?.['spec']);
    const raw = spec?.['subscriptions'];
    const list: unknown[] = Array.isArray(raw) ? raw : [];
    if (!Array.isArray(raw)) {
      this.#logger.warn(
        { namespace: id.namespace, name },
        'Warehouse has no spec.subscriptions list',
      );
    }
    const subscriptions: CompiledSubscription[] = [];
    list.forEach((entry, index) => {
      try {
        const compiled = compileSubscription(entry, index);
        if (compiled === undefined) {
          this.#logger.debug(
            { namespace: id.namespace, name, subscription: index },
            'skipping a subscription of an unsupported kind',
          );
        } else {
          subscriptions.push(compiled);
        }
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        this.#logger.warn(
          { namespace: id.namespace, name, subscription: index, reason },
          'skipping a broken Warehouse subscription',
        );
      }
    });
    this.delete(id.namespace, name);
    let scope = this.#namespaces.get(id.namespace);
    if (scope === undefined) {
      scope = { namespace: id.namespace, byName: new Map() };
      this.#namespaces.set(id.namespace, scope);
    }
    // slice(): an exact-size copy, without the spare capacity push() leaves.
    const entry: WarehouseEntry = {
      namespace: scope.namespace,
      name,
      subscriptions: subscriptions.slice(),
    };
    scope.byName.set(name, entry);
    this.#size += 1;
    for (const sub of entry.subscriptions) {
      const buckets = this.#buckets[sub.kind];
      const bucket = buckets.get(sub.repoURL);
      if (bucket === undefined) buckets.set(sub.repoURL, entry);
      else if (bucket instanceof Set) bucket.add(entry);
      else if (bucket !== entry) buckets.set(sub.repoURL, new Set([bucket, entry]));
    }
  }

  /** Removes a Warehouse; nothing happens when it is not held. */
  delete(namespace: string, name: string): void {
    const scope = this.#namespaces.get(namespace);
    const entry = scope?.byName.get(name);
    if (scope === undefined || entry === undefined) return;
    scope.byName.delete(name);
    if (scope.byName.size === 0) this.#namespaces.delete(namespace);
    this.#size -= 1;
    for (const sub of entry.subscriptions) {
      const buckets = this.#buckets[sub.kind];
      const bucket = buckets.get(sub.repoURL);
      if (bucket === entry) buckets.delete(sub.repoURL);
      else if (bucket instanceof Set) {
        bucket.delete(entry);
        if (bucket.size === 1) for (const only of bucket) buckets.set(sub.repoURL, only);
      }
    }
  }

  /** Removes every Warehouse. */
  clear(): void {
    this.#namespaces.clear();
    for (const kind of ALL_KINDS) this.#buckets[kind].clear();
    this.#size = 0;
  }

  /**
   * Warehouses with at least one subscription the event concerns: same kind
   * (one of `event.kinds`), same normalized URL (one of `event.repoURLs`) and
   * a qualifier its rule takes (or no qualifiers at all). Each Warehouse at
   * most once, sorted by namespace then name. Costs O(matching Warehouses).
   */
  match(event: PushEvent, options: MatchOptions = {}): RefreshTarget[] {
    const inScope = namespaceFilter(options.namespaces);
    const found = new Set<WarehouseEntry>();
    for (const repoURL of new Set(event.repoURLs)) {
      for (const kind of new Set(event.kinds)) {
        for (const entry of entriesOf(this.#buckets[kind].get(repoURL))) {
          if (found.has(entry) || !inScope(entry.namespace)) continue;
          const takes = entry.subscriptions.some(
            (sub) =>
              sub.kind === kind &&
              sub.repoURL === repoURL &&
              checkQualifiers(sub, event.qualifiers) === undefined,
          );
          if (takes) found.add(entry);
        }
      }
    }
    return [...found]
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
    const urls = new Set(event.repoURLs);
    const subscribed = new Map<WarehouseEntry, CompiledSubscription[]>();
    for (const repoURL of urls) {
      for (const kind of ALL_KINDS) {
        for (const entry of entriesOf(this.#buckets[kind].get(repoURL))) {
          if (!subscribed.has(entry))
            subscribed.set(
              entry,
              entry.subscriptions.filter((sub) => urls.has(sub.repoURL)),
            );
        }
      }
    }
    const result: WarehouseExplanation[] = [];
    for (const [entry, subs] of subscribed) {
      if (!inScope(entry.namespace)) continue;
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
