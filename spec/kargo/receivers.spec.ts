import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import {
  kargoReceivers,
  type KargoReceiversOptions,
  type KargoReceiversRouter,
} from '../../lib/kargo/index.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { fixtureText } from '../support/fixtures.js';
import { RecordingLogger } from '../support/recording-adapter.js';
import {
  azure,
  clusterConfig,
  projectConfig,
  secret,
  until,
  warehouse,
  warehousePatches,
} from './helpers.js';

const SECRET_A = 'secret-of-project-a-0123456789';
const SECRET_B = 'secret-of-project-b-9876543210';
const RECEIVER = 'azure-wh-receiver';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Kargo's path, computed by hand: sha256 of the plain concatenation. */
function kargoPath(project: string, receiver: string, secretValue: string): string {
  return `/azure/${sha256(project + receiver + secretValue)}`;
}

function push(app: express.Express, path: string): request.Test {
  return request(app)
    .post(path)
    .set('Content-Type', 'application/json')
    .set('User-Agent', 'AzureContainerRegistry/1.0')
    .send(fixtureText('acr-push'));
}

describe('kargoReceivers (fake Kubernetes API, real client-node)', function () {
  let api: FakeKubeApi;
  let logger: RecordingLogger;
  let router: KargoReceiversRouter | undefined;
  let app: express.Express;

  function start(options: KargoReceiversOptions = {}): KargoReceiversRouter {
    router = kargoReceivers({
      kubeConfig: api.kubeConfig(),
      logger,
      baseURL: 'https://kargo-webhooks.example.com',
      ...options,
    });
    app = express();
    app.use(router);
    return router;
  }

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    logger = new RecordingLogger();
    router = undefined;
    for (const ns of ['proj-a', 'proj-b']) api.put(warehouse(ns, 'images'));
    api.put(secret('proj-a', 'azure-wh-secret', SECRET_A));
    api.put(secret('proj-b', 'azure-wh-secret', SECRET_B));
    api.put(
      projectConfig('proj-a', [
        { name: 'gh', github: { secretRef: { name: 'gh-secret' } } },
        azure(RECEIVER, 'azure-wh-secret'),
      ]),
    );
    api.put(projectConfig('proj-b', [azure(RECEIVER, 'azure-wh-secret')]));
  });

  afterEach(async function () {
    await router?.close();
    await until(() => api.openConnections === 0, 'every connection closed by close()');
    await api.close();
  });

  it('serves each project at Kargo path and refreshes only that project', async function () {
    const r = start();
    await r.ready();
    const pathA = kargoPath('proj-a', RECEIVER, SECRET_A);
    const pathB = kargoPath('proj-b', RECEIVER, SECRET_B);
    assert.deepEqual(r.receivers(), [
      {
        project: 'proj-a',
        name: RECEIVER,
        path: pathA,
        url: `https://kargo-webhooks.example.com${pathA}`,
      },
      {
        project: 'proj-b',
        name: RECEIVER,
        path: pathB,
        url: `https://kargo-webhooks.example.com${pathB}`,
      },
    ]);

    const res = await push(app, pathA);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { msg: 'refreshed 1 warehouse(s)' });
    assert.deepEqual(warehousePatches(api), ['proj-a/images']);

    const resB = await push(app, pathB);
    assert.deepEqual([resB.status, resB.body], [200, { msg: 'refreshed 1 warehouse(s)' }]);
    assert.deepEqual(warehousePatches(api), ['proj-a/images', 'proj-b/images']);
  });

  it("explain: true lists the project's own subscribed Warehouses, never another project's", async function () {
    api.put(warehouse('proj-a', 'eu', 'myregistry-eu.azurecr.io/hello-world'));
    api.put(warehouse('proj-b', 'eu', 'myregistry-eu.azurecr.io/hello-world'));
    // proj-b has no Warehouse on the pushed repository: its answer gets the hint and the near miss.
    api.remove({ kind: 'Warehouse', namespace: 'proj-b', name: 'images' });
    const r = start({ explain: true });
    await r.ready();
    const res = await push(app, kargoPath('proj-a', RECEIVER, SECRET_A));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      msg: 'refreshed 1 warehouse(s)',
      warehouses: [
        {
          namespace: 'proj-a',
          name: 'images',
          refreshed: true,
          reason: 'spec.subscriptions[0] takes tag "v1"',
        },
      ],
    });
    const missed = await push(app, kargoPath('proj-b', RECEIVER, SECRET_B));
    assert.deepEqual(missed.body, {
      msg: 'refreshed 0 warehouse(s)',
      hint: 'no Warehouse subscribes to image myregistry.azurecr.io/hello-world; Warehouse proj-b/eu subscribes to image myregistry-eu.azurecr.io/hello-world (another registry host or login server: myregistry-eu.azurecr.io instead of myregistry.azurecr.io)',
      warehouses: [],
      nearMisses: [
        {
          namespace: 'proj-b',
          name: 'eu',
          subscription: 'image myregistry-eu.azurecr.io/hello-world',
          difference:
            'another registry host or login server: myregistry-eu.azurecr.io instead of myregistry.azurecr.io',
        },
      ],
    });
  });

  it('explain: a list of projects turns it on for their receivers only', async function () {
    const r = start({ explain: ['proj-b'] });
    await r.ready();
    const a = await push(app, kargoPath('proj-a', RECEIVER, SECRET_A));
    assert.deepEqual(a.body, { msg: 'refreshed 1 warehouse(s)' });
    const b = await push(app, kargoPath('proj-b', RECEIVER, SECRET_B));
    assert.deepEqual(b.body, {
      msg: 'refreshed 1 warehouse(s)',
      warehouses: [
        {
          namespace: 'proj-b',
          name: 'images',
          refreshed: true,
          reason: 'spec.subscriptions[0] takes tag "v1"',
        },
      ],
    });
  });

  it('computes the path as Kargo does for known inputs (a literal digest)', async function () {
    api.put(secret('kargo-demo', 'azure-wh-secret', 'demo-secret-1234567890'));
    api.put(projectConfig('kargo-demo', [azure('azure-wh-receiver', 'azure-wh-secret')]));
    const r = start();
    await r.ready();
    // printf %s 'kargo-demoazure-wh-receiverdemo-secret-1234567890' | sha256sum
    const literal = '/azure/075a51356da4ae4e864d801bfe66fb95deab6bcec705b3c0ab9dd42c490e33ab';
    assert.equal(r.receivers().find((x) => x.project === 'kargo-demo')?.path, literal);
    const ping = await request(app)
      .post(literal)
      .set('Content-Type', 'application/json')
      .send({ action: 'ping' });
    assert.deepEqual(
      [ping.status, ping.body],
      [200, { msg: 'ping event received, webhook is configured correctly' }],
    );
  });

  it('answers 404 for unknown tokens and lets other paths fall through', async function () {
    const r = start();
    await r.ready();
    const res = await push(app, `/azure/${sha256('nope')}`);
    assert.deepEqual([res.status, res.body], [404, { error: 'not found' }]);
    const other = await request(app).post('/github/abc').send({});
    assert.equal(other.status, 404);
    assert.notDeepEqual(other.body, { error: 'not found' }, 'Express default 404, not ours');
    assert.deepEqual(warehousePatches(api), []);
  });

  it('answers 503 until synced', async function () {
    api.fault({ method: 'GET', path: '/projectconfigs', watch: false, delayMs: 200 });
    start();
    const res = await push(app, kargoPath('proj-a', RECEIVER, SECRET_A));
    assert.deepEqual(
      [res.status, res.body, res.headers['retry-after']],
      [503, { error: 'receivers are not synced with the Kubernetes API yet' }, '5'],
    );
  });

  it('deletion of the receiver, the Secret or the ProjectConfig stops serving it', async function () {
    const r = start();
    await r.ready();
    const pathA = kargoPath('proj-a', RECEIVER, SECRET_A);
    const pathB = kargoPath('proj-b', RECEIVER, SECRET_B);

    api.put(projectConfig('proj-a', []));
    await until(() => r.receivers().length === 1, 'receiver removed');
    assert.equal((await push(app, pathA)).status, 404);

    api.remove({ kind: 'Secret', namespace: 'proj-b', name: 'azure-wh-secret' });
    await until(() => r.receivers().length === 0, 'secret removed');
    assert.equal((await push(app, pathB)).status, 404);
    assert.ok(
      logger.lines.some(
        (l) =>
          l.level === 'warn' &&
          l.msg ===
            `Azure receiver "${RECEIVER}" of ProjectConfig proj-b/proj-b not served: the Secret does not exist (Secret proj-b/azure-wh-secret)`,
      ),
    );

    api.put(secret('proj-b', 'azure-wh-secret', SECRET_B));
    await until(() => r.receivers().length === 1, 'secret back');
    api.remove({ kind: 'ProjectConfig', namespace: 'proj-b', name: 'proj-b' });
    await until(() => r.receivers().length === 0, 'project config removed');
    assert.equal((await push(app, pathB)).status, 404);
    assert.deepEqual(warehousePatches(api), []);
  });

  it('a receiver added later, referencing an existing Secret, is served (one list of that name)', async function () {
    api.put(secret('proj-c', 'hook', 'late-secret-value-abcdefgh'));
    api.put(warehouse('proj-c', 'images'));
    const lists = (): number =>
      api
        .requestsTo('GET', '/namespaces/proj-c/secrets', { watch: false })
        .filter((q) => q.query.fieldSelector === 'metadata.name=hook').length;
    const r = start();
    await r.ready();
    assert.equal(lists(), 0);
    api.put(projectConfig('proj-c', [azure('late', 'hook')]));
    const path = kargoPath('proj-c', 'late', 'late-secret-value-abcdefgh');
    await until(() => r.receivers().some((x) => x.path === path), 'late receiver');
    assert.equal(lists(), 1);
    const res = await push(app, path);
    assert.deepEqual([res.status, res.body], [200, { msg: 'refreshed 1 warehouse(s)' }]);
    assert.deepEqual(warehousePatches(api), ['proj-c/images']);

    // A second receiver of the same Secret: its bytes were dropped, so that one Secret is listed again.
    api.put(projectConfig('proj-c', [azure('late', 'hook'), azure('later', 'hook')]));
    const second = kargoPath('proj-c', 'later', 'late-secret-value-abcdefgh');
    await until(() => r.receivers().some((x) => x.path === second), 'second receiver');
    assert.equal(lists(), 2);
    assert.equal((await push(app, path)).status, 200);
  });

  describe('broken configuration', function () {
    const cases = [
      {
        name: 'missing Secret',
        receiver: 'no-secret',
        secretName: 'absent',
        put: undefined,
        reason: 'secret-missing',
        text: 'the Secret does not exist',
      },
      {
        name: 'Secret without the key',
        receiver: 'no-key',
        secretName: 'keyless',
        put: secret('proj-c', 'keyless', undefined, {
          token: Buffer.from('not-the-key-value').toString('base64'),
        }),
        reason: 'key-missing',
        text: 'the Secret has no "secret" key in its data',
      },
      {
        name: 'empty secret',
        receiver: 'empty',
        secretName: 'empty',
        put: secret('proj-c', 'empty', ''),
        reason: 'secret-empty',
        text: 'the Secret\'s "secret" value is empty',
      },
    ];
    for (const c of cases) {
      it(`${c.name}: not served, one log line naming ProjectConfig, receiver and Secret; others keep working`, async function () {
        if (c.put) api.put(c.put);
        api.put(projectConfig('proj-c', [azure(c.receiver, c.secretName)]));
        const r = start();
        await r.ready();
        assert.deepEqual(
          r.receivers().map((x) => x.project),
          ['proj-a', 'proj-b'],
        );
        const lines = logger.lines.filter((l) => l.level === 'warn');
        assert.deepEqual(lines, [
          {
            level: 'warn',
            obj: {
              config: 'ProjectConfig proj-c/proj-c',
              project: 'proj-c',
              receiver: c.receiver,
              secretRef: `proj-c/${c.secretName}`,
              reason: c.reason,
            },
            msg: `Azure receiver "${c.receiver}" of ProjectConfig proj-c/proj-c not served: ${c.text} (Secret proj-c/${c.secretName})`,
          },
        ]);
        assert.ok(!logger.text().includes('not-the-key-value'));
        assert.ok(!logger.text().includes(SECRET_A));
        const res = await push(app, kargoPath('proj-a', RECEIVER, SECRET_A));
        assert.equal(res.status, 200);
        // Fixed later: served at once, logged as served.
        api.put(secret('proj-c', c.secretName, 'fixed-secret-value-xyz'));
        await until(() => r.receivers().some((x) => x.project === 'proj-c'), 'fixed');
        assert.equal(
          r.receivers().find((x) => x.project === 'proj-c')?.path,
          kargoPath('proj-c', c.receiver, 'fixed-secret-value-xyz'),
        );
      });
    }

    it('a ProjectConfig not named after its namespace is ignored, with one warning', async function () {
      api.put(secret('proj-c', 'hook', 'misnamed-config-secret-0'));
      api.put({
        ...projectConfig('proj-c', [azure('x', 'hook')]),
        metadata: { namespace: 'proj-c', name: 'other' },
      });
      const r = start();
      await r.ready();
      assert.deepEqual(
        r.receivers().map((x) => x.project),
        ['proj-a', 'proj-b'],
      );
      assert.deepEqual(
        logger.lines.filter((l) => l.level === 'warn'),
        [
          {
            level: 'warn',
            obj: { config: 'ProjectConfig proj-c/other' },
            msg: 'ProjectConfig proj-c/other ignored: its name "other" differs from its namespace "proj-c"; Kargo reads only the ProjectConfig named after its project',
          },
        ],
      );
    });

    it('never logs a secret or a token', async function () {
      api.put(projectConfig('proj-c', [azure('x', 'absent')]));
      const r = start();
      await r.ready();
      await push(app, kargoPath('proj-a', RECEIVER, SECRET_A));
      const text = logger.text();
      for (const leak of [
        SECRET_A,
        SECRET_B,
        sha256(`proj-a${RECEIVER}${SECRET_A}`),
        sha256(`proj-b${RECEIVER}${SECRET_B}`),
      ])
        assert.ok(!text.includes(leak), 'leak in logs');
    });

    it('two projects whose concatenations collide serve neither', async function () {
      // ("proj-a", "xy") and ("proj-ax", "y") hash the same input with the same secret.
      api.put(secret('proj-a', 'same', 'shared-secret-value-000'));
      api.put(secret('proj-ax', 'same', 'shared-secret-value-000'));
      api.put(projectConfig('proj-a', [azure(RECEIVER, 'azure-wh-secret'), azure('xy', 'same')]));
      api.put(projectConfig('proj-ax', [azure('y', 'same')]));
      const r = start();
      await r.ready();
      assert.deepEqual(
        r.receivers().map((x) => `${x.project}/${x.name}`),
        [`proj-a/${RECEIVER}`, `proj-b/${RECEIVER}`],
      );
      assert.equal(
        logger.lines.filter((l) => (l.obj as { reason?: string }).reason === 'ambiguous').length,
        2,
      );
    });
  });

  it('ClusterConfig receivers: project "", Secret in the system namespace, refresh every namespace', async function () {
    api.put(secret('kargo-system-resources', 'cluster-hook', 'cluster-secret-value-42'));
    api.put(clusterConfig([azure('cluster-azure', 'cluster-hook')]));
    const r = start();
    await r.ready();
    const path = kargoPath('', 'cluster-azure', 'cluster-secret-value-42');
    assert.deepEqual(r.receivers()[0], {
      project: '',
      name: 'cluster-azure',
      path,
      url: `https://kargo-webhooks.example.com${path}`,
    });
    const res = await push(app, path);
    assert.deepEqual([res.status, res.body], [200, { msg: 'refreshed 2 warehouse(s)' }]);
    assert.deepEqual(warehousePatches(api), ['proj-a/images', 'proj-b/images']);
  });

  it('systemNamespace is settable', async function () {
    api.put(secret('kargo-system-resources', 'cluster-hook', 'wrong-namespace-value'));
    api.put(secret('my-system', 'cluster-hook', 'cluster-secret-value-42'));
    api.put(clusterConfig([azure('cluster-azure', 'cluster-hook')]));
    const r = start({ systemNamespace: 'my-system' });
    await r.ready();
    assert.equal(r.receivers()[0]?.path, kargoPath('', 'cluster-azure', 'cluster-secret-value-42'));
  });

  it('namespaces: watches only the given namespaces', async function () {
    const r = start({ namespaces: ['proj-b'] });
    await r.ready();
    assert.deepEqual(
      r.receivers().map((x) => x.project),
      ['proj-b'],
    );
    assert.deepEqual(
      api
        .requestsTo('GET', '/secrets', { watch: false })
        .map((x) => `${x.path}?${x.query.labelSelector ?? ''}`)
        .sort(),
      [
        '/api/v1/namespaces/kargo-system-resources/secrets?kargo.akuity.io/cred-type=generic',
        '/api/v1/namespaces/proj-b/secrets?kargo.akuity.io/cred-type=generic',
      ],
    );
  });

  it('close() stops every watch', async function () {
    const r = start();
    await r.ready();
    await r.close();
    await r.close();
    await until(() => api.openWatches === 0, 'watches closed');
    assert.deepEqual(r.receivers(), []);
  });
});

