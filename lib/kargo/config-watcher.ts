/**
 * Watches ProjectConfigs, the ClusterConfig and their Secrets, and turns them into the Azure receivers to serve, each
 * with its Kargo token (and, during a rotation, the previous one) or why it cannot be served. Secrets come from
 * secret-feed.ts or, for `npm run bench`, per-secret-watches.ts (`secretMode: 'per-secret'`). Secret data is never
 * kept: tokens are derived on arrival and the bytes dropped (second-factor keys only as SHA-256 digests).
 * @module
 */
import type { ClientKubeConfig as KubeConfig } from '../kube/config.js';
import { KubeClient } from '../kube/http.js';
import { ResourceWatcher } from '../kube/watcher.js';
import type { Logger } from '../types.js';
import {
  CLUSTER_CONFIGS,
  CLUSTER_CONFIG_NAME,
  PROJECT_CONFIGS,
  type AzureReceiverSpec,
  type KargoConfigObject,
  type SecretObject,
  declaredReceivers,
  projectConfigProblem,
} from './resources.js';
import { ConfigLog } from './config-log.js';
import { PerSecretWatches } from './per-secret-watches.js';
import {
  type ConfigSnapshot,
  type ProjectConfigState,
  details,
  receiverKey,
  receiverStates,
} from './receiver-states.js';
import { type Derived, logRotation, secretTokens } from './receiver-tokens.js';
import { DEFAULT_POLL_MS, SecretFeed, type SecretFeedOptions, secretKey } from './secret-feed.js';

/** Options of {@link ConfigWatcher}. */
export interface ConfigWatcherOptions {
  kubeConfig: KubeConfig;
  /** Namespace of the Secrets of ClusterConfig receivers. */
  systemNamespace: string;
  /** Watch ProjectConfigs only here, and Secrets only here and in `systemNamespace`; undefined: all namespaces. */
  namespaces: readonly string[] | undefined;
  logger: Logger;
  /** Called (coalesced, in a microtask) after changes. */
  onChange: (snapshot: ConfigSnapshot) => void;
  /** Timeout of a Secret list. */
  requestTimeoutMs: number;
  /** Internal (bench): `'per-secret'` is the former design (per-secret-watches.ts). Default `'labelled'`. */
  secretMode?: 'labelled' | 'per-secret';
  /** Interval of the by-name re-reads of Secrets the labelled watch does not deliver (tests). Default 30 000 ms. */
  secretPollMs?: number;
  /** Watch tuning, passed to every ResourceWatcher (tests). */
  watch?: SecretFeedOptions['watch'];
}

interface ConfigEntry {
  specs: AzureReceiverSpec[];
  projectConfig?: ProjectConfigState;
}

function secretKeyOf(spec: AzureReceiverSpec): string {
  return secretKey(spec.secretNamespace, spec.secretName);
}

/** The watches behind `kargoReceivers`. */
export class ConfigWatcher {
  readonly #options: ConfigWatcherOptions;
  readonly #logger: Logger;
  readonly #configs = new Map<string, ConfigEntry>();
  readonly #derived = new Map<string, Derived>();
  readonly #log: ConfigLog;
  readonly #configWatchers: ResourceWatcher[] = [];
  /** One connection pool for every watch and read of this watcher. */
  readonly #client: KubeClient;
  /** The labelled Secret watches (default mode), or one watch per referenced Secret. */
  readonly #secrets: SecretFeed | PerSecretWatches;
  readonly #ready: Promise<void>;
  #secretsSynced = false;
  #scheduled = false;
  #closed = false;

