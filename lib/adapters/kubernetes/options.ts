/**
 * Options of `kubernetesAdapter`: the public type, the joi schema checked once, the defaulted config.
 * @module
 */
import Joi from 'joi';
import type { Logger } from '../../types.js';
import { silentLogger } from '../../logger.js';
import { optionsError } from '../../errors.js';
import { loggerSchema, namespacesSchema, optionsMessage } from '../../schemas.js';
import {
  type BackoffOptions,
  type Sleep,
  WATCH_BACKOFF,
  backgroundSleep,
  realSleep,
} from '../../kube/backoff.js';
import type { RefreshRetryOptions } from './refresher.js';
import {
  type ClientKubeConfig as KubeConfig,
  type KubeConfigLike,
  adoptKubeConfig,
  defaultKubeConfig,
  kubeConfigSchema,
} from '../../kube/config.js';

/** Options of {@link kubernetesAdapter}. */
export interface KubernetesAdapterOptions {
  /** Cluster and credentials: a `KubeConfig` of your `@kubernetes/client-node` 1.x or 2.x. Default:
   * `KubeConfig.loadFromDefault()` (`KUBECONFIG`, else `~/.kube/config`, else the service account). */
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
  /** The longest a cache may be out of sync (no open watch) before lookups reject with `KUBE_STALE`
   * (503, which Azure retries) and `isReady()` turns false. Default 30 000 ms. */
  maxStalenessMs?: number;
  /** Timeout of each list page and PATCH request. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Objects per list page (`limit`). Default 500, as client-go. */
  pageSize?: number;
  /** `timeoutSeconds` asked for each watch (spread up to twice that). Default 300. */
  watchTimeoutSeconds?: number;
  /** A watch that delivers nothing, not even a bookmark, this long is replaced. Default 90 000 ms. */
  watchIdleTimeoutMs?: number;
  /** The longest `close()` waits for watches and requests to end. Default 5 000 ms. */
  closeTimeoutMs?: number;
  /** The clock of freshness checks, in ms (tests). Default `Date.now`. */
  clock?: () => number;
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
  maxStalenessMs: number;
  promotions: boolean;
  requestTimeoutMs: number;
  pageSize: number;
  watchTimeoutSeconds: number;
  watchIdleTimeoutMs: number;
  closeTimeoutMs: number;
  clock: () => number;
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

const schema = Joi.object({
  kubeConfig: kubeConfigSchema,
  namespaces: namespacesSchema,
  namespace: namespacesSchema,
  logger: loggerSchema,
  syncTimeoutMs: positive,
  maxStalenessMs: positive,
  promotions: Joi.boolean(),
  requestTimeoutMs: positive,
  pageSize: positive,
  watchTimeoutSeconds: positive,
  watchIdleTimeoutMs: positive,
  closeTimeoutMs: positive,
  clock: Joi.function(),
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
  if (error) throw optionsError(optionsMessage(schema, error));
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
    maxStalenessMs: options.maxStalenessMs ?? 30_000,
    promotions: options.promotions ?? true,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    pageSize: options.pageSize ?? 500,
    watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
    watchIdleTimeoutMs: options.watchIdleTimeoutMs ?? 90_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5000,
    clock: options.clock ?? Date.now,
    watchBackoff: { ...WATCH_BACKOFF, ...options.watchBackoff },
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
