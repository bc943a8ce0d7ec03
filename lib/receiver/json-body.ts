/**
 * A request body as JSON: `JSON.parse`, after a linear scan that refuses
 * deep nesting, the structure that costs `JSON.parse` most per byte. With
 * the body limit, this bounds the work per body (`npm run bench -- bodies`).
 * @module
 */
import { ReceiverError } from '../errors.js';

/**
 * Deepest nesting of objects and arrays accepted. The deepest real Azure
 * payload nests 5 levels (an Azure DevOps git.push).
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when `text` opens more than `limit` objects and arrays at once,
 * brackets inside strings aside. Exact on valid JSON, and on any prefix of
 * it: `JSON.parse` stops at the first error, so it never sees deeper nesting.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string: past escapes, to its closing quote (or the end).
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === QUOTE) break;
        if (s === BACKSLASH) i++;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/**
 * Parses a raw body. A UTF-8 byte order mark is tolerated: .NET senders may
 * prepend one. `JSON.parse` makes a `__proto__` key an own property, never
 * the prototype; the sources read own properties only.
 */
export function parseJSONBody(raw: Buffer): unknown {
  const text = raw.toString('utf8').replace(/^\uFEFF/, '');
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new ReceiverError(
      400,
      'JSON_TOO_DEEP',
      `request body nested deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ReceiverError(400, 'INVALID_JSON', 'invalid request body');
  }
}
