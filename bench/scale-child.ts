/**
 * Child process of bench/scale.ts, so its peak RSS is its own:
 *   index <n>          bytes per Warehouse kept by WarehouseIndex (needs --expose-gc)
 *   manifests <n>      bytes per Warehouse of keeping the parsed manifests (the baseline)
 *   sync <url> <token> kubernetesAdapter syncing every Warehouse of the fake API server
 *   unpaged <url> <token> one unpaged list through client-node, indexed (the baseline)
 *   idle               the imports alone (the fixed cost)
 *   projects <url> <token> labelled|per-secret
 *                      the Kargo config watcher (kargoReceivers, serve) syncing every
 *                      ProjectConfig and Secret, in the given Secret mode
 * Prints one JSON line.
 */
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { kubernetesAdapter, WarehouseIndex } from '../lib/index.js';
import { ConfigWatcher } from '../lib/kargo/config-watcher.js';
import { silentLogger } from '../lib/logger.js';
import { keepAliveUntilSettled } from '../lib/kube/keep-alive.js';
import { scaleWarehouse } from './scale-manifests.js';

const [mode = '', a = '', b = ''] = process.argv.slice(2);

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with --expose-gc');
  collect();
  collect();
}

function kubeConfig(url: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'fake', token }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return kc;
}

function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

async function main(): Promise<unknown> {
  if (mode === 'index' || mode === 'manifests') {
    const n = Number(a);
    gc();
    const before = process.memoryUsage().heapUsed;
    const index = new WarehouseIndex();
    const kept: unknown[] = [];
    for (let i = 0; i < n; i++) {
      // Each manifest is parsed from JSON, as the watcher gets it, then dropped (index) or kept (baseline).
      const manifest = JSON.parse(JSON.stringify(scaleWarehouse(i))) as unknown;
      if (mode === 'index') index.upsert(manifest);
      else kept.push(manifest);
    }
    gc();
    const bytes = process.memoryUsage().heapUsed - before;
    if (index.size + kept.length !== n) throw new Error('lost Warehouses');
    return { bytesPerWarehouse: Math.round(bytes / n) };
  }
  if (mode === 'idle') return { peakRssMiB: peakRssMiB() };
  const started = process.hrtime.bigint();
  if (mode === 'sync') {
    const adapter = kubernetesAdapter({ kubeConfig: kubeConfig(a, b), promotions: false });
    await adapter.ready();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const { warehouses } = adapter.stats();
    await adapter.close();
    return { syncMs: Math.round(ms), peakRssMiB: peakRssMiB(), warehouses };
  }
  if (mode === 'projects') {
    let served = 0;
    const watcher = new ConfigWatcher({
      kubeConfig: kubeConfig(a, b),
      systemNamespace: 'kargo-system-resources',
      namespaces: undefined,
      logger: silentLogger,
      requestTimeoutMs: 30_000,
      secretMode: process.argv[5] === 'per-secret' ? 'per-secret' : 'labelled',
      onChange: (snapshot) => (served = snapshot.receivers.filter((r) => r.token).length),
    });
    await keepAliveUntilSettled(watcher.ready);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Let every watch open (the parent samples the fake API server), then measure the heap.
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a timer that keeps the process alive
    gc();
    const heapMiB = Math.round((process.memoryUsage().heapUsed / 1024 / 1024) * 10) / 10;
    await watcher.close();
    return { syncMs: Math.round(ms), peakRssMiB: peakRssMiB(), heapMiB, served };
  }
  if (mode === 'unpaged') {
    const api = kubeConfig(a, b).makeApiClient(CustomObjectsApi);
    const list = (await api.listClusterCustomObject({
      group: 'kargo.akuity.io',
      version: 'v1alpha1',
      plural: 'warehouses',
    })) as { items: unknown[] };
    const index = new WarehouseIndex();
    for (const item of list.items) index.upsert(item);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { syncMs: Math.round(ms), peakRssMiB: peakRssMiB(), warehouses: index.size };
  }
  throw new Error(`unknown mode ${mode}`);
}

main().then(
  (result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
