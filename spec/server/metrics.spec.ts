import assert from 'node:assert/strict';
import { ServerMetrics, type AdapterStatsLike } from '../../lib/server/metrics.js';
import type { WebhookRecord } from '../../lib/receiver/options.js';
import type { PushEvent, RefreshTarget } from '../../lib/types.js';

const PUSH: PushEvent = {
  type: 'push',
  source: 'acr',
  eventType: 'push',
  repoURLs: ['r.example.com/app'],
  kinds: ['image'],
  qualifiers: [],
};
const TARGET: RefreshTarget = { kind: 'Warehouse', namespace: 'ns', name: 'w' };

function record(overrides: Partial<WebhookRecord>): WebhookRecord {
  return {
    outcome: 'refreshed',
    status: 200,
    matched: 0,
    refreshed: 0,
    failed: 0,
    durationMs: 12,
    ...overrides,
  };
}

/** The sample lines of the exposition, without HELP/TYPE comments. */
async function samples(metrics: ServerMetrics): Promise<string[]> {
  return (await metrics.registry.metrics()).split('\n').filter((l) => l && !l.startsWith('#'));
}

describe('ServerMetrics', () => {
  it('counts webhooks by source, bounded event type and status, and refreshes by result', async () => {
    const metrics = new ServerMetrics({ defaultMetrics: false });
    const token = 'a'.repeat(64);
    metrics.onWebhook(
      record({
        source: 'acr',
        eventType: 'push',
        matched: 2,
        refreshed: 1,
        failed: 1,
        status: 503,
        outcome: 'failed',
      }),
    );
    metrics.onWebhook(record({ source: 'azure-devops', eventType: token, outcome: 'ignored' }));
    metrics.onWebhook(record({ outcome: 'not-found', status: 404 }));
    metrics.onWebhook(record({ source: 'elsewhere' as 'acr', eventType: 'git.push', status: 42 }));
    const lines = await samples(metrics);
    for (const expected of [
      'kargo_azure_receiver_webhook_requests_total{source="acr",event="push",status="503"} 1',
      'kargo_azure_receiver_webhook_requests_total{source="azure-devops",event="other",status="200"} 1',
      'kargo_azure_receiver_webhook_requests_total{source="none",event="none",status="404"} 1',
      'kargo_azure_receiver_webhook_requests_total{source="other",event="git.push",status="other"} 1',
      'kargo_azure_receiver_refreshes_total{result="success"} 1',
      'kargo_azure_receiver_refreshes_total{result="failure"} 1',
      'kargo_azure_receiver_webhook_duration_seconds_count{source="acr"} 1',
    ]) {
      assert.ok(lines.includes(expected), `missing: ${expected}`);
    }
    assert.ok(!lines.join('\n').includes(token));
  });

  it('times lookups and refreshes of a wrapped adapter, failures included', async () => {
    const metrics = new ServerMetrics({ defaultMetrics: false });
    let fail = false;
    const wrapped = metrics.instrument({
      lookup: async () => {
        if (fail) throw new Error('lookup down');
        return [TARGET];
      },
      refresh: async () => {
        if (fail) throw new Error('refresh down');
      },
    });
    assert.deepEqual(await wrapped.lookup(PUSH), [TARGET]);
    await wrapped.refresh(TARGET);
    fail = true;
    await assert.rejects(wrapped.lookup(PUSH), /lookup down/);
    await assert.rejects(wrapped.refresh(TARGET), /refresh down/);
    const lines = await samples(metrics);
    for (const name of ['lookup', 'refresh']) {
      for (const result of ['success', 'failure']) {
        assert.ok(
          lines.includes(
            `kargo_azure_receiver_${name}_duration_seconds_count{result="${result}"} 1`,
          ),
          `${name} ${result}`,
        );
      }
    }
  });

  it('reads watch and cache figures from adapter stats at each scrape, summed over adapters', async () => {
    const metrics = new ServerMetrics({ defaultMetrics: false });
    let restarts = 1;
    const stats = (): AdapterStatsLike => ({
      ready: true,
      warehouses: 3,
      promotions: 1,
      watchRestarts: restarts,
      watchErrors: 2,
      expired: 1,
      refreshes: { patches: 5, retries: 1, coalesced: 2 },
    });
    metrics.addAdapterStats(stats);
    metrics.addAdapterStats(stats);
    metrics.addAdapterStats(() => undefined);
    let ready = false;
    metrics.setStatus({ ready: () => ready, receivers: () => 4 });
    let lines = await samples(metrics);
    for (const expected of [
      'kargo_azure_receiver_watch_restarts_total 2',
      'kargo_azure_receiver_watch_errors_total 4',
      'kargo_azure_receiver_watch_expired_total 2',
      'kargo_azure_receiver_refresh_patches_total 10',
      'kargo_azure_receiver_refresh_coalesced_total 4',
      'kargo_azure_receiver_cache_objects{kind="warehouse"} 6',
      'kargo_azure_receiver_cache_objects{kind="promotion"} 2',
      'kargo_azure_receiver_ready 0',
      'kargo_azure_receiver_receivers 4',
    ]) {
      assert.ok(lines.includes(expected), `missing: ${expected}`);
    }
    restarts = 5;
    ready = true;
    lines = await samples(metrics);
    assert.ok(lines.includes('kargo_azure_receiver_watch_restarts_total 10'));
    assert.ok(lines.includes('kargo_azure_receiver_ready 1'));
  });

  it('includes Node process metrics by default', async () => {
    const text = await new ServerMetrics().registry.metrics();
    assert.match(text, /^process_cpu_seconds_total /m);
  });
});
