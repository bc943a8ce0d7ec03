/**
 * An optional second factor besides the URL token: basic authentication and custom headers, as
 * Azure DevOps service hooks and ACR webhooks send (https://learn.microsoft.com/azure/devops/service-hooks/services/webhooks,
 * https://learn.microsoft.com/cli/azure/acr/webhook). Only SHA-256 digests are kept, compared with
 * every accepted one (`timingSafeEqual`, no early exit): timing tells nothing of a value.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import parseBasicAuth from 'basic-auth';
import { digest } from './token.js';

/** One accepted pair of HTTP basic authentication credentials. */
export interface BasicCredentials {
  /** The user name: no `:` (RFC 7617), no control characters. */
  username: string;
  /** The password: no control characters. */
  password: string;
}

/** The second factor as the options give it. */
export interface SecondFactorOptions {
  /** Accepted credentials; several allow rotation without downtime. */
  basicAuth?: BasicCredentials | readonly BasicCredentials[] | undefined;
  /** Header name (any case) → accepted value(s); every named header is required. */
  headers?: Readonly<Record<string, string | readonly string[]>> | undefined;
}

/** Which factor a request failed, and how; never the value. */
export interface FactorFailure {
  /** `basic-auth`, or `header` with `header` naming it (lower case). */
  factor: 'basic-auth' | 'header';
  header?: string;
  /** `missing`: not sent; `malformed`: not a Basic `Authorization`; `wrong`: no accepted value. */
  reason: 'missing' | 'malformed' | 'wrong';
}

/** The realm of the `WWW-Authenticate` challenge. */
export const BASIC_REALM = 'kargo-azure-receiver';

/** Headers describing the message: proxies rewrite them, Node handles them; no second factor. */
export const RESERVED_HEADERS: readonly string[] = [
  'connection',
  'content-encoding',
  'content-length',
  'content-type',
  'expect',
  'host',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** An RFC 9110 field name (`token`). */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value Node hands over unchanged: printable ASCII, inner spaces and tabs, no surrounding white space. */
export const HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?$/;
/** Whether `value` is non-empty and free of control characters (basic-auth cannot decode a line break). */
function printable(value: string): boolean {
  if (value === '') return false;
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

/** Whether `probe` equals one of `accepted`, comparing with every one of them. */
function matchesAny(probe: Buffer, accepted: readonly Buffer[]): boolean {
  let found = 0;
  for (const candidate of accepted) found |= Number(timingSafeEqual(probe, candidate));
  return found === 1;
}

/** Why a second factor cannot be built; names the item, never its value. */
export class SecondFactorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecondFactorError';
  }
}

function list<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** A compiled second factor, built by {@link secondFactor}; immutable: a rotation builds anew. */
export class SecondFactor {
  readonly #basic: ReadonlyArray<{ username: Buffer; password: Buffer }>;
  readonly #headers: ReadonlyMap<string, readonly Buffer[]>;
  /** The factors required, for logs: `basic-auth`, `header:<name>`. */
  readonly factors: readonly string[];
  /** The `WWW-Authenticate` value of a 401, when basic authentication is required. */
  readonly challenge: string | undefined;

  constructor(basic: readonly BasicCredentials[], headers: ReadonlyMap<string, readonly string[]>) {
    this.#basic = basic.map((c) => ({
      username: digest(c.username),
      password: digest(c.password),
    }));
    this.#headers = new Map([...headers].map(([name, values]) => [name, values.map(digest)]));
    this.factors = [
      ...(basic.length ? ['basic-auth'] : []),
      ...[...headers.keys()].map((name) => `header:${name}`),
    ];
    this.challenge = basic.length ? `Basic realm="${BASIC_REALM}", charset="UTF-8"` : undefined;
  }

  /** The factors `headers` fail; empty when the request passes. Every factor is checked. */
  check(headers: IncomingHttpHeaders): FactorFailure[] {
    const failures: FactorFailure[] = [];
    if (this.#basic.length) {
      const header = headers.authorization;
      const credentials = parseBasicAuth.parse(header ?? '');
      // Hashed and compared even when absent, so every request costs the same.
      const username = digest(credentials?.name ?? '');
      const password = digest(credentials?.pass ?? '');
      let found = 0;
      for (const accepted of this.#basic)
        found |=
          Number(timingSafeEqual(username, accepted.username)) &
          Number(timingSafeEqual(password, accepted.password));
      if (header === undefined) failures.push({ factor: 'basic-auth', reason: 'missing' });
      else if (!credentials) failures.push({ factor: 'basic-auth', reason: 'malformed' });
      else if (found !== 1) failures.push({ factor: 'basic-auth', reason: 'wrong' });
    }
    for (const [name, accepted] of this.#headers) {
      const value = headers[name];
      // A repeated header arrives joined ("a, b") or as an array: neither is an accepted value.
      const sent = typeof value === 'string' ? value : undefined;
      const ok = matchesAny(digest(sent ?? ''), accepted);
      if (value === undefined) failures.push({ factor: 'header', header: name, reason: 'missing' });
      else if (sent === undefined || !ok)
        failures.push({ factor: 'header', header: name, reason: 'wrong' });
    }
    return failures;
  }
}

