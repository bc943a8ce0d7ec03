/**
 * Refreshes Kargo objects with a merge patch of the `kargo.akuity.io/refresh` annotation
 * (./refresh-patch.ts): retries on 429 / 5xx / network errors, single-flight per object, bounded concurrency.
 * @module
 */
import { setMaxListeners } from 'node:events';
import type { ClientKubeConfig as KubeConfig } from '../../kube/config.js';
import pLimit from 'p-limit';
import type { Logger, RefreshTarget } from '../../types.js';
import { type Sleep, backoffDelay } from '../../kube/backoff.js';
import { KubernetesAdapterError } from '../../kube/errors.js';
import { linkedSignal } from '../../kube/request-signal.js';
import {
  type Outcome,
  type SendRefreshPatch,
  finalFailure,
  refreshPatcher,
} from './refresh-patch.js';

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
  /** Refreshes dropped because every caller gave up (deadline passed): unsent, not retried, or aborted on the wire. */
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

/** Applies refresh patches. */
export class Refresher {
  readonly #config: RefresherConfig;
  readonly #patch: SendRefreshPatch;
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
    this.#patch = refreshPatcher(config.kubeConfig);
    this.#limit = pLimit(config.concurrency);
  }

  /** A snapshot of the counters. */
  stats(): RefreshStats {
    return { ...this.#stats };
  }

  /**
   * Refreshes one object. A call arriving while a refresh of it waits to be sent joins it; one arriving
   * while it is on the wire gets one follow-up PATCH, shared with every such call: N concurrent calls
   * cost one or two PATCHes, and no caller gets a refresh older than its call. When `signal` aborts,
   * the call rejects with KUBE_ABORTED; once every caller gave up, the PATCH is not sent (or is aborted).
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
    const where = { kind: target.kind, namespace: target.namespace, name: target.name };
    const abandoned = flight.abandon.signal;
    for (let attempt = 1; ; attempt++) {
      // Checked once a slot is free: a PATCH queued behind others may have lost its callers meanwhile.
      const outcome = await this.#limit(() =>
        abandoned.aborted ? undefined : this.#attempt(target, flight),
      );
      if (outcome?.done) return;
      if (!outcome || abandoned.aborted) {
        this.#stats.abandoned += 1;
        this.#config.logger.debug({ ...where, attempt }, 'refresh abandoned: every caller gave up');
        throw new KubernetesAdapterError('KUBE_ABORTED');
      }
      // close() aborted the PATCH on the wire: not a failure worth a retry or a warning.
      if (this.#config.signal.aborted) throw this.#failed('KUBE_CLOSED');
      const last = attempt >= this.#config.retry.attempts;
      const final = finalFailure(target, outcome, attempt, last, this.#config.logger);
      if (final) {
        this.#stats.failures += 1;
        throw final;
      }
      await this.#waitToRetry(where, outcome, attempt, flight);
      if (this.#config.signal.aborted) throw this.#failed('KUBE_CLOSED');
    }
  }

  #failed(code: 'KUBE_CLOSED'): KubernetesAdapterError {
    this.#stats.failures += 1;
    return new KubernetesAdapterError(code);
  }

  /** Waits before the next attempt: the `Retry-After` asked (capped), or a jittered backoff. */
  async #waitToRetry(
    where: Record<string, string>,
    { status, reason, retryAfter }: Extract<Outcome, { done: false }>,
    attempt: number,
    flight: Flight,
  ): Promise<void> {
    const { retry } = this.#config;
    const computed = backoffDelay(
      attempt,
      { initialMs: retry.initialMs, maxMs: retry.maxMs, factor: 2, jitter: 0.2 },
      this.#config.random,
    );
    const delay = retryAfter !== undefined ? Math.min(retryAfter, retry.maxRetryAfterMs) : computed;
    this.#stats.retries += 1;
    this.#config.logger.warn(
      { ...where, status, reason, attempt, retryInMs: delay },
      'refresh failed, retrying',
    );
    flight.sent = false; // the next attempt is still to be sent: newcomers can join it
    const wake = linkedSignal([this.#config.signal, flight.abandon.signal], delay);
    try {
      await this.#config.sleep(delay, wake.signal);
    } finally {
      wake.dispose();
    }
  }

  async #attempt(target: RefreshTarget, flight: Flight): Promise<Outcome> {
    const now = this.#config.now();
    flight.sent = true;
    this.#stats.patches += 1;
    const { requestTimeoutMs, signal, logger } = this.#config;
    const signals = [signal, flight.abandon.signal];
    const outcome = await this.#patch(target, now, requestTimeoutMs, signals, logger);
    if (outcome.done && outcome.notFound) this.#stats.notFound += 1;
    return outcome;
  }
}

function noop(): void {
  // a failed refresh still lets the follow-up run
}
