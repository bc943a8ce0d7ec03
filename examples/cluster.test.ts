// The same app on the real Kubernetes adapter, against the cluster of
// KUBECONFIG (CI points it at a fake API server). close() in after():
// the adapter's watches never keep mocha alive, but closing is tidy.
import request from 'supertest';
import { kargoToken, kubernetesAdapter } from 'kargo-azure-receiver';
import { acrPush } from 'kargo-azure-receiver/testing';
import { createApp } from './app.js';

const token = kargoToken({
  project: 'kargo-demo',
  receiver: 'azure-wh-receiver',
  secret: 'test-secret',
});

describe('my app on the cluster', function () {
  const adapter = kubernetesAdapter({ namespaces: ['kargo-demo'], promotions: false });
  before(() => adapter.ready());
  after(() => adapter.close());

  it('refreshes the Warehouse subscribed to the pushed image', async function () {
    await request(createApp(adapter, token))
      .post(`/azure/${token}`)
      .send(acrPush({ registry: 'myregistry.azurecr.io', repository: 'app', tag: 'v1' }))
      .expect(200, { msg: 'refreshed 1 warehouse(s)' });
  });
});
