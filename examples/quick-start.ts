// Quick start: the receiver in an Express app, Warehouses in memory, no cluster.
import express from 'express';
import request from 'supertest';
import { azureReceiver, kargoToken, memoryAdapter } from 'kargo-azure-receiver';

// One Kargo Warehouse, subscribed to an image of Azure Container Registry.
const adapter = memoryAdapter({
  warehouses: [
    {
      apiVersion: 'kargo.akuity.io/v1alpha1',
      kind: 'Warehouse',
      metadata: { namespace: 'kargo-demo', name: 'hello-world' },
      spec: {
        subscriptions: [
          { image: { repoURL: 'myregistry.azurecr.io/hello-world', semverConstraint: '^1.0.0' } },
        ],
      },
    },
  ],
});

// The URL token, derived as Kargo does: sha256(project + receiver name + secret).
const token = kargoToken({
  project: 'kargo-demo',
  receiver: 'azure-wh-receiver',
  secret: 'use-a-long-random-secret',
});

const app = express();
app.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));

// What Azure Container Registry posts when v1.2.0 of hello-world is pushed (trimmed).
const res = await request(app)
  .post(`/azure/${token}`)
  .send({
    action: 'push',
    target: {
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      repository: 'hello-world',
      tag: 'v1.2.0',
    },
    request: { host: 'myregistry.azurecr.io' },
  });

console.log(res.status, res.body); // 200 { msg: 'refreshed 1 warehouse(s)' }
console.log(adapter.refreshed.map((r) => `${r.namespace}/${r.name}`)); // [ 'kargo-demo/hello-world' ]
