import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  kargoReceivers,
  type KargoReceiversOptions,
  type KargoReceiversRouter,
} from '../../lib/kargo/index.js';
import { mergeEntries } from '../../lib/kargo/status-writer.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { RecordingLogger } from '../support/recording-adapter.js';
import { azure, projectConfig, secret, until, warehouse } from './helpers.js';

const BASE = 'https://hooks.example.com/kargo';
const FOREIGN = {
  name: 'gh',
  path: '/kargo/github/0123abcd',
  url: 'https://hooks.example.com/kargo/github/0123abcd',
};

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What Kargo's controller would write: the base URL's path comes first. */
function entry(
  project: string,
  name: string,
  secretValue: string,
): { name: string; path: string; url: string } {
  const path = `/kargo/azure/${hash(project + name + secretValue)}`;
  return { name, path, url: `https://hooks.example.com${path}` };
}

describe('kargoReceivers: status.webhookReceivers', function () {
  let api: FakeKubeApi;
  let router: KargoReceiversRouter | undefined;
  let logger: RecordingLogger;

  function start(options: KargoReceiversOptions = {}): KargoReceiversRouter {
    router = kargoReceivers({ kubeConfig: api.kubeConfig(), logger, baseURL: BASE, ...options });
    return router;
  }
  const status = (ns: string): unknown =>
    (
      api.get({ kind: 'ProjectConfig', namespace: ns, name: ns })?.status as
        { webhookReceivers?: unknown } | undefined
    )?.webhookReceivers;
  const statusPatches = (ns: string) =>
    api.requestsTo('PATCH', `/namespaces/${ns}/projectconfigs/${ns}/status`);

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    logger = new RecordingLogger();
    router = undefined;
    api.put(warehouse('proj-a', 'images'));
    api.put(secret('proj-a', 'hook', 'status-secret-a'));
    api.put(secret('proj-b', 'hook', 'status-secret-b'));
    api.put(
      projectConfig(
        'proj-a',
        [{ name: 'gh', github: { secretRef: { name: 'gh' } } }, azure('az', 'hook')],
        { webhookReceivers: [FOREIGN] },
      ),
    );
    api.put(projectConfig('proj-b', [azure('az', 'hook')]));
  });

  afterEach(async function () {
    await router?.close();
    await until(() => api.openConnections === 0, 'every connection closed');
    await api.close();
  });

  it('writes nothing unless asked', async function () {
    const r = start();
    await r.ready();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(api.requestsTo('PATCH', '/status').length, 0);
    assert.deepEqual(status('proj-a'), [FOREIGN]);
    assert.equal(status('proj-b'), undefined);
  });

  it('writes {name, path, url} of our receivers, keeping entries it does not own', async function () {
    const r = start({ writeStatus: true });
    await r.ready();
    await until(
      () => Array.isArray(status('proj-a')) && Array.isArray(status('proj-b')),
      'status written',
    );
    assert.deepEqual(status('proj-a'), [FOREIGN, entry('proj-a', 'az', 'status-secret-a')]);
    assert.deepEqual(status('proj-b'), [entry('proj-b', 'az', 'status-secret-b')]);
    // The router's own paths stay relative to its mount point.
    assert.equal(r.receivers()[0]?.path, `/azure/${hash('proj-aazstatus-secret-a')}`);
    const patch = statusPatches('proj-a')[0];
    assert.equal(patch?.contentType, 'application/merge-patch+json');
    assert.deepEqual(patch?.body, {
      metadata: {
        resourceVersion: (patch?.body as { metadata: { resourceVersion: string } }).metadata
          .resourceVersion,
      },
      status: { webhookReceivers: [FOREIGN, entry('proj-a', 'az', 'status-secret-a')] },
    });
    // Our own write comes back as a watch event: no second write.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(statusPatches('proj-a').length, 1);
    assert.equal(statusPatches('proj-b').length, 1);
  });

  it('re-reads and retries on 409 Conflict', async function () {
    api.fault({
      method: 'PATCH',
      path: '/namespaces/proj-a/projectconfigs/proj-a/status',
      status: 409,
    });
    const r = start({ writeStatus: true });
    await r.ready();
    await until(
      () => Array.isArray(status('proj-a')) && (status('proj-a') as unknown[]).length === 2,
      'status written',
    );
    assert.equal(statusPatches('proj-a').length, 2);
    assert.equal(
      api.requestsTo('GET', '/namespaces/proj-a/projectconfigs/proj-a/status').length,
      2,
    );
    assert.deepEqual(status('proj-a'), [FOREIGN, entry('proj-a', 'az', 'status-secret-a')]);
  });

  it('follows rotation and removal, never touching foreign entries', async function () {
    const r = start({ writeStatus: true });
    await r.ready();
    await until(() => (status('proj-a') as unknown[] | undefined)?.length === 2, 'status written');

    api.put(secret('proj-a', 'hook', 'rotated-status-secret'));
    await until(
      () =>
        JSON.stringify(status('proj-a')) ===
        JSON.stringify([FOREIGN, entry('proj-a', 'az', 'rotated-status-secret')]),
      'rotated',
    );

    // Secret gone: our entry goes (the URL no longer works), the foreign one stays.
    api.remove({ kind: 'Secret', namespace: 'proj-a', name: 'hook' });
    await until(() => JSON.stringify(status('proj-a')) === JSON.stringify([FOREIGN]), 'removed');

    // Receiver gone from the spec: the entry we wrote is removed.
    await until(() => (status('proj-b') as unknown[] | undefined)?.length === 1, 'proj-b written');
    const pc = api.get({ kind: 'ProjectConfig', namespace: 'proj-b', name: 'proj-b' })!;
    api.put({ ...pc, spec: { webhookReceivers: [] } });
    await until(() => status('proj-b') === undefined, 'proj-b cleared');
  });

  it('logs a clear line when RBAC refuses the patch', async function () {
    api.fault({
      method: 'PATCH',
      path: '/namespaces/proj-b/projectconfigs/proj-b/status',
      status: 403,
    });
    const r = start({ writeStatus: true });
    await r.ready();
    await until(
      () => logger.lines.some((l) => l.msg?.includes('missing RBAC permission')),
      'log line',
    );
    const line = logger.lines.find((l) => l.msg?.includes('missing RBAC permission'));
    assert.deepEqual(line?.obj, {
      projectConfig: 'proj-b/proj-b',
      status: 403,
      attempt: 1,
    });
  });

  describe('against an API server that never answers', function () {
    const statusReads = (ns: string) =>
      api.requestsTo('GET', `/namespaces/${ns}/projectconfigs/${ns}/status`);

    it('every status request has a deadline: the write fails after requestTimeoutMs, logged without detail', async function () {
      for (const ns of ['proj-a', 'proj-b'])
        api.fault({
          method: 'GET',
          path: `/namespaces/${ns}/projectconfigs/${ns}/status`,
          delayMs: 60_000,
        });
      const r = start({ writeStatus: true, requestTimeoutMs: 100 });
      await r.ready();
      await until(
        () =>
          logger.lines.filter((l) => l.msg?.startsWith('writing status.webhookReceivers failed'))
            .length === 2,
        'both writes given up',
      );
      const line = logger.lines.find((l) => l.msg?.startsWith('writing status.webhookReceivers'));
      assert.deepEqual(line?.obj, {
        projectConfig: (line?.obj as { projectConfig: string }).projectConfig,
        errorName: 'AbortError',
        attempt: 1,
      });
      assert.equal(statusPatches('proj-a').length + statusPatches('proj-b').length, 0);
    });

    it('close() returns at once with status writes hanging, and aborts them', async function () {
      for (const ns of ['proj-a', 'proj-b'])
        api.fault({
          method: 'GET',
          path: `/namespaces/${ns}/projectconfigs/${ns}/status`,
          delayMs: 60_000,
        });
      // The default deadline (30 s) is far away: only close() can end these requests.
      const r = start({ writeStatus: true });
      await r.ready();
      await until(
        () => statusReads('proj-a').length === 1 && statusReads('proj-b').length === 1,
        'both status reads hanging',
      );
      const started = Date.now();
      await r.close();
      const took = Date.now() - started;
      assert.ok(took < 1000, `close() took ${took} ms`);
      assert.ok(
        !logger.lines.some((l) => l.msg?.startsWith('writing status.webhookReceivers failed')),
        'an abort on close is not a failure',
      );
      assert.equal(statusPatches('proj-a').length + statusPatches('proj-b').length, 0);
    });
  });
});

