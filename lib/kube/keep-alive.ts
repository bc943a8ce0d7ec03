/**
 * The adapters' background work (watches, their backoffs) does not keep the
 * process alive: the HTTP server does that in production, and a test or a
 * script must be able to end without `close()`. A caller that awaits
 * readiness is different: it expects the process to stay up until the answer.
 * @module
 */

/** `promise`, with a timer that keeps the process alive until it settles. */
export function keepAliveUntilSettled<T>(promise: Promise<T>): Promise<T> {
  const handle = setInterval(() => undefined, 2 ** 30);
  return promise.finally(() => clearInterval(handle));
}
