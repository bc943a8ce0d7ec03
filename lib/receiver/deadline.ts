/**
 * A webhook's deadline as an AbortSignal: it ends the wait for the lookup
 * and the refreshes, and the adapters get the same signal so they can drop
 * work nobody waits for any more.
 * @module
 */
import { setMaxListeners } from 'node:events';

/** What `unlessAborted` resolves to when the webhook was given up on. */
export const GAVE_UP = Symbol('gave up');

/** Why a webhook's work was given up on: its deadline passed, or the server is shutting down. */
export type GiveUpCause = 'deadline' | 'shutdown';

/**
 * The signal of one webhook's work: aborted once `ms` passed or when
 * `shutdown` aborts, whichever comes first. `dispose()` stops the timer and
 * the listener; it never aborts.
 */
export function webhookSignal(
  ms: number,
  shutdown: AbortSignal | undefined,
): { signal: AbortSignal; cause: () => GiveUpCause | undefined; dispose: () => void } {
  const controller = new AbortController();
  // Every refresh of the webhook listens to it: more than EventTarget's default of 10 is expected.
  setMaxListeners(0, controller.signal);
  let cause: GiveUpCause | undefined;
  const giveUp = (why: GiveUpCause): void => {
    if (controller.signal.aborted) return;
    cause = why;
    controller.abort(new DOMException(`webhook ${why} reached`, 'AbortError'));
  };
  const onShutdown = (): void => giveUp('shutdown');
  // The timer never keeps the process alive.
  const timer = setTimeout(() => giveUp('deadline'), Math.max(0, ms)).unref();
  if (shutdown?.aborted) onShutdown();
  else shutdown?.addEventListener('abort', onShutdown, { once: true });
  return {
    signal: controller.signal,
    cause: () => cause,
    dispose() {
      clearTimeout(timer);
      shutdown?.removeEventListener('abort', onShutdown);
    },
  };
}

/** `promise`, or GAVE_UP as soon as `signal` aborts (at once if it already has). */
export async function unlessAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
): Promise<T | typeof GAVE_UP> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<typeof GAVE_UP>((resolve) => {
    onAbort = () => resolve(GAVE_UP);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
