/**
 * The step that acts on an event within the webhook's deadline (deadline.ts):
 * look up its targets, refresh them `concurrency` at a time, and answer how
 * many were refreshed, with a hint when none was (explanation.ts).
 * @module
 */
import pLimit from 'p-limit';
import { ReceiverError, errorDetail } from '../errors.js';
import type { ReceiverEvent, RefreshTarget } from '../types.js';
import { type Answer, type Delivery, elapsedMs } from './answer.js';
import type { Endpoint } from './authenticate.js';
import { GAVE_UP, unlessAborted, webhookSignal } from './deadline.js';
import { createExplainer } from './explanation.js';
import type { HandlerConfig } from './options.js';

/** One target per object: duplicate deliveries and overlapping lookups refresh once. */
function dedupe(targets: RefreshTarget[]): RefreshTarget[] {
  const keyed = targets.map(({ kind, namespace, name }): [string, RefreshTarget] => [
    `${kind}/${namespace}/${name}`,
    { kind, namespace, name },
  ]);
  return [...new Map(keyed).values()];
}

type Work = ReturnType<typeof webhookSignal>;

/**
 * Refreshes every target, `concurrency` at a time, until the work is given
 * up on; answers how many failed or did not finish in time. Never throws.
 * Refreshes not started by then never start; those running got the same
 * signal, so the adapter can drop a PATCH not yet sent. Azure retries the 503.
 */
async function refreshAll(
  config: HandlerConfig,
  endpoint: Endpoint,
  targets: RefreshTarget[],
  work: Work,
) {
  const { logger, deadlineMs } = config;
  const { refresh, labels } = endpoint;
  const { signal } = work;
  const limit = pLimit(config.concurrency);
  let succeeded = 0;
  const all = Promise.all(
    targets.map((target) =>
      limit(async () => {
        if (signal.aborted) return;
        try {
          await refresh(target, signal);
          succeeded++;
        } catch (err) {
          // After the give-up, the adapter's abort errors are the deadline's doing, already logged.
          if (!signal.aborted)
            logger.error({ ...labels, target, ...errorDetail(err) }, 'refresh failed');
        }
      }),
    ),
  );
  if ((await unlessAborted(all, signal)) === GAVE_UP) {
    limit.clearQueue();
    const late = { ...labels, deadlineMs, cause: work.cause() };
    logger.error(late, 'refreshes did not finish in time');
  }
  return targets.length - succeeded;
}

/** The event's targets, once each; a lookup that fails or runs late throws a 503. */
async function lookUp(config: HandlerConfig, endpoint: Endpoint, event: ReceiverEvent, work: Work) {
  const { logger, deadlineMs } = config;
  const { signal } = work;
  const looked = event.type === 'push' ? 'subscribed warehouses' : 'waiting promotions';
  const lookupFailed = new ReceiverError(503, 'LOOKUP_FAILED', `failed to look up ${looked}`);
  try {
    // Inside the try: an adapter that throws synchronously is a failed lookup too.
    const looking = () => endpoint.lookup(event, signal);
    const found = signal.aborted
      ? GAVE_UP
      : await unlessAborted(Promise.resolve().then(looking), signal);
    if (found !== GAVE_UP) return dedupe(found);
  } catch (err) {
    logger.error({ ...endpoint.labels, ...errorDetail(err) }, 'lookup failed');
    throw lookupFailed;
  }
  const late = { ...endpoint.labels, deadlineMs, cause: work.cause() };
  logger.error(late, 'lookup did not finish in time');
  throw lookupFailed;
}

/** Builds the step; its answer is 200, or 503 when the lookup or a refresh failed or ran late. */
export function createLookupAndRefresh(config: HandlerConfig) {
  const { deadlineMs, signal: shutdown } = config;
  const explainAnswer = createExplainer(config);

  return async function lookupAndRefresh(
    endpoint: Endpoint,
    event: ReceiverEvent,
    { record, started }: Delivery,
  ): Promise<Answer> {
    const kind = event.type === 'push' ? 'warehouse(s)' : 'promotion(s)';
    const work = webhookSignal(deadlineMs - elapsedMs(started), shutdown);
    try {
      const targets = await lookUp(config, endpoint, event, work);
      record.matched = targets.length;
      const failed = await refreshAll(config, endpoint, targets, work);
      record.failed = failed;
      record.refreshed = targets.length - failed;
      if (failed > 0) {
        record.outcome = 'failed';
        record.code = 'REFRESH_FAILED';
        const error = `failed to refresh ${failed} of ${targets.length} ${kind}`;
        return { status: 503, body: { error } };
      }
      record.outcome = 'refreshed';
      const fields = await explainAnswer(endpoint, event, targets, work.signal);
      if (fields.hint !== undefined) record.hint = fields.hint;
      return { status: 200, body: { msg: `refreshed ${targets.length} ${kind}`, ...fields } };
    } finally {
      work.dispose();
    }
  };
}
