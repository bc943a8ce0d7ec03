/**
 * A KubeConfig from the user's own copy of @kubernetes/client-node: 1.3 (an
 * older 1.x) and 2.x, installed as the devDependencies `client-node-1-3` and
 * `client-node-2`, drive the real adapter against the fake API server.
 */
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import {
  kargoReceivers,
  kubernetesAdapter,
  listReceiverURLs,
  REFRESH_ANNOTATION,
  type KubeConfigLike,
} from '../../lib/index.js';
import { adoptKubeConfig } from '../../lib/kube/config.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { pushOf, warehouseManifest } from '../adapters/kubernetes/helpers.js';

interface ClientNodeCopy {
  KubeConfig: new () => KubeConfigLike & { loadFromOptions(options: unknown): void };
}

/** client-node 2.x declares `engines.node >= 22.19` and uses APIs of that Node. */
function nodeAtLeast(major: number, minor: number): boolean {
  const [maj = 0, min = 0] = process.versions.node.split('.').map(Number);
  return maj > major || (maj === major && min >= minor);
}

const copies: Array<{
  name: string;
  load: () => Promise<ClientNodeCopy>;
  skip?: string;
}> = [
  {
    name: '@kubernetes/client-node 1.3',
    load: () => import('client-node-1-3') as Promise<ClientNodeCopy>,
  },
  {
    name: '@kubernetes/client-node 2.x',
    load: () => import('client-node-2') as Promise<ClientNodeCopy>,
    skip: nodeAtLeast(22, 19)
      ? undefined
      : `client-node 2.x needs Node >= 22.19 (this is ${process.version}); 1.3 is the other copy here`,
  },
];

for (const copy of copies) {
  const skipped = copy.skip ? ` (skipped: ${copy.skip})` : '';
  describe(`a KubeConfig of ${copy.name}${skipped}`, function () {
    let api: FakeKubeApi;
    let theirs: KubeConfigLike;

    before(async function () {
      if (copy.skip) this.skip();
      const { KubeConfig: TheirKubeConfig } = await copy.load();
      api = new FakeKubeApi();
      await api.start();
      api.put(warehouseManifest('kargo-demo', 'app'));
      const kc = new TheirKubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: api.url, skipTLSVerify: true }],
        users: [{ name: 'fake', token: api.bearerToken }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
        currentContext: 'fake',
      });
      theirs = kc;
    });
    after(async function () {
      await api?.close();
    });

    it('is not an instance of our KubeConfig, and is adopted by its fields', function () {
      assert.equal(theirs instanceof KubeConfig, false);
      const ours = adoptKubeConfig(theirs);
      assert.ok(ours instanceof KubeConfig);
      assert.equal(ours.getCurrentContext(), 'fake');
      assert.equal(ours.getCurrentCluster()?.server, api.url);
      assert.equal(ours.getCurrentUser()?.token, api.bearerToken);
    });

    it('drives kubernetesAdapter: list, watch, lookup and the refresh PATCH', async function () {
      const adapter = kubernetesAdapter({ kubeConfig: theirs, promotions: false });
      try {
        await adapter.ready();
        const targets = await adapter.lookup(pushOf());
        assert.deepEqual(targets, [{ kind: 'Warehouse', namespace: 'kargo-demo', name: 'app' }]);
        await adapter.refresh(targets[0]!);
        const patches = api.requestsTo('PATCH', '/namespaces/kargo-demo/warehouses/app');
        assert.equal(patches.length, 1);
        assert.equal(patches[0]!.contentType, 'application/merge-patch+json');
        const annotations = (
          patches[0]!.body as { metadata: { annotations: Record<string, string> } }
        ).metadata.annotations;
        assert.deepEqual(Object.keys(annotations), [REFRESH_ANNOTATION]);
      } finally {
        await adapter.close();
      }
    });

    it('drives listReceiverURLs and is accepted by kargoReceivers', async function () {
      assert.deepEqual(await listReceiverURLs({ kubeConfig: theirs }), []);
      const router = kargoReceivers({
        kubeConfig: theirs,
        adapter: {
          lookup: async () => [],
          refresh: async () => undefined,
          scoped: () => ({ lookup: async () => [], refresh: async () => undefined }),
        },
      });
      await router.ready();
      assert.deepEqual(router.receivers(), []);
      await router.close();
    });
  });
}

describe('kubeConfig option', function () {
  const cases: Array<{ name: string; create: () => unknown }> = [
    { name: 'kubernetesAdapter', create: () => kubernetesAdapter({ kubeConfig: {} as never }) },
    { name: 'listReceiverURLs', create: () => listReceiverURLs({ kubeConfig: {} as never }) },
    { name: 'kargoReceivers', create: () => kargoReceivers({ kubeConfig: {} as never }) },
  ];
  for (const c of cases) {
    it(`${c.name} rejects an object that is no KubeConfig with a clear message`, async function () {
      await assert.rejects(async () => c.create(), {
        name: 'TypeError',
        message:
          '[kargo-azure-receiver] options.kubeConfig must be a KubeConfig of @kubernetes/client-node 1.x or 2.x',
      });
    });
  }
});
