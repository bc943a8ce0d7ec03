/**
 * The Kargo objects `kargoReceivers` reads, and how an Azure receiver's path derives from them (akuity/kargo):
 * - `{Project,Cluster}Config.spec.webhookReceivers[]` hold `WebhookReceiverConfig {name, azure?: {secretRef: {name}}, …}`
 *   (api/v1alpha1 projectconfig_types.go, clusterconfig_types.go).
 * - The path is `url.JoinPath(basePath, "azure", hex(sha256(project + name + secret)))` (pkg/webhook/external/receiver.go,
 *   `buildWebhookPath`); `project` is the ProjectConfig's namespace, or `""` for the ClusterConfig, whose Secrets live in
 *   `SYSTEM_RESOURCES_NAMESPACE` (default `kargo-system-resources`).
 * - Kargo reads only the Secret's `secret` key (pkg/webhook/external/azure.go, `azureSecretDataKey`, `getSecretValues`),
 *   so our optional second-factor keys `basicAuth` and `headers` can live in the same Secret.
 * @module
 */
import { createHash } from 'node:crypto';
import {
  type SecondFactor,
  SecondFactorError,
  parseBasicAuthLines,
  parseHeaderLines,
  secondFactor,
} from '../receiver/second-factor.js';
import type { ResourceType } from '../kube/http.js';
import { kargoToken } from '../receiver/token.js';
import type { Logger } from '../types.js';

/** Kargo's default namespace for Secrets of cluster-level resources. */
export const DEFAULT_SYSTEM_NAMESPACE = 'kargo-system-resources';
/** The only ClusterConfig Kargo reads. */
export const CLUSTER_CONFIG_NAME = 'cluster';
/** The data key of an Azure receiver's Secret. */
export const SECRET_KEY = 'secret';
/** Optional data key: accepted basic authentication credentials, one `username:password` per line. */
export const BASIC_AUTH_KEY = 'basicAuth';
/** Optional data key: required headers, one `Name: Value` per line (a name on several lines accepts each value). */
export const HEADERS_KEY = 'headers';
/** Our optional data key: `secret`'s value before a rotation, accepted until removed so Azure can move without losing events (Kargo ignores it). */
export const PREVIOUS_SECRET_KEY = 'previousSecret';
/** The receiver type segment of the path. */
export const RECEIVER_TYPE = 'azure';

export const PROJECT_CONFIGS: ResourceType = {
  group: 'kargo.akuity.io',
  version: 'v1alpha1',
  plural: 'projectconfigs',
};
export const CLUSTER_CONFIGS: ResourceType = {
  group: 'kargo.akuity.io',
  version: 'v1alpha1',
  plural: 'clusterconfigs',
};
export const SECRETS: ResourceType = { group: '', version: 'v1', plural: 'secrets' };

/** `status.webhookReceivers[]` entry (Kargo's `WebhookReceiverDetails`). */
export interface WebhookReceiverDetails {
  name?: string;
  path?: string;
  url?: string;
}

/** A ProjectConfig or ClusterConfig as read from the API (only what we use). */
export interface KargoConfigObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { webhookReceivers?: unknown };
  status?: { webhookReceivers?: unknown };
}

/** A Secret as read from the API. Only `data.secret`, `data.basicAuth` and `data.headers` are ever looked at. */
export interface SecretObject {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  data?: Record<string, unknown> | null;
}

