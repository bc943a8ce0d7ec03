/** `startServer()`: the server behind `serve`: receivers, probes, metrics, timeouts, shutdown. @module */
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger as PinoLogger } from 'pino';
import { loadKubeConfig as loadKubeConfigFile } from '../kube/config.js';
import { listen } from './listen.js';
import { createLogger } from './logging.js';
import { ServerMetrics } from './metrics.js';
import { displayHost, startMetricsServer, type MetricsServer } from './metrics-server.js';
import { serveApp } from './serve-app.js';
import { joinMount, projectConfigReceivers, singleReceiver } from './serve-receivers.js';
import type { ServerConfig } from './server-config.js';
import { shutDown, trackInFlight } from './shutdown.js';

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
  /** Graceful, idempotent shutdown (see shutdown.ts); at most `shutdownTimeoutMs + FLUSH_TIMEOUT_MS + CLOSE_TIMEOUT_MS`. */
  close(): Promise<void>;
}

/** A named kubeconfig missing or broken stops the server; none at all does not (the watches retry, naming the cause). */
function loadKubeConfig(config: ServerConfig): KubeConfig {
  // Typed by what the adapters read, so the published declarations never import client-node.
  return loadKubeConfigFile(config.kubeconfig, { allowMissing: true }) as KubeConfig;
}

/** A server with Node's request timeouts, over TLS when a certificate is given. */
async function createServer(config: ServerConfig, app: http.RequestListener) {
  const tls =
    config.tlsCert && config.tlsKey
      ? { cert: await readFile(config.tlsCert), key: await readFile(config.tlsKey) }
      : undefined;
  // Checked each second (Node's default: 30 s), a slow client is cut within a second of its timeout.
  const serverOptions = { connectionsCheckingInterval: config.connectionsCheckingIntervalMs };
  const server: http.Server = tls
    ? https.createServer({ ...serverOptions, ...tls, minVersion: 'TLSv1.2' }, app)
    : http.createServer(serverOptions, app);
  // A slow client cannot hold a connection for ever (Flux's notification-controller uses 10 s / 30 s-like bounds).
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  // No `server.timeout`: it would cut a webhook waiting on the API server; the deadline answers 503.
  return { server, scheme: tls ? 'https' : 'http' };
}

/** The `listening` log line's fields. */
function listeningFields(config: ServerConfig, mode: RunningServer['mode']) {
  const single = mode === 'single';
  return {
    mode,
    receivers: `${joinMount(config.basePath, '/azure')}/<token>`,
    namespaces: single ? (config.namespaces.length ? config.namespaces : 'all') : undefined,
    // Names only: which second factor single-receiver mode requires.
    secondFactor: single
      ? [
          ...(config.basicAuth ? ['basic-auth'] : []),
          ...Object.keys(config.headers ?? {}).map((name) => `header:${name}`),
        ]
      : undefined,
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

  // Aborted when the shutdown timeout is up: webhooks still running then answer 503 at once.
  const drainOver = new AbortController();
  setMaxListeners(0, drainOver.signal); // one listener per webhook in flight
  const context = { kubeConfig, logger, metrics, signal: drainOver.signal };
  const receivers = config.tokens
    ? singleReceiver({ ...config, tokens: config.tokens }, context)
    : projectConfigReceivers(config, context);

  let shuttingDown = false;
  const isShuttingDown = (): boolean => shuttingDown;
  const isReady = (): boolean => !shuttingDown && receivers.isReady();
  if (metrics) {
    if (receivers.stats) metrics.addAdapterStats(receivers.stats);
    metrics.setStatus({ ready: isReady, receivers: receivers.count });
  }
  const { server, scheme } = await createServer(
    config,
    serveApp(receivers, isShuttingDown, logger),
  );
  const inFlight = trackInFlight(server, isShuttingDown);

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
  const url = `${scheme}://${displayHost(config.host, address)}:${address.port}`;
  logger.info(
    { url, metricsURL: metricsServer?.url, ...listeningFields(config, mode) },
    'listening',
  );

  const readyPromise = receivers.ready();
  readyPromise.then(
    () => logger.info({ receivers: receivers.count() }, 'ready: caches synced'),
    () => undefined,
  );

  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    metricsURL: metricsServer?.url,
    mode,
    metrics,
    isReady,
    ready: () => readyPromise,
    close() {
      shuttingDown = true;
      closing ??= shutDown({
        server,
        inFlight,
        drainOver,
        timeoutMs: config.shutdownTimeoutMs,
        closeRest: () => Promise.allSettled([receivers.close(), metricsServer?.close()]),
        logger,
      });
      return closing;
    },
  };
}
