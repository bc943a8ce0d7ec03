/**
 * `startServer()`: the standalone server behind `kargo-azure-receiver serve`.
 * Receivers (ProjectConfig-driven, or one from flags), probes, metrics,
 * request timeouts and a graceful shutdown.
 * @module
 */
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger as PinoLogger } from 'pino';
import { kubernetesAdapter, type KubernetesAdapter } from '../adapters/kubernetes/index.js';
import { loadKubeConfig as loadKubeConfigFile } from '../adapters/kubernetes/kube-config.js';
import { kargoReceivers } from '../kargo/index.js';
import type { WebhookRecord } from '../options.js';
import { azureReceiver } from '../receiver.js';
import type { ServerConfig } from './config.js';
import { healthRouter } from './health.js';
import { listen } from './listen.js';
import { createLogger, redactPath } from './logging.js';
import { ServerMetrics, displayHost, startMetricsServer, type MetricsServer } from './metrics.js';

/** Test and embedding seams of {@link startServer}. */
export interface ServerDependencies {
  /** Cluster and credentials. Default: `config.kubeconfig`, else client-node's default. */
  kubeConfig?: KubeConfig;
  /** Logger. Default: pino on stdout at `config.logLevel`. */
  logger?: PinoLogger;
}

/** A running server. */
export interface RunningServer {
  /** The main server (webhooks and probes). */
  server: http.Server | https.Server;
  /** `http(s)://<host>:<port>`: the origin; receivers answer at `<url><basePath>/azure/<token>`. */
  url: string;
  /** The metrics endpoint, when metrics are on. */
  metricsURL: string | undefined;
  /** `kargo` (ProjectConfig receivers) or `single` (one receiver from flags). */
  mode: 'kargo' | 'single';
  /** The metrics registry, when metrics are on. */
  metrics: ServerMetrics | undefined;
  /** Whether caches are synced and the configuration loaded (and no shutdown began). */
  isReady(): boolean;
  /** Resolves once ready. */
  ready(): Promise<void>;
  /**
   * Graceful shutdown: fails readiness, stops accepting connections, lets
   * in-flight webhooks finish up to `shutdownTimeoutMs` and answers those
   * still running 503 then (never a dropped connection), closes kept-alive
   * connections after their answer (`Connection: close`), then closes the
   * watches, the status writer and the metrics server. Bounded: at most
   * `shutdownTimeoutMs + FLUSH_TIMEOUT_MS + CLOSE_TIMEOUT_MS`. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * After the webhooks still running at the shutdown timeout were told to
 * answer 503, how long their answers may take to be written before the
 * connections left are cut (a client still sending its body, say).
 */
export const FLUSH_TIMEOUT_MS = 1000;
/** How long closing the watches, the status writer and the metrics server may take after the drain. */
export const CLOSE_TIMEOUT_MS = 3000;

/** What the server needs of a receiver source, whichever the mode. */
interface Receivers {
  router: express.Router;
  /** The router's mount point below the base path. */
  mount: string;
  ready(): Promise<void>;
  isReady(): boolean;
  close(): Promise<void>;
  count(): number;
  stats: (() => ReturnType<KubernetesAdapter['stats']> | undefined) | undefined;
}

function joinMount(basePath: string, suffix: string): string {
  return `${basePath === '/' ? '' : basePath}${suffix}` || '/';
}

/**
 * A kubeconfig named (flag, KUBECONFIG) but missing or broken stops the
 * server with a worded error; none at all does not: the watches retry
 * client-node's fallback, each retry line and `/readyz` naming the cause.
 */
function loadKubeConfig(config: ServerConfig): KubeConfig {
  // A KubeConfig of our client-node copy, typed by what the adapters read so that the published declarations never import client-node.
  return loadKubeConfigFile(config.kubeconfig, { allowMissing: true }) as KubeConfig;
}

type Failing = ReturnType<KubernetesAdapter['stats']>['failing'];

/** `/readyz` words for the watches down on a failure: each root cause once, then the watches it stops. */
function describeFailing(failing: Failing): string {
  const byReason = new Map<string, string[]>();
  for (const f of failing) {
    const watches = byReason.get(f.reason) ?? [];
    const namespace = f.namespace === '*' ? 'every namespace' : `namespace ${f.namespace}`;
    watches.push(`${f.resource} watch in ${namespace} down ${Math.round(f.outOfSyncMs / 1000)} s`);
    byReason.set(f.reason, watches);
  }
  return [...byReason].map(([reason, watches]) => `${reason} (${watches.join(', ')})`).join('; ');
}

function singleReceiver(
  config: ServerConfig & { tokens: string[] },
  kubeConfig: KubeConfig,
  logger: PinoLogger,
  metrics: ServerMetrics | undefined,
  onWebhook: ((record: WebhookRecord) => void) | undefined,
  signal: AbortSignal,
): Receivers {
  const adapter = kubernetesAdapter({
    kubeConfig,
    logger: logger.child({ component: 'kubernetes-adapter' }),
    ...(config.namespaces.length ? { namespaces: config.namespaces } : {}),
  });
  const { lookup, refresh } = metrics ? metrics.instrument(adapter) : adapter;
  const router = azureReceiver({
    token: config.tokens,
    ...(config.basicAuth ? { basicAuth: config.basicAuth } : {}),
    ...(config.headers ? { headers: config.headers } : {}),
    lookup,
    refresh,
    explainPush: adapter.explainPush,
    // One receiver: a project list turns explanations on too.
    explain: config.explain !== false,
    maxBodyBytes: config.maxBodyBytes,
    deadlineMs: config.deadlineMs,
    concurrency: config.refreshConcurrency,
    logger: logger.child({ component: 'receiver' }),
    onWebhook,
    signal,
  });
  return {
    router,
    mount: joinMount(config.basePath, '/azure'),
    ready: () => adapter.ready(),
    isReady: () => adapter.isReady(),
    close: () => adapter.close(),
    count: () => 1,
    stats: () => adapter.stats(),
  };
}

async function projectConfigReceivers(
  config: ServerConfig,
  kubeConfig: KubeConfig,
  logger: PinoLogger,
  metrics: ServerMetrics | undefined,
  onWebhook: ((record: WebhookRecord) => void) | undefined,
  signal: AbortSignal,
): Promise<Receivers> {
  // Our own adapter, so that its lookups and refreshes are timed and its stats read.
  const adapter = kubernetesAdapter({
    kubeConfig,
    logger: logger.child({ component: 'kubernetes-adapter' }),
    ...(config.namespaces.length ? { namespaces: config.namespaces } : {}),
  });
  const timed = metrics ? metrics.instrument(adapter) : adapter;
  const router = kargoReceivers({
    kubeConfig,
    logger: logger.child({ component: 'kargo-receivers' }),
    writeStatus: config.writeStatus,
    systemNamespace: config.systemNamespace,
    maxBodyBytes: config.maxBodyBytes,
    signal,
    deadlineMs: config.deadlineMs,
    concurrency: config.refreshConcurrency,
    explain: config.explain,
    adapter: {
      lookup: timed.lookup,
      refresh: timed.refresh,
      explainPush: adapter.explainPush,
      scoped: (namespaces) => {
        const scoped = adapter.scoped(namespaces);
        return {
          ...(metrics ? metrics.instrument(scoped) : scoped),
          explainPush: scoped.explainPush,
        };
      },
      ready: () => adapter.ready(),
      isReady: () => adapter.isReady(),
    },
    ...(config.namespaces.length ? { namespaces: config.namespaces } : {}),
    ...(config.baseURL !== undefined ? { baseURL: config.baseURL } : {}),
    ...(onWebhook ? { onWebhook } : {}),
  });
  return {
    router,
    mount: config.basePath,
    ready: () => router.ready(),
    isReady: () => router.isReady(),
    async close() {
      await router.close();
      await adapter.close();
    },
    count: () => router.receivers().length,
    stats: () => adapter.stats(),
  };
}

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the server described by `config`; resolves once it listens (readiness follows when the caches sync). */
export async function startServer(
  config: ServerConfig,
  dependencies: ServerDependencies = {},
): Promise<RunningServer> {
  const logger = dependencies.logger ?? createLogger(config.logLevel);
  const kubeConfig = dependencies.kubeConfig ?? loadKubeConfig(config);
  const metrics = config.metricsPort !== undefined ? new ServerMetrics() : undefined;
  const mode = config.tokens ? 'single' : 'kargo';
  const onWebhook = metrics?.onWebhook;

  // Aborted when the shutdown timeout is up: webhooks still running then answer 503 at once.
  const drainOver = new AbortController();
  setMaxListeners(0, drainOver.signal); // one listener per webhook in flight
  const receivers = config.tokens
    ? singleReceiver(
        { ...config, tokens: config.tokens },
        kubeConfig,
        logger,
        metrics,
        onWebhook,
        drainOver.signal,
      )
    : await projectConfigReceivers(
        config,
        kubeConfig,
        logger,
        metrics,
        onWebhook,
        drainOver.signal,
      );

  let shuttingDown = false;
  const isReady = (): boolean => !shuttingDown && receivers.isReady();
  if (metrics) {
    if (receivers.stats) metrics.addAdapterStats(receivers.stats);
    metrics.setStatus({ ready: isReady, receivers: receivers.count });
  }

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(function connectionCloseWhileDraining(_req: Request, res: Response, next: NextFunction) {
    // Keep-alive clients reconnect to another replica instead of to a closing one.
    if (shuttingDown) res.set('Connection', 'close');
    next();
  });
  const failing = (): Failing => receivers.stats?.()?.failing ?? [];
  app.use(
    healthRouter(
      () => {
        if (shuttingDown) return 'shutting down';
        if (receivers.isReady()) return undefined;
        const down = failing();
        return down.length
          ? `Kubernetes caches not synced: ${describeFailing(down)}`
          : 'Kubernetes caches not synced yet';
      },
      // Ready meanwhile (see isReady in the adapter): ACR does not retry, so leaving the Service loses its pushes.
      () => {
        const down = failing();
        return down.length ? `${describeFailing(down)}; lookups confirm by live reads` : undefined;
      },
    ),
  );
  app.use(receivers.mount, receivers.router);
  app.use(function notFound(req: Request, res: Response) {
    logger.debug({ method: req.method, path: redactPath(req.originalUrl) }, 'no route');
    res.status(404).json({ error: 'not found' });
  });
  app.use(function errorHandler(err: unknown, req: Request, res: Response, next: NextFunction) {
    // Express's own errors (a malformed %-escape in the path, …): a fixed answer, never the message.
    const status =
      typeof (err as { status?: unknown }).status === 'number'
        ? (err as { status: number }).status
        : 500;
    logger[status >= 500 ? 'error' : 'warn'](
      {
        method: req.method,
        path: redactPath(req.originalUrl),
        status,
        errorName: (err as { name?: unknown }).name,
      },
      'request failed',
    );
    if (res.headersSent) return next(err);
    res
      .status(status >= 400 && status < 500 ? status : 500)
      .json({ error: status >= 400 && status < 500 ? 'bad request' : 'internal error' });
  });

  const tls =
    config.tlsCert && config.tlsKey
      ? { cert: await readFile(config.tlsCert), key: await readFile(config.tlsKey) }
      : undefined;
  // Node checks headersTimeout and requestTimeout every
  // connectionsCheckingInterval (30 s by default): checked each second, a
  // slow client is cut within a second of its timeout.
  const serverOptions = { connectionsCheckingInterval: config.connectionsCheckingIntervalMs };
  const server: http.Server = tls
    ? https.createServer({ ...serverOptions, ...tls, minVersion: 'TLSv1.2' }, app)
    : http.createServer(serverOptions, app);
  // A slow client cannot hold a connection for ever (Flux's notification-controller uses 10 s / 30 s-like bounds).
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  // No `server.timeout`: it is an idle-socket timeout that would also cut a
  // webhook waiting on the API server; the receiver's deadline answers 503 instead.

  // In-flight requests, to drain them on shutdown.
  const active = new Map<Socket, number>();
  const unanswered = new Set<http.ServerResponse>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    active.set(socket, (active.get(socket) ?? 0) + 1);
    unanswered.add(res);
    res.once('close', () => {
      unanswered.delete(res);
      const left = (active.get(socket) ?? 1) - 1;
      if (left > 0) active.set(socket, left);
      else active.delete(socket);
      if (shuttingDown && !socket.destroyed && left <= 0) socket.end();
    });
  });

  let metricsServer: MetricsServer | undefined;
  let address: AddressInfo;
  try {
    address = await listen(server, config.port, config.host);
    if (metrics && config.metricsPort !== undefined)
      metricsServer = await startMetricsServer(metrics, config.metricsPort, config.host);
  } catch (err) {
    server.close();
    await receivers.close();
    throw err;
  }
  const url = `${tls ? 'https' : 'http'}://${displayHost(config.host, address)}:${address.port}`;
  logger.info(
    {
      url,
      metricsURL: metricsServer?.url,
      mode,
      receivers: `${joinMount(config.basePath, '/azure')}/<token>`,
      namespaces:
        mode === 'single' ? (config.namespaces.length ? config.namespaces : 'all') : undefined,
      // Names only: which second factor single-receiver mode requires.
      secondFactor:
        mode === 'single'
          ? [
              ...(config.basicAuth ? ['basic-auth'] : []),
              ...Object.keys(config.headers ?? {}).map((name) => `header:${name}`),
            ]
          : undefined,
    },
    'listening',
  );

  const readyPromise = receivers.ready();
  readyPromise.then(
    () => logger.info({ receivers: receivers.count() }, 'ready: caches synced'),
    () => undefined,
  );

  let closing: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    shuttingDown = true;
    const started = Date.now();
    logger.info(
      { inFlight: unanswered.size, timeoutMs: config.shutdownTimeoutMs },
      'shutting down: draining in-flight requests',
    );
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Answers still to come close their connection: the client reconnects to another replica.
    for (const res of unanswered) if (!res.headersSent) res.setHeader('Connection', 'close');
    if (!(await within(closed, config.shutdownTimeoutMs))) {
      logger.warn(
        { inFlight: unanswered.size, timeoutMs: config.shutdownTimeoutMs },
        'shutdown timeout: answering webhooks still running with 503',
      );
      drainOver.abort();
      if (!(await within(closed, FLUSH_TIMEOUT_MS))) {
        logger.warn(
          { cut: active.size, timeoutMs: FLUSH_TIMEOUT_MS },
          'shutdown: closing connections still busy',
        );
        server.closeAllConnections();
        await closed;
      }
    }
    const stopped = Promise.allSettled([receivers.close(), metricsServer?.close()]);
    if (!(await within(stopped, CLOSE_TIMEOUT_MS)))
      logger.warn({ timeoutMs: CLOSE_TIMEOUT_MS }, 'shutdown: watches not closed in time');
    logger.info({ durationMs: Date.now() - started }, 'stopped');
  }

  return {
    server,
    url,
    metricsURL: metricsServer?.url,
    mode,
    metrics,
    isReady,
    ready: () => readyPromise,
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}
