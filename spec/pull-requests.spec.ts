import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import {
  azureReceiver,
  kargoToken,
  kubernetesAdapter,
  memoryAdapter,
  REFRESH_ANNOTATION,
} from '../lib/index.js';
import { FakeKubeApi } from './support/fake-kube-api.js';
import { fixture } from './support/fixtures.js';
import { until } from './adapters/kubernetes/helpers.js';
import { promotionManifest } from './support/manifests.js';

const token = kargoToken({
  project: 'kargo-demo',
  receiver: 'azure-wh-receiver',
  secret: 'pr-secret',
});
// The PR of devops-pr-merged.json / devops-pr-updated.json, as Kargo's git-open-pr would record it.
const PR1 = 'https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam/pullrequest/1';
const PR2 = 'https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam/pullrequest/2';

const promotions = [
  promotionManifest('kargo-demo', 'waiting', { phase: 'Running', waitingOn: PR1 }),
  // The same PR written in the old visualstudio.com form, with a fragment and a trailing slash.
  promotionManifest('kargo-demo', 'waiting-vs-form', {
    phase: 'Running',
    waitingOn:
      'https://Fabrikam.visualstudio.com/DefaultCollection/Fabrikam/_git/Fabrikam/pullrequest/1/#view=discussion',
  }),
  promotionManifest('kargo-demo', 'finished', { phase: 'Succeeded', waitingOn: PR1 }),
  promotionManifest('kargo-demo', 'not-yet-waiting', {
    phase: 'Running',
    waitingOn: PR1,
    currentStep: 0,
  }),
  promotionManifest('kargo-demo', 'other-pr', { phase: 'Running', waitingOn: PR2 }),
  promotionManifest('other-project', 'waiting', { phase: 'Running', waitingOn: PR1 }),
];

function merged(resource: Record<string, unknown> = {}) {
  const body = fixture('devops-pr-merged');
  body.resource = { ...body.resource, ...resource };
  return body;
}
function updated(resource: Record<string, unknown> = {}) {
  const body = fixture('devops-pr-updated');
  body.resource = { ...body.resource, ...resource };
  return body;
}
function withoutLinks(body: ReturnType<typeof fixture>) {
  delete body.resource._links;
  return body;
}

const WOKEN = ['kargo-demo/waiting', 'kargo-demo/waiting-vs-form'];
const cases: Array<{ name: string; body: object; msg: string; hint?: string; woken: string[] }> = [
  { name: 'merged (real payload)', body: merged(), msg: 'refreshed 2 promotion(s)', woken: WOKEN },
  {
    name: 'merged, without _links (URL from repository and id)',
    body: withoutLinks(merged()),
    msg: 'refreshed 2 promotion(s)',
    woken: WOKEN,
  },
  {
    name: 'merge attempt that failed (conflicts)',
    body: merged({ status: 'active', mergeStatus: 'conflicts' }),
    msg: 'nothing refreshed: the merge did not complete (status active, mergeStatus conflicts)',
    woken: [],
  },
  {
    name: 'merge rejected by policy',
    body: merged({ mergeStatus: 'rejectedByPolicy' }),
    msg: 'nothing refreshed: the merge did not complete (status completed, mergeStatus rejectedbypolicy)',
    woken: [],
  },
  {
    name: 'updated to abandoned',
    body: updated({ status: 'abandoned' }),
    msg: 'refreshed 2 promotion(s)',
    woken: WOKEN,
  },
  {
    name: 'updated to abandoned, without _links',
    body: withoutLinks(updated({ status: 'abandoned' })),
    msg: 'refreshed 2 promotion(s)',
    woken: WOKEN,
  },
  {
    name: 'updated, still active',
    body: updated({ status: 'active' }),
    msg: 'nothing refreshed: a pull request update to status active closes nothing',
    woken: [],
  },
  {
    name: 'updated (real payload, completed: announced by the merged event)',
    body: updated(),
    msg: 'nothing refreshed: a pull request update to status completed closes nothing',
    woken: [],
  },
  {
    name: 'created (real payload)',
    body: fixture('devops-pr-created'),
    msg: 'git.pullrequest.created events need no refresh',
    woken: [],
  },
  {
    name: 'merged PR nobody waits on',
    body: merged({
      pullRequestId: 7,
      _links: {
        web: { href: 'https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam/pullrequest/7' },
      },
    }),
    msg: 'refreshed 0 promotion(s)',
    hint: 'no running Promotion of this receiver waits on pull request https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam/pullrequest/7',
    woken: [],
  },
];

describe('pull-request events wake the Promotions waiting on them', () => {
  describe('through memoryAdapter', () => {
    for (const c of cases) {
      it(c.name, async () => {
        const adapter = memoryAdapter({
          promotions: promotions.filter((p) => p.metadata?.namespace === 'kargo-demo'),
        });
        const app = express();
        app.use('/azure', azureReceiver({ token, ...adapter }));
        const res = await request(app).post(`/azure/${token}`).send(c.body);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, c.hint ? { msg: c.msg, hint: c.hint } : { msg: c.msg });
        assert.deepEqual(adapter.refreshed.map((r) => `${r.namespace}/${r.name}`).sort(), c.woken);
      });
    }
  });

  describe('through kubernetesAdapter and the fake API server, scoped to the project', () => {
    let api: FakeKubeApi;
    before(async () => {
      api = new FakeKubeApi();
      await api.start();
    });
    after(async () => {
      await until(() => api.openConnections === 0, 'no connections left');
      await api.close();
    });

    for (const c of cases) {
      it(c.name, async () => {
        for (const p of promotions) api.put(structuredClone(p));
        const adapter = kubernetesAdapter({
          kubeConfig: api.kubeConfig(),
          namespace: 'kargo-demo',
        });
        try {
          const app = express();
          app.use('/azure', azureReceiver({ token, ...adapter }));
          const res = await request(app)
            .post(`/azure/${token}`)
            .set('Content-Type', 'application/json; charset=utf-8')
            .send(c.body);
          assert.equal(res.status, 200);
          assert.deepEqual(res.body, c.hint ? { msg: c.msg, hint: c.hint } : { msg: c.msg });
          const annotated = promotions
            .map((p) =>
              api.get({
                kind: 'Promotion',
                namespace: p.metadata?.namespace,
                name: p.metadata?.name as string,
              }),
            )
            .filter((p) => p?.metadata?.annotations?.[REFRESH_ANNOTATION] !== undefined)
            .map((p) => `${p?.metadata?.namespace}/${p?.metadata?.name}`)
            .sort();
          assert.deepEqual(annotated, c.woken);
        } finally {
          await adapter.close();
          for (const p of promotions)
            api.remove({
              kind: 'Promotion',
              namespace: p.metadata?.namespace,
              name: p.metadata?.name as string,
            });
        }
      });
    }
  });
});
