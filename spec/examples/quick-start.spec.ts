/**
 * The README's quick start (examples/quick-start.ts) runs as a reader runs
 * it, in a process of its own, and prints what the README says it prints.
 * spec/package/ compiles and runs the same file against the packed package.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import express from 'express';
import request from 'supertest';
import { azureReceiver, kargoToken, memoryAdapter } from '../../lib/index.js';
import { QUICK_START_OUTPUT } from '../support/quick-start.js';
import { childEnv } from '../server/cli-harness.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('../../examples/quick-start.ts', import.meta.url), 'utf8');

describe('README quick start (examples/quick-start.ts)', function () {
  this.timeout(60_000);

  it('refreshes the inline Warehouse, answers 200, and exits by itself', async function () {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'examples/quick-start.ts'],
      { cwd: ROOT, env: childEnv({}), timeout: 50_000 },
    );
    assert.equal(stdout, QUICK_START_OUTPUT);
    assert.equal(stderr, '');
  });

  it("the README's curl line posts the same push to the quick start's URL", async function () {
    const curl = /^curl [\s\S]*?-d '(\{.*\})' \\\n\s+http:\/\/localhost:8080(\/azure\/\w+)$/m.exec(
      readme,
    );
    assert.ok(curl, 'the README has the curl line');
    const secret = /secret: '([^']+)'/.exec(example)?.[1];
    assert.ok(secret);
    const token = kargoToken({ project: 'kargo-demo', receiver: 'azure-wh-receiver', secret });
    assert.equal(curl[2], `/azure/${token}`);
    // The quick start's Warehouse, as its example file declares it.
    const repoURL = 'myregistry.azurecr.io/hello-world';
    assert.ok(example.includes(`repoURL: '${repoURL}', semverConstraint: '^1.0.0'`));
    const adapter = memoryAdapter({
      warehouses: [
        {
          apiVersion: 'kargo.akuity.io/v1alpha1',
          kind: 'Warehouse',
          metadata: { namespace: 'kargo-demo', name: 'hello-world' },
          spec: { subscriptions: [{ image: { repoURL, semverConstraint: '^1.0.0' } }] },
        },
      ],
    });
    const app = express();
    app.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));
    await request(app)
      .post(curl[2]!)
      .set('Content-Type', 'application/json')
      .send(curl[1]!)
      .expect(200, { msg: 'refreshed 1 warehouse(s)' });
  });
});
