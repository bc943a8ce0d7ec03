/**
 * A fake Kubernetes API server for tests: node `http` on loopback, a random
 * port, and the real wire protocol for what the adapters use (list, get,
 * watch with resourceVersion / bookmarks / 410 expiry, merge patch, the status
 * subresource), plus injectable faults. Drive it through the real
 * @kubernetes/client-node with `kubeConfig()`.
 *
 * Protocol references:
 * - https://kubernetes.io/docs/reference/using-api/api-concepts/ (list, watch,
 *   resource versions, bookmarks, 410 Gone)
 * - kube-apiserver `handlers/patch.go` (which patch types apply where and the
 *   status codes of a rejected patch)
 * @module
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** A Kubernetes object as stored: plain JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** A resource type the fake serves. */
export interface ResourceType {
  /** API group; `''` for the core group (`/api/v1`). */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Whether `/status` is a subresource (then a PATCH of the main resource leaves `.status` alone). Default: true for custom resources. */
  statusSubresource?: boolean;
  /** Whether it is a built-in type (strategic merge patch allowed). Default: `group === ''`. */
  builtIn?: boolean;
}

/** Identifies one stored object. `namespace` is omitted for cluster-scoped kinds. */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  /** The parsed JSON body, the raw text when it was not JSON, `undefined` when empty. */
  body: unknown;
  /** Whether it was a watch request. */
  watch: boolean;
}

/** A fault: how to answer the next `times` requests matching `method` and `path`. */
export interface Fault {
  /** Default: any method. */
  method?: string;
  /** A regular expression or a substring of the path (query excluded). Default: any path. */
  path?: RegExp | string;
  /** Only watch requests (`true`) or only non-watch requests (`false`). Default: both. */
  watch?: boolean;
  /** How many matching requests this fault answers. Default 1. */
  times?: number;
  /** Answer with this status and a Status body instead of serving the request (500, 429, 403, …). */
  status?: number;
  /** `Retry-After` header (seconds) sent with the status. */
  retryAfterSeconds?: number;
  /** Wait this long before answering (serving normally if no `status`). */
  delayMs?: number;
  /** Destroy the socket without an answer (a network error for the client). */
  destroy?: boolean;
}

/**
 * What a validating admission webhook is sent for an UPDATE (admission/v1
 * `AdmissionRequest`: operation, resource, user, old and new object).
 */
export interface AdmissionRequest {
  operation: 'UPDATE';
  group: string;
  plural: string;
  kind: string;
  namespace: string | undefined;
  name: string;
  subresource: string | undefined;
  userInfo: { username: string };
  oldObject: KubeObject;
  object: KubeObject;
}

/**
 * A validating admission webhook: returns undefined to admit, or the
 * `metav1.Status` the API server answers with (its `code` is the HTTP status).
 * kube-apiserver runs validating webhooks after the patch is applied and
 * before the object is stored (`staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/validating`).
 */
export type AdmissionHook = (request: AdmissionRequest) => KubeObject | undefined;

/** What the authorizer is asked (`authorizer.Attributes` of a resource request). */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace: string | undefined;
  name: string;
}

/**
 * The verb and name of a request as kube-apiserver's `RequestInfoFactory`
 * derives them (`staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go`):
 * a GET of a collection is `list`, or `watch` with `watch=true`; a list or
 * watch whose field selector requires one `metadata.name` is a request for
 * that name, which lets RBAC `resourceNames` allow it.
 */
function requestAttributes(
  method: string,
  watch: boolean,
  route: {
    type: StoredType;
    namespace: string | undefined;
    name: string | undefined;
    subresource: string | undefined;
  },
  query: Record<string, string>,
): RequestAttributes {
  const collection = method === 'GET' && !route.name;
  const verb = collection
    ? watch
      ? 'watch'
      : 'list'
    : method === 'GET'
      ? 'get'
      : method.toLowerCase();
  const selected = collection
    ? /^metadata\.name==?([^,]+)$/.exec(query.fieldSelector ?? '')?.[1]
    : undefined;
  return {
    verb,
    group: route.type.group,
    resource: route.subresource ? `${route.type.plural}/${route.subresource}` : route.type.plural,
    namespace: route.namespace,
    name: route.name ?? selected ?? '',
  };
}

