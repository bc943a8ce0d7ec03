/**
 * `startServer()`: the standalone server behind `kargo-azure-receiver serve`.
 * Receivers (ProjectConfig-driven, or one from flags), probes, metrics,
 * request timeouts and a graceful shutdown.
 * @module
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger as PinoLogger } from 'pino';
import { kubernetesAdapter, type KubernetesAdapter } from '../adapters/kubernetes/index.js';
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
   * Graceful shutdown: stops accepting connections, fails readiness, lets
   * in-flight requests finish (up to `shutdownTimeoutMs`, then cuts them),
   * closes the watches and the metrics server. Idempotent.
   */
  close(): Promise<void>;
}

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

function loadKubeConfig(config: ServerConfig): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

function singleReceiver(
  config: ServerConfig & { tokens: string[] },
  kubeConfig: KubeConfig,
  logger: PinoLogger,
  metrics: ServerMetrics | undefined,
  onWebhook: ((record: WebhookRecord) => void) | undefined,
): Receivers {
  const adapter = kubernetesAdapter({
    kubeConfig,
    logger: logger.child({ component: 'kubernetes-adapter' }),
    ...(config.namespaces.length ? { namespaces: config.namespaces } : {}),
  });
  const { lookup, refresh } = metrics ? metrics.instrument(adapter) : adapter;
  const router = azureReceiver({
    token: config.tokens,
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

  const receivers = config.tokens
    ? singleReceiver({ ...config, tokens: config.tokens }, kubeConfig, logger, metrics, onWebhook)
    : await projectConfigReceivers(config, kubeConfig, logger, metrics, onWebhook);

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
  app.use(
    healthRouter(() =>
      shuttingDown
        ? 'shutting down'
        : receivers.isReady()
          ? undefined
          : 'Kubernetes caches not synced yet',
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
  const server: http.Server = tls
    ? https.createServer({ ...tls, minVersion: 'TLSv1.2' }, app)
    : http.createServer(app);
  // A slow client cannot hold a connection for ever (Flux's notification-controller uses 10 s / 30 s-like bounds).
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  // No `server.timeout`: it is an idle-socket timeout that would also cut a
  // webhook waiting on the API server; the receiver's deadline answers 503 instead.

  // In-flight requests, to drain them on shutdown.
  const active = new Map<Socket, number>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    active.set(socket, (active.get(socket) ?? 0) + 1);
    res.once('close', () => {
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
      { inFlight: [...active.values()].reduce((a, b) => a + b, 0) },
      'shutting down: draining in-flight requests',
    );
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      closed.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), config.shutdownTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      logger.warn(
        { cut: active.size, timeoutMs: config.shutdownTimeoutMs },
        'shutdown timeout: closing connections still busy',
      );
      server.closeAllConnections();
      await closed;
    }
    await Promise.allSettled([receivers.close(), metricsServer?.close()]);
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