describe('kargoReceivers options', function () {
  const cases: Array<{ options: object; message: string }> = [
    {
      options: { baseURL: 'ftp://x.example.com' },
      message:
        '[kargo-azure-receiver] options.baseURL must be an http or https URL such as https://kargo-webhooks.example.com',
    },
    {
      options: { baseURL: 'https://x.example.com/?a=1' },
      message:
        '[kargo-azure-receiver] options.baseURL must not hold credentials, a query or a fragment',
    },
    {
      options: { systemNamespace: 'Not_A_Namespace' },
      message:
        '[kargo-azure-receiver] options.systemNamespace must be a Kubernetes namespace name (RFC 1123 label)',
    },
    {
      options: { explain: ['Not_A_Project'] },
      message:
        '[kargo-azure-receiver] options.explain[0] must be a Kubernetes namespace name (RFC 1123 label)',
    },
    {
      options: { writeStatus: 'yes' },
      message: '[kargo-azure-receiver] options.writeStatus must be a boolean',
    },
    {
      options: { adapter: { lookup: () => [], refresh: () => undefined } },
      message:
        '[kargo-azure-receiver] options.adapter.scoped is required: an adapter needs lookup, refresh and scoped(namespaces)',
    },
    {
      options: { kubeConfig: {} },
      message:
        '[kargo-azure-receiver] options.kubeConfig must be a KubeConfig of @kubernetes/client-node 1.x or 2.x',
    },
  ];
  for (const c of cases) {
    it(`rejects ${JSON.stringify(c.options)}`, function () {
      assert.throws(() => kargoReceivers(c.options as KargoReceiversOptions), {
        name: 'TypeError',
        message: c.message,
      });
    });
  }
});
