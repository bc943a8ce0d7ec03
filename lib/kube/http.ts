/**
 * Raw GET and watch requests to the Kubernetes API, authenticated by a client-node `KubeConfig`
 * (credentials, TLS and proxies come from `applyToHTTPSOptions`). Not client-node 1.x's `Watch`: it
 * returns its AbortController only after the response headers and sets no timeout, so a server that
 * never answers hangs the watch and keeps a socket after `close()`. Here every request carries our
 * signal from the first byte plus an idle timeout; lists too, so core resources (`/api/v1`) work.
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { ClientKubeConfig as KubeConfig } from './config.js';
import { KubeHttpError, failure, networkError } from './http-error.js';

export { KubeHttpError } from './http-error.js';

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

interface Opened {
  res: http.IncomingMessage;
  req: http.ClientRequest;
}

/** `kargo-azure-receiver/<version>`, read once from the package's own package.json. */
export const USER_AGENT = `kargo-azure-receiver/${packageVersion()}`;

function packageVersion(): string {
  try {
    // lib/kube/ and dist/kube/ are both two levels below the package root.
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The TLS settings of an agent: when the KubeConfig's change (rotated client certificate), a new agent is built. */
const TLS_KEYS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
] as const;

/** Equal TLS settings: client-node reads `caFile` (the in-cluster CA) into a new Buffer per request. */
function sameSetting(a: unknown, b: unknown): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
}

/**
 * One keep-alive connection pool to the API server, shared by its owner's watches and lists, so they
 * reuse idle connections. client-node's `applyToHTTPSOptions` builds an agent per call; it still gives
 * each request's credentials (they may rotate) and TLS settings, but the agent is ours. Behind a proxy
 * (`proxy-url`) client-node's proxy agent is used as is. `destroy()` closes every socket.
 */
export class KubeClient {
  /** The KubeConfig requests authenticate with. */
  readonly kubeConfig: KubeConfig;
  #agent: http.Agent | undefined;
  #tls: unknown[] = [];
  #destroyed = false;

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
  }

  /** Whether {@link destroy} was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The agent for one request. */
  agentFor(url: URL, options: https.RequestOptions): http.Agent | undefined {
    if (this.kubeConfig.getCurrentCluster()?.proxyUrl) return ownAgent(options);
    const tls = TLS_KEYS.map((key) => options[key]);
    if (!this.#agent || tls.some((value, i) => !sameSetting(value, this.#tls[i]))) {
      this.#agent?.destroy();
      this.#tls = tls;
      const settings = Object.fromEntries(TLS_KEYS.map((key, i) => [key, tls[i]]));
      // One socket per watch plus a few for lists; keep-alive for the idle ones.
      this.#agent =
        url.protocol === 'https:'
          ? new https.Agent({ ...settings, keepAlive: true, keepAliveMsecs: 30_000 })
          : new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000 });
    }
    return this.#agent;
  }

  /** Closes every connection; later requests fail with reason `Closed`. */
  destroy(): void {
    this.#destroyed = true;
    this.#agent?.destroy();
    this.#agent = undefined;
  }
}

/** The agent client-node built for a request (its proxy agent, or a one-off agent with the TLS settings). */
function ownAgent(options: https.RequestOptions): http.Agent | undefined {
  return options.agent instanceof http.Agent ? options.agent : undefined;
}

/** A KubeConfig (a fresh connection per request) or a {@link KubeClient} (a shared keep-alive pool). */
export type KubeTarget = KubeConfig | KubeClient;

export async function open(
  target: KubeTarget,
  path: string,
  query: Record<string, string | undefined>,
  signal: AbortSignal,
  background = false,
): Promise<Opened> {
  const client = target instanceof KubeClient ? target : undefined;
  const kubeConfig = client ? client.kubeConfig : (target as KubeConfig);
  if (client?.destroyed) throw new KubeHttpError(undefined, 'Closed');
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new KubeHttpError(undefined, 'NoCluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query))
    if (value !== undefined) url.searchParams.set(key, value);
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const agent = client ? client.agentFor(url, options) : ownAgent(options);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<Opened>((resolve, reject) => {
    const req = transport.request(url, {
      method: 'GET',
      agent,
      auth: options.auth,
      headers: { ...options.headers, Accept: 'application/json', 'User-Agent': USER_AGENT },
      signal,
    });
    // A watch lasts for minutes: it must not keep the process alive by itself.
    if (background) req.once('socket', (socket) => socket.unref());
    req.once('response', (res) => resolve({ res, req }));
    req.once('error', reject);
    req.end();
  });
}

/** Options of {@link kubeGet} and `kubeWatch`. */
export interface RequestOptions {
  /** Aborts the request (then it rejects with reason `Aborted`). */
  signal?: AbortSignal;
  /** For a GET: the whole request. For a watch: the longest silence between two chunks. */
  timeoutMs: number;
  /** Neither the socket nor the timeout keeps the process alive (watch loops). Default false. */
  background?: boolean;
}

/** The abort of one request: follows `options.signal`; a `timer(ms)` aborts it as timed out. */
export function requestAbort({ signal, background }: RequestOptions) {
  const controller = new AbortController();
  let timedOut = false;
  const forward = (): void => controller.abort();
  if (signal?.aborted) controller.abort();
  signal?.addEventListener('abort', forward, { once: true });
  const timer = (ms: number): NodeJS.Timeout => {
    const timeout = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, ms);
    if (background) timeout.unref();
    return timeout;
  };
  const dispose = (): void => signal?.removeEventListener('abort', forward);
  return { controller, timer, timedOut: () => timedOut, dispose };
}

/** GET a JSON document. Rejects with {@link KubeHttpError} on any non-2xx answer or failure. */
export async function kubeGet(
  target: KubeTarget,
  path: string,
  query: Record<string, string | undefined>,
  options: RequestOptions,
): Promise<unknown> {
  const { controller, timer: startTimer, timedOut, dispose } = requestAbort(options);
  const timer = startTimer(options.timeoutMs);
  try {
    const { res } = await open(target, path, query, controller.signal, options.background);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw await failure(res);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      throw new KubeHttpError(status, 'InvalidJSON');
    }
  } catch (err) {
    if (err instanceof KubeHttpError) throw err;
    throw networkError(err, options.signal, timedOut());
  } finally {
    clearTimeout(timer);
    dispose();
  }
}
