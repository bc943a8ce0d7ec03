/**
 * The former Secret design, kept behind the internal option
 * `secretMode: 'per-secret'` for `npm run bench` to compare against: one
 * list + watch per referenced Secret with `fieldSelector=metadata.name=<name>`,
 * each on its own connection pool. Same surface as SecretFeed.
 * @module
 */
import { ResourceWatcher } from '../kube/watcher.js';
import { SECRETS, type SecretObject } from './resources.js';
import { type SecretFeedOptions, splitKey } from './secret-feed.js';

interface SecretWatch {
  watcher: ResourceWatcher<SecretObject>;
  /** Resolves after the first list, or the first failure (then its receivers are `secret-unreadable`). */
  settled: Promise<void>;
  settle: () => void;
  /** Whether a list delivered the Secret (a list still in flight will serve new receivers too). */
  listed: boolean;
}

/** One watch per referenced Secret. */
export class PerSecretWatches {
  readonly #options: Omit<SecretFeedOptions, 'client' | 'namespaces'>;
  readonly #watches = new Map<string, SecretWatch>();
  readonly #closing = new Set<Promise<void>>();
  #closed = false;

  constructor(options: Omit<SecretFeedOptions, 'client' | 'namespaces'>) {
    this.#options = options;
  }

  /** Each watch starts as soon as a receiver references its Secret. */
  start(): this {
    return this;
  }

  /** Resolves once every watch listed (or failed once); a watch replaced meanwhile is waited for too. */
  async settled(): Promise<void> {
    for (;;) {
      const watches = [...this.#watches.values()];
      await Promise.all(watches.map((w) => w.settled));
      if (this.#closed || [...this.#watches.values()].every((w) => watches.includes(w))) return;
    }
  }

  /** Starts a watch for each newly referenced Secret, stops those no longer referenced; `reread`: list again if listed. */
  setWanted(keys: ReadonlySet<string>, reread: ReadonlySet<string>): void {
    if (this.#closed) return;
    for (const [key, watch] of this.#watches) {
      // A new receiver of a Secret already listed: its bytes are gone, so list that Secret again.
      if (keys.has(key) && !(reread.has(key) && watch.listed)) continue;
      this.#watches.delete(key);
      watch.settle(); // nobody waits for a watch that is gone
      const closing = watch.watcher.close().finally(() => this.#closing.delete(closing));
      this.#closing.add(closing);
    }
    for (const key of keys) if (!this.#watches.has(key)) this.#watch(key);
  }

  watchers(): ResourceWatcher<SecretObject>[] {
    return [...this.#watches.values()].map((w) => w.watcher);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const watchers = this.watchers();
    this.#watches.clear();
    await Promise.all([...watchers.map((w) => w.close()), ...this.#closing]);
  }

  #watch(key: string): void {
    const { namespace, name } = splitKey(key);
    const { onSecret, onUnreadable } = this.#options;
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const current = (): boolean => this.#watches.get(key)?.watcher === watcher;
    const watcher: ResourceWatcher<SecretObject> = new ResourceWatcher<SecretObject>({
      kubeConfig: this.#options.kubeConfig,
      logger: this.#options.logger,
      ...this.#options.watch,
      listTimeoutMs: this.#options.requestTimeoutMs,
      resource: SECRETS,
      namespace,
      fieldSelector: `metadata.name=${name}`,
      onUpsert: (object) => {
        if (current() && object.metadata?.name === name) onSecret(key, object, true);
      },
      onDelete: (ref) => {
        if (current() && ref.name === name) onSecret(key, undefined, true);
      },
      onResync: (objects) => {
        if (!current()) return;
        entry.listed = true;
        if (!objects.some((o) => o.metadata?.name === name)) onSecret(key, undefined, true);
        settle();
      },
      onError: (err) => {
        if (!current()) return;
        onUnreadable(key, err);
        settle();
      },
    });
    const entry: SecretWatch = { watcher, settled, settle, listed: false };
    this.#watches.set(key, entry);
    watcher.start();
  }
}
