/**
 * Types shared by the receiver, the sources and the adapters.
 * @module
 */

/** Which kind of Warehouse subscription an artifact can satisfy. */
export type ArtifactKind = 'git' | 'image' | 'chart';

/** Where a webhook came from. */
export type EventSource = 'acr' | 'azure-devops';

/**
 * A push of new artifacts: a container image or chart to ACR, commits or tags
 * to an Azure DevOps Git repository.
 */
export interface PushEvent {
  type: 'push';
  /** `acr` or `azure-devops`; another receiver sharing the adapter names itself (`github`, …). */
  source: EventSource | (string & {});
  /** The Azure event name as sent (`push`, `git.push`). */
  eventType: string;
  /**
   * Normalized repository URL candidates (see `normalizeGitURL`,
   * `normalizeImageURL`, `normalizeChartURL`). Any one of them matching a
   * subscription's normalized `repoURL` is a match.
   */
  repoURLs: string[];
  /** The subscription kinds this artifact can satisfy (an OCI manifest can be an image or a chart). */
  kinds: ArtifactKind[];
  /**
   * What was pushed: the tag for ACR (empty for a push by digest), the updated
   * refs such as `refs/heads/main` for Azure DevOps. Empty means "no filtering".
   */
  qualifiers: string[];
  /**
   * The repository's default branch (`develop`, without `refs/heads/`) when
   * the payload names it (Azure DevOps `resource.repository.defaultBranch`).
   * A Git subscription without `branch` follows it; without it, Kargo's guess
   * (`main` or `master`) applies.
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
 * Finds the objects an event concerns. Rejects when the back end cannot answer.
 *
 * `signal` aborts when the receiver gave up on the webhook (its `deadlineMs`
 * passed, or the server is shutting down and answered 503): an adapter that
 * does I/O should stop and reject then. Adapters may ignore it.
 */
export type Lookup = (event: ReceiverEvent, signal?: AbortSignal) => Promise<RefreshTarget[]>;

/**
 * Refreshes one object. Resolves when done (or when there was nothing to do); rejects on failure.
 *
 * `signal` aborts when the receiver gave up on the webhook (see {@link Lookup}):
 * a refresh not sent yet should not be sent, one on the wire should be
 * aborted, and the call should reject. Azure retries the 503 it got, so
 * nothing is lost. Adapters may ignore it.
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

/**
 * A Warehouse subscribed to what is probably the pushed repository under a
 * spelling normalization does not join (another registry host, path prefix,
 * scheme).
 */
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

/**
 * Explains a push from the same index and rules as `lookup`. Optional: an
 * adapter without it still works, and its answers carry a generic hint.
 */
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
