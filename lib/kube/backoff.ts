/**
 * Capped exponential backoff with jitter, and an abortable sleep that tests replace.
 * @module
 */

/** Backoff shape: `initialMs * factor^(attempt-1)`, capped at `maxMs`, ± `jitter` (a fraction). */
export interface BackoffOptions {
  /** First delay. */
  initialMs?: number;
  /** Upper bound of any delay. */
  maxMs?: number;
  /** Growth per attempt. */
  factor?: number;
  /** Random spread as a fraction of the delay (0.2 = ±20 %), so many clients do not retry in step. */
  jitter?: number;
}

/** Between failed list/watch attempts: 1 s doubling to 30 s, ±20 %. */
export const WATCH_BACKOFF: Required<BackoffOptions> = {
  initialMs: 1000,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
};

/** Waits `ms`, or less when `signal` aborts (then it resolves, it does not reject). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The delay before retry number `attempt` (1-based). */
export function backoffDelay(
  attempt: number,
  options: Required<BackoffOptions>,
  random: () => number,
): number {
  const base = Math.min(
    options.maxMs,
    options.initialMs * options.factor ** Math.max(0, attempt - 1),
  );
  const spread = base * options.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(options.maxMs, Math.round(base + spread)));
}

/** The real sleep: a timer, cleared when `signal` aborts. */
export const realSleep: Sleep = (ms, signal) => timerSleep(ms, signal, false);

/** The real sleep of background loops (watch backoffs): its timer does not keep the process alive. */
export const backgroundSleep: Sleep = (ms, signal) => timerSleep(ms, signal, true);

function timerSleep(ms: number, signal: AbortSignal | undefined, unref: boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    if (unref) timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