interface StoredType extends Required<ResourceType> {
  apiVersion: string;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: number;
  type_: StoredType;
  object: KubeObject;
}

interface OpenWatch {
  type: StoredType;
  namespace: string | undefined;
  filter: (obj: KubeObject) => boolean;
  res: http.ServerResponse;
  socket: Socket;
  bookmarks: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** The Kargo resources and core Secrets, predefined. */
export const KARGO_TYPES: readonly ResourceType[] = [
  {
    group: 'kargo.akuity.io',
    version: 'v1alpha1',
    plural: 'warehouses',
    kind: 'Warehouse',
    namespaced: true,
  },
  {
    group: 'kargo.akuity.io',
    version: 'v1alpha1',
    plural: 'promotions',
    kind: 'Promotion',
    namespaced: true,
  },
  {
    group: 'kargo.akuity.io',
    version: 'v1alpha1',
    plural: 'projectconfigs',
    kind: 'ProjectConfig',
    namespaced: true,
  },
  {
    group: 'kargo.akuity.io',
    version: 'v1alpha1',
    plural: 'clusterconfigs',
    kind: 'ClusterConfig',
    namespaced: false,
  },
  {
    group: '',
    version: 'v1',
    plural: 'secrets',
    kind: 'Secret',
    namespaced: true,
    statusSubresource: false,
  },
];

const TOKEN = 'fake-kube-api-token';

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** JSON with sorted keys, to compare objects regardless of key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isPlainObject(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(result, key);
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

class PatchError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw new PatchError(422, `invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 JSON Patch: add, remove, replace, test (enough for a fake). */
function jsonPatch(doc: unknown, ops: unknown[]): unknown {
  let root = clone(doc);
  for (const op of ops) {
    if (!isPlainObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new PatchError(422, 'invalid JSON patch operation');
    }
    const tokens = pointerTokens(op.path);
    const last = tokens.pop();
    if (last === undefined) {
      if (op.op === 'add' || op.op === 'replace') root = clone(op.value);
      else throw new PatchError(422, `unsupported operation on the root: ${op.op}`);
      continue;
    }
    let parent: unknown = root;
    for (const t of tokens) {
      parent = isPlainObject(parent)
        ? parent[t]
        : Array.isArray(parent)
          ? parent[Number(t)]
          : undefined;
      if (parent === undefined) throw new PatchError(422, `doc is missing path: "${op.path}"`);
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (op.op === 'add') parent.splice(index, 0, clone(op.value));
      else if (op.op === 'remove') parent.splice(index, 1);
      else if (op.op === 'replace') parent[index] = clone(op.value);
      else if (op.op === 'test') {
        if (JSON.stringify(parent[index]) !== JSON.stringify(op.value))
          throw new PatchError(422, 'testing value failed');
      } else throw new PatchError(422, `unsupported operation: ${op.op}`);
    } else if (isPlainObject(parent)) {
      if (op.op !== 'add' && !(last in parent))
        throw new PatchError(422, `doc is missing key: "${op.path}"`);
      if (op.op === 'add' || op.op === 'replace') parent[last] = clone(op.value);
      else if (op.op === 'remove') Reflect.deleteProperty(parent, last);
      else if (op.op === 'test') {
        if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
          throw new PatchError(422, 'testing value failed');
      } else throw new PatchError(422, `unsupported operation: ${op.op}`);
    } else {
      throw new PatchError(422, `doc is missing path: "${op.path}"`);
    }
  }
  return root;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A `metav1.Status` failure object, as the API server sends. */
export function statusObject(code: number, message: string, details?: object): KubeObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? 'Unknown',
    ...(details ? { details } : {}),
    code,
  };
}

function parseSelector(
  selector: string | undefined,
): ((fields: (key: string) => string | undefined) => boolean) | undefined {
  if (!selector) return undefined;
  const terms = selector
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((term) => {
      let m = /^(!?)([\w./-]+)$/.exec(term);
      if (m) {
        const negate = m[1] === '!';
        const key = m[2]!;
        return (get: (k: string) => string | undefined) => (get(key) !== undefined) !== negate;
      }
      m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./:-]*)$/.exec(term);
      if (m) {
        const [, key, op, value] = m;
        return (get: (k: string) => string | undefined) =>
          op === '!=' ? get(key!) !== value : get(key!) === value;
      }
      throw new Error(`unsupported selector term ${JSON.stringify(term)}`);
    });
  return (get) => terms.every((t) => t(get));
}

function getField(obj: KubeObject, path: string): string | undefined {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return typeof cur === 'string' ? cur : cur === undefined ? undefined : String(cur);
}

/**
 * The fake API server. Register more types with `register()`; Warehouses,
 * Promotions, ProjectConfigs, ClusterConfigs and Secrets are predefined.
 */
export class FakeKubeApi {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Validating admission for PATCHes (e.g. `FakeKargoAdmission`); none by default. */
  admission: AdmissionHook | undefined;
  /** RBAC for every request (e.g. `rbacAuthorizer` of fake-kargo-admission.ts); none: everything allowed. */
  authorize: ((username: string, attributes: RequestAttributes) => boolean) | undefined;
  /** The user every request authenticates as (what admission webhooks see). */
  username = 'system:serviceaccount:kargo:receiver';

  private readonly types = new Map<string, StoredType>(); // key: `${group}/${plural}`
  private readonly store = new Map<string, Map<string, KubeObject>>(); // type key → `${ns}/${name}` → object
  private readonly history: WatchEvent[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  private faults: (Fault & { remaining: number })[] = [];
  private closedBytesSent = 0;
  private server: http.Server | undefined;
  private rv = 100;
  /** Events with a resourceVersion ≤ this were compacted away: watching from before it answers 410. */
  private compactedRV = 100;
  private uidCounter = 0;
  private readonly historyLimit: number;
  private readonly token: string;

  private readonly msPerSecond: number;

  /**
   * @param options.historyLimit how many events the watch history keeps (older resourceVersions get 410)
   * @param options.token the bearer token to accept
   * @param options.types the resource types to serve (default: `KARGO_TYPES`)
   * @param options.msPerSecond how long a "second" of `timeoutSeconds` lasts, so tests need not wait (default 1000)
   */
  constructor(
    options: {
      historyLimit?: number;
      token?: string;
      types?: readonly ResourceType[];
      msPerSecond?: number;
    } = {},
  ) {
    this.historyLimit = options.historyLimit ?? 1000;
    this.msPerSecond = options.msPerSecond ?? 1000;
    this.token = options.token ?? TOKEN;
    for (const t of options.types ?? KARGO_TYPES) this.register(t);
  }

  /** Adds a resource type. */
  register(type: ResourceType): void {
    const stored: StoredType = {
      statusSubresource: type.group !== '',
      builtIn: type.group === '',
      ...type,
      apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
    };
    this.types.set(`${type.group}/${type.plural}`, stored);
    if (!this.store.has(`${type.group}/${type.plural}`))
      this.store.set(`${type.group}/${type.plural}`, new Map());
  }

  /** Listens on a random loopback port. */
  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.sendStatus(res, 500, `fake-kube-api: ${String(err)}`);
        else res.destroy();
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.closedBytesSent += socket.bytesWritten;
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
  }

  /** Stops listening and destroys every connection (open watches included). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const w of this.watches) this.endWatch(w, true);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    if (!this.server) throw new Error('FakeKubeApi not started');
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** The bearer token the fake accepts. */
  get bearerToken(): string {
    return this.token;
  }

  /** A real client-node KubeConfig pointing at this server (token auth, plain HTTP). */
  kubeConfig(options: { token?: string } = {}): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token: options.token ?? this.token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: 'default' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** The current (latest) resourceVersion of the store. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** How many watch connections are open. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Bytes written to clients so far, on every connection (headers included). */
  get bytesSent(): number {
    let open = 0;
    for (const s of this.sockets) open += s.bytesWritten;
    return this.closedBytesSent + open;
  }

  /** How many TCP connections are open. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Recorded requests matching a method and a path substring / pattern (non-watch unless `watch` says). */
  requestsTo(
    method: string,
    path: RegExp | string,
    options: { watch?: boolean } = {},
  ): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        r.method === method &&
        (typeof path === 'string' ? r.path.includes(path) : path.test(r.path)) &&
        (options.watch === undefined || r.watch === options.watch),
    );
  }

  /** Creates or replaces an object (by apiVersion/kind, namespace, name); emits ADDED or MODIFIED. Returns the stored copy. */
  put(obj: KubeObject): KubeObject {
    const type = this.typeOfObject(obj);
    const name = obj.metadata?.name;
    if (!name) throw new Error('put: metadata.name is required');
    const namespace = type.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined;
    const key = `${namespace ?? ''}/${name}`;
    const bucket = this.bucket(type);
    const previous = bucket.get(key);
    const stored = clone(obj);
    stored.apiVersion = type.apiVersion;
    stored.kind = type.kind;
    stored.metadata = {
      ...stored.metadata,
      name,
      ...(namespace ? { namespace } : {}),
      uid: previous?.metadata?.uid ?? `uid-${++this.uidCounter}`,
      creationTimestamp: previous?.metadata?.creationTimestamp ?? new Date(0).toISOString(),
    };
    return this.commit(type, key, stored, previous ? 'MODIFIED' : 'ADDED');
  }

  /** Deletes an object; emits DELETED. Returns whether it existed. */
  remove(ref: ObjectRef): boolean {
    const type = this.typeOfKind(ref.kind);
    const key = `${type.namespaced ? ref.namespace : ''}/${ref.name}`;
    const bucket = this.bucket(type);
    const previous = bucket.get(key);
    if (!previous) return false;
    bucket.delete(key);
    const rv = ++this.rv;
    const deleted = clone(previous);
    deleted.metadata = { ...deleted.metadata, resourceVersion: String(rv) };
    this.emit({ type: 'DELETED', rv, type_: type, object: deleted });
    return true;
  }

  /** A copy of a stored object, or undefined. */
  get(ref: ObjectRef): KubeObject | undefined {
    const type = this.typeOfKind(ref.kind);
    const found = this.bucket(type).get(`${type.namespaced ? ref.namespace : ''}/${ref.name}`);
    return found ? clone(found) : undefined;
  }

  /** Copies of every stored object of a kind (optionally in one namespace). */
  list(kind: string, namespace?: string): KubeObject[] {
    const type = this.typeOfKind(kind);
    return [...this.bucket(type).values()]
      .filter((o) => !namespace || o.metadata?.namespace === namespace)
      .map(clone);
  }

  /** Answers the next matching request(s) with a fault. Faults are checked in the order added. */
  fault(fault: Fault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  /** Removes every pending fault. */
  clearFaults(): void {
    this.faults = [];
  }

  /**
   * Drops every open watch connection: abruptly (socket destroyed, the
   * default) or gracefully (the response ends, as on a server-side timeout).
   */
  dropWatches(options: { graceful?: boolean } = {}): void {
    for (const w of this.watches) this.endWatch(w, !options.graceful);
  }

  /**
   * Forgets the event history: a watch from any resourceVersion older than
   * the current one gets `410 Expired`, as after etcd compaction. With
   * `dropWatches`, open watches are also ended with that ERROR event.
   */
  expireHistory(options: { dropWatches?: boolean } = {}): void {
    this.history.length = 0;
    this.compactedRV = this.rv;
    if (options.dropWatches) {
      for (const w of this.watches) {
        this.writeEvent(w, { type: 'ERROR', object: this.expiredStatus(0) });
        this.endWatch(w, false);
      }
    }
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that allowed bookmarks. */
  sendBookmarks(): void {
    for (const w of this.watches) {
      if (w.bookmarks) {
        this.writeEvent(w, {
          type: 'BOOKMARK',
          object: {
            kind: w.type.kind,
            apiVersion: w.type.apiVersion,
            metadata: { resourceVersion: String(this.rv) },
          },
        });
      }
    }
  }

  // ---------------------------------------------------------------------------

  private bucket(type: StoredType): Map<string, KubeObject> {
    return this.store.get(`${type.group}/${type.plural}`)!;
  }

  private typeOfKind(kind: string): StoredType {
    for (const t of this.types.values()) if (t.kind === kind) return t;
    throw new Error(`fake-kube-api: unknown kind ${kind}`);
  }

  private typeOfObject(obj: KubeObject): StoredType {
    if (!obj.kind) throw new Error('put: kind is required');
    const type = this.typeOfKind(obj.kind);
    if (obj.apiVersion && obj.apiVersion !== type.apiVersion) {
      throw new Error(`put: ${obj.kind} is served as ${type.apiVersion}, not ${obj.apiVersion}`);
    }
    return type;
  }

  private commit(
    type: StoredType,
    key: string,
    obj: KubeObject,
    eventType: 'ADDED' | 'MODIFIED',
  ): KubeObject {
    const previous = this.bucket(type).get(key);
    const unchanged = {
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: previous?.metadata?.resourceVersion },
    };
    if (eventType === 'MODIFIED' && previous && canonical(previous) === canonical(unchanged)) {
      // A no-op update neither bumps the resourceVersion nor emits an event.
      return clone(previous);
    }
    const rv = ++this.rv;
    obj.metadata = { ...obj.metadata, resourceVersion: String(rv) };
    this.bucket(type).set(key, obj);
    this.emit({ type: eventType, rv, type_: type, object: clone(obj) });
    return clone(obj);
  }

  private emit(event: WatchEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.compactedRV = dropped.rv;
    }
    for (const w of this.watches) {
      if (w.type === event.type_ && this.inScope(w, event.object)) {
        this.writeEvent(w, { type: event.type, object: event.object });
      }
    }
  }

  private inScope(w: OpenWatch, obj: KubeObject): boolean {
    return (!w.namespace || obj.metadata?.namespace === w.namespace) && w.filter(obj);
  }

  private writeEvent(w: OpenWatch, event: { type: string; object: unknown }): void {
    if (!w.res.writableEnded) w.res.write(`${JSON.stringify(event)}\n`);
  }

  private endWatch(w: OpenWatch, abrupt: boolean): void {
    if (w.timer) clearTimeout(w.timer);
    this.watches.delete(w);
    if (abrupt) w.socket.destroy();
    else w.res.end();
  }

  private expiredStatus(requested: number): KubeObject {
    return statusObject(410, `too old resource version: ${requested} (${this.compactedRV + 1})`);
  }

  private sendJSON(
    res: http.ServerResponse,
    code: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(code, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private sendStatus(
    res: http.ServerResponse,
    code: number,
    message: string,
    details?: object,
    headers?: Record<string, string>,
  ): void {
    this.sendJSON(res, code, statusObject(code, message, details), headers);
  }

  private takeFault(method: string, path: string, watch: boolean): Fault | undefined {
    const index = this.faults.findIndex(
      (f) =>
        (!f.method || f.method === method) &&
        (f.path === undefined ||
          (typeof f.path === 'string' ? path.includes(f.path) : f.path.test(path))) &&
        (f.watch === undefined || f.watch === watch),
    );
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const method = req.method ?? 'GET';
    const watch = query.watch === 'true' || query.watch === '1';
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    this.requests.push({ method, path: url.pathname, query, contentType, body, watch });

    const fault = this.takeFault(method, url.pathname, watch);
    if (fault?.delayMs) {
      // A delay ends early when the client gives up, so no timer outlives the test.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, fault.delayMs);
        res.once('close', done);
        function done(): void {
          clearTimeout(timer);
          res.off('close', done);
          resolve();
        }
      });
      if (res.destroyed || req.socket.destroyed) return;
    }
    if (fault?.destroy) {
      req.socket.destroy();
      return;
    }
    if (fault?.status) {
      const headers: Record<string, string> =
        fault.retryAfterSeconds !== undefined
          ? { 'Retry-After': String(fault.retryAfterSeconds) }
          : {};
      const message =
        fault.status === 403
          ? this.forbiddenMessage(method, url.pathname)
          : fault.status === 429
            ? 'Too many requests, please try again later.'
            : `fake-kube-api: injected ${fault.status}`;
      this.sendStatus(res, fault.status, message, undefined, headers);
      return;
    }

    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.sendStatus(res, 401, 'Unauthorized');
      return;
    }

    const route = this.route(url.pathname);
    if (!route) {
      this.sendStatus(res, 404, 'the server could not find the requested resource');
      return;
    }
    const { type, namespace, name, subresource } = route;
    if (
      this.authorize &&
      !this.authorize(this.username, requestAttributes(method, watch, route, query))
    ) {
      this.sendStatus(res, 403, this.forbiddenMessage(method, url.pathname));
      return;
    }
    if (method === 'GET' && !name) {
      if (watch) this.serveWatch(req, res, type, namespace, query);
      else this.serveList(res, type, namespace, query);
      return;
    }
    if (method === 'GET' && name) {
      const obj = this.bucket(type).get(`${namespace ?? ''}/${name}`);
      if (!obj) this.notFound(res, type, name);
      else this.sendJSON(res, 200, obj);
      return;
    }
    if (method === 'PATCH' && name) {
      this.servePatch(res, type, namespace, name, subresource, contentType, body);
      return;
    }
    this.sendStatus(res, 405, `the server does not allow this method on the requested resource`);
  }

  private route(pathname: string):
    | {
        type: StoredType;
        namespace: string | undefined;
        name: string | undefined;
        subresource: string | undefined;
      }
    | undefined {
    const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') {
      group = '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1]!;
      rest = parts.slice(3);
    } else return undefined;
    const version = group ? parts[2] : 'v1';
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, subresource, ...extra] = rest;
    if (!plural || extra.length > 0) return undefined;
    const type = this.types.get(`${group}/${plural}`);
    if (!type || type.version !== version) return undefined;
    if (namespace && !type.namespaced) return undefined;
    if (name && type.namespaced && !namespace) return undefined;
    if (subresource && (subresource !== 'status' || !type.statusSubresource)) return undefined;
    return { type, namespace, name, subresource };
  }

  private notFound(res: http.ServerResponse, type: StoredType, name: string): void {
    const resource = type.group ? `${type.plural}.${type.group}` : type.plural;
    this.sendStatus(res, 404, `${resource} "${name}" not found`, {
      name,
      group: type.group || undefined,
      kind: type.plural,
    });
  }

  private forbiddenMessage(method: string, pathname: string): string {
    const route = this.route(pathname);
    const verb =
      method === 'PATCH'
        ? 'patch'
        : method === 'GET'
          ? route?.name
            ? 'get'
            : 'list'
          : method.toLowerCase();
    if (!route)
      return `forbidden: User "system:serviceaccount:kargo:receiver" cannot ${verb} path "${pathname}"`;
    const resource = route.type.group
      ? `${route.type.plural}.${route.type.group}`
      : route.type.plural;
    const subject = route.name ? `${resource} "${route.name}"` : resource;
    const where = route.namespace
      ? ` in the namespace "${route.namespace}"`
      : ' at the cluster scope';
    return `${subject} is forbidden: User "system:serviceaccount:kargo:receiver" cannot ${verb} resource "${route.type.plural}" in API group "${route.type.group}"${where}`;
  }

  private selectorFilter(query: Record<string, string>): (obj: KubeObject) => boolean {
    const labels = parseSelector(query.labelSelector);
    const fields = parseSelector(query.fieldSelector);
    return (obj) =>
      (!labels || labels((k) => obj.metadata?.labels?.[k])) &&
      (!fields || fields((k) => getField(obj, k)));
  }

  private matching(
    type: StoredType,
    namespace: string | undefined,
    filter: (obj: KubeObject) => boolean,
  ): KubeObject[] {
    return [...this.bucket(type).values()]
      .filter((o) => (!namespace || o.metadata?.namespace === namespace) && filter(o))
      .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion));
  }

  private serveList(
    res: http.ServerResponse,
    type: StoredType,
    namespace: string | undefined,
    query: Record<string, string>,
  ): void {
    let filter: (obj: KubeObject) => boolean;
    try {
      filter = this.selectorFilter(query);
    } catch (err) {
      this.sendStatus(res, 400, String(err));
      return;
    }
    this.sendJSON(res, 200, {
      apiVersion: type.apiVersion,
      kind: `${type.kind}List`,
      metadata: { resourceVersion: String(this.rv) },
      items: this.matching(type, namespace, filter),
    });
  }

  private serveWatch(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    type: StoredType,
    namespace: string | undefined,
    query: Record<string, string>,
  ): void {
    let filter: (obj: KubeObject) => boolean;
    try {
      filter = this.selectorFilter(query);
    } catch (err) {
      this.sendStatus(res, 400, String(err));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const w: OpenWatch = {
      type,
      namespace,
      filter,
      res,
      socket: req.socket,
      bookmarks: query.allowWatchBookmarks === 'true',
      timer: undefined,
    };
    const requested = query.resourceVersion;
    if (!requested || requested === '0') {
      // "Start at any": synthetic ADDED events for the current state, then changes.
      for (const obj of this.matching(type, namespace, filter))
        this.writeEvent(w, { type: 'ADDED', object: obj });
    } else {
      const from = Number(requested);
      if (!Number.isInteger(from) || from < this.compactedRV) {
        // The real server answers 200 and sends the 410 as an ERROR event.
        this.writeEvent(w, { type: 'ERROR', object: this.expiredStatus(from) });
        res.end();
        return;
      }
      for (const event of this.history) {
        if (event.rv > from && event.type_ === type && this.inScope(w, event.object)) {
          this.writeEvent(w, { type: event.type, object: event.object });
        }
      }
    }
    this.watches.add(w);
    const timeoutSeconds = Number(query.timeoutSeconds);
    if (timeoutSeconds > 0)
      w.timer = setTimeout(() => this.endWatch(w, false), timeoutSeconds * this.msPerSecond);
    res.on('close', () => {
      if (w.timer) clearTimeout(w.timer);
      this.watches.delete(w);
    });
  }

  private servePatch(
    res: http.ServerResponse,
    type: StoredType,
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    contentType: string | undefined,
    body: unknown,
  ): void {
    const key = `${namespace ?? ''}/${name}`;
    const current = this.bucket(type).get(key);
    const accepted = [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/apply-patch+yaml',
    ];
    if (type.builtIn) accepted.splice(2, 0, 'application/strategic-merge-patch+json');
    if (!contentType || !accepted.includes(contentType)) {
      // go-restful filters the content type before the handler (415).
      this.sendStatus(
        res,
        415,
        `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
      );
      return;
    }
    if (contentType === 'application/apply-patch+yaml') {
      this.sendStatus(res, 415, 'fake-kube-api: server-side apply is not implemented');
      return;
    }
    if (!current) {
      this.notFound(res, type, name);
      return;
    }
    let patched: unknown;
    try {
      if (contentType === 'application/json-patch+json') {
        // kube-apiserver: jsonpatch.DecodePatch fails → 400 BadRequest; a failing operation → 422.
        if (!Array.isArray(body)) {
          const what =
            body === undefined || typeof body === 'string'
              ? 'string'
              : isPlainObject(body)
                ? 'object'
                : typeof body;
          throw new PatchError(
            400,
            `json: cannot unmarshal ${what} into Go value of type jsonpatch.Patch`,
          );
        }
        patched = jsonPatch(current, body);
      } else {
        if (!isPlainObject(body)) throw new PatchError(400, 'Invalid JSON Patch');
        const wanted = body.metadata;
        if (
          isPlainObject(wanted) &&
          wanted.resourceVersion !== undefined &&
          wanted.resourceVersion !== current.metadata?.resourceVersion
        ) {
          const resource = type.group ? `${type.plural}.${type.group}` : type.plural;
          throw new PatchError(
            409,
            `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          );
        }
        patched = mergePatch(current, body);
      }
    } catch (err) {
      if (err instanceof PatchError) {
        this.sendStatus(res, err.status, err.message);
        return;
      }
      throw err;
    }
    if (!isPlainObject(patched)) {
      this.sendStatus(res, 422, 'the patched object is not an object');
      return;
    }
    const next = patched as KubeObject;
    // Identity and system fields are not the patch's to change.
    next.apiVersion = current.apiVersion;
    next.kind = current.kind;
    next.metadata = {
      ...next.metadata,
      name,
      ...(namespace ? { namespace } : {}),
      uid: current.metadata?.uid,
    };
    if (type.statusSubresource) {
      if (subresource === 'status') {
        const onlyStatus = clone(current);
        if (next.status === undefined) delete onlyStatus.status;
        else onlyStatus.status = next.status;
        this.sendJSON(res, 200, this.commit(type, key, onlyStatus, 'MODIFIED'));
        return;
      }
      if (current.status === undefined) delete next.status;
      else next.status = clone(current.status);
    }
    const refusal = this.admission?.({
      operation: 'UPDATE',
      group: type.group,
      plural: type.plural,
      kind: type.kind,
      namespace,
      name,
      subresource,
      userInfo: { username: this.username },
      oldObject: clone(current),
      object: clone(next),
    });
    if (refusal) {
      this.sendJSON(res, typeof refusal.code === 'number' ? refusal.code : 500, refusal);
      return;
    }
    this.sendJSON(res, 200, this.commit(type, key, next, 'MODIFIED'));
  }
}
