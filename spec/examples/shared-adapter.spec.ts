/**
 * examples/shared-adapter.ts: one kubernetesAdapter serves the Azure receiver
 * and a GitHub push route; both refresh through the same cache and watches.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { kargoToken, kubernetesAdapter, type KubernetesAdapter } from '../../lib/index.js';
import { acrPush } from '../../lib/testing/index.js';
import { createApp } from '../../examples/shared-adapter.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { warehouseManifest } from '../support/manifests.js';

describe('examples/shared-adapter.ts: one adapter, two receiver types', function () {
  let api: FakeKubeApi;
  let adapter: KubernetesAdapter;
  const token = kargoToken({
    project: 'kargo-demo',
    receiver: 'azure-wh-receiver',
    secret: 's3cret',
  });

  before(async function () {
    api = new FakeKubeApi();
    await api.start();
    api.put(
      warehouseManifest('kargo-demo', 'from-github', {
        git: { repoURL: 'https://github.com/example/app.git', branch: 'main' },
      }),
    );
    api.put(
      warehouseManifest('kargo-demo', 'from-acr', {
        image: { repoURL: 'myregistry.azurecr.io/app', imageSelectionStrategy: 'Lexical' },
      }),
    );
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      namespaces: ['kargo-demo'],
      promotions: false,
    });
    await adapter.ready();
  });
  after(async function () {
    await adapter.close();
    await api.close();
  });

  const patched = (): string[] =>
    api.requestsTo('PATCH', '/warehouses/').map((r) => r.path.split('/').pop()!);

  it('a GitHub push refreshes the Warehouse subscribed to that repository and branch', async function () {
    const app = createApp(adapter, token);
    await request(app)
      .post('/github')
      .set('X-GitHub-Event', 'push')
      .send({ ref: 'refs/heads/main', repository: { clone_url: 'https://github.com/Example/App' } })
      .expect(200, { msg: 'refreshed 1 warehouse(s)' });
    assert.deepEqual(patched(), ['from-github']);
    await request(app)
      .post('/github')
      .set('X-GitHub-Event', 'push')
      .send({
        ref: 'refs/heads/other',
        repository: { clone_url: 'https://github.com/example/app' },
      })
      .expect(200, { msg: 'refreshed 0 warehouse(s)' });
    await request(app)
      .post('/github')
      .set('X-GitHub-Event', 'ping')
      .send({})
      .expect(200, { msg: 'ignored' });
    await request(app)
      .post('/github')
      .set('X-GitHub-Event', 'push')
      .send({ ref: 1 })
      .expect(400, { error: 'not a GitHub push event' });
  });

  it('an ACR push through azureReceiver uses the same cache; one set of watches in all', async function () {
    await request(createApp(adapter, token))
      .post(`/azure/${token}`)
      .send(acrPush({ registry: 'myregistry.azurecr.io', repository: 'app', tag: 'v7' }))
      .expect(200, { msg: 'refreshed 1 warehouse(s)' });
    assert.deepEqual(patched(), ['from-github', 'from-acr']);
    assert.equal(api.requestsTo('GET', '/warehouses', { watch: false }).length, 1);
    assert.equal(adapter.stats().lists, 1);
  });
});
