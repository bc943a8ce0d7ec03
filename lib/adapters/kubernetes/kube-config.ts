/**
 * Which `KubeConfig` we accept, and where the default one comes from.
 *
 * Users hand us the KubeConfig of their own `@kubernetes/client-node`, which
 * may be another copy than ours (1.3, or 2.x): `instanceof` fails across
 * copies and the TypeScript class, with its private members, is nominal. So
 * the option is typed by what we read of it (the four fields of a kubeconfig:
 * clusters, users, contexts, current context, the same shape in 1.x and 2.x)
 * and a foreign one is copied into a KubeConfig of our own copy with
 * `loadFromOptions`. Exec plugins, auth providers, in-cluster token files,
 * client certificates and proxies are data of those fields, so they carry
 * over; authenticators added with `addAuthenticator` do not.
 * @module
 */
import type https from 'node:https';
import Joi from 'joi';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A `KubeConfig` of any `@kubernetes/client-node` 1.x or 2.x (typed by the
 * fields we read, so that a KubeConfig of another copy type-checks).
 */
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
 * What our modules use of our own copy's `KubeConfig`. Declared here, not
 * imported, so that the published declarations never import
 * `@kubernetes/client-node`, whose own declarations need `@types/ws` and
 * more in a project with `skipLibCheck: false`.
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

/** `KubeConfig.loadFromDefault()`: `KUBECONFIG`, then `~/.kube/config`, then the in-cluster service account. */
export function defaultKubeConfig(): ClientKubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}
