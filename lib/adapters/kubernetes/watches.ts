/**
 * The watchers feeding the indexes: one per kind and namespace in scope (or all), sharing a pool.
 * @module
 */
import type { PromotionIndex, WarehouseIndex } from '../../matching/index.js';
import type { ReceiverEvent } from '../../types.js';
import type { KubeClient } from '../../kube/http.js';
import { ResourceWatcher } from '../../kube/watcher.js';
import type { KubernetesAdapterConfig } from './options.js';

export const KARGO = { group: 'kargo.akuity.io', version: 'v1alpha1' };

/** The resource a lookup of each kind reads. */
export const PLURAL = { push: 'warehouses', 'pull-request': 'promotions' } as const;

/** A watcher and the namespace it covers (undefined: every namespace). */
export interface Scoped {
  namespace: string | undefined;
  watcher: ResourceWatcher;
}

/** Every watcher, and those a lookup of each kind needs. */
export interface Watches {
  all: ResourceWatcher[];
  needed: Record<ReceiverEvent['type'], Scoped[]>;
}

/** Starts the watchers that keep `warehouses` (and `promotions`, when enabled) in sync. */
export function startWatches(
  config: KubernetesAdapterConfig,
  client: KubeClient,
  warehouses: WarehouseIndex,
  promotions: PromotionIndex,
): Watches {
  const common = {
    kubeConfig: config.kubeConfig,
    client,
    logger: config.logger,
    backoff: config.watchBackoff,
    listTimeoutMs: config.requestTimeoutMs,
    pageSize: config.pageSize,
    watchTimeoutSeconds: config.watchTimeoutSeconds,
    watchIdleTimeoutMs: config.watchIdleTimeoutMs,
    sleep: config.watchSleep,
    random: config.random,
    now: config.clock,
  };
  const watches: Watches = { all: [], needed: { push: [], 'pull-request': [] } };
  const add = (
    kind: ReceiverEvent['type'],
    namespace: string | undefined,
    index: WarehouseIndex | PromotionIndex,
  ): void => {
    const watcher = new ResourceWatcher({
      ...common,
      resource: { ...KARGO, plural: PLURAL[kind] },
      namespace,
      // The index keeps a projection, not the object; a Promotion no longer Running or waiting on a PR is dropped.
      onUpsert: (obj) => index.upsert(obj),
      onDelete: (ref) => index.delete(ref.namespace ?? '', ref.name),
    });
    watches.all.push(watcher);
    watches.needed[kind].push({ namespace, watcher });
  };
  for (const namespace of config.namespaces ?? [undefined]) {
    add('push', namespace, warehouses);
    if (config.promotions) add('pull-request', namespace, promotions);
  }
  for (const watcher of watches.all) watcher.start();
  return watches;
}

/** The scopes of `kind` a lookup restricted to `namespaces` (undefined: all) reads. */
export function inScope(
  watches: Watches,
  kind: ReceiverEvent['type'],
  namespaces: readonly string[] | undefined,
): Scoped[] {
  return watches.needed[kind].filter(
    ({ namespace }) => namespace === undefined || !namespaces || namespaces.includes(namespace),
  );
}
