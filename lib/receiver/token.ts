/**
 * URL tokens: Kargo-compatible derivation and a constant-time check. Azure can sign neither ACR nor Azure DevOps webhooks, so the secret is the
 * URL itself (https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference).
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { PREFIX } from '../errors.js';

/** What a Kargo Azure receiver's path is derived from. */
export interface KargoTokenInput {
  /** The Kargo project: the ProjectConfig's namespace; empty for cluster-level receivers. */
  project: string;
  /** The receiver's `name` in `spec.webhookReceivers[]`. */
  receiver: string;
  /** The decoded `data.secret` of the referenced Secret. */
  secret: string;
}

/**
 * Hex SHA-256 of `project + receiver + secret`: Kargo's Azure path segment (`buildWebhookPath`,
 * pkg/webhook/external/receiver.go). Throws a TypeError on an empty or missing `secret`: the token
 * would follow from guessable names.
 */
export function kargoToken(input: KargoTokenInput): string {
  const { project, receiver, secret } = (input ?? {}) as Partial<KargoTokenInput>;
  if (typeof secret !== 'string' || secret === '') {
    throw new TypeError(
      `${PREFIX} kargoToken(): secret is ${secret === '' ? 'empty' : 'missing'}: without it the URL token follows from the project and receiver names, which anyone can guess`,
    );
  }
  if (typeof project !== 'string')
    throw new TypeError(
      `${PREFIX} kargoToken(): project must be a string ('' for a cluster-level receiver)`,
    );
  if (typeof receiver !== 'string' || receiver === '')
    throw new TypeError(`${PREFIX} kargoToken(): receiver must be the receiver's name`);
  return createHash('sha256')
    .update(project + receiver + secret, 'utf8')
    .digest('hex');
}

/** SHA-256 of `value`: fixed-length, so `timingSafeEqual` can compare any two. */
export function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Accepted tokens → values; `find` compares digests with every entry, no early exit (constant time). */
export class TokenRegistry<T> {
  readonly #entries = new Map<string, { digest: Buffer; value: T }>();

  /** Accepts `token` from now on, answering `value` for it. */
  set(token: string, value: T): void {
    this.#entries.set(token, { digest: digest(token), value });
  }

  /** Stops accepting `token`. */
  delete(token: string): boolean {
    return this.#entries.delete(token);
  }

  /** Accepts nothing any more. */
  clear(): void {
    this.#entries.clear();
  }

  /** Number of accepted tokens. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value of the accepted token equal to `candidate`, or undefined. */
  find(candidate: string): T | undefined {
    const probe = digest(candidate);
    let found: T | undefined;
    for (const entry of this.#entries.values()) {
      // No early exit: every entry is compared whatever the outcome.
      if (timingSafeEqual(probe, entry.digest) && found === undefined) found = entry.value;
    }
    return found;
  }
}
