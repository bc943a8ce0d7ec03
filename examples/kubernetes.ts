// The Kubernetes adapter: a watch-backed cache of Warehouses and Promotions.
import express from 'express';
import { azureReceiver, kubernetesAdapter } from 'kargo-azure-receiver';

const token = process.env.AZURE_WH_TOKEN ?? '';
const adapter = kubernetesAdapter({ namespaces: ['kargo-demo', 'team-b'] }); // omit: every namespace
const app = express();
app.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));
await adapter.ready(); // initial lists done (also: adapter.isReady())
const server = app.listen(8080);
process.on('SIGTERM', () => {
  server.close();
  void adapter.close(); // stops the watches
});
