import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { type KargoReceiversRouter, kargoReceivers } from '../../lib/kargo/index.js';
import {
  SERVICE_ACCOUNT_USER,
  chartRbac,
  helmSkipReason,
  namespacedRbac,
} from '../support/chart.js';
import { type RbacDocument, rbacAuthorizer } from '../support/fake-kargo-admission.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { fixtureText } from '../support/fixtures.js';
import { RecordingLogger } from '../support/recording-adapter.js';
import { putUnrelatedSecrets } from '../support/unrelated-secrets.js';
import { azure, projectConfig, secret, until, warehouse } from './helpers.js';

const RECEIVER = 'azure-wh-receiver';
const OLD = 'old-secret-value-0123456789';
const NEW = 'new-secret-value-9876543210';

function kargoPath(project: string, receiver: string, value: string): string {
  return `/azure/${createHash('sha256')
    .update(project + receiver + value)
    .digest('hex')}`;
}

function push(app: express.Express, path: string): request.Test {
  return request(app)
    .post(path)
    .set('Content-Type', 'application/json')
    .send(fixtureText('acr-push'));
}

/** The secrets rule of the documents narrowed to these Secret names. */
function secretsOnly(documents: RbacDocument[], names: string[]): RbacDocument[] {
  return documents.map((d) => ({
    ...d,
    ...(d.rules
      ? {
          rules: d.rules.map((r) =>
            r.resources?.includes('secrets') ? { ...r, resourceNames: names } : r,
          ),
        }
      : {}),
  }));
}

/** A Secret with `secret` and, when given, `previousSecret`. */
function rotating(value: string, previous?: string): ReturnType<typeof secret> {
  const b64 = (v: string): string => Buffer.from(v, 'utf8').toString('base64');
  return secret('proj-a', 'hook', undefined, {
    secret: b64(value),
    ...(previous === undefined ? {} : { previousSecret: b64(previous) }),
  });
}

