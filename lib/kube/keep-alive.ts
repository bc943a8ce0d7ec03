/**
 * Background work (watches, backoffs) does not keep the process alive, so tests and scripts end
 * without `close()`; a caller awaiting readiness expects the process to stay up until the answer.
 * @module
 */

/** `promise`, with a timer that keeps the process alive until it settles. */
export function keepAliveUntilSettled<T>(promise: Promise<T>): Promise<T> {
  const handle = setInterval(() => undefined, 2 ** 30);
  return promise.finally(() => clearInterval(handle));
}
