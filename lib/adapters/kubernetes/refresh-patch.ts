/**
 * The refresh PATCH of one object (a merge patch of `kargo.akuity.io/refresh`), its outcome, and
 * which failures are final (admission refusal, 401, 403, other 4xx) rather than retried.
 * @module
 */
import {
  ApiException,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig as ClientNodeKubeConfig,
} from '@kubernetes/client-node';
import type { ClientKubeConfig as KubeConfig } from '../../kube/config.js';
import type { Logger, RefreshTarget } from '../../types.js';
import { KubernetesAdapterError } from '../../kube/errors.js';
import { retryAfterMs, safeReason } from '../../kube/http-error.js';
import { deadlineOptions } from '../../kube/request-signal.js';

/** Kargo's refresh annotation: any new value makes the controller reconcile at once. */
export const REFRESH_ANNOTATION = 'kargo.akuity.io/refresh';

const GROUP = 'kargo.akuity.io';
const VERSION = 'v1alpha1';
const PLURALS: Record<RefreshTarget['kind'], string> = {
  Warehouse: 'warehouses',
  Promotion: 'promotions',
};

/** How one PATCH went: done (refreshed, or found deleted), or failed with what the answer said. */
export type Outcome =
  | { done: true; notFound?: true }
  | {
      done: false;
      status: number | undefined;
      reason: string | undefined;
      retryAfter: number | undefined;
      admission?: { webhook: string; message: string };
    };

/** The `reason` and `message` of a `metav1.Status` answer body (a string or parsed JSON). */
function statusOf(body: unknown): { reason: string | undefined; message: string | undefined } {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { reason: undefined, message: undefined };
    }
  }
  const status = (parsed ?? {}) as { reason?: unknown; message?: unknown };
  return {
    reason: safeReason(status.reason),
    message: typeof status.message === 'string' ? status.message : undefined,
  };
}

/**
 * kube-apiserver words a webhook's refusal `admission webhook "<name>" denied the request: <message>`
 * with the webhook's code (`staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/errors/statuserror.go`).
 * Kargo's Promotion webhook refuses a caller without the verb `promote` with a 500 `InternalError`
 * (`pkg/webhook/kubernetes/promotion/webhook.go`, `ValidateUpdate` → `authorize`): not a transient 500.
 * A webhook that could not be called says `failed calling webhook`: transient, retried.
 */
const ADMISSION_DENIED = /^admission webhook "([^"]{1,253})" denied the request/;

/** A refusal by an admission webhook, with its message made safe to log. */
export function admissionRefusal(
  message: string | undefined,
): { webhook: string; message: string } | undefined {
  const match = message === undefined ? null : ADMISSION_DENIED.exec(message);
  if (!match || message === undefined) return undefined;
  // Kubernetes' message names the webhook, the object, the subject and the Stage, never a secret;
  // it is still cut short and stripped of control characters before it reaches a log line.
  const clean = [...message].map((c) => (c < ' ' || c === '\u007f' ? ' ' : c)).join('');
  return {
    webhook: match[1] ?? '',
    message: clean.length > 1024 ? `${clean.slice(0, 1024)}…` : clean,
  };
}

/** Sends one refresh PATCH (client-node's types stay out of the declarations). */
export type SendRefreshPatch = (
  target: RefreshTarget,
  now: Date,
  timeoutMs: number,
  signals: AbortSignal[],
  logger: Logger,
) => Promise<Outcome>;

/** A {@link SendRefreshPatch} through `kubeConfig`. */
export function refreshPatcher(kubeConfig: KubeConfig): SendRefreshPatch {
  const api = (kubeConfig as ClientNodeKubeConfig).makeApiClient(CustomObjectsApi);
  return (...args) => sendRefreshPatch(api, ...args);
}

/**
 * Sends one PATCH, as a merge patch: client-node defaults custom objects to JSON Patch, which the API
 * server answers 400. It gets a deadline (client-node sets none) and is aborted when `signals` abort.
 */
