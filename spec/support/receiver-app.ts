/**
 * An Express app with `azureReceiver` mounted at `/azure`, recording its log
 * lines and webhook records: the app most receiver specs post to.
 */
import express from 'express';
import { azureReceiver } from '../../lib/receiver/receiver.js';
import type { AzureReceiverOptions, WebhookRecord } from '../../lib/receiver/options.js';
import type { Lookup, Refresh } from '../../lib/types.js';
import { RecordingLogger } from './recording-adapter.js';

export function buildReceiverApp(
  token: string,
  adapter: { lookup: Lookup; refresh: Refresh },
  options: Partial<AzureReceiverOptions> = {},
) {
  const logger = new RecordingLogger();
  const records: WebhookRecord[] = [];
  const app = express();
  app.use(
    '/azure',
    azureReceiver({
      token,
      lookup: adapter.lookup,
      refresh: adapter.refresh,
      logger,
      onWebhook: (r) => records.push(r),
      ...options,
    }),
  );
  return { app, logger, records };
}
