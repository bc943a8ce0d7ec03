/**
 * Deadlines and cancellation for client-node's generated API clients, which set no timeout: a server
 * that accepts the connection and never answers would hold the call for ever.
 * @module
 */
import {
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
} from '@kubernetes/client-node';

/** A signal aborted by any of `signals` or after `timeoutMs`. `dispose()` removes its timer and
 * listeners, else long-lived signals (an adapter's close signal) collect one per request. */
export function linkedSignal(
  signals: readonly AbortSignal[],
  timeoutMs: number,
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  const timer = setTimeout(abort, timeoutMs).unref();
  for (const signal of signals) {
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  }
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener('abort', abort);
    },
  };
}

/**
 * Options for one client-node call, aborted after `timeoutMs` (from its start, after authentication) or
 * when a signal aborts; `dispose()` once settled. Merge more with `setHeaderOptions(…, options)`.
 */
export function deadlineOptions(
  timeoutMs: number,
  signals: readonly AbortSignal[],
): { options: ConfigurationOptions<ObservableMiddleware>; dispose: () => void } {
  let linked: ReturnType<typeof linkedSignal> | undefined;
  const options: ConfigurationOptions<ObservableMiddleware> = {
    middleware: [
      {
        pre: (context) => {
          linked = linkedSignal(signals, timeoutMs);
          context.setSignal(linked.signal);
          return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
  return { options, dispose: () => linked?.dispose() };
}
