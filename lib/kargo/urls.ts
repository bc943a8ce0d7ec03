/**
 * Kargo's receiver paths and URLs, and `listReceiverURLs()`: a one-shot read
 * of the cluster (no watch) for the `urls` command.
 * @module
 */
import {
  type KubeConfigLike,
  adoptKubeConfig,
  defaultKubeConfig,
  kubeConfigSchema,
} from '../kube/config.js';
import Joi from 'joi';
import { explainKubeFailure } from '../kube/errors.js';
import { KubeHttpError, type ResourceType, collectionPath, kubeGet } from '../kube/http.js';
import { silentLogger } from '../logger.js';
import { loggerSchema, validate } from '../schemas.js';
import type { Logger } from '../types.js';
import {
  CLUSTER_CONFIGS,
  CLUSTER_CONFIG_NAME,
  DEFAULT_SYSTEM_NAMESPACE,
  PROJECT_CONFIGS,
  RECEIVER_TYPE,
  SECRETS,
  type AzureReceiverSpec,
  type KargoConfigObject,
  type SecretObject,
  declaredReceivers,
  problemFields,
  problemMessage,
  projectConfigProblem,
} from './resources.js';
import { secretTokens } from './receiver-tokens.js';

/** One served receiver, as `receivers()` and `listReceiverURLs()` report it. */
export interface ReceiverInfo {
  /** The Kargo project (namespace); `''` for a ClusterConfig receiver. */
  project: string;
  /** The receiver's name in `spec.webhookReceivers`. */
  name: string;
  /** `/azure/<token>`: the path below the router's mount point. */
  path: string;
  /** `baseURL` joined with the path, when a base URL was given. */
  url?: string;
}

