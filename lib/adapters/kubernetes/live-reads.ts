/**
 * Live reads: a watch down on a failure may have missed objects, so a lookup confirms with a shared,
 * live, paged list of the namespaces in scope, or rejects 503.
 * @module
 */
import { PromotionIndex, WarehouseIndex } from '../../matching/index.js';
import type { ReceiverEvent, RefreshTarget } from '../../types.js';
import { silentLogger } from '../../logger.js';
import { KubernetesAdapterError, explainKubeFailure } from '../../kube/errors.js';
import { type KubeClient, collectionPath, kubeGet } from '../../kube/http.js';
import type { KubernetesAdapterConfig } from './options.js';
import { KARGO, PLURAL, type Scoped } from './watches.js';

/** The index a live read builds. */
type LiveIndex = WarehouseIndex | PromotionIndex;

/** Live lists of Warehouses or Promotions, shared by the lookups that arrive while one is in flight. */
export class LiveReads {
  /** Live list requests (pages) made. */
  count = 0;
  readonly #inFlight = new Map<string, Promise<LiveIndex>>();
  readonly #config: KubernetesAdapterConfig;
  readonly #client: KubeClient;
  readonly #signal: AbortSignal;

  constructor(config: KubernetesAdapterConfig, client: KubeClient, signal: AbortSignal) {
    this.#config = config;
    this.#client = client;
    this.#signal = signal;
  }

  /** The targets of `event` in the scopes whose watch is down, read live; rejects `KUBE_UNAVAILABLE`
   * (503) with the cause when that read fails too (`KUBE_CLOSED` once `closed()`). */
  async targets(
    event: ReceiverEvent,
    down: readonly Scoped[],
    namespaces: readonly string[] | undefined,
    closed: () => boolean,
  ): Promise<RefreshTarget[]> {
    const lists = down.flatMap(({ namespace }): (string | undefined)[] =>
      namespace !== undefined ? [namespace] : namespaces ? [...namespaces] : [undefined],
    );
    let indexes: LiveIndex[];
    try {
      indexes = await Promise.all(lists.map((ns) => this.#index(event.type, ns)));
    } catch (err) {
      if (closed()) throw new KubernetesAdapterError('KUBE_CLOSED');
      const resource = { ...KARGO, plural: PLURAL[event.type] };
      const cause = explainKubeFailure(err, this.#config.kubeConfig, resource);
      this.#config.logger.warn(
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

  /** An index of every `kind` in `namespace` (undefined: all), listed now page by page (each page
   * indexed then dropped); lookups arriving while one is in flight share it. */
  #index(kind: ReceiverEvent['type'], namespace: string | undefined): Promise<LiveIndex> {
    const path = collectionPath({ ...KARGO, plural: PLURAL[kind] }, namespace);
    const running = this.#inFlight.get(path);
    if (running) return running;
    const read = (async () => {
      const index =
        kind === 'push'
          ? new WarehouseIndex({ logger: silentLogger })
          : new PromotionIndex({ logger: silentLogger });
      let continueToken: string | undefined;
      do {
        this.count += 1;
        const page = (await kubeGet(
          this.#client,
          path,
          { limit: String(this.#config.pageSize), continue: continueToken },
          { signal: this.#signal, timeoutMs: this.#config.requestTimeoutMs },
        )) as { metadata?: { continue?: string }; items?: unknown[] };
        for (const item of Array.isArray(page.items) ? page.items : []) index.upsert(item);
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken);
      return index;
    })();
    this.#inFlight.set(path, read);
    const forget = (): void => {
      this.#inFlight.delete(path);
    };
    read.then(forget, forget);
    return read;
  }
}
