/**
 * Memory of `serve` (Kargo mode: the built command, `node dist/server/cli.js`,
 * as the container runs it, with the Deployment's NODE_OPTIONS) against a
 * fake API server whose cluster holds many large unrelated Secrets, like
 * Helm release Secrets, compared with the same cluster without them, and
 * with what a receiver that lists every Secret would have to receive.
 * Runs `npm run build` first.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { kubeGet } from '../lib/kube/http.js';
import { azure, projectConfig, secret } from '../spec/kargo/helpers.js';
import { TempKubeConfig } from '../spec/server/cli-harness.js';
import { FakeKubeApi } from '../spec/support/fake-kube-api.js';
import { putUnrelatedSecrets } from '../spec/support/unrelated-secrets.js';

export interface SecretsRow {
  name: string;
  unrelatedSecretsMB: number;
  /** Bytes the API server sent to `serve` until it was ready. */
  bytesReceivedKB: number;
  /** Peak RSS of the `serve` process (VmHWM), once ready. */
  peakRssMB: number;
}

const MB = 1024 * 1024;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));

/**
 * The Deployment's memory limit and NODE_OPTIONS: the limit of the chart's
 * values.yaml, and the heap cap the chart derives from it (3/4, `kar.heapMi`
 * of templates/_helpers.tpl; spec/chart/chart.spec.ts checks the rendered value).
 */
export function deploymentMemory(): { limitMB: number; nodeOptions: string } {
  const values = parse(
    readFileSync(new URL('../charts/kargo-azure-receiver/values.yaml', import.meta.url), 'utf8'),
  ) as { resources: { limits: { memory: string } } };
  const limitMB = Number(/^(\d+)Mi$/.exec(values.resources.limits.memory)?.[1] ?? 0);
  return { limitMB, nodeOptions: `--max-old-space-size=${Math.floor((limitMB * 3) / 4)}` };
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function serveAgainst(unrelatedMB: number): Promise<SecretsRow> {
  const api = new FakeKubeApi();
  await api.start();
  api.put(secret('kargo-demo', 'azure-wh-secret', 'bench-secret-value-0123456789'));
  api.put(projectConfig('kargo-demo', [azure('azure', 'azure-wh-secret')]));
  const bytesEach = 100_000;
  const count = Math.round((unrelatedMB * MB * 3) / 4 / bytesEach);
  if (count > 0)
    putUnrelatedSecrets(api, {
      namespaces: ['kargo-demo', 'team-b', 'kargo-system-resources', 'monitoring'],
      count,
      bytesEach,
    });
  const kubeconfig = new TempKubeConfig(api);
  const before = api.bytesSent;
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--port', '0', '--host', '127.0.0.1', '--metrics-port', '0'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        KUBECONFIG: kubeconfig.file,
        NODE_OPTIONS: deploymentMemory().nodeOptions,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('serve did not sync in 120 s')), 120_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('"msg":"ready: caches synced"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${String(code)}: ${out}`));
      });
    });
    const pid = child.pid ?? 0;
    return {
      name: count > 0 ? `serve, ${String(count)} unrelated Secrets` : 'serve, no other Secrets',
      unrelatedSecretsMB: Math.round((count * bytesEach * 4) / 3 / MB),
      bytesReceivedKB: Math.round((api.bytesSent - before) / 1024),
      peakRssMB: Math.round(peakRss(pid)),
    };
  } finally {
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await api.close();
    kubeconfig.remove();
  }
}

/** What one cluster-wide list of Secrets weighs: what a receiver watching all Secrets receives first. */
async function listEverySecret(unrelatedMB: number): Promise<SecretsRow> {
  const api = new FakeKubeApi();
  await api.start();
  const bytesEach = 100_000;
  const count = Math.round((unrelatedMB * MB * 3) / 4 / bytesEach);
  putUnrelatedSecrets(api, { namespaces: ['kargo-demo', 'team-b'], count, bytesEach });
  const before = api.bytesSent;
  await kubeGet(api.kubeConfig(), '/api/v1/secrets', {}, { timeoutMs: 120_000 });
  const bytes = api.bytesSent - before;
  await api.close();
  return {
    name: 'one list of every Secret (not done)',
    unrelatedSecretsMB: Math.round((count * bytesEach * 4) / 3 / MB),
    bytesReceivedKB: Math.round(bytes / 1024),
    peakRssMB: Number.NaN,
  };
}

export async function benchSecrets(unrelatedMB: number): Promise<SecretsRow[]> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  return [
    await serveAgainst(0),
    await serveAgainst(unrelatedMB),
    await listEverySecret(unrelatedMB),
  ];
}