/** One Azure receiver declared in a ProjectConfig or the ClusterConfig. */
export interface AzureReceiverSpec {
  /** The ProjectConfig's namespace, `''` for the ClusterConfig. */
  project: string;
  /** `spec.webhookReceivers[].name`. */
  name: string;
  /** Where its Secret lives: the project's namespace, or the system namespace. */
  secretNamespace: string;
  /** `azure.secretRef.name`. */
  secretName: string;
  /** Who declared it, for log lines: `ProjectConfig kargo-demo/kargo-demo` or `ClusterConfig cluster`. */
  declaredBy: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Azure receivers of `spec.webhookReceivers`; other types are skipped, malformed entries reported through `onInvalid` by index. */
export function azureReceivers(
  object: KargoConfigObject,
  where: { project: string; secretNamespace: string; declaredBy: string },
  onInvalid: (index: number, reason: string) => void,
): AzureReceiverSpec[] {
  const list = object.spec?.webhookReceivers;
  if (!Array.isArray(list)) return [];
  const found: AzureReceiverSpec[] = [];
  // Names are unique across every receiver type of a config (Kargo's router finds a receiver by
  // name alone, pkg/webhook/external/router.go getWebhookReceiverConfig: the first one wins).
  const names = new Set<string>();
  list.forEach((entry: unknown, index) => {
    if (!isRecord(entry)) return;
    const name = entry.name;
    const taken = typeof name === 'string' && names.has(name);
    if (typeof name === 'string') names.add(name);
    if (entry.azure === undefined || entry.azure === null) return;
    const secretRef = isRecord(entry.azure) ? entry.azure.secretRef : undefined;
    const secretName = isRecord(secretRef) ? secretRef.name : undefined;
    if (typeof name !== 'string' || name === '') return onInvalid(index, 'receiver has no name');
    if (typeof secretName !== 'string' || secretName === '')
      return onInvalid(index, `receiver "${name}" has no azure.secretRef.name`);
    if (taken) return onInvalid(index, `receiver name "${name}" is declared twice`);
    found.push({
      project: where.project,
      name,
      secretNamespace: where.secretNamespace,
      secretName,
      declaredBy: where.declaredBy,
    });
  });
  return found;
}

/** {@link azureReceivers} of a ProjectConfig (its namespace is the project) or, given `systemNamespace`, of the ClusterConfig; malformed ones logged. */
export function declaredReceivers(
  object: KargoConfigObject,
  logger: Logger,
  systemNamespace?: string,
): AzureReceiverSpec[] {
  const namespace = object.metadata?.namespace ?? '';
  const declaredBy =
    systemNamespace === undefined
      ? `ProjectConfig ${namespace}/${object.metadata?.name ?? ''}`
      : `ClusterConfig ${CLUSTER_CONFIG_NAME}`;
  const where = { project: systemNamespace === undefined ? namespace : '', declaredBy };
  return azureReceivers(
    object,
    { ...where, secretNamespace: systemNamespace ?? namespace },
    (index, reason) =>
      logger.warn(
        { config: declaredBy, index },
        `${declaredBy}: Azure receiver ignored: ${reason}`,
      ),
  );
}

/** Why a ProjectConfig is not Kargo's (its name must equal its namespace: pkg/webhook/kubernetes/projectconfig/webhook.go); undefined when fine. */
export function projectConfigProblem(object: KargoConfigObject): string | undefined {
  const { name, namespace } = object.metadata ?? {};
  return name === namespace
    ? undefined
    : `its name "${name ?? ''}" differs from its namespace "${namespace ?? ''}"; Kargo reads only the ProjectConfig named after its project`;
}

/** Why a receiver gives no token. */
export type SecretProblem =
  | 'secret-missing'
  | 'key-missing'
  | 'secret-empty'
  | 'secret-invalid'
  | 'secret-unreadable'
  | 'not-watched'
  | 'ambiguous'
  | 'basic-auth-invalid'
  | 'headers-invalid';

/** Human sentences for {@link SecretProblem}, for log lines. */
export const PROBLEM_TEXT: Record<SecretProblem, string> = {
  'secret-missing': 'the Secret does not exist',
  'key-missing': `the Secret has no "${SECRET_KEY}" key in its data`,
  'secret-empty': `the Secret's "${SECRET_KEY}" value is empty`,
  'secret-invalid': `the Secret's "${SECRET_KEY}" value is not valid base64`,
  'secret-unreadable': 'the Secret could not be read from the Kubernetes API (retrying)',
  'not-watched': "the Secret's namespace is outside the watched namespaces",
  ambiguous:
    'its path collides with a receiver of another project (same project + name + secret concatenation); neither is served',
  'basic-auth-invalid': `the Secret's "${BASIC_AUTH_KEY}" value is not one username:password per line (user name without ":", no control characters)`,
  'headers-invalid': `the Secret's "${HEADERS_KEY}" value is not one "Name: Value" per line of headers that can carry a second factor (printable ASCII values; no Authorization together with "${BASIC_AUTH_KEY}")`,
};

/** Reads the raw bytes of `data.secret`, or says why there are none; the caller drops the bytes after deriving tokens. */
export function secretBytes(
  secret: SecretObject | undefined,
  key: string = SECRET_KEY,
): Buffer | SecretProblem {
  if (!secret) return 'secret-missing';
  const value = isRecord(secret.data) ? secret.data[key] : undefined;
  if (value === undefined || value === null) return 'key-missing';
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return 'secret-invalid';
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 0 ? 'secret-empty' : bytes;
}

/** The text of an optional data key; undefined when absent, null when not valid base64 text. */
function optionalText(data: Record<string, unknown>, key: string): string | undefined | null {
  const value = data[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return null;
  const bytes = Buffer.from(value, 'base64');
  const text = bytes.toString('utf8');
  bytes.fill(0);
  return text;
}

/**
 * The second factor of the optional `basicAuth` and `headers` keys, undefined when neither is present. A present
 * but unusable key (empty included) leaves the receiver unserved rather than served without it. Only digests are kept.
 */
export function secretSecondFactor(
  secret: SecretObject | undefined,
): SecondFactor | undefined | SecretProblem {
  const data = isRecord(secret?.data) ? secret.data : {};
  const basicText = optionalText(data, BASIC_AUTH_KEY);
  const headersText = optionalText(data, HEADERS_KEY);
  let basicAuth;
  try {
    if (basicText === null) return 'basic-auth-invalid';
    basicAuth =
      basicText === undefined ? undefined : parseBasicAuthLines(basicText, BASIC_AUTH_KEY);
  } catch (err) {
    if (err instanceof SecondFactorError) return 'basic-auth-invalid';
    throw err;
  }
  try {
    if (headersText === null) return 'headers-invalid';
    const headers =
      headersText === undefined ? undefined : parseHeaderLines(headersText, HEADERS_KEY);
    return secondFactor({ basicAuth, headers });
  } catch (err) {
    if (err instanceof SecondFactorError) return 'headers-invalid';
    throw err;
  }
}

/** Kargo's token: SHA-256 over project, receiver name and secret; non-UTF-8 secrets are hashed as raw bytes, as Go does. */
export function receiverToken(project: string, receiver: string, secret: Buffer): string {
  const text = secret.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(secret))
    return kargoToken({ project, receiver, secret: text });
  return createHash('sha256')
    .update(project + receiver, 'utf8')
    .update(secret)
    .digest('hex');
}

/** Token-free fields of the log line about a receiver that cannot be served. */
export function problemFields(
  spec: AzureReceiverSpec,
  problem: SecretProblem,
): Record<string, string> {
  return {
    config: spec.declaredBy,
    project: spec.project,
    receiver: spec.name,
    secretRef: `${spec.secretNamespace}/${spec.secretName}`,
    reason: problem,
  };
}

/** The log line about a receiver that cannot be served: names everything, never the secret. */
export function problemMessage(spec: AzureReceiverSpec, problem: SecretProblem): string {
  return `Azure receiver "${spec.name}" of ${spec.declaredBy} not served: ${PROBLEM_TEXT[problem]} (Secret ${spec.secretNamespace}/${spec.secretName})`;
}
