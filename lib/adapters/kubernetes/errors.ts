/**
 * The one error type the Kubernetes adapter throws to its callers: a fixed
 * message per `code`, never the text of a client exception (client-node's
 * `ApiException` message embeds the response body and headers).
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

  constructor(code: KubernetesErrorCode, kubeStatus?: number) {
    super(MESSAGES[code]);
    this.name = 'KubernetesAdapterError';
    this.code = code;
    this.status = STATUSES[code];
    this.kubeStatus = kubeStatus;
  }
}
