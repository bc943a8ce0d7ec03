/**
 * A generic list-then-watch loop for one resource type in one namespace (or
 * across all namespaces / cluster-scoped), independent of what the objects
 * are: Warehouses, Promotions, ProjectConfigs, Secrets…
 *
 * It follows the Kubernetes list/watch protocol
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
 * list, then watch from the list's resourceVersion with bookmarks; on
 * `410 Gone` (an ERROR event with an `Expired` Status, or a 410 answer) list
 * again from scratch and reconcile; on any other error, timeout or closed
 * stream, watch again from the last seen resourceVersion after a capped,
 * jittered backoff. client-node 1.x's informer does not restart after an
 * error (kubernetes-client/javascript#2385 and friends), hence this loop.
 *
 * Lists are paged (`limit`/`continue`, {@link DEFAULT_PAGE_SIZE} per page as
 * client-go's pager) so no more than one page of raw JSON is held at once;
 * each page's objects go to the handlers and are dropped. A continue token
 * that expired meanwhile (410) restarts the list.
 *
 * Freshness: the watcher tracks since when it is out of sync (no open watch:
 * the API server is down, the watch is refused, a re-list is running), so a
 * caller can refuse to answer from a cache that is too old.
 *
 * Memory: the watcher keeps only key → resourceVersion, enough to tell what
 * changed or vanished across a re-list. The objects go to the handlers.
 * @module
 */
import type { ClientKubeConfig as KubeConfig } from './kube-config.js';
import type { Logger } from '../../types.js';
import { silentLogger } from '../../logger.js';
import { type BackoffOptions, type Sleep, backgroundSleep, backoffDelay } from './backoff.js';
import { type KubeClusterError, explainKubeFailure } from './errors.js';
import {
  KubeClient,
  KubeHttpError,
  type ResourceType,
  type WatchEvent,
  collectionPath,
  kubeGet,
  kubeWatch,
  safeReason,
} from './kube-http.js';

/** The part of a Kubernetes object the watcher reads. */
export interface KubeObjectLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/** Identifies an object that was deleted. */
export interface ObjectRef {
  /** Undefined for cluster-scoped objects. */
  namespace: string | undefined;
  name: string;
}

/** Options of {@link ResourceWatcher}. */
export interface ResourceWatcherOptions<T extends KubeObjectLike = KubeObjectLike> {
  /** Where and who to connect as. */
  kubeConfig: KubeConfig;
  /** The connection pool to use (shared by the watchers of one adapter). Default: one of the watcher's own, closed by `close()`. */
  client?: KubeClient;
  /** What to watch: `{ group: 'kargo.akuity.io', version: 'v1alpha1', plural: 'warehouses' }`; `group: ''` for core. */
  resource: ResourceType;
  /** One namespace; omitted: all namespaces (or a cluster-scoped resource). */
  namespace?: string;
  /** Server-side label selector. */
  labelSelector?: string;
  /** Server-side field selector. */
  fieldSelector?: string;
  /** An object was added or changed (also for each new or changed object found by a re-list). */
  onUpsert: (object: T) => void;
  /** An object was deleted (also for each object a re-list no longer returns; then `object` is undefined). */
  onDelete: (ref: ObjectRef, object?: T) => void;
  /** After each (re)list, once the deltas above were delivered: every object of the list (then the watcher holds a whole list at once: leave it out for large collections). */
  onResync?: (objects: readonly T[]) => void;
  /** A list or watch failed (it is retried after a backoff); for callers that must not wait for ever on `ready`. */
  onError?: (error: Error) => void;
  /** Receives warnings on restarts. Default: silent. */
  logger?: Logger;
  /** Backoff between failed attempts. Default: 1 s doubling to 30 s, ±20 %. */
  backoff?: BackoffOptions;
  /** Timeout of each list request (one page). Default 60 000 ms. */
  listTimeoutMs?: number;
  /** Objects per list page (`limit`). Default 500, as client-go's pager. */
  pageSize?: number;
  /** `timeoutSeconds` asked of the server for each watch; the actual value is spread up to twice that, as client-go does. Default 300. */
  watchTimeoutSeconds?: number;
  /**
   * A watch that delivers nothing (no event, no bookmark) this long is
   * considered dead and replaced: the API server sends a bookmark about every
   * minute (apiserver `cacher.go`, `defaultBookmarkFrequency`), a half-open
   * connection sends nothing. Default 90 000 ms.
   */
  watchIdleTimeoutMs?: number;
  /** The longest wait a `Retry-After` may impose. Default 60 000 ms. */
  maxRetryAfterMs?: number;
  /** Injectable clock in milliseconds, for freshness (tests). Default `Date.now`. */
  now?: () => number;
  /** Injectable delay (tests). Default: a timer that does not keep the process alive. */
  sleep?: Sleep;
  /** Injectable randomness in [0, 1) for jitter (tests). */
  random?: () => number;
}