async function sendRefreshPatch(
  api: CustomObjectsApi,
  target: RefreshTarget,
  now: Date,
  timeoutMs: number,
  signals: AbortSignal[],
  logger: Logger,
): Promise<Outcome> {
  // RFC 3339 with milliseconds: two refreshes within a second still differ, so Kargo sees both.
  const body = { metadata: { annotations: { [REFRESH_ANNOTATION]: now.toISOString() } } };
  const { options, dispose } = deadlineOptions(timeoutMs, signals);
  const where = { kind: target.kind, namespace: target.namespace, name: target.name };
  try {
    await api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: target.namespace,
        plural: PLURALS[target.kind],
        name: target.name,
        body,
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch, options),
    );
    logger.debug(where, 'refreshed');
    return { done: true };
  } catch (err) {
    if (err instanceof ApiException) {
      const status = err.code;
      const { reason, message } = statusOf(err.body);
      if (status === 404) {
        logger.debug({ ...where, status }, 'already deleted, nothing to refresh');
        return { done: true, notFound: true };
      }
      const headers = (err.headers ?? {}) as Record<string, string | undefined>;
      const admission = admissionRefusal(message);
      return {
        done: false,
        status,
        reason,
        ...(admission ? { admission } : {}),
        retryAfter:
          status === 429 || status === 503
            ? retryAfterMs(headers['retry-after'], now.getTime())
            : undefined,
      };
    }
    // Network error or timeout: only its code is safe to log.
    const code = (err as { code?: unknown; name?: unknown } | null)?.code;
    const name = (err as { name?: unknown } | null)?.name;
    return {
      done: false,
      status: undefined,
      reason: safeReason(code) ?? (name === 'AbortError' ? 'Timeout' : 'NetworkError'),
      retryAfter: undefined,
    };
  } finally {
    dispose();
  }
}

/** The error a failed PATCH ends with, logged; undefined when worth another attempt (network, 409, 429, 5xx). */
export function finalFailure(
  target: RefreshTarget,
  outcome: Extract<Outcome, { done: false }>,
  attempt: number,
  lastAttempt: boolean,
  logger: Logger,
): KubernetesAdapterError | undefined {
  const plural = PLURALS[target.kind];
  const where = { kind: target.kind, namespace: target.namespace, name: target.name };
  const { status, reason } = outcome;
  if (outcome.admission) {
    const { webhook, message } = outcome.admission;
    const hint =
      target.kind === 'Promotion'
        ? `: Kargo's Promotion webhook wants the verb "promote" on stages.${GROUP} in namespace ${target.namespace} (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`
        : '';
    logger.error(
      { ...where, status, reason, webhook, message },
      `an admission webhook refused the refresh, not retried${hint}`,
    );
    return new KubernetesAdapterError('KUBE_ADMISSION_DENIED', status);
  }
  if (status === 403) {
    logger.error(
      { ...where, status, reason, verb: 'patch', resource: `${plural}.${GROUP}` },
      `forbidden: grant the verb "patch" on ${plural}.${GROUP} in namespace ${target.namespace} to this service account (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`,
    );
    return new KubernetesAdapterError('KUBE_FORBIDDEN', status);
  }
  if (status === 401) {
    logger.error({ ...where, status, reason }, 'the Kubernetes API did not accept the credentials');
    return new KubernetesAdapterError('KUBE_UNAUTHORIZED', status);
  }
  const retriable = status === undefined || status === 429 || status === 409 || status >= 500;
  if (!retriable) {
    logger.error({ ...where, status, reason }, 'the Kubernetes API rejected the refresh patch');
    return new KubernetesAdapterError('KUBE_REJECTED', status);
  }
  if (lastAttempt) {
    logger.error({ ...where, status, reason, attempts: attempt }, 'refresh failed, giving up');
    return new KubernetesAdapterError('KUBE_UNAVAILABLE', status);
  }
  return undefined;
}
