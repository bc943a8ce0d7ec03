/**
 * Scale: syncing 10 000 and 100 000 Warehouses (two subscriptions each)
 * through the fake API server, each run in a child process so its peak RSS
 * is its own, against the baseline of one unpaged list through client-node
 * (what the adapter did before paging); and the bytes per Warehouse the
 * index keeps, against keeping the parsed manifests.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FakeKubeApi } from '../spec/support/fake-kube-api.js';
import { scaleWarehouse } from './scale-manifests.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The child runs compiled, as the shipped image does: tsx alone would add some 60 MiB of RSS. */
const OUT = `${ROOT}node_modules/.cache/kargo-azure-receiver-bench`;
const CHILD = `${OUT}/bench/scale-child.js`;
let compiled: Promise<void> | undefined;

/** Compiles bench/scale-child.ts and the library it imports (once per run). */
function compileChild(): Promise<void> {
  compiled ??= (async () => {
    const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
    // Type errors are the typecheck's business; emit regardless.
    await run(process.execPath, [
      tsc,
      ...['--outDir', OUT, '--rootDir', ROOT, '--module', 'NodeNext'],
      ...['--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict'],
      ...['--skipLibCheck', '--types', 'node', `${ROOT}bench/scale-child.ts`],
    ]).catch(() => undefined);
    // Outside the package's scope under node_modules: say it is ESM.
    writeFileSync(`${OUT}/package.json`, '{"type":"module"}\n');
  })();
  return compiled;
}
/** The heap bound the Helm chart's Deployment sets (NODE_OPTIONS), under its 256Mi memory limit. */
const SHIPPED_HEAP = '--max-old-space-size=192';

export async function child(args: string[]): Promise<Record<string, number>> {
  await compileChild();
  try {
    const { stdout } = await run(process.execPath, [SHIPPED_HEAP, '--expose-gc', CHILD, ...args], {
      maxBuffer: 1024 * 1024,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
  } catch (err) {
    // The baseline may not fit the shipped heap: report it rather than fail the bench.
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    if (/heap out of memory|Allocation failed/i.test(stderr)) return { failed: 1 };
    throw err;
  }
}

export interface SyncRow {
  name: string;
  warehouses: number;
  syncMs: number;
  peakRssMiB: number;
}

export async function benchSync(sizes: number[]): Promise<SyncRow[]> {
  const rows: SyncRow[] = [];
  for (const n of sizes) {
    const api = new FakeKubeApi({ historyLimit: 10 });
    await api.start();
    try {
      for (let i = 0; i < n; i++) api.put(scaleWarehouse(i));
      const args = [api.url, api.bearerToken];
      const idle = await child(['idle']);
      const paged = await child(['sync', ...args]);
      const unpaged = await child(['unpaged', ...args]);
      rows.push({
        name: 'baseline: the same child process, idle (imports only)',
        warehouses: n,
        syncMs: 0,
        peakRssMiB: idle.peakRssMiB ?? NaN,
      });
      for (const [name, r] of [
        ['kubernetesAdapter (paged lists, 500 per page)', paged],
        ['baseline: one unpaged list through client-node', unpaged],
      ] as const) {
        if (r.failed) {
          rows.push({
            name: `${name}: heap out of memory`,
            warehouses: n,
            syncMs: NaN,
            peakRssMiB: NaN,
          });
          continue;
        }
        if (r.warehouses !== n) throw new Error(`${name}: ${r.warehouses} of ${n} Warehouses`);
        rows.push({
          name,
          warehouses: n,
          syncMs: r.syncMs ?? NaN,
          peakRssMiB: r.peakRssMiB ?? NaN,
        });
      }
    } finally {
      await api.close();
    }
  }
  return rows;
}

export interface IndexMemoryRow {
  name: string;
  warehouses: number;
  bytesPerWarehouse: number;
}

export async function benchIndexMemory(n: number): Promise<IndexMemoryRow[]> {
  const index = await child(['index', String(n)]);
  const manifests = await child(['manifests', String(n)]);
  return [
    { name: 'WarehouseIndex', warehouses: n, bytesPerWarehouse: index.bytesPerWarehouse ?? NaN },
    {
      name: 'baseline: the parsed manifests',
      warehouses: n,
      bytesPerWarehouse: manifests.bytesPerWarehouse ?? NaN,
    },
  ];
}
