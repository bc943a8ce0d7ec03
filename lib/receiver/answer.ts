/**
 * The last step: an answer goes out once the rest of an unread body is
 * drained (read-body.ts), followed by its log line and `onWebhook` record.
 * @module
 */
import type { NextFunction, Request, Response } from 'express';
import { ReceiverError, errorDetail } from '../errors.js';
import type { ExplanationFields } from './explanation.js';
import type { HandlerConfig, WebhookRecord } from './options.js';
import { afterUnreadBody, drainLimit } from './read-body.js';

/** One webhook request on its way through the pipeline. */
export interface Delivery {
  req: Request;
  res: Response;
  /** What the log line and `onWebhook` get: each step fills in its part. */
  record: WebhookRecord;
  /** `process.hrtime.bigint()` at arrival: the deadline and `durationMs` count from it. */
  started: bigint;
}

export interface Answer {
  status: number;
  body: ({ msg: string } & ExplanationFields) | { error: string };
  /** Extra response headers (`WWW-Authenticate`). */
  headers?: Record<string, string>;
}

export const NOT_FOUND: Answer = { status: 404, body: { error: 'not found' } };

/** A request just arrived: nothing known yet, so `not-found` until a step knows better. */
export function startDelivery(req: Request, res: Response): Delivery {
  const started = process.hrtime.bigint();
  const record: WebhookRecord = {
    outcome: 'not-found',
    status: 0,
    matched: 0,
    refreshed: 0,
    failed: 0,
    durationMs: 0,
  };
  return { req, res, record, started };
}

export function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Builds `reply` (send an answer) and `fail` (answer a thrown error). */
export function createResponder(config: HandlerConfig) {
  const { logger, onWebhook } = config;
  const drainBytes = drainLimit(config.maxBodyBytes);

  function send({ res, record, started }: Delivery, answer: Answer, drained: boolean): void {
    record.status = answer.status;
    record.durationMs = elapsedMs(started);
    if (answer.status === 405) res.set('Allow', 'POST');
    if (answer.headers) res.set(answer.headers);
    if (!drained) res.set('Connection', 'close');
    res.status(answer.status).json(answer.body);
    const level = answer.status >= 500 ? 'error' : answer.status >= 400 ? 'warn' : 'info';
    logger[level]({ ...record }, 'webhook');
    try {
      onWebhook?.(record);
    } catch (err) {
      logger.warn(errorDetail(err), 'onWebhook threw');
    }
  }

  function reply(delivery: Delivery, answer: Answer): void {
    afterUnreadBody(delivery.req, drainBytes, (drained) => send(delivery, answer, drained));
  }

  function fail(delivery: Delivery, err: unknown, next: NextFunction): void {
    const { record } = delivery;
    if (err instanceof ReceiverError) {
      record.outcome = record.outcome === 'not-found' ? 'rejected' : record.outcome;
      if (err.status >= 500) record.outcome = 'failed';
      record.code = err.code;
      reply(delivery, { status: err.status, body: { error: err.message } });
      return;
    }
    // A bug of ours: never show its text; 503 so Azure retries.
    logger.error(errorDetail(err), 'unexpected error');
    record.outcome = 'failed';
    record.code = 'INTERNAL';
    if (delivery.res.headersSent) return next(err);
    reply(delivery, { status: 503, body: { error: 'internal error' } });
  }

  return { reply, fail };
}
