/**
 * A receiver's tokens from its Secret (the bytes are zeroed once derived),
 * and the log line of a rotation.
 * @module
 */
import type { SecondFactor } from '../receiver/second-factor.js';
import type { Logger } from '../types.js';
import {
  PREVIOUS_SECRET_KEY,
  type AzureReceiverSpec,
  type SecretObject,
  type SecretProblem,
  receiverToken,
  secretBytes,
  secretSecondFactor,
} from './resources.js';
import { secretKey } from './secret-feed.js';

/** What a receiver's Secret gave it: its tokens, or why it has none. */
export type Derived =
  | { token: string; previousToken?: string; secondFactor?: SecondFactor }
  | { problem: SecretProblem };

/** Reads a Secret once: `derive` gives each receiver its tokens, `drop` zeroes the bytes. */
export function secretTokens(secret: SecretObject | undefined): {
  derive: (spec: AzureReceiverSpec) => Derived;
  drop: () => void;
} {
  const bytes = secretBytes(secret);
  const previous = secretBytes(secret, PREVIOUS_SECRET_KEY);
  const factor = typeof bytes === 'string' ? undefined : secretSecondFactor(secret);
  return {
    derive(spec) {
      if (typeof bytes === 'string') return { problem: bytes };
      if (typeof factor === 'string') return { problem: factor };
      const token = receiverToken(spec.project, spec.name, bytes);
      const previousToken =
        typeof previous === 'string' ? undefined : receiverToken(spec.project, spec.name, previous);
      const next: Derived =
        previousToken && previousToken !== token ? { token, previousToken } : { token };
      if (factor) next.secondFactor = factor;
      return next;
    },
    drop() {
      if (typeof bytes !== 'string') bytes.fill(0);
      if (typeof previous !== 'string') previous.fill(0);
    },
  };
}

/** One line per rotation of a served receiver, never naming the secret or a token. */
export function logRotation(
  logger: Logger,
  spec: AzureReceiverSpec,
  before: Derived | undefined,
  next: Derived,
  resourceVersion: string | undefined,
): void {
  if (!before || !('token' in before) || !('token' in next)) return;
  const fields = {
    config: spec.declaredBy,
    project: spec.project,
    receiver: spec.name,
    secretRef: secretKey(spec.secretNamespace, spec.secretName),
    resourceVersion,
  };
  const which = `Azure receiver "${spec.name}" of ${spec.declaredBy}`;
  if (before.token !== next.token) {
    if (next.previousToken === before.token)
      logger.info(
        { ...fields, previousURL: 'accepted' },
        `${which}: secret rotated; the previous URL stays accepted while the Secret holds "${PREVIOUS_SECRET_KEY}": register the new URL in Azure, then remove that key`,
      );
    else
      logger.warn(
        { ...fields, previousURL: 'rejected' },
        `${which}: secret rotated without "${PREVIOUS_SECRET_KEY}"; the previous URL now answers 404: register the new URL in Azure at once`,
      );
  } else if (before.previousToken && !next.previousToken) {
    logger.info(
      { ...fields, previousURL: 'rejected' },
      `${which}: rotation finished; the previous URL is no longer accepted`,
    );
  }
}
