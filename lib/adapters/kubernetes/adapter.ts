/**
 * `kubernetesAdapter()`: Warehouses (and Promotions) from a watch-backed
 * cache, refreshed by a merge patch. A webhook costs O(matching objects): the
 * lookup reads in-memory indexes, never lists.
 *
 * A lookup never answers from a cache that has been out of sync for longer
 * than `maxStalenessMs`: an empty answer from a stale cache would become a
 * 200 for a push nobody acted on, which Azure never retries. And while a
 * watch is down because of a failure (not a routine restart), the cache is
 * not trusted at all: the lookup confirms with a live, paged list of the
 * namespaces in scope (concurrent lookups share one), or rejects 503.
 * @module
 */
import { PromotionIndex, WarehouseIndex } from '../../matching/index.js';
import type {
  ExplainPush,
  Lookup,
  PushEvent,
  PushExplanation,
  ReceiverEvent,
  Refresh,
  RefreshTarget,
} from '../../types.js';
import { silentLogger } from '../../logger.js';
import { type KubeClusterError, KubernetesAdapterError, explainKubeFailure } from './errors.js';
import { keepAliveUntilSettled } from './keep-alive.js';
import { type KubernetesAdapterOptions, resolveOptions } from './options.js';
import { KubeClient, collectionPath, kubeGet } from './kube-http.js';
import { type RefreshStats, Refresher } from './refresher.js';
import { ResourceWatcher } from './resource-watcher.js';
import { withAdapterMembers } from '../../adapter-members.js';

/** Counters for metrics and health checks. */
export interface KubernetesAdapterStats {
  /** Whether every initial list completed. */
  ready: boolean;
  /** Warehouses in the index. */
  warehouses: number;
  /** Running Promotions waiting on a pull request, in the index. */
  promotions: number;
  /** Watches started again (after errors, timeouts, closed streams, 410). */
  watchRestarts: number;
  /** Successful lists, initial ones included. */
  lists: number;
  /** Re-lists forced by 410 Gone. */
  expired: number;
  /** Failed list/watch requests. */
  watchErrors: number;
  /** List pages received. */
  listPages: number;
  /** Lists restarted because their continue token expired. */
  listRestarts: number;
  /** How long the stalest cache has been out of sync, in ms (0 while every watch is open). */
  outOfSyncMs: number;
  /** Live list requests (pages) lookups made because a watch was down on a failure. */
  liveReads: number;
  /** The watchers down on a failure, and why (empty while every watch is open or restarting routinely). */
  failing: WatchFailure[];
  /** Refresh counters. */
  refreshes: RefreshStats;
}

/** A watcher that has no open watch because of a failure. */
export interface WatchFailure {
  /** `warehouses` or `promotions`. */
  resource: string;
  /** The namespace it covers, `*` for all. */
  namespace: string;
  /** How long it has been out of sync, in ms. */
  outOfSyncMs: number;
  /** The root cause: `KUBE_UNREACHABLE`, `KUBE_FORBIDDEN`, `KUBE_NO_CONFIG`… */
  code: KubeClusterError['code'];
  /** The root cause in words, naming the API server and context. */
  reason: string;
}

/** What {@link kubernetesAdapter} returns. */
export interface KubernetesAdapter {
  /** Finds the Warehouses (push) or waiting Promotions (pull request) an event concerns. */
  lookup: Lookup;
  /** Refreshes one Warehouse or Promotion. */
  refresh: Refresh;
  /** Why a push refreshes what it refreshes, from the same cache and rules as `lookup`. */
  explainPush: ExplainPush;
  /** Stops every watch and pending retry; lookups and refreshes reject afterwards. */
  close(): Promise<void>;
  /**
   * Resolves after the initial lists (rejects if closed before). The process
   * stays alive while this is pending; otherwise the watches never keep it
   * alive by themselves.
   */
  ready(): Promise<void>;
  /**
   * Whether the initial lists completed and no cache is out of sync for
   * longer than `maxStalenessMs` (a watch down on a failure does not count:
   * lookups then confirm by live reads; `stats().failing` says which and why).
   */
  isReady(): boolean;
  /** The same caches, restricted to these namespaces (per-project receivers). `refresh` refuses targets outside. */
  scoped(namespaces: readonly string[]): {
    lookup: Lookup;
    refresh: Refresh;
    explainPush: ExplainPush;
  };
  /** Counters. */
  stats(): KubernetesAdapterStats;
}

