/**
 * Options of `kargoReceivers`, checked once when the factory is called.
 * @module
 */
import type { ClientKubeConfig as KubeConfig } from '../kube/config.js';
import { type KubeConfigLike, adoptKubeConfig, kubeConfigSchema } from '../kube/config.js';
import Joi from 'joi';
import { optionsError } from '../errors.js';
import {
  type HandlerConfig,
  type WebhookRecord,
  handlerSchema,
  pickHandlerConfig,
} from '../receiver/options.js';
import { namespaceSchema, namespacesSchema, validate } from '../schemas.js';
import type { ExplainPush, Logger, Lookup, Refresh } from '../types.js';
import { DEFAULT_SYSTEM_NAMESPACE } from './resources.js';
import { baseURLSchema } from './urls.js';

/** What `kargoReceivers` needs of an adapter: the cluster-wide pair, and the same restricted to namespaces. */
export interface KargoAdapter {
  /** Finds objects in every namespace (ClusterConfig receivers). */
  lookup: Lookup;
  /** Refreshes an object in any namespace. */
  refresh: Refresh;
  /** Explains pushes in every namespace, for hints and `explain` answers. Optional. */
  explainPush?: ExplainPush;
  /** The same, restricted to these namespaces: a project's receiver refreshes (and explains) its project only. */
  scoped(namespaces: readonly string[]): {
    lookup: Lookup;
    refresh: Refresh;
    explainPush?: ExplainPush;
  };
  /** Awaited by `ready()` when present. */
  ready?(): Promise<void>;
  /** Consulted by `isReady()` when present. */
  isReady?(): boolean;
}

/** Options of {@link kargoReceivers}. */
export interface KargoReceiversOptions {
  /** A `KubeConfig` of your own `@kubernetes/client-node` (1.x or 2.x). Default: `KubeConfig.loadFromDefault()`. */
  kubeConfig?: KubeConfigLike;
  /** Public base URL of the router (with its mount path), e.g. `https://kargo-webhooks.example.com`: gives receivers their `url`. */
  baseURL?: string;
  /** A pino-compatible logger. Default: silent. Tokens and secrets are never logged. */
  logger?: Logger;
  /** Write `status.webhookReceivers` of ProjectConfigs (for clusters without Kargo's controller). Default false. */
  writeStatus?: boolean;
  /** Namespace of the Secrets of ClusterConfig receivers. Default `kargo-system-resources`, as Kargo's `SYSTEM_RESOURCES_NAMESPACE`. */
  systemNamespace?: string;
  /** Watch ProjectConfigs and Secrets in these namespaces only (plus `systemNamespace`'s Secrets), for Role-based RBAC. Default: all. */
  namespaces?: string | readonly string[];
  /** Alias of `namespaces` (give one or the other). */
  namespace?: string | readonly string[];
  /** Largest accepted body in bytes; larger ones get 413. Default 2 MiB. */
  maxBodyBytes?: number;
  /** How many refreshes of one webhook run at once. Default 16. */
  concurrency?: number;
  /** Called once per request with a token-free summary (labels name the project and receiver). Must not throw. */
  onWebhook?: (record: WebhookRecord) => void;
  /** A webhook is answered within this time at the latest (503 past it). Default 20000 ms. */
  deadlineMs?: number;
  /** Once aborted, webhooks in flight are answered 503 at once (see `azureReceiver`'s `signal`), for a graceful shutdown. */
  signal?: AbortSignal;
  /**
   * List in each push's answer the project's Warehouses subscribed to the repository and whether and why (not) each
   * was refreshed. `true`: every receiver; a list: those projects' receivers. Default false. See `azureReceiver`'s `explain`.
   */
  explain?: boolean | string[];
  /** Finds and refreshes Warehouses. Default: `kubernetesAdapter({ kubeConfig, logger, namespace: namespaces })`, closed by `close()`. */
  adapter?: KargoAdapter;
  /** Timeout of each Secret list (the labelled Secrets' list page, a by-name read of an unlabelled one) and of each status write request, in milliseconds. Default 30 000. */
  requestTimeoutMs?: number;
}

/** The fully-defaulted configuration. */
export interface KargoReceiversConfig extends HandlerConfig {
  kubeConfig: KubeConfig | undefined;
  baseURL: string | undefined;
  writeStatus: boolean;
  systemNamespace: string;
  namespaces: string[] | undefined;
  adapter: KargoAdapter | undefined;
  requestTimeoutMs: number;
  /** Projects whose receivers explain, when `explain` is a list. */
  explainProjects: string[] | undefined;
}

const schema = Joi.object({
  kubeConfig: kubeConfigSchema,
  baseURL: baseURLSchema,
  writeStatus: Joi.boolean().default(false),
  systemNamespace: namespaceSchema.default(DEFAULT_SYSTEM_NAMESPACE),
  namespaces: namespacesSchema,
  namespace: namespacesSchema,
  adapter: Joi.object({
    lookup: Joi.function().required(),
    refresh: Joi.function().required(),
    scoped: Joi.function().required(),
    explainPush: Joi.function(),
    ready: Joi.function(),
    isReady: Joi.function(),
  })
    .unknown(true)
    .messages({
      'any.required':
        '{{#label}} is required: an adapter needs lookup, refresh and scoped(namespaces)',
    }),
  requestTimeoutMs: Joi.number().integer().min(1).default(30_000),
  ...handlerSchema,
  explain: Joi.alternatives()
    .try(Joi.boolean(), Joi.array().items(namespaceSchema).unique())
    .default(false),
})
  .oxor('namespace', 'namespaces')
  .messages({ 'object.oxor': 'namespace is an alias of namespaces: give one of them' });

/** Validates `kargoReceivers` options and fills in the defaults. */
export function kargoReceiversConfig(
  options: KargoReceiversOptions | undefined,
): KargoReceiversConfig {
  if (options !== undefined && (typeof options !== 'object' || options === null))
    throw optionsError('options must be an object');
  const valid = validate<KargoReceiversOptions & HandlerConfig & KargoReceiversConfig>(
    schema,
    options ?? {},
  );
  const explain = (valid as { explain: boolean | string[] }).explain;
  return {
    kubeConfig: valid.kubeConfig ? adoptKubeConfig(valid.kubeConfig) : undefined,
    baseURL: valid.baseURL,
    writeStatus: valid.writeStatus,
    systemNamespace: valid.systemNamespace,
    namespaces: namespaceList(valid.namespaces ?? valid.namespace),
    adapter: valid.adapter,
    requestTimeoutMs: valid.requestTimeoutMs,
    ...pickHandlerConfig(valid),
    // A list of projects: off by default, on for their receivers (see `explainProjects`).
    explain: explain === true,
    explainProjects: Array.isArray(explain) ? explain : undefined,
  };
}

function namespaceList(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? [value] : [...value];
}
