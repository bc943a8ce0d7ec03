/**
 * The real-server modes of the fake API server, driven by the real
 * @kubernetes/client-node: paged lists and their expiring continue tokens,
 * resourceVersion=0 served whole, periodic bookmarks, silent watches, an
 * outage.
 */
import assert from 'node:assert/strict';
import { ApiException, CustomObjectsApi, Watch } from '@kubernetes/client-node';
import { FakeKubeApi, type FakeKubeApiOptions, type KubeObject } from './fake-kube-api.js';

const W = { group: 'kargo.akuity.io', version: 'v1alpha1', plural: 'warehouses' };

interface Page {
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), 'condition not reached');
}

describe('FakeKubeApi real-server modes (through the real client-node)', function () {
  let api: FakeKubeApi;
  let custom: CustomObjectsApi;

  async function start(options: FakeKubeApiOptions = {}, count = 5): Promise<void> {
    api = new FakeKubeApi(options);
    await api.start();
    for (let i = 0; i < count; i++)
      api.put({
        apiVersion: 'kargo.akuity.io/v1alpha1',
        kind: 'Warehouse',
        metadata: { namespace: 'a', name: `w${i}` },
      });
    custom = api.kubeConfig().makeApiClient(CustomObjectsApi);
  }

  afterEach(async function () {
    await api.close();
  });

  const list = (query: { limit?: number; _continue?: string; resourceVersion?: string }) =>
    custom.listClusterCustomObject({ ...W, ...query }) as Promise<Page>;

  it('pages a list: limit, continue and remainingItemCount, every page at the first page’s resourceVersion', async function () {
    await start();
    const first = await list({ limit: 2 });
    assert.deepEqual(
      first.items.map((o) => o.metadata?.name),
      ['w0', 'w1'],
    );
    assert.equal(first.metadata.remainingItemCount, 3);
    const rv = first.metadata.resourceVersion;
    api.put({
      apiVersion: 'kargo.akuity.io/v1alpha1',
      kind: 'Warehouse',
      metadata: { namespace: 'a', name: 'late' },
    });
    const second = await list({ limit: 2, _continue: first.metadata.continue! });
    const third = await list({ limit: 2, _continue: second.metadata.continue! });
    assert.deepEqual(
      [...second.items, ...third.items].map((o) => o.metadata?.name),
      ['w2', 'w3', 'w4'],
    );
    assert.equal(second.metadata.resourceVersion, rv);
    assert.equal(third.metadata.continue, undefined);
    assert.equal(third.metadata.remainingItemCount, undefined);
  });

  it('answers 410 Expired to a continue token etcd compacted away, 400 to a malformed one', async function () {
    await start();
    const first = await list({ limit: 2 });
    api.expireContinueTokens();
    const err = (await list({ limit: 2, _continue: first.metadata.continue! }).catch(
      (e: unknown) => e,
    )) as ApiException<string>;
    assert.ok(err instanceof ApiException);
    assert.equal(err.code, 410);
    const status = JSON.parse(err.body) as { reason: string; message: string };
    assert.equal(status.reason, 'Expired');
    assert.match(status.message, /^The provided continue parameter is too old/);
    const bad = (await list({ limit: 2, _continue: '%%%' }).catch(
      (e: unknown) => e,
    )) as ApiException<string>;
    assert.equal(bad.code, 400);
  });

  it('expires continue tokens after continueTtlMs', async function () {
    await start({ continueTtlMs: 1 });
    const first = await list({ limit: 2 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const err = (await list({ limit: 2, _continue: first.metadata.continue! }).catch(
      (e: unknown) => e,
    )) as ApiException<string>;
    assert.equal(err.code, 410);
  });

  it('serves resourceVersion=0 whole, ignoring limit, as the watch cache (unless pageCachedLists)', async function () {
    await start();
    const cached = await list({ limit: 2, resourceVersion: '0' });
    assert.equal(cached.items.length, 5);
    assert.equal(cached.metadata.continue, undefined);
    await api.close();
    await start({ pageCachedLists: true });
    assert.equal((await list({ limit: 2, resourceVersion: '0' })).items.length, 2);
  });

  it('sends a BOOKMARK every bookmarkIntervalMs to watches that allow them, none to the others', async function () {
    await start({ bookmarkIntervalMs: 5 }, 1);
    const seen: string[] = [];
    const plain: string[] = [];
    const watch = new Watch(api.kubeConfig());
    const path = '/apis/kargo.akuity.io/v1alpha1/warehouses';
    const rv = api.resourceVersion;
    const a = await watch.watch(
      path,
      { resourceVersion: rv, allowWatchBookmarks: true },
      (type) => seen.push(type),
      () => undefined,
    );
    const b = await watch.watch(
      path,
      { resourceVersion: rv },
      (type) => plain.push(type),
      () => undefined,
    );
    await waitFor(() => seen.length >= 3);
    assert.ok(seen.every((t) => t === 'BOOKMARK'));
    assert.deepEqual(plain, []);
    a.abort();
    b.abort();
  });

  it('a silenced watch stays open and delivers nothing, not even its end at timeoutSeconds', async function () {
    await start({ msPerSecond: 10 }, 1);
    const seen: string[] = [];
    let ended = false;
    const controller = await new Watch(api.kubeConfig()).watch(
      '/apis/kargo.akuity.io/v1alpha1/warehouses',
      { resourceVersion: api.resourceVersion, timeoutSeconds: 2 },
      (type) => seen.push(type),
      () => (ended = true),
    );
    await waitFor(() => api.openWatches === 1);
    api.silenceWatches();
    api.put({
      apiVersion: 'kargo.akuity.io/v1alpha1',
      kind: 'Warehouse',
      metadata: { namespace: 'a', name: 'x' },
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(seen, []);
    assert.equal(ended, false);
    assert.equal(api.openWatches, 1);
    controller.abort();
  });

  it('down() cuts every connection and refuses new ones until up()', async function () {
    await start({}, 1);
    api.down();
    const err = await list({}).catch((e: unknown) => e);
    assert.ok(err instanceof Error);
    assert.equal(api.openConnections, 0);
    api.up();
    assert.equal((await list({})).items.length, 1);
  });
});