  constructor(options: ConfigWatcherOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#log = new ConfigLog(options.logger, options.secretPollMs ?? DEFAULT_POLL_MS);
    this.#client = new KubeClient(options.kubeConfig);
    this.#secrets = this.#secretSource();
    const common = {
      kubeConfig: options.kubeConfig,
      client: this.#client,
      logger: options.logger,
      ...options.watch,
    };
    for (const namespace of options.namespaces ?? [undefined]) {
      this.#configWatchers.push(
        new ResourceWatcher<KargoConfigObject>({
          ...common,
          resource: PROJECT_CONFIGS,
          ...(namespace ? { namespace } : {}),
          onUpsert: (object) => this.#onProjectConfig(object),
          onDelete: (ref) => this.#setConfig(`pc:${ref.namespace ?? ''}/${ref.name}`, undefined),
        }),
      );
    }
    this.#configWatchers.push(
      new ResourceWatcher<KargoConfigObject>({
        ...common,
        resource: CLUSTER_CONFIGS,
        fieldSelector: `metadata.name=${CLUSTER_CONFIG_NAME}`,
        onUpsert: (object) => this.#onClusterConfig(object),
        onDelete: () => this.#setConfig('cc', undefined),
      }),
    );
    for (const w of this.#configWatchers) w.start();
    this.#secrets.start();
    // Ready once the configs are listed and every Secret they reference was listed (or failed once).
    this.#ready = Promise.all(this.#configWatchers.map((w) => w.ready)).then(async () => {
      if (this.#closed) throw new Error('[kargo-azure-receiver] closed before the first sync');
      await this.#secrets.settled();
      if (this.#closed) throw new Error('[kargo-azure-receiver] closed before the first sync');
      this.#secretsSynced = true;
      this.#emitNow();
    });
    this.#ready.catch(() => undefined);
  }

  /** Resolves once ProjectConfigs, the ClusterConfig and the referenced Secrets were listed. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** Whether the initial lists completed. */
  isReady(): boolean {
    return this.#secretsSynced;
  }

  /** Stops every watch and retry. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#configWatchers.map((w) => w.close()), this.#secrets.close()]);
    this.#client.destroy();
  }

  /** Open Secret watches and the other watches, for the bench and specs. */
  watchCount(): { secrets: number; configs: number } {
    return { secrets: this.#secrets.watchers().length, configs: this.#configWatchers.length };
  }

  #secretSource(): SecretFeed | PerSecretWatches {
    const { namespaces, systemNamespace, secretPollMs, watch } = this.#options;
    const common = {
      kubeConfig: this.#options.kubeConfig,
      logger: this.#logger,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      ...(watch ? { watch } : {}),
    };
    if (this.#options.secretMode === 'per-secret')
      return new PerSecretWatches({
        ...common,
        onSecret: (key, secret) => this.#applySecret(key, secret),
        onUnreadable: (key, err) => this.#secretUnreadable(key, err, false),
      });
    return new SecretFeed({
      ...common,
      client: this.#client,
      namespaces: namespaces ? [...new Set([...namespaces, systemNamespace])] : undefined,
      ...(secretPollMs ? { pollMs: secretPollMs } : {}),
      onSecret: (key, secret, labelled) => {
        this.#log.read(key, this.#specs(), secret !== undefined && !labelled);
        this.#applySecret(key, secret);
      },
      onUnreadable: (key, err) => this.#secretUnreadable(key, err, true),
    });
  }

  #watched(namespace: string): boolean {
    const { namespaces, systemNamespace } = this.#options;
    return !namespaces || namespaces.includes(namespace) || namespace === systemNamespace;
  }

  *#specs(): Generator<AzureReceiverSpec> {
    for (const entry of this.#configs.values()) yield* entry.specs;
  }

  #onProjectConfig(object: KargoConfigObject): void {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    const key = `pc:${namespace}/${name}`;
    const declaredBy = `ProjectConfig ${namespace}/${name}`;
    const problem = projectConfigProblem(object);
    this.#log.projectConfig(key, declaredBy, problem);
    if (problem) return this.#setConfig(key, undefined);
    const specs = declaredReceivers(object, this.#logger);
    this.#setConfig(key, {
      specs,
      projectConfig: {
        namespace,
        name,
        azureNames: specs.map((s) => s.name),
        status: details(object.status?.webhookReceivers),
      },
    });
  }

  #onClusterConfig(object: KargoConfigObject): void {
    if (object.metadata?.name !== CLUSTER_CONFIG_NAME) return;
    this.#setConfig('cc', {
      specs: declaredReceivers(object, this.#logger, this.#options.systemNamespace),
    });
  }

  #setConfig(key: string, entry: ConfigEntry | undefined): void {
    if (entry) this.#configs.set(key, entry);
    else this.#configs.delete(key);
    // A new receiver of a Secret already read: its bytes are gone, so read that Secret again.
    const reread = new Set<string>();
    for (const spec of entry?.specs ?? []) {
      const rk = receiverKey(spec);
      if (this.#derived.has(rk)) continue;
      if (!this.#watched(spec.secretNamespace)) this.#derived.set(rk, { problem: 'not-watched' });
      else reread.add(secretKeyOf(spec));
    }
    const wanted = new Set<string>();
    for (const spec of this.#specs())
      if (this.#watched(spec.secretNamespace)) wanted.add(secretKeyOf(spec));
    this.#secrets.setWanted(wanted, reread);
    this.#schedule();
  }

  /** Receivers of a Secret that could not be read: unserved until it can (a token already derived stays). */
  #secretUnreadable(key: string, err: Error, logEach: boolean): void {
    for (const spec of this.#specs()) {
      const rk = receiverKey(spec);
      if (secretKeyOf(spec) === key && !this.#derived.has(rk))
        this.#derived.set(rk, { problem: 'secret-unreadable' });
    }
    this.#log.unreadable(key, err, logEach);
    this.#schedule();
  }

  /** Derives the tokens of every receiver using this Secret; the bytes go out of scope here. */
  #applySecret(key: string, secret: SecretObject | undefined): void {
    const tokens = secretTokens(secret);
    for (const spec of this.#specs()) {
      if (secretKeyOf(spec) !== key) continue;
      const rk = receiverKey(spec);
      const next = tokens.derive(spec);
      logRotation(
        this.#logger,
        spec,
        this.#derived.get(rk),
        next,
        secret?.metadata?.resourceVersion,
      );
      this.#derived.set(rk, next);
    }
    tokens.drop();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (!this.#closed) this.#emitNow();
    });
  }

  #emitNow(): void {
    const specs = [...this.#specs()];
    const live = new Set(specs.map(receiverKey));
    for (const rk of this.#derived.keys()) if (!live.has(rk)) this.#derived.delete(rk);
    this.#log.prune(live);
    const states = receiverStates(
      specs,
      (spec) => this.#derived.get(receiverKey(spec)),
      (spec) => this.#log.duplicate(spec),
    );
    this.#log.states(states);

    const projectConfigs: ProjectConfigState[] = [];
    for (const entry of this.#configs.values())
      if (entry.projectConfig) projectConfigs.push(entry.projectConfig);
    this.#options.onChange({ receivers: states, projectConfigs, synced: this.#secretsSynced });
  }
}
