/**
 * `kargoReceivers()`: one Express router serving every Azure receiver
 * declared in the cluster's ProjectConfigs and ClusterConfig, at Kargo's
 * paths.
 * @module
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { kubernetesAdapter } from '../adapters/kubernetes/index.js';
import type { SecondFactor } from '../receiver/second-factor.js';
import type { Endpoint } from '../receiver/authenticate.js';
import { mountWebhookRoute } from '../receiver/handler.js';
import { TokenRegistry } from '../receiver/token.js';
import type { ExplainPush, Lookup, Refresh } from '../types.js';
import { type ConfigSnapshot, ConfigWatcher } from './config-watcher.js';
import { type KargoAdapter, type KargoReceiversOptions, kargoReceiversConfig } from './options.js';
import { RECEIVER_TYPE } from './resources.js';
import { StatusWriter } from './status-writer.js';
import { defaultKubeConfig } from '../kube/config.js';
import { keepAliveUntilSettled } from '../kube/keep-alive.js';
import { type ReceiverInfo, receiverInfo } from './urls.js';

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
  const scopedByProject = new Map<
    string,
    { lookup: Lookup; refresh: Refresh; explainPush?: ExplainPush }
  >();
  const statusWriter = config.writeStatus
    ? new StatusWriter({
        kubeConfig,
        logger,
        baseURL: config.baseURL,
        requestTimeoutMs: config.requestTimeoutMs,
      })
    : undefined;

  let registry = new TokenRegistry<Endpoint>();
  let served: ReceiverInfo[] = [];

  function endpointFor(
    project: string,
    receiver: string,
    secondFactor: SecondFactor | undefined,
  ): Endpoint {
    let pair: { lookup: Lookup; refresh: Refresh; explainPush?: ExplainPush } | undefined =
      project === ''
        ? { lookup: adapter.lookup, refresh: adapter.refresh, explainPush: adapter.explainPush }
        : scopedByProject.get(project);
    if (!pair) {
      pair = adapter.scoped([project]);
      scopedByProject.set(project, pair);
    }
    return {
      lookup: pair.lookup,
      refresh: pair.refresh,
      ...(pair.explainPush ? { explainPush: pair.explainPush } : {}),
      ...(config.explainProjects ? { explain: config.explainProjects.includes(project) } : {}),
      labels: { project, receiver },
      secondFactor,
    };
  }

  function onChange(snapshot: ConfigSnapshot): void {
    // Built aside and swapped in one assignment: a request sees the old set or the new one.
    const next = new TokenRegistry<Endpoint>();
    const infos: ReceiverInfo[] = [];
    const projects = new Set<string>();
    for (const state of snapshot.receivers) {
      if (!state.token) continue;
      const endpoint = endpointFor(state.spec.project, state.spec.name, state.secondFactor);
      next.set(state.token, endpoint);
      // During a rotation the URL still registered in Azure keeps working (data.previousSecret).
      if (state.previousToken) next.set(state.previousToken, endpoint);
      infos.push(receiverInfo(state.spec, state.token, config.baseURL));
      projects.add(state.spec.project);
    }
    for (const project of scopedByProject.keys())
      if (!projects.has(project)) scopedByProject.delete(project);
    registry = next;
    served = infos.sort((a, b) =>
      a.project === b.project ? (a.name < b.name ? -1 : 1) : a.project < b.project ? -1 : 1,
    );
    statusWriter?.sync(snapshot);
  }

  const watcher = new ConfigWatcher({
    kubeConfig,
    logger,
    systemNamespace: config.systemNamespace,
    namespaces: config.namespaces,
    requestTimeoutMs: config.requestTimeoutMs,
    onChange,
  });

  const readyPromise = Promise.all([watcher.ready, adapter.ready?.()]).then(() => {
    logger.info({ receivers: served.length }, 'Kargo Azure receivers synced');
  });
  readyPromise.catch(() => undefined);

  function isReady(): boolean {
    return watcher.isReady() && (adapter.isReady?.() ?? true);
  }

  const router = express.Router();
  mountWebhookRoute(
    router,
    `/${RECEIVER_TYPE}/:token`,
    config,
    (token) => registry.find(token),
    function kargoReceiversGate(req: Request, res: Response, next: NextFunction): void {
      if (watcher.isReady()) {
        next();
        return;
      }
      // 503 lets Azure retry: a 404 for a receiver that exists but is not loaded yet would be wrong.
      res.set('Retry-After', '5').status(503).json(NOT_SYNCED);
    },
  );

  let closing: Promise<void> | undefined;
  return Object.assign(router, {
    ready: () => keepAliveUntilSettled(readyPromise),
    isReady,
    receivers: () => served.map((r) => ({ ...r })),
    close(): Promise<void> {
      closing ??= (async () => {
        await watcher.close();
        await statusWriter?.close();
        await ownedAdapter?.close();
        registry = new TokenRegistry<Endpoint>();
        served = [];
      })();
      return closing;
    },
  }) as KargoReceiversRouter;
}
