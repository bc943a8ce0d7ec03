/**
 * End to end against the fake Kubernetes API server: azureReceiver with
 * kubernetesAdapter (watch-backed index) against the same receiver with a
 * naive adapter that lists every Warehouse through client-node on each
 * webhook, as a receiver without a cache does. Same process, same data,
 * same refresh path; only the lookup differs.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomObjectsApi } from '@kubernetes/client-node';
import express from 'express';
import { postJSONLoad } from './http.js';
import { azureReceiver, kargoToken, kubernetesAdapter, WarehouseIndex } from '../lib/index.js';
import type { Lookup } from '../lib/index.js';
import { FakeKubeApi } from '../spec/support/fake-kube-api.js';
import { fixtureText } from '../spec/support/fixtures.js';

export interface KubeRow {
  name: string;
  warehouses: number;
  reqPerSec: number;
  p50ms: number;
  p99ms: number;
  listCalls: number;
}

async function listen(app: express.Express): Promise<Server> {
  return new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
}

/** A started fake API server with `warehouses` Warehouses: one subscribed to the pushed image, the rest to others. */
export async function seededApi(warehouses: number): Promise<FakeKubeApi> {
  const api = new FakeKubeApi();
  await api.start();
  for (let i = 0; i < warehouses; i++) {
    const repoURL =
      i === 0 ? 'myregistry.azurecr.io/hello-world' : `myregistry.azurecr.io/app-${i}`;
    api.put({
      apiVersion: 'kargo.akuity.io/v1alpha1',
      kind: 'Warehouse',
      metadata: { namespace: `project-${i % 20}`, name: `wh-${i}` },
      spec: { subscriptions: [{ image: { repoURL, imageSelectionStrategy: 'Lexical' } }] },
    });
  }
  return api;
}

export async function benchKubernetes(warehouses: number, durationSec: number): Promise<KubeRow[]> {
  const api = await seededApi(warehouses);
  const kubeConfig = api.kubeConfig();
  const adapter = kubernetesAdapter({ kubeConfig, promotions: false });
  await adapter.ready();

  const client = kubeConfig.makeApiClient(CustomObjectsApi);
  const naiveLookup: Lookup = async (event) => {
    const list = (await client.listClusterCustomObject({
      group: 'kargo.akuity.io',
      version: 'v1alpha1',
      plural: 'warehouses',
    })) as { items: unknown[] };
    const index = new WarehouseIndex();
    for (const item of list.items) index.upsert(item);
    return event.type === 'push' ? index.match(event) : [];
  };

  const token = kargoToken({ project: 'p', receiver: 'r', secret: 'bench' });
  const indexed = express();
  indexed.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));
  const naive = express();
  naive.use('/azure', azureReceiver({ token, lookup: naiveLookup, refresh: adapter.refresh }));
  const indexedServer = await listen(indexed);
  const naiveServer = await listen(naive);
  const servers = [indexedServer, naiveServer];
  const body = fixtureText('acr-push');

  async function run(name: string, server: Server): Promise<KubeRow> {
    const before = api.requests.filter((r) => r.method === 'GET' && !r.watch).length;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/azure/${token}`;
    const result = await postJSONLoad(url, body, durationSec, 8);
    const after = api.requests.filter((r) => r.method === 'GET' && !r.watch).length;
    if (result.non2xx > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers`);
    return {
      name,
      warehouses,
      reqPerSec: Math.round(result.requests.average),
      p50ms: result.latency.p50,
      p99ms: result.latency.p99,
      listCalls: after - before,
    };
  }

  try {
    return [
      await run('kubernetesAdapter (watch-backed index)', indexedServer),
      await run('naive adapter (list every Warehouse per webhook)', naiveServer),
    ];
  } finally {
    for (const s of servers) s.close();
    await adapter.close();
    api.requests.length = 0;
    await api.close();
  }
}
