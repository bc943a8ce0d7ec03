/** The receivers `serve` mounts: one from flags, or those of the cluster's ProjectConfigs. @module */
import type { KubeConfig } from '@kubernetes/client-node';
import type express from 'express';
import type { Logger as PinoLogger } from 'pino';
import { kubernetesAdapter, type KubernetesAdapter } from '../adapters/kubernetes/index.js';
import { kargoReceivers } from '../kargo/index.js';
import { azureReceiver } from '../receiver/receiver.js';
import type { ServerMetrics } from './metrics.js';
import type { ServerConfig } from './server-config.js';

/** What the server needs of a receiver source, whichever the mode. */
export interface Receivers {
  router: express.Router;
  /** The router's mount point below the base path. */
  mount: string;
  ready(): Promise<void>;
  isReady(): boolean;
  close(): Promise<void>;
  count(): number;
  stats: (() => ReturnType<KubernetesAdapter['stats']> | undefined) | undefined;
}

/** What both modes build on. */
export interface ReceiverContext {
  kubeConfig: KubeConfig;
  logger: PinoLogger;
  metrics: ServerMetrics | undefined;
  /** Aborted when the shutdown timeout is up: webhooks still running then answer 503 at once. */
  signal: AbortSignal;
}

export function joinMount(basePath: string, suffix: string): string {
  return `${basePath === '/' ? '' : basePath}${suffix}` || '/';
}

function adapterFor(config: ServerConfig, { kubeConfig, logger }: ReceiverContext) {
  return kubernetesAdapter({
    kubeConfig,
    logger: logger.child({ component: 'kubernetes-adapter' }),
    ...(config.namespaces.length ? { namespaces: config.namespaces } : {}),
  });
}

export function singleReceiver(
  config: ServerConfig & { tokens: string[] },
  context: ReceiverContext,
): Receivers {
  const { logger, metrics, signal } = context;
  const adapter = adapterFor(config, context);
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
    onWebhook: metrics?.onWebhook,
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

export function projectConfigReceivers(config: ServerConfig, context: ReceiverContext): Receivers {
  const { kubeConfig, logger, metrics, signal } = context;
  // Our own adapter, so that its lookups and refreshes are timed and its stats read.
  const adapter = adapterFor(config, context);
  const timed = metrics ? metrics.instrument(adapter) : adapter;
  const onWebhook = metrics?.onWebhook;
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
