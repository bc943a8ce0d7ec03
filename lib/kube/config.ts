/**
 * Which `KubeConfig` we accept, and where the default one comes from. A user's KubeConfig may come from
 * another copy of `@kubernetes/client-node` (1.3, 2.x): `instanceof` fails across copies and the class
 * is nominal. So the option is typed by the four kubeconfig fields we read (same in 1.x and 2.x) and a
 * foreign one is copied into ours with `loadFromOptions`. Exec plugins, auth providers, token files,
 * client certificates and proxies are data of those fields and carry over; `addAuthenticator` ones do not.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import path from 'node:path';
import Joi from 'joi';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClusterError, SERVICE_ACCOUNT_TOKEN, noKubeConfigMessage } from './errors.js';

/** A `KubeConfig` of any `@kubernetes/client-node` 1.x or 2.x (typed by the fields we read). */
export interface KubeConfigLike {
  /** The clusters of the kubeconfig. */
  readonly clusters: readonly object[];
  /** The users (credentials) of the kubeconfig. */
  readonly users: readonly object[];
  /** The contexts of the kubeconfig. */
  readonly contexts: readonly object[];
  /** The name of the context in use. */
  readonly currentContext: string;
}

/**
 * What we use of our copy's `KubeConfig`, declared here so the published declarations never import
 * `@kubernetes/client-node` (its declarations need `@types/ws` and more under `skipLibCheck: false`).
 */
export interface ClientKubeConfig extends KubeConfigLike {
  getCurrentContext(): string;
  getCurrentCluster(): {
    readonly name: string;
    readonly server: string;
    readonly proxyUrl?: string;
  } | null;
  applyToHTTPSOptions(options: https.RequestOptions): Promise<void>;
}

/** The joi schema of a `kubeConfig` option. */
export const kubeConfigSchema = Joi.object({
  clusters: Joi.array().required(),
  users: Joi.array().required(),
  contexts: Joi.array().required(),
  currentContext: Joi.string().allow('').required(),
})
  .unknown(true)
  .error((errors) => {
    const [first] = errors;
    if (first)
      first.message = `${first.local.label?.split('.')[0] ?? 'kubeConfig'} must be a KubeConfig of @kubernetes/client-node 1.x or 2.x`;
    return errors;
  });

/** Our copy's KubeConfig for `input`: itself when it is one, else a copy of its fields. */
export function adoptKubeConfig(input: KubeConfigLike): ClientKubeConfig {
  if (input instanceof KubeConfig) return input;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [...input.clusters],
    users: [...input.users],
    contexts: [...input.contexts],
    currentContext: input.currentContext,
  });
  return kubeConfig;
}

export { KUBECONFIG_SEARCH_ORDER } from './search-order.js';

/** Where the kubeconfig was named, for messages. */
type Origin = 'KUBECONFIG' | '--kubeconfig' | undefined;

/** Throws a worded {@link KubeClusterError} unless `file` exists and is a kubeconfig client-node can load. */
function checkKubeConfigFile(file: string, origin: Origin): void {
  const named = origin ? `the kubeconfig ${file} named by ${origin}` : `the kubeconfig ${file}`;
  const where = { server: '(no cluster in the kubeconfig)', context: '' };
  if (!existsSync(file))
    throw new KubeClusterError('KUBE_NO_CONFIG', `${named} does not exist`, where);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KubeClusterError(
      'KUBE_BAD_CONFIG',
      `${named} cannot be read${typeof code === 'string' ? ` (${code})` : ''}`,
      where,
    );
  }
  try {
    new KubeConfig().loadFromString(text);
  } catch (err) {
    // js-yaml's YAMLException: its message quotes the file (a token, maybe); only the line is said.
    const mark = (err as { mark?: { line?: unknown } }).mark;
    if (typeof mark?.line === 'number')
      throw new KubeClusterError(
        'KUBE_BAD_CONFIG',
        `${named} is not valid YAML: line ${mark.line + 1}`,
        where,
      );
    // client-node's own checks say which field is missing ("clusters[0].cluster.server is missing").
    const detail =
      err instanceof Error &&
      /^(clusters|users|contexts)\[\d+\][\w.]* is missing$/.test(err.message)
        ? `: ${err.message}`
        : '';
    throw new KubeClusterError('KUBE_BAD_CONFIG', `${named} is not a kubeconfig${detail}`, where);
  }
}

/**
 * The kubeconfig to use: `file`, else client-node's `loadFromDefault()` (KUBECONFIG_SEARCH_ORDER), its
 * failures in words ({@link KubeClusterError}): a missing file, bad YAML (the line, never the content),
 * or no kubeconfig (`KUBE_NO_CONFIG`) where client-node silently falls back to `http://localhost:8080`.
 * With `allowMissing` that fallback is returned (the server retries it, each retry naming the cause).
 */
export function loadKubeConfig(
  file?: string,
  options: { allowMissing?: boolean } = {},
): ClientKubeConfig {
  const env = process.env;
  const kubeConfig = new KubeConfig();
  if (file) {
    checkKubeConfigFile(file, '--kubeconfig');
    kubeConfig.loadFromFile(file);
    return kubeConfig;
  }
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f);
  if (listed.length > 0) {
    for (const f of listed) checkKubeConfigFile(f, 'KUBECONFIG');
  } else {
    const home = env.HOME;
    const config = home ? path.join(home, '.kube', 'config') : undefined;
    if (config && existsSync(config)) checkKubeConfigFile(config, undefined);
    else if (!existsSync(SERVICE_ACCOUNT_TOKEN) && !options.allowMissing)
      throw new KubeClusterError('KUBE_NO_CONFIG', noKubeConfigMessage(home), {
        server: '(no cluster in the kubeconfig)',
        context: '',
      });
  }
  try {
    kubeConfig.loadFromDefault();
  } catch (err) {
    // client-node refuses to merge two files that define the same cluster, user or context.
    const detail =
      err instanceof Error && /^Duplicate (cluster|user|context): /.test(err.message)
        ? `: ${err.message}`
        : '';
    throw new KubeClusterError(
      'KUBE_BAD_CONFIG',
      `the kubeconfig files named by KUBECONFIG cannot be merged${detail}`,
      { server: '(no cluster in the kubeconfig)', context: '' },
    );
  }
  return kubeConfig;
}

/** {@link loadKubeConfig} without a file: the default of `kubernetesAdapter()`; throws `KUBE_NO_CONFIG` when there is none. */
export function defaultKubeConfig(): ClientKubeConfig {
  return loadKubeConfig();
}
