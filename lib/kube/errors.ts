/**
 * The adapter's errors: a fixed message per `code`, never a client exception's text
 * (client-node's `ApiException` message embeds the response body and headers).
 * @module
 */

/** Stable codes of {@link KubernetesAdapterError}. */
export type KubernetesErrorCode =
  | 'KUBE_NOT_SYNCED'
  | 'KUBE_STALE'
  | 'KUBE_UNAVAILABLE'
  | 'KUBE_FORBIDDEN'
  | 'KUBE_UNAUTHORIZED'
  | 'KUBE_REJECTED'
  | 'KUBE_ADMISSION_DENIED'
  | 'KUBE_OUT_OF_SCOPE'
  | 'KUBE_CLOSED'
  | 'KUBE_ABORTED';

const MESSAGES: Record<KubernetesErrorCode, string> = {
  KUBE_NOT_SYNCED: 'the Kubernetes cache is not synced yet',
  KUBE_STALE: 'the Kubernetes cache is out of sync with the API server',
  KUBE_UNAVAILABLE: 'the Kubernetes API is unavailable',
  KUBE_FORBIDDEN: 'the Kubernetes API refused the request: missing RBAC permission',
  KUBE_UNAUTHORIZED: 'the Kubernetes API did not accept the credentials',
  KUBE_REJECTED: 'the Kubernetes API rejected the request',
  KUBE_ADMISSION_DENIED: 'an admission webhook refused the request',
  KUBE_OUT_OF_SCOPE: 'the target is outside the namespaces of this adapter',
  KUBE_CLOSED: 'the Kubernetes adapter is closed',
  KUBE_ABORTED: 'the caller gave up on the request',
};

/** The HTTP status a receiver should answer with: 503 when retrying later can help, 500 otherwise. */
const STATUSES: Record<KubernetesErrorCode, number> = {
  KUBE_NOT_SYNCED: 503,
  KUBE_STALE: 503,
  KUBE_UNAVAILABLE: 503,
  KUBE_FORBIDDEN: 500,
  KUBE_UNAUTHORIZED: 500,
  KUBE_REJECTED: 500,
  KUBE_ADMISSION_DENIED: 500,
  KUBE_OUT_OF_SCOPE: 500,
  KUBE_CLOSED: 503,
  KUBE_ABORTED: 503,
};

/** A failure of the Kubernetes adapter, with a fixed message per code. */
export class KubernetesAdapterError extends Error {
  /** A stable machine-readable code. */
  readonly code: KubernetesErrorCode;
  /** The HTTP status a receiver should answer with. */
  readonly status: number;
  /** The status code the Kubernetes API answered, when there was one. */
  readonly kubeStatus: number | undefined;

  /** @param options.cause the root cause when the cluster is why: a {@link KubeClusterError}, never a client exception. */
  constructor(code: KubernetesErrorCode, kubeStatus?: number, options?: { cause?: Error }) {
    super(MESSAGES[code], options?.cause ? { cause: options.cause } : undefined);
    this.name = 'KubernetesAdapterError';
    this.code = code;
    this.status = STATUSES[code];
    this.kubeStatus = kubeStatus;
  }
}

/** Stable codes of {@link KubeClusterError}. */
export type KubeClusterErrorCode =
  | 'KUBE_NO_CONFIG'
  | 'KUBE_BAD_CONFIG'
  | 'KUBE_UNREACHABLE'
  | 'KUBE_TLS'
  | 'KUBE_UNAUTHORIZED'
  | 'KUBE_FORBIDDEN'
  | 'KUBE_CRDS_MISSING'
  | 'KUBE_UNAVAILABLE';

/**
 * The cluster is not what we expect (no kubeconfig, an API server unreachable or refusing us, no Kargo),
 * in words naming the API server and context, never a token, a certificate or a response body.
 */
export class KubeClusterError extends Error {
  /** A stable machine-readable code. */
  readonly code: KubeClusterErrorCode;
  /** The API server URL (without user info, query or fragment). */
  readonly server: string;
  /** The kubeconfig context in use. */
  readonly context: string;
  /** The HTTP status the API answered, when it answered. */
  readonly kubeStatus: number | undefined;

  constructor(
    code: KubeClusterErrorCode,
    message: string,
    where: { server: string; context: string },
    kubeStatus?: number,
  ) {
    super(message);
    this.name = 'KubeClusterError';
    this.code = code;
    this.server = where.server;
    this.context = where.context;
    this.kubeStatus = kubeStatus;
  }
}

/** What a failure looked like: an HTTP status and the Status `reason`, or a network error code. */
interface FailureLike {
  statusCode?: number | undefined;
  reason?: string | undefined;
}

