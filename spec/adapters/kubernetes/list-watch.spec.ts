/**
 * The list/watch protocol against a fake API server that behaves like a real
 * one (paged lists with expiring continue tokens, periodic bookmarks, silent
 * watches, Retry-After, an outage), through the real client code.
 */
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { ResourceWatcher } from '../../../lib/adapters/kubernetes/index.js';
import { USER_AGENT } from '../../../lib/kube/http.js';
import {
  FakeKubeApi,
  statusObject,
  type FakeKubeApiOptions,
  type KubeObject,
} from '../../support/fake-kube-api.js';
import { RecordingLogger } from '../../support/recording-adapter.js';
import { FakeSleep, until, warehouseManifest } from './helpers.js';

const WAREHOUSES = { group: 'kargo.akuity.io', version: 'v1alpha1', plural: 'warehouses' };

describe('ResourceWatcher against a real-like API server', function () {
  let api: FakeKubeApi;
  let sleep: FakeSleep;
  let watcher: ResourceWatcher<KubeObject> | undefined;

  async function startApi(options: FakeKubeApiOptions = {}, warehouses = 0): Promise<void> {
    api = new FakeKubeApi(options);
    await api.start();
    for (let i = 0; i < warehouses; i++) api.put(warehouseManifest(`ns-${i % 7}`, `w-${i}`));
  }

  function watch(
    extra: Partial<ConstructorParameters<typeof ResourceWatcher<KubeObject>>[0]> = {},
  ): { watcher: ResourceWatcher<KubeObject>; upserts: string[]; logger: RecordingLogger } {
    const upserts: string[] = [];
    const logger = new RecordingLogger();
    watcher = new ResourceWatcher<KubeObject>({
      kubeConfig: api.kubeConfig(),
      resource: WAREHOUSES,
      logger,
      sleep: sleep.sleep,
      random: () => 0.5,
      backoff: { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0 },
      onUpsert: (obj) => upserts.push(`${obj.metadata?.namespace}/${obj.metadata?.name}`),
      onDelete: () => undefined,
      ...extra,
    });
    watcher.start();
    return { watcher, upserts, logger };
  }

  const lists = (): { limit?: string; continue?: string; resourceVersion?: string }[] =>
    api.requestsTo('GET', '/warehouses', { watch: false }).map((r) => r.query);

  beforeEach(function () {
    sleep = new FakeSleep();
    watcher = undefined;
  });

  afterEach(async function () {
    sleep.release();
    await watcher?.close();
    await api.close();
  });

  it('lists in pages of 500 following continue, without resourceVersion=0, then watches from the list', async function () {
    await startApi({}, 1201);
    const { upserts } = watch();
    await watcher!.ready;
    assert.equal(upserts.length, 1201);
    assert.equal(new Set(upserts).size, 1201);
    const pages = lists();
    assert.equal(pages.length, 3);
    assert.deepEqual(
      pages.map((q) => [q.limit, q.continue === undefined, q.resourceVersion]),
      [
        ['500', true, undefined],
        ['500', false, undefined],
        ['500', false, undefined],
      ],
    );
    assert.equal(watcher!.stats().pages, 3);
    await until(() => api.openWatches === 1, 'the watch');
    assert.equal(api.requests.find((r) => r.watch)!.query.resourceVersion, api.resourceVersion);
  });

  it('restarts the list when its continue token expired (410) between two pages', async function () {
    await startApi({}, 1100);
    let expired = false;
    const { upserts, logger } = watch({
      onUpsert: (obj) => {
        upserts.push(`${obj.metadata?.namespace}/${obj.metadata?.name}`);
        if (upserts.length === 500 && !expired) {
          expired = true;
          api.put(warehouseManifest('late', 'arrival')); // the restarted list must see it
          api.expireContinueTokens();
        }
      },
    });
    await watcher!.ready;
    const pages = lists();
    // page 1, page 2 refused with 410, then a fresh list of 3 pages.
    assert.equal(pages.length, 5);
    assert.equal(pages[2]!.continue, undefined);
    assert.equal(watcher!.stats().listRestarts, 1);
    assert.equal(watcher!.stats().objects, 1101);
    assert.ok(upserts.includes('late/arrival'));
    assert.deepEqual(sleep.delays, [], 'a restart needs no backoff');
    assert.ok(logger.text().includes('list continue token expired'));
  });

  it('restarts a list whose continue tokens keep expiring (TTL) a few times at once, then backs off', async function () {
    await startApi({ continueTtlMs: 0 }, 600);
    let count = 0;
    watch({
      onUpsert: () => {
        // Each first page takes a little while: its token is older than the TTL by the next page.
        if (count++ % 500 === 0) {
          const until = Date.now() + 2;
          while (Date.now() < until);
        }
      },
    });
    await until(() => sleep.delays.length >= 1, 'a backoff');
    const { listRestarts, expired } = watcher!.stats();
    assert.ok(listRestarts >= 6, `restarts: ${listRestarts}`);
    assert.ok(expired >= 2, `expired: ${expired}`);
    assert.equal(sleep.delays[0], 1000);
  });

  it('retries a list page refused with 429 Retry-After after that wait, with the same continue token', async function () {
    await startApi({}, 700);
    let injected = false;
    watch({
      onUpsert: () => {
        if (!injected) {
          injected = true;
          api.fault({ path: '/warehouses', watch: false, status: 429, retryAfterSeconds: 3 });
        }
      },
    });
    await watcher!.ready;
    const pages = lists();
    assert.equal(pages.length, 3);
    assert.equal(pages[1]!.continue, pages[2]!.continue);
    assert.ok(pages[1]!.continue);
    assert.deepEqual(sleep.delays, [3000]);
    assert.equal(watcher!.stats().errors, 0);
  });

  it('waits the Retry-After of a refused watch rather than its shorter backoff (capped by maxRetryAfterMs)', async function () {
    await startApi({}, 1);
    api.fault({ path: '/warehouses', watch: true, status: 503, retryAfterSeconds: 7 });
    api.fault({ path: '/warehouses', watch: true, status: 429, retryAfterSeconds: 600 });
    watch({ maxRetryAfterMs: 60_000 });
    await watcher!.ready;
    await until(() => api.openWatches === 1, 'the third watch');
    assert.deepEqual(sleep.delays, [7000, 60_000]);
  });

  it('honours retryAfterSeconds of an ERROR Status inside a 200 watch stream', async function () {
    await startApi({}, 1);
    watch();
    await watcher!.ready;
    await until(() => api.openWatches === 1, 'the watch');
    api.failWatches(
      statusObject(504, 'Too large resource version: 200, current: 101', {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 4,
      }),
    );
    await until(() => sleep.delays.length === 1, 'the wait');
    assert.deepEqual(sleep.delays, [4000]);
    assert.equal(watcher!.stats().lists, 1, 'not a 410: no re-list');
  });

  it('a quiet watch kept alive by bookmarks is not replaced; a silent one is, within its idle timeout', async function () {
    await startApi({ bookmarkIntervalMs: 5 }, 1);
    watch({ watchIdleTimeoutMs: 100 });
    await watcher!.ready;
    await until(() => api.openWatches === 1, 'the watch');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(api.requests.filter((r) => r.watch).length, 1, 'bookmarks keep it alive');
    assert.equal(watcher!.stats().errors, 0);

    api.silenceWatches();
    api.put(warehouseManifest('a', 'after-silence'));
    await until(() => api.requests.filter((r) => r.watch).length === 2, 'a new watch');
    await until(() => watcher!.stats().objects === 2, 'the event the silent watch lost');
    assert.equal(watcher!.stats().errors, 1);
    assert.equal(watcher!.stats().lists, 1, 'no re-list: the new watch resumes');
  });

  it('survives an API server that is down for a while, and resumes from its resourceVersion', async function () {
    await startApi({}, 2);
    let now = 5_000;
    watch({ now: () => now });
    await watcher!.ready;
    await until(() => api.openWatches === 1, 'the watch');
    assert.equal(watcher!.outOfSyncMs(), 0);
    sleep.gate();
    api.down();
    for (let i = 1; i <= 3; i++) {
      await until(() => sleep.waiting === 1, `failure ${i}`);
      now += 10_000;
      sleep.release();
      sleep.gate();
    }
    await until(() => sleep.waiting === 1, 'the fourth failure');
    assert.equal(watcher!.outOfSyncMs(), 30_000);
    assert.deepEqual(sleep.delays, [1000, 2000, 4000, 8000]);
    api.put(warehouseManifest('a', 'during-outage'));
    api.up();
    sleep.release();
    await until(() => watcher!.stats().objects === 3, 'the missed event');
    assert.equal(watcher!.outOfSyncMs(), 0);
    assert.equal(watcher!.stats().lists, 1);
  });

  it('sends its User-Agent and reuses one keep-alive connection for the list and the watches', async function () {
    await startApi({}, 3);
    watch();
    await watcher!.ready;
    await until(() => api.openWatches === 1, 'the watch');
    api.dropWatches({ graceful: true }); // the server ends the watch: the connection stays usable
    await until(() => api.requests.filter((r) => r.watch).length === 2, 'the second watch');
    assert.match(USER_AGENT, /^kargo-azure-receiver\/\d+\.\d+\.\d+/);
    assert.ok(api.requests.every((r) => r.userAgent === USER_AGENT));
    assert.equal(api.connectionsAccepted, 1);
    await watcher!.close();
    await until(() => api.openConnections === 0, 'close() closes the pool');
  });

  it('keeps its pool when the KubeConfig rebuilds equal TLS settings per request (CA data read each time)', async function () {
    await startApi({}, 1);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [
        {
          name: 'fake',
          server: api.url,
          skipTLSVerify: true,
          caData: Buffer.from('not used over http').toString('base64'),
        },
      ],
      users: [{ name: 'fake', token: api.bearerToken }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    watch({ kubeConfig });
    await watcher!.ready;
    await until(() => api.openWatches === 1, 'the watch');
    api.dropWatches({ graceful: true });
    await until(() => api.requests.filter((r) => r.watch).length === 2, 'the second watch');
    assert.equal(api.connectionsAccepted, 1);
  });
});
