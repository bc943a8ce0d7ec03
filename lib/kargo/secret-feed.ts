/**
 * Delivers the Secrets receivers reference, with watches that do not grow with the number of projects:
 * - one watch per scope (cluster, or each namespace) of Secrets labelled `kargo.akuity.io/cred-type=generic`, as
 *   Kargo's docs label receiver Secrets (akuity/kargo `docs/docs/50-user-guide/60-reference-docs/80-webhook-receivers/azure/index.md`);
 *   the API server filters by label, and rotations or deletions arrive at once;
 * - others (unlabelled, missing, or the watch refused) are read by name (`fieldSelector=metadata.name=<name>`, verb `list`)
 *   when first referenced and every {@link DEFAULT_POLL_MS} ms. Kargo requires no label (it reads by name,
 *   pkg/webhook/external/receiver.go `NewReceiver`), so unlabelled Secrets work, with slower rotation.
 * Secret data is never kept: each object goes to `onSecret` and is dropped; only labelled keys are remembered.
 * @module
 */
import pLimit from 'p-limit';
import type { ClientKubeConfig as KubeConfig } from '../kube/config.js';
import { KubeClient, collectionPath, kubeGet } from '../kube/http.js';
import { ResourceWatcher } from '../kube/watcher.js';
import type { ResourceWatcherOptions } from '../kube/watcher-options.js';
import type { Logger } from '../types.js';
import { SECRETS, type SecretObject } from './resources.js';

/** Kargo's credential-type label and the value its docs give webhook receiver Secrets. */
export const CRED_TYPE_LABEL = 'kargo.akuity.io/cred-type';
export const CRED_TYPE_GENERIC = 'generic';
/** The server-side label selector of the Secret watch. */
export const SECRET_LABEL_SELECTOR = `${CRED_TYPE_LABEL}=${CRED_TYPE_GENERIC}`;

/** How often a Secret that is not delivered by the labelled watch is read again by name. */
export const DEFAULT_POLL_MS = 30_000;

/** By-name reads in flight at once (start-up with many unlabelled Secrets). */
const READ_CONCURRENCY = 8;

/** Options of {@link SecretFeed}. */
export interface SecretFeedOptions {
  kubeConfig: KubeConfig;
  /** The connection pool shared with the other watchers of the router. */
  client: KubeClient;
  /** Namespaces to watch, each on its own; undefined: one cluster-wide watch. */
  namespaces: readonly string[] | undefined;
  logger: Logger;
  /** Timeout of a by-name read. */
  requestTimeoutMs: number;
  /** Interval of by-name re-reads. Default {@link DEFAULT_POLL_MS}. */
  pollMs?: number;
  /** Watch tuning (tests). */
  watch?: Pick<ResourceWatcherOptions, 'backoff' | 'sleep' | 'random' | 'watchTimeoutSeconds'>;
  /** A referenced Secret as it is now (undefined: it does not exist); `labelled`: delivered by the watch. */
  onSecret: (key: string, secret: SecretObject | undefined, labelled: boolean) => void;
  /** A referenced Secret could not be read. */
  onUnreadable: (key: string, error: Error) => void;
}

/** `namespace/name`. */
export function secretKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

function isLabelled(secret: SecretObject | undefined): boolean {
  return secret?.metadata?.labels?.[CRED_TYPE_LABEL] === CRED_TYPE_GENERIC;
}

