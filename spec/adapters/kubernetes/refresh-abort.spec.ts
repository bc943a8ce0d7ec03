import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import {
  KubernetesAdapterError,
  azureReceiver,
  kubernetesAdapter,
  type KubernetesAdapter,
  type KubernetesAdapterOptions,
} from '../../../lib/index.js';
import type { RefreshTarget } from '../../../lib/types.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';
import { fixtureText } from '../../support/fixtures.js';
import { RecordingLogger } from '../../support/recording-adapter.js';
import { FakeSleep, rejectionOf, until, warehouseManifest } from './helpers.js';

const W1: RefreshTarget = { kind: 'Warehouse', namespace: 'a', name: 'w1' };
const W2: RefreshTarget = { kind: 'Warehouse', namespace: 'a', name: 'w2' };
const ANNOTATION = 'kargo.akuity.io/refresh';
const ACR_PUSH_IMAGE = 'myregistry.azurecr.io/hello-world'; // the repository of spec/fixtures/azure/acr-push.json

describe('kubernetesAdapter: refresh honours the caller’s signal', function () {
  let api: FakeKubeApi;
  let sleep: FakeSleep;
  let adapter: KubernetesAdapter | undefined;

  function start(options: KubernetesAdapterOptions = {}): KubernetesAdapter {
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      logger: new RecordingLogger(),
      sleep: sleep.sleep,
      random: () => 0.5,
      promotions: false,
      ...options,
    });
    return adapter;
  }

  const patches = (): typeof api.requests => api.requests.filter((r) => r.method === 'PATCH');
  const annotation = (target: RefreshTarget): string | undefined =>
    api.get({ kind: target.kind, namespace: target.namespace, name: target.name })?.metadata
      ?.annotations?.[ANNOTATION];
  const code = async (promise: Promise<unknown>): Promise<string> =>
    ((await rejectionOf(promise)) as KubernetesAdapterError).code;

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    sleep = new FakeSleep();
    adapter = undefined;
    for (let i = 1; i <= 20; i++) api.put(warehouseManifest('a', `w${i}`));
  });

  afterEach(async function () {
    await adapter?.close();
    await until(() => api.openConnections === 0, 'no connections left');
    await api.close();
  });

  it('an already aborted signal: rejects with KUBE_ABORTED, sends nothing', async function () {
    const k = start();
    assert.equal(await code(k.refresh(W1, AbortSignal.abort())), 'KUBE_ABORTED');
    assert.equal(patches().length, 0);
  });

  it('a PATCH queued behind others whose caller gave up is never sent', async function () {
    api.fault({ method: 'PATCH', delayMs: 100 });
    const k = start({ concurrency: 1 });
    const first = k.refresh(W1);
    await until(() => patches().length === 1, 'the first PATCH on the wire');
    const caller = new AbortController();
    const queued = k.refresh(W2, caller.signal);
    caller.abort();
    assert.equal(await code(queued), 'KUBE_ABORTED');
    await first;
    await until(() => k.stats().refreshes.abandoned === 1, 'the queued refresh abandoned');
    assert.deepEqual(
      patches().map((p) => p.path),
      ['/apis/kargo.akuity.io/v1alpha1/namespaces/a/warehouses/w1'],
    );
    assert.equal(annotation(W2), undefined);
  });

  it('a PATCH on the wire is aborted when its caller gives up, and not retried', async function () {
    api.fault({ method: 'PATCH', delayMs: 60_000 });
    const k = start();
    await until(() => api.openWatches === 1, 'the watch open');
    const watching = api.openConnections;
    const caller = new AbortController();
    const pending = k.refresh(W1, caller.signal);
    await until(
      () => patches().length === 1 && api.openConnections === watching + 1,
      'the PATCH on the wire',
    );
    caller.abort();
    assert.equal(await code(pending), 'KUBE_ABORTED');
    await until(() => k.stats().refreshes.abandoned === 1, 'the flight abandoned');
    // The fake serves a delayed request only if the client still waits for it.
    await until(() => api.openConnections === watching, 'the aborted connection closed');
    assert.equal(annotation(W1), undefined, 'the aborted PATCH was applied');
    assert.equal(patches().length, 1);
    assert.equal(k.stats().refreshes.retries, 0);
  });

  it('a retry is not made once the caller gave up during the wait', async function () {
    api.fault({ method: 'PATCH', status: 503, retryAfterSeconds: 1 });
    sleep.gate();
    const k = start();
    const caller = new AbortController();
    const pending = k.refresh(W1, caller.signal);
    await until(() => sleep.waiting === 1, 'the retry wait');
    caller.abort();
    assert.equal(await code(pending), 'KUBE_ABORTED');
    await until(() => k.stats().refreshes.abandoned === 1, 'the retry abandoned');
    assert.equal(patches().length, 1);
  });

  it('a refresh shared with a caller still waiting goes on when another caller gives up', async function () {
    api.fault({ method: 'PATCH', delayMs: 50, times: 2 });
    const k = start({ concurrency: 1 });
    const blocker = k.refresh(W2);
    await until(() => patches().length === 1, 'the blocking PATCH on the wire');
    const quitter = new AbortController();
    const stays = new AbortController();
    const gaveUp = k.refresh(W1, quitter.signal);
    const waits = k.refresh(W1, stays.signal);
    const noSignal = k.refresh(W1);
    quitter.abort();
    assert.equal(await code(gaveUp), 'KUBE_ABORTED');
    await Promise.all([blocker, waits, noSignal]);
    assert.equal(patches().length, 2);
    assert.notEqual(annotation(W1), undefined);
    assert.equal(k.stats().refreshes.abandoned, 0);
  });

  it('a follow-up PATCH whose callers all gave up is not sent; a new caller gets one of its own', async function () {
    api.fault({ method: 'PATCH', delayMs: 50 });
    const k = start();
    const first = k.refresh(W1);
    await until(() => patches().length === 1, 'the first PATCH on the wire');
    const caller = new AbortController();
    const followUp = k.refresh(W1, caller.signal);
    caller.abort();
    assert.equal(await code(followUp), 'KUBE_ABORTED');
    await first;
    await until(() => k.stats().refreshes.abandoned === 1, 'the follow-up abandoned');
    assert.equal(patches().length, 1);
    await k.refresh(W1, new AbortController().signal);
    assert.equal(patches().length, 2);
  });

  it('close() aborts a PATCH on the wire: KUBE_CLOSED at once, no retry', async function () {
    api.fault({ method: 'PATCH', delayMs: 60_000 });
    const k = start();
    const pending = k.refresh(W1);
    await until(() => patches().length === 1, 'the PATCH on the wire');
    const started = Date.now();
    await k.close();
    assert.equal(await code(pending), 'KUBE_CLOSED');
    assert.ok(Date.now() - started < 1000);
    assert.equal(k.stats().refreshes.retries, 0);
    assert.equal(patches().length, 1);
    assert.equal(annotation(W1), undefined);
  });

  it('behind azureReceiver: no PATCH of a webhook answered 503 at its deadline is sent after the answer', async function () {
    // 20 subscribed Warehouses, each PATCH slower than the deadline: none finishes in time.
    for (let i = 1; i <= 20; i++)
      api.put(
        warehouseManifest('a', `w${i}`, {
          image: { repoURL: ACR_PUSH_IMAGE, imageSelectionStrategy: 'Lexical' },
        }),
      );
    // Without the abort, the 2 PATCHes on the wire end at 300 ms and the queued ones follow.
    api.fault({ method: 'PATCH', delayMs: 300, times: 20 });
    const k = start({ concurrency: 2 });
    await k.ready();
    const app = express();
    app.use(
      '/azure',
      azureReceiver({ token: 'd'.repeat(64), ...k, deadlineMs: 100, concurrency: 16 }),
    );
    const res = await request(app)
      .post(`/azure/${'d'.repeat(64)}`)
      .set('Content-Type', 'application/json')
      .send(fixtureText('acr-push'));
    assert.deepEqual(
      [res.status, res.body],
      [503, { error: 'failed to refresh 20 of 20 warehouse(s)' }],
    );
    const atAnswer = patches().length;
    assert.equal(atAnswer, 2, 'the adapter sends 2 at a time');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(patches().length, atAnswer, 'PATCHes sent after the 503');
    // The handler passed 16 refreshes to the adapter (its concurrency): 2 on the wire, 14 queued.
    assert.equal(k.stats().refreshes.abandoned, 16);
    await until(() => api.openConnections === 1, 'the aborted PATCHes closed (the watch stays)');
    for (let i = 1; i <= 20; i++) assert.equal(annotation({ ...W1, name: `w${i}` }), undefined);
  });
});
