/**
 * Parses a JSON text, keeping only the fields a {@link Shape} selects.
 *
 * `JSON.parse` builds every value of a body: 200,000 keys inside an ACR
 * `target` cost it a second of event-loop time, during which every other
 * webhook of every project waits. This parser checks the whole text against
 * the JSON grammar (RFC 8259) in one linear pass but builds only the selected
 * values, so any body within the size limit costs about as much as scanning
 * its bytes, whatever its structure. Nesting is tracked on an explicit stack:
 * no depth overflows the call stack.
 * @module
 */

/**
 * Which fields to keep. `true` keeps a literal whole, and of an object or an
 * array only its type (an empty one), so that a field of the wrong type is
 * still seen as such. An object keeps the listed keys, each with its own
 * shape; `[shape]` keeps every item of an array with that shape.
 */
export type Shape = true | { readonly [key: string]: Shape } | readonly [Shape];

/** The text is not JSON. */
export class JSONSyntaxError extends SyntaxError {
  constructor(position: number) {
    super(`invalid JSON at position ${position}`);
    this.name = 'JSONSyntaxError';
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** What may follow a backslash, besides `u`: `" \\ / b f n r t`. */
const ESCAPES = new Set([...'"\\/bfnrt'].map((ch) => ch.charCodeAt(0)));

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    // RFC 8259 whitespace: space, tab, line feed, carriage return.
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
}

/**
 * A run of characters a string holds as they are. A sticky greedy class:
 * V8 runs it as a native loop, with no backtracking state per character.
 */
// eslint-disable-next-line no-control-regex -- JSON strings exclude exactly these control characters
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;

/** End (exclusive) of the string token starting at `start` (a quote). */
function scanString(text: string, start: number): number {
  let i = start + 1;
  // Most strings are short: a plain loop beats starting the regex.
  for (const stop = i + 32; i < stop; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH || c < 0x20 || Number.isNaN(c)) break;
  }
  for (;;) {
    PLAIN_RUN.lastIndex = i;
    PLAIN_RUN.test(text);
    i = PLAIN_RUN.lastIndex;
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c !== BACKSLASH) throw new JSONSyntaxError(i); // a control character, or the end
    const e = text.charCodeAt(i + 1);
    if (e === 0x75 /* u */) {
      for (let k = 2; k < 6; k++) if (!isHex(text.charCodeAt(i + k))) throw new JSONSyntaxError(i);
      i += 6;
    } else if (ESCAPES.has(e)) {
      i += 2;
    } else {
      throw new JSONSyntaxError(i);
    }
  }
}

function decodeString(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end - 1);
  return raw.includes('\\') ? (JSON.parse(text.slice(start, end)) as string) : raw;
}

function scanDigits(text: string, i: number): number {
  if (!isDigit(text.charCodeAt(i))) throw new JSONSyntaxError(i);
  while (isDigit(text.charCodeAt(i))) i++;
  return i;
}

/** End (exclusive) of the number token starting at `start`. */
function scanNumber(text: string, start: number): number {
  let i = start;
  if (text.charCodeAt(i) === MINUS) i++;
  if (text.charCodeAt(i) === ZERO) i++;
  else i = scanDigits(text, i);
  if (text.charCodeAt(i) === DOT) i = scanDigits(text, i + 1);
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    i = scanDigits(text, i);
  }
  return i;
}

/** End (exclusive) of the number, string or literal starting at `i`. */
function scanScalar(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return scanString(text, i);
  if (c === MINUS || isDigit(c)) return scanNumber(text, i);
  const literal = LITERALS.find(([word]) => text.startsWith(word, i));
  if (literal === undefined) throw new JSONSyntaxError(i);
  return i + literal[0].length;
}

/** Position after an object member's key and colon, from `i`. */
function skipKey(text: string, i: number): number {
  i = skipSpace(text, i);
  if (text.charCodeAt(i) !== QUOTE) throw new JSONSyntaxError(i);
  i = skipSpace(text, scanString(text, i));
  if (text.charCodeAt(i) !== COLON) throw new JSONSyntaxError(i);
  return i + 1;
}

/** One byte per open container of the value being skipped (reused: parsing is synchronous). */
let levels = new Uint8Array(64);

/**
 * End (exclusive) of the value starting at `i`, checked but not built: the
 * fast path for everything a shape does not select. Only whether each open
 * container is an object is remembered, one byte per level.
 */
function skipValue(text: string, i: number): number {
  let objects = levels;
  let depth = 0;
  for (;;) {
    i = skipSpace(text, i);
    const c = text.charCodeAt(i);
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const isObject = c === OPEN_OBJECT;
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) !== (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        if (depth === objects.length) {
          const grown = new Uint8Array(depth * 2);
          grown.set(objects);
          objects = grown;
          // Kept for the next value up to a size; a deeper one grows its own.
          if (grown.length <= 4096) levels = grown;
        }
        objects[depth++] = isObject ? 1 : 0;
        if (isObject) i = skipKey(text, i);
        continue;
      }
      i++;
    } else {
      i = scanScalar(text, i);
    }
    while (depth > 0) {
      i = skipSpace(text, i);
      const d = text.charCodeAt(i);
      const inObject = objects[depth - 1] === 1;
      if (d === COMMA) {
        i++;
        if (inObject) i = skipKey(text, i);
        break;
      }
      if (d !== (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) throw new JSONSyntaxError(i);
      i++;
      depth--;
    }
    if (depth === 0) return i;
  }
}

