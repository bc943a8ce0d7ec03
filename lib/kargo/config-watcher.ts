/**
 * Watches ProjectConfigs, the ClusterConfig and Secrets, and turns them into
 * the set of Azure receivers to serve, each with its Kargo token or the
 * reason it cannot be served.
 *
 * Secret data is never kept: when a referenced Secret arrives (watch event or
 * a GET for a reference added later) the tokens of the receivers using it are
 * derived at once and the bytes dropped. A reference to a Secret seen before
 * it was referenced costs one GET.
 * @module
 */
import type { ClientKubeConfig as KubeConfig } from '../adapters/kubernetes/kube-config.js';
import {
  type BackoffOptions,
  type Sleep,
  backoffDelay,
  realSleep,
} from '../adapters/kubernetes/backoff.js';
import { KubeHttpError, collectionPath, kubeGet } from '../adapters/kubernetes/kube-http.js';
import { type ObjectRef, ResourceWatcher } from '../adapters/kubernetes/resource-watcher.js';
import type { Logger } from '../types.js';
import {
  CLUSTER_CONFIGS,
  CLUSTER_CONFIG_NAME,
  PROJECT_CONFIGS,
  SECRETS,
  type AzureReceiverSpec,
  type KargoConfigObject,
  type SecretObject,
  type SecretProblem,
  type WebhookReceiverDetails,
  azureReceivers,
  problemFields,
  problemMessage,
  receiverToken,
  secretBytes,
} from './resources.js';

/** A declared Azure receiver and what became of it. */
export interface ReceiverState {
  spec: AzureReceiverSpec;
  /** Set when served. */
  token?: string;
  /** Set when not served; undefined with no token means "not known yet". */
  problem?: SecretProblem;
}

/** What the status writer needs of a ProjectConfig. */
export interface ProjectConfigState {
  namespace: string;
  name: string;
  /** Names of the Azure receivers its spec declares (ours to write). */
  azureNames: string[];
  /** `status.webhookReceivers` as last seen. */
  status: WebhookReceiverDetails[];
}

/** Everything known, handed to `onChange` after each batch of changes. */
export interface ConfigSnapshot {
  receivers: ReceiverState[];
  projectConfigs: ProjectConfigState[];
  /** Whether every initial list completed (Secrets included). */
  synced: boolean;
}

/** Options of {@link ConfigWatcher}. */
export interface ConfigWatcherOptions {
  kubeConfig: KubeConfig;
  /** Namespace of the Secrets of ClusterConfig receivers. */
  systemNamespace: string;
  /** Watch ProjectConfigs and Secrets only here (plus Secrets of `systemNamespace`); undefined: all namespaces. */
  namespaces: readonly string[] | undefined;
  logger: Logger;
  /** Called (coalesced, in a microtask) after changes. */
  onChange: (snapshot: ConfigSnapshot) => void;
  /** Timeout of a Secret GET. */
  requestTimeoutMs: number;
  /** Watch tuning, passed to every ResourceWatcher (tests). */
  watch?: {
    backoff?: BackoffOptions;
    sleep?: Sleep;
    random?: () => number;
    watchTimeoutSeconds?: number;
  };
}

interface ConfigEntry {
  specs: AzureReceiverSpec[];
  projectConfig?: ProjectConfigState;
}

type Derived = { token: string } | { problem: SecretProblem };

const RETRY: Required<BackoffOptions> = { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };

function secretKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function receiverKey(spec: AzureReceiverSpec): string {
  return JSON.stringify([spec.project, spec.name, spec.secretNamespace, spec.secretName]);
}

function details(value: unknown): WebhookReceiverDetails[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
    .map((v) => {
      const entry: WebhookReceiverDetails = {};
      if (typeof v.name === 'string') entry.name = v.name;
      if (typeof v.path === 'string') entry.path = v.path;
      if (typeof v.url === 'string') entry.url = v.url;
      return entry;
    });
}

/** The watches behind `kargoReceivers`. */
export class ConfigWatcher {
  readonly #options: ConfigWatcherOptions;
  readonly #logger: Logger;
  readonly #configs = new Map<string, ConfigEntry>();
  readonly #derived = new Map<string, Derived>();
  /** Bumped on every watch event of a Secret, so a GET answered after a newer event is ignored. */
  readonly #generation = new Map<string, number>();
  readonly #fetching = new Map<string, Promise<void>>();
  readonly #attempts = new Map<string, number>();
  /** Last problem logged per receiver ('' once served), so each change is logged once. */
  readonly #logged = new Map<string, string>();
  readonly #configWatchers: ResourceWatcher[] = [];
  readonly #secretWatchers: ResourceWatcher<SecretObject>[] = [];
  readonly #abort = new AbortController();
  readonly #ready: Promise<void>;
  #secretsSynced = false;
  #scheduled = false;
  #closed = false;

