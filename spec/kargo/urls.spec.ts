import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { joinPath, listReceiverURLs, receiverDetails, receiverPath } from '../../lib/kargo/urls.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { RecordingLogger } from '../support/recording-adapter.js';
import { azure, clusterConfig, projectConfig, secret, until } from './helpers.js';

const H = 'ab'.repeat(32);

describe('Kargo receiver paths and URLs', function () {
  it('receiverPath is /azure/<token>', function () {
    assert.equal(receiverPath(H), `/azure/${H}`);
  });

  // Expected values are what Go's url.JoinPath(base, "azure", hash) gives (Kargo's buildWebhookPath).
  const cases = [
    { base: 'https://hooks.example.com', path: `/azure/${H}` },
    { base: 'https://hooks.example.com/', path: `/azure/${H}` },
    { base: 'https://hooks.example.com/kargo', path: `/kargo/azure/${H}` },
    { base: 'https://hooks.example.com/kargo/', path: `/kargo/azure/${H}` },
    { base: 'https://hooks.example.com//kargo//x/', path: `/kargo/x/azure/${H}` },
    { base: 'http://127.0.0.1:8080', path: `/azure/${H}` },
  ];
  for (const c of cases) {
    it(`${c.base} → ${c.path}`, function () {
      const origin = new URL(c.base).origin;
      assert.deepEqual(receiverDetails(c.base, H), { path: c.path, url: `${origin}${c.path}` });
    });
  }

  // Go's u.String() keeps host and port as given and lowercases only the scheme (net/url).
  const hosts = [
    { base: 'https://hooks.example.com:443', url: `https://hooks.example.com:443/azure/${H}` },
    { base: 'http://hooks.example.com:80/k', url: `http://hooks.example.com:80/k/azure/${H}` },
    { base: 'HTTPS://Hooks.Example.COM', url: `https://Hooks.Example.COM/azure/${H}` },
    { base: 'http://[::1]:8080', url: `http://[::1]:8080/azure/${H}` },
  ];
  for (const c of hosts) {
    it(`${c.base}: url keeps the host and port as given`, function () {
      assert.equal(receiverDetails(c.base, H).url, c.url);
    });
  }

  it('joinPath follows path.Join: dot segments, empty segments, trailing slash of the last element', function () {
    assert.equal(joinPath('/a/./b/../c', 'd'), '/a/c/d');
    assert.equal(joinPath('', 'azure', 'x/'), '/azure/x/');
    assert.equal(joinPath('/', '..', 'azure'), '/azure');
  });

  it('no base URL: path only', function () {
    assert.deepEqual(receiverDetails(undefined, H), { path: `/azure/${H}` });
  });
});

describe('listReceiverURLs (one-shot, fake Kubernetes API)', function () {
  let api: FakeKubeApi;

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    api.put(secret('proj-b', 'hook', 'list-secret-b'));
    api.put(secret('proj-a', 'hook', 'list-secret-a'));
    api.put(secret('kargo-system-resources', 'c', 'list-secret-c'));
    api.put(projectConfig('proj-b', [azure('z', 'hook'), azure('broken', 'absent')]));
    api.put(
      projectConfig('proj-a', [
        { name: 'gh', github: { secretRef: { name: 'hook' } } },
        azure('a', 'hook'),
      ]),
    );
    api.put(clusterConfig([azure('everyone', 'c')]));
  });

  afterEach(async function () {
    await until(() => api.openConnections === 0, 'connections closed');
    await api.close();
  });

  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

  it('lists every served Azure receiver, sorted, with URLs; broken ones are logged', async function () {
    const logger = new RecordingLogger();
    const list = await listReceiverURLs({
      kubeConfig: api.kubeConfig(),
      baseURL: 'https://hooks.example.com',
      logger,
    });
    const pathC = `/azure/${sha('everyonelist-secret-c')}`;
    const pathA = `/azure/${sha('proj-aalist-secret-a')}`;
    const pathZ = `/azure/${sha('proj-bzlist-secret-b')}`;
    assert.deepEqual(list, [
      { project: '', name: 'everyone', path: pathC, url: `https://hooks.example.com${pathC}` },
      { project: 'proj-a', name: 'a', path: pathA, url: `https://hooks.example.com${pathA}` },
      { project: 'proj-b', name: 'z', path: pathZ, url: `https://hooks.example.com${pathZ}` },
    ]);
    assert.deepEqual(
      logger.lines.map((l) => l.msg),
      [
        'Azure receiver "broken" of ProjectConfig proj-b/proj-b not served: the Secret does not exist (Secret proj-b/absent)',
      ],
    );
    assert.equal(api.requests.filter((r) => r.watch).length, 0, 'no watch');
  });

  it('without a base URL: paths only; without a ClusterConfig: project receivers only', async function () {
    api.remove({ kind: 'ClusterConfig', name: 'cluster' });
    const list = await listReceiverURLs({ kubeConfig: api.kubeConfig() });
    assert.deepEqual(
      list.map((r) => [r.project, r.name, r.url]),
      [
        ['proj-a', 'a', undefined],
        ['proj-b', 'z', undefined],
      ],
    );
  });

  it('reads each Secret by name only, and skips a ProjectConfig not named after its namespace', async function () {
    api.put(secret('proj-c', 'hook', 'list-secret-c-other'));
    api.put({
      ...projectConfig('proj-c', [azure('c', 'hook')]),
      metadata: { namespace: 'proj-c', name: 'misnamed' },
    });
    const logger = new RecordingLogger();
    const list = await listReceiverURLs({ kubeConfig: api.kubeConfig(), logger });
    assert.deepEqual(
      list.map((r) => r.project),
      ['', 'proj-a', 'proj-b'],
    );
    assert.ok(
      logger.lines.some(
        (l) =>
          l.msg ===
          'ProjectConfig proj-c/misnamed ignored: its name "misnamed" differs from its namespace "proj-c"; Kargo reads only the ProjectConfig named after its project',
      ),
    );
    for (const r of api.requests.filter((q) => q.path.includes('/secrets')))
      assert.match(r.query.fieldSelector ?? '', /^metadata\.name=/, r.path);
  });

  it('rejects on API errors with a message free of response bodies', async function () {
    api.fault({ method: 'GET', path: '/projectconfigs', status: 403 });
    await assert.rejects(listReceiverURLs({ kubeConfig: api.kubeConfig() }), {
      name: 'KubeClusterError',
      code: 'KUBE_FORBIDDEN',
      message: `the Kubernetes API server ${api.url} (context "fake") refused access to projectconfigs.kargo.akuity.io (403 Forbidden): the context's user or service account lacks an RBAC permission (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`,
    });
  });
});