const LITERALS: ReadonlyArray<[string, unknown]> = [
  ['true', true],
  ['false', false],
  ['null', null],
];

/** An open object or array that is kept. */
interface Frame {
  container: Record<string, unknown> | unknown[];
  /** Arrays: the shape of every item, undefined when items are not kept. */
  items: Shape | undefined;
  /** Objects: the selected keys and their shapes. */
  fields: ReadonlyArray<readonly [string, Shape]>;
  /** Objects: the key of the member being read. */
  key: string;
}

const NO_FIELDS: ReadonlyArray<readonly [string, Shape]> = [];

/** The entries of each object shape, computed once: an array of 20,000 kept objects opens 20,000 frames. */
const fieldsOf = new WeakMap<object, ReadonlyArray<readonly [string, Shape]>>();

function openFrame(isArray: boolean, shape: Shape): Frame {
  if (isArray) {
    const items = Array.isArray(shape) ? (shape as readonly [Shape])[0] : undefined;
    return { container: [], items, fields: NO_FIELDS, key: '' };
  }
  if (shape === true || Array.isArray(shape)) {
    return { container: {}, items: undefined, fields: NO_FIELDS, key: '' };
  }
  let fields = fieldsOf.get(shape);
  if (fields === undefined) {
    fields = Object.entries(shape);
    fieldsOf.set(shape, fields);
  }
  return { container: {}, items: undefined, fields, key: '' };
}

function store(frame: Frame, value: unknown): void {
  if (Array.isArray(frame.container)) frame.container.push(value);
  else frame.container[frame.key] = value;
}

function hasBackslash(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === BACKSLASH) return true;
  return false;
}

/**
 * Reads the key of the next member of an object and its colon; sets
 * `frame.key` and returns the member's shape (undefined when skipped) and the
 * position of its value. A key is compared in place with the few selected
 * ones, never built or hashed: 200,000 keys cost a scan.
 */
function readKey(text: string, i: number, frame: Frame): [Shape | undefined, number] {
  i = skipSpace(text, i);
  if (text.charCodeAt(i) !== QUOTE) throw new JSONSyntaxError(i);
  const end = scanString(text, i);
  let shape: Shape | undefined;
  if (frame.fields.length > 0) {
    const length = end - i - 2;
    const escaped = hasBackslash(text, i + 1, end - 1);
    const key = escaped ? decodeString(text, i, end) : undefined;
    for (const [name, sub] of frame.fields) {
      if (
        key === undefined ? name.length === length && text.startsWith(name, i + 1) : name === key
      ) {
        frame.key = name;
        shape = sub;
        break;
      }
    }
  }
  i = skipSpace(text, end);
  if (text.charCodeAt(i) !== COLON) throw new JSONSyntaxError(i);
  return [shape, i + 1];
}

/**
 * Parses `text` as JSON and returns the fields `shape` selects, as
 * `JSON.parse(text)` would have them. Throws {@link JSONSyntaxError} when
 * the text is not JSON.
 */
export function parseSelected(text: string, shape: Shape): unknown {
  const stack: Frame[] = [];
  let root: unknown;
  let i = 0;
  // Shape of the value about to be read; undefined when it is skipped.
  let valueShape: Shape | undefined = shape;
  for (;;) {
    i = skipSpace(text, i);
    const parent = stack.at(-1);
    const c = text.charCodeAt(i);
    let value: unknown;
    if (valueShape === undefined) {
      i = skipValue(text, i);
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const isArray = c === OPEN_ARRAY;
      const frame = openFrame(isArray, valueShape);
      if (parent === undefined) root = frame.container;
      else store(parent, frame.container);
      stack.push(frame);
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) !== (isArray ? CLOSE_ARRAY : CLOSE_OBJECT)) {
        if (isArray) valueShape = frame.items;
        else [valueShape, i] = readKey(text, i, frame);
        continue;
      }
      i++;
      stack.pop();
    } else {
      const end = scanScalar(text, i);
      if (c === QUOTE) value = decodeString(text, i, end);
      else if (c === MINUS || isDigit(c)) value = Number(text.slice(i, end));
      else value = LITERALS.find(([word]) => text.startsWith(word, i))?.[1];
      i = end;
      if (parent === undefined) root = value;
      else store(parent, value);
    }
    // After a value: a comma and the next member, or the end of containers.
    let next = false;
    while (!next) {
      const frame = stack.at(-1);
      if (frame === undefined) {
        i = skipSpace(text, i);
        if (i !== text.length) throw new JSONSyntaxError(i);
        return root;
      }
      i = skipSpace(text, i);
      const d = text.charCodeAt(i);
      const isArray = Array.isArray(frame.container);
      if (d === COMMA) {
        i++;
        if (isArray) valueShape = frame.items;
        else [valueShape, i] = readKey(text, i, frame);
        next = true;
      } else if (d === (isArray ? CLOSE_ARRAY : CLOSE_OBJECT)) {
        i++;
        stack.pop();
      } else {
        throw new JSONSyntaxError(i);
      }
    }
  }
}
