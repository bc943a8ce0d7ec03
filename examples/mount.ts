// Mount the receiver in an existing Express app, before the app-wide body parsers.
import express from 'express';
import { azureReceiver, kargoToken, kubernetesAdapter } from 'kargo-azure-receiver';

const app = express();
const adapter = kubernetesAdapter({ namespaces: ['kargo-demo'] }); // watches Warehouses

// First the receiver: it reads the body itself, up to Azure's 2 MB.
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
// Then your parsers and routes: express.json() caps bodies at 100 kB by default.
app.use(express.json());
app.get('/api/health', (_req, res) => {
  res.json({ ok: true });
});

const server = app.listen(8080); // Azure posts to https://<host>/azure/<token>
process.on('SIGTERM', () => {
  server.close();
  void adapter.close();
});