/** Counters of a {@link ResourceWatcher}. */
export interface ResourceWatcherStats {
  /** Whether the first list completed. */
  ready: boolean;
  /** Objects currently known. */
  objects: number;
  /** Successful lists (the first one included). */
  lists: number;
  /** Watches started again after the first (for any reason). */
  watchRestarts: number;
  /** Re-lists forced by 410 Gone. */
  expired: number;
  /** Failed requests (lists and watches). */
  errors: number;
  /** List pages received. */
  pages: number;
  /** Lists restarted because their continue token expired (410). */
  listRestarts: number;
  /** Milliseconds since the cache is out of sync (no open watch), 0 while in sync. */
  outOfSyncMs: number;
}

class Expired extends Error {}

/** Objects per list page, as client-go's `tools/pager` (`defaultPageSize = 500`). */
export const DEFAULT_PAGE_SIZE = 500;

/** Lists restarted at once after an expired continue token, before backing off. */
const MAX_LIST_RESTARTS = 3;

/** Retries of one list page the server asked to retry (`Retry-After`), as client-go's `rest` client (`maxRetries = 10`). */
const PAGE_RETRIES = 10;

const HEALTHY_WATCH_MS = 10_000;

const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialMs: 1000,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
};

/** One page of a list, as the API server sends it. */
interface ListPage<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Lists then watches one resource type, calling handlers; restarts by itself until closed. */
export class ResourceWatcher<T extends KubeObjectLike = KubeObjectLike> {
  readonly #options: ResourceWatcherOptions<T>;
  readonly #logger: Logger;
  readonly #backoff: Required<BackoffOptions>;
  readonly #sleep: Sleep;
  readonly #random: () => number;
  readonly #path: string;
  readonly #abort = new AbortController();
  /** key → resourceVersion of every known object. */
  readonly #known = new Map<string, string>();
  readonly #stats: ResourceWatcherStats = {
    ready: false,
    objects: 0,
    lists: 0,
    watchRestarts: 0,
    expired: 0,
    errors: 0,
    pages: 0,
    listRestarts: 0,
    outOfSyncMs: 0,
  };
  readonly #client: KubeClient;
  readonly #ownClient: boolean;
  readonly #now: () => number;
  /** Since when no watch is open (ms, `#now`); undefined while one is. */
  #outOfSyncSince: number;
  #inSync = false;
  /** Why the last list or watch failed, until a list completes or a watch opens. */
  #failure: KubeClusterError | undefined;
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  #resourceVersion: string | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;

  constructor(options: ResourceWatcherOptions<T>) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#sleep = options.sleep ?? backgroundSleep;
    this.#random = options.random ?? Math.random;
    this.#path = collectionPath(options.resource, options.namespace);
    this.#ownClient = options.client === undefined;
    this.#client = options.client ?? new KubeClient(options.kubeConfig);
    this.#now = options.now ?? Date.now;
    this.#outOfSyncSince = this.#now();
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.#ready.catch(() => undefined); // nobody may be waiting: not an unhandled rejection
  }

  /** Starts the loop (idempotent). Returns `this`. */
  start(): this {
    if (!this.#loop && !this.#closed) {
      this.#outOfSyncSince = this.#now();
      this.#loop = this.#run();
    }
    return this;
  }

  /** Resolves after the first successful list; rejects if closed before. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** Whether the first list completed. */
  isReady(): boolean {
    return this.#stats.ready;
  }

  /** A snapshot of the counters. */
  stats(): ResourceWatcherStats {
    return { ...this.#stats, objects: this.#known.size, outOfSyncMs: this.outOfSyncMs() };
  }

  /**
   * How long the cache has been out of sync, in milliseconds: 0 while a watch
   * is open (or a list just completed); otherwise the time since the last
   * watch ended (or since `start()` before the first list).
   */
  outOfSyncMs(): number {
    return this.#inSync ? 0 : Math.max(0, this.#now() - this.#outOfSyncSince);
  }

  /**
   * Why this watcher has no open watch, when a failure is the reason (the
   * API server answered 5xx/403, could not be reached, no kubeconfig…), in
   * words; undefined while a watch is open, and during a routine restart (a
   * watch the server ended, 410 then a re-list that succeeds). Kept until a
   * list completes or a watch opens: the events of the outage are missed.
   */
  failure(): KubeClusterError | undefined {
    return this.#failure;
  }

  #markInSync(): void {
    this.#inSync = true;
    this.#failure = undefined;
  }

  #markOutOfSync(since = this.#now()): void {
    if (!this.#inSync) return;
    this.#inSync = false;
    this.#outOfSyncSince = since;
  }

  /** Stops: aborts the request in flight and any backoff; resolves when the loop has exited. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#abort.abort();
      if (!this.#stats.ready)
        this.#rejectReady(new Error('[kargo-azure-receiver] watcher closed before its first list'));
    }
    await this.#loop;
    if (this.#ownClient) this.#client.destroy();
  }

  get #describe(): Record<string, unknown> {
    return { resource: this.#options.resource.plural, namespace: this.#options.namespace ?? '*' };
  }

  async #run(): Promise<void> {
    let failures = 0;
    let expiredStreak = 0;
    let firstWatch = true;
    while (!this.#closed) {
      let delay = 0;
      try {
        if (this.#resourceVersion === undefined) await this.#list();
        if (!firstWatch) this.#stats.watchRestarts += 1;
        firstWatch = false;
        const progressed = await this.#watch();
        expiredStreak = 0;
        if (progressed) failures = 0;
        else {
          // A stream the server closes at once, again and again, must not become a hot loop.
          failures += 1;
          delay = backoffDelay(failures, this.#backoff, this.#random);
        }
        this.#logger.debug(
          { ...this.#describe, resourceVersion: this.#resourceVersion },
          'watch ended, watching again',
        );
      } catch (err) {
        if (this.#closed) break;
        if (err instanceof Expired) {
          // 410: the resourceVersion is compacted away. List from scratch; back off only if it keeps happening.
          this.#stats.expired += 1;
          this.#resourceVersion = undefined;
          expiredStreak += 1;
          delay =
            expiredStreak > 1 ? backoffDelay(expiredStreak - 1, this.#backoff, this.#random) : 0;
          this.#logger.info({ ...this.#describe }, 'watch expired (410 Gone), listing again');
        } else {
          this.#stats.errors += 1;
          failures += 1;
          delay = Math.max(
            backoffDelay(failures, this.#backoff, this.#random),
            this.#retryAfter(err),
          );
          const status = err instanceof KubeHttpError ? err.statusCode : undefined;
          const reason = err instanceof KubeHttpError ? err.reason : 'Error';
          // In words, with the server and context: "cannot reach …: connection refused", "Kargo's CRDs are not installed".
          this.#failure = explainKubeFailure(err, this.#options.kubeConfig, this.#options.resource);
          const problem = this.#failure.message;
          this.#logger.warn(
            { ...this.#describe, status, reason, problem, attempt: failures, retryInMs: delay },
            'Kubernetes watch failed, retrying',
          );
          const { onError } = this.#options;
          if (onError)
            this.#deliver(() => onError(err instanceof Error ? err : new Error(String(err))));
        }
      }
      if (delay > 0 && !this.#closed) await this.#sleep(delay, this.#abort.signal);
    }
  }

  /** The wait a `Retry-After` asks for (capped), or 0. */
  #retryAfter(err: unknown): number {
    const asked = err instanceof KubeHttpError ? err.retryAfterMs : undefined;
    return asked === undefined ? 0 : Math.min(asked, this.#options.maxRetryAfterMs ?? 60_000);
  }

  #query(): Record<string, string | undefined> {
    return {
      labelSelector: this.#options.labelSelector,
      fieldSelector: this.#options.fieldSelector,
    };
  }

  /**
   * One list, page by page. No `resourceVersion`: the list is a consistent
   * read (a quorum read of etcd), not `resourceVersion=0` as client-go's
   * reflector sends for its first list. Two reasons. The watch cache serves
   * `resourceVersion=0` whole and ignores `limit` (apiserver
   * `storage/cacher` delegates only paged lists with a resourceVersion other
   * than 0 to etcd; paging from the cache came with KEP-4988 in 1.33), so
   * 100 000 Warehouses would arrive as one response of tens of megabytes.
   * And it may be served from a lagging cache, older than what an earlier
   * process already acted on. Client-go's reflector makes the same choice
   * (`relistResourceVersion` returns "") after a 410.
   */
  async #list(): Promise<void> {
    for (let restarts = 0; ; restarts++) {
      try {
        await this.#listPages();
        return;
      } catch (err) {
        // Past a few restarts in a row, the run loop's backoff takes over (no hot loop).
        if (!(err instanceof Expired) || this.#closed || restarts >= MAX_LIST_RESTARTS) throw err;
        // The continue token outlived etcd's compaction (410 Expired): start the list over.
        this.#stats.listRestarts += 1;
        this.#logger.info({ ...this.#describe }, 'list continue token expired, listing again');
      }
    }
  }

  async #listPages(): Promise<void> {
    const seen = new Set<string>();
    const all: T[] | undefined = this.#options.onResync ? [] : undefined;
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.#page(continueToken);
      if (this.#closed) return;
      this.#stats.pages += 1;
      for (const item of Array.isArray(page.items) ? page.items : []) {
        const name = item.metadata?.name;
        if (!name) continue;
        const key = keyOf(item.metadata?.namespace, name);
        seen.add(key);
        all?.push(item);
        const rv = item.metadata?.resourceVersion ?? '';
        if (this.#known.get(key) !== rv) {
          this.#known.set(key, rv);
          this.#deliver(() => this.#options.onUpsert(item));
        }
      }
      // Every page carries the list's resourceVersion; the first one is the snapshot's.
      resourceVersion ??= page.metadata?.resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    // Deleted while we were not watching: the list no longer has them.
    for (const key of [...this.#known.keys()]) {
      if (seen.has(key)) continue;
      this.#known.delete(key);
      const slash = key.indexOf('/');
      const ref: ObjectRef = {
        namespace: slash > 0 ? key.slice(0, slash) : undefined,
        name: key.slice(slash + 1),
      };
      this.#deliver(() => this.#options.onDelete(ref));
    }
    if (this.#options.onResync && all) {
      const onResync = this.#options.onResync;
      this.#deliver(() => onResync(all));
    }
    this.#resourceVersion = resourceVersion;
    this.#stats.lists += 1;
    this.#markInSync();
    if (!this.#stats.ready) {
      this.#stats.ready = true;
      this.#resolveReady();
    }
  }

  /** One page; retries the same page when the server asks to (`Retry-After` on 429 / 5xx). */
  async #page(continueToken: string | undefined): Promise<ListPage<T>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await kubeGet(
          this.#client,
          this.#path,
          {
            ...this.#query(),
            limit: String(this.#options.pageSize ?? DEFAULT_PAGE_SIZE),
            continue: continueToken,
          },
          {
            signal: this.#abort.signal,
            timeoutMs: this.#options.listTimeoutMs ?? 60_000,
            background: true,
          },
        )) as ListPage<T>;
      } catch (err) {
        if (err instanceof KubeHttpError && err.statusCode === 410 && continueToken)
          throw new Expired();
        const wait = this.#retryAfter(err);
        if (!(err instanceof KubeHttpError) || err.retryAfterMs === undefined) throw err;
        if (attempt >= PAGE_RETRIES || this.#closed) throw err;
        // Overloaded or failing (429/5xx): the list is not coming, as much a failure as an error.
        this.#failure = explainKubeFailure(err, this.#options.kubeConfig, this.#options.resource);
        this.#logger.info(
          { ...this.#describe, status: err.statusCode, retryInMs: wait, attempt },
          'list page refused with Retry-After, retrying the page',
        );
        await this.#sleep(wait, this.#abort.signal);
        if (this.#closed) throw err;
      }
    }
  }

  /** One watch; resolves true if it delivered anything (events or bookmarks). */
  async #watch(): Promise<boolean> {
    const base = this.#options.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.max(1, Math.floor(base * (1 + this.#random())));
    const idleTimeoutMs = this.#options.watchIdleTimeoutMs ?? 90_000;
    let progressed = false;
    const started = Date.now();
    // Until the watch delivers something, an ERROR event (410) means we never caught up.
    const lostSince = this.#inSync ? undefined : this.#outOfSyncSince;
    try {
      await kubeWatch(
        this.#client,
        this.#path,
        {
          ...this.#query(),
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(timeoutSeconds),
        },
        {
          signal: this.#abort.signal,
          timeoutMs: idleTimeoutMs,
          // The server ends the watch after timeoutSeconds; past that plus the idle bound, something is wrong.
          deadlineMs: timeoutSeconds * 1000 + idleTimeoutMs,
          onOpen: () => this.#markInSync(),
          background: true,
          onEvent: (event) => {
            if (this.#onEvent(event)) progressed = true;
          },
        },
      );
    } catch (err) {
      this.#markOutOfSync(progressed ? undefined : lostSince);
      if (err instanceof KubeHttpError && err.statusCode === 410) throw new Expired();
      throw err;
    }
    this.#markOutOfSync();
    // A quiet watch that lived a while was healthy too, even without bookmarks.
    return progressed || Date.now() - started >= HEALTHY_WATCH_MS;
  }

  /** Applies one event; returns whether it was progress. Throws Expired on 410. */
  #onEvent(event: WatchEvent): boolean {
    if (this.#closed) return false;
    const object = (event.object ?? {}) as T & { code?: unknown; reason?: unknown };
    const rv = object.metadata?.resourceVersion;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const name = object.metadata?.name;
        if (!name) return false;
        this.#known.set(keyOf(object.metadata?.namespace, name), rv ?? '');
        this.#deliver(() => this.#options.onUpsert(object));
        break;
      }
      case 'DELETED': {
        const name = object.metadata?.name;
        if (!name) return false;
        this.#known.delete(keyOf(object.metadata?.namespace, name));
        this.#deliver(() =>
          this.#options.onDelete({ namespace: object.metadata?.namespace, name }, object),
        );
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        if (object.code === 410) throw new Expired();
        // A Status may ask to retry later, e.g. "Too large resource version" (504, retryAfterSeconds 1:
        // apimachinery api/errors NewTooLargeResourceVersionError).
        const details = (object as { details?: { retryAfterSeconds?: unknown } }).details;
        const retryAfter = details?.retryAfterSeconds;
        throw new KubeHttpError(
          typeof object.code === 'number' ? object.code : undefined,
          safeReason(object.reason),
          typeof retryAfter === 'number' && retryAfter > 0 ? retryAfter * 1000 : undefined,
        );
      }
      default:
        return false;
    }
    if (rv) this.#resourceVersion = rv;
    return true;
  }

  /** A throwing handler must not break the watch. */
  #deliver(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error(
        { ...this.#describe, errorName: err instanceof Error ? err.name : typeof err },
        'a watch handler threw',
      );
    }
  }
}
