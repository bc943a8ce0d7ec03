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
 *
 * Lists are paged (./paged-list.ts); a continue token that expired meanwhile
 * (410) restarts the list. Freshness (./sync-state.ts): the watcher tracks
 * since when it is out of sync (no open watch), so a caller can refuse to
 * answer from a cache that is too old.
 *
 * Memory: the watcher keeps only key → resourceVersion, enough to tell what
 * changed or vanished across a re-list. The objects go to the handlers.
 * @module
 */
import type { Logger } from '../types.js';
import { silentLogger } from '../logger.js';
import { type BackoffOptions, type Sleep, backgroundSleep, backoffDelay } from './backoff.js';
import { type KubeClusterError, explainKubeFailure } from './errors.js';
import { KubeClient, collectionPath } from './http.js';
import { KubeHttpError, safeReason } from './http-error.js';
import { type WatchEvent, kubeWatch } from './watch-stream.js';
import {
  DEFAULT_PAGE_SIZE,
  Expired,
  type PagedList,
  keyOf,
  listAndReconcile,
  retryAfter,
} from './paged-list.js';
import { SyncState } from './sync-state.js';
import type {
  KubeObjectLike,
  ResourceWatcherOptions,
  ResourceWatcherStats,
} from './watcher-options.js';

/** Lists restarted at once after an expired continue token, before backing off. */
const MAX_LIST_RESTARTS = 3;

const HEALTHY_WATCH_MS = 10_000;

const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialMs: 1000,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
};

/** Lists then watches one resource type, calling handlers; restarts by itself until closed. */
export class ResourceWatcher<T extends KubeObjectLike = KubeObjectLike> {
  readonly #options: ResourceWatcherOptions<T>;
  readonly #logger: Logger;
  readonly #backoff: Required<BackoffOptions>;
  readonly #sleep: Sleep;
  readonly #random: () => number;
  readonly #path: string;
  readonly #list: PagedList;
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
  readonly #sync: SyncState;
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
    this.#sync = new SyncState(options.now ?? Date.now);
    this.#list = {
      client: this.#client,
      path: this.#path,
      query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
      pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
      timeoutMs: options.listTimeoutMs ?? 60_000,
      signal: this.#abort.signal,
      sleep: this.#sleep,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      closed: () => this.#closed,
      onRetry: (err, wait, attempt) => {
        // Overloaded or failing (429/5xx): the list is not coming, as much a failure as an error.
        this.#sync.failure = explainKubeFailure(err, options.kubeConfig, options.resource);
        this.#logger.info(
          { ...this.#describe, status: err.statusCode, retryInMs: wait, attempt },
          'list page refused with Retry-After, retrying the page',
        );
      },
    };
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.#ready.catch(() => undefined); // nobody may be waiting: not an unhandled rejection
  }

  /** Starts the loop (idempotent). Returns `this`. */
  start(): this {
    if (!this.#loop && !this.#closed) {
      this.#sync.restart();
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
    return this.#sync.outOfSyncMs();
  }

  /**
   * Why this watcher has no open watch, when a failure is the reason (the
   * API server answered 5xx/403, could not be reached, no kubeconfig…), in
   * words; undefined while a watch is open, and during a routine restart (a
   * watch the server ended, 410 then a re-list that succeeds). Kept until a
   * list completes or a watch opens: the events of the outage are missed.
   */
  failure(): KubeClusterError | undefined {
    return this.#sync.failure;
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
        if (this.#resourceVersion === undefined) await this.#relist();
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
            retryAfter(err, this.#list.maxRetryAfterMs),
          );
          const status = err instanceof KubeHttpError ? err.statusCode : undefined;
          const reason = err instanceof KubeHttpError ? err.reason : 'Error';
          // In words, with the server and context: "cannot reach …: connection refused", "Kargo's CRDs are not installed".
          const failure = explainKubeFailure(err, this.#options.kubeConfig, this.#options.resource);
          this.#sync.failure = failure;
          const problem = failure.message;
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

  /** One list (./paged-list.ts), started over a few times when its continue token expires. */
  async #relist(): Promise<void> {
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
    const { onUpsert, onDelete, onResync } = this.#options;
    const listed = await listAndReconcile<T>(this.#list, {
      known: this.#known,
      onUpsert: (item) => this.#deliver(() => onUpsert(item)),
      onDelete: (ref) => this.#deliver(() => onDelete(ref)),
      onResync: onResync && ((all) => this.#deliver(() => onResync(all))),
      onPage: () => (this.#stats.pages += 1),
    });
    if (!listed) return;
    this.#resourceVersion = listed.resourceVersion;
    this.#stats.lists += 1;
    this.#sync.markInSync();
    if (!this.#stats.ready) {
      this.#stats.ready = true;
      this.#resolveReady();
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
    const lostSince = this.#sync.lostSince();
    try {
      await kubeWatch(
        this.#client,
        this.#path,
        {
          ...this.#list.query,
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(timeoutSeconds),
        },
        {
          signal: this.#abort.signal,
          timeoutMs: idleTimeoutMs,
          // The server ends the watch after timeoutSeconds; past that plus the idle bound, something is wrong.
          deadlineMs: timeoutSeconds * 1000 + idleTimeoutMs,
          onOpen: () => this.#sync.markInSync(),
          background: true,
          onEvent: (event) => {
            if (this.#onEvent(event)) progressed = true;
          },
        },
      );
    } catch (err) {
      this.#sync.markOutOfSync(progressed ? undefined : lostSince);
      if (err instanceof KubeHttpError && err.statusCode === 410) throw new Expired();
      throw err;
    }
    this.#sync.markOutOfSync();
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
