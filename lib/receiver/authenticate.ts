/**
 * The first step: the URL token names the endpoint (token.ts), whose second
 * factor, if any, the request must then pass (second-factor.ts).
 * @module
 */
import type { Lookup, Refresh } from '../types.js';
import { type Answer, type Delivery, NOT_FOUND } from './answer.js';
import type { ExplainingEndpoint } from './explanation.js';
import { type SecondFactor, unauthorized } from './second-factor.js';

/** What a token resolves to: the adapters that serve it, and labels for logs. */
export interface Endpoint extends ExplainingEndpoint {
  lookup: Lookup;
  refresh: Refresh;
  /** What a request must carry besides the token (basic authentication, headers). */
  secondFactor?: SecondFactor | undefined;
}

/** Finds the endpoint of a URL token, or undefined when the token is not accepted. */
export type ResolveToken = (token: string) => Endpoint | undefined;

/**
 * The endpoint of the request's token, or the answer refusing the request:
 * 404 for an unknown token, 401 without the second factor. Both come before
 * the method and the body: a refused request learns nothing more.
 */
export function authenticate({ req, record }: Delivery, resolve: ResolveToken): Endpoint | Answer {
  const param: unknown = req.params.token;
  const endpoint = resolve(typeof param === 'string' ? param : '');
  if (!endpoint) return NOT_FOUND;
  if (endpoint.labels) record.labels = endpoint.labels;
  const refused = endpoint.secondFactor && unauthorized(endpoint.secondFactor, req.headers);
  if (!refused) return endpoint;
  record.factorsFailed = refused.failed;
  record.outcome = 'rejected';
  record.code = 'UNAUTHORIZED';
  return refused.answer;
}