/** Go's `path.Join` then `url.JoinPath`: empty and `.` segments dropped, `..` resolved, a trailing slash kept. Absolute. */
export function joinPath(...elements: string[]): string {
  const out: string[] = [];
  for (const segment of elements.join('/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const joined = `/${out.join('/')}`;
  const last = elements[elements.length - 1] ?? '';
  return last.endsWith('/') && !joined.endsWith('/') ? `${joined}/` : joined;
}

/** `/azure/<token>`: the path of a receiver below a router mounted at `/`. */
export function receiverPath(token: string): string {
  return joinPath('/', RECEIVER_TYPE, token);
}

/** Kargo's `getDetails`: the base URL's path comes first (`https://hooks.example.com/kargo` → `/kargo/azure/<token>`). */
export function receiverDetails(
  baseURL: string | undefined,
  token: string,
): { path: string; url?: string } {
  if (baseURL === undefined) return { path: receiverPath(token) };
  const base = new URL(baseURL);
  const path = joinPath(base.pathname, RECEIVER_TYPE, token);
  return { path, url: `${schemeAndHost(baseURL)}${path}` };
}

/**
 * A base URL's scheme and host as Go's `u.String()` writes them: scheme lowercased (`net/url` `getScheme`), host and port
 * as given. `URL.origin` would drop `:443` and lowercase or punycode the host, unlike the URL Kargo writes.
 */
function schemeAndHost(baseURL: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(baseURL);
  if (!match) return new URL(baseURL).origin;
  return `${(match[1] ?? '').toLowerCase()}://${match[2] ?? ''}`;
}

/** The `receivers()` entry of a receiver: path below the mount point, URL from the base URL. */
export function receiverInfo(
  spec: Pick<AzureReceiverSpec, 'project' | 'name'>,
  token: string,
  baseURL: string | undefined,
): ReceiverInfo {
  const info: ReceiverInfo = { project: spec.project, name: spec.name, path: receiverPath(token) };
  const { url } = receiverDetails(baseURL, token);
  if (url !== undefined) info.url = url;
  return info;
}

/** A base URL: http(s), no credentials, query or fragment (Kargo's `--base-url`). */
export const baseURLSchema = Joi.string()
  .uri({ scheme: ['http', 'https'] })
  .custom((value: string, helpers) => {
    const url = new URL(value);
    if (url.username || url.password || url.search || url.hash) return helpers.error('any.invalid');
    return value;
  })
  .messages({
    'string.uriCustomScheme':
      '{{#label}} must be an http or https URL such as https://kargo-webhooks.example.com',
    'string.uri':
      '{{#label}} must be an http or https URL such as https://kargo-webhooks.example.com',
    'any.invalid': '{{#label}} must not hold credentials, a query or a fragment',
  });

/** Options of {@link listReceiverURLs}. */
export interface ListReceiverURLsOptions {
  /** Where and who to connect as: a `KubeConfig` of `@kubernetes/client-node` 1.x or 2.x. Default: `KubeConfig.loadFromDefault()`. */
  kubeConfig?: KubeConfigLike;
  /** Public base URL of the receiver, e.g. `https://kargo-webhooks.example.com`; adds `url` to each entry. */
  baseURL?: string;
  /** Namespace of the Secrets of ClusterConfig receivers. Default `kargo-system-resources`. */
  systemNamespace?: string;
  /** Receives one warning per receiver that cannot be served (never the secret). Default: silent. */
  logger?: Logger;
  /** Timeout of each request to the API, in milliseconds. Default 30 000. */
  requestTimeoutMs?: number;
}

const listSchema = Joi.object({
  kubeConfig: kubeConfigSchema,
  baseURL: baseURLSchema,
  systemNamespace: Joi.string().hostname().max(63),
  logger: loggerSchema,
  requestTimeoutMs: Joi.number().integer().min(1),
});

/** Reads every ProjectConfig, the ClusterConfig and referenced Secrets once: the servable Azure receivers, sorted; broken ones logged. */
export async function listReceiverURLs(
  options: ListReceiverURLsOptions = {},
): Promise<ReceiverInfo[]> {
  const valid = validate<ListReceiverURLsOptions>(listSchema, options);
  const kubeConfig = valid.kubeConfig ? adoptKubeConfig(valid.kubeConfig) : defaultKubeConfig();
  const logger = valid.logger ?? silentLogger;
  const systemNamespace = valid.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
  const timeoutMs = valid.requestTimeoutMs ?? 30_000;
  // A failure other than a 404 of one object is explained: which server, which context, what to check.
  const get = (path: string, resource: ResourceType): Promise<unknown> =>
    kubeGet(kubeConfig, path, {}, { timeoutMs }).catch((err: unknown) => {
      if (
        err instanceof KubeHttpError &&
        !(err.statusCode === 404 && path !== collectionPath(resource))
      )
        throw explainKubeFailure(err, kubeConfig, resource);
      throw err;
    });

  const specs: AzureReceiverSpec[] = [];
  const projectConfigs = (await get(collectionPath(PROJECT_CONFIGS), PROJECT_CONFIGS)) as {
    items?: KargoConfigObject[];
  };
  for (const pc of projectConfigs.items ?? []) {
    const namespace = pc.metadata?.namespace ?? '';
    const declaredBy = `ProjectConfig ${namespace}/${pc.metadata?.name ?? ''}`;
    const problem = projectConfigProblem(pc);
    if (problem) {
      logger.warn({ config: declaredBy }, `${declaredBy} ignored: ${problem}`);
      continue;
    }
    specs.push(...declaredReceivers(pc, logger));
  }
  const clusterConfig = (await get(
    `${collectionPath(CLUSTER_CONFIGS)}/${CLUSTER_CONFIG_NAME}`,
    CLUSTER_CONFIGS,
  ).catch((err: unknown) => {
    if (err instanceof KubeHttpError && err.statusCode === 404) return undefined;
    throw err;
  })) as KargoConfigObject | undefined;
  if (clusterConfig) specs.push(...declaredReceivers(clusterConfig, logger, systemNamespace));

  const result: ReceiverInfo[] = [];
  for (const spec of specs) {
    // A list of one name, as `serve` reads it: the same RBAC (list, resourceNames allowed) suffices.
    const found = (await kubeGet(
      kubeConfig,
      collectionPath(SECRETS, spec.secretNamespace),
      { fieldSelector: `metadata.name=${spec.secretName}` },
      { timeoutMs },
    ).catch((err: unknown) => {
      throw err instanceof KubeHttpError ? explainKubeFailure(err, kubeConfig, SECRETS) : err;
    })) as { items?: SecretObject[] };
    const secret = found.items?.find((s) => s.metadata?.name === spec.secretName);
    // A receiver whose second-factor keys are unusable is not served either.
    const tokens = secretTokens(secret);
    const derived = tokens.derive(spec);
    tokens.drop();
    if ('problem' in derived)
      logger.warn(problemFields(spec, derived.problem), problemMessage(spec, derived.problem));
    else result.push(receiverInfo(spec, derived.token, valid.baseURL));
  }
  return result.sort(compareReceivers);
}

/** By project, then name. */
export function compareReceivers(a: ReceiverInfo, b: ReceiverInfo): number {
  const [x, y] = a.project === b.project ? [a.name, b.name] : [a.project, b.project];
  return x < y ? -1 : x > y ? 1 : 0;
}
