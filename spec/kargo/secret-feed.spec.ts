import assert from 'node:assert/strict';
import { type KargoReceiversRouter, kargoReceivers } from '../../lib/kargo/index.js';
import { ConfigWatcher } from '../../lib/kargo/config-watcher.js';
import type { ConfigSnapshot } from '../../lib/kargo/receiver-states.js';
import { FakeKubeApi, type KubeObject } from '../support/fake-kube-api.js';
import { RecordingLogger } from '../support/recording-adapter.js';
import { azure, projectConfig, secret, until } from './helpers.js';

const RECEIVER = 'azure-wh-receiver';

function unlabelled(namespace: string, name: string, value: string): KubeObject {
  const s = secret(namespace, name, value);
  return { ...s, metadata: { namespace, name } };
}

/** receiver → token or problem, from the last snapshot. */
function states(snapshot: ConfigSnapshot | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of snapshot?.receivers ?? [])
    out[`${r.spec.project}/${r.spec.name}`] = r.token ? 'served' : (r.problem ?? 'unknown');
  return out;
}

describe('kargoReceivers: a handful of watches for any number of projects', function () {
  let api: FakeKubeApi;
  const routers: KargoReceiversRouter[] = [];

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
  });

  afterEach(async function () {
    await Promise.all(routers.splice(0).map((r) => r.close()));
    await until(() => api.openConnections === 0, 'every connection closed');
    await api.close();
  });

  for (const projects of [300, 2000]) {
    it(`${String(projects)} projects: at most 8 open watches and connections, every receiver served`, async function () {
      this.timeout(60_000);
      for (let i = 0; i < projects; i++) {
        const ns = `proj-${String(i)}`;
        api.put(secret(ns, 'hook', `secret-of-project-${String(i)}`));
        api.put(projectConfig(ns, [azure(RECEIVER, 'hook')]));
      }
      const router = kargoReceivers({
        kubeConfig: api.kubeConfig(),
        logger: new RecordingLogger(),
        // An adapter of our own: only the router's watches are counted here.
        adapter: {
          lookup: () => Promise.resolve([]),
          refresh: () => Promise.resolve(),
          scoped: () => ({ lookup: () => Promise.resolve([]), refresh: () => Promise.resolve() }),
        },
      });
      routers.push(router);
      await router.ready();
      assert.equal(router.receivers().length, projects);
      // projectconfigs, clusterconfigs and the labelled secrets (the adapter is not ours here).
      await until(() => api.openWatches === 3, 'three watches');
      assert.ok(api.openConnections <= 8, `${String(api.openConnections)} connections`);
      assert.ok(api.connectionsAccepted <= 8, `${String(api.connectionsAccepted)} connections`);
    });
  }

  it('300 projects with the default Kubernetes adapter: 5 watches', async function () {
    this.timeout(30_000);
    for (let i = 0; i < 300; i++) {
      const ns = `proj-${String(i)}`;
      api.put(secret(ns, 'hook', `secret-of-project-${String(i)}`));
      api.put(projectConfig(ns, [azure(RECEIVER, 'hook')]));
    }
    const router = kargoReceivers({ kubeConfig: api.kubeConfig(), logger: new RecordingLogger() });
    routers.push(router);
    await router.ready();
    await until(() => api.openWatches === 5, 'five watches');
    assert.equal(router.receivers().length, 300);
    assert.ok(api.openConnections <= 8, `${String(api.openConnections)} connections`);
  });
});

