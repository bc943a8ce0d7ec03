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
 * - Real-server modes, each citing its source where it is built (see
 *   {@link FakeKubeApiOptions} and the methods below): paged lists with
 *   expiring continue tokens (`storage/etcd3/store.go`, client-go
 *   `tools/pager/pager.go`), `resourceVersion=0` served whole by the watch
 *   cache (`storage/cacher`), bookmarks every N ms (`cacher.go`
 *   `defaultBookmarkFrequency`), a watch that goes silent without closing
 *   (client-go `tools/cache/reflector.go` has no idle timeout of its own),
 *   `Retry-After` on any list or watch (`fault()`; client-go
 *   `rest/with_retry.go` `checkWait`), an API server down for a while
 *   (`down()` / `up()`).
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
  /** The `User-Agent` header. */
  userAgent: string | undefined;
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
 * Options of {@link FakeKubeApi}. Each mode copies a behaviour of the real
 * API server; the comment on each names the source.
 */
export interface FakeKubeApiOptions {
  /** How many events the watch history keeps (older resourceVersions get 410). Default 1000. */
  historyLimit?: number;
  /** The bearer token to accept. */
  token?: string;
  /** The resource types to serve (default: `KARGO_TYPES`). */
  types?: readonly ResourceType[];
  /** How long a "second" of `timeoutSeconds` lasts, so tests need not wait. Default 1000. */
  msPerSecond?: number;
  /**
   * How long a list's continue token stays valid, in ms. The real token
   * names an etcd revision; once etcd compacted it (every 5 minutes by
   * default), continuing answers 410 `Expired` (apiserver
   * `storage/etcd3/store.go`, `GetList`, and `storage/errors.go`
   * `NewResourceExpired`). Default: until `expireContinueTokens()`.
   */
  continueTtlMs?: number;
  /**
   * Send a BOOKMARK on every watch that allowed them, this often (ms). The
   * watch cache sends one about every minute (`defaultBookmarkFrequency =
   * time.Minute` in apiserver `storage/cacher/cacher.go`). Default: only on
   * `sendBookmarks()`.
   */
  bookmarkIntervalMs?: number;
  /**
   * Whether a list with `resourceVersion=0` honours `limit`. The watch cache
   * serves `resourceVersion=0` lists whole and ignores `limit` (apiserver
   * `storage/cacher`, `shouldDelegateList`, before KEP-4988). Default false,
   * as that cache.
   */
  pageCachedLists?: boolean;
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
  /** The object before a MODIFIED, for selector transitions. */
  previous?: KubeObject;
}

interface OpenWatch {
  type: StoredType;
  namespace: string | undefined;
  filter: (obj: KubeObject) => boolean;
  res: http.ServerResponse;
  socket: Socket;
  bookmarks: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Periodic bookmarks (`bookmarkIntervalMs`). */
  bookmarkTimer: NodeJS.Timeout | undefined;
  /** A half-open connection: nothing reaches the client any more, and nothing ends it. */
  silent: boolean;
}

/** A list snapshot a continue token points into (etcd serves every page at the first page's revision). */
interface ListSnapshot {
  items: KubeObject[];
  resourceVersion: string;
  createdAt: number;
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

/** A continue token: opaque base64 JSON, as the real one (which holds a key and an etcd revision). */
function encodeContinue(position: { id: number; offset: number }): string {
  return Buffer.from(JSON.stringify({ v: 'fake/v1', ...position })).toString('base64url');
}

function decodeContinue(token: string): { id: number; offset: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (!isPlainObject(parsed)) return undefined;
    const { id, offset } = parsed;
    return Number.isInteger(id) && Number.isInteger(offset)
      ? { id: id as number, offset: offset as number }
      : undefined;
  } catch {
    return undefined;
  }
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

  private readonly options: FakeKubeApiOptions;
  private readonly snapshots = new Map<number, ListSnapshot>();
  private snapshotCounter = 0;
  private isDown = false;
  private connectionCount = 0;

