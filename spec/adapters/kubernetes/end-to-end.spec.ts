import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import {
  azureReceiver,
  kargoToken,
  kubernetesAdapter,
  REFRESH_ANNOTATION,
  type KubernetesAdapter,
} from '../../../lib/index.js';
import { FakeKubeApi, type KubeObject } from '../../support/fake-kube-api.js';
import { fixtureText } from '../../support/fixtures.js';
import { promotionManifest, until, warehouseManifest } from './helpers.js';

const NOW = new Date('2026-11-25T10:00:00.000Z');
const token = kargoToken({
  project: 'kargo-demo',
  receiver: 'azure-wh-receiver',
  secret: 'e2e-secret',
});

const objects: KubeObject[] = [
  warehouseManifest('kargo-demo', 'hello-world', {
    image: { repoURL: 'myregistry.azurecr.io/hello-world', imageSelectionStrategy: 'Lexical' },
  }),
  warehouseManifest('kargo-demo', 'hello-world-semver', {
    image: { repoURL: 'myregistry.azurecr.io/hello-world' },
  }), // v1 is not strict semver
  warehouseManifest('kargo-demo', 'fabrikam-master', {
    git: {
      repoURL: 'git@ssh.dev.azure.com:v3/fabrikam-fiber-inc/Fabrikam-Fiber-Git/Fabrikam-Fiber-Git',
      branch: 'master',
    },
  }),
  warehouseManifest('kargo-demo', 'fabrikam-main', {
    git: {
      repoURL:
        'https://dev.azure.com/fabrikam-fiber-inc/Fabrikam-Fiber-Git/_git/Fabrikam-Fiber-Git',
    },
  }),
  warehouseManifest('other-project', 'hello-world', {
    image: { repoURL: 'myregistry.azurecr.io/hello-world', imageSelectionStrategy: 'Lexical' },
  }),
  promotionManifest('kargo-demo', 'waiting', {
    phase: 'Running',
    waitingOn: 'https://fabrikam.visualstudio.com/DefaultCollection/_git/Fabrikam/pullrequest/1',
  }),
  promotionManifest('kargo-demo', 'finished', {
    phase: 'Succeeded',
    waitingOn: 'https://fabrikam.visualstudio.com/DefaultCollection/_git/Fabrikam/pullrequest/1',
  }),
  promotionManifest('kargo-demo', 'other-pr', {
    phase: 'Running',
    waitingOn: 'https://fabrikam.visualstudio.com/DefaultCollection/_git/Fabrikam/pullrequest/2',
  }),
];

const cases: Array<{ payload: string; msg: string; annotated: string[] }> = [
  {
    payload: 'acr-push',
    msg: 'refreshed 1 warehouse(s)',
    annotated: ['Warehouse kargo-demo/hello-world'],
  },
  // Branch master: fabrikam-main has no branch set, so main or master both match it.
  {
    payload: 'devops-test-git-push',
    msg: 'refreshed 2 warehouse(s)',
    annotated: ['Warehouse kargo-demo/fabrikam-master', 'Warehouse kargo-demo/fabrikam-main'],
  },
  {
    payload: 'devops-git-push',
    msg: 'refreshed 1 warehouse(s)',
    annotated: ['Warehouse kargo-demo/fabrikam-main'],
  },
  {
    payload: 'devops-pr-merged',
    msg: 'refreshed 1 promotion(s)',
    annotated: ['Promotion kargo-demo/waiting'],
  },
  { payload: 'acr-delete', msg: 'delete events need no refresh', annotated: [] },
];

describe('azureReceiver + kubernetesAdapter + fake API server, on real Azure payloads', () => {
  let api: FakeKubeApi;
  let adapter: KubernetesAdapter;
  let app: express.Express;

  beforeEach(async () => {
    api = new FakeKubeApi();
    await api.start();
    for (const o of objects) api.put(o);
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      namespace: 'kargo-demo',
      now: () => NOW,
    });
    app = express();
    app.use('/azure', azureReceiver({ token, ...adapter }));
  });

  afterEach(async () => {
    await adapter.close();
    await until(() => api.openConnections === 0, 'no connections left');
    await api.close();
  });

  function annotated(): string[] {
    return objects
      .map((o) =>
        api.get({
          kind: o.kind as string,
          namespace: o.metadata?.namespace,
          name: o.metadata?.name as string,
        }),
      )
      .filter(
        (o): o is KubeObject =>
          o !== undefined && o.metadata?.annotations?.[REFRESH_ANNOTATION] !== undefined,
      )
      .map((o) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`);
  }

  for (const c of cases) {
    it(`${c.payload} → ${c.msg}`, async () => {
      const res = await request(app)
        .post(`/azure/${token}`)
        .set('Content-Type', 'application/json; charset=utf-8')
        .send(fixtureText(c.payload));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { msg: c.msg });
      assert.deepEqual(annotated(), c.annotated);
      const patches = api.requests.filter((r) => r.method === 'PATCH');
      assert.equal(patches.length, c.annotated.length);
      for (const patch of patches) {
        assert.equal(patch.contentType, 'application/merge-patch+json');
        assert.deepEqual(patch.body, {
          metadata: { annotations: { [REFRESH_ANNOTATION]: NOW.toISOString() } },
        });
      }
    });
  }

  it('many webhooks cost one initial list per resource, no list per webhook', async () => {
    for (let i = 0; i < 20; i++) {
      await request(app)
        .post(`/azure/${token}`)
        .set('Content-Type', 'application/json')
        .send(fixtureText('acr-push'))
        .expect(200);
    }
    const lists = api.requests.filter((r) => r.method === 'GET' && !r.watch);
    assert.deepEqual(lists.map((r) => r.path).sort(), [
      '/apis/kargo.akuity.io/v1alpha1/namespaces/kargo-demo/promotions',
      '/apis/kargo.akuity.io/v1alpha1/namespaces/kargo-demo/warehouses',
    ]);
  });

  it('a Warehouse created after start is refreshed by the next webhook', async () => {
    await adapter.ready();
    api.put(
      warehouseManifest('kargo-demo', 'late', {
        image: {
          repoURL: 'myregistry.azurecr.io/hello-world',
          imageSelectionStrategy: 'NewestBuild',
        },
      }),
    );
    await until(() => adapter.stats().warehouses === 5, 'the watch delivers the new Warehouse');
    await request(app)
      .post(`/azure/${token}`)
      .set('Content-Type', 'application/json')
      .send(fixtureText('acr-push'))
      .expect(200, { msg: 'refreshed 2 warehouse(s)' });
  });

  it('an API server that fails every PATCH gives 503, which Azure retries', async () => {
    await adapter.close();
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      namespace: 'kargo-demo',
      now: () => NOW,
      refreshRetry: { attempts: 2, initialMs: 1, maxMs: 1 },
    });
    app = express();
    app.use('/azure', azureReceiver({ token, ...adapter }));
    api.fault({ method: 'PATCH', status: 500, times: 10 });
    const res = await request(app)
      .post(`/azure/${token}`)
      .set('Content-Type', 'application/json')
      .send(fixtureText('acr-push'));
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'failed to refresh 1 of 1 warehouse(s)' });
  });
});
