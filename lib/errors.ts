/**
 * One error shape for every failure the receiver answers: an HTTP status, a
 * stable machine-readable `code`, and a fixed sentence safe to send to Azure.
 * Never put an exception's own message here: @kubernetes/client-node's
 * `ApiException` embeds response bodies and headers in its message.
 * @module
 */

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

/** The prefix of every message thrown at factory time (octokit style). */
export const PREFIX = '[kargo-azure-receiver]';

/** Builds the error thrown for invalid options, with the package prefix. */
export function optionsError(message: string): TypeError {
  return new TypeError(`${PREFIX} ${message}`);
}
