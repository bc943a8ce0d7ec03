import assert from 'node:assert/strict';
import request from 'supertest';
import { memoryAdapter } from '../../lib/index.js';
import type { AzureReceiverOptions } from '../../lib/index.js';
import type { ReceiverEvent, RefreshTarget } from '../../lib/types.js';
import { fixture } from '../support/fixtures.js';
import { warehouse } from '../support/recording-adapter.js';
import { buildReceiverApp } from '../support/receiver-app.js';

const TOKEN = 'c'.repeat(64);
const acrPush = fixture('acr-push');
const PING = { action: 'ping' };

/** An adapter whose calls never finish on their own, and that records the signal of each call. */
class HangingAdapter {
  readonly lookupSignals: (AbortSignal | undefined)[] = [];
  readonly refreshSignals: (AbortSignal | undefined)[] = [];
  targets: RefreshTarget[] = [];
  hangLookup = false;

  readonly lookup = (_event: ReceiverEvent, signal?: AbortSignal): Promise<RefreshTarget[]> => {
    this.lookupSignals.push(signal);
    return this.hangLookup ? new Promise(() => undefined) : Promise.resolve(this.targets);
  };

  readonly refresh = (_target: RefreshTarget, signal?: AbortSignal): Promise<void> => {
    this.refreshSignals.push(signal);
    // Like an adapter that honours the signal: rejects once it aborts.
    return new Promise((_resolve, reject) =>
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
    );
  };
}

function build(adapter: HangingAdapter, options: Partial<AzureReceiverOptions> = {}) {
  return buildReceiverApp(TOKEN, adapter, options);
}

describe('handler: the signal given to adapters', () => {
  it('the deadline aborts the signal of the lookup it gave up on', async () => {
    const adapter = new HangingAdapter();
    adapter.hangLookup = true;
    const { app, logger } = build(adapter, { deadlineMs: 30 });
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.deepEqual(
      [res.status, res.body],
      [503, { error: 'failed to look up subscribed warehouses' }],
    );
    assert.equal(adapter.lookupSignals.length, 1);
    assert.equal(adapter.lookupSignals[0]?.aborted, true);
    const line = logger.lines.find((l) => l.msg === 'lookup did not finish in time');
    assert.deepEqual(line?.obj, { deadlineMs: 30, cause: 'deadline' });
  });

  it('the deadline aborts the signal of every refresh it gave up on, and never starts the queued ones', async () => {
    const adapter = new HangingAdapter();
    adapter.targets = [warehouse('w1'), warehouse('w2'), warehouse('w3'), warehouse('w4')];
    const { app, logger, records } = build(adapter, { deadlineMs: 30, concurrency: 2 });
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.deepEqual(
      [res.status, res.body],
      [503, { error: 'failed to refresh 4 of 4 warehouse(s)' }],
    );
    // One signal for the whole webhook: its lookup and both refreshes that started.
    assert.equal(adapter.refreshSignals.length, 2);
    assert.ok(adapter.refreshSignals.every((s) => s === adapter.lookupSignals[0] && s?.aborted));
    assert.equal(records[0]?.code, 'REFRESH_FAILED');
    // The adapters' abort errors are the deadline's doing: one line, not one per refresh.
    assert.deepEqual(
      logger.lines.filter((l) => l.level === 'error' && l.msg !== 'webhook').map((l) => l.msg),
      ['refreshes did not finish in time'],
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(adapter.refreshSignals.length, 2, 'no queued refresh started after the 503');
  });

  it('a webhook answered in time leaves its signal unaborted', async () => {
    const adapter = new HangingAdapter();
    const { app } = build(adapter, { deadlineMs: 30 });
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.deepEqual(
      [res.status, res.body],
      [
        200,
        {
          msg: 'refreshed 0 warehouse(s)',
          hint: 'no Warehouse of this receiver takes tag "v1" of image myregistry.azurecr.io/hello-world (the adapter cannot say why)',
        },
      ],
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(adapter.lookupSignals[0]?.aborted, false);
  });
});

describe('handler: the shutdown signal (options.signal)', () => {
  it('answers every webhook in flight 503 at once when it aborts, long before the deadline', async () => {
    const adapter = new HangingAdapter();
    adapter.targets = [warehouse('w1')];
    const shutdown = new AbortController();
    const { app, logger } = build(adapter, { deadlineMs: 600_000, signal: shutdown.signal });
    const pending = Array.from({ length: 4 }, () =>
      request(app)
        .post(`/azure/${TOKEN}`)
        .send(acrPush)
        .then((r) => [r.status, r.body]),
    );
    while (adapter.refreshSignals.length < 4) await new Promise((r) => setTimeout(r, 5));
    shutdown.abort();
    assert.deepEqual(
      await Promise.all(pending),
      Array.from({ length: 4 }, () => [503, { error: 'failed to refresh 1 of 1 warehouse(s)' }]),
    );
    assert.ok(adapter.refreshSignals.every((s) => s?.aborted));
    assert.ok(
      logger.lines.some(
        (l) =>
          l.msg === 'refreshes did not finish in time' &&
          (l.obj as { cause?: string }).cause === 'shutdown',
      ),
    );
  });

  it('once aborted, a later webhook gets 503 without calling the adapters; pings still get 200', async () => {
    const adapter = new HangingAdapter();
    const shutdown = new AbortController();
    shutdown.abort();
    const { app } = build(adapter, { signal: shutdown.signal });
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.deepEqual(
      [res.status, res.body],
      [503, { error: 'failed to look up subscribed warehouses' }],
    );
    const ping = await request(app).post(`/azure/${TOKEN}`).send(PING);
    assert.equal(ping.status, 200);
    assert.equal(adapter.lookupSignals.length, 0, 'the adapters were called');
  });

  it('options.signal must be an AbortSignal', () => {
    assert.throws(
      () => build(new HangingAdapter(), { signal: {} as AbortSignal }),
      (err: unknown) =>
        err instanceof TypeError &&
        err.message === '[kargo-azure-receiver] options.signal must be an AbortSignal',
    );
  });
});

describe('memoryAdapter honours the signal', () => {
  it('records no refresh and finds nothing once the signal aborted', async () => {
    const adapter = memoryAdapter({
      warehouses: [
        {
          apiVersion: 'kargo.akuity.io/v1alpha1',
          kind: 'Warehouse',
          metadata: { namespace: 'kargo-demo', name: 'w1' },
          spec: { subscriptions: [{ image: { repoURL: 'myregistry.azurecr.io/hello-world' } }] },
        },
      ],
    });
    const aborted = AbortSignal.abort();
    await assert.rejects(adapter.refresh(warehouse('w1'), aborted), { name: 'AbortError' });
    await assert.rejects(
      adapter.lookup(
        {
          type: 'push',
          source: 'acr',
          eventType: 'push',
          repoURLs: ['myregistry.azurecr.io/hello-world'],
          kinds: ['image'],
          qualifiers: [],
        },
        aborted,
      ),
      { name: 'AbortError' },
    );
    assert.deepEqual(adapter.refreshed, []);
    await adapter.refresh(warehouse('w1'), new AbortController().signal);
    assert.equal(adapter.refreshed.length, 1);
  });
});