describe('mergeEntries', function () {
  const ours = new Set(['a', 'b']);
  const cases = [
    {
      name: 'appends ours after foreign',
      current: [{ name: 'x' }],
      desired: [{ name: 'a', path: '/p' }],
      merged: [{ name: 'x' }, { name: 'a', path: '/p' }],
    },
    {
      name: 'replaces in place',
      current: [{ name: 'a', path: '/old' }, { name: 'x' }],
      desired: [{ name: 'a', path: '/new' }],
      merged: [{ name: 'a', path: '/new' }, { name: 'x' }],
    },
    {
      name: 'removes ours no longer served',
      current: [{ name: 'x' }, { name: 'b', path: '/b' }],
      desired: [],
      merged: [{ name: 'x' }],
    },
    {
      name: 'drops duplicates of ours',
      current: [{ name: 'a' }, { name: 'a' }],
      desired: [{ name: 'a', path: '/p' }],
      merged: [{ name: 'a', path: '/p' }],
    },
    {
      name: 'keeps foreign duplicates',
      current: [{ name: 'x' }, { name: 'x' }],
      desired: [],
      merged: [{ name: 'x' }, { name: 'x' }],
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      assert.deepEqual(mergeEntries(c.current, ours, c.desired), c.merged);
    });
  }
});
