/**
 * Options of `kubernetesAdapter`: the public type, the joi schema checked once
 * at factory time, and the fully-defaulted internal config.
 * @module
 */
import Joi from 'joi';
import type { ClientKubeConfig as KubeConfig } from './kube-config.js';
import type { Logger } from '../../types.js';
import { silentLogger } from '../../logger.js';
import { loggerSchema, namespaceSchema } from '../../options.js';
import { type BackoffOptions, type Sleep, backgroundSleep, realSleep } from './backoff.js';
import type { RefreshRetryOptions } from './refresher.js';
import {
  type KubeConfigLike,
  adoptKubeConfig,
  defaultKubeConfig,
  kubeConfigSchema,
} from './kube-config.js';

/** Options of {@link kubernetesAdapter}. */
export interface KubernetesAdapterOptions {
  /**
   * Cluster and credentials: a `KubeConfig` of your own `@kubernetes/client-node`
   * (1.x or 2.x). Default: `KubeConfig.loadFromDefault()`, which reads the
   * `KUBECONFIG` files, else `~/.kube/config`, else the in-cluster service account.
   */
  kubeConfig?: KubeConfigLike;
  /** Only these namespaces (Kargo projects). Default: every namespace. */
  namespaces?: string | readonly string[];
  /** Alias of `namespaces` (give one or the other). */
  namespace?: string | readonly string[];
  /** Receives operational logs. Default: silent. */
  logger?: Logger;
  /** How long a lookup waits for the initial lists before it rejects with `KUBE_NOT_SYNCED`. Default 10 000 ms. */
  syncTimeoutMs?: number;
  /** Also watch Promotions, for pull-request events. Default true. */
  promotions?: boolean;
  /** Timeout of each list and PATCH request. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** `timeoutSeconds` asked for each watch (spread up to twice that). Default 300. */
  watchTimeoutSeconds?: number;
  /** Backoff between failed list/watch attempts. Default 1 s doubling to 30 s, ±20 %. */
  watchBackoff?: BackoffOptions;
  /** Retries of refresh patches. Default 4 attempts, 250 ms doubling to 5 s, Retry-After honoured up to 30 s. */
  refreshRetry?: RefreshRetryOptions;
  /** Refresh PATCHes in flight at once. Default 8. */
  concurrency?: number;
  /** The clock stamped into the refresh annotation. Default `() => new Date()`. */
  now?: () => Date;
  /** Injectable delay for backoffs and retries (tests). Default: a real timer. */
  sleep?: Sleep;
  /** Injectable randomness in [0, 1) for jitter (tests). Default `Math.random`. */
  random?: () => number;
}

/** The fully-defaulted configuration. */
export interface KubernetesAdapterConfig {
  kubeConfig: KubeConfig;
  namespaces: readonly string[] | undefined;
  logger: Logger;
  syncTimeoutMs: number;
  promotions: boolean;
  requestTimeoutMs: number;
  watchTimeoutSeconds: number;
  watchBackoff: Required<BackoffOptions>;
  refreshRetry: Required<RefreshRetryOptions>;
  concurrency: number;
  now: () => Date;
  sleep: Sleep;
  /** The sleep of the watch loops: unref'd unless injected, so watches never keep the process alive. */
  watchSleep: Sleep;
  random: () => number;
}

const positive = Joi.number().integer().min(1);

const namespacesSchema = Joi.alternatives().try(
  namespaceSchema,
  Joi.array().items(namespaceSchema).min(1).unique(),
);

const schema = Joi.object({
  kubeConfig: kubeConfigSchema,
  namespaces: namespacesSchema,
  namespace: namespacesSchema,
  logger: loggerSchema,
  syncTimeoutMs: positive,
  promotions: Joi.boolean(),
  requestTimeoutMs: positive,
  watchTimeoutSeconds: positive,
  watchBackoff: Joi.object({
    initialMs: positive,
    maxMs: positive,
    factor: Joi.number().min(1),
    jitter: Joi.number().min(0).max(1),
  }),
  refreshRetry: Joi.object({
    attempts: positive,
    initialMs: Joi.number().integer().min(0),
    maxMs: Joi.number().integer().min(0),
    maxRetryAfterMs: Joi.number().integer().min(0),
  }),
  concurrency: positive,
  now: Joi.function(),
  sleep: Joi.function(),
  random: Joi.function(),
})
  .oxor('namespace', 'namespaces')
  .messages({ 'object.oxor': 'namespace is an alias of namespaces: give one of them' })
  .prefs({ errors: { wrap: { label: false } } });

/** Validates options (throws `[kargo-azure-receiver] options.… must …`) and fills defaults. */
export function resolveOptions(options: KubernetesAdapterOptions): KubernetesAdapterConfig {
  const { error } = schema.validate(options, { abortEarly: true });
  if (error) throw new TypeError(`[kargo-azure-receiver] options.${error.message}`);
  const kubeConfig = options.kubeConfig ? adoptKubeConfig(options.kubeConfig) : defaultKubeConfig();
  const namespace = options.namespaces ?? options.namespace;
  return {
    kubeConfig,
    namespaces:
      namespace === undefined
        ? undefined
        : typeof namespace === 'string'
          ? [namespace]
          : [...namespace],
    logger: options.logger ?? silentLogger,
    syncTimeoutMs: options.syncTimeoutMs ?? 10_000,
    promotions: options.promotions ?? true,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
    watchBackoff: {
      initialMs: 1000,
      maxMs: 30_000,
      factor: 2,
      jitter: 0.2,
      ...options.watchBackoff,
    },
    refreshRetry: {
      attempts: 4,
      initialMs: 250,
      maxMs: 5000,
      maxRetryAfterMs: 30_000,
      ...options.refreshRetry,
    },
    concurrency: options.concurrency ?? 8,
    now: options.now ?? (() => new Date()),
    sleep: options.sleep ?? realSleep,
    watchSleep: options.sleep ?? backgroundSleep,
    random: options.random ?? Math.random,
  };
}
