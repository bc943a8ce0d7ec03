import assert from 'node:assert/strict';
import {
  KubernetesAdapterError,
  kubernetesAdapter,
  type KubernetesAdapter,
  type KubernetesAdapterOptions,
} from '../../../lib/adapters/kubernetes/index.js';
import type { RefreshTarget } from '../../../lib/types.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';
import { RecordingLogger } from '../../support/recording-adapter.js';
import {
  FakeSleep,
  PR_URL,
  promotionManifest,
  rejectionOf,
  until,
  warehouseManifest,
} from './helpers.js';

const NOW = new Date('2025-01-02T03:04:05.678Z');
const W1: RefreshTarget = { kind: 'Warehouse', namespace: 'a', name: 'w1' };
const W1_PATH = '/apis/kargo.akuity.io/v1alpha1/namespaces/a/warehouses/w1';

describe('kubernetesAdapter: refresh', function () {
  let api: FakeKubeApi;
  let sleep: FakeSleep;
  let logger: RecordingLogger;
  let adapter: KubernetesAdapter | undefined;

  function start(options: KubernetesAdapterOptions = {}): KubernetesAdapter {
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      logger,
      sleep: sleep.sleep,
      random: () => 0.5,
      now: () => NOW,
      promotions: false,
      ...options,
    });
    return adapter;
  }

  const patches = (): typeof api.requests => api.requests.filter((r) => r.method === 'PATCH');
  const annotation = (target: RefreshTarget): string | undefined =>
    api.get({ kind: target.kind, namespace: target.namespace, name: target.name })?.metadata
      ?.annotations?.['kargo.akuity.io/refresh'];

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    sleep = new FakeSleep();
    logger = new RecordingLogger();
    adapter = undefined;
    api.put(warehouseManifest('a', 'w1'));
    api.put(warehouseManifest('b', 'w2'));
    api.put(promotionManifest('a', 'p1', { waitingOn: PR_URL }));
  });

  afterEach(async function () {
    await adapter?.close();
    await until(() => api.openConnections === 0, 'no connections left');
    await api.close();
  });

  it('sends exactly one merge patch of the refresh annotation, with an RFC 3339 time', async function () {
    const k = start();
    await k.refresh(W1);
    assert.deepEqual(
      patches().map(({ method, path, query, contentType, body }) => ({
        method,
        path,
        query,
        contentType,
        body,
      })),
      [
        {
          method: 'PATCH',
          path: W1_PATH,
          query: {},
          contentType: 'application/merge-patch+json',
          body: {
            metadata: { annotations: { 'kargo.akuity.io/refresh': '2025-01-02T03:04:05.678Z' } },
          },
        },
      ],
    );
    assert.match(
      annotation(W1)!,
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
    );
    assert.deepEqual(
      api.get({ kind: 'Warehouse', namespace: 'b', name: 'w2' })!.metadata?.annotations,
      undefined,
      'the others untouched',
    );
  });

  it('refreshes a Promotion on its own path', async function () {
    const k = start({ promotions: true });
    await k.refresh({ kind: 'Promotion', namespace: 'a', name: 'p1' });
    assert.deepEqual(
      patches().map((r) => r.path),
      ['/apis/kargo.akuity.io/v1alpha1/namespaces/a/promotions/p1'],
    );
    assert.equal(annotation({ kind: 'Promotion', namespace: 'a', name: 'p1' }), NOW.toISOString());
  });

  describe('faults', function () {
    const cases: {
      name: string;
      faults: Parameters<FakeKubeApi['fault']>[0][];
      patches: number;
      delays: number[];
      code?: string;
      annotated: boolean;
      requestTimeoutMs?: number;
    }[] = [
      {
        name: '500 then success → retried after a backoff',
        faults: [{ method: 'PATCH', status: 500 }],
        patches: 2,
        delays: [250],
        annotated: true,
      },
      {
        name: '503 twice then success → growing backoff',
        faults: [{ method: 'PATCH', status: 503, times: 2 }],
        patches: 3,
        delays: [250, 500],
        annotated: true,
      },
      {
        name: '429 with Retry-After: 3 → waits 3 s',
        faults: [{ method: 'PATCH', status: 429, retryAfterSeconds: 3 }],
        patches: 2,
        delays: [3000],
        annotated: true,
      },
      {
        name: '429 with a huge Retry-After → capped',
        faults: [{ method: 'PATCH', status: 429, retryAfterSeconds: 3600 }],
        patches: 2,
        delays: [30_000],
        annotated: true,
      },
      {
        name: 'a network error → retried',
        faults: [{ method: 'PATCH', destroy: true }],
        patches: 2,
        delays: [250],
        annotated: true,
      },
      {
        name: 'a slow answer → timed out and retried',
        faults: [{ method: 'PATCH', delayMs: 10_000 }],
        patches: 2,
        delays: [250],
        annotated: true,
        requestTimeoutMs: 500, // well below the fault's delay, above a loaded machine's first request
      },
      {
        name: '500 for ever → KUBE_UNAVAILABLE after 4 attempts',
        faults: [{ method: 'PATCH', status: 500, times: 10 }],
        patches: 4,
        delays: [250, 500, 1000],
        code: 'KUBE_UNAVAILABLE',
        annotated: false,
      },
      {
        name: '403 → KUBE_FORBIDDEN, not retried',
        faults: [{ method: 'PATCH', status: 403 }],
        patches: 1,
        delays: [],
        code: 'KUBE_FORBIDDEN',
        annotated: false,
      },
      {
        name: '422 → KUBE_REJECTED, not retried',
        faults: [{ method: 'PATCH', status: 422 }],
        patches: 1,
        delays: [],
        code: 'KUBE_REJECTED',
        annotated: false,
      },
    ];
    for (const c of cases) {
      it(c.name, async function () {
        for (const fault of c.faults) api.fault(fault);
        const k = start(c.requestTimeoutMs ? { requestTimeoutMs: c.requestTimeoutMs } : {});
        // A 30 ms deadline also bounds the list pages: on a busy machine the first may time out.
        await k.ready();
        sleep.delays.length = 0;
        const outcome = await k.refresh(W1).then(
          () => undefined,
          (err: unknown) => err,
        );
        if (c.code) {
          assert.ok(outcome instanceof KubernetesAdapterError, String(outcome));
          assert.equal(outcome.code, c.code);
        } else assert.equal(outcome, undefined);
        assert.equal(patches().length, c.patches);
        assert.deepEqual(sleep.delays, c.delays);
        assert.equal(annotation(W1) !== undefined, c.annotated);
        assert.ok(!logger.text().includes('HTTP-Code'), 'no ApiException text in the logs');
        assert.ok(!logger.text().includes('"Body'), 'no response body in the logs');
      });
    }
  });

  it('403: rejects with a fixed message, logs the missing verb and resource, never the Status text', async function () {
    api.fault({ method: 'PATCH', status: 403 });
    const k = start();
    const err = await rejectionOf(k.refresh(W1));
    assert.ok(err instanceof KubernetesAdapterError);
    assert.equal(err.message, 'the Kubernetes API refused the request: missing RBAC permission');
    assert.equal(err.code, 'KUBE_FORBIDDEN');
    assert.equal(err.kubeStatus, 403);
    const line = logger.lines.find((l) => l.level === 'error')!;
    assert.equal(
      line.msg,
      'forbidden: grant the verb "patch" on warehouses.kargo.akuity.io in namespace a to this service account (see the RBAC of the Helm chart, charts/kargo-azure-receiver)',
    );
    assert.deepEqual(line.obj, {
      kind: 'Warehouse',
      namespace: 'a',
      name: 'w1',
      status: 403,
      reason: 'Forbidden',
      verb: 'patch',
      resource: 'warehouses.kargo.akuity.io',
    });
    assert.ok(!logger.text().includes('system:serviceaccount'));
  });

  it('404 (deleted meanwhile) is success, logged at debug', async function () {
    const k = start();
    await k.refresh({ kind: 'Warehouse', namespace: 'a', name: 'gone' });
    assert.equal(patches().length, 1);
    assert.equal(k.stats().refreshes.notFound, 1);
    assert.ok(
      logger.lines.some(
        (l) => l.level === 'debug' && l.msg === 'already deleted, nothing to refresh',
      ),
    );
  });

  it('coalesces N concurrent refreshes of one object into exactly one PATCH', async function () {
    const k = start();
    await Promise.all(Array.from({ length: 20 }, () => k.refresh(W1)));
    assert.equal(patches().length, 1);
    assert.equal(k.stats().refreshes.coalesced, 19);
  });

  it('a refresh arriving while the PATCH is on the wire gets exactly one follow-up PATCH, shared', async function () {
    api.fault({ method: 'PATCH', delayMs: 50 });
    const k = start();
    const first = k.refresh(W1);
    await until(() => patches().length === 1, 'the first PATCH on the wire');
    const late = Array.from({ length: 10 }, () => k.refresh(W1));
    await Promise.all([first, ...late]);
    assert.equal(patches().length, 2);
    assert.equal(k.stats().refreshes.patches, 2);
  });

  it('does not coalesce different objects, and bounds concurrency', async function () {
    api.put(warehouseManifest('a', 'w3'));
    api.fault({ method: 'PATCH', delayMs: 300 }); // outlasts 50 turns of a loaded event loop
    const k = start({ concurrency: 1 });
    const all = Promise.all([
      k.refresh(W1),
      k.refresh({ kind: 'Warehouse', namespace: 'b', name: 'w2' }),
      k.refresh({ kind: 'Warehouse', namespace: 'a', name: 'w3' }),
    ]);
    await until(() => patches().length === 1, 'the first PATCH');
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(patches().length, 1, 'the others wait for the one in flight');
    await all;
    assert.deepEqual(
      patches().map((r) => r.path),
      [
        '/apis/kargo.akuity.io/v1alpha1/namespaces/a/warehouses/w1',
        '/apis/kargo.akuity.io/v1alpha1/namespaces/b/warehouses/w2',
        '/apis/kargo.akuity.io/v1alpha1/namespaces/a/warehouses/w3',
      ],
    );
  });

  it('refuses targets outside scoped() namespaces and outside the adapter namespaces, without a request', async function () {
    const k = start({ namespace: ['a', 'b'] });
    const err = await rejectionOf(
      k.scoped(['a']).refresh({ kind: 'Warehouse', namespace: 'b', name: 'w2' }),
    );
    assert.equal((err as KubernetesAdapterError).code, 'KUBE_OUT_OF_SCOPE');
    const err2 = await rejectionOf(k.refresh({ kind: 'Warehouse', namespace: 'c', name: 'x' }));
    assert.equal((err2 as KubernetesAdapterError).code, 'KUBE_OUT_OF_SCOPE');
    assert.equal(patches().length, 0);
    await k.scoped(['a']).refresh(W1);
    assert.equal(patches().length, 1);
  });

  it('close() ends a refresh waiting to retry with KUBE_CLOSED', async function () {
    api.fault({ method: 'PATCH', status: 429, retryAfterSeconds: 30 });
    sleep.gate();
    const k = start();
    const pending = k.refresh(W1);
    await until(() => sleep.waiting === 1, 'the retry wait');
    await k.close();
    const err = await rejectionOf(pending);
    assert.equal((err as KubernetesAdapterError).code, 'KUBE_CLOSED');
    assert.equal(patches().length, 1);
  });

  it('a changed annotation reaches the watchers as MODIFIED', async function () {
    const k = start();
    await k.ready();
    const rv = Number(api.resourceVersion);
    await k.refresh(W1);
    assert.equal(Number(api.resourceVersion), rv + 1);
    assert.equal(
      api.get({ kind: 'Warehouse', namespace: 'a', name: 'w1' })!.metadata?.resourceVersion,
      String(rv + 1),
    );
  });
});
