/**
 * Warehouses and Promotions in memory (demo, tests, embedding where something else refreshes),
 * matched with the same indexes as the Kubernetes adapter.
 * @module
 */
import { PromotionIndex, WarehouseIndex } from '../matching/index.js';
import { silentLogger } from '../logger.js';
import { withAdapterMembers } from '../adapter-members.js';
import type { Logger, PushEvent, PushExplanation, ReceiverEvent, RefreshTarget } from '../types.js';

/** Options of {@link memoryAdapter}. */
export interface MemoryAdapterOptions {
  /** Warehouse manifests (plain objects, as parsed from YAML). */
  warehouses?: readonly unknown[];
  /** Promotion manifests (plain objects, as parsed from YAML). */
  promotions?: readonly unknown[];
  /** Receives warnings about broken subscriptions and a line per refresh. Default: silent. */
  logger?: Logger;
  /** The clock stamped on refreshes. Default: `() => new Date()`. */
  now?: () => Date;
}

/** A refresh the memory adapter applied. */
export interface RefreshRecord extends RefreshTarget {
  /** When it was refreshed. */
  at: Date;
}

/** What {@link memoryAdapter} returns: the adapter pair plus its state. */
export interface MemoryAdapter {
  /** Finds the Warehouses (push) or waiting Promotions (pull request) an event concerns; rejects once `signal` aborted. */
  lookup(event: ReceiverEvent, signal?: AbortSignal): Promise<RefreshTarget[]>;
  /** Records a refresh; rejects without recording it once `signal` aborted (the webhook was given up on). */
  refresh(target: RefreshTarget, signal?: AbortSignal): Promise<void>;
  /** Why a push refreshes what it refreshes (same index and rules as `lookup`). */
  explainPush(event: PushEvent): Promise<PushExplanation>;
  /** Every refresh applied, oldest first. */
  readonly refreshed: readonly RefreshRecord[];
  /** Forgets the refreshes recorded so far. */
  clearRefreshed(): void;
  /** Adds or replaces a Warehouse or Promotion manifest (by `kind`). */
  upsert(manifest: unknown): void;
  /** Removes a Warehouse or Promotion. */
  remove(kind: RefreshTarget['kind'], namespace: string, name: string): void;
  /** Number of Warehouses and Promotions held. */
  readonly size: number;
}

function kindOf(manifest: unknown): string | undefined {
  return typeof manifest === 'object' && manifest !== null
    ? (manifest as { kind?: string }).kind
    : undefined;
}

/** Builds an in-memory adapter seeded with Warehouse (and Promotion) manifests. */
export function memoryAdapter(options: MemoryAdapterOptions = {}): MemoryAdapter {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const warehouses = new WarehouseIndex({ logger });
  const promotions = new PromotionIndex({ logger });
  const names = new Set<string>();
  const refreshed: RefreshRecord[] = [];
  const key = (kind: string, namespace: string, name: string): string =>
    `${kind}/${namespace}/${name}`;

  function upsert(manifest: unknown): void {
    const meta = (manifest as { metadata?: { namespace?: string; name?: string } } | null)
      ?.metadata;
    const kind = kindOf(manifest) === 'Promotion' ? 'Promotion' : 'Warehouse';
    // The indexes warn about and skip a manifest without namespace or name.
    if (kind === 'Promotion') promotions.upsert(manifest);
    else warehouses.upsert(manifest);
    if (meta?.namespace && meta.name) names.add(key(kind, meta.namespace, meta.name));
  }
  for (const w of options.warehouses ?? []) upsert(w);
  for (const p of options.promotions ?? []) upsert(p);

  return withAdapterMembers({
    async lookup(event, signal) {
      signal?.throwIfAborted();
      return event.type === 'push' ? warehouses.match(event) : promotions.match(event.prURL);
    },
    async explainPush(event) {
      return warehouses.explainPush(event);
    },
    async refresh(target, signal) {
      // A webhook answered 503 already: applying its refresh now would be work nobody waits for.
      signal?.throwIfAborted();
      // Like a 404 from the API server: an object that is gone needs no refresh.
      if (!names.has(key(target.kind, target.namespace, target.name))) return;
      const record = {
        kind: target.kind,
        namespace: target.namespace,
        name: target.name,
        at: now(),
      };
      refreshed.push(record);
      logger.info(
        { target: { kind: record.kind, namespace: record.namespace, name: record.name } },
        'refreshed',
      );
    },
    refreshed,
    get size() {
      return names.size;
    },
    clearRefreshed() {
      refreshed.length = 0;
    },
    upsert,
    remove(kind, namespace, name) {
      names.delete(key(kind, namespace, name));
      if (kind === 'Promotion') promotions.delete(namespace, name);
      else warehouses.delete(namespace, name);
    },
  });
}
