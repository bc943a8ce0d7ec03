/**
 * The request pipeline every receiver shares, one named step a file:
 * authenticate → method → read body → classify → lookup and refresh → answer.
 * @module
 */
import type { ErrorRequestHandler, RequestHandler, Router } from 'express';
import { ReceiverError } from '../errors.js';
import { type Answer, type Delivery, NOT_FOUND, createResponder, startDelivery } from './answer.js';
import { type Endpoint, type ResolveToken, authenticate } from './authenticate.js';
import { classifyBody } from './classify.js';
import { createLookupAndRefresh } from './lookup-and-refresh.js';
import type { HandlerConfig } from './options.js';
import { readBody } from './read-body.js';

/**
 * Builds the Express handler for a route with a `:token` parameter, and the
 * error handler for paths Express cannot decode.
 * Unknown tokens get 404 before anything else: the body is never read, the
 * adapters never called.
 */
export function createWebhookHandler(config: HandlerConfig, resolve: ResolveToken) {
  const { reply, fail } = createResponder(config);
  const lookupAndRefresh = createLookupAndRefresh(config);

  async function handle(endpoint: Endpoint, delivery: Delivery): Promise<Answer> {
    const { req, record } = delivery;
    if (req.method !== 'POST') {
      const error = `method ${req.method} not allowed: Azure webhooks use POST`;
      throw new ReceiverError(405, 'METHOD_NOT_ALLOWED', error);
    }
    const event = classifyBody(await readBody(req, config.maxBodyBytes), record);
    return 'status' in event ? event : lookupAndRefresh(endpoint, event, delivery);
  }

  /**
   * Express fails to decode a malformed percent-escape in the token segment
   * (`/azure/%E0%A4%A`) before any handler runs: that is a token we do not
   * accept, so the same 404, not Express's HTML error page with a stack trace.
   */
  const azureWebhookPathError: ErrorRequestHandler = (err, req, res, next) => {
    if (!(err instanceof URIError) || res.headersSent) {
      next(err);
      return;
    }
    reply(startDelivery(req, res), NOT_FOUND);
  };

  const azureWebhookHandler: RequestHandler = (req, res, next) => {
    const delivery = startDelivery(req, res);
    const endpoint = authenticate(delivery, resolve);
    if ('status' in endpoint) return reply(delivery, endpoint);
    handle(endpoint, delivery).then(
      (answer) => reply(delivery, answer),
      (err: unknown) => fail(delivery, err, next),
    );
  };

  return { handler: azureWebhookHandler, pathError: azureWebhookPathError };
}

/**
 * Mounts the webhook route on `router`: `path` must hold a `:token`
 * parameter; `guards` run before the handler (e.g. a readiness gate).
 */
export function mountWebhookRoute(
  router: Router,
  path: string,
  config: HandlerConfig,
  resolve: ResolveToken,
  ...guards: RequestHandler[]
): void {
  const { handler, pathError } = createWebhookHandler(config, resolve);
  router.all(path, ...guards, handler);
  router.use(pathError);
}
