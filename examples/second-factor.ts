// A second factor beside the URL token: basic authentication and a required header.
import express from 'express';
import { azureReceiver, kargoToken, kubernetesAdapter } from 'kargo-azure-receiver';

const token = kargoToken({
  project: 'kargo-demo',
  receiver: 'azure-wh-receiver',
  secret: process.env.AZURE_WH_SECRET ?? '',
});

const app = express();
app.use(
  '/azure',
  azureReceiver({
    token,
    ...kubernetesAdapter(),
    basicAuth: { username: 'azure-devops', password: process.env.HOOK_PASSWORD ?? '' },
    headers: { 'X-Kargo-Key': [process.env.HOOK_KEY ?? '', process.env.OLD_HOOK_KEY ?? ''] },
  }),
);
app.listen(8080);