  constructor(options: ConfigWatcherOptions) {
    this.#options = options;
    this.#logger = options.logger;
    const common = { kubeConfig: options.kubeConfig, logger: options.logger, ...options.watch };
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
    const secretNamespaces = options.namespaces
      ? [...new Set([...options.namespaces, options.systemNamespace])]
      : [undefined];
    for (const namespace of secretNamespaces) {
      this.#secretWatchers.push(
        new ResourceWatcher<SecretObject>({
          ...common,
          resource: SECRETS,
          ...(namespace ? { namespace } : {}),
          onUpsert: (object) => this.#onSecret(object),
          onDelete: (ref) => this.#onSecretDeleted(ref),
        }),
      );
    }
    // Configs first: the Secrets' initial list then finds every reference and
    // needs no GET per receiver.
    for (const w of this.#configWatchers) w.start();
    this.#ready = Promise.all(this.#configWatchers.map((w) => w.ready)).then(async () => {
      if (this.#closed) throw new Error('[kargo-azure-receiver] closed before the first sync');
      for (const w of this.#secretWatchers) w.start();
      await Promise.all(this.#secretWatchers.map((w) => w.ready));
      this.#secretsSynced = true;
      for (const spec of this.#specs()) {
        if (!this.#derived.has(receiverKey(spec)))
          this.#derived.set(receiverKey(spec), { problem: 'secret-missing' });
      }
      this.#emitNow();
    });
    this.#ready.catch(() => undefined);
  }

  /** Resolves once ProjectConfigs, the ClusterConfig and Secrets were listed. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** Whether the initial lists completed. */
  isReady(): boolean {
    return this.#secretsSynced;
  }

  /** Stops every watch, GET and retry. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    await Promise.all([...this.#configWatchers, ...this.#secretWatchers].map((w) => w.close()));
    await Promise.all([...this.#fetching.values()]);
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
    const declaredBy = `ProjectConfig ${namespace}/${name}`;
    const specs = azureReceivers(
      object,
      { project: namespace, secretNamespace: namespace, declaredBy },
      (index, reason) =>
        this.#logger.warn(
          { config: declaredBy, index },
          `${declaredBy}: Azure receiver ignored: ${reason}`,
        ),
    );
    this.#setConfig(`pc:${namespace}/${name}`, {
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
    const declaredBy = `ClusterConfig ${CLUSTER_CONFIG_NAME}`;
    const specs = azureReceivers(
      object,
      { project: '', secretNamespace: this.#options.systemNamespace, declaredBy },
      (index, reason) =>
        this.#logger.warn(
          { config: declaredBy, index },
          `${declaredBy}: Azure receiver ignored: ${reason}`,
        ),
    );
    this.#setConfig('cc', { specs });
  }

  #setConfig(key: string, entry: ConfigEntry | undefined): void {
    if (entry) this.#configs.set(key, entry);
    else this.#configs.delete(key);
    for (const spec of entry?.specs ?? []) {
      const rk = receiverKey(spec);
      if (this.#derived.has(rk)) continue;
      if (!this.#watched(spec.secretNamespace)) this.#derived.set(rk, { problem: 'not-watched' });
      else if (this.#secretsSynced) this.#fetch(secretKey(spec.secretNamespace, spec.secretName));
      // Before the Secrets are synced, their initial list will bring the data.
    }
    this.#schedule();
  }

  #referenced(key: string): boolean {
    for (const spec of this.#specs())
      if (secretKey(spec.secretNamespace, spec.secretName) === key) return true;
    return false;
  }

  #onSecret(object: SecretObject): void {
    const key = secretKey(object.metadata?.namespace ?? '', object.metadata?.name ?? '');
    this.#generation.set(key, (this.#generation.get(key) ?? 0) + 1);
    if (this.#referenced(key)) this.#applySecret(key, object);
  }

  #onSecretDeleted(ref: ObjectRef): void {
    const key = secretKey(ref.namespace ?? '', ref.name);
    this.#generation.set(key, (this.#generation.get(key) ?? 0) + 1);
    if (this.#referenced(key)) this.#applySecret(key, undefined);
  }

  /** Derives the tokens of every receiver using this Secret; the bytes go out of scope here. */
  #applySecret(key: string, secret: SecretObject | undefined): void {
    const bytes = secretBytes(secret);
    for (const spec of this.#specs()) {
      if (secretKey(spec.secretNamespace, spec.secretName) !== key) continue;
      this.#derived.set(
        receiverKey(spec),
        typeof bytes === 'string'
          ? { problem: bytes }
          : { token: receiverToken(spec.project, spec.name, bytes) },
      );
    }
    if (typeof bytes !== 'string') bytes.fill(0);
    this.#schedule();
  }