describe('ConfigWatcher: labelled Secrets, by-name fallback', function () {
  let api: FakeKubeApi;
  let logger: RecordingLogger;
  let last: ConfigSnapshot | undefined;
  const watchers: ConfigWatcher[] = [];

  function start(namespaces?: string[]): ConfigWatcher {
    const w = new ConfigWatcher({
      kubeConfig: api.kubeConfig(),
      systemNamespace: 'kargo-system-resources',
      namespaces,
      logger,
      requestTimeoutMs: 5000,
      secretPollMs: 100,
      onChange: (s) => (last = s),
    });
    watchers.push(w);
    return w;
  }

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    logger = new RecordingLogger();
    last = undefined;
  });

  afterEach(async function () {
    await Promise.all(watchers.splice(0).map((w) => w.close()));
    await until(() => api.openConnections === 0, 'every connection closed');
    await api.close();
  });

  it('one connection pool: every watch and read of the watcher on one keep-alive agent', async function () {
    api.put(secret('proj-a', 'hook', 'secret-a-0123456789'));
    api.put(projectConfig('proj-a', [azure(RECEIVER, 'hook')]));
    api.put(unlabelled('proj-b', 'hook', 'secret-b-0123456789'));
    api.put(projectConfig('proj-b', [azure(RECEIVER, 'hook')]));
    const w = start();
    await w.ready;
    assert.deepEqual(states(last), {
      'proj-a/azure-wh-receiver': 'served',
      'proj-b/azure-wh-receiver': 'served',
    });
    await until(() => api.openWatches === 3, 'three watches');
    // Three watches, each holding its connection; the by-name reads reuse a fourth, idle one.
    assert.ok(api.connectionsAccepted <= 4, `${String(api.connectionsAccepted)} connections`);
    assert.deepEqual(w.watchCount(), { secrets: 1, configs: 2 });
  });

  it('namespaced: one Secret watch per namespace in scope plus the system namespace', async function () {
    for (const ns of ['proj-a', 'proj-b', 'proj-c']) {
      api.put(secret(ns, 'hook', `secret-${ns}-0123456789`));
      api.put(projectConfig(ns, [azure(RECEIVER, 'hook')]));
    }
    const w = start(['proj-a', 'proj-b']);
    await w.ready;
    assert.deepEqual(states(last), {
      'proj-a/azure-wh-receiver': 'served',
      'proj-b/azure-wh-receiver': 'served',
    });
    // projectconfigs ×2, clusterconfigs, secrets ×3 (proj-a, proj-b, kargo-system-resources).
    assert.deepEqual(w.watchCount(), { secrets: 3, configs: 3 });
    await until(() => api.openWatches === 6, 'six watches');
  });

  it('a labelled Secret rotates within 2 s (previousSecret included)', async function () {
    const b64 = (v: string): string => Buffer.from(v).toString('base64');
    api.put(secret('proj-a', 'hook', 'old-secret-0123456789'));
    api.put(projectConfig('proj-a', [azure(RECEIVER, 'hook')]));
    const w = start();
    await w.ready;
    const before = last?.receivers[0]?.token;
    assert.ok(before);
    api.put(
      secret('proj-a', 'hook', undefined, {
        secret: b64('new-secret-0123456789'),
        previousSecret: b64('old-secret-0123456789'),
      }),
    );
    // `until` gives up after about 2 s.
    await until(() => last?.receivers[0]?.previousToken === before, 'rotation');
    assert.notEqual(last?.receivers[0]?.token, before);
    // Nothing was read by name: the watch delivered it.
    assert.equal(api.requestsTo('GET', '/secrets').filter((r) => r.query.fieldSelector).length, 0);
  });

  it('an unlabelled Secret is read by name, served with a warning per receiver, and re-read for rotation', async function () {
    api.put(unlabelled('proj-a', 'hook', 'old-secret-0123456789'));
    api.put(projectConfig('proj-a', [azure(RECEIVER, 'hook'), azure('second', 'hook')]));
    const w = start();
    await w.ready;
    assert.deepEqual(states(last), {
      'proj-a/azure-wh-receiver': 'served',
      'proj-a/second': 'served',
    });
    const warnings = logger.lines.filter(
      (l) => (l.obj as { reason?: string }).reason === 'secret-unlabelled',
    );
    assert.deepEqual(
      warnings.map((l) => [l.level, l.msg]),
      [RECEIVER, 'second'].map((name) => [
        'warn',
        `Azure receiver "${name}" of ProjectConfig proj-a/proj-a: Secret proj-a/hook has no label kargo.akuity.io/cred-type=generic, so it is read by name every 0.1 s and a rotation takes up to that long; label it (as Kargo's docs do) for rotations to take effect at once`,
      ]),
    );
    const before = last?.receivers[0]?.token;
    api.put(unlabelled('proj-a', 'hook', 'new-secret-0123456789'));
    await until(() => last?.receivers[0]?.token !== before, 'rotation seen by the re-read');
    // Labelled now: the watch takes over, the warnings are not repeated, the re-reads stop.
    api.put(secret('proj-a', 'hook', 'new-secret-0123456789'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reads = api.requestsTo('GET', '/secrets').filter((r) => r.query.fieldSelector).length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(
      api.requestsTo('GET', '/secrets').filter((r) => r.query.fieldSelector).length,
      reads,
    );
    assert.equal(
      logger.lines.filter((l) => (l.obj as { reason?: string }).reason === 'secret-unlabelled')
        .length,
      2,
    );
  });

  it('a label removed: the watch sends DELETED, the Secret is read by name and stays served, with a warning', async function () {
    api.put(secret('proj-a', 'hook', 'secret-0123456789'));
    api.put(projectConfig('proj-a', [azure(RECEIVER, 'hook')]));
    const w = start();
    await w.ready;
    const token = last?.receivers[0]?.token;
    api.put(unlabelled('proj-a', 'hook', 'secret-0123456789'));
    await until(
      () => logger.lines.some((l) => (l.obj as { reason?: string }).reason === 'secret-unlabelled'),
      'the warning',
    );
    assert.equal(last?.receivers[0]?.token, token);
  });

  it('a missing Secret is reported per receiver; the others are served; created later, it is served', async function () {
    api.put(secret('proj-a', 'hook', 'secret-a-0123456789'));
    api.put(projectConfig('proj-a', [azure(RECEIVER, 'hook')]));
    api.put(projectConfig('proj-b', [azure(RECEIVER, 'absent'), azure('second', 'absent')]));
    const w = start();
    await w.ready;
    assert.deepEqual(states(last), {
      'proj-a/azure-wh-receiver': 'served',
      'proj-b/azure-wh-receiver': 'secret-missing',
      'proj-b/second': 'secret-missing',
    });
    assert.deepEqual(
      logger.lines
        .filter((l) => l.level === 'warn' && l.msg?.includes('does not exist'))
        .map((l) => (l.obj as { receiver?: string }).receiver),
      [RECEIVER, 'second'],
    );
    api.put(unlabelled('proj-b', 'absent', 'secret-b-0123456789'));
    await until(() => Object.values(states(last)).every((s) => s === 'served'), 'served');
  });

  it('a by-name read refused (403) is reported for its receivers only, and retried', async function () {
    api.put(secret('proj-a', 'hook', 'secret-a-0123456789'));
    api.put(projectConfig('proj-a', [azure(RECEIVER, 'hook')]));
    api.put(unlabelled('proj-b', 'hook', 'secret-b-0123456789'));
    api.put(projectConfig('proj-b', [azure(RECEIVER, 'hook')]));
    api.fault({ method: 'GET', path: '/namespaces/proj-b/secrets', status: 403 });
    const w = start();
    await w.ready;
    assert.deepEqual(states(last), {
      'proj-a/azure-wh-receiver': 'served',
      'proj-b/azure-wh-receiver': 'secret-unreadable',
    });
    assert.ok(
      logger.lines.some(
        (l) =>
          l.msg ===
          'reading Secret proj-b/hook is forbidden: grant list and watch on secrets to this service account (see the RBAC of the Helm chart, charts/kargo-azure-receiver)',
      ),
    );
    await until(() => states(last)['proj-b/azure-wh-receiver'] === 'served', 'served on a re-read');
  });

  it('a receiver added later for a Secret seen before is served (one read by name)', async function () {
    api.put(secret('proj-a', 'hook', 'secret-a-0123456789'));
    api.put(projectConfig('proj-a', [azure(RECEIVER, 'hook')]));
    const w = start();
    await w.ready;
    api.put(projectConfig('proj-a', [azure(RECEIVER, 'hook'), azure('second', 'hook')]));
    await until(() => states(last)['proj-a/second'] === 'served', 'second served');
    assert.deepEqual(
      api
        .requestsTo('GET', '/secrets')
        .filter((r) => r.query.fieldSelector)
        .map((r) => [r.path, r.query.fieldSelector]),
      [['/api/v1/namespaces/proj-a/secrets', 'metadata.name=hook']],
    );
  });
});
