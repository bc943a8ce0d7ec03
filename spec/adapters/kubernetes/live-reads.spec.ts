import assert from 'node:assert/strict';
import request from 'supertest';
import { kargoToken, kubernetesAdapter, type KubernetesAdapter } from '../../../lib/index.js';
import { KubeClusterError } from '../../../lib/adapters/kubernetes/errors.js';
import { acrPush } from '../../../lib/testing/index.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';
import { buildReceiverApp } from '../../support/receiver-app.js';
import {
  FakeSleep,
  PR_URL,
  promotionManifest,
  pullRequestOf,
  pushOf,
  until,
  warehouseManifest,
} from './helpers.js';

const token = kargoToken({ project: 'p', receiver: 'r', secret: 'live-reads' });
const REGISTRY = 'myregistry.azurecr.io';
const WAREHOUSES = '/apis/kargo.akuity.io/v1alpha1/warehouses';

/** A Warehouse of namespace `a` subscribed to `REGISTRY/<name>` (Lexical: the builder's tag is `v1`). */
function warehouse(name: string, namespace = 'a') {
  return warehouseManifest(namespace, name, {
    image: { repoURL: `${REGISTRY}/${name}`, imageSelectionStrategy: 'Lexical' },
  });
}

/** The list requests (non-watch GETs) the fake received since `from`. */
function listsSince(api: FakeKubeApi, from: number) {
  return api.requests.slice(from).filter((r) => r.method === 'GET' && !r.watch);
}