  /** @param options see {@link FakeKubeApiOptions} */
  constructor(options: FakeKubeApiOptions = {}) {
    this.options = options;
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
      if (this.isDown) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      this.connectionCount += 1;
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

  /** How many TCP connections were accepted since the start. */
  get connectionsAccepted(): number {
    return this.connectionCount;
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
    for (const w of this.watches) if (w.bookmarks) this.bookmark(w);
  }

  /**
   * Ends every open watch with an ERROR event carrying this Status, as the
   * API server reports a failure inside a 200 stream (apiserver
   * `endpoints/handlers/watch.go` sends `watch.Error` events with a Status).
   */
  failWatches(status: KubeObject): void {
    for (const w of this.watches) {
      this.writeEvent(w, { type: 'ERROR', object: status });
      this.endWatch(w, false);
    }
  }

  /**
   * Every continue token handed out so far answers 410 `Expired` from now on,
   * as after an etcd compaction past the list's revision.
   */
  expireContinueTokens(): void {
    this.snapshots.clear();
  }

  /**
   * Every open watch goes silent without closing, as a half-open connection
   * (a node or load balancer gone): no event, no bookmark, no end at
   * `timeoutSeconds`. Only the client can notice, by its own idle timeout
   * (client-go has none and relies on the server's bookmarks and
   * `timeoutSeconds`: tools/cache/reflector.go `watchHandler`).
   */
  silenceWatches(): void {
    for (const w of this.watches) {
      w.silent = true;
      if (w.timer) clearTimeout(w.timer);
      if (w.bookmarkTimer) clearInterval(w.bookmarkTimer);
    }
  }

  /**
   * The API server goes down: every connection is cut (open watches
   * included) and new ones are reset at once, until `up()`.
   */
  down(): void {
    this.isDown = true;
    for (const w of this.watches) this.endWatch(w, true);
    for (const s of this.sockets) s.destroy();
  }

  /** The API server is back (see `down()`). */
  up(): void {
    this.isDown = false;
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
    this.emit({
      type: eventType,
      rv,
      type_: type,
      object: clone(obj),
      ...(previous ? { previous: clone(previous) } : {}),
    });
    return clone(obj);
  }

  private emit(event: WatchEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.compactedRV = dropped.rv;
    }
    for (const w of this.watches) {
      const seen = w.type === event.type_ && this.seenBy(w, event);
      if (seen) this.writeEvent(w, seen);
    }
  }

