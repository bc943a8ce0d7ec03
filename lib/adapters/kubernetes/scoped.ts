/**
 * The adapter's lookup, explanation and refresh, maybe restricted to namespaces (`scoped()`). A lookup
 * answers from the indexes, but reads live the scopes whose watch is down on a failure.
 * @module
 */
import type { PromotionIndex, WarehouseIndex } from '../../matching/index.js';
import type { ExplainPush, Lookup, Refresh } from '../../types.js';
import { KubernetesAdapterError } from '../../kube/errors.js';
import type { LiveReads } from './live-reads.js';
import type { KubernetesAdapterConfig } from './options.js';
import type { Readiness } from './readiness.js';
import type { Refresher } from './refresher.js';
import { type Watches, inScope } from './watches.js';

/** The parts of one adapter its members use. */
export interface Parts {
  config: KubernetesAdapterConfig;
  warehouses: WarehouseIndex;
  promotions: PromotionIndex;
  watches: Watches;
  readiness: Readiness;
  liveReads: LiveReads;
  refresher: Refresher;
  isClosed: () => boolean;
}

/** `lookup`, `refresh` and `explainPush` over `namespaces` (undefined: every namespace of the adapter). */
export function scopedMembers(
  parts: Parts,
  namespaces: readonly string[] | undefined,
): { lookup: Lookup; refresh: Refresh; explainPush: ExplainPush } {
  return {
    lookup: makeLookup(parts, namespaces),
    refresh: makeRefresh(parts, namespaces),
    explainPush: async function kubernetesExplain(event) {
      await parts.readiness.whenSynced();
      return parts.warehouses.explainPush(event, namespaces ? { namespaces } : {});
    },
  };
}

function makeLookup(parts: Parts, namespaces: readonly string[] | undefined): Lookup {
  const { config, readiness, warehouses, promotions } = parts;
  const scope = (only: readonly string[] | undefined) => (only ? { namespaces: only } : {});
  return async function kubernetesLookup(event, signal) {
    if (signal?.aborted) throw new KubernetesAdapterError('KUBE_ABORTED');
    await readiness.whenSynced();
    if (event.type === 'pull-request' && !config.promotions) return [];
    readiness.checkFresh(event.type, namespaces);
    const cached = (only: readonly string[] | undefined) =>
      event.type === 'push'
        ? warehouses.match(event, scope(only))
        : promotions.match(event.prURL, scope(only));
    const scopes = inScope(parts.watches, event.type, namespaces);
    const down = scopes.filter(({ watcher }) => watcher.failure() !== undefined);
    if (down.length === 0) return cached(namespaces);
    // Not one answer from a cache that may have missed objects: the down scopes are read live.
    const live = await parts.liveReads.targets(event, down, namespaces, parts.isClosed);
    // Only per-namespace watchers can be up beside a down one.
    const upNamespaces = scopes.flatMap(({ namespace, watcher }) =>
      namespace === undefined || watcher.failure() !== undefined ? [] : [namespace],
    );
    return [...(upNamespaces.length ? cached(upNamespaces) : []), ...live];
  };
}

function makeRefresh(parts: Parts, namespaces: readonly string[] | undefined): Refresh {
  const { config } = parts;
  return async function kubernetesRefresh(target, signal) {
    if (parts.isClosed()) throw new KubernetesAdapterError('KUBE_CLOSED');
    const outside =
      (config.namespaces && !config.namespaces.includes(target.namespace)) ||
      (namespaces && !namespaces.includes(target.namespace));
    if (outside) {
      config.logger.warn(
        { kind: target.kind, namespace: target.namespace, name: target.name },
        'refusing to refresh an object outside the adapter scope',
      );
      throw new KubernetesAdapterError('KUBE_OUT_OF_SCOPE');
    }
    await parts.refresher.refresh(target, signal);
  };
}
