/**
 * Prometheus metrics (prom-client) of the server: webhooks, refreshes, adapter
 * latencies, watch health and cache sizes. Every label value comes from a
 * fixed set, so no series can carry a token or grow without bound.
 * @module
 */
import { ACR_ACTIONS } from '../sources/acr.js';
import { listen } from './listen.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WebhookRecord } from '../options.js';
import type { Lookup, Refresh } from '../types.js';

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

/** Azure event names kept as label values; any other becomes `other`. */
export const EVENT_TYPES: ReadonlySet<string> = new Set([
  ...ACR_ACTIONS,
  // Azure DevOps (https://learn.microsoft.com/azure/devops/service-hooks/events)
  'git.push',
  'git.pullrequest.created',
  'git.pullrequest.updated',
  'git.pullrequest.merged',
]);

const SOURCES: ReadonlySet<string> = new Set(['acr', 'azure-devops']);

/** `eventType` as a bounded label value. */
export function eventLabel(eventType: string | undefined): string {
  if (eventType === undefined) return 'none';
  return EVENT_TYPES.has(eventType) ? eventType : 'other';
}

function sourceLabel(source: string | undefined): string {
  if (source === undefined) return 'none';
  return SOURCES.has(source) ? source : 'other';
}

function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}

const PREFIX = 'kargo_azure_receiver_';
// Lookups read an in-memory index (sub-millisecond); refreshes are one PATCH, retried with backoff up to seconds.
const LOOKUP_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
const REFRESH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const WEBHOOK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

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
      buckets: WEBHOOK_BUCKETS,
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
      buckets: REFRESH_BUCKETS,
      registers,
    });
    // Zero series up front, so dashboards and alerts see them before the first event.
    for (const result of ['success', 'failure']) {
      this.#refreshes.inc({ result }, 0);
    }
    const isReady = (): boolean => this.#ready();
    const statsSources = this.#statsSources;
    const receivers = (): number => (this.#receivers ? this.#receivers() : 0);
    const sum = (pick: (s: AdapterStatsLike) => number): number =>
      this.#statsSources.reduce((total, get) => {
        const s = get();
        return s ? total + pick(s) : total;
      }, 0);
    new Counter({
      name: `${PREFIX}watch_restarts_total`,
      help: 'Kubernetes watches started again after an error, a timeout, a closed stream or 410 Gone.',
      registers,
      collect() {
        this.reset();
        this.inc(sum((s) => s.watchRestarts));
      },
    });
    new Counter({
      name: `${PREFIX}watch_errors_total`,
      help: 'Failed Kubernetes list and watch requests.',
      registers,
      collect() {
        this.reset();
        this.inc(sum((s) => s.watchErrors));
      },
    });
    new Counter({
      name: `${PREFIX}watch_expired_total`,
      help: 'Re-lists forced by 410 Gone (resource version too old).',
      registers,
      collect() {
        this.reset();
        this.inc(sum((s) => s.expired));
      },
    });
    new Counter({
      name: `${PREFIX}refresh_patches_total`,
      help: 'PATCH requests sent to the Kubernetes API (retries included).',
      registers,
      collect() {
        this.reset();
        this.inc(sum((s) => s.refreshes.patches));
      },
    });
    new Counter({
      name: `${PREFIX}refresh_coalesced_total`,
      help: 'Refreshes that joined one already in flight for the same object.',
      registers,
      collect() {
        this.reset();
        this.inc(sum((s) => s.refreshes.coalesced));
      },
    });
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
        const worst = Math.max(0, ...statsSources.map((get) => get()?.outOfSyncMs ?? 0));
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
        for (const get of statsSources)
          for (const f of get()?.failing ?? [])
            this.inc({ resource: f.resource, namespace: f.namespace, cause: f.code });
      },
    });
    new Counter({
      name: `${PREFIX}live_reads_total`,
      help: 'List requests (pages) lookups made because a watch was down on a failure (0 while watches restart routinely).',
      registers,
      collect() {
        this.reset();
        this.inc(sum((s) => s.liveReads ?? 0));
      },
    });
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
      async lookup(event, signal) {
        const end = lookupDuration.startTimer();
        try {
          const targets = await adapter.lookup(event, signal);
          end({ result: 'success' });
          return targets;
        } catch (err) {
          end({ result: 'failure' });
          throw err;
        }
      },
      async refresh(target, signal) {
        const end = refreshDuration.startTimer();
        try {
          await adapter.refresh(target, signal);
          end({ result: 'success' });
        } catch (err) {
          end({ result: 'failure' });
          throw err;
        }
      },
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

/** A running metrics endpoint. */
export interface MetricsServer {
  server: http.Server;
  /** `http://<host>:<port>/metrics`. */
  url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (and nothing else) on its own port. */
export async function startMetricsServer(
  metrics: ServerMetrics,
  port: number,
  host: string | undefined,
): Promise<MetricsServer> {
  const server = http.createServer(function metricsHandler(req, res) {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, {
          'Content-Type': metrics.registry.contentType,
          'Cache-Control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res
          .writeHead(500, { 'Content-Type': 'application/json' })
          .end('{"error":"metrics unavailable"}');
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const address = await listen(server, port, host);
  return {
    server,
    url: `http://${displayHost(host, address)}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A host to put in a URL for a listening address: `localhost` for the wildcard addresses. */
export function displayHost(host: string | undefined, address: AddressInfo): string {
  const h = host ?? address.address;
  if (h === '' || h === '0.0.0.0' || h === '::') return 'localhost';
  return h.includes(':') ? `[${h}]` : h;
}
