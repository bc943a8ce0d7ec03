/**
 * Reads the few fields a source needs from an untrusted JSON body without walking or copying the rest (joi would
 * visit and clone every key, even with `unknown(true)`): a body of 200,000 keys costs no more than a small one.
 * @module
 */
import { isObject, type JSONObject } from './result.js';

/** A field of the wrong type; `message` names its path, as `"target.tag" must be a string`. */
export class FieldError extends Error {
  constructor(path: string, expected: string) {
    super(`"${path}" must be ${expected}`);
    this.name = 'FieldError';
  }
}

/** The own property `key` of `obj` (not `toString` or `constructor` from Object.prototype). */
export function own(obj: JSONObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Longest string field read: Azure's names, tags, refs and URLs stay far below (ACR: 255, tags 128); bounds URL and tag work. */
export const MAX_FIELD_CHARS = 2048;

/** `obj[key]` as a string, undefined when absent; throws FieldError on another type or past {@link MAX_FIELD_CHARS}. */
export function stringField(obj: JSONObject, key: string, path: string): string | undefined {
  const value = own(obj, key);
  if (value === undefined) return value;
  if (typeof value !== 'string') throw new FieldError(path, 'a string');
  if (value.length > MAX_FIELD_CHARS)
    throw new FieldError(path, `at most ${MAX_FIELD_CHARS} characters long`);
  return value;
}

/** `obj[key]` as an object, `{}` when absent; throws FieldError on another type. */
export function objectField(obj: JSONObject, key: string, path: string): JSONObject {
  const value = own(obj, key);
  if (value === undefined) return {};
  if (isObject(value)) return value;
  throw new FieldError(path, 'of type object');
}

/** `obj[key]` as an array, `[]` when absent; throws FieldError on another type. */
export function arrayField(obj: JSONObject, key: string, path: string): unknown[] {
  const value = own(obj, key);
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  throw new FieldError(path, 'an array');
}

/** `obj[key]` as a positive integer, undefined when absent; throws FieldError otherwise. */
export function positiveIntegerField(
  obj: JSONObject,
  key: string,
  path: string,
): number | undefined {
  const value = own(obj, key);
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value;
  throw new FieldError(path, 'a positive integer');
}

/** Most refs of one push matched against tag and branch rules; a push of more refreshes every subscriber of the repository. */
export const MAX_QUALIFIERS = 100;

/** Longest string echoed whole into an answer or a log line. */
export const MAX_ECHO_CHARS = 200;

/** `value` cut to {@link MAX_ECHO_CHARS} characters, marked as cut: a 2 MB event name must not become a 2 MB answer or log line. */
export function capEcho(value: string): string {
  if (value.length <= MAX_ECHO_CHARS) return value;
  let end = MAX_ECHO_CHARS;
  // Never split a surrogate pair.
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${value.slice(0, end)}…[cut: ${value.length} characters]`;
}

/** Most entries of a list echoed into a log line or a record. */
export const MAX_ECHO_ENTRIES = 20;

/** `values` with each entry cut, and at most {@link MAX_ECHO_ENTRIES} of them, the cut marked. */
export function capEchoList(values: readonly string[]): string[] {
  const head = values.slice(0, MAX_ECHO_ENTRIES).map(capEcho);
  if (values.length > MAX_ECHO_ENTRIES) head.push(`…[cut: ${values.length} entries]`);
  return head;
}
