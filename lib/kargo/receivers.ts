/**
 * `kargoReceivers()`: one Express router serving every Azure receiver
 * declared in the cluster's ProjectConfigs and ClusterConfig, at Kargo's
 * paths.
 * @module
 */
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import { kubernetesAdapter } from '../adapters/kubernetes/index.js';
import { mountWebhookRoute } from '../receiver/handler.js';
import { ConfigWatcher } from './config-watcher.js';
import { type KargoAdapter, type KargoReceiversOptions, kargoReceiversConfig } from './options.js';
import { RECEIVER_TYPE } from './resources.js';
import { StatusWriter } from './status-writer.js';
import { defaultKubeConfig } from '../kube/config.js';
import { keepAliveUntilSettled } from '../kube/keep-alive.js';
import { servedReceivers } from './served-receivers.js';
import type { ReceiverInfo } from './urls.js';

/** The router `kargoReceivers` returns: an Express router with a lifecycle. */
export interface KargoReceiversRouter extends Router {
  /** Resolves once ProjectConfigs, the ClusterConfig, Secrets (and the adapter's caches) are synced. */
  ready(): Promise<void>;
  /** Whether `ready()` has resolved; until then every webhook is answered 503. */
  isReady(): boolean;
  /** Stops every watch and write (and the default adapter). Idempotent. */
  close(): Promise<void>;
  /** The receivers served now, sorted by project then name. The path holds the token: treat it as a secret. */
  receivers(): ReceiverInfo[];
}

const NOT_SYNCED = { error: 'receivers are not synced with the Kubernetes API yet' };

/**
 * Serves `POST /azure/<token>` below its mount point for every Azure
 * receiver of every ProjectConfig (and of the ClusterConfig `cluster`),
 * with `token = sha256(project + receiver name + secret)` as Kargo computes
 * it. A project's receiver refreshes that project's Warehouses only; a
 * ClusterConfig receiver refreshes every namespace.
 *
 * ```ts
 * const receivers = kargoReceivers({ baseURL: 'https://kargo-webhooks.example.com' });
 * app.use(receivers);            // Kargo's exact URLs
 * await receivers.ready();
 * ```
 * Paths not served fall through to the next handler; tokens not served get
 * 404.
 */
export function kargoReceivers(options?: KargoReceiversOptions): KargoReceiversRouter {
  const config = kargoReceiversConfig(options);
  const { logger } = config;
  const kubeConfig = config.kubeConfig ?? defaultKubeConfig();
  const ownedAdapter = config.adapter
    ? undefined
    : kubernetesAdapter({
        kubeConfig,
        logger,
        ...(config.namespaces ? { namespace: config.namespaces } : {}),
      });
  const adapter: KargoAdapter = config.adapter ?? (ownedAdapter as KargoAdapter);
  const served = servedReceivers(adapter, config);
  const statusWriter = config.writeStatus
    ? new StatusWriter({
        kubeConfig,
        logger,
        baseURL: config.baseURL,
        requestTimeoutMs: config.requestTimeoutMs,
      })
    : undefined;
  const watcher = new ConfigWatcher({
    kubeConfig,
    logger,
    systemNamespace: config.systemNamespace,
    namespaces: config.namespaces,
    requestTimeoutMs: config.requestTimeoutMs,
    onChange: (snapshot) => {
      served.update(snapshot);
      statusWriter?.sync(snapshot);
    },
  });

  const readyPromise = Promise.all([watcher.ready, adapter.ready?.()]).then(() => {
    logger.info({ receivers: served.list().length }, 'Kargo Azure receivers synced');
  });
  readyPromise.catch(() => undefined);

  const router = express.Router();
  mountWebhookRoute(
    router,
    `/${RECEIVER_TYPE}/:token`,
    config,
    (token) => served.find(token),
    syncGate(watcher),
  );

  let closing: Promise<void> | undefined;
  return Object.assign(router, {
    ready: () => keepAliveUntilSettled(readyPromise),
    isReady: () => watcher.isReady() && (adapter.isReady?.() ?? true),
    receivers: () => served.list().map((r) => ({ ...r })),
    close(): Promise<void> {
      closing ??= (async () => {
        await watcher.close();
        await statusWriter?.close();
        await ownedAdapter?.close();
        served.clear();
      })();
      return closing;
    },
  }) as KargoReceiversRouter;
}

/** 503 until the receivers are synced: Azure retries, where a 404 for a receiver not loaded yet would be wrong. */
function syncGate(watcher: ConfigWatcher): RequestHandler {
  return function kargoReceiversGate(req: Request, res: Response, next: NextFunction): void {
    if (watcher.isReady()) {
      next();
      return;
    }
    res.set('Retry-After', '5').status(503).json(NOT_SYNCED);
  };
}