function checkCredentials(credentials: BasicCredentials, where: string): void {
  if (!printable(credentials.username) || credentials.username.includes(':'))
    throw new SecondFactorError(
      `${where}: the user name must be non-empty, without ":" or control characters`,
    );
  if (!printable(credentials.password))
    throw new SecondFactorError(
      `${where}: the password must be non-empty, without control characters`,
    );
}

function checkHeader(name: string, value: string, where: string, basic: boolean): string {
  if (!HEADER_NAME.test(name))
    // The name is not echoed: a line missing its colon would put a value there.
    throw new SecondFactorError(`${where}: not a valid HTTP header name`);
  const lower = name.toLowerCase();
  if (RESERVED_HEADERS.includes(lower))
    throw new SecondFactorError(
      `${where}: the header ${lower} describes the message and cannot carry a second factor`,
    );
  if (lower === 'authorization' && basic)
    throw new SecondFactorError(
      `${where}: the header authorization cannot be required together with basic authentication, which sends it`,
    );
  if (!HEADER_VALUE.test(value))
    throw new SecondFactorError(
      `${where}: the value of header ${lower} must be non-empty printable ASCII without surrounding white space`,
    );
  return lower;
}

/** Checks and compiles a second factor (undefined if none); throws {@link SecondFactorError}. */
export function secondFactor(
  options: SecondFactorOptions,
  label = 'options',
): SecondFactor | undefined {
  const basic = list(options.basicAuth);
  basic.forEach((c, i) =>
    checkCredentials(
      c,
      Array.isArray(options.basicAuth) ? `${label}.basicAuth[${i}]` : `${label}.basicAuth`,
    ),
  );
  const headers = new Map<string, string[]>();
  for (const [name, values] of Object.entries(options.headers ?? {})) {
    const all = list(values);
    if (all.length === 0)
      throw new SecondFactorError(`${label}.headers.${name}: give at least one accepted value`);
    for (const value of all) {
      const lower = checkHeader(name, value, `${label}.headers.${name}`, basic.length > 0);
      headers.set(lower, [...new Set([...(headers.get(lower) ?? []), value])]);
    }
  }
  if (basic.length === 0 && headers.size === 0) return undefined;
  return new SecondFactor(basic, headers);
}

/** Lines of a text: trimmed of a trailing CR, blank lines and `#` comments left out, with their 1-based numbers. */
function lines(text: string): Array<{ line: string; number: number }> {
  return text
    .split('\n')
    .map((line, i) => ({ line: line.replace(/\r$/, ''), number: i + 1 }))
    .filter(({ line }) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

/** Parses `username:password` lines (split at the first colon, RFC 7617); errors give line numbers, never values. */
export function parseBasicAuthLines(text: string, where: string): BasicCredentials[] {
  const found = lines(text).map(({ line, number }) => {
    const colon = line.indexOf(':');
    if (colon < 0)
      throw new SecondFactorError(`${where}, line ${number}: expected username:password`);
    const credentials = { username: line.slice(0, colon), password: line.slice(colon + 1) };
    checkCredentials(credentials, `${where}, line ${number}`);
    return credentials;
  });
  if (found.length === 0) throw new SecondFactorError(`${where}: no username:password line`);
  return found;
}

/** Parses `Name: Value` lines, as Azure DevOps' "HTTP headers" box; a repeated name accepts each value. */
export function parseHeaderLines(text: string, where: string): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const { line, number } of lines(text)) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new SecondFactorError(`${where}, line ${number}: expected Name: Value`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const lower = checkHeader(name, value, `${where}, line ${number}`, false);
    (found[lower] ??= []).push(value);
  }
  if (Object.keys(found).length === 0) throw new SecondFactorError(`${where}: no Name: Value line`);
  return found;
}

/** The fixed body of a 401. */
export const UNAUTHORIZED_BODY = { error: 'unauthorized' } as const;

/** The 401 answer and failures for the log (`basic-auth: wrong`) of a failing request; else undefined. */
export function unauthorized(factor: SecondFactor, headers: IncomingHttpHeaders) {
  const failures = factor.check(headers);
  if (failures.length === 0) return undefined;
  return {
    failed: failures.map((f) =>
      f.factor === 'basic-auth' ? `basic-auth: ${f.reason}` : `header ${f.header}: ${f.reason}`,
    ),
    answer: {
      status: 401,
      body: UNAUTHORIZED_BODY,
      ...(factor.challenge ? { headers: { 'WWW-Authenticate': factor.challenge } } : {}),
    },
  };
}
