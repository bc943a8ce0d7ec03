import type { EventSource, ReceiverEvent } from '../types.js';

/**
 * What a recognised Azure payload asks of us.
 * - `ping`: answer 200 and do nothing else.
 * - `ignore`: a recognised event that needs no action; `reason` says why (sent to Azure).
 * - `invalid`: a recognised event whose fields have the wrong types; `reason` is sent to Azure.
 * - `refresh`: look up and refresh what `event` concerns.
 */
export type Classification =
  | { action: 'ping'; source: 'acr'; eventType: string }
  | { action: 'ignore'; source: EventSource; eventType: string; reason: string }
  | { action: 'invalid'; source: EventSource; eventType: string; reason: string }
  | { action: 'refresh'; source: EventSource; eventType: string; event: ReceiverEvent };

/** A plain JSON object, as the receiver hands it to the sources. */
export type JSONObject = Record<string, unknown>;

/** True when `value` is a non-null, non-array object. */
export function isObject(value: unknown): value is JSONObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Unique values, first occurrence order. */
export function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}