/** The part of a KubeConfig read here. */
interface KubeConfigView {
  getCurrentContext(): string;
  getCurrentCluster(): { readonly name: string; readonly server: string } | null;
}

/** A resource, to name it in messages. */
interface ResourceView {
  group: string;
  plural: string;
}

// Node's and OpenSSL's codes of a failed TLS handshake or certificate check.
const TLS_CODES =
  /^(EPROTO|ERR_SSL_\w+|ERR_TLS_\w+|CERT_\w+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_\w+|HOSTNAME_MISMATCH)$/;

const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the API server running, and is this its address?)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (DNS)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  Timeout: 'no answer in time',
  ECONNRESET: 'connection reset',
  ConnectionReset: 'connection reset mid-answer',
};

/** The server URL safe to print: scheme, host and path only. */
function safeServer(server: string | undefined): string {
  if (!server) return '(no cluster in the kubeconfig)';
  try {
    const url = new URL(server);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(an invalid server URL)';
  }
}

/** Where client-node's `loadFromDefault()` looks for a service account token (`SERVICEACCOUNT_TOKEN_PATH`). */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** "no kubeconfig found: …", naming every place searched, in client-node's order. */
export function noKubeConfigMessage(home: string | undefined = process.env.HOME): string {
  const config = home
    ? `${home.replace(/\/+$/, '')}/.kube/config`
    : '~/.kube/config (no home directory)';
  return `no kubeconfig found: KUBECONFIG is not set, ${config} does not exist and this is not a pod (no service account token at ${SERVICE_ACCOUNT_TOKEN}); point KUBECONFIG (or --kubeconfig) at a kubeconfig file`;
}

/** client-node 1.x `loadFromDefault()`'s cluster when it finds no kubeconfig nor service account
 * (kubernetes-client/javascript src/config.ts, `loadFromDefault`). */
function isDefaultFallback(kubeConfig: KubeConfigView): boolean {
  const cluster = kubeConfig.getCurrentCluster();
  return (
    kubeConfig.getCurrentContext() === 'loaded-context' &&
    cluster?.name === 'cluster' &&
    cluster.server === 'http://localhost:8080'
  );
}

/**
 * Explains a failed Kubernetes API request in words: what went wrong, where, and what to check. Reads
 * `statusCode`/`reason` (our requests) or a numeric `code` (`ApiException`), never a message or body.
 */
export function explainKubeFailure(
  err: unknown,
  kubeConfig: KubeConfigView,
  resource?: ResourceView,
): KubeClusterError {
  const context = kubeConfig.getCurrentContext();
  const server = safeServer(kubeConfig.getCurrentCluster()?.server);
  const where = { server, context };
  const at = `the Kubernetes API server ${server} (context "${context}")`;
  if (isDefaultFallback(kubeConfig))
    return new KubeClusterError('KUBE_NO_CONFIG', noKubeConfigMessage(), where);
  const failure = (err ?? {}) as FailureLike & { code?: unknown };
  const status =
    failure.statusCode ?? (typeof failure.code === 'number' ? failure.code : undefined);
  const what = resource
    ? `${resource.plural}${resource.group ? `.${resource.group}` : ''}`
    : 'the request';
  if (status === undefined) {
    const reason = failure.reason ?? (typeof failure.code === 'string' ? failure.code : '');
    if (TLS_CODES.test(reason))
      return new KubeClusterError(
        'KUBE_TLS',
        `TLS with ${at} failed (${reason}): check the cluster's certificate-authority data, the server name, and that the server speaks HTTPS`,
        where,
      );
    const words = NETWORK_WORDS[reason] ?? (reason ? `network error ${reason}` : 'network error');
    return new KubeClusterError('KUBE_UNREACHABLE', `cannot reach ${at}: ${words}`, where);
  }
  if (status === 401)
    return new KubeClusterError(
      'KUBE_UNAUTHORIZED',
      `${at} did not accept the credentials (401 Unauthorized): the token or client certificate of the context's user is missing, expired or wrong`,
      where,
      status,
    );
  if (status === 403)
    return new KubeClusterError(
      'KUBE_FORBIDDEN',
      `${at} refused access to ${what} (403 Forbidden): the context's user or service account lacks an RBAC permission (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`,
      where,
      status,
    );
  if (status === 404 && resource?.group === 'kargo.akuity.io')
    return new KubeClusterError(
      'KUBE_CRDS_MISSING',
      `${at} has no ${what} (404 Not Found): Kargo's CRDs are not installed in this cluster; install Kargo first`,
      where,
      status,
    );
  return new KubeClusterError(
    'KUBE_UNAVAILABLE',
    `${at} answered ${status}${failure.reason ? ` ${failure.reason}` : ''} for ${what}`,
    where,
    status,
  );
}
