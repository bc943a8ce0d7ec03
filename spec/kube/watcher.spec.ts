import assert from 'node:assert/strict';
import { ResourceWatcher, type ObjectRef } from '../../lib/adapters/kubernetes/index.js';
import { FakeKubeApi, type KubeObject } from '../support/fake-kube-api.js';
import { RecordingLogger } from '../support/recording-adapter.js';
import { FakeSleep, until, warehouseManifest } from '../adapters/kubernetes/helpers.js';

const WAREHOUSES = { group: 'kargo.akuity.io', version: 'v1alpha1', plural: 'warehouses' };

/** A watcher whose handlers mirror the objects into a map, and record every call. */
function mirror(
  api: FakeKubeApi,
  sleep: FakeSleep,
  extra: Partial<ConstructorParameters<typeof ResourceWatcher<KubeObject>>[0]> = {},
) {
  const objects = new Map<string, KubeObject>();
  const calls: string[] = [];
  const logger = new RecordingLogger();
  const watcher = new ResourceWatcher<KubeObject>({
    kubeConfig: api.kubeConfig(),
    resource: WAREHOUSES,
    logger,
    sleep: sleep.sleep,
    random: () => 0.5, // no jitter, and timeoutSeconds = 1.5 × base
    watchTimeoutSeconds: 60,
    onUpsert: (obj) => {
      const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
      objects.set(key, obj);
      calls.push(`upsert ${key}@${obj.metadata?.resourceVersion}`);
    },
    onDelete: (ref: ObjectRef) => {
      const key = `${ref.namespace}/${ref.name}`;
      objects.delete(key);
      calls.push(`delete ${key}`);
    },
    ...extra,
  });
  return { watcher, objects, calls, logger };
}