/** The labelled Secret watches plus by-name reads for the rest. */
export class SecretFeed {
  readonly #options: SecretFeedOptions;
  readonly #watchers = new Map<string, ResourceWatcher<SecretObject>>();
  /** Keys of the labelled Secrets the watches hold now (names only, never data). */
  readonly #labelled = new Set<string>();
  /** Keys receivers reference. */
  #wanted = new Set<string>();
  readonly #reads = new Set<Promise<void>>();
  readonly #limit = pLimit(READ_CONCURRENCY);
  readonly #abort = new AbortController();
  readonly #settled: Promise<void>;
  #watchesSettled = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SecretFeedOptions) {
    this.#options = options;
    const settles: Promise<void>[] = [];
    for (const namespace of options.namespaces ?? ['']) {
      let settle!: () => void;
      settles.push(new Promise<void>((resolve) => (settle = resolve)));
      const watcher = new ResourceWatcher<SecretObject>({
        kubeConfig: options.kubeConfig,
        client: options.client,
        logger: options.logger,
        ...options.watch,
        listTimeoutMs: options.requestTimeoutMs,
        resource: SECRETS,
        ...(namespace ? { namespace } : {}),
        labelSelector: SECRET_LABEL_SELECTOR,
        onUpsert: (secret) => this.#onLabelled(secret),
        onDelete: (ref) => this.#onGone(secretKey(ref.namespace ?? '', ref.name)),
        // Settled by the first list (not onResync: that would hold every labelled Secret at once).
        onError: () => settle(),
      });
      watcher.ready.then(settle, settle);
      this.#watchers.set(namespace, watcher);
    }
    this.#settled = Promise.all(settles).then(() => {
      this.#watchesSettled = true;
      // Referenced Secrets the watches did not deliver: read each by name once now.
      for (const key of this.#wanted) if (this.#needsRead(key)) this.#read(key);
    });
  }

  /** Starts the watches and the periodic re-reads. */
  start(): this {
    for (const w of this.#watchers.values()) w.start();
    const every = this.#options.pollMs ?? DEFAULT_POLL_MS;
    this.#timer = setInterval(() => this.#poll(), every);
    this.#timer.unref();
    return this;
  }

  /** Resolves once every watch listed (or failed once) and reads so far are done, callbacks called for every wanted key. */
  async settled(): Promise<void> {
    await this.#settled;
    while (this.#reads.size > 0) await Promise.all([...this.#reads]);
  }

  /** The referenced keys; `reread`: wanted keys whose data must be delivered again (a new receiver). */
  setWanted(keys: ReadonlySet<string>, reread: ReadonlySet<string>): void {
    const before = this.#wanted;
    this.#wanted = new Set(keys);
    if (!this.#watchesSettled || this.#closed) return;
    // Data is never kept: a new reference to a Secret seen before is one read of one object.
    for (const key of keys) if (!before.has(key) || reread.has(key)) this.#read(key);
  }

  /** The open watches (for stats). */
  watchers(): ResourceWatcher<SecretObject>[] {
    return [...this.#watchers.values()];
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    if (this.#timer) clearInterval(this.#timer);
    await Promise.all([...[...this.#watchers.values()].map((w) => w.close()), ...this.#reads]);
  }

  #watcherOf(key: string): ResourceWatcher<SecretObject> | undefined {
    return this.#watchers.get('') ?? this.#watchers.get(splitKey(key).namespace);
  }

  /** Read by name when the labelled watch does not (or cannot now) deliver it. */
  #needsRead(key: string): boolean {
    const watcher = this.#watcherOf(key);
    return !this.#labelled.has(key) || !watcher?.isReady() || watcher.outOfSyncMs() > 0;
  }

  #onLabelled(secret: SecretObject): void {
    const key = secretKey(secret.metadata?.namespace ?? '', secret.metadata?.name ?? '');
    this.#labelled.add(key);
    if (this.#wanted.has(key)) this.#options.onSecret(key, secret, true);
  }

  /** Deleted, or its label removed (the API server then sends DELETED too): which one, a read says. */
  #onGone(key: string): void {
    this.#labelled.delete(key);
    if (this.#wanted.has(key) && !this.#closed) this.#read(key);
  }

  #poll(): void {
    if (this.#closed || !this.#watchesSettled) return;
    for (const key of this.#wanted) if (this.#needsRead(key)) this.#read(key);
  }

  #read(key: string): void {
    const { namespace, name } = splitKey(key);
    const read = this.#limit(async () => {
      if (this.#closed || !this.#wanted.has(key)) return;
      try {
        const list = (await kubeGet(
          this.#options.client,
          collectionPath(SECRETS, namespace),
          { fieldSelector: `metadata.name=${name}` },
          {
            signal: this.#abort.signal,
            timeoutMs: this.#options.requestTimeoutMs,
            background: true,
          },
        )) as { items?: SecretObject[] };
        if (this.#closed || !this.#wanted.has(key)) return;
        const secret = (list.items ?? []).find((s) => s.metadata?.name === name);
        this.#options.onSecret(key, secret, isLabelled(secret));
      } catch (err) {
        if (this.#closed) return;
        this.#options.onUnreadable(key, err instanceof Error ? err : new Error(String(err)));
      }
    });
    const tracked = read.finally(() => this.#reads.delete(tracked));
    this.#reads.add(tracked);
  }
}
