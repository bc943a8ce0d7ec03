/**
 * The request body: read up to `maxBodyBytes`, identity-encoded, and parsed
 * (json-body.ts); or, for a refused request, drained before its answer.
 * @module
 */
import type { Request } from 'express';
import getRawBody from 'raw-body';
import { BODY_ERRORS, ReceiverError } from '../errors.js';
import { parseJSONBody } from './json-body.js';

/** Whether an upstream body parser consumed the stream (body-parser 1.x: `req._body`; 2.x: ended). */
function consumedUpstream(req: Request): boolean {
  return (req as Request & { _body?: boolean })._body === true || req.readableEnded;
}

/** The parsed body, or a ReceiverError (400, 413, 415) saying why there is none. */
export async function readBody(req: Request, maxBodyBytes: number): Promise<unknown> {
  if (consumedUpstream(req)) {
    if (req.body === undefined) throw new ReceiverError(400, 'INVALID_JSON', BODY_ERRORS.invalid);
    return req.body as unknown;
  }
  const tooLarge = () =>
    new ReceiverError(413, 'BODY_TOO_LARGE', BODY_ERRORS.tooLarge(maxBodyBytes));
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) throw tooLarge();
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    throw new ReceiverError(415, 'UNSUPPORTED_ENCODING', BODY_ERRORS.unsupportedEncoding(encoding));
  }
  let raw: Buffer;
  try {
    // raw-body fails as soon as the limit is passed: a chunked body never buffers past it.
    raw = await getRawBody(req, { limit: maxBodyBytes, length: req.headers['content-length'] });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw tooLarge();
    throw new ReceiverError(400, 'BODY_UNREADABLE', BODY_ERRORS.invalid);
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
 * A refused request leaves its body unread; answering and closing at once loses the answer (the
 * client's kernel gets a reset and drops the 413). So up to `limit` bytes are drained first. Past
 * that, or idle for `DRAIN_IDLE_MS` (a stalled upload must not hold its answer), it goes out with
 * `Connection: close`.
 */
export function afterUnreadBody(req: Request, limit: number, then: (drained: boolean) => void) {
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
    req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
    if (!drained) req.pause();
    then(drained);
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > limit) {
      settle(false);
      return;
    }
    clearTimeout(idle);
    idle = setTimeout(() => settle(false), DRAIN_IDLE_MS);
  };
  const onEnd = (): void => settle(true);
  const onAbort = (): void => settle(req.readableEnded);
  req.on('data', onData).once('end', onEnd).once('error', onAbort).once('close', onAbort);
  req.resume();
}
