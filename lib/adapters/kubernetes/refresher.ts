/**
 * Refreshes Kargo objects with a merge patch of the `kargo.akuity.io/refresh`
 * annotation: retries on 429 / 5xx / network errors, single-flight per
 * object, bounded concurrency.
 * @module
 */
import {
  ApiException,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig as ClientNodeKubeConfig,
} from '@kubernetes/client-node';
import { setMaxListeners } from 'node:events';
import type { ClientKubeConfig as KubeConfig } from '../../kube/config.js';
import pLimit from 'p-limit';
import type { Logger, RefreshTarget } from '../../types.js';
import { type Sleep, backoffDelay } from '../../kube/backoff.js';
import { KubernetesAdapterError } from '../../kube/errors.js';
import { safeReason } from '../../kube/http.js';
import { deadlineOptions, linkedSignal } from '../../kube/request-signal.js';

/** Kargo's refresh annotation: any new value makes the controller reconcile at once. */
export const REFRESH_ANNOTATION = 'kargo.akuity.io/refresh';

const GROUP = 'kargo.akuity.io';
const VERSION = 'v1alpha1';
const PLURALS: Record<RefreshTarget['kind'], string> = {
  Warehouse: 'warehouses',
  Promotion: 'promotions',
};

/** Retry policy of refreshes. */
export interface RefreshRetryOptions {
  /** Attempts in all (the first included). Default 4. */
  attempts?: number;
  /** First retry delay. Default 250 ms. */
  initialMs?: number;
  /** Longest computed retry delay. Default 5 000 ms. */
  maxMs?: number;
  /** Longest `Retry-After` honoured; a longer one is cut to this. Default 30 000 ms. */
  maxRetryAfterMs?: number;
}

/** Counters of the refresher. */
export interface RefreshStats {
  /** PATCH requests sent. */
  patches: number;
  /** Calls that joined a refresh already pending for the same object. */
  coalesced: number;
  /** Attempts retried. */
  retries: number;
  /** Refreshes that failed in the end. */
  failures: number;
  /** Targets found deleted (404), counted as done. */
  notFound: number;
  /**
   * Refreshes dropped because every caller gave up on them (their webhook's
   * deadline passed): a PATCH not sent yet, a retry not made, or a PATCH
   * aborted on the wire.
   */
  abandoned: number;
}

export interface RefresherConfig {
  kubeConfig: KubeConfig;
  logger: Logger;
  now: () => Date;
  retry: Required<RefreshRetryOptions>;
  concurrency: number;
  requestTimeoutMs: number;
  sleep: Sleep;
  random: () => number;
  /** Aborted on close: a refresh waiting to retry then rejects with KUBE_CLOSED, a PATCH on the wire is aborted. */
  signal: AbortSignal;
}

/** One refresh of one object, shared by the callers that joined it. */
interface Flight {
  /** The outcome; a handler is always attached, so a refresh nobody waits for is no unhandled rejection. */
  promise: Promise<void>;
  /** True while an attempt is on the wire: a new caller then needs a later PATCH, not this one. */
  sent: boolean;
  /** The refresh queued behind a sent one, shared by every caller arriving meanwhile. */
  followUp: Flight | undefined;
  /** Aborted once every caller gave up: the PATCH is then not sent, or aborted on the wire. */
  abandon: AbortController;
  /** Callers with a signal still waiting. */
  waiting: number;
  /** A caller without a signal joined: it never gives up, so neither does the flight. */
  pinned: boolean;
}

