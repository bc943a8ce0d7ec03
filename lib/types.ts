/**
 * Types shared by the receiver, the sources and the adapters.
 * @module
 */

/** Which kind of Warehouse subscription an artifact can satisfy. */
export type ArtifactKind = 'git' | 'image' | 'chart';

/** Where a webhook came from. */
export type EventSource = 'acr' | 'azure-devops';

/** A push of new artifacts: an image or chart to ACR, commits or tags to Azure DevOps Git. */
export interface PushEvent {
  type: 'push';
  /** `acr` or `azure-devops`; another receiver sharing the adapter names itself (`github`, …). */
  source: EventSource | (string & {});
  /** The Azure event name as sent (`push`, `git.push`). */
  eventType: string;
  /** Normalized repository URL candidates (`normalizeGitURL`, …); any one matching a subscription matches. */
  repoURLs: string[];
  /** The subscription kinds this artifact can satisfy (an OCI manifest can be an image or a chart). */
  kinds: ArtifactKind[];
  /** The ACR tag (none for a digest push) or Azure DevOps refs (`refs/heads/main`); empty: no filtering. */
  qualifiers: string[];
  /**
   * Default branch (`develop`), when named (Azure DevOps `resource.repository.defaultBranch`): a Git
   * subscription without `branch` follows it, else Kargo's guess (`main` or `master`).
   */
  defaultBranch?: string;
}

/** A pull request that reached a final state (merged or abandoned). */
export interface PullRequestEvent {
  type: 'pull-request';
  source: 'azure-devops';
  /** The Azure event name as sent (`git.pullrequest.merged`, `git.pullrequest.updated`). */
  eventType: string;
  /** Normalized web URL of the pull request (see `normalizePullRequestURL`). */
  prURL: string;
}

/** A recognised event that asks for refreshes. */
export type ReceiverEvent = PushEvent | PullRequestEvent;

/** A Kargo object to refresh. */
export interface RefreshTarget {
  kind: 'Warehouse' | 'Promotion';
  namespace: string;
  name: string;
}

/**
 * Finds the objects an event concerns; rejects when the back end cannot answer. `signal` aborts when
 * the webhook is given up on (deadline or shutdown): I/O should stop and reject. May be ignored.
 */
export type Lookup = (event: ReceiverEvent, signal?: AbortSignal) => Promise<RefreshTarget[]>;

/**
 * Refreshes one object; rejects on failure. On `signal` (see {@link Lookup}) an unsent refresh is not
 * sent, one on the wire aborted, and the call rejects: Azure retries the 503. May be ignored.
 */
export type Refresh = (target: RefreshTarget, signal?: AbortSignal) => Promise<void>;

/** One Warehouse subscribed to a pushed repository, and what the push does to it. */
export interface WarehouseExplanation {
  namespace: string;
  name: string;
  /** Whether the push refreshes it (the lookup returns it). */
  refreshed: boolean;
  /** The subscription the verdict is about: `image myregistry.azurecr.io/app`. */
  subscription: string;
  /** Which subscription takes the push, or why none does. Token-free. */
  reason: string;
}

/** A Warehouse subscribed to the pushed repository under another spelling (host, path prefix, scheme). */
export interface NearMiss {
  namespace: string;
  name: string;
  /** The subscription as the index holds it (normalized): `image otherregistry.azurecr.io/app`. */
  subscription: string;
  /** How it differs from the pushed repository: `another registry host or login server (myregistry.azurecr.io)`. */
  difference: string;
}

/** Why a push refreshes what it refreshes, from what an adapter's scope holds. */
export interface PushExplanation {
  /** Every Warehouse of the scope subscribed to the pushed repository, sorted by namespace then name. */
  warehouses: WarehouseExplanation[];
  /** Filled only when no Warehouse takes the push. Sorted by namespace then name. */
  nearMisses: NearMiss[];
}

/** Explains a push by `lookup`'s index and rules; optional (without it, a generic hint). */
export type ExplainPush = (event: PushEvent) => Promise<PushExplanation>;

/** The adapter pair `azureReceiver` needs, and the optional `explainPush`. */
export interface Adapter {
  lookup: Lookup;
  refresh: Refresh;
  explainPush?: ExplainPush;
}

/** The subset of a pino logger we use. pino, bunyan-style and console-like loggers fit. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** pino's level check: when present and false for `debug`, explanations are not computed for the log alone. */
  isLevelEnabled?(level: string): boolean;
}
