/**
 * Many Kargo projects: what the Kargo config watcher (`kargoReceivers`,
 * `serve` in ProjectConfig mode) holds against the API server at 50, 500 and
 * 2,000 projects, one Azure receiver and one Secret each (labelled as
 * Kargo's docs show). The new design (one labelled Secret watch, one
 * connection pool) against the former one, one watch per referenced Secret
 * on its own pool, still reachable behind the internal switch
 * `secretMode: 'per-secret'` of ConfigWatcher: the same setup, the same run.
 *
 * The watcher runs in a child process (its peak RSS is its own); this process
 * holds the fake API server and samples its open watches and connections.
 * The router's Kubernetes adapter adds two watches (Warehouses, Promotions)
 * in either design and is left out.
 */
import { FakeKubeApi } from '../spec/support/fake-kube-api.js';
import { child } from './scale.js';

export interface ProjectsRow {
  design: string;
  projects: number;
  /** Most watches open at once. */
  peakWatches: number;
  /** TCP connections opened to the API server. */
  connections: number;
  /** From start until every receiver is served. */
  syncMs: number;
  peakRssMiB: number;
  heapMiB: number;
}

const DESIGNS = [
  ['labelled Secret watch, one pool', 'labelled'],
  ['baseline: one watch per Secret, own pools', 'per-secret'],
] as const;

function b64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

export async function benchProjects(sizes: number[]): Promise<ProjectsRow[]> {
  const rows: ProjectsRow[] = [];
  for (const n of sizes) {
    const api = new FakeKubeApi({ historyLimit: 10 });
    await api.start();
    try {
      for (let i = 0; i < n; i++) {
        const namespace = `project-${String(i)}`;
        api.put({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            namespace,
            name: 'azure-wh-secret',
            labels: { 'kargo.akuity.io/cred-type': 'generic' },
          },
          data: { secret: b64(`secret-of-${namespace}-0123456789abcdef`) },
        });
        api.put({
          apiVersion: 'kargo.akuity.io/v1alpha1',
          kind: 'ProjectConfig',
          metadata: { namespace, name: namespace },
          spec: {
            webhookReceivers: [
              { name: 'azure-wh-receiver', azure: { secretRef: { name: 'azure-wh-secret' } } },
            ],
          },
        });
      }
      for (const [design, mode] of DESIGNS) {
        const connectionsBefore = api.connectionsAccepted;
        let peakWatches = 0;
        const sampler = setInterval(() => {
          peakWatches = Math.max(peakWatches, api.openWatches);
        }, 20);
        const r = await child(['projects', api.url, api.bearerToken, mode]).finally(() =>
          clearInterval(sampler),
        );
        if (r.served !== n)
          throw new Error(`${design}: ${String(r.served)} of ${String(n)} served`);
        rows.push({
          design,
          projects: n,
          peakWatches,
          connections: api.connectionsAccepted - connectionsBefore,
          syncMs: r.syncMs ?? NaN,
          peakRssMiB: r.peakRssMiB ?? NaN,
          heapMiB: r.heapMiB ?? NaN,
        });
        // The child is gone: its connections close before the next design starts.
        for (let i = 0; i < 500 && api.openConnections > 0; i++)
          await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await api.close();
    }
  }
  return rows;
}
