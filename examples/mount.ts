// Mount the receiver in an existing Express app, beside your other routes.
import express from 'express';
import { azureReceiver, kargoToken, kubernetesAdapter } from 'kargo-azure-receiver';

const app = express();
const adapter = kubernetesAdapter({ namespaces: ['kargo-demo'] }); // watches Warehouses

app.use(
  '/azure',
  azureReceiver({
    token: kargoToken({
      project: 'kargo-demo',
      receiver: 'azure-wh-receiver',
      secret: process.env.AZURE_WH_SECRET ?? '',
    }),
    lookup: adapter.lookup,
    refresh: adapter.refresh,
  }),
);
// other receivers beside it: app.use('/github', …)
const server = app.listen(8080); // Azure posts to https://<host>/azure/<token>
process.on('SIGTERM', () => {
  server.close();
  void adapter.close();
});