  /**
   * The event a filtered watch sees, as the watch cache sends it
   * (apiserver `storage/cacher/cache_watcher.go` `convertToWatchEvent`): an
   * object that starts to match the selector arrives as ADDED, one that stops
   * matching (a label removed) as DELETED, carrying its previous content with
   * the event's resourceVersion ("return a delete event with the previous
   * object content, but with the event's resource version").
   */
  private seenBy(
    w: OpenWatch,
    event: WatchEvent,
  ): { type: WatchEvent['type']; object: KubeObject } | undefined {
    const now = this.inScope(w, event.object);
    if (event.type !== 'MODIFIED' || !event.previous) {
      return now ? { type: event.type, object: event.object } : undefined;
    }
    const before = this.inScope(w, event.previous);
    if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: event.object };
    if (!before) return undefined;
    const metadata = { ...event.previous.metadata, resourceVersion: String(event.rv) };
    return { type: 'DELETED', object: { ...event.previous, metadata } };
  }

  private inScope(w: OpenWatch, obj: KubeObject): boolean {
    return (!w.namespace || obj.metadata?.namespace === w.namespace) && w.filter(obj);
  }

  private writeEvent(w: OpenWatch, event: { type: string; object: unknown }): void {
    if (!w.silent && !w.res.writableEnded) w.res.write(`${JSON.stringify(event)}\n`);
  }

  private bookmark(w: OpenWatch): void {
    this.writeEvent(w, {
      type: 'BOOKMARK',
      object: {
        kind: w.type.kind,
        apiVersion: w.type.apiVersion,
        metadata: { resourceVersion: String(this.rv) },
      },
    });
  }

  private endWatch(w: OpenWatch, abrupt: boolean): void {
    if (w.timer) clearTimeout(w.timer);
    if (w.bookmarkTimer) clearInterval(w.bookmarkTimer);
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
    this.requests.push({
      method,
      path: url.pathname,
      query,
      contentType,
      body,
      watch,
      userAgent: req.headers['user-agent'],
    });

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
    const limit = Number(query.limit);
    const cached = query.resourceVersion === '0' && !this.options.pageCachedLists;
    if (!(limit > 0) || cached) {
      // No limit, or a list the watch cache serves whole (see `pageCachedLists`).
      this.sendJSON(res, 200, {
        apiVersion: type.apiVersion,
        kind: `${type.kind}List`,
        metadata: { resourceVersion: String(this.rv) },
        items: this.matching(type, namespace, filter),
      });
      return;
    }
    this.servePage(res, type, namespace, filter, limit, query.continue);
  }

  /**
   * One page of a paged list: `limit` items, then `metadata.continue` and
   * `remainingItemCount` while more remain; every page at the revision of the
   * first (apiserver `storage/etcd3/store.go` `GetList`; client-go
   * `tools/pager/pager.go` follows `continue` until it is empty). A token
   * that expired answers 410 `Expired`, whose message is the real one.
   */
  private servePage(
    res: http.ServerResponse,
    type: StoredType,
    namespace: string | undefined,
    filter: (obj: KubeObject) => boolean,
    limit: number,
    token: string | undefined,
  ): void {
    let id: number;
    let offset: number;
    if (token) {
      const decoded = decodeContinue(token);
      if (!decoded) {
        // apiserver storage/etcd3 `decodeContinue`: a token that does not parse is a bad request.
        this.sendStatus(
          res,
          400,
          'continue key is not valid: incorrect encoded start resourceVersion',
        );
        return;
      }
      const snapshot = this.snapshots.get(decoded.id);
      const ttl = this.options.continueTtlMs;
      if (!snapshot || (ttl !== undefined && Date.now() - snapshot.createdAt > ttl)) {
        this.snapshots.delete(decoded.id);
        this.sendStatus(
          res,
          410,
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
        return;
      }
      id = decoded.id;
      offset = decoded.offset;
    } else {
      id = ++this.snapshotCounter;
      offset = 0;
      this.snapshots.set(id, {
        items: this.matching(type, namespace, filter),
        resourceVersion: String(this.rv),
        createdAt: Date.now(),
      });
    }
    const snapshot = this.snapshots.get(id)!;
    const items = snapshot.items.slice(offset, offset + limit);
    const next = offset + items.length;
    const remaining = snapshot.items.length - next;
    if (remaining <= 0) this.snapshots.delete(id);
    this.sendJSON(res, 200, {
      apiVersion: type.apiVersion,
      kind: `${type.kind}List`,
      metadata: {
        resourceVersion: snapshot.resourceVersion,
        ...(remaining > 0
          ? { continue: encodeContinue({ id, offset: next }), remainingItemCount: remaining }
          : {}),
      },
      items,
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
      bookmarkTimer: undefined,
      silent: false,
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
        const seen = event.rv > from && event.type_ === type && this.seenBy(w, event);
        if (seen) this.writeEvent(w, seen);
      }
    }
    this.watches.add(w);
    const timeoutSeconds = Number(query.timeoutSeconds);
    if (timeoutSeconds > 0)
      w.timer = setTimeout(() => this.endWatch(w, false), timeoutSeconds * this.msPerSecond);
    const every = this.options.bookmarkIntervalMs;
    if (w.bookmarks && every !== undefined && every > 0)
      w.bookmarkTimer = setInterval(() => this.bookmark(w), every);
    res.on('close', () => {
      if (w.timer) clearTimeout(w.timer);
      if (w.bookmarkTimer) clearInterval(w.bookmarkTimer);
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
