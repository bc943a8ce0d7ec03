/** Prometheus metrics (prom-client) of webhooks, refreshes and adapter latencies. @module */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WebhookRecord } from '../receiver/options.js';
import type { Lookup, Refresh } from '../types.js';
import { type AdapterStatsLike, PREFIX, registerAdapterMetrics } from './adapter-metrics.js';
import { eventLabel, sourceLabel, statusLabel } from './metric-labels.js';

export type { AdapterStatsLike };

// Lookups read an in-memory index (sub-millisecond); refreshes are one PATCH, retried with backoff up to seconds.
const LOOKUP_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** `run()`, observed in `histogram` by result (success, failure). */
async function timed<T>(histogram: Histogram<'result'>, run: () => Promise<T>): Promise<T> {
  const end = histogram.startTimer();
  try {
    const value = await run();
    end({ result: 'success' });
    return value;
  } catch (err) {
    end({ result: 'failure' });
    throw err;
  }
}

/** The metrics of one server, in their own registry. */
export class ServerMetrics {
  /** The registry to expose (`await registry.metrics()`). */
  readonly registry = new Registry();

  readonly #requests: Counter<'source' | 'event' | 'status'>;
  readonly #webhookDuration: Histogram<'source'>;
  readonly #refreshes: Counter<'result'>;
  readonly #lookupDuration: Histogram<'result'>;
  readonly #refreshDuration: Histogram<'result'>;
  readonly #statsSources: (() => AdapterStatsLike | undefined)[] = [];
  #receivers: (() => number) | undefined;
  #ready: () => boolean = () => false;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.#requests = new Counter({
      name: `${PREFIX}webhook_requests_total`,
      help: 'Webhook requests answered, by source (acr, azure-devops, none), Azure event type (fixed list, else other) and HTTP status.',
      labelNames: ['source', 'event', 'status'],
      registers,
    });
    this.#webhookDuration = new Histogram({
      name: `${PREFIX}webhook_duration_seconds`,
      help: 'Time from the arrival of a webhook to its answer.',
      labelNames: ['source'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#refreshes = new Counter({
      name: `${PREFIX}refreshes_total`,
      help: 'Warehouse and Promotion refreshes requested by webhooks, by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    this.#lookupDuration = new Histogram({
      name: `${PREFIX}lookup_duration_seconds`,
      help: 'Time to find the objects a webhook concerns, by result (success, failure).',
      labelNames: ['result'],
      buckets: LOOKUP_BUCKETS,
      registers,
    });
    this.#refreshDuration = new Histogram({
      name: `${PREFIX}refresh_duration_seconds`,
      help: 'Time to refresh one object (PATCH with retries), by result (success, failure).',
      labelNames: ['result'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    // Zero series up front, so dashboards and alerts see them before the first event.
    for (const result of ['success', 'failure']) this.#refreshes.inc({ result }, 0);
    registerAdapterMetrics(this.registry, this.#statsSources);
    const isReady = (): boolean => this.#ready();
    const receivers = (): number => (this.#receivers ? this.#receivers() : 0);
    new Gauge({
      name: `${PREFIX}ready`,
      help: '1 once the caches are synced (and none is out of sync for longer than its bound) and the configuration loaded, else 0.',
      registers,
      collect() {
        this.set(isReady() ? 1 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}receivers`,
      help: 'Azure receivers served.',
      registers,
      collect() {
        this.set(receivers());
      },
    });
  }

  /** Counts one answered webhook: pass as `onWebhook`. */
  readonly onWebhook = (record: WebhookRecord): void => {
    const source = sourceLabel(record.source);
    this.#requests.inc({
      source,
      event: eventLabel(record.eventType),
      status: statusLabel(record.status),
    });
    this.#webhookDuration.observe({ source }, record.durationMs / 1000);
    if (record.refreshed > 0) this.#refreshes.inc({ result: 'success' }, record.refreshed);
    if (record.failed > 0) this.#refreshes.inc({ result: 'failure' }, record.failed);
  };

  /** Wraps an adapter's `lookup` and `refresh` to time them. */
  instrument<A extends { lookup: Lookup; refresh: Refresh }>(
    adapter: A,
  ): { lookup: Lookup; refresh: Refresh } {
    const lookupDuration = this.#lookupDuration;
    const refreshDuration = this.#refreshDuration;
    return {
      lookup: (event, signal) => timed(lookupDuration, () => adapter.lookup(event, signal)),
      refresh: (target, signal) => timed(refreshDuration, () => adapter.refresh(target, signal)),
    };
  }

  /** Reads watch restarts, errors and cache sizes from an adapter's `stats()` at each scrape. */
  addAdapterStats(stats: () => AdapterStatsLike | undefined): void {
    this.#statsSources.push(stats);
  }

  /** Reports readiness and the number of receivers at each scrape. */
  setStatus(status: { ready: () => boolean; receivers: () => number }): void {
    this.#ready = status.ready;
    this.#receivers = status.receivers;
  }
}
