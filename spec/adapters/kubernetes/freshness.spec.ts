import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import {
  azureReceiver,
  kargoToken,
  kubernetesAdapter,
  KubernetesAdapterError,
  type KubernetesAdapter,
} from '../../../lib/index.js';
import { KubeClusterError } from '../../../lib/adapters/kubernetes/errors.js';
import { resolveOptions } from '../../../lib/adapters/kubernetes/options.js';
import { healthRouter } from '../../../lib/server/health.js';
import { ServerMetrics } from '../../../lib/server/metrics.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';
import { fixtureText } from '../../support/fixtures.js';
import { FakeSleep, pushOf, rejectionOf, until, warehouseManifest } from './helpers.js';

const PUSHED = 'myregistry.azurecr.io/hello-world'; // the image of the acr-push fixture
const token = kargoToken({ project: 'p', receiver: 'r', secret: 'freshness' });

describe('kubernetesAdapter freshness: never answer from a cache out of sync for too long', function () {
  let api: FakeKubeApi;
  let sleep: FakeSleep;
  let adapter: KubernetesAdapter;
  let now: number;
  let app: express.Express;

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    api.put(
      warehouseManifest('a', 'before', {
        image: { repoURL: PUSHED, imageSelectionStrategy: 'Lexical' },
      }),
    );
    sleep = new FakeSleep();
    now = 1_000_000;
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      promotions: false,
      sleep: sleep.sleep,
      random: () => 0.5,
      clock: () => now,
      maxStalenessMs: 30_000,
    });
    app = express();
    // As `serve` wires them: /readyz and the metrics read the adapter's readiness.
    app.use(healthRouter(() => (adapter.isReady() ? undefined : 'Kubernetes caches not synced')));
    app.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));
    await adapter.ready();
    await until(() => api.openWatches === 1, 'the watch');
  });

  afterEach(async function () {
    sleep.release();
    await adapter.close();
    await api.close();
  });

  async function push(): Promise<request.Response> {
    return request(app)
      .post(`/azure/${token}`)
      .set('Content-Type', 'application/json')
      .send(fixtureText('acr-push'));
  }

  it('defaults: 30 s freshness bound, a silent watch replaced within 90 s, pages of 500, close() within 5 s', function () {
    const config = resolveOptions({ kubeConfig: api.kubeConfig() });
    assert.deepEqual(
      [config.maxStalenessMs, config.watchIdleTimeoutMs, config.pageSize, config.closeTimeoutMs],
      [30_000, 90_000, 500, 5000],
    );
    assert.throws(
      () => resolveOptions({ maxStalenessMs: 0 }),
      /^TypeError: \[kargo-azure-receiver\] options\.maxStalenessMs must be greater than or equal to 1$/,
    );
  });

  it('answers from the cache while the watch is open, however long', async function () {
    now += 3_600_000;
    assert.equal(adapter.isReady(), true);
    assert.equal(adapter.stats().outOfSyncMs, 0);
    const res = await push();
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { msg: 'refreshed 1 warehouse(s)' });
  });

  it('with the API server down: lookups confirm by a live read, which fails too: 503 with the cause (never the cache), ready but degraded; back up: in sync, and what was created meanwhile is found', async function () {
    sleep.gate();
    api.down();
    await until(() => adapter.stats().watchErrors === 1 && sleep.waiting === 1, 'the failed watch');

    // At once, not after maxStalenessMs: the cache may already have missed a Warehouse.
    const err = await rejectionOf(adapter.lookup(pushOf(PUSHED)));
    assert.ok(err instanceof KubernetesAdapterError);
    assert.equal(err.code, 'KUBE_UNAVAILABLE');
    assert.equal(err.status, 503);
    const cause = err.cause as KubeClusterError;
    assert.ok(cause instanceof KubeClusterError);
    assert.equal(cause.code, 'KUBE_UNREACHABLE');
    assert.match(
      cause.message,
      /^cannot reach the Kubernetes API server http:\/\/127\.0\.0\.1:\d+ \(context "fake"\): connection (reset|refused)/,
    );
    const res = await push();
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'failed to look up subscribed warehouses' });

    now += 30_001;
    // Ready meanwhile: ACR does not retry, so leaving the Service would lose its pushes for sure.
    assert.equal(adapter.isReady(), true);
    const [failing] = adapter.stats().failing;
    assert.deepEqual(
      { ...failing, reason: undefined },
      {
        resource: 'warehouses',
        namespace: '*',
        outOfSyncMs: 30_001,
        code: 'KUBE_UNREACHABLE',
        reason: undefined,
      },
    );
    assert.equal(adapter.stats().failing.length, 1);
    const metrics = new ServerMetrics({ defaultMetrics: false });
    metrics.addAdapterStats(() => adapter.stats());
    metrics.setStatus({ ready: () => adapter.isReady(), receivers: () => 1 });
    const text = await metrics.registry.metrics();
    assert.ok(text.includes('\nkargo_azure_receiver_ready 1\n'), text);
    assert.ok(text.includes('\nkargo_azure_receiver_cache_out_of_sync_seconds 30.001\n'), text);
    assert.ok(
      text.includes(
        '\nkargo_azure_receiver_watch_failing{resource="warehouses",namespace="*",cause="KUBE_UNREACHABLE"} 1\n',
      ),
      text,
    );

    api.put(
      warehouseManifest('a', 'during', {
        image: { repoURL: PUSHED, imageSelectionStrategy: 'Lexical' },
      }),
    );
    api.up();
    sleep.release();
    await until(() => adapter.stats().failing.length === 0, 'in sync again');
    assert.equal(adapter.stats().outOfSyncMs, 0);
    assert.equal((await request(app).get('/readyz')).status, 200);
    await until(() => adapter.stats().warehouses === 2, 'the Warehouse created meanwhile');
    const after = await push();
    assert.equal(after.status, 200);
    assert.deepEqual(after.body, { msg: 'refreshed 2 warehouse(s)' });
    const cleared = await metrics.registry.metrics();
    assert.ok(!cleared.includes('kargo_azure_receiver_watch_failing{'), cleared);
  });

  it('a watch the API server keeps refusing (rights revoked) is a failure: lookups list live and find what the cache missed', async function () {
    sleep.gate();
    api.fault({ path: '/warehouses', watch: true, status: 403, times: 1000 });
    api.dropWatches();
    await until(() => sleep.waiting === 1, 'the backoff after the drop');
    sleep.release();
    await until(() => adapter.stats().watchErrors >= 2, 'a refused watch');
    sleep.gate();
    assert.equal(adapter.stats().failing[0]?.code, 'KUBE_FORBIDDEN');
    api.put(
      warehouseManifest('a', 'missed', {
        image: { repoURL: PUSHED, imageSelectionStrategy: 'Lexical' },
      }),
    );
    now += 30_001;
    assert.equal(adapter.isReady(), true);
    assert.deepEqual(await adapter.lookup(pushOf(PUSHED)), [
      { kind: 'Warehouse', namespace: 'a', name: 'before' },
      { kind: 'Warehouse', namespace: 'a', name: 'missed' },
    ]);
    api.clearFaults();
  });

  it('a routine restart taking longer than maxStalenessMs (no failure) still fails its lookups KUBE_STALE, and readiness', async function () {
    sleep.gate();
    // The server ends a watch that delivered nothing yet, without an error: a backoff, no failure.
    api.dropWatches({ graceful: true });
    // A graceful end of a watch that delivered nothing backs off: no open watch, but no failure either.
    await until(() => sleep.waiting === 1, 'the backoff after the quiet end');
    assert.deepEqual(adapter.stats().failing, []);
    now += 30_001;
    assert.equal(adapter.isReady(), false);
    const err = await rejectionOf(adapter.lookup(pushOf(PUSHED)));
    assert.equal((err as KubernetesAdapterError).code, 'KUBE_STALE');
    assert.equal((err as KubernetesAdapterError).status, 503);
    assert.equal(adapter.stats().liveReads, 0);
  });

  it('per namespace: only the namespace whose watch is down is read live', async function () {
    await adapter.close();
    api.put(
      warehouseManifest('b', 'in-b', {
        image: { repoURL: PUSHED, imageSelectionStrategy: 'Lexical' },
      }),
    );
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      namespace: ['a', 'b'],
      promotions: false,
      sleep: sleep.sleep,
      random: () => 0.5,
      clock: () => now,
    });
    await adapter.ready();
    await until(() => api.openWatches === 2, 'both watches');
    sleep.gate();
    api.dropWatches();
    await until(() => sleep.waiting === 2, 'both backoffs');
    api.fault({ path: '/namespaces/b/warehouses', watch: true, status: 403, times: 1000 });
    sleep.release();
    sleep.gate();
    await until(() => api.openWatches === 1 && sleep.waiting === 1, 'a back, b refused');
    api.put(
      warehouseManifest('b', 'missed-in-b', {
        image: { repoURL: PUSHED, imageSelectionStrategy: 'Lexical' },
      }),
    );
    const listsBefore = api.requests.filter((r) => r.method === 'GET' && !r.watch).length;
    const inA = adapter.scoped(['a']);
    assert.deepEqual(await inA.lookup(pushOf(PUSHED)), [
      { kind: 'Warehouse', namespace: 'a', name: 'before' },
    ]);
    assert.equal(adapter.stats().liveReads, 0);
    assert.deepEqual(await adapter.scoped(['b']).lookup(pushOf(PUSHED)), [
      { kind: 'Warehouse', namespace: 'b', name: 'in-b' },
      { kind: 'Warehouse', namespace: 'b', name: 'missed-in-b' },
    ]);
    assert.deepEqual(await adapter.lookup(pushOf(PUSHED)), [
      { kind: 'Warehouse', namespace: 'a', name: 'before' },
      { kind: 'Warehouse', namespace: 'b', name: 'in-b' },
      { kind: 'Warehouse', namespace: 'b', name: 'missed-in-b' },
    ]);
    const lists = api.requests.filter((r) => r.method === 'GET' && !r.watch).slice(listsBefore);
    assert.deepEqual(
      lists.map((r) => [r.path, r.query.limit]),
      [
        ['/apis/kargo.akuity.io/v1alpha1/namespaces/b/warehouses', '500'],
        ['/apis/kargo.akuity.io/v1alpha1/namespaces/b/warehouses', '500'],
      ],
    );
    assert.equal(adapter.stats().liveReads, 2);
    assert.equal(adapter.isReady(), true);
    api.clearFaults();
  });
});
