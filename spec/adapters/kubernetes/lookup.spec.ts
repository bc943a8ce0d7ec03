import assert from 'node:assert/strict';
import {
  KubernetesAdapterError,
  kubernetesAdapter,
  type KubernetesAdapter,
  type KubernetesAdapterOptions,
} from '../../../lib/adapters/kubernetes/index.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';
import { RecordingLogger } from '../../support/recording-adapter.js';
import {
  FakeSleep,
  OTHER_IMAGE,
  PR_URL,
  promotionManifest,
  pullRequestOf,
  pushOf,
  rejectionOf,
  until,
  warehouseManifest,
} from './helpers.js';

describe('kubernetesAdapter: lookup from the watch cache', function () {
  let api: FakeKubeApi;
  let sleep: FakeSleep;
  let logger: RecordingLogger;
  let adapter: KubernetesAdapter | undefined;

  function start(options: KubernetesAdapterOptions = {}): KubernetesAdapter {
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      logger,
      sleep: sleep.sleep,
      random: () => 0.5,
      ...options,
    });
    return adapter;
  }

  const names = (targets: { namespace: string; name: string }[]): string[] =>
    targets.map((t) => `${t.namespace}/${t.name}`);

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    sleep = new FakeSleep();
    logger = new RecordingLogger();
    adapter = undefined;
    api.put(warehouseManifest('a', 'w-a'));
    api.put(warehouseManifest('b', 'w-b'));
    api.put(warehouseManifest('c', 'w-c'));
    api.put(warehouseManifest('a', 'w-other', OTHER_IMAGE));
  });

  afterEach(async function () {
    await adapter?.close();
    await until(() => api.openConnections === 0, 'no connections left');
    await api.close();
  });

  it('matches across namespaces, and scoped() restricts to some', async function () {
    const k = start();
    const targets = await k.lookup(pushOf());
    assert.deepEqual(targets, [
      { kind: 'Warehouse', namespace: 'a', name: 'w-a' },
      { kind: 'Warehouse', namespace: 'b', name: 'w-b' },
      { kind: 'Warehouse', namespace: 'c', name: 'w-c' },
    ]);
    assert.deepEqual(names(await k.scoped(['b', 'c']).lookup(pushOf())), ['b/w-b', 'c/w-c']);
    assert.deepEqual(names(await k.scoped(['a']).lookup(pushOf(OTHER_IMAGE))), ['a/w-other']);
    assert.deepEqual(await k.scoped(['b']).lookup(pushOf(OTHER_IMAGE)), []);
    assert.equal(k.isReady(), true);
    assert.equal(k.stats().warehouses, 4);
  });

  it('with namespace: [...], lists and watches only those namespaces', async function () {
    const k = start({ namespace: ['a', 'b'], promotions: false });
    assert.deepEqual(names(await k.lookup(pushOf())), ['a/w-a', 'b/w-b']);
    const paths = [...new Set(api.requests.map((r) => r.path))].sort();
    assert.deepEqual(paths, [
      '/apis/kargo.akuity.io/v1alpha1/namespaces/a/warehouses',
      '/apis/kargo.akuity.io/v1alpha1/namespaces/b/warehouses',
    ]);
  });

  it('sees a Warehouse added, changed and deleted after start at the next lookup', async function () {
    const k = start();
    await k.ready();
    await until(() => api.openWatches === 2, 'the watches');
    api.put(warehouseManifest('d', 'w-new'));
    await until(() => k.stats().warehouses === 5, 'the addition');
    assert.deepEqual(names(await k.lookup(pushOf())), ['a/w-a', 'b/w-b', 'c/w-c', 'd/w-new']);

    api.put(warehouseManifest('a', 'w-a', OTHER_IMAGE));
    await untilLookup(k, ['b/w-b', 'c/w-c', 'd/w-new']);
    assert.deepEqual(names(await k.lookup(pushOf(OTHER_IMAGE))), ['a/w-a', 'a/w-other']);

    api.remove({ kind: 'Warehouse', namespace: 'c', name: 'w-c' });
    await until(() => k.stats().warehouses === 4, 'the deletion');
    assert.deepEqual(names(await k.lookup(pushOf())), ['b/w-b', 'd/w-new']);
  });

  it('is right after a dropped watch and after 410 Gone (changed and deleted while disconnected)', async function () {
    const k = start({ promotions: false });
    await k.ready();
    await until(() => api.openWatches === 1, 'the watch');

    // Dropped: resumes from its resourceVersion and gets what happened meanwhile.
    sleep.gate();
    api.dropWatches();
    await until(() => sleep.waiting === 1, 'the backoff');
    api.remove({ kind: 'Warehouse', namespace: 'b', name: 'w-b' });
    sleep.release();
    await until(() => k.stats().warehouses === 3, 'the missed deletion');
    assert.deepEqual(names(await k.lookup(pushOf())), ['a/w-a', 'c/w-c']);

    // 410: the history is gone, a re-list must find the change and the deletion.
    await until(() => api.openWatches === 1, 'the watch again');
    sleep.gate();
    api.dropWatches();
    await until(() => sleep.waiting === 1, 'the second backoff');
    api.put(warehouseManifest('a', 'w-a', OTHER_IMAGE));
    api.remove({ kind: 'Warehouse', namespace: 'c', name: 'w-c' });
    api.put(warehouseManifest('e', 'w-e'));
    api.expireHistory();
    sleep.release();
    await until(() => k.stats().expired === 1 && k.stats().lists === 2, 'the re-list');
    assert.deepEqual(names(await k.lookup(pushOf())), ['e/w-e']);
    assert.deepEqual(names(await k.lookup(pushOf(OTHER_IMAGE))), ['a/w-a', 'a/w-other']);
    assert.equal(k.stats().watchRestarts, 3, 'after each drop, and after the re-list');
  });

  it('never lists per webhook: many lookups, no new list request', async function () {
    const k = start();
    await k.ready();
    const listsBefore = api.requests.filter((r) => r.method === 'GET' && !r.watch).length;
    assert.equal(listsBefore, 2, 'one list of Warehouses and one of Promotions');
    for (let i = 0; i < 200; i++) await k.lookup(i % 2 ? pushOf() : pullRequestOf());
    assert.equal(api.requests.filter((r) => r.method === 'GET' && !r.watch).length, listsBefore);
    assert.equal(
      api.requests.filter((r) => !r.watch).length,
      listsBefore,
      'no request of any kind',
    );
  });

  it('the first lookup waits for the initial list', async function () {
    api.fault({ method: 'GET', path: '/warehouses', watch: false, delayMs: 30 });
    const k = start({ syncTimeoutMs: 5000 });
    assert.equal(k.isReady(), false);
    assert.equal((await k.lookup(pushOf())).length, 3);
  });

  it('a slow initial list: lookup rejects with KUBE_NOT_SYNCED after syncTimeoutMs', async function () {
    api.fault({ method: 'GET', path: '/warehouses', watch: false, delayMs: 10_000 });
    const k = start({ syncTimeoutMs: 20 });
    const err = await rejectionOf(k.lookup(pushOf()));
    assert.ok(err instanceof KubernetesAdapterError);
    assert.equal(err.code, 'KUBE_NOT_SYNCED');
    assert.equal(err.status, 503);
    assert.equal(err.message, 'the Kubernetes cache is not synced yet');
    assert.equal(k.isReady(), false);
  });

  it('a forbidden list: keeps retrying with backoff, lookups reject, the log names the status only', async function () {
    api.fault({ method: 'GET', path: '/warehouses', watch: false, status: 403, times: 1000 });
    sleep.gate();
    const k = start({ syncTimeoutMs: 20 });
    await until(() => sleep.waiting === 1, 'the backoff');
    const err = await rejectionOf(k.lookup(pushOf()));
    assert.equal((err as KubernetesAdapterError).code, 'KUBE_NOT_SYNCED');
    const warning = logger.lines.find((l) => l.msg === 'Kubernetes watch failed, retrying')!;
    assert.deepEqual(warning.obj, {
      resource: 'warehouses',
      namespace: '*',
      status: 403,
      reason: 'Forbidden',
      problem: `the Kubernetes API server ${api.url} (context "fake") refused access to warehouses.kargo.akuity.io (403 Forbidden): the context's user or service account lacks an RBAC permission (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`,
      attempt: 1,
      retryInMs: 1000,
    });
    assert.ok(!logger.text().includes('system:serviceaccount'), 'the Status message is not logged');
    api.clearFaults();
    sleep.release();
    await k.ready();
    assert.equal((await k.lookup(pushOf())).length, 3);
  });

  it('indexes Promotions running and waiting on the PR; drops them when they finish', async function () {
    api.put(promotionManifest('a', 'p-waiting', { waitingOn: PR_URL }));
    api.put(
      promotionManifest('b', 'p-waiting-b', {
        waitingOn: `${PR_URL.replace('/42', '/42/')}#view=discussion`,
      }),
    );
    api.put(promotionManifest('a', 'p-other-pr', { waitingOn: PR_URL.replace('/42', '/43') }));
    api.put(promotionManifest('a', 'p-succeeded', { phase: 'Succeeded', waitingOn: PR_URL }));
    api.put(promotionManifest('a', 'p-not-waiting'));
    const k = start();
    assert.deepEqual(await k.lookup(pullRequestOf()), [
      { kind: 'Promotion', namespace: 'a', name: 'p-waiting' },
      { kind: 'Promotion', namespace: 'b', name: 'p-waiting-b' },
    ]);
    assert.deepEqual(names(await k.scoped(['b']).lookup(pullRequestOf())), ['b/p-waiting-b']);
    assert.equal(k.stats().promotions, 3);

    await until(() => api.openWatches === 2, 'the watches');
    api.put(promotionManifest('a', 'p-waiting', { phase: 'Succeeded', waitingOn: PR_URL }));
    await until(() => k.stats().promotions === 2, 'the finished Promotion dropped');
    assert.deepEqual(names(await k.lookup(pullRequestOf())), ['b/p-waiting-b']);
    api.put(promotionManifest('c', 'p-new', { waitingOn: PR_URL }));
    await until(() => k.stats().promotions === 3, 'the new Promotion');
    assert.deepEqual(names(await k.lookup(pullRequestOf())), ['b/p-waiting-b', 'c/p-new']);
  });

  it('promotions: false watches no Promotions and finds none', async function () {
    api.put(promotionManifest('a', 'p-waiting', { waitingOn: PR_URL }));
    const k = start({ promotions: false });
    assert.deepEqual(await k.lookup(pullRequestOf()), []);
    assert.ok(!api.requests.some((r) => r.path.includes('promotions')));
  });

  it('close() stops every watch and leaves no socket; lookups then reject', async function () {
    const k = start({ namespace: ['a', 'b'] });
    await k.ready();
    await until(() => api.openWatches === 4, 'four watches');
    await k.close();
    await until(() => api.openWatches === 0 && api.openConnections === 0, 'everything closed');
    const err = await rejectionOf(k.lookup(pushOf()));
    assert.equal((err as KubernetesAdapterError).code, 'KUBE_CLOSED');
    const refreshErr = await rejectionOf(
      k.refresh({ kind: 'Warehouse', namespace: 'a', name: 'w-a' }),
    );
    assert.equal((refreshErr as KubernetesAdapterError).code, 'KUBE_CLOSED');
  });

  it('close() before the initial list: ready() rejects, no socket left', async function () {
    api.fault({ method: 'GET', delayMs: 10_000, times: 2 });
    const k = start();
    await until(() => api.requests.length === 2, 'the two lists');
    await k.close();
    await assert.rejects(k.ready());
    await until(() => api.openConnections === 0, 'everything closed');
  });

  it('validates its options at factory time', function () {
    assert.throws(
      () => kubernetesAdapter({ kubeConfig: api.kubeConfig(), namespace: 'Not_A_Namespace' }),
      /^TypeError: \[kargo-azure-receiver\] options\.namespace/,
    );
    assert.throws(
      () => kubernetesAdapter({ kubeConfig: api.kubeConfig(), namespace: [] }),
      /\[kargo-azure-receiver\] options\.namespace/,
    );
    assert.throws(
      () => kubernetesAdapter({ kubeConfig: api.kubeConfig(), syncTimeoutMs: 0 }),
      /\[kargo-azure-receiver\] options\.syncTimeoutMs must be greater than or equal to 1/,
    );
    assert.throws(
      () => kubernetesAdapter({ kubeConfig: {} as never }),
      /\[kargo-azure-receiver\] options\.kubeConfig/,
    );
  });
});

/** Looks up until the answer is `expected` (a change reaches the cache asynchronously). */
async function untilLookup(k: KubernetesAdapter, expected: string[]): Promise<void> {
  let last: string[] = [];
  for (let i = 0; i < 500; i++) {
    last = (await k.lookup(pushOf())).map((t) => `${t.namespace}/${t.name}`);
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(last, expected);
}
