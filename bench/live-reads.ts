/**
 * What a watch down on a failure costs the API server, against a steady
 * cluster whose watches restart routinely, in the same run: the same
 * receiver, adapter and webhooks (autocannon, real ACR push payload).
 *   - steady: every watch ends after ~1-2 s (server-side `timeoutSeconds`)
 *     and the history is compacted every second (410, then a re-list): the
 *     lookups must make 0 live reads.
 *   - outage: the Warehouse watch is refused (403), lists still answer:
 *     each lookup confirms with a live paged list; concurrent lookups share one.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { postJSONLoad } from './http.js';
import { azureReceiver, kargoToken, kubernetesAdapter } from '../lib/index.js';
import { fixtureText } from '../spec/support/fixtures.js';
import { seededApi } from './kubernetes.js';

export interface LiveReadRow {
  name: string;
  webhooks: number;
  reqPerSec: number;
  p99ms: number;
  /** Live list requests the lookups made. */
  liveReads: number;
  liveReadsPerWebhook: number;
  /** Watches started again during the run (routine or not). */
  watchRestarts: number;
  /** Re-lists of the watchers themselves (after 410). */
  relists: number;
}

export async function benchLiveReads(
  warehouses: number,
  durationSec: number,
): Promise<LiveReadRow[]> {
  const api = await seededApi(warehouses);
  const adapter = kubernetesAdapter({
    kubeConfig: api.kubeConfig(),
    promotions: false,
    // Server-side timeouts every 1-2 s: watches restart every few seconds at most.
    watchTimeoutSeconds: 1,
    watchBackoff: { initialMs: 50, maxMs: 200 },
  });
  await adapter.ready();
  const token = kargoToken({ project: 'p', receiver: 'r', secret: 'bench' });
  const app = express();
  app.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/azure/${token}`;
  const body = fixtureText('acr-push');

  async function run(name: string): Promise<LiveReadRow> {
    const before = adapter.stats();
    const result = await postJSONLoad(url, body, durationSec, 8);
    if (result.non2xx > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers`);
    const after = adapter.stats();
    const webhooks = result.requests.total;
    const liveReads = after.liveReads - before.liveReads;
    return {
      name,
      webhooks,
      reqPerSec: Math.round(result.requests.average),
      p99ms: result.latency.p99,
      liveReads,
      liveReadsPerWebhook: Number((liveReads / Math.max(1, webhooks)).toFixed(3)),
      watchRestarts: after.watchRestarts - before.watchRestarts,
      relists: after.lists - before.lists,
    };
  }

  try {
    // Compaction every second: 410 inside the stream, then a re-list that succeeds.
    const compaction = setInterval(() => api.expireHistory({ dropWatches: true }), 1000);
    let steady: LiveReadRow;
    try {
      steady = await run('steady, watches restarting (timeouts, 410 + re-list)');
    } finally {
      clearInterval(compaction);
    }
    api.fault({ path: '/warehouses', watch: true, status: 403, times: 1_000_000 });
    api.dropWatches({ graceful: true });
    const deadline = Date.now() + 5000;
    while (adapter.stats().failing.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    if (adapter.stats().failing.length === 0) throw new Error('the watch never failed');
    const outage = await run('outage: watch refused (403), lists answer');
    api.clearFaults();
    return [steady, outage];
  } finally {
    server.close();
    await adapter.close();
    api.requests.length = 0;
    await api.close();
  }
}
