/**
 * The request pipeline every receiver shares:
 * token → method → size limit → parse → classify → lookup → refresh.
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import pLimit from 'p-limit';
import getRawBody from 'raw-body';
import { ReceiverError, errorDetail } from './errors.js';
import { createExplainer, type ExplanationFields } from './explanation.js';
import type { HandlerConfig, WebhookRecord } from './options.js';
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
}

/** Finds the endpoint of a URL token, or undefined when the token is not accepted. */
export type ResolveToken = (token: string) => Endpoint | undefined;

interface Answer {
  status: number;
  body: ({ msg: string } & ExplanationFields) | { error: string };
}

/** Fixed answers. */
export const PING_MESSAGE = 'ping event received, webhook is configured correctly';
const NOT_FOUND: Answer = { status: 404, body: { error: 'not found' } };
const INVALID_BODY = 'invalid request body';

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
    throw new ReceiverError(
      413,
      'BODY_TOO_LARGE',
      `request body larger than ${maxBodyBytes} bytes`,
    );
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    throw new ReceiverError(
      415,
      'UNSUPPORTED_ENCODING',
      `unsupported content encoding "${encoding}"`,
    );
  }
  let raw: Buffer;
  try {
    // raw-body stops reading (and fails) as soon as the limit is passed, so
    // a chunked body never buffers past maxBodyBytes.
    raw = await getRawBody(req, { limit: maxBodyBytes, length: req.headers['content-length'] });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') {
      throw new ReceiverError(
        413,
        'BODY_TOO_LARGE',
        `request body larger than ${maxBodyBytes} bytes`,
      );
    }
    throw new ReceiverError(400, 'BODY_UNREADABLE', INVALID_BODY);
  }
  try {
    // A UTF-8 byte order mark is tolerated: .NET senders may prepend one.
    return JSON.parse(raw.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    throw new ReceiverError(400, 'INVALID_JSON', INVALID_BODY);
  }
}

/** What `withDeadline` resolves to when time ran out. */
const TIMED_OUT = Symbol('timed out');

/** `promise`, or TIMED_OUT once `ms` passed; the timer never keeps the process alive. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
    timer.unref();
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Refreshes every target, `concurrency` at a time, until `deadlineMs` has
 * passed; counts the refreshes that failed or did not finish in time. Never
 * throws. Unfinished refreshes go on in the background: they are idempotent,
 * and Azure retries the 503.
 */
async function refreshAll(
  targets: RefreshTarget[],
  refresh: Refresh,
  concurrency: number,
  deadlineMs: number,
  onError: (target: RefreshTarget, err: unknown) => void,
): Promise<{ failed: number; timedOut: boolean }> {
  const limit = pLimit(concurrency);
  let succeeded = 0;
  const all = Promise.all(
    targets.map((target) =>
      limit(async () => {
        try {
          await refresh(target);
          succeeded++;
        } catch (err) {
          onError(target, err);
        }
      }),
    ),
  );
  const outcome = await withDeadline(all, deadlineMs);
  if (outcome === TIMED_OUT) limit.clearQueue();
  return { failed: targets.length - succeeded, timedOut: outcome === TIMED_OUT };
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
  const { logger, maxBodyBytes, concurrency, onWebhook, deadlineMs } = config;
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
      record.repoURLs = event.repoURLs;
      record.qualifiers = event.qualifiers;
    } else {
      record.prURL = event.prURL;
    }
    const kind = targetKind(event);
    const lookupFailed = new ReceiverError(
      503,
      'LOOKUP_FAILED',
      `failed to look up ${kind === 'Warehouse' ? 'subscribed warehouses' : 'waiting promotions'}`,
    );
    let targets: RefreshTarget[];
    try {
      // Inside the try: an adapter that throws synchronously is a failed lookup too.
      const found = await withDeadline(
        Promise.resolve().then(() => endpoint.lookup(event)),
        remaining(started),
      );
      if (found === TIMED_OUT) {
        logger.error({ ...endpoint.labels, deadlineMs }, 'lookup did not finish in time');
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
      remaining(started),
      (target, err) => {
        logger.error({ ...endpoint.labels, target, ...errorDetail(err) }, 'refresh failed');
      },
    );
    if (timedOut)
      logger.error({ ...endpoint.labels, deadlineMs }, 'refreshes did not finish in time');
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
      withDeadline(explaining, remaining(started)),
    );
    if (fields.hint !== undefined) record.hint = fields.hint;
    return {
      status: 200,
      body: { msg: `refreshed ${targets.length} ${plural(kind)}`, ...fields },
    };
  }

  /**
   * Node discards an unread request body after the answer to keep the
   * connection alive; for a refused body that is larger than the limit, or of
   * unknown length, close instead so it is never read.
   */
  function mustClose(req: Request, status: number): boolean {
    if (status === 413) return true;
    if (status !== 404 && status !== 405 && status !== 415) return false;
    if (req.readableEnded) return false;
    const length = req.headers['content-length'];
    if (length === undefined) return req.headers['transfer-encoding'] !== undefined;
    return !(Number(length) <= maxBodyBytes);
  }

  function finish(
    req: Request,
    res: Response,
    record: WebhookRecord,
    answer: Answer,
    started: bigint,
  ): void {
    record.status = answer.status;
    record.durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (answer.status === 405) res.set('Allow', 'POST');
    if (mustClose(req, answer.status)) res.set('Connection', 'close');
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