  /** GETs one Secret for receivers that reference it after the initial sync. */
  #fetch(key: string): void {
    if (this.#fetching.has(key) || this.#closed) return;
    const generation = this.#generation.get(key) ?? 0;
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const path = `${collectionPath(SECRETS, namespace)}/${encodeURIComponent(name)}`;
    const run = async (): Promise<void> => {
      let secret: SecretObject | undefined;
      let failed: KubeHttpError | undefined;
      try {
        secret = (await kubeGet(
          this.#options.kubeConfig,
          path,
          {},
          { signal: this.#abort.signal, timeoutMs: this.#options.requestTimeoutMs },
        )) as SecretObject;
      } catch (err) {
        if (err instanceof KubeHttpError && err.statusCode === 404) secret = undefined;
        else failed = err instanceof KubeHttpError ? err : new KubeHttpError(undefined, 'Error');
      }
      if (this.#closed) return;
      if (failed) {
        const attempt = (this.#attempts.get(key) ?? 0) + 1;
        this.#attempts.set(key, attempt);
        const delay = backoffDelay(attempt, RETRY, Math.random);
        this.#logger.warn(
          {
            secretRef: key,
            status: failed.statusCode,
            reason: failed.reason,
            attempt,
            retryInMs: delay,
          },
          `reading Secret ${key} failed, retrying`,
        );
        for (const spec of this.#specs()) {
          const rk = receiverKey(spec);
          if (secretKey(spec.secretNamespace, spec.secretName) === key && !this.#derived.has(rk))
            this.#derived.set(rk, { problem: 'secret-unreadable' });
        }
        this.#schedule();
        await (this.#options.watch?.sleep ?? realSleep)(delay, this.#abort.signal);
        this.#fetching.delete(key);
        if (this.#referenced(key) && (this.#generation.get(key) ?? 0) === generation)
          this.#fetch(key);
        return;
      }
      this.#attempts.delete(key);
      this.#fetching.delete(key);
      // A watch event newer than this GET already applied fresher data.
      if ((this.#generation.get(key) ?? 0) === generation && this.#referenced(key))
        this.#applySecret(key, secret);
      // A receiver added while the GET was in flight, after that newer event: read again.
      for (const spec of this.#specs()) {
        if (
          secretKey(spec.secretNamespace, spec.secretName) === key &&
          !this.#derived.has(receiverKey(spec))
        ) {
          this.#fetch(key);
          break;
        }
      }
    };
    this.#fetching.set(
      key,
      run().finally(() => undefined),
    );
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
    for (const rk of this.#logged.keys()) {
      if (!live.has(rk.replace(/^duplicate:/, ''))) this.#logged.delete(rk);
    }

    // One receiver per project + name (two ProjectConfigs of one namespace may repeat a name: first wins).
    const seen = new Set<string>();
    const states: ReceiverState[] = [];
    for (const spec of specs) {
      const id = JSON.stringify([spec.project, spec.name]);
      if (seen.has(id)) {
        const rk = `duplicate:${receiverKey(spec)}`;
        if (this.#logged.has(rk)) continue;
        this.#logged.set(rk, 'duplicate');
        this.#logger.warn(
          { config: spec.declaredBy, project: spec.project, receiver: spec.name },
          `${spec.declaredBy}: Azure receiver "${spec.name}" is declared twice in project "${spec.project}"; ignored`,
        );
        continue;
      }
      seen.add(id);
      const derived = this.#derived.get(receiverKey(spec));
      states.push(
        derived === undefined
          ? { spec }
          : 'token' in derived
            ? { spec, token: derived.token }
            : { spec, problem: derived.problem },
      );
    }

    // Kargo hashes a plain concatenation, so ("ab", "c") and ("a", "bc") with one secret collide:
    // never let one project's URL reach another project's receiver.
    const projectsByToken = new Map<string, Set<string>>();
    for (const s of states)
      if (s.token)
        projectsByToken.set(
          s.token,
          (projectsByToken.get(s.token) ?? new Set()).add(s.spec.project),
        );
    for (const s of states) {
      if (s.token && (projectsByToken.get(s.token)?.size ?? 0) > 1) {
        delete s.token;
        s.problem = 'ambiguous';
      }
    }

    for (const s of states) {
      const rk = receiverKey(s.spec);
      const now = s.token ? '' : s.problem;
      if (now === undefined || this.#logged.get(rk) === now) continue;
      this.#logged.set(rk, now);
      if (now === '')
        this.#logger.info(
          { config: s.spec.declaredBy, project: s.spec.project, receiver: s.spec.name },
          `Azure receiver "${s.spec.name}" of ${s.spec.declaredBy} served`,
        );
      else if (now !== 'secret-unreadable')
        this.#logger.warn(problemFields(s.spec, now), problemMessage(s.spec, now));
    }

    const projectConfigs: ProjectConfigState[] = [];
    for (const entry of this.#configs.values())
      if (entry.projectConfig) projectConfigs.push(entry.projectConfig);
    this.#options.onChange({ receivers: states, projectConfigs, synced: this.#secretsSynced });
  }
}
