// The app under test in the testing recipes of docs/testing.md: it mounts the receiver
// with whatever adapter it is given.
import express from 'express';
import { azureReceiver, type Adapter } from 'kargo-azure-receiver';

export function createApp(adapter: Adapter, token: string): express.Express {
  const app = express();
  app.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));
  return app;
}
