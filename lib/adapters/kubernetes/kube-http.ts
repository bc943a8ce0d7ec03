/**
 * Raw GET and watch requests to the Kubernetes API, authenticated by a
 * client-node `KubeConfig` (token, client certificate, exec plugins, TLS
 * settings and proxies all come from `applyToHTTPSOptions`).
 *
 * Why not client-node's `Watch`: in 1.x it returns its AbortController only
 * once the response headers arrived and sets no timeout, so a server that
 * accepts the connection and never answers would hang the watch for ever and
 * keep a socket open after `close()`. Here every request carries our own
 * signal from the first byte, plus an idle timeout. Lists go the same way so
 * the watcher also works for core resources (`/api/v1`) and not only for
 * custom objects.
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientKubeConfig as KubeConfig } from './kube-config.js';

/** A resource type: `group` is `''` for the core group. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
}

/** The collection path of a resource, in one namespace or across all (or cluster-scoped). */
export function collectionPath(resource: ResourceType, namespace?: string): string {
  const base = resource.group
    ? `/apis/${resource.group}/${resource.version}`
    : `/api/${resource.version}`;
  const plural = encodeURIComponent(resource.plural);
  return namespace
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}`
    : `${base}/${plural}`;
}

/**
 * A failed request. The message holds the status code and the Status
 * `reason` only, never the response body.
 */
export class KubeHttpError extends Error {
  /** HTTP status, or undefined for a network error / timeout. */
  readonly statusCode: number | undefined;
  /** The `reason` of the Kubernetes Status (`Forbidden`, `Expired`, …), or a network error code. */
  readonly reason: string | undefined;

  constructor(statusCode: number | undefined, reason: string | undefined) {
    super(
      statusCode
        ? `Kubernetes API answered ${statusCode}${reason ? ` ${reason}` : ''}`
        : `Kubernetes API request failed${reason ? `: ${reason}` : ''}`,
    );
    this.name = 'KubeHttpError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

/** A reason safe to log: a single CamelCase or CONSTANT word, nothing taken from free text. */
export function safeReason(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z_]{1,64}$/.test(value) ? value : undefined;
}

/** Turns a network-level failure into a KubeHttpError naming only its code. */
function networkError(
  err: unknown,
  signal: AbortSignal | undefined,
  timedOut: boolean,
): KubeHttpError {
  if (timedOut) return new KubeHttpError(undefined, 'Timeout');
  if (signal?.aborted) return new KubeHttpError(undefined, 'Aborted');
  const code = (err as { code?: unknown } | null)?.code;
  return new KubeHttpError(undefined, safeReason(code) ?? 'NetworkError');
}

const MAX_ERROR_BODY = 64 * 1024;

async function readStatusReason(res: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > MAX_ERROR_BODY) break;
    chunks.push(chunk as Buffer);
  }
  try {
    const status = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { reason?: unknown };
    return safeReason(status.reason);
  } catch {
    return undefined;
  }
}

interface Opened {
  res: http.IncomingMessage;
  req: http.ClientRequest;
}

async function open(
  kubeConfig: KubeConfig,
  path: string,
  query: Record<string, string | undefined>,
  signal: AbortSignal,
  background = false,
): Promise<Opened> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new KubeHttpError(undefined, 'NoCluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query))
    if (value !== undefined) url.searchParams.set(key, value);
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<Opened>((resolve, reject) => {
    const req = transport.request(url, {
      method: 'GET',
      agent: options.agent,
      auth: options.auth,
      headers: { ...options.headers, Accept: 'application/json' },
      signal,
    });
    // A watch lasts for minutes: it must not keep the process alive by itself.
    if (background) req.once('socket', (socket) => socket.unref());
    req.once('response', (res) => resolve({ res, req }));
    req.once('error', reject);
    req.end();
  });
}

/** Options of {@link kubeGet} and {@link kubeWatch}. */
export interface RequestOptions {
  /** Aborts the request (then it rejects with reason `Aborted`). */
  signal?: AbortSignal;
  /** For a GET: the whole request. For a watch: the longest silence between two chunks. */
  timeoutMs: number;
  /** Neither the socket nor the timeout keeps the process alive (watch loops). Default false. */
  background?: boolean;
}

function withTimeout(signal: AbortSignal | undefined): {
  controller: AbortController;
  dispose: () => void;
} {
  const controller = new AbortController();
  const forward = (): void => controller.abort();
  if (signal?.aborted) controller.abort();
  signal?.addEventListener('abort', forward, { once: true });
  return { controller, dispose: () => signal?.removeEventListener('abort', forward) };
}

/** GET a JSON document. Rejects with {@link KubeHttpError} on any non-2xx answer or failure. */
export async function kubeGet(
  kubeConfig: KubeConfig,
  path: string,
  query: Record<string, string | undefined>,
  options: RequestOptions,
): Promise<unknown> {
  const { controller, dispose } = withTimeout(options.signal);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  if (options.background) timer.unref();
  try {
    const { res } = await open(kubeConfig, path, query, controller.signal, options.background);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw new KubeHttpError(status, await readStatusReason(res));
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      throw new KubeHttpError(status, 'InvalidJSON');
    }
  } catch (err) {
    if (err instanceof KubeHttpError) throw err;
    throw networkError(err, options.signal, timedOut);
  } finally {
    clearTimeout(timer);
    dispose();
  }
}

/** One watch event as sent on the wire. */
export interface WatchEvent {
  type: string;
  object: unknown;
}

/**
 * Streams a watch (`watch=true` is added). Calls `onEvent` per line;
 * resolves when the server ends the stream, rejects with
 * {@link KubeHttpError} on a non-200 answer, a broken connection, silence
 * longer than `timeoutMs`, or the error `onEvent` throws (which also stops
 * the stream).
 */
export async function kubeWatch(
  kubeConfig: KubeConfig,
  path: string,
  query: Record<string, string | undefined>,
  options: RequestOptions & { onEvent: (event: WatchEvent) => void },
): Promise<void> {
  const { controller, dispose } = withTimeout(options.signal);
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.timeoutMs);
    if (options.background) timer.unref();
  };
  arm();
  let handlerError: unknown;
  try {
    const { res } = await open(
      kubeConfig,
      path,
      { ...query, watch: 'true' },
      controller.signal,
      options.background,
    );
    const status = res.statusCode ?? 0;
    if (status !== 200) throw new KubeHttpError(status, await readStatusReason(res));
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
    throw networkError(err, options.signal, timedOut);
  } finally {
    clearTimeout(timer);
    controller.abort(); // releases the socket whatever happened
    dispose();
  }
}
