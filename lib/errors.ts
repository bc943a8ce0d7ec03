/**
 * One error shape for every failure the receiver answers: an HTTP status, a
 * stable machine-readable `code`, and a fixed sentence safe to send to Azure.
 * Never put an exception's own message here: @kubernetes/client-node's
 * `ApiException` embeds response bodies and headers in its message.
 * @module
 */

import { capEcho } from './sources/fields.js';
import { isObject } from './sources/result.js';

/** A failure with the status and fixed message the receiver answers with. */
export class ReceiverError extends Error {
  /** HTTP status to answer with. */
  readonly status: number;
  /** Stable code for logs and metrics. */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ReceiverError';
    this.status = status;
    this.code = code;
  }
}

/** The sentences the receiver answers a body it cannot read with (`{"error": …}`). */
export const BODY_ERRORS = {
  invalid: 'invalid request body',
  tooLarge: (limit: number | undefined): string =>
    limit === undefined ? 'request body too large' : `request body larger than ${limit} bytes`,
  unsupportedEncoding: (encoding: string): string =>
    `unsupported content encoding "${capEcho(encoding)}"`,
  unsupportedCharset: 'unsupported charset',
} as const;

/** The prefix of every message thrown at factory time (octokit style). */
export const PREFIX = '[kargo-azure-receiver]';

/** Builds the error thrown for invalid options, with the package prefix. */
export function optionsError(message: string): TypeError {
  return new TypeError(`${PREFIX} ${message}`);
}

/** Safe detail of an adapter error for logs: its code and status, never its message. */
export function errorDetail(err: unknown): Record<string, unknown> {
  if (!isObject(err)) return { error: typeof err };
  const detail: Record<string, unknown> = {};
  if (typeof err.name === 'string') detail.errorName = err.name;
  if (typeof err.code === 'string' || typeof err.code === 'number') detail.errorCode = err.code;
  if (typeof err.status === 'number') detail.errorStatus = err.status;
  return detail;
}
