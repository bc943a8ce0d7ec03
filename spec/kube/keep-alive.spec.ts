/**
 * An adapter must not keep a process alive by itself: its watches (sockets,
 * idle timers, backoff sleeps) are unref'd. Only a pending `ready()` holds
 * the process. Proven on a real child process that never calls `close()`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { TempKubeConfig, childEnv } from '../server/cli-harness.js';
import { warehouseManifest } from '../adapters/kubernetes/helpers.js';

const CHILD = fileURLToPath(new URL('../support/idle-adapter.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the child; resolves with its exit code and output, or fails if it is still alive after `limitMs`. */
function runChild(
  mode: string,
  env: Record<string, string>,
  limitMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child was still alive after ${limitMs} ms; stdout: ${stdout}`));
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('kubernetesAdapter does not keep the process alive', function () {
  this.timeout(60_000);
  let api: FakeKubeApi;
  let kubeconfig: TempKubeConfig;

  before(async function () {
    api = new FakeKubeApi();
    await api.start();
    api.put(warehouseManifest('kargo-demo', 'app'));
    kubeconfig = new TempKubeConfig(api);
  });
  after(async function () {
    await api.close();
    kubeconfig.remove();
  });

  it('awaiting ready() holds the process until synced; then open watches do not', async function () {
    const run = await runChild('wait-ready', { KUBECONFIG: kubeconfig.file }, 30_000);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'ready 1\n');
    // The child did watch: its watch requests reached the server.
    assert.ok(api.requestsTo('GET', '/warehouses', { watch: true }).length >= 1);
  });

  it('an unreachable API server (backoff between attempts) does not hold it either', async function () {
    const closed = new FakeKubeApi();
    await closed.start();
    const file = new TempKubeConfig(closed);
    await closed.close(); // connection refused from now on
    try {
      const run = await runChild('no-wait', { KUBECONFIG: file.file }, 30_000);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'started\n');
    } finally {
      file.remove();
    }
  });
});