/** Parses `Retry-After`: delta-seconds or an HTTP date. */
function retryAfterMs(value: string | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

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
 * kube-apiserver words a validating webhook's refusal as
 * `admission webhook "<name>" denied the request: <message>`, with the
 * webhook's own code (`staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/errors/statuserror.go`).
 * Kargo's Promotion webhook refuses a caller without the verb `promote` with
 * a 500 `InternalError` (`pkg/webhook/kubernetes/promotion/webhook.go`,
 * `ValidateUpdate` → `authorize`), which must not pass for a transient 500.
 * A webhook that could not be called says `failed calling webhook` instead:
 * that one is transient and retried.
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

/** Applies refresh patches. */
export class Refresher {
  readonly #config: RefresherConfig;
  readonly #api: CustomObjectsApi;
  readonly #limit: ReturnType<typeof pLimit>;
  readonly #flights = new Map<string, Flight>();
  readonly #stats: RefreshStats = {
    patches: 0,
    coalesced: 0,
    retries: 0,
    failures: 0,
    notFound: 0,
    abandoned: 0,
  };

  constructor(config: RefresherConfig) {
    this.#config = config;
    // Each PATCH on the wire and each retry wait listens to the close signal while it lasts.
    setMaxListeners(0, config.signal);
    this.#api = (config.kubeConfig as ClientNodeKubeConfig).makeApiClient(CustomObjectsApi);
    this.#limit = pLimit(config.concurrency);
  }

  /**
   * Options of one PATCH. client-node sends custom-object patches as JSON
   * Patch unless told otherwise, and the API server answers 400 to an object
   * body sent that way. The PATCH gets a deadline (client-node sets none) and
   * is aborted when its callers gave up (`abandon`) or the adapter closes.
   */
  #patchOptions(abandon: AbortSignal): {
    options: ReturnType<typeof setHeaderOptions>;
    dispose: () => void;
  } {
    const { options, dispose } = deadlineOptions(this.#config.requestTimeoutMs, [
      this.#config.signal,
      abandon,
    ]);
    return {
      options: setHeaderOptions('Content-Type', PatchStrategy.MergePatch, options),
      dispose,
    };
  }

  /** A snapshot of the counters. */
  stats(): RefreshStats {
    return { ...this.#stats };
  }

  /**
   * Refreshes one object. A call arriving while a refresh of the same object
   * waits to be sent joins it; one arriving while it is on the wire gets one
   * follow-up PATCH after it, shared with every other such call. So N
   * concurrent calls cost one or two PATCHes, and no caller gets a refresh
   * older than its own call.
   *
   * When `signal` aborts, the call rejects with KUBE_ABORTED at once; once
   * every caller of a refresh gave up, its PATCH is not sent (or is aborted
   * on the wire) and no retry follows.
   */
  refresh(target: RefreshTarget, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new KubernetesAdapterError('KUBE_ABORTED'));
    const key = `${target.kind}/${target.namespace}/${target.name}`;
    let flight = this.#flights.get(key);
    if (flight && !flight.sent) {
      this.#stats.coalesced += 1;
    } else if (flight) {
      if (flight.followUp) this.#stats.coalesced += 1;
      else flight.followUp = this.#start(target, key, flight.promise);
      flight = flight.followUp;
    } else {
      flight = this.#start(target, key, undefined);
      this.#flights.set(key, flight);
    }
    return this.#join(flight, key, signal);
  }

  /** A new flight for `target`, run once `after` (the flight on the wire) settled. */
  #start(target: RefreshTarget, key: string, after: Promise<void> | undefined): Flight {
    const flight: Flight = {
      promise: Promise.resolve(),
      sent: false,
      followUp: undefined,
      abandon: new AbortController(),
      waiting: 0,
      pinned: false,
    };
    const run = async (): Promise<void> => {
      if (after) await after.catch(noop);
      await this.#run(target, flight);
    };
    flight.promise = run().finally(() => this.#release(key, flight));
    flight.promise.catch(noop);
    return flight;
  }

  /** Hands the object's slot to the follow-up (if any) of a flight that ended or was abandoned. */
  #release(key: string, flight: Flight): void {
    if (this.#flights.get(key) !== flight) return;
    if (flight.followUp) this.#flights.set(key, flight.followUp);
    else this.#flights.delete(key);
  }

  /** The caller's view of `flight`: its outcome, or KUBE_ABORTED as soon as `signal` aborts. */
  #join(flight: Flight, key: string, signal: AbortSignal | undefined): Promise<void> {
    if (!signal) {
      flight.pinned = true;
      return flight.promise;
    }
    flight.waiting += 1;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        flight.waiting -= 1;
        if (flight.waiting === 0 && !flight.pinned) {
          flight.abandon.abort();
          // Later callers need a refresh of their own, not this abandoned one.
          this.#release(key, flight);
        }
        reject(new KubernetesAdapterError('KUBE_ABORTED'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async #run(target: RefreshTarget, flight: Flight): Promise<void> {
    const { retry, logger } = this.#config;
    const plural = PLURALS[target.kind];
    const where = { kind: target.kind, namespace: target.namespace, name: target.name };
    const abandoned = flight.abandon.signal;
    for (let attempt = 1; ; attempt++) {
      // Checked once a slot is free: a PATCH queued behind others may have lost its callers meanwhile.
      const outcome = await this.#limit(() =>
        abandoned.aborted ? undefined : this.#attempt(target, plural, flight),
      );
      if (outcome?.done) return;
      if (!outcome || abandoned.aborted) {
        this.#stats.abandoned += 1;
        logger.debug({ ...where, attempt }, 'refresh abandoned: every caller gave up');
        throw new KubernetesAdapterError('KUBE_ABORTED');
      }
      if (this.#config.signal.aborted) {
        // close() aborted the PATCH on the wire: not a failure worth a retry or a warning.
        this.#stats.failures += 1;
        throw new KubernetesAdapterError('KUBE_CLOSED');
      }
      const { status, reason, retryAfter } = outcome;
      if (outcome.admission) {
        this.#stats.failures += 1;
        const { webhook, message } = outcome.admission;
        const hint =
          target.kind === 'Promotion'
            ? `: Kargo's Promotion webhook wants the verb "promote" on stages.${GROUP} in namespace ${target.namespace} (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`
            : '';
        logger.error(
          { ...where, status, reason, webhook, message },
          `an admission webhook refused the refresh, not retried${hint}`,
        );
        throw new KubernetesAdapterError('KUBE_ADMISSION_DENIED', status);
      }
      if (status === 403) {
        this.#stats.failures += 1;
        logger.error(
          { ...where, status, reason, verb: 'patch', resource: `${plural}.${GROUP}` },
          `forbidden: grant the verb "patch" on ${plural}.${GROUP} in namespace ${target.namespace} to this service account (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`,
        );
        throw new KubernetesAdapterError('KUBE_FORBIDDEN', status);
      }
      if (status === 401) {
        this.#stats.failures += 1;
        logger.error(
          { ...where, status, reason },
          'the Kubernetes API did not accept the credentials',
        );
        throw new KubernetesAdapterError('KUBE_UNAUTHORIZED', status);
      }
      const retriable = status === undefined || status === 429 || status === 409 || status >= 500;
      if (!retriable) {
        this.#stats.failures += 1;
        logger.error({ ...where, status, reason }, 'the Kubernetes API rejected the refresh patch');
        throw new KubernetesAdapterError('KUBE_REJECTED', status);
      }
      if (attempt >= retry.attempts) {
        this.#stats.failures += 1;
        logger.error({ ...where, status, reason, attempts: attempt }, 'refresh failed, giving up');
        throw new KubernetesAdapterError('KUBE_UNAVAILABLE', status);
      }
      const computed = backoffDelay(
        attempt,
        { initialMs: retry.initialMs, maxMs: retry.maxMs, factor: 2, jitter: 0.2 },
        this.#config.random,
      );
      const delay =
        retryAfter !== undefined ? Math.min(retryAfter, retry.maxRetryAfterMs) : computed;
      this.#stats.retries += 1;
      logger.warn(
        { ...where, status, reason, attempt, retryInMs: delay },
        'refresh failed, retrying',
      );
      flight.sent = false; // the next attempt is still to be sent: newcomers can join it
      const wake = linkedSignal([this.#config.signal, abandoned], delay);
      try {
        await this.#config.sleep(delay, wake.signal);
      } finally {
        wake.dispose();
      }
      if (this.#config.signal.aborted) {
        this.#stats.failures += 1;
        throw new KubernetesAdapterError('KUBE_CLOSED');
      }
    }
  }

  async #attempt(
    target: RefreshTarget,
    plural: string,
    flight: Flight,
  ): Promise<
    | { done: true }
    | {
        done: false;
        status: number | undefined;
        reason: string | undefined;
        retryAfter: number | undefined;
        admission?: { webhook: string; message: string };
      }
  > {
    const now = this.#config.now();
    // RFC 3339 with milliseconds: two refreshes within a second still differ, so Kargo sees both.
    const body = { metadata: { annotations: { [REFRESH_ANNOTATION]: now.toISOString() } } };
    flight.sent = true;
    this.#stats.patches += 1;
    const request = this.#patchOptions(flight.abandon.signal);
    try {
      await this.#api.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: target.namespace,
          plural,
          name: target.name,
          body,
        },
        request.options,
      );
      this.#config.logger.debug(
        { kind: target.kind, namespace: target.namespace, name: target.name },
        'refreshed',
      );
      return { done: true };
    } catch (err) {
      if (err instanceof ApiException) {
        const status = err.code;
        const { reason, message } = statusOf(err.body);
        if (status === 404) {
          this.#stats.notFound += 1;
          this.#config.logger.debug(
            { kind: target.kind, namespace: target.namespace, name: target.name, status },
            'already deleted, nothing to refresh',
          );
          return { done: true };
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
              ? retryAfterMs(headers['retry-after'], now)
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
      request.dispose();
    }
  }
}

function noop(): void {
  // a failed refresh still lets the follow-up run
}
