/**
 * The options and counters of a `ResourceWatcher`.
 * @module
 */
import type { ClientKubeConfig as KubeConfig } from './config.js';
import type { Logger } from '../types.js';
import type { BackoffOptions, Sleep } from './backoff.js';
import type { KubeClient, ResourceType } from './http.js';

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

/** Options of `ResourceWatcher`. */
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
  /** A watch silent this long (no event, no bookmark) is replaced: the API server bookmarks about every
   * minute (apiserver `cacher.go`, `defaultBookmarkFrequency`), a half-open one sends nothing. Default 90 000 ms. */
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

/** Counters of a `ResourceWatcher`. */
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
