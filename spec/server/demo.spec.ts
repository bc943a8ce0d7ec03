import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DEMO_SECRET, startDemo, type Demo } from '../../lib/server/demo.js';
import { kargoToken } from '../../lib/index.js';
import { fixture, fixtureText } from '../support/fixtures.js';
import { RecordingLogger } from '../support/recording-adapter.js';

describe('the embedded demo (npm start)', () => {
  let demo: Demo;
  const logger = new RecordingLogger();

  before(async () => {
    demo = await startDemo({ port: 0, logger });
  });
  after(async () => {
    await demo.close();
  });

  it("serves at Kargo's path for the demo project, receiver and secret", () => {
    const token = kargoToken({
      project: 'kargo-demo',
      receiver: 'azure-wh-receiver',
      secret: DEMO_SECRET,
    });
    assert.equal(demo.token, token);
    assert.match(demo.url, new RegExp(`^http://localhost:\\d+/azure/${token}$`));
  });

  const posts: Array<{ payload: string; msg: string; refreshed: string[] }> = [
    {
      payload: 'acr-push',
      msg: 'refreshed 1 warehouse(s)',
      refreshed: ['Warehouse kargo-demo/hello-world'],
    },
    {
      payload: 'devops-test-git-push',
      msg: 'refreshed 1 warehouse(s)',
      refreshed: ['Warehouse kargo-demo/fabrikam-master'],
    },
    {
      payload: 'devops-git-push',
      msg: 'refreshed 1 warehouse(s)',
      refreshed: ['Warehouse kargo-demo/fabrikam-main'],
    },
    {
      payload: 'devops-pr-merged',
      msg: 'refreshed 1 promotion(s)',
      refreshed: ['Promotion kargo-demo/prod.01hxyz.abc1234'],
    },
  ];
  for (const p of posts) {
    it(`the printed curl line for ${p.payload} works`, async () => {
      demo.adapter.clearRefreshed();
      const res = await fetch(demo.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: fixtureText(p.payload),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { msg: p.msg });
      assert.deepEqual(
        demo.adapter.refreshed.map((r) => `${r.kind} ${r.namespace}/${r.name}`),
        p.refreshed,
      );
      assert.ok(
        logger.lines.some((l) => l.msg === 'refreshed'),
        'each refresh is logged',
      );
    });
  }

  it("explain: the History example of docs/operations.md (a push to develop) is the demo's answer", async () => {
    const explaining = await startDemo({ port: 0, logger, explain: true });
    try {
      const body = fixture('devops-git-push');
      body.resource.refUpdates[0].name = 'refs/heads/develop';
      const res = await fetch(explaining.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200);
      const repo =
        'https://dev.azure.com/fabrikam-fiber-inc/fabrikam-fiber-git/_git/fabrikam-fiber-git';
      assert.deepEqual(await res.json(), {
        msg: 'refreshed 0 warehouse(s)',
        hint: `2 Warehouses subscribe to Git repository ${repo}; none takes refs/heads/develop: kargo-demo/fabrikam-main: spec.subscriptions[0]: branch "develop" is not "main"; and 1 more`,
        warehouses: [
          {
            namespace: 'kargo-demo',
            name: 'fabrikam-main',
            refreshed: false,
            reason: 'spec.subscriptions[0]: branch "develop" is not "main"',
          },
          {
            namespace: 'kargo-demo',
            name: 'fabrikam-master',
            refreshed: false,
            reason: 'spec.subscriptions[0]: branch "develop" is not "master"',
          },
        ],
      });
    } finally {
      await explaining.close();
    }
  });

  it('a port in use is a clear error, not a crash (Express 4 and 5)', async () => {
    const port = Number(new URL(demo.url).port);
    await assert.rejects(
      startDemo({ port, logger }),
      (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE',
    );
  });

  it('the example manifests parse', async () => {
    const text = await readFile(new URL('../../examples/manifests.yaml', import.meta.url), 'utf8');
    assert.equal(text.split(/^---$/m).length, demo.adapter.size);
  });
});
