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

/** Finds the objects an event concerns. Rejects when the back end cannot answer. */
export type Lookup = (event: ReceiverEvent) => Promise<RefreshTarget[]>;

/** Refreshes one object. Resolves when done (or when there was nothing to do); rejects on failure. */
export type Refresh = (target: RefreshTarget) => Promise<void>;

/** The adapter pair `azureReceiver` needs. */
export interface Adapter {
  lookup: Lookup;
  refresh: Refresh;
}

/** The subset of a pino logger we use. pino, bunyan-style and console-like loggers fit. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
