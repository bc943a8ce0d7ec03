/**
 * One list, page by page (`limit`/`continue`, as client-go's pager), holding one page of raw JSON
 * at a time; a page the server asks to retry (`Retry-After` on 429 / 5xx) is fetched again.
 * @module
 */
import type { Sleep } from './backoff.js';
import { type KubeClient, kubeGet } from './http.js';
import { KubeHttpError } from './http-error.js';
import type { KubeObjectLike, ObjectRef } from './watcher-options.js';

/** A resourceVersion or continue token compacted away (410 Gone). */
export class Expired extends Error {}

/** Objects per list page, as client-go's `tools/pager` (`defaultPageSize = 500`). */
export const DEFAULT_PAGE_SIZE = 500;

/** Lists restarted at once after an expired continue token, before backing off. */
const MAX_LIST_RESTARTS = 3;

/** Retries of one list page the server asked to retry (`Retry-After`), as client-go's `rest` client (`maxRetries = 10`). */
const PAGE_RETRIES = 10;

/** One page of a list, as the API server sends it. */
interface ListPage<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** What a paged list needs. */
export interface PagedList {
  client: KubeClient;
  path: string;
  query: Record<string, string | undefined>;
  pageSize: number;
  timeoutMs: number;
  signal: AbortSignal;
  sleep: Sleep;
  maxRetryAfterMs: number;
  closed: () => boolean;
  /** A page was refused with `Retry-After`; it is fetched again after `wait` ms. */
  onRetry: (err: KubeHttpError, wait: number, attempt: number) => void;
}

/** The wait a `Retry-After` asks for (capped), or 0. */
export function retryAfter(err: unknown, maxMs: number): number {
  const asked = err instanceof KubeHttpError ? err.retryAfterMs : undefined;
  return asked === undefined ? 0 : Math.min(asked, maxMs);
}

/** Where a list's objects go. */
export interface ListTarget<T> {
  known: Map<string, string>;
  onUpsert: (item: T) => void;
  onDelete: (ref: ObjectRef, object?: T) => void;
  onResync: ((objects: readonly T[]) => void) | undefined;
  onPage: () => void;
  /** The list starts over: its continue token expired. */
  onRestart: () => void;
}

export function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/**
 * One list reconciled against `known` (key → resourceVersion, updated in place): changes go to
 * `onUpsert`, vanished objects to `onDelete`, then the whole list to `onResync`. Resolves with the
 * snapshot's resourceVersion, undefined when closed first; throws {@link Expired} on an expired continue
 * token. No `resourceVersion` (a consistent etcd read), not `resourceVersion=0` as client-go's first
 * list: the watch cache serves `0` whole, ignoring `limit` (apiserver `storage/cacher`; paging from the
 * cache came with KEP-4988 in 1.33), so 100 000 Warehouses would be one huge response; and a lagging
 * cache may be older than what an earlier process acted on. Client-go's reflector does the same after
 * a 410 (`relistResourceVersion` returns "").
 */
export async function listAndReconcile<T extends KubeObjectLike>(
  list: PagedList,
  target: ListTarget<T>,
): Promise<{ resourceVersion: string | undefined } | undefined> {
  for (let restarts = 0; ; restarts++) {
    try {
      return await listOnce(list, target);
    } catch (err) {
      // Past a few restarts in a row, the run loop's backoff takes over (no hot loop).
      if (!(err instanceof Expired) || list.closed() || restarts >= MAX_LIST_RESTARTS) throw err;
      // The continue token outlived etcd's compaction (410 Expired): start the list over.
      target.onRestart();
    }
  }
}

async function listOnce<T extends KubeObjectLike>(
  list: PagedList,
  target: ListTarget<T>,
): Promise<{ resourceVersion: string | undefined } | undefined> {
  const { known } = target;
  const seen = new Set<string>();
  const all: T[] | undefined = target.onResync ? [] : undefined;
  let continueToken: string | undefined;
  let resourceVersion: string | undefined;
  do {
    const page = await listPage<T>(list, continueToken);
    if (list.closed()) return undefined;
    target.onPage();
    for (const item of Array.isArray(page.items) ? page.items : []) {
      const name = item.metadata?.name;
      if (!name) continue;
      const key = keyOf(item.metadata?.namespace, name);
      seen.add(key);
      all?.push(item);
      const rv = item.metadata?.resourceVersion ?? '';
      if (known.get(key) === rv) continue;
      known.set(key, rv);
      target.onUpsert(item);
    }
    // Every page carries the list's resourceVersion; the first one is the snapshot's.
    resourceVersion ??= page.metadata?.resourceVersion;
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
  // Deleted while we were not watching: the list no longer has them.
  for (const key of [...known.keys()]) {
    if (seen.has(key)) continue;
    known.delete(key);
    const slash = key.indexOf('/');
    target.onDelete({
      namespace: slash > 0 ? key.slice(0, slash) : undefined,
      name: key.slice(slash + 1),
    });
  }
  if (all) target.onResync?.(all);
  return { resourceVersion };
}

/** One page; retries the same page when the server asks to (`Retry-After` on 429 / 5xx). */
async function listPage<T>(
  list: PagedList,
  continueToken: string | undefined,
): Promise<ListPage<T>> {
  const { signal } = list;
  const query = { ...list.query, limit: String(list.pageSize), continue: continueToken };
  for (let attempt = 1; ; attempt++) {
    try {
      return (await kubeGet(list.client, list.path, query, {
        signal,
        timeoutMs: list.timeoutMs,
        background: true,
      })) as ListPage<T>;
    } catch (err) {
      if (err instanceof KubeHttpError && err.statusCode === 410 && continueToken)
        throw new Expired();
      const wait = retryAfter(err, list.maxRetryAfterMs);
      if (!(err instanceof KubeHttpError) || err.retryAfterMs === undefined) throw err;
      if (attempt >= PAGE_RETRIES || list.closed()) throw err;
      list.onRetry(err, wait, attempt);
      await list.sleep(wait, signal);
      if (list.closed()) throw err;
    }
  }
}
