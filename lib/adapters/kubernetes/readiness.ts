/**
 * Readiness and staleness: initial lists done, caches out of sync past `maxStalenessMs`, watches down
 * and why. A lookup never answers from a cache stale that long: an empty answer would become a 200
 * for a push nobody acted on, which Azure never retries.
 * @module
 */
import type { ReceiverEvent } from '../../types.js';
import { KubernetesAdapterError } from '../../kube/errors.js';
import type { ResourceWatcher } from '../../kube/watcher.js';
import type { KubernetesAdapterConfig } from './options.js';
import type { WatchFailure } from './stats.js';
import { PLURAL, type Watches, inScope } from './watches.js';

/** The readiness of the caches `watches` feed. */
export class Readiness {
  /** Settles once every initial list completed (rejects if a watcher closed before). */
  readonly allReady: Promise<void>;
  readonly #watches: Watches;
  readonly #config: KubernetesAdapterConfig;
  readonly #closed: () => boolean;

  constructor(
    watches: Watches,
    config: KubernetesAdapterConfig,
    closed: () => boolean,
    onSynced: () => void,
  ) {
    this.#watches = watches;
    this.#config = config;
    this.#closed = closed;
    this.allReady = Promise.all(watches.all.map((w) => w.ready)).then(onSynced);
    this.allReady.catch(() => undefined);
  }

  /** Whether a watcher has been out of sync for longer than the bound. */
  #stale(w: ResourceWatcher): boolean {
    return w.outOfSyncMs() > this.#config.maxStalenessMs;
  }

  /**
   * Ready while a watch is down on a failure: lookups answer from live reads, or 503. Leaving the
   * Service would not help: ACR does not retry, so a push with no ready replica is lost for sure, while
   * a ready one answers truly whenever lists work (and the other replicas see the same API server).
   * `/readyz` says why in its body meanwhile.
   */
  isReady(): boolean {
    return this.#watches.all.every(
      (w) => w.isReady() && (w.failure() !== undefined || !this.#stale(w)),
    );
  }

  /** The watchers down on a failure, and why. */
  failing(): WatchFailure[] {
    return (['push', 'pull-request'] as const).flatMap((kind) =>
      this.#watches.needed[kind].flatMap(({ namespace, watcher }) => {
        const failure = watcher.failure();
        if (!failure) return [];
        return [
          {
            resource: PLURAL[kind],
            namespace: namespace ?? '*',
            outOfSyncMs: watcher.outOfSyncMs(),
            code: failure.code,
            reason: failure.message,
          },
        ];
      }),
    );
  }

  /** Rejects when a cache this lookup needs is too far out of sync. */
  checkFresh(kind: ReceiverEvent['type'], namespaces: readonly string[] | undefined): void {
    for (const { namespace, watcher } of inScope(this.#watches, kind, namespaces)) {
      if (!this.#stale(watcher) || watcher.failure()) continue;
      this.#config.logger.warn(
        {
          resource: PLURAL[kind],
          namespace: namespace ?? '*',
          outOfSyncMs: watcher.outOfSyncMs(),
          maxStalenessMs: this.#config.maxStalenessMs,
        },
        'refusing a lookup: the Kubernetes cache is out of sync for too long',
      );
      throw new KubernetesAdapterError('KUBE_STALE');
    }
  }

  /** Resolves once ready; rejects KUBE_NOT_SYNCED after `syncTimeoutMs`, KUBE_CLOSED once closed. */
  async whenSynced(): Promise<void> {
    if (this.#closed()) throw new KubernetesAdapterError('KUBE_CLOSED');
    if (this.isReady()) return;
    const { syncTimeoutMs, logger } = this.#config;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        // The root cause, when a list failed: no kubeconfig, unreachable, 403…
        const cause = this.#watches.all.map((w) => w.failure()).find((f) => f !== undefined);
        reject(new KubernetesAdapterError('KUBE_NOT_SYNCED', cause?.kubeStatus, { cause }));
      }, syncTimeoutMs);
    });
    try {
      await Promise.race([
        this.allReady.catch(() => Promise.reject(new KubernetesAdapterError('KUBE_CLOSED'))),
        timeout,
      ]);
    } catch (err) {
      const cause = (err as Error).cause;
      logger.warn(
        {
          code: (err as KubernetesAdapterError).code,
          syncTimeoutMs,
          problem: cause instanceof Error ? cause.message : undefined,
        },
        'lookup before the Kubernetes cache synced',
      );
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
