/**
 * What an answer says beside `msg`: a `hint` when a push refreshes nothing, and with `explain` the
 * subscribed Warehouses. Azure shows answers to users (service hook History, ACR webhook events),
 * so this is where they learn why. Token-free: built from URLs, tags, refs and names only.
 * @module
 */
import { errorDetail } from '../errors.js';
import { GAVE_UP, unlessAborted } from './deadline.js';
import type {
  ExplainPush,
  Logger,
  NearMiss,
  PushEvent,
  PushExplanation,
  ReceiverEvent,
  RefreshTarget,
  WarehouseExplanation,
} from '../types.js';

/** Most Warehouses (and near misses) an answer lists; past it, a count says how many were left out. */
export const MAX_EXPLAINED = 50;
/** Longest reason, difference or hint in an answer, in characters. */
export const MAX_TEXT = 400;

/** One Warehouse as an answer lists it. */
export interface AnsweredWarehouse {
  namespace: string;
  name: string;
  refreshed: boolean;
  reason: string;
}

/** The fields an answer adds to `msg`. */
export interface ExplanationFields {
  /** Why nothing was refreshed. Only when nothing was. */
  hint?: string;
  /** With `explain`: each subscribed Warehouse of the scope, sorted, at most {@link MAX_EXPLAINED}. */
  warehouses?: AnsweredWarehouse[];
  /** With `explain`: how many Warehouses were left out of `warehouses`. */
  warehousesOmitted?: number;
  /** With `explain`, when nothing matched: likely misspelt subscriptions, at most {@link MAX_EXPLAINED}. */
  nearMisses?: NearMiss[];
  /** With `explain`: how many near misses were left out. */
  nearMissesOmitted?: number;
}

/** Cuts `text` to {@link MAX_TEXT} characters. */
export function bounded(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}

const KIND_NOUN = { git: 'Git repository', image: 'image', chart: 'chart' } as const;

/** `image myregistry.azurecr.io/app`, `Git repository https://dev.azure.com/…`: what was pushed. */
export function pushSubject(event: PushEvent): string {
  const kinds = event.kinds.map((kind) => KIND_NOUN[kind]).join(' or ') || 'repository';
  return `${kinds} ${[...new Set(event.repoURLs)].join(' or ')}`;
}

/** `tag "1.2.3"`, `refs/heads/main`, `the push`: what the subscriptions had to take. */
function pushedQualifiers(event: PushEvent): string {
  if (event.qualifiers.length === 0) return 'the push';
  if (event.kinds.includes('git')) return event.qualifiers.join(' or ');
  const noun = event.kinds.length === 1 && event.kinds[0] === 'chart' ? 'version' : 'tag';
  return event.qualifiers.map((q) => `${noun} ${JSON.stringify(q)}`).join(' or ');
}

function warehouses(n: number): string {
  return n === 1 ? '1 Warehouse subscribes' : `${String(n)} Warehouses subscribe`;
}

/** Why a push refreshed nothing, from `explanation`, or from the event alone without one. */
export function pushHint(event: PushEvent, explanation: PushExplanation | undefined): string {
  const subject = pushSubject(event);
  if (explanation === undefined) {
    return bounded(
      `no Warehouse of this receiver takes ${pushedQualifiers(event)} of ${subject} (the adapter cannot say why)`,
    );
  }
  const subscribed = explanation.warehouses;
  const first = subscribed[0];
  if (first === undefined) {
    const miss = explanation.nearMisses[0];
    if (miss === undefined) return bounded(`no Warehouse subscribes to ${subject}`);
    const more = explanation.nearMisses.length - 1;
    return bounded(
      `no Warehouse subscribes to ${subject}; Warehouse ${miss.namespace}/${miss.name} subscribes to ${miss.subscription} (${miss.difference})${more > 0 ? `, and ${String(more)} more near miss(es)` : ''}`,
    );
  }
  const more = subscribed.length - 1;
  return bounded(
    `${warehouses(subscribed.length)} to ${subject}; none takes ${pushedQualifiers(event)}: ${first.namespace}/${first.name}: ${first.reason}${more > 0 ? `; and ${String(more)} more` : ''}`,
  );
}

/** The hint of a pull request event that refreshed nothing. */
export function pullRequestHint(prURL: string): string {
  return bounded(`no running Promotion of this receiver waits on pull request ${prURL}`);
}

