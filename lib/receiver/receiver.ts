/**
 * `azureReceiver()`: the Express router for one set of accepted tokens.
 * @module
 */
import express, { type Router } from 'express';
import type { Endpoint } from './authenticate.js';
import { mountWebhookRoute } from './handler.js';
import { receiverConfig, type AzureReceiverOptions } from './options.js';
import { TokenRegistry } from './token.js';

/**
 * Builds an Express router that receives ACR and Azure DevOps webhooks at
 * `POST /<token>` below its mount point and refreshes what they concern.
 *
 * ```ts
 * app.use('/azure', azureReceiver({ token, ...memoryAdapter({ warehouses }) }));
 * ```
 * Any other path below the mount point falls through to the next handler,
 * so other receivers can be mounted beside it.
 */
export function azureReceiver(options: AzureReceiverOptions): Router {
  const config = receiverConfig(options);
  const endpoint: Endpoint = {
    lookup: config.lookup,
    refresh: config.refresh,
    secondFactor: config.secondFactor,
    ...(config.explainPush ? { explainPush: config.explainPush } : {}),
  };
  const tokens = new TokenRegistry<Endpoint>();
  for (const token of config.tokens) tokens.set(token, endpoint);
  const router = express.Router();
  mountWebhookRoute(router, '/:token', config, (token) => tokens.find(token));
  return router;
}