describe('kargoReceivers: Secrets (labelled watch, by-name reads) and rotation', function () {
  let api: FakeKubeApi;
  let logger: RecordingLogger;
  const routers: KargoReceiversRouter[] = [];

  function start(): { router: KargoReceiversRouter; app: express.Express } {
    const router = kargoReceivers({ kubeConfig: api.kubeConfig(), logger });
    routers.push(router);
    const app = express();
    app.use(router);
    return { router, app };
  }

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    logger = new RecordingLogger();
    api.put(warehouse('proj-a', 'images'));
    api.put(projectConfig('proj-a', [azure(RECEIVER, 'hook')]));
  });

  afterEach(async function () {
    await Promise.all(routers.splice(0).map((r) => r.close()));
    await until(() => api.openConnections === 0, 'every connection closed');
    await api.close();
  });

  describe('never lists or watches every Secret', function () {
    it('one list + watch of the Secrets labelled kargo.akuity.io/cred-type=generic, nothing else', async function () {
      api.put(rotating(OLD));
      api.put(secret('kargo-system-resources', 'other', 'not-referenced-000000'));
      const { router } = start();
      await router.ready();
      await until(
        () => api.requests.some((r) => r.watch && r.path.includes('/secrets')),
        'the Secret watch',
      );
      const secretRequests = api.requests
        .filter((r) => r.path.includes('/secrets'))
        .map((r) => ({
          path: r.path,
          labelSelector: r.query.labelSelector,
          fieldSelector: r.query.fieldSelector,
          watch: r.watch,
        }));
      const labelled = {
        path: '/api/v1/secrets',
        labelSelector: 'kargo.akuity.io/cred-type=generic',
        fieldSelector: undefined,
      };
      assert.deepEqual(secretRequests, [
        { ...labelled, watch: false },
        { ...labelled, watch: true },
      ]);
    });

    it('10 MB of unrelated Secrets do not change a byte of what the API server sends us', async function () {
      api.put(rotating(OLD));
      const { router } = start();
      await router.ready();
      const baseline = api.bytesSent;
      await router.close();
      await until(() => api.openConnections === 0, 'closed');

      const size = putUnrelatedSecrets(api, {
        namespaces: ['proj-a', 'proj-b', 'kargo-system-resources'],
        count: 100,
        bytesEach: 76_000,
      });
      assert.ok(size > 10_000_000, 'the cluster holds more than 10 MB of other Secrets');
      const before = api.bytesSent;
      const again = start().router;
      await again.ready();
      const sent = api.bytesSent - before;
      // Only a resourceVersion digit or two may differ between the two syncs.
      assert.ok(Math.abs(sent - baseline) < 256, `${String(sent)} vs ${String(baseline)} bytes`);
      assert.ok(sent < 20_000, `${String(sent)} bytes for the whole sync`);
    });
  });

  describe(`RBAC of the Helm chart, enforced by the fake API server${helmSkipReason}`, function () {
    before(function () {
      if (helmSkipReason) this.skip();
    });
    beforeEach(function () {
      api.username = SERVICE_ACCOUNT_USER;
      api.put(rotating(OLD));
    });

    it('rbac.scope=cluster, as rendered: served', async function () {
      api.authorize = rbacAuthorizer(chartRbac());
      const { router, app } = start();
      await router.ready();
      assert.equal((await push(app, kargoPath('proj-a', RECEIVER, OLD))).status, 200);
    });

    it('the secrets rule narrowed with resourceNames: the labelled watch is refused, the named Secret is read by name, another is refused', async function () {
      api.put(secret('proj-b', 'unnamed', 'not-in-resource-names-00'));
      api.put(projectConfig('proj-b', [azure(RECEIVER, 'unnamed')]));
      api.authorize = rbacAuthorizer(secretsOnly(chartRbac(), ['hook']));
      const { router, app } = start();
      await router.ready();
      assert.deepEqual(
        router.receivers().map((r) => r.project),
        ['proj-a'],
      );
      assert.equal((await push(app, kargoPath('proj-a', RECEIVER, OLD))).status, 200);
      assert.ok(
        logger.lines.some(
          (l) =>
            l.level === 'warn' && l.msg?.startsWith('reading Secret proj-b/unnamed is forbidden'),
        ),
      );
      assert.deepEqual(
        api
          .requestsTo('GET', '/secrets')
          .filter((r) => r.query.fieldSelector)
          .map((r) => [r.path, r.query.fieldSelector])
          .sort(),
        [
          ['/api/v1/namespaces/proj-a/secrets', 'metadata.name=hook'],
          ['/api/v1/namespaces/proj-b/secrets', 'metadata.name=unnamed'],
        ],
      );
    });

    it('rbac.scope=namespaced with namespaces: served', async function () {
      api.authorize = rbacAuthorizer(namespacedRbac(['proj-a']));
      const router = kargoReceivers({
        kubeConfig: api.kubeConfig(),
        logger,
        namespaces: ['proj-a'],
      });
      routers.push(router);
      await router.ready();
      assert.equal(router.receivers().length, 1);
    });
  });

  describe('rotation', function () {
    it('without previousSecret: the new URL works at once, the old one is 404, a warning says so', async function () {
      api.put(rotating(OLD));
      const { router, app } = start();
      await router.ready();
      const newPath = kargoPath('proj-a', RECEIVER, NEW);
      api.put(rotating(NEW));
      await until(() => router.receivers().some((r) => r.path === newPath), 'rotation');
      assert.equal((await push(app, kargoPath('proj-a', RECEIVER, OLD))).status, 404);
      assert.deepEqual((await push(app, newPath)).body, { msg: 'refreshed 1 warehouse(s)' });
      const warning = logger.lines.find((l) => l.msg?.includes('rotated'));
      assert.deepEqual(warning, {
        level: 'warn',
        obj: {
          config: 'ProjectConfig proj-a/proj-a',
          project: 'proj-a',
          receiver: RECEIVER,
          secretRef: 'proj-a/hook',
          resourceVersion: api.get({ kind: 'Secret', namespace: 'proj-a', name: 'hook' })?.metadata
            ?.resourceVersion,
          previousURL: 'rejected',
        },
        msg: `Azure receiver "${RECEIVER}" of ProjectConfig proj-a/proj-a: secret rotated without "previousSecret"; the previous URL now answers 404: register the new URL in Azure at once`,
      });
    });

    it('with previousSecret: both URLs work until the key is removed; each step logged, never the secret', async function () {
      api.put(rotating(OLD));
      const { router, app } = start();
      await router.ready();
      const oldPath = kargoPath('proj-a', RECEIVER, OLD);
      const newPath = kargoPath('proj-a', RECEIVER, NEW);

      api.put(rotating(NEW, OLD));
      await until(() => router.receivers().some((r) => r.path === newPath), 'rotation');
      for (const path of [oldPath, newPath])
        assert.deepEqual((await push(app, path)).body, { msg: 'refreshed 1 warehouse(s)' });
      // receivers() and the status name the new URL only: the one to register.
      assert.deepEqual(
        router.receivers().map((r) => r.path),
        [newPath],
      );

      api.put(rotating(NEW));
      await until(() => logger.lines.some((l) => l.msg?.includes('rotation finished')), 'finish');
      assert.equal((await push(app, oldPath)).status, 404);
      assert.equal((await push(app, newPath)).status, 200);

      assert.deepEqual(
        logger.lines
          .filter((l) => l.msg?.includes('rotat'))
          .map((l) => [l.level, (l.obj as { previousURL?: string }).previousURL, l.msg]),
        [
          [
            'info',
            'accepted',
            `Azure receiver "${RECEIVER}" of ProjectConfig proj-a/proj-a: secret rotated; the previous URL stays accepted while the Secret holds "previousSecret": register the new URL in Azure, then remove that key`,
          ],
          [
            'info',
            'rejected',
            `Azure receiver "${RECEIVER}" of ProjectConfig proj-a/proj-a: rotation finished; the previous URL is no longer accepted`,
          ],
        ],
      );
      const text = logger.text();
      for (const leak of [OLD, NEW, oldPath.slice(7), newPath.slice(7)])
        assert.ok(!text.includes(leak), 'a secret or token in the logs');
    });

    it('across restarts and on every replica: the state is in the Secret, so each process accepts both', async function () {
      api.put(rotating(NEW, OLD));
      const replicas = [start(), start()];
      await Promise.all(replicas.map((r) => r.router.ready()));
      for (const { app } of replicas)
        for (const value of [OLD, NEW])
          assert.equal((await push(app, kargoPath('proj-a', RECEIVER, value))).status, 200);
    });

    it('a labelled watch that cannot list does not hold up the receivers; it is served once readable', async function () {
      api.put(rotating(OLD));
      api.put(secret('proj-b', 'hook', 'project-b-secret-value-42'));
      api.put(projectConfig('proj-b', [azure(RECEIVER, 'hook')]));
      api.fault({ method: 'GET', path: '/api/v1/secrets', status: 403 });
      api.fault({ method: 'GET', path: '/namespaces/proj-b/secrets', status: 403 });
      const { router } = start();
      await router.ready();
      assert.deepEqual(
        router.receivers().map((r) => r.project),
        ['proj-a'],
      );
      assert.ok(
        logger.lines.some(
          (l) =>
            l.level === 'warn' &&
            l.msg ===
              'reading Secret proj-b/hook is forbidden: grant list and watch on secrets to this service account (see the RBAC of the Helm chart, charts/kargo-azure-receiver)',
        ),
      );
      // proj-a was read by name; the labelled watch retries after its backoff (about a second) and serves proj-b.
      await until(() => router.receivers().length === 2, 'proj-b served after the retry');
    });
  });
});
