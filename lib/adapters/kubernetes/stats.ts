/**
 * The adapter's counters: the watchers' summed, live reads, failing watches and the refresher's.
 * @module
 */
import type { KubeClusterError } from '../../kube/errors.js';
import type { ResourceWatcherStats } from '../../kube/watcher-options.js';
import type { RefreshStats } from './refresher.js';
import type { Watches } from './watches.js';

/** Counters for metrics and health checks. */
export interface KubernetesAdapterStats {
  /** Whether every initial list completed. */
  ready: boolean;
  /** Warehouses in the index. */
  warehouses: number;
  /** Running Promotions waiting on a pull request, in the index. */
  promotions: number;
  /** Watches started again (after errors, timeouts, closed streams, 410). */
  watchRestarts: number;
  /** Successful lists, initial ones included. */
  lists: number;
  /** Re-lists forced by 410 Gone. */
  expired: number;
  /** Failed list/watch requests. */
  watchErrors: number;
  /** List pages received. */
  listPages: number;
  /** Lists restarted because their continue token expired. */
  listRestarts: number;
  /** How long the stalest cache has been out of sync, in ms (0 while every watch is open). */
  outOfSyncMs: number;
  /** Live list requests (pages) lookups made because a watch was down on a failure. */
  liveReads: number;
  /** The watchers down on a failure, and why (empty while every watch is open or restarting routinely). */
  failing: WatchFailure[];
  /** Refresh counters. */
  refreshes: RefreshStats;
}

/** A watcher that has no open watch because of a failure. */
export interface WatchFailure {
  /** `warehouses` or `promotions`. */
  resource: string;
  /** The namespace it covers, `*` for all. */
  namespace: string;
  /** How long it has been out of sync, in ms. */
  outOfSyncMs: number;
  /** The root cause: `KUBE_UNREACHABLE`, `KUBE_FORBIDDEN`, `KUBE_NO_CONFIG`… */
  code: KubeClusterError['code'];
  /** The root cause in words, naming the API server and context. */
  reason: string;
}

/** A snapshot of the counters. */
export function adapterStats(
  watches: Watches,
  state: Pick<
    KubernetesAdapterStats,
    'ready' | 'warehouses' | 'promotions' | 'liveReads' | 'failing' | 'refreshes'
  >,
): KubernetesAdapterStats {
  const all = watches.all.map((w) => w.stats());
  const sum = (pick: (s: ResourceWatcherStats) => number): number =>
    all.reduce((total, s) => total + pick(s), 0);
  return {
    ready: state.ready,
    warehouses: state.warehouses,
    promotions: state.promotions,
    watchRestarts: sum((s) => s.watchRestarts),
    lists: sum((s) => s.lists),
    expired: sum((s) => s.expired),
    watchErrors: sum((s) => s.errors),
    listPages: sum((s) => s.pages),
    listRestarts: sum((s) => s.listRestarts),
    outOfSyncMs: Math.max(0, ...watches.all.map((w) => w.outOfSyncMs())),
    liveReads: state.liveReads,
    failing: state.failing,
    refreshes: state.refreshes,
  };
}
