/** The metrics read from the adapters' `stats()` at each scrape. @module */
import { Counter, Gauge, type Registry } from 'prom-client';

export const PREFIX = 'kargo_azure_receiver_';

/** The part of `kubernetesAdapter().stats()` the metrics read. */
export interface AdapterStatsLike {
  ready: boolean;
  warehouses: number;
  promotions: number;
  watchRestarts: number;
  watchErrors: number;
  expired: number;
  /** How long the stalest cache has been out of sync, in ms (absent: unknown). */
  outOfSyncMs?: number;
  /** The watchers down on a failure, with the root cause's code (absent: unknown). */
  failing?: readonly { resource: string; namespace: string; code: string }[];
  /** Live list requests lookups made while a watch was down (absent: unknown). */
  liveReads?: number;
  refreshes: { patches: number; retries: number; coalesced: number };
}

type Pick = (s: AdapterStatsLike) => number;

/** Counters summed over the adapters: name, help, value. */
const SUMMED_COUNTERS: [string, string, Pick][] = [
  [
    'watch_restarts_total',
    'Kubernetes watches started again after an error, a timeout, a closed stream or 410 Gone.',
    (s) => s.watchRestarts,
  ],
  ['watch_errors_total', 'Failed Kubernetes list and watch requests.', (s) => s.watchErrors],
  [
    'watch_expired_total',
    'Re-lists forced by 410 Gone (resource version too old).',
    (s) => s.expired,
  ],
  [
    'refresh_patches_total',
    'PATCH requests sent to the Kubernetes API (retries included).',
    (s) => s.refreshes.patches,
  ],
  [
    'refresh_coalesced_total',
    'Refreshes that joined one already in flight for the same object.',
    (s) => s.refreshes.coalesced,
  ],
];

const LIVE_READS: [string, string, Pick] = [
  'live_reads_total',
  'List requests (pages) lookups made because a watch was down on a failure (0 while watches restart routinely).',
  (s) => s.liveReads ?? 0,
];

/** Registers in `registry` the metrics of the adapters whose `stats()` are in `sources` (read at each scrape). */
export function registerAdapterMetrics(
  registry: Registry,
  sources: readonly (() => AdapterStatsLike | undefined)[],
): void {
  const registers = [registry];
  const sum = (pick: Pick): number =>
    sources.reduce((total, get) => {
      const s = get();
      return s ? total + pick(s) : total;
    }, 0);
  const summedCounter = ([name, help, pick]: [string, string, Pick]) =>
    new Counter({
      name: `${PREFIX}${name}`,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(sum(pick));
      },
    });
  SUMMED_COUNTERS.forEach(summedCounter);
  new Gauge({
    name: `${PREFIX}cache_objects`,
    help: 'Objects in the watch-backed caches, by kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      this.set(
        { kind: 'warehouse' },
        sum((s) => s.warehouses),
      );
      this.set(
        { kind: 'promotion' },
        sum((s) => s.promotions),
      );
    },
  });
  new Gauge({
    name: `${PREFIX}cache_out_of_sync_seconds`,
    help: 'How long the stalest Kubernetes cache has been without an open watch (0 while in sync).',
    registers,
    collect() {
      const worst = Math.max(0, ...sources.map((get) => get()?.outOfSyncMs ?? 0));
      this.set(worst / 1000);
    },
  });
  new Gauge({
    name: `${PREFIX}watch_failing`,
    help: 'Watches down because of a failure (1 each), by resource, namespace and root cause (KUBE_UNREACHABLE, KUBE_FORBIDDEN, KUBE_NO_CONFIG…); lookups of those confirm by live reads meanwhile.',
    labelNames: ['resource', 'namespace', 'cause'],
    registers,
    collect() {
      this.reset();
      for (const get of sources)
        for (const f of get()?.failing ?? [])
          this.inc({ resource: f.resource, namespace: f.namespace, cause: f.code });
    },
  });
  summedCounter(LIVE_READS);
}
