/**
 * The cluster recipe of docs/testing.md (examples/cluster.test.ts) runs in a mocha of
 * its own (no --exit) against the fake API server: it passes, and the
 * process ends by itself.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { warehouseManifest } from '../support/manifests.js';
import { TempKubeConfig, childEnv } from '../server/cli-harness.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MOCHA = fileURLToPath(new URL('../../node_modules/mocha/bin/mocha.js', import.meta.url));

describe('docs/testing.md recipe: supertest on kubernetesAdapter (examples/cluster.test.ts)', function () {
  this.timeout(90_000);
  let api: FakeKubeApi;
  let kubeconfig: TempKubeConfig;
  before(async function () {
    api = new FakeKubeApi();
    await api.start();
    api.put(
      warehouseManifest('kargo-demo', 'app', {
        image: { repoURL: 'myregistry.azurecr.io/app', imageSelectionStrategy: 'Lexical' },
      }),
    );
    kubeconfig = new TempKubeConfig(api);
  });
  after(async function () {
    await api.close();
    kubeconfig.remove();
  });

  it('passes and exits by itself', async function () {
    const { stdout } = await run(
      process.execPath,
      [
        MOCHA,
        '--no-config',
        '--node-option',
        'import=tsx',
        '--extension',
        'ts',
        '--timeout',
        '30000',
        'examples/cluster.test.ts',
      ],
      { cwd: ROOT, env: childEnv({ KUBECONFIG: kubeconfig.file }), timeout: 80_000 },
    );
    assert.match(stdout, /1 passing/);
    assert.equal(api.requestsTo('PATCH', '/namespaces/kargo-demo/warehouses/app').length, 1);
  });
});
