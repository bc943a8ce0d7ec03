/**
 * The request pipeline every receiver shares:
 * token → second factor → method → size limit → parse → classify → lookup → refresh.
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import pLimit from 'p-limit';
import getRawBody from 'raw-body';
import { type SecondFactor, unauthorized } from './auth/second-factor.js';
import { GAVE_UP, unlessAborted, webhookSignal } from './deadline.js';
import { BODY_ERRORS, ReceiverError, errorDetail } from './errors.js';
import { createExplainer, type ExplanationFields } from './explanation.js';
import type { HandlerConfig, WebhookRecord } from './options.js';
import { capEcho, capEchoList } from './sources/fields.js';
import { parseJSONBody } from './json-body.js';
import { classify } from './sources/index.js';
import { isObject, type Classification } from './sources/result.js';
import type { ExplainPush, Lookup, ReceiverEvent, Refresh, RefreshTarget } from './types.js';

/** What a token resolves to: the adapters that serve it, and labels for logs. */
export interface Endpoint {
  lookup: Lookup;
  refresh: Refresh;
  /** Explains pushes for hints and `explain` answers, when the adapter can. */
  explainPush?: ExplainPush;
  /** Overrides the router's `explain` for this endpoint (a project's receiver). */
  explain?: boolean;
  /** Token-free labels added to log lines and records (project, receiver). */
  labels?: Record<string, string>;
  /** What a request must carry besides the token (basic authentication, headers). */
  secondFactor?: SecondFactor | undefined;
}

/** Finds the endpoint of a URL token, or undefined when the token is not accepted. */
export type ResolveToken = (token: string) => Endpoint | undefined;

interface Answer {
  status: number;
  body: ({ msg: string } & ExplanationFields) | { error: string };
  /** Extra response headers (`WWW-Authenticate`). */
  headers?: Record<string, string>;
}

/** Fixed answers. */
export const PING_MESSAGE = 'ping event received, webhook is configured correctly';
const NOT_FOUND: Answer = { status: 404, body: { error: 'not found' } };
const INVALID_BODY = BODY_ERRORS.invalid;

function plural(kind: RefreshTarget['kind']): string {
  return kind === 'Warehouse' ? 'warehouse(s)' : 'promotion(s)';
}

function targetKind(event: ReceiverEvent): RefreshTarget['kind'] {
  return event.type === 'push' ? 'Warehouse' : 'Promotion';
}

/**
 * True when an upstream body parser (an app-wide `express.json()`) already
 * consumed the stream: body-parser 1.x flags `req._body`, 2.x leaves the
 * stream ended. Its `req.body` is then all there is.
 */
function consumedUpstream(req: Request): boolean {
  return (req as Request & { _body?: boolean })._body === true || req.readableEnded;
}

async function readJSON(req: Request, maxBodyBytes: number): Promise<unknown> {
  if (consumedUpstream(req)) {
    if (req.body === undefined) throw new ReceiverError(400, 'INVALID_JSON', INVALID_BODY);
    return req.body as unknown;
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    throw new ReceiverError(413, 'BODY_TOO_LARGE', BODY_ERRORS.tooLarge(maxBodyBytes));
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    throw new ReceiverError(415, 'UNSUPPORTED_ENCODING', BODY_ERRORS.unsupportedEncoding(encoding));
  }
  let raw: Buffer;
  try {
    // raw-body stops reading (and fails) as soon as the limit is passed, so
    // a chunked body never buffers past maxBodyBytes.
    raw = await getRawBody(req, { limit: maxBodyBytes, length: req.headers['content-length'] });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') {
      throw new ReceiverError(413, 'BODY_TOO_LARGE', BODY_ERRORS.tooLarge(maxBodyBytes));
    }
    throw new ReceiverError(400, 'BODY_UNREADABLE', INVALID_BODY);
  }
  return parseJSONBody(raw);
}

/** How long a refused request's body may pause before its answer goes out anyway. */
export const DRAIN_IDLE_MS = 1000;

/** Bytes of a refused body read and thrown away before the connection is cut: 4 × the limit, at least 8 MiB. */
export function drainLimit(maxBodyBytes: number): number {
  return Math.max(4 * maxBodyBytes, 8 * 1024 * 1024);
}

/**
 * Refreshes every target, `concurrency` at a time, until `signal` aborts;
 * counts the refreshes that failed or did not finish in time. Never throws.
 * Refreshes not started by then never start; those running got the same
 * signal, so the adapter can drop a PATCH not yet sent. Azure retries the 503.
 */
async function refreshAll(
  targets: RefreshTarget[],
  refresh: Refresh,
  concurrency: number,
  signal: AbortSignal,
  onError: (target: RefreshTarget, err: unknown) => void,
): Promise<{ failed: number; timedOut: boolean }> {
  const limit = pLimit(concurrency);
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
          if (!signal.aborted) onError(target, err);
        }
      }),
    ),
  );
  const outcome = await unlessAborted(all, signal);
  if (outcome === GAVE_UP) limit.clearQueue();
  return { failed: targets.length - succeeded, timedOut: outcome === GAVE_UP };
}

