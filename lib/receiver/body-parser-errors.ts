/**
 * `bodyParserErrors()`: when an app-wide body parser (`express.json()`) fails, Express answers with
 * its HTML error page and logs a stack; this handler answers as the receiver does instead.
 * @module
 */
import type { ErrorRequestHandler } from 'express';
import { BODY_ERRORS } from '../errors.js';
import { isObject } from '../sources/result.js';

/** The `type`s of body-parser's and raw-body's failures; any other error passes on. */
const BODY_PARSER_TYPES = new Set([
  'entity.parse.failed',
  'entity.verify.failed',
  'entity.too.large',
  'encoding.unsupported',
  'charset.unsupported',
  'parameters.too.many',
  'request.aborted',
  'request.size.invalid',
  'stream.encoding.set',
  'stream.not.readable',
]);

/** The receiver's answer to a body-parser failure, or undefined for any other error. */
export function bodyParserAnswer(err: unknown): { status: number; error: string } | undefined {
  if (!isObject(err) || typeof err.type !== 'string' || !BODY_PARSER_TYPES.has(err.type)) {
    return undefined;
  }
  switch (err.type) {
    case 'entity.too.large':
      // The limit that refused it: the parser's (express.json: 100 kB by default).
      return {
        status: 413,
        error: BODY_ERRORS.tooLarge(typeof err.limit === 'number' ? err.limit : undefined),
      };
    case 'encoding.unsupported':
      return {
        status: 415,
        error: BODY_ERRORS.unsupportedEncoding(
          typeof err.encoding === 'string' ? err.encoding : 'unknown',
        ),
      };
    case 'charset.unsupported':
      return { status: 415, error: BODY_ERRORS.unsupportedCharset };
    default:
      return { status: 400, error: BODY_ERRORS.invalid };
  }
}

/**
 * An Express error handler that answers body-parser failures as the receiver
 * does: `400 {"error":"invalid request body"}` for malformed JSON, `413
 * {"error":"request body larger than 102400 bytes"}` past the parser's
 * limit, 415 for an encoding it cannot decode. Any other error is passed on.
 * Mount it after the receiver, at the same path, when a body parser runs
 * before the receiver and cannot be moved after it:
 *
 * ```ts
 * app.use(express.json());
 * app.use('/azure', azureReceiver({ token, ...adapter }), bodyParserErrors());
 * ```
 * Mounting the receiver before the body parser needs none of this: it reads
 * the body itself, with its own limit (`maxBodyBytes`, 2 MiB).
 */
export function bodyParserErrors(): ErrorRequestHandler {
  return function bodyParserErrorsMiddleware(err, _req, res, next) {
    const answer = bodyParserAnswer(err);
    // body-parser has read off the rest of the body before failing, so the
    // answer reaches the client and the connection stays usable.
    if (answer === undefined || res.headersSent) {
      next(err);
      return;
    }
    res.status(answer.status).json({ error: answer.error });
  };
}