describe('ResourceWatcher', function () {
  let api: FakeKubeApi;
  let sleep: FakeSleep;

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    sleep = new FakeSleep();
    api.put(warehouseManifest('a', 'w1'));
    api.put(warehouseManifest('b', 'w2'));
  });

  afterEach(async function () {
    await api.close();
  });

  it('lists, becomes ready, then follows ADDED / MODIFIED / DELETED', async function () {
    const { watcher, objects, calls } = mirror(api, sleep);
    assert.equal(watcher.isReady(), false);
    watcher.start();
    await watcher.ready;
    assert.equal(watcher.isReady(), true);
    assert.deepEqual([...objects.keys()].sort(), ['a/w1', 'b/w2']);
    await until(() => api.openWatches === 1, 'the watch');

    api.put(warehouseManifest('a', 'w3'));
    api.put({ ...warehouseManifest('a', 'w1'), spec: { subscriptions: [] } });
    api.remove({ kind: 'Warehouse', namespace: 'b', name: 'w2' });
    await until(() => calls.length === 5, 'three events');
    assert.deepEqual(calls.slice(2), ['upsert a/w3@103', 'upsert a/w1@104', 'delete b/w2']);
    assert.deepEqual(objects.get('a/w1')!.spec, { subscriptions: [] });

    const watch = api.requests.find((r) => r.watch)!;
    assert.deepEqual(watch.query, {
      watch: 'true',
      resourceVersion: '102',
      allowWatchBookmarks: 'true',
      timeoutSeconds: '90',
    });
    assert.deepEqual(watcher.stats(), {
      ready: true,
      objects: 2,
      lists: 1,
      watchRestarts: 0,
      expired: 0,
      errors: 0,
      pages: 1,
      listRestarts: 0,
      outOfSyncMs: 0,
    });
    await watcher.close();
  });

  it('watches one namespace, with selectors, and core or cluster-scoped resources too', async function () {
    api.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: 'a', name: 's1', labels: { 'kargo.akuity.io/cred-type': 'git' } },
    });
    api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'a', name: 's2' } });
    api.put({
      apiVersion: 'kargo.akuity.io/v1alpha1',
      kind: 'ClusterConfig',
      metadata: { name: 'cluster' },
    });
    const secrets = mirror(api, sleep, {
      resource: { group: '', version: 'v1', plural: 'secrets' },
      namespace: 'a',
      labelSelector: 'kargo.akuity.io/cred-type',
    });
    const clusterConfigs = mirror(api, sleep, {
      resource: { group: 'kargo.akuity.io', version: 'v1alpha1', plural: 'clusterconfigs' },
    });
    secrets.watcher.start();
    clusterConfigs.watcher.start();
    await Promise.all([secrets.watcher.ready, clusterConfigs.watcher.ready]);
    assert.deepEqual([...secrets.objects.keys()], ['a/s1']);
    assert.deepEqual([...clusterConfigs.objects.keys()], ['undefined/cluster']);
    assert.ok(
      api.requests.some(
        (r) =>
          r.path === '/api/v1/namespaces/a/secrets' &&
          r.query.labelSelector === 'kargo.akuity.io/cred-type',
      ),
    );
    assert.ok(api.requests.some((r) => r.path === '/apis/kargo.akuity.io/v1alpha1/clusterconfigs'));
    await until(() => api.openWatches === 2, 'both watches');
    api.remove({ kind: 'ClusterConfig', name: 'cluster' });
    await until(() => clusterConfigs.objects.size === 0, 'the deletion');
    await Promise.all([secrets.watcher.close(), clusterConfigs.watcher.close()]);
  });

  it('after a dropped watch, watches again from the last resourceVersion, without listing, after a backoff', async function () {
    const { watcher, calls } = mirror(api, sleep);
    watcher.start();
    await watcher.ready;
    await until(() => api.openWatches === 1, 'the watch');
    sleep.gate();
    api.dropWatches();
    await until(() => sleep.waiting === 1, 'the backoff');
    api.put(warehouseManifest('a', 'while-away'));
    sleep.release();
    await until(() => calls.includes('upsert a/while-away@103'), 'the missed event');
    const lists = api.requests.filter((r) => r.method === 'GET' && !r.watch);
    const watches = api.requests.filter((r) => r.watch);
    assert.equal(lists.length, 1);
    assert.deepEqual(
      watches.map((r) => r.query.resourceVersion),
      ['102', '102'],
    );
    assert.deepEqual(sleep.delays, [1000]);
    assert.equal(watcher.stats().watchRestarts, 1);
    assert.equal(watcher.stats().errors, 1);
    await watcher.close();
  });

  it('on 410 Gone, lists again and reconciles what changed and what was deleted meanwhile', async function () {
    const { watcher, objects, calls } = mirror(api, sleep);
    watcher.start();
    await watcher.ready;
    await until(() => api.openWatches === 1, 'the watch');
    sleep.gate();
    api.dropWatches();
    await until(() => sleep.waiting === 1, 'the backoff');
    api.put({
      ...warehouseManifest('a', 'w1'),
      spec: { subscriptions: [{ image: { repoURL: 'changed.azurecr.io/x' } }] },
    });
    api.remove({ kind: 'Warehouse', namespace: 'b', name: 'w2' });
    api.put(warehouseManifest('b', 'w4'));
    api.expireHistory();
    sleep.release();
    await until(() => watcher.stats().lists === 2, 'the re-list');
    assert.deepEqual(calls.slice(2).sort(), ['delete b/w2', 'upsert a/w1@103', 'upsert b/w4@105']);
    assert.deepEqual([...objects.keys()].sort(), ['a/w1', 'b/w4']);
    assert.deepEqual((objects.get('a/w1')!.spec as { subscriptions: unknown[] }).subscriptions, [
      { image: { repoURL: 'changed.azurecr.io/x' } },
    ]);
    assert.equal(watcher.stats().expired, 1);
    // The re-list is a fresh read (no resourceVersion), the next watch starts from it.
    const lastList = api.requests.filter((r) => r.method === 'GET' && !r.watch).at(-1)!;
    assert.equal(lastList.query.resourceVersion, undefined);
    await until(
      () => api.requests.filter((r) => r.watch).at(-1)!.query.resourceVersion === '105',
      'a watch from the new list',
    );
    await watcher.close();
  });

  it('on a 410 ERROR event on an open watch, lists again at once', async function () {
    const { watcher } = mirror(api, sleep);
    watcher.start();
    await watcher.ready;
    await until(() => api.openWatches === 1, 'the watch');
    api.put(warehouseManifest('a', 'w5'));
    api.expireHistory({ dropWatches: true });
    await until(() => watcher.stats().lists === 2, 'the re-list');
    assert.deepEqual(sleep.delays, [], 'the first 410 needs no backoff');
    assert.equal(watcher.stats().objects, 3);
    await watcher.close();
  });

  it('retries a failing list with capped exponential backoff, a page with Retry-After after that wait, then becomes ready', async function () {
    api.fault({ method: 'GET', path: '/warehouses', watch: false, status: 500, times: 3 });
    api.fault({
      method: 'GET',
      path: '/warehouses',
      watch: false,
      status: 429,
      retryAfterSeconds: 1,
    });
    const { watcher, logger } = mirror(api, sleep, {
      backoff: { initialMs: 100, maxMs: 300, factor: 2, jitter: 0 },
    });
    watcher.start();
    await watcher.ready;
    // Three 500s without Retry-After: backoff. The 429 says "Retry-After: 1": the same page again after 1 s.
    assert.deepEqual(sleep.delays, [100, 200, 300, 1000]);
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 3);
    assert.deepEqual(warnings[0]!.obj, {
      resource: 'warehouses',
      namespace: '*',
      status: 500,
      reason: 'InternalError',
      problem: `the Kubernetes API server ${api.url} (context "fake") answered 500 InternalError for warehouses.kargo.akuity.io`,
      attempt: 1,
      retryInMs: 100,
    });
    assert.ok(!logger.text().includes('injected'), 'no Status message in the logs');
    await watcher.close();
  });

  it('backs off when the server keeps closing an idle watch at once', async function () {
    const { watcher } = mirror(api, sleep, {
      backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
    });
    watcher.start();
    await watcher.ready;
    for (let i = 1; i <= 3; i++) {
      await until(() => api.openWatches === 1, `watch ${i}`);
      api.dropWatches({ graceful: true });
      await until(() => sleep.delays.length === i, `backoff ${i}`);
    }
    assert.deepEqual(sleep.delays, [100, 200, 400]);
    await watcher.close();
  });

  it('keeps the resourceVersion of bookmarks for the next watch', async function () {
    const { watcher } = mirror(api, sleep);
    watcher.start();
    await watcher.ready;
    await until(() => api.openWatches === 1, 'the watch');
    api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'a', name: 'unrelated' } }); // bumps the global version
    api.sendBookmarks();
    await until(() => api.openWatches === 1, 'still open');
    await new Promise((resolve) => setTimeout(resolve, 10));
    api.dropWatches({ graceful: true });
    await until(() => api.requests.filter((r) => r.watch).length === 2, 'the second watch');
    assert.equal(api.requests.filter((r) => r.watch)[1]!.query.resourceVersion, '103');
    assert.deepEqual(sleep.delays, [], 'a bookmark is progress: no backoff');
    await watcher.close();
  });

  it('survives a throwing handler', async function () {
    let fail = true;
    const seen: string[] = [];
    const { watcher, logger } = mirror(api, sleep, {
      onUpsert: (obj) => {
        seen.push(obj.metadata!.name!);
        if (fail) {
          fail = false;
          throw new Error('handler bug');
        }
      },
    });
    watcher.start();
    await watcher.ready;
    assert.equal(seen.length, 2);
    assert.equal(logger.lines.filter((l) => l.level === 'error').length, 1);
    await watcher.close();
  });

  it('close() aborts the watch and leaves no connection; closing before the first list rejects ready', async function () {
    const { watcher } = mirror(api, sleep);
    watcher.start();
    await watcher.ready;
    await until(() => api.openWatches === 1, 'the watch');
    await watcher.close();
    await until(() => api.openWatches === 0 && api.openConnections === 0, 'no connections');

    api.fault({ method: 'GET', delayMs: 5000 });
    const early = mirror(api, sleep).watcher.start();
    await until(() => api.requests.length === 3, 'the slow list');
    await early.close();
    await assert.rejects(early.ready, /closed before its first list/);
    await until(() => api.openConnections === 0, 'no connections');
  });

  it('treats a watch silent for its idle timeout as dead and watches again', async function () {
    const { watcher, logger } = mirror(api, sleep, { watchIdleTimeoutMs: 30 });
    watcher.start();
    await watcher.ready;
    await until(() => api.openWatches === 1, 'the watch');
    api.silenceWatches();
    await until(() => api.requests.filter((r) => r.watch).length === 2, 'a second watch');
    const warning = logger.lines.find((l) => l.level === 'warn')!;
    assert.equal((warning.obj as { reason?: string }).reason, 'Timeout');
    assert.equal(watcher.stats().errors, 1);
    await watcher.close();
  });
});