/** One target per object: duplicate deliveries and overlapping lookups refresh once. */
function dedupe(targets: RefreshTarget[]): RefreshTarget[] {
  const seen = new Map<string, RefreshTarget>();
  for (const t of targets) {
    const key = `${t.kind}/${t.namespace}/${t.name}`;
    if (!seen.has(key)) seen.set(key, { kind: t.kind, namespace: t.namespace, name: t.name });
  }
  return [...seen.values()];
}

/**
 * Builds the Express handler for a route with a `:token` parameter, and the
 * error handler for paths Express cannot decode.
 * Unknown tokens get 404 before anything else: the body is never read, the
 * adapters never called.
 */
export function createWebhookHandler(config: HandlerConfig, resolve: ResolveToken) {
  const { logger, maxBodyBytes, concurrency, onWebhook, deadlineMs, signal: shutdown } = config;
  const drainBytes = drainLimit(maxBodyBytes);
  const explainAnswer = createExplainer(config);

  async function handle(
    endpoint: Endpoint,
    req: Request,
    record: WebhookRecord,
    started: bigint,
  ): Promise<Answer> {
    if (req.method !== 'POST') {
      record.outcome = 'rejected';
      record.code = 'METHOD_NOT_ALLOWED';
      return {
        status: 405,
        body: { error: `method ${req.method} not allowed: Azure webhooks use POST` },
      };
    }
    const body = await readJSON(req, maxBodyBytes);
    if (!isObject(body)) throw new ReceiverError(400, 'NOT_AN_OBJECT', INVALID_BODY);
    const classification: Classification | undefined = classify(body);
    if (!classification) {
      throw new ReceiverError(
        400,
        'UNRECOGNISED_EVENT',
        'request body is neither an Azure Container Registry nor an Azure DevOps event',
      );
    }
    record.source = classification.source;
    record.eventType = classification.eventType;
    switch (classification.action) {
      case 'ping':
        record.outcome = 'ping';
        return { status: 200, body: { msg: PING_MESSAGE } };
      case 'ignore':
        record.outcome = 'ignored';
        return { status: 200, body: { msg: classification.reason } };
      case 'invalid':
        throw new ReceiverError(400, 'INVALID_EVENT', classification.reason);
      case 'refresh':
        return refreshEvent(endpoint, classification.event, record, started);
    }
  }

  /** What is left of the request's deadline, in milliseconds. */
  function remaining(started: bigint): number {
    return deadlineMs - Number(process.hrtime.bigint() - started) / 1e6;
  }

  async function refreshEvent(
    endpoint: Endpoint,
    event: ReceiverEvent,
    record: WebhookRecord,
    started: bigint,
  ): Promise<Answer> {
    if (event.type === 'push') {
      record.repoURLs = capEchoList(event.repoURLs);
      record.qualifiers = capEchoList(event.qualifiers);
    } else {
      record.prURL = capEcho(event.prURL);
    }
    const kind = targetKind(event);
    const lookupFailed = new ReceiverError(
      503,
      'LOOKUP_FAILED',
      `failed to look up ${kind === 'Warehouse' ? 'subscribed warehouses' : 'waiting promotions'}`,
    );
    const work = webhookSignal(remaining(started), shutdown);
    try {
      let targets: RefreshTarget[];
      try {
        // Inside the try: an adapter that throws synchronously is a failed lookup too.
        const found = work.signal.aborted
          ? GAVE_UP
          : await unlessAborted(
              Promise.resolve().then(() => endpoint.lookup(event, work.signal)),
              work.signal,
            );
        if (found === GAVE_UP) {
          logger.error(
            { ...endpoint.labels, deadlineMs, cause: work.cause() },
            'lookup did not finish in time',
          );
          throw lookupFailed;
        }
        targets = dedupe(found);
      } catch (err) {
        if (err !== lookupFailed)
          logger.error({ ...endpoint.labels, ...errorDetail(err) }, 'lookup failed');
        throw lookupFailed;
      }
      record.matched = targets.length;
      const { failed, timedOut } = await refreshAll(
        targets,
        endpoint.refresh,
        concurrency,
        work.signal,
        (target, err) => {
          logger.error({ ...endpoint.labels, target, ...errorDetail(err) }, 'refresh failed');
        },
      );
      if (timedOut)
        logger.error(
          { ...endpoint.labels, deadlineMs, cause: work.cause() },
          'refreshes did not finish in time',
        );
      record.failed = failed;
      record.refreshed = targets.length - failed;
      if (failed > 0) {
        record.outcome = 'failed';
        record.code = 'REFRESH_FAILED';
        return {
          status: 503,
          body: { error: `failed to refresh ${failed} of ${targets.length} ${plural(kind)}` },
        };
      }
      record.outcome = 'refreshed';
      const fields = await explainAnswer(endpoint, event, targets, (explaining) =>
        unlessAborted(explaining, work.signal),
      );
      if (fields.hint !== undefined) record.hint = fields.hint;
      return {
        status: 200,
        body: { msg: `refreshed ${targets.length} ${plural(kind)}`, ...fields },
      };
    } finally {
      work.dispose();
    }
  }

  /**
   * A refused request (unknown token, wrong method or encoding, body over the
   * limit) leaves its body unread. Answering and closing at once loses the
   * answer: the client is still sending, its kernel gets a reset and drops
   * the 413 before the client reads it. So the rest of the body is read and
   * thrown away first, up to `drainBytes`, and the answer follows; the
   * connection stays usable. Past the bound, or when the client stops
   * sending for `DRAIN_IDLE_MS` (a stalled upload must not hold its answer
   * until the server's request timeout), the answer goes out with
   * `Connection: close` and the connection is cut.
   */
  function afterUnreadBody(req: Request, then: (drained: boolean) => void): void {
    if (req.readableEnded || req.complete) {
      then(true);
      return;
    }
    let discarded = 0;
    let settled = false;
    let idle = setTimeout(() => settle(false), DRAIN_IDLE_MS);
    const settle = (drained: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      if (!drained) req.pause();
      then(drained);
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > drainBytes) {
        settle(false);
        return;
      }
      clearTimeout(idle);
      idle = setTimeout(() => settle(false), DRAIN_IDLE_MS);
    };
    const onEnd = (): void => settle(true);
    const onAbort = (): void => settle(req.readableEnded);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onAbort);
    req.once('close', onAbort);
    req.resume();
  }

  function finish(
    req: Request,
    res: Response,
    record: WebhookRecord,
    answer: Answer,
    started: bigint,
  ): void {
    afterUnreadBody(req, (drained) => send(res, record, answer, started, drained));
  }

  function send(
    res: Response,
    record: WebhookRecord,
    answer: Answer,
    started: bigint,
    drained: boolean,
  ): void {
    record.status = answer.status;
    record.durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (answer.status === 405) res.set('Allow', 'POST');
    if (answer.headers) res.set(answer.headers);
    if (!drained) res.set('Connection', 'close');
    res.status(answer.status).json(answer.body);
    const level = answer.status >= 500 ? 'error' : answer.status >= 400 ? 'warn' : 'info';
    logger[level]({ ...record }, 'webhook');
    if (onWebhook) {
      try {
        onWebhook(record);
      } catch (err) {
        logger.warn(errorDetail(err), 'onWebhook threw');
      }
    }
  }

  function newRecord(): WebhookRecord {
    return { outcome: 'not-found', status: 0, matched: 0, refreshed: 0, failed: 0, durationMs: 0 };
  }

  /**
   * Express fails to decode a malformed percent-escape in the token segment
   * (`/azure/%E0%A4%A`) before any handler runs: that is a token we do not
   * accept, so the same 404, not Express's HTML error page with a stack trace.
   */
  function azureWebhookPathError(
    err: unknown,
    req: Request,
    res: Response,
    next: NextFunction,
  ): void {
    if (!(err instanceof URIError) || res.headersSent) {
      next(err);
      return;
    }
    finish(req, res, newRecord(), NOT_FOUND, process.hrtime.bigint());
  }

  function azureWebhookHandler(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    const param: unknown = req.params.token;
    const token = typeof param === 'string' ? param : '';
    const record = newRecord();
    const endpoint = resolve(token);
    if (!endpoint) {
      finish(req, res, record, NOT_FOUND, started);
      return;
    }
    if (endpoint.labels) record.labels = endpoint.labels;
    // Before the method and the body: a request without the second factor learns nothing more.
    const refused = endpoint.secondFactor && unauthorized(endpoint.secondFactor, req.headers);
    if (refused) {
      record.factorsFailed = refused.failed;
      record.outcome = 'rejected';
      record.code = 'UNAUTHORIZED';
      finish(req, res, record, refused.answer, started);
      return;
    }
    handle(endpoint, req, record, started).then(
      (answer) => finish(req, res, record, answer, started),
      (err: unknown) => {
        if (err instanceof ReceiverError) {
          record.outcome = record.outcome === 'not-found' ? 'rejected' : record.outcome;
          if (err.status >= 500) record.outcome = 'failed';
          record.code = err.code;
          finish(req, res, record, { status: err.status, body: { error: err.message } }, started);
          return;
        }
        // A bug of ours: never show its text; 503 so Azure retries.
        logger.error(errorDetail(err), 'unexpected error');
        record.outcome = 'failed';
        record.code = 'INTERNAL';
        if (res.headersSent) return next(err);
        finish(req, res, record, { status: 503, body: { error: 'internal error' } }, started);
      },
    );
  }

  return { handler: azureWebhookHandler, pathError: azureWebhookPathError };
}

/**
 * Mounts the webhook route on `router`: `path` must hold a `:token`
 * parameter; `guards` run before the handler (e.g. a readiness gate).
 */
export function mountWebhookRoute(
  router: Router,
  path: string,
  config: HandlerConfig,
  resolve: ResolveToken,
  ...guards: RequestHandler[]
): void {
  const { handler, pathError } = createWebhookHandler(config, resolve);
  router.all(path, ...guards, handler);
  router.use(pathError);
}
