// Stays whole (~300 lines): one loop and the state its steps share; the list, events, stream and freshness live apart.
/**
 * A list-then-watch loop for one resource type in one namespace (or all, or cluster-scoped),
 * following https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes:
 * on `410 Gone` list again and reconcile; on other errors, timeouts or closed streams, watch
 * again from the last resourceVersion after a jittered backoff, because client-node 1.x's informer
 * does not restart after an error (kubernetes-client/javascript#2385). Keeps only key → resourceVersion.
 * @module
 */
import type { Logger } from '../types.js';
import { silentLogger } from '../logger.js';
import {
  type BackoffOptions,
  type Sleep,
  WATCH_BACKOFF,
  backgroundSleep,
  backoffDelay,
} from './backoff.js';
import { type KubeClusterError, explainKubeFailure } from './errors.js';
import { KubeClient, collectionPath } from './http.js';
import { KubeHttpError } from './http-error.js';
import { kubeWatch } from './watch-stream.js';
import { applyWatchEvent } from './watch-events.js';
import {
  DEFAULT_PAGE_SIZE,
  Expired,
  type PagedList,
  type ListTarget,
  listAndReconcile,
  retryAfter,
} from './paged-list.js';
import { SyncState } from './sync-state.js';
import type {
  KubeObjectLike,
  ResourceWatcherOptions,
  ResourceWatcherStats,
} from './watcher-options.js';

const HEALTHY_WATCH_MS = 10_000;

/** Lists then watches one resource type, calling handlers; restarts by itself until closed. */
export class ResourceWatcher<T extends KubeObjectLike = KubeObjectLike> {
  readonly #options: ResourceWatcherOptions<T>;
  readonly #logger: Logger;
  readonly #backoff: Required<BackoffOptions>;
  readonly #sleep: Sleep;
  readonly #random: () => number;
  readonly #list: PagedList;
  readonly #abort = new AbortController();
  /** Where listed and watched objects go; `known`: key → resourceVersion of every known object. */
  readonly #target: ListTarget<T>;
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
    this.#backoff = { ...WATCH_BACKOFF, ...options.backoff };
    this.#sleep = options.sleep ?? backgroundSleep;
    this.#random = options.random ?? Math.random;
    this.#ownClient = options.client === undefined;
    this.#sync = new SyncState(options.now ?? Date.now);
    this.#list = {
      client: options.client ?? new KubeClient(options.kubeConfig),
      path: collectionPath(options.resource, options.namespace),
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
    const { onUpsert, onDelete, onResync } = options;
    this.#target = {
      known: new Map(),
      onUpsert: (item) => this.#deliver(() => onUpsert(item)),
      onDelete: (ref, object) => this.#deliver(() => onDelete(ref, object)),
      onResync: onResync && ((all) => this.#deliver(() => onResync(all))),
      onPage: () => (this.#stats.pages += 1),
      onRestart: () => {
        this.#stats.listRestarts += 1;
        this.#logger.info({ ...this.#describe }, 'list continue token expired, listing again');
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
    return { ...this.#stats, objects: this.#target.known.size, outOfSyncMs: this.outOfSyncMs() };
  }

  /** Milliseconds out of sync: 0 while a watch is open (or just after a list), else since the last watch ended or `start()`. */
  outOfSyncMs(): number {
    return this.#sync.outOfSyncMs();
  }

  /** Why there is no open watch when a failure is the reason (5xx/403, unreachable, no kubeconfig…),
   * in words; undefined while a watch is open or in a routine restart. Kept until a list or watch succeeds. */
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
    if (this.#ownClient) this.#list.client.destroy();
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
          const failure = explainKubeFailure(err, this.#options.kubeConfig, this.#options.resource);
          this.#sync.failure = failure;
          this.#logger.warn(
            {
              ...this.#describe,
              status,
              reason,
              problem: failure.message,
              attempt: failures,
              retryInMs: delay,
            },
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

  async #relist(): Promise<void> {
    const listed = await listAndReconcile<T>(this.#list, this.#target);
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
        this.#list.client,
        this.#list.path,
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
            const applied = this.#closed ? undefined : applyWatchEvent(event, this.#target);
            if (!applied) return;
            progressed = true;
            if (applied.resourceVersion) this.#resourceVersion = applied.resourceVersion;
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
