/**
 * How a Kubernetes request fails: status and Status `reason` only, never the body; `Retry-After` read.
 * @module
 */
import type http from 'node:http';

/** A failed request; its message holds the status and Status `reason` only, never the body. */
export class KubeHttpError extends Error {
  /** HTTP status, or undefined for a network error / timeout. */
  readonly statusCode: number | undefined;
  /** The `reason` of the Kubernetes Status (`Forbidden`, `Expired`, …), or a network error code. */
  readonly reason: string | undefined;
  /** The `Retry-After` of a 429 or 5xx answer, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(statusCode: number | undefined, reason: string | undefined, retryAfterMs?: number) {
    super(
      statusCode
        ? `Kubernetes API answered ${statusCode}${reason ? ` ${reason}` : ''}`
        : `Kubernetes API request failed${reason ? `: ${reason}` : ''}`,
    );
    this.name = 'KubeHttpError';
    this.statusCode = statusCode;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A reason safe to log: a single CamelCase or CONSTANT word, nothing taken from free text. */
export function safeReason(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z_]{1,64}$/.test(value) ? value : undefined;
}

/** Turns a network-level failure into a KubeHttpError naming only its code. */
export function networkError(
  err: unknown,
  signal: AbortSignal | undefined,
  timedOut: boolean,
): KubeHttpError {
  if (timedOut) return new KubeHttpError(undefined, 'Timeout');
  if (signal?.aborted) return new KubeHttpError(undefined, 'Aborted');
  const code = (err as { code?: unknown } | null)?.code;
  return new KubeHttpError(undefined, safeReason(code) ?? 'NetworkError');
}

const MAX_ERROR_BODY = 64 * 1024;

async function readStatusReason(res: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > MAX_ERROR_BODY) break;
    chunks.push(chunk as Buffer);
  }
  try {
    const status = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { reason?: unknown };
    return safeReason(status.reason);
  } catch {
    return undefined;
  }
}

/**
 * `Retry-After` in ms (delta-seconds or HTTP date) of a 429/5xx (priority-and-fairness and
 * `--max-requests-inflight` answer 429 with `Retry-After: 1`; client-go's `checkWait` in rest/request.go honours it).
 */
export function retryAfterMs(
  header: string | string[] | undefined,
  now = Date.now(),
): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export async function failure(res: http.IncomingMessage): Promise<KubeHttpError> {
  const status = res.statusCode ?? 0;
  const retryAfter =
    status === 429 || status >= 500 ? retryAfterMs(res.headers['retry-after']) : undefined;
  return new KubeHttpError(status, await readStatusReason(res), retryAfter);
}