describe('kubernetesAdapter: no answer from a cache a failed watch may have left behind', function () {
  let api: FakeKubeApi;
  let sleep: FakeSleep;
  let adapter: KubernetesAdapter;

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    api.put(warehouse('before'));
    sleep = new FakeSleep();
  });

  afterEach(async function () {
    sleep.release();
    await adapter?.close();
    await api.close();
  });

  async function start(options: Parameters<typeof kubernetesAdapter>[0] = {}): Promise<void> {
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      sleep: sleep.sleep,
      random: () => 0.5,
      ...options,
    });
    await adapter.ready();
    await until(() => api.openWatches === (options.promotions === false ? 1 : 2), 'the watches');
  }

  /** Fails the Warehouse watch (and, with `lists`, every Warehouse list) with `status`, then waits for the backoff. */
  async function failWarehouses(status: number, lists: boolean): Promise<void> {
    sleep.gate();
    api.fault({ path: '/warehouses', watch: true, status, times: 10_000 });
    if (lists) api.fault({ path: '/warehouses', watch: false, status, times: 10_000 });
    api.dropWatches();
    await until(() => sleep.waiting === 1, 'the backoff after the drop');
    sleep.release();
    await until(() => adapter.stats().watchErrors >= 1, 'a failed watch');
    sleep.gate();
    await until(() => sleep.waiting === 1, 'the backoff after the failure');
  }

  async function pushes(names: string[]): Promise<{ status: number; body: unknown }[]> {
    const { app } = buildReceiverApp(token, adapter);
    const answers: { status: number; body: unknown }[] = [];
    for (const name of names) {
      const res = await request(app)
        .post(`/azure/${token}`)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(acrPush({ registry: REGISTRY, repository: name })));
      answers.push({ status: res.status, body: res.body as unknown });
    }
    return answers;
  }

  const names = Array.from({ length: 20 }, (_, i) => `during-${i}`);

  it('issue 17: 20 pushes for Warehouses created while list and watch answer 500 are answered 503 (Azure retries), never "refreshed 0"', async function () {
    await start({ promotions: false });
    await failWarehouses(500, true);
    for (const name of names) api.put(warehouse(name));
    const answers = await pushes(names);
    assert.deepEqual(
      answers,
      names.map(() => ({
        status: 503,
        body: { error: 'failed to look up subscribed warehouses' },
      })),
    );
    assert.deepEqual(api.requestsTo('PATCH', '/warehouses/'), []);
  });

  it('the same 20 pushes while only the watch fails (403): each confirmed by a live paged list and refreshed', async function () {
    await start({ promotions: false });
    await failWarehouses(403, false);
    for (const name of names) api.put(warehouse(name));
    const from = api.requests.length;
    const answers = await pushes(names);
    assert.deepEqual(
      answers,
      names.map(() => ({ status: 200, body: { msg: 'refreshed 1 warehouse(s)' } })),
    );
    assert.deepEqual(
      api.requestsTo('PATCH', '/warehouses/').map((r) => r.path),
      names.map((n) => `/apis/kargo.akuity.io/v1alpha1/namespaces/a/warehouses/${n}`),
    );
    // One paged list per webhook (they came one after the other), through the adapter's client.
    const lists = listsSince(api, from);
    assert.deepEqual(
      lists.map((r) => [r.path, r.query.limit, r.query.continue]),
      names.map(() => [WAREHOUSES, '500', undefined]),
    );
    assert.equal(adapter.stats().liveReads, 20);
    assert.equal(adapter.stats().warehouses, 1, 'the live reads never touch the cache');
  });

  it('concurrent lookups during a failure share one live read', async function () {
    await start({ promotions: false });
    await failWarehouses(403, false);
    api.put(warehouse('during-0'));
    const from = api.requests.length;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => adapter.lookup(pushOf(`${REGISTRY}/during-0`))),
    );
    assert.deepEqual(
      results,
      results.map(() => [{ kind: 'Warehouse', namespace: 'a', name: 'during-0' }]),
    );
    assert.equal(listsSince(api, from).length, 1);
    assert.equal(adapter.stats().liveReads, 1);
  });

  it('the live read is paged (limit and continue), as client-go pages', async function () {
    await start({ promotions: false, pageSize: 2 });
    await failWarehouses(403, false);
    for (const name of names.slice(0, 4)) api.put(warehouse(name));
    const from = api.requests.length;
    assert.deepEqual(await adapter.lookup(pushOf(`${REGISTRY}/during-3`)), [
      { kind: 'Warehouse', namespace: 'a', name: 'during-3' },
    ]);
    const lists = listsSince(api, from);
    assert.deepEqual(
      lists.map((r) => [r.query.limit, r.query.continue === undefined]),
      [
        ['2', true],
        ['2', false],
        ['2', false],
      ],
    );
  });

  it('a live read that fails too rejects 503 with the root cause as `cause`', async function () {
    await start({ promotions: false });
    await failWarehouses(403, true);
    const err = (await adapter.lookup(pushOf(`${REGISTRY}/before`)).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    )) as Error & { code: string; status: number };
    assert.equal(err.code, 'KUBE_UNAVAILABLE');
    assert.equal(err.status, 503);
    assert.ok(err.cause instanceof KubeClusterError);
    assert.equal(err.cause.code, 'KUBE_FORBIDDEN');
    assert.equal(err.cause.kubeStatus, 403);
    assert.match(
      err.cause.message,
      /^the Kubernetes API server http:\/\/127\.0\.0\.1:\d+ \(context "fake"\) refused access to warehouses\.kargo\.akuity\.io \(403 Forbidden\)/,
    );
  });

  it('Promotions too: a pull-request lookup while the Promotion watch fails reads Promotions live', async function () {
    await start();
    sleep.gate();
    api.fault({ path: '/promotions', watch: true, status: 500, times: 10_000 });
    api.dropWatches();
    await until(() => sleep.waiting === 2, 'both backoffs');
    sleep.release();
    await until(() => adapter.stats().failing.length === 1, 'the Promotion watch failing');
    sleep.gate();
    api.put(promotionManifest('a', 'waiting', { waitingOn: PR_URL }));
    const from = api.requests.length;
    assert.deepEqual(await adapter.lookup(pullRequestOf(PR_URL)), [
      { kind: 'Promotion', namespace: 'a', name: 'waiting' },
    ]);
    assert.deepEqual(
      listsSince(api, from).map((r) => r.path),
      ['/apis/kargo.akuity.io/v1alpha1/promotions'],
    );
    // Pushes need only the Warehouse watch, which is fine: no live read.
    assert.deepEqual(await adapter.lookup(pushOf(`${REGISTRY}/before`)), [
      { kind: 'Warehouse', namespace: 'a', name: 'before' },
    ]);
    assert.equal(listsSince(api, from).length, 1);
  });

  it('routine watch restarts (server-side timeouts, 410 then a re-list that succeeds) cause no live read: 0 extra list requests', async function () {
    await start({ promotions: false });
    const from = api.requests.length;
    const lists = adapter.stats().lists;
    for (let round = 0; round < 5; round++) {
      // A server-side timeout: the watch ends cleanly, the adapter watches again.
      api.dropWatches({ graceful: true });
      assert.deepEqual(await adapter.lookup(pushOf(`${REGISTRY}/before`)), [
        { kind: 'Warehouse', namespace: 'a', name: 'before' },
      ]);
      sleep.release();
      await until(() => api.openWatches === 1, 'the watch again');
      // Compaction: 410 Expired inside the stream, then a re-list.
      api.expireHistory({ dropWatches: true });
      assert.deepEqual(await adapter.lookup(pushOf(`${REGISTRY}/before`)), [
        { kind: 'Warehouse', namespace: 'a', name: 'before' },
      ]);
      await until(
        () => api.openWatches === 1 && adapter.stats().expired === round + 1,
        'the re-list',
      );
    }
    assert.deepEqual(adapter.stats().failing, []);
    assert.equal(adapter.stats().liveReads, 0);
    // The only lists are the adapter's own re-lists after each 410, one each.
    assert.equal(adapter.stats().lists - lists, 5);
    assert.equal(listsSince(api, from).length, 5);
  });
});