const KARGO = { group: 'kargo.akuity.io', version: 'v1alpha1' };

/** The index a live read builds. */
type LiveIndex = WarehouseIndex | PromotionIndex;

/** A watcher and the namespace it covers (undefined: every namespace). */
interface Scoped {
  namespace: string | undefined;
  watcher: ResourceWatcher;
}

/** The Kubernetes adapter: list + watch Warehouses and Promotions, refresh with a merge patch. */
export function kubernetesAdapter(options: KubernetesAdapterOptions = {}): KubernetesAdapter {
  const config = resolveOptions(options);
  const { logger } = config;
  const warehouses = new WarehouseIndex({ logger });
  const promotions = new PromotionIndex({ logger });
  const closing = new AbortController();
  const refresher = new Refresher({
    signal: closing.signal,
    kubeConfig: config.kubeConfig,
    logger,
    now: config.now,
    retry: config.refreshRetry,
    concurrency: config.concurrency,
    requestTimeoutMs: config.requestTimeoutMs,
    sleep: config.sleep,
    random: config.random,
  });

  // One keep-alive pool for every list and watch of this adapter.
  const client = new KubeClient(config.kubeConfig);
  const watchers: ResourceWatcher[] = [];
  /** The watchers a lookup of each kind needs, with the namespace each covers (undefined: all). */
  const needed = { push: [] as Scoped[], 'pull-request': [] as Scoped[] };
  const scopes: readonly (string | undefined)[] = config.namespaces ?? [undefined];
  const common = {
    kubeConfig: config.kubeConfig,
    client,
    logger,
    backoff: config.watchBackoff,
    listTimeoutMs: config.requestTimeoutMs,
    pageSize: config.pageSize,
    watchTimeoutSeconds: config.watchTimeoutSeconds,
    watchIdleTimeoutMs: config.watchIdleTimeoutMs,
    sleep: config.watchSleep,
    random: config.random,
    now: config.clock,
  };
  for (const namespace of scopes) {
    const warehouseWatcher = new ResourceWatcher({
      ...common,
      resource: { ...KARGO, plural: 'warehouses' },
      namespace,
      // The index keeps a projection (namespace, name, compiled subscriptions), not the object.
      onUpsert: (obj) => warehouses.upsert(obj),
      onDelete: (ref) => warehouses.delete(ref.namespace ?? '', ref.name),
    });
    watchers.push(warehouseWatcher);
    needed.push.push({ namespace, watcher: warehouseWatcher });
    if (config.promotions) {
      const promotionWatcher = new ResourceWatcher({
        ...common,
        resource: { ...KARGO, plural: 'promotions' },
        namespace,
        // upsert drops a Promotion that is no longer Running or waiting on a PR.
        onUpsert: (obj) => promotions.upsert(obj),
        onDelete: (ref) => promotions.delete(ref.namespace ?? '', ref.name),
      });
      watchers.push(promotionWatcher);
      needed['pull-request'].push({ namespace, watcher: promotionWatcher });
    }
  }
  for (const watcher of watchers) watcher.start();
  let liveReads = 0;
  /** Live lists in flight, by path: concurrent lookups share one. */
  const inFlight = new Map<string, Promise<LiveIndex>>();

  let closed = false;
  const allReady = Promise.all(watchers.map((w) => w.ready)).then(() => {
    logger.info(
      {
        warehouses: warehouses.size,
        promotions: promotions.size,
        namespaces: config.namespaces ?? '*',
      },
      'Kubernetes cache synced',
    );
  });
  allReady.catch(() => undefined);

  /** Whether a watcher has been out of sync for longer than the bound. */
  const stale = (w: ResourceWatcher): boolean => w.outOfSyncMs() > config.maxStalenessMs;

  /**
   * Ready while a watch is down on a failure: lookups then answer from live
   * reads, or 503 when those fail too. Leaving the Service would not help:
   * ACR does not retry, so a push sent while no replica is ready is lost for
   * sure (the Service has no endpoint), while a ready replica can still
   * answer it truthfully whenever the API server answers lists; and the
   * other replicas usually see the same API server fail. `/readyz` says
   * why in its body meanwhile.
   */
  function isReady(): boolean {
    return watchers.every((w) => w.isReady() && (w.failure() !== undefined || !stale(w)));
  }

  function failing(): WatchFailure[] {
    return (['push', 'pull-request'] as const).flatMap((kind) =>
      needed[kind].flatMap(({ namespace, watcher }) => {
        const failure = watcher.failure();
        if (!failure) return [];
        return [
          {
            resource: kind === 'push' ? 'warehouses' : 'promotions',
            namespace: namespace ?? '*',
            outOfSyncMs: watcher.outOfSyncMs(),
            code: failure.code,
            reason: failure.message,
          },
        ];
      }),
    );
  }

  /**
   * An index of every object of `kind` in `namespace` (undefined: all),
   * listed now, page by page (each page indexed then dropped, as the
   * watchers do). Lookups that arrive while one is in flight share it.
   */
  function liveIndex(
    kind: ReceiverEvent['type'],
    namespace: string | undefined,
  ): Promise<LiveIndex> {
    const resource = { ...KARGO, plural: kind === 'push' ? 'warehouses' : 'promotions' };
    const path = collectionPath(resource, namespace);
    const running = inFlight.get(path);
    if (running) return running;
    const read = (async () => {
      const index =
        kind === 'push'
          ? new WarehouseIndex({ logger: silentLogger })
          : new PromotionIndex({ logger: silentLogger });
      let continueToken: string | undefined;
      do {
        liveReads += 1;
        const page = (await kubeGet(
          client,
          path,
          { limit: String(config.pageSize), continue: continueToken },
          { signal: closing.signal, timeoutMs: config.requestTimeoutMs },
        )) as { metadata?: { continue?: string }; items?: unknown[] };
        for (const item of Array.isArray(page.items) ? page.items : []) index.upsert(item);
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken);
      return index;
    })();
    inFlight.set(path, read);
    const forget = (): void => {
      inFlight.delete(path);
    };
    read.then(forget, forget);
    return read;
  }

  /**
   * The targets of `event` in the scopes whose watch is down on a failure,
   * from a live read; rejects `KUBE_UNAVAILABLE` (503) with the cause when
   * that read fails too.
   */
  async function liveTargets(
    event: ReceiverEvent,
    down: readonly Scoped[],
    namespaces: readonly string[] | undefined,
  ): Promise<RefreshTarget[]> {
    const lists = down.flatMap(({ namespace }): (string | undefined)[] =>
      namespace !== undefined ? [namespace] : namespaces ? [...namespaces] : [undefined],
    );
    let indexes: LiveIndex[];
    try {
      indexes = await Promise.all(lists.map((ns) => liveIndex(event.type, ns)));
    } catch (err) {
      if (closed) throw new KubernetesAdapterError('KUBE_CLOSED');
      const resource = { ...KARGO, plural: event.type === 'push' ? 'warehouses' : 'promotions' };
      const cause = explainKubeFailure(err, config.kubeConfig, resource);
      logger.warn(
        { resource: resource.plural, code: cause.code, problem: cause.message },
        'a watch is down and the live read failed too: answering 503',
      );
      throw new KubernetesAdapterError('KUBE_UNAVAILABLE', cause.kubeStatus, { cause });
    }
    const scope = namespaces ? { namespaces } : {};
    return indexes.flatMap((index) =>
      index instanceof WarehouseIndex
        ? event.type === 'push'
          ? index.match(event, scope)
          : []
        : event.type === 'pull-request'
          ? index.match(event.prURL, scope)
          : [],
    );
  }

  /** Rejects when a cache this lookup needs is too far out of sync. */
  function checkFresh(
    kind: ReceiverEvent['type'],
    namespaces: readonly string[] | undefined,
  ): void {
    for (const { namespace, watcher } of needed[kind]) {
      if (namespace !== undefined && namespaces && !namespaces.includes(namespace)) continue;
      if (!stale(watcher) || watcher.failure()) continue;
      logger.warn(
        {
          resource: kind === 'push' ? 'warehouses' : 'promotions',
          namespace: namespace ?? '*',
          outOfSyncMs: watcher.outOfSyncMs(),
          maxStalenessMs: config.maxStalenessMs,
        },
        'refusing a lookup: the Kubernetes cache is out of sync for too long',
      );
      throw new KubernetesAdapterError('KUBE_STALE');
    }
  }

  async function whenSynced(): Promise<void> {
    if (closed) throw new KubernetesAdapterError('KUBE_CLOSED');
    if (isReady()) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        // The root cause, when a list failed: no kubeconfig, unreachable, 403…
        const cause = watchers.map((w) => w.failure()).find((f) => f !== undefined);
        reject(new KubernetesAdapterError('KUBE_NOT_SYNCED', cause?.kubeStatus, { cause }));
      }, config.syncTimeoutMs);
    });
    try {
      await Promise.race([
        allReady.catch(() => Promise.reject(new KubernetesAdapterError('KUBE_CLOSED'))),
        timeout,
      ]);
    } catch (err) {
      const cause = (err as Error).cause;
      logger.warn(
        {
          code: (err as KubernetesAdapterError).code,
          syncTimeoutMs: config.syncTimeoutMs,
          problem: cause instanceof Error ? cause.message : undefined,
        },
        'lookup before the Kubernetes cache synced',
      );
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  function cached(
    event: ReceiverEvent,
    namespaces: readonly string[] | undefined,
  ): RefreshTarget[] {
    const scope = namespaces ? { namespaces } : {};
    if (event.type === 'push') return warehouses.match(event, scope);
    return promotions.match(event.prURL, scope);
  }

  function makeLookup(namespaces: readonly string[] | undefined): Lookup {
    return async function kubernetesLookup(
      event: ReceiverEvent,
      signal?: AbortSignal,
    ): Promise<RefreshTarget[]> {
      if (signal?.aborted) throw new KubernetesAdapterError('KUBE_ABORTED');
      await whenSynced();
      if (event.type === 'pull-request' && !config.promotions) return [];
      checkFresh(event.type, namespaces);
      const inScope = needed[event.type].filter(
        ({ namespace }) => namespace === undefined || !namespaces || namespaces.includes(namespace),
      );
      const down = inScope.filter(({ watcher }) => watcher.failure() !== undefined);
      if (down.length === 0) return cached(event, namespaces);
      // Not one answer from a cache that may have missed objects: the down scopes are read live.
      const up = inScope.filter(({ watcher }) => watcher.failure() === undefined);
      const live = await liveTargets(event, down, namespaces);
      // Only per-namespace watchers can be up beside a down one.
      const upNamespaces = up.flatMap(({ namespace }) =>
        namespace === undefined ? [] : [namespace],
      );
      return [...(upNamespaces.length ? cached(event, upNamespaces) : []), ...live];
    };
  }

  function makeExplain(namespaces: readonly string[] | undefined): ExplainPush {
    return async function kubernetesExplain(event: PushEvent): Promise<PushExplanation> {
      await whenSynced();
      return warehouses.explainPush(event, namespaces ? { namespaces } : {});
    };
  }

  function makeRefresh(namespaces: readonly string[] | undefined): Refresh {
    return async function kubernetesRefresh(
      target: RefreshTarget,
      signal?: AbortSignal,
    ): Promise<void> {
      if (closed) throw new KubernetesAdapterError('KUBE_CLOSED');
      const outside =
        (config.namespaces && !config.namespaces.includes(target.namespace)) ||
        (namespaces && !namespaces.includes(target.namespace));
      if (outside) {
        logger.warn(
          { kind: target.kind, namespace: target.namespace, name: target.name },
          'refusing to refresh an object outside the adapter scope',
        );
        throw new KubernetesAdapterError('KUBE_OUT_OF_SCOPE');
      }
      await refresher.refresh(target, signal);
    };
  }

  return withAdapterMembers({
    lookup: makeLookup(undefined),
    refresh: makeRefresh(undefined),
    explainPush: makeExplain(undefined),
    async close() {
      closed = true;
      closing.abort();
      // Every request has its own deadline; this bounds close() even if one were stuck.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(watchers.map((w) => w.close())),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, config.closeTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      client.destroy();
    },
    ready: () => keepAliveUntilSettled(allReady),
    isReady,
    scoped(namespaces) {
      const copy = [...namespaces];
      return {
        lookup: makeLookup(copy),
        refresh: makeRefresh(copy),
        explainPush: makeExplain(copy),
      };
    },
    stats() {
      const sum = (pick: (s: ReturnType<ResourceWatcher['stats']>) => number): number =>
        watchers.reduce((total, w) => total + pick(w.stats()), 0);
      return {
        ready: isReady(),
        warehouses: warehouses.size,
        promotions: promotions.size,
        watchRestarts: sum((s) => s.watchRestarts),
        lists: sum((s) => s.lists),
        expired: sum((s) => s.expired),
        watchErrors: sum((s) => s.errors),
        listPages: sum((s) => s.pages),
        listRestarts: sum((s) => s.listRestarts),
        outOfSyncMs: Math.max(0, ...watchers.map((w) => w.outOfSyncMs())),
        liveReads,
        failing: failing(),
        refreshes: refresher.stats(),
      };
    },
  });
}
