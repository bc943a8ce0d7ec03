/**
 * The step after the body is read: what it is (sources/). A ping or an
 * ignored event is answered here, an invalid one refused; a push or pull
 * request event goes on to the lookup.
 * @module
 */
import { BODY_ERRORS, ReceiverError } from '../errors.js';
import { capEcho, capEchoList } from '../sources/fields.js';
import { classify } from '../sources/index.js';
import { isObject } from '../sources/result.js';
import type { ReceiverEvent } from '../types.js';
import type { Answer } from './answer.js';
import type { WebhookRecord } from './options.js';

export const PING_MESSAGE = 'ping event received, webhook is configured correctly';
const UNRECOGNISED =
  'request body is neither an Azure Container Registry nor an Azure DevOps event';

/** The event to act on, or the answer that ends the request here; records what the body is. */
export function classifyBody(body: unknown, record: WebhookRecord): ReceiverEvent | Answer {
  if (!isObject(body)) throw new ReceiverError(400, 'NOT_AN_OBJECT', BODY_ERRORS.invalid);
  const classification = classify(body);
  if (!classification) throw new ReceiverError(400, 'UNRECOGNISED_EVENT', UNRECOGNISED);
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
  }
  const event = classification.event;
  if (event.type === 'push') {
    record.repoURLs = capEchoList(event.repoURLs);
    record.qualifiers = capEchoList(event.qualifiers);
  } else {
    record.prURL = capEcho(event.prURL);
  }
  return event;
}
