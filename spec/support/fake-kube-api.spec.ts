import assert from 'node:assert/strict';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { FakeKubeApi, type KubeObject } from './fake-kube-api.js';

const G = { group: 'kargo.akuity.io', version: 'v1alpha1' };

function warehouse(namespace: string, name: string, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Warehouse',
    metadata: { namespace, name },
    spec: { subscriptions: [] },
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected ApiException, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

function statusOf(err: ApiException<unknown>): Record<string, unknown> {
  return (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as Record<
    string,
    unknown
  >;
}

interface Collected {
  events: { type: string; object: KubeObject }[];
  done: Promise<unknown>;
  controller: AbortController;
}

async function watch(
  api: FakeKubeApi,
  path: string,
  query: Record<string, string | number | boolean>,
): Promise<Collected> {
  const events: Collected['events'] = [];
  let resolveDone!: (err: unknown) => void;
  const done = new Promise<unknown>((resolve) => (resolveDone = resolve));
  const controller = await new Watch(api.kubeConfig()).watch(
    path,
    query,
    (type, object: KubeObject) => events.push({ type, object }),
    (err: unknown) => resolveDone(err),
  );
  return { events, done, controller };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++)
    await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 100 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), 'condition not reached');
}

describe('FakeKubeApi (through the real client-node)', function () {
  let api: FakeKubeApi;
  let custom: CustomObjectsApi;

  beforeEach(async function () {
    api = new FakeKubeApi({ historyLimit: 50, msPerSecond: 10 });
    await api.start();
    custom = api.kubeConfig().makeApiClient(CustomObjectsApi);
    api.put(
      warehouse('a', 'w1', { metadata: { namespace: 'a', name: 'w1', labels: { team: 'x' } } }),
    );
    api.put(warehouse('a', 'w2'));
    api.put(warehouse('b', 'w3'));
  });

  afterEach(async function () {
    await api.close();
    assert.equal(api.openConnections, 0);
  });

  describe('list and get', function () {
    it('lists one namespace with a List kind and the current resourceVersion', async function () {
      const list = await custom.listNamespacedCustomObject({
        ...G,
        namespace: 'a',
        plural: 'warehouses',
      });
      assert.equal(list.kind, 'WarehouseList');
      assert.equal(list.apiVersion, 'kargo.akuity.io/v1alpha1');
      assert.equal(list.metadata.resourceVersion, api.resourceVersion);
      assert.deepEqual(
        list.items.map((o: KubeObject) => o.metadata?.name),
        ['w1', 'w2'],
      );
    });

    it('lists all namespaces and filters by label and field selectors', async function () {
      const all = await custom.listClusterCustomObject({ ...G, plural: 'warehouses' });
      assert.equal(all.items.length, 3);
      const byLabel = await custom.listClusterCustomObject({
        ...G,
        plural: 'warehouses',
        labelSelector: 'team=x',
      });
      assert.deepEqual(
        byLabel.items.map((o: KubeObject) => o.metadata?.name),
        ['w1'],
      );
      const byField = await custom.listClusterCustomObject({
        ...G,
        plural: 'warehouses',
        fieldSelector: 'metadata.name=w3',
      });
      assert.deepEqual(
        byField.items.map((o: KubeObject) => o.metadata?.name),
        ['w3'],
      );
    });

    it('serves cluster-scoped and core resources', async function () {
      api.put({
        apiVersion: 'kargo.akuity.io/v1alpha1',
        kind: 'ClusterConfig',
        metadata: { name: 'cluster' },
      });
      api.put({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { namespace: 'a', name: 's' },
        data: { token: 'eA==' },
      });
      const cc = await custom.getClusterCustomObject({
        ...G,
        plural: 'clusterconfigs',
        name: 'cluster',
      });
      assert.equal(cc.metadata.name, 'cluster');
      const core = api.kubeConfig().makeApiClient(CoreV1Api);
      const secret = await core.readNamespacedSecret({ namespace: 'a', name: 's' });
      assert.equal(secret.data?.token, 'eA==');
      const secrets = await core.listNamespacedSecret({ namespace: 'a' });
      assert.equal(secrets.items.length, 1);
    });

    it('answers 404 with a Status object', async function () {
      const err = await rejection(
        custom.getNamespacedCustomObject({
          ...G,
          namespace: 'a',
          plural: 'warehouses',
          name: 'nope',
        }),
      );
      assert.equal(err.code, 404);
      assert.deepEqual(statusOf(err), {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'warehouses.kargo.akuity.io "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', group: 'kargo.akuity.io', kind: 'warehouses' },
        code: 404,
      });
    });

    it('answers 401 to a wrong token', async function () {
      const bad = api.kubeConfig({ token: 'wrong' }).makeApiClient(CustomObjectsApi);
      const err = await rejection(bad.listClusterCustomObject({ ...G, plural: 'warehouses' }));
      assert.equal(err.code, 401);
    });

    it('records requests', async function () {
      await custom.listNamespacedCustomObject({
        ...G,
        namespace: 'a',
        plural: 'warehouses',
        labelSelector: 'team=x',
      });
      const last = api.requests.at(-1)!;
      assert.deepEqual(last, {
        method: 'GET',
        path: '/apis/kargo.akuity.io/v1alpha1/namespaces/a/warehouses',
        query: { labelSelector: 'team=x' },
        userAgent: 'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
        contentType: undefined,
        body: undefined,
        watch: false,
      });
    });
  });

  describe('watch', function () {
    it('streams ADDED, MODIFIED and DELETED after a resourceVersion, then BOOKMARKs', async function () {
      const rv = api.resourceVersion;
      const w = await watch(api, '/apis/kargo.akuity.io/v1alpha1/namespaces/a/warehouses', {
        resourceVersion: rv,
        allowWatchBookmarks: true,
      });
      api.put(warehouse('a', 'w4'));
      api.put(warehouse('b', 'other-namespace'));
      api.put(warehouse('a', 'w4', { spec: { changed: true } }));
      api.remove({ kind: 'Warehouse', namespace: 'a', name: 'w1' });
      api.sendBookmarks();
      await until(() => w.events.length === 4);
      assert.deepEqual(
        w.events.map((e) => [e.type, e.object.metadata?.name]),
        [
          ['ADDED', 'w4'],
          ['MODIFIED', 'w4'],
          ['DELETED', 'w1'],
          ['BOOKMARK', undefined],
        ],
      );
      assert.equal(w.events[3]!.object.metadata?.resourceVersion, api.resourceVersion);
      w.controller.abort();
      await w.done;
      await until(() => api.openWatches === 0);
    });

    it('a label selector watch sees an object that starts matching as ADDED and one that stops as DELETED, live and replayed', async function () {
      const rv = api.resourceVersion;
      const labelled = (team: string): Partial<KubeObject> => ({
        metadata: { namespace: 'a', name: 'w2', labels: { team } },
      });
      const path = '/apis/kargo.akuity.io/v1alpha1/namespaces/a/warehouses';
      const live = await watch(api, path, { resourceVersion: rv, labelSelector: 'team=x' });
      api.put(warehouse('a', 'w2', labelled('x')));
      api.put(warehouse('a', 'w2', { ...labelled('x'), spec: { changed: true } }));
      api.put(warehouse('a', 'w2', labelled('y')));
      api.put(warehouse('a', 'w2', { ...labelled('y'), spec: { again: true } }));
      const expected = [
        ['ADDED', 'x'],
        ['MODIFIED', 'x'],
        ['DELETED', 'x'], // the previous content, at the new resourceVersion
      ];
      await until(() => live.events.length === 3);
      const replayed = await watch(api, path, { resourceVersion: rv, labelSelector: 'team=x' });
      await until(() => replayed.events.length === 3);
      for (const w of [live, replayed]) {
        assert.deepEqual(
          w.events.map((e) => [e.type, e.object.metadata?.labels?.team]),
          expected,
        );
        assert.equal(w.events[2]!.object.metadata?.resourceVersion, String(Number(rv) + 3));
        w.controller.abort();
        await w.done;
      }
    });

    it('replays history after an old resourceVersion', async function () {
      const rv = api.resourceVersion;
      api.put(warehouse('a', 'w5'));
      const w = await watch(api, '/apis/kargo.akuity.io/v1alpha1/warehouses', {
        resourceVersion: rv,
      });
      await until(() => w.events.length === 1);
      assert.equal(w.events[0]!.object.metadata?.name, 'w5');
      w.controller.abort();
      await w.done;
    });

    it('answers a too old resourceVersion with an ERROR event carrying a 410 Status, then closes', async function () {
      const rv = api.resourceVersion;
      api.put(warehouse('a', 'w5'));
      api.expireHistory();
      const w = await watch(api, '/apis/kargo.akuity.io/v1alpha1/warehouses', {
        resourceVersion: rv,
      });
      assert.equal(await w.done, null);
      assert.equal(w.events.length, 1);
      assert.equal(w.events[0]!.type, 'ERROR');
      assert.equal(w.events[0]!.object.kind, 'Status');
      assert.equal(w.events[0]!.object.code, 410);
      assert.equal(w.events[0]!.object.reason, 'Expired');
    });

    it('expires when the bounded history overflows', async function () {
      const rv = api.resourceVersion;
      for (let i = 0; i < 60; i++) api.put(warehouse('a', `many-${i}`));
      const w = await watch(api, '/apis/kargo.akuity.io/v1alpha1/warehouses', {
        resourceVersion: rv,
      });
      await w.done;
      assert.equal(w.events[0]!.object.code, 410);
    });

    it('ends a watch after timeoutSeconds', async function () {
      const w = await watch(api, '/apis/kargo.akuity.io/v1alpha1/warehouses', {
        resourceVersion: api.resourceVersion,
        timeoutSeconds: 1,
      });
      assert.equal(await w.done, null);
      assert.equal(api.openWatches, 0);
    });

    it('drops open watches abruptly or gracefully', async function () {
      const a = await watch(api, '/apis/kargo.akuity.io/v1alpha1/warehouses', {
        resourceVersion: api.resourceVersion,
      });
      const b = await watch(api, '/apis/kargo.akuity.io/v1alpha1/promotions', {
        resourceVersion: api.resourceVersion,
      });
      await until(() => api.openWatches === 2);
      api.dropWatches();
      assert.ok(await a.done, 'an abrupt drop is an error for the client');
      assert.ok(await b.done);
      const c = await watch(api, '/apis/kargo.akuity.io/v1alpha1/warehouses', {
        resourceVersion: api.resourceVersion,
      });
      await until(() => api.openWatches === 1);
      api.dropWatches({ graceful: true });
      assert.equal(await c.done, null);
    });

    it('without a resourceVersion, starts with ADDED for the current objects', async function () {
      const w = await watch(api, '/apis/kargo.akuity.io/v1alpha1/namespaces/b/warehouses', {});
      await until(() => w.events.length === 1);
      assert.deepEqual(w.events[0]!.type, 'ADDED');
      w.controller.abort();
      await w.done;
    });
  });

  describe('patch', function () {
    const target = { ...G, namespace: 'a', plural: 'warehouses', name: 'w2' };

    it('applies a merge patch, bumps the resourceVersion and emits MODIFIED', async function () {
      const w = await watch(api, '/apis/kargo.akuity.io/v1alpha1/warehouses', {
        resourceVersion: api.resourceVersion,
      });
      const before = api.resourceVersion;
      const result = await custom.patchNamespacedCustomObject(
        { ...target, body: { metadata: { annotations: { 'kargo.akuity.io/refresh': 'now' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      assert.equal(result.metadata.annotations['kargo.akuity.io/refresh'], 'now');
      assert.equal(Number(api.resourceVersion), Number(before) + 1);
      assert.equal(
        api.get({ kind: 'Warehouse', namespace: 'a', name: 'w2' })!.metadata?.annotations?.[
          'kargo.akuity.io/refresh'
        ],
        'now',
      );
      await until(() => w.events.length === 1);
      assert.equal(w.events[0]!.type, 'MODIFIED');
      const req = api.requests.find((r) => r.method === 'PATCH')!;
      assert.equal(req.contentType, 'application/merge-patch+json');
      assert.deepEqual(req.body, {
        metadata: { annotations: { 'kargo.akuity.io/refresh': 'now' } },
      });
      w.controller.abort();
      await w.done;
    });

    it('removes keys patched to null and does not bump the resourceVersion for a no-op', async function () {
      const opts = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      await custom.patchNamespacedCustomObject(
        { ...target, body: { metadata: { annotations: { a: '1', b: '2' } } } },
        opts,
      );
      await custom.patchNamespacedCustomObject(
        { ...target, body: { metadata: { annotations: { a: null } } } },
        opts,
      );
      const rv = api.resourceVersion;
      await custom.patchNamespacedCustomObject(
        { ...target, body: { metadata: { annotations: { b: '2' } } } },
        opts,
      );
      assert.equal(api.resourceVersion, rv);
      assert.deepEqual(
        api.get({ kind: 'Warehouse', namespace: 'a', name: 'w2' })!.metadata?.annotations,
        { b: '2' },
      );
    });

    it('rejects a merge-patch-shaped body sent as JSON Patch (client-node default) with 400', async function () {
      const err = await rejection(
        custom.patchNamespacedCustomObject({
          ...target,
          body: { metadata: { annotations: { a: '1' } } },
        }),
      );
      assert.equal(api.requests.at(-1)!.contentType, 'application/json-patch+json');
      assert.equal(err.code, 400);
      assert.equal(
        statusOf(err).message,
        'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
      );
    });

    it('applies a real JSON Patch, and answers 422 when an operation fails', async function () {
      await custom.patchNamespacedCustomObject({
        ...target,
        body: [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }],
      });
      assert.deepEqual(
        api.get({ kind: 'Warehouse', namespace: 'a', name: 'w2' })!.metadata?.labels,
        { x: 'y' },
      );
      const err = await rejection(
        custom.patchNamespacedCustomObject({
          ...target,
          body: [{ op: 'replace', path: '/spec/nope/x', value: 1 }],
        }),
      );
      assert.equal(err.code, 422);
    });

    it('rejects a strategic merge patch on a custom resource with 415', async function () {
      const err = await rejection(
        custom.patchNamespacedCustomObject(
          { ...target, body: { metadata: {} } },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        ),
      );
      assert.equal(err.code, 415);
    });

    it('answers 409 to a merge patch with a stale resourceVersion', async function () {
      const err = await rejection(
        custom.patchNamespacedCustomObject(
          { ...target, body: { metadata: { resourceVersion: '1', labels: { a: 'b' } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      assert.equal(err.code, 409);
    });

    it('keeps .status out of a main-resource patch and only .status in a /status patch', async function () {
      const opts = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      await custom.patchNamespacedCustomObject(
        { ...target, body: { status: { phase: 'x' }, spec: { a: 1 } } },
        opts,
      );
      let stored = api.get({ kind: 'Warehouse', namespace: 'a', name: 'w2' })!;
      assert.equal(stored.status, undefined);
      assert.deepEqual(stored.spec, { subscriptions: [], a: 1 });
      await custom.patchNamespacedCustomObjectStatus(
        { ...target, body: { status: { phase: 'y' }, spec: { a: 2 } } },
        opts,
      );
      stored = api.get({ kind: 'Warehouse', namespace: 'a', name: 'w2' })!;
      assert.deepEqual(stored.status, { phase: 'y' });
      assert.deepEqual(stored.spec, { subscriptions: [], a: 1 });
    });

    it('answers 404 for a missing object', async function () {
      const err = await rejection(
        custom.patchNamespacedCustomObject(
          { ...target, name: 'gone', body: {} },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      assert.equal(err.code, 404);
    });
  });

  describe('faults', function () {
    it('answers the next N matching requests with a status, then serves normally', async function () {
      api.fault({ method: 'GET', path: '/warehouses', status: 500, times: 2 });
      assert.equal(
        (await rejection(custom.listClusterCustomObject({ ...G, plural: 'warehouses' }))).code,
        500,
      );
      assert.equal(
        (await rejection(custom.listClusterCustomObject({ ...G, plural: 'warehouses' }))).code,
        500,
      );
      const ok = await custom.listClusterCustomObject({ ...G, plural: 'warehouses' });
      assert.equal(ok.items.length, 3);
    });

    it('sends 429 with Retry-After', async function () {
      api.fault({ status: 429, retryAfterSeconds: 7 });
      const err = await rejection(custom.listClusterCustomObject({ ...G, plural: 'warehouses' }));
      assert.equal(err.code, 429);
      assert.equal(err.headers['retry-after'], '7');
    });

    it('sends 403 with the API server wording', async function () {
      api.fault({ method: 'PATCH', status: 403 });
      const err = await rejection(
        custom.patchNamespacedCustomObject(
          { ...G, namespace: 'a', plural: 'warehouses', name: 'w1', body: {} },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      assert.equal(err.code, 403);
      assert.equal(
        statusOf(err).message,
        'warehouses.kargo.akuity.io "w1" is forbidden: User "system:serviceaccount:kargo:receiver" cannot patch resource "warehouses" in API group "kargo.akuity.io" in the namespace "a"',
      );
    });

    it('delays a response, and destroys a connection', async function () {
      api.fault({ path: /\/warehouses$/, delayMs: 30 });
      const started = Date.now();
      await custom.listClusterCustomObject({ ...G, plural: 'warehouses' });
      assert.ok(Date.now() - started >= 25);
      api.fault({ destroy: true });
      await assert.rejects(
        custom.listClusterCustomObject({ ...G, plural: 'warehouses' }),
        (err: unknown) => !(err instanceof ApiException),
      );
    });

    it('matches watch requests only when asked', async function () {
      api.fault({ watch: true, status: 500 });
      await custom.listClusterCustomObject({ ...G, plural: 'warehouses' });
      const w = await watch(api, '/apis/kargo.akuity.io/v1alpha1/warehouses', {
        resourceVersion: api.resourceVersion,
      });
      const err = (await w.done) as { statusCode?: number };
      assert.equal(err.statusCode, 500);
    });
  });
});
