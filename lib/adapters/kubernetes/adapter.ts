/**
 * `kubernetesAdapter()`: Warehouses (and Promotions) from a watch-backed cache, refreshed by a merge
 * patch. A webhook costs O(matching objects): the lookup reads in-memory indexes, never lists.
 * @module
 */
import { PromotionIndex, WarehouseIndex } from '../../matching/index.js';
import type { ExplainPush, Lookup, Refresh } from '../../types.js';
import { keepAliveUntilSettled } from '../../kube/keep-alive.js';
import { KubeClient } from '../../kube/http.js';
import { withAdapterMembers } from '../../adapter-members.js';
import { type KubernetesAdapterOptions, resolveOptions } from './options.js';
import { Refresher } from './refresher.js';
import { LiveReads } from './live-reads.js';
import { Readiness } from './readiness.js';
import { type KubernetesAdapterStats, adapterStats } from './stats.js';
import { type Parts, scopedMembers } from './scoped.js';
import { startWatches } from './watches.js';

export type { KubernetesAdapterStats, WatchFailure } from './stats.js';

/** What {@link kubernetesAdapter} returns. */
export interface KubernetesAdapter {
  /** Finds the Warehouses (push) or waiting Promotions (pull request) an event concerns. */
  lookup: Lookup;
  /** Refreshes one Warehouse or Promotion. */
  refresh: Refresh;
  /** Why a push refreshes what it refreshes, from the same cache and rules as `lookup`. */
  explainPush: ExplainPush;
  /** Stops every watch and pending retry; lookups and refreshes reject afterwards. */
  close(): Promise<void>;
  /** Resolves after the initial lists (rejects if closed before); keeps the process alive meanwhile. */
  ready(): Promise<void>;
  /** Initial lists done and no cache out of sync past `maxStalenessMs` (a watch down on a failure
   * does not count: lookups confirm by live reads; `stats().failing` says which and why). */
  isReady(): boolean;
  /** The same caches, restricted to these namespaces (per-project receivers). `refresh` refuses targets outside. */
  scoped(namespaces: readonly string[]): {
    lookup: Lookup;
    refresh: Refresh;
    explainPush: ExplainPush;
  };
  /** Counters. */
  stats(): KubernetesAdapterStats;
}

/** The Kubernetes adapter: list + watch Warehouses and Promotions, refresh with a merge patch. */
export function kubernetesAdapter(options: KubernetesAdapterOptions = {}): KubernetesAdapter {
  const config = resolveOptions(options);
  const { logger } = config;
  const warehouses = new WarehouseIndex({ logger });
  const promotions = new PromotionIndex({ logger });
  const closing = new AbortController();
  let closed = false;
  const isClosed = (): boolean => closed;
  const refresher = new Refresher({
    signal: closing.signal,
    kubeConfig: config.kubeConfig,
    logger,
    now: config.now,
    retry: config.refreshRetry,
    concurrency: config.concurrency,
    requestTimeoutMs: config.requestTimeoutMs,
    sleep: config.sleep,
    random: config.random,
  });
  // One keep-alive pool for every list and watch of this adapter.
  const client = new KubeClient(config.kubeConfig);
  const watches = startWatches(config, client, warehouses, promotions);
  const liveReads = new LiveReads(config, client, closing.signal);
  const readiness = new Readiness(watches, config, isClosed, () => {
    const namespaces = config.namespaces ?? '*';
    const counts = { warehouses: warehouses.size, promotions: promotions.size, namespaces };
    logger.info(counts, 'Kubernetes cache synced');
  });

  const parts: Parts = {
    config,
    warehouses,
    promotions,
    watches,
    readiness,
    liveReads,
    refresher,
    isClosed,
  };

  return withAdapterMembers({
    ...scopedMembers(parts, undefined),
    async close() {
      closed = true;
      closing.abort();
      // Every request has its own deadline; this bounds close() even if one were stuck.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(watches.all.map((w) => w.close())),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, config.closeTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      client.destroy();
    },
    ready: () => keepAliveUntilSettled(readiness.allReady),
    isReady: () => readiness.isReady(),
    scoped: (namespaces) => scopedMembers(parts, [...namespaces]),
    stats: () =>
      adapterStats(watches, {
        ready: readiness.isReady(),
        warehouses: warehouses.size,
        promotions: promotions.size,
        liveReads: liveReads.count,
        failing: readiness.failing(),
        refreshes: refresher.stats(),
      }),
  });
}
