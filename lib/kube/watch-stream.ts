/**
 * Watch streams: one line of JSON per event, an idle timeout between chunks and an overall deadline.
 * @module
 */
import { type KubeTarget, type RequestOptions, open, requestAbort } from './http.js';
import { KubeHttpError, failure, networkError } from './http-error.js';

/** One watch event as sent on the wire. */
export interface WatchEvent {
  type: string;
  object: unknown;
}

/** Options of {@link kubeWatch}. */
export interface WatchOptions extends RequestOptions {
  /** Called per event line. */
  onEvent: (event: WatchEvent) => void;
  /** Called once the server accepted the watch (HTTP 200). */
  onOpen?: () => void;
  /** The longest the whole watch may last, however busy; then it ends with reason `Timeout`. Default: no bound beyond `timeoutMs` of silence. */
  deadlineMs?: number;
}

/**
 * Streams a watch (`watch=true` added), `onEvent` per line; resolves when the server ends it. Rejects
 * ({@link KubeHttpError}) on a non-200, a broken connection, silence past `timeoutMs` (a half-open
 * connection sends not even the minutely bookmarks), `deadlineMs` passed, or what `onEvent` throws.
 */
export async function kubeWatch(
  target: KubeTarget,
  path: string,
  query: Record<string, string | undefined>,
  options: WatchOptions,
): Promise<void> {
  const { controller, timer: startTimer, timedOut, dispose } = requestAbort(options);
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = startTimer(options.timeoutMs);
  };
  arm();
  const deadline = options.deadlineMs === undefined ? undefined : startTimer(options.deadlineMs);
  let handlerError: unknown;
  try {
    const { res } = await open(
      target,
      path,
      { ...query, watch: 'true' },
      controller.signal,
      options.background,
    );
    const status = res.statusCode ?? 0;
    if (status !== 200) throw await failure(res);
    options.onOpen?.();
    let buffered = '';
    res.setEncoding('utf8');
    for await (const chunk of res) {
      arm();
      buffered += chunk as string;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!line) continue;
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch {
          throw new KubeHttpError(status, 'InvalidJSON');
        }
        try {
          options.onEvent(event);
        } catch (err) {
          handlerError = err;
          throw err; // leaving the for-await destroys the response
        }
      }
    }
    // A stream cut mid-way ends the iteration without an error on some Node versions.
    if (!res.complete) throw new KubeHttpError(undefined, 'ConnectionReset');
  } catch (err) {
    if (err instanceof KubeHttpError) throw err;
    if (handlerError !== undefined && err === handlerError) throw err;
    throw networkError(err, options.signal, timedOut());
  } finally {
    clearTimeout(timer);
    clearTimeout(deadline);
    controller.abort(); // releases the socket whatever happened
    dispose();
  }
}