function keyOf(target: { namespace: string; name: string }): string {
  return `${target.namespace}/${target.name}`;
}

/** An answer's bounded `warehouses` and `nearMisses`; `refreshed` from `targets`, so it agrees with `msg`. */
export function explainedFields(
  explanation: PushExplanation,
  targets: readonly RefreshTarget[],
): ExplanationFields {
  const refreshed = new Set(targets.map(keyOf));
  const list: AnsweredWarehouse[] = explanation.warehouses
    .slice(0, MAX_EXPLAINED)
    .map((w: WarehouseExplanation) => ({
      namespace: w.namespace,
      name: w.name,
      refreshed: refreshed.has(keyOf(w)),
      reason: bounded(w.reason),
    }));
  const fields: ExplanationFields = { warehouses: list };
  const omitted = explanation.warehouses.length - list.length;
  if (omitted > 0) fields.warehousesOmitted = omitted;
  if (explanation.nearMisses.length > 0) {
    fields.nearMisses = explanation.nearMisses.slice(0, MAX_EXPLAINED).map((m) => ({
      namespace: m.namespace,
      name: m.name,
      subscription: bounded(m.subscription),
      difference: bounded(m.difference),
    }));
    const missed = explanation.nearMisses.length - MAX_EXPLAINED;
    if (missed > 0) fields.nearMissesOmitted = missed;
  }
  return fields;
}

/** pino's `isLevelEnabled('debug')`; false for loggers that cannot tell, so the hot path stays cheap. */
function debugEnabled(logger: Logger): boolean {
  try {
    return logger.isLevelEnabled?.('debug') === true;
  } catch {
    return false;
  }
}

/** What an explainer needs of the endpoint that took the request. */
export interface ExplainingEndpoint {
  /** Explains pushes for hints and `explain` answers, when the adapter can. */
  explainPush?: ExplainPush;
  /** Overrides the router's `explain` for this endpoint (a project's receiver). */
  explain?: boolean;
  /** Token-free labels added to log lines and records (project, receiver). */
  labels?: Record<string, string>;
}

/**
 * Builds the step adding `hint` (and with `explain` the Warehouses) to a 200. `explainPush` runs only
 * when nothing matched, `explain` is on, or debug logs are: the hot path stays a lookup. Never fails
 * the request: without a usable `explainPush`, the hint says what the event says.
 */
export function createExplainer(config: { logger: Logger; explain: boolean }) {
  const { logger, explain } = config;

  async function explainSafely(
    endpoint: ExplainingEndpoint,
    event: PushEvent,
    signal: AbortSignal,
  ): Promise<PushExplanation | undefined> {
    const explainPush = endpoint.explainPush;
    if (explainPush === undefined) return undefined;
    try {
      const result = await unlessAborted(
        Promise.resolve().then(() => explainPush(event)),
        signal,
      );
      if (result !== GAVE_UP) return result;
      logger.warn({ ...endpoint.labels }, 'explanation did not finish in time');
    } catch (err) {
      logger.warn({ ...endpoint.labels, ...errorDetail(err) }, 'explanation failed');
    }
    return undefined;
  }

  return async function explainAnswer(
    endpoint: ExplainingEndpoint,
    event: ReceiverEvent,
    targets: readonly RefreshTarget[],
    signal: AbortSignal,
  ): Promise<ExplanationFields> {
    if (event.type !== 'push') {
      return targets.length === 0 ? { hint: pullRequestHint(event.prURL) } : {};
    }
    const listed = endpoint.explain ?? explain;
    if (targets.length > 0 && !listed && !debugEnabled(logger)) return {};
    const explanation = await explainSafely(endpoint, event, signal);
    if (explanation !== undefined) {
      logger.debug(
        {
          ...endpoint.labels,
          repoURLs: event.repoURLs,
          qualifiers: event.qualifiers,
          defaultBranch: event.defaultBranch,
          warehouses: explanation.warehouses.slice(0, MAX_EXPLAINED),
          nearMisses: explanation.nearMisses.slice(0, MAX_EXPLAINED),
        },
        'push explained',
      );
    }
    const fields: ExplanationFields = {};
    if (targets.length === 0) fields.hint = pushHint(event, explanation);
    if (listed && explanation !== undefined)
      Object.assign(fields, explainedFields(explanation, targets));
    return fields;
  };
}
