import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { azureReceiver } from '../../../lib/index.js';
import {
  KubernetesAdapterError,
  kubernetesAdapter,
  type KubernetesAdapter,
} from '../../../lib/adapters/kubernetes/index.js';
import { admissionRefusal } from '../../../lib/adapters/kubernetes/refresh-patch.js';
import type { RefreshTarget } from '../../../lib/types.js';
import {
  FakeKargoAdmission,
  PROMOTION_WEBHOOK,
  WAREHOUSE_WEBHOOK,
  rbacAuthorizer,
  type RbacDocument,
} from '../../support/fake-kargo-admission.js';
import {
  SERVICE_ACCOUNT_USER,
  chartRbac,
  helmSkipReason,
  namespacedRbac,
} from '../../support/chart.js';
import { FakeKubeApi } from '../../support/fake-kube-api.js';
import { fixtureText } from '../../support/fixtures.js';
import { RecordingLogger } from '../../support/recording-adapter.js';
import {
  FakeSleep,
  PR_URL,
  promotionManifest,
  rejectionOf,
  until,
  warehouseManifest,
} from './helpers.js';

/** The ServiceAccount every role of the chart binds. */
const RECEIVER_USER = SERVICE_ACCOUNT_USER;
const PROMOTION: RefreshTarget = { kind: 'Promotion', namespace: 'kargo-demo', name: 'p1' };
const WAREHOUSE: RefreshTarget = { kind: 'Warehouse', namespace: 'kargo-demo', name: 'w1' };

/** The RBAC the chart renders for each scope (namespaced: the project kargo-demo). */
const SCOPES = {
  'rbac.scope=cluster': (): RbacDocument[] => chartRbac(),
  'rbac.scope=namespaced': (): RbacDocument[] => namespacedRbac(['kargo-demo']),
};
const clusterRbac = SCOPES['rbac.scope=cluster'];

/** The same documents without any rule granting `promote` (the RBAC of earlier releases). */
function withoutPromote(documents: RbacDocument[]): RbacDocument[] {
  return documents.map((d) =>
    d.rules ? { ...d, rules: d.rules.filter((r) => !r.verbs?.includes('promote')) } : d,
  );
}

describe(`Kargo's admission webhooks (fake API server emulating promotion/warehouse webhook.go), with the chart's RBAC${helmSkipReason}`, function () {
  before(function () {
    if (helmSkipReason) this.skip();
  });
  let api: FakeKubeApi;
  let logger: RecordingLogger;
  let adapter: KubernetesAdapter | undefined;

  function start(): KubernetesAdapter {
    adapter = kubernetesAdapter({
      kubeConfig: api.kubeConfig(),
      logger,
      sleep: new FakeSleep().sleep,
      random: () => 0.5,
      promotions: false,
    });
    return adapter;
  }

  function admit(documents: RbacDocument[], exemptUsername?: string): FakeKargoAdmission {
    const admission = new FakeKargoAdmission({
      authorize: rbacAuthorizer(documents),
      ...(exemptUsername ? { exemptUsername } : {}),
    });
    api.admission = admission.hook;
    return admission;
  }

  const patches = (): number => api.requests.filter((r) => r.method === 'PATCH').length;
  const refreshed = (target: RefreshTarget): string | undefined =>
    api.get(target)?.metadata?.annotations?.['kargo.akuity.io/refresh'];

  beforeEach(async function () {
    api = new FakeKubeApi();
    api.username = RECEIVER_USER;
    await api.start();
    logger = new RecordingLogger();
    adapter = undefined;
    api.put(warehouseManifest('kargo-demo', 'w1'));
    api.put(promotionManifest('kargo-demo', 'p1', { waitingOn: PR_URL }));
  });

  afterEach(async function () {
    await adapter?.close();
    await until(() => api.openConnections === 0, 'no connections left');
    await api.close();
  });

  for (const [scope, rbac] of Object.entries(SCOPES)) {
    it(`a Promotion refresh passes with the chart's RBAC, ${scope} (promote on stages/<spec.stage>)`, async function () {
      const admission = admit(rbac());
      await start().refresh(PROMOTION);
      assert.ok(refreshed(PROMOTION));
      assert.deepEqual(admission.calls, [
        {
          webhook: PROMOTION_WEBHOOK,
          namespace: 'kargo-demo',
          name: 'p1',
          username: RECEIVER_USER,
          review: {
            verb: 'promote',
            group: 'kargo.akuity.io',
            resource: 'stages',
            namespace: 'kargo-demo',
            name: 'prod',
          },
          allowed: true,
        },
      ]);
    });

    it(`a Warehouse refresh passes the Warehouse webhook with the chart's RBAC, ${scope}, no promote needed`, async function () {
      const admission = admit(withoutPromote(rbac()));
      await start().refresh(WAREHOUSE);
      assert.ok(refreshed(WAREHOUSE));
      assert.deepEqual(admission.calls, [
        {
          webhook: WAREHOUSE_WEBHOOK,
          namespace: 'kargo-demo',
          name: 'w1',
          username: RECEIVER_USER,
          allowed: true,
        },
      ]);
    });
  }

  it('without promote: refused with 500 InternalError, not retried, the Status message logged', async function () {
    const admission = admit(withoutPromote(clusterRbac()));
    const err = await rejectionOf(start().refresh(PROMOTION));
    assert.ok(err instanceof KubernetesAdapterError);
    assert.deepEqual(
      { code: err.code, status: err.status, kubeStatus: err.kubeStatus, message: err.message },
      {
        code: 'KUBE_ADMISSION_DENIED',
        status: 500,
        kubeStatus: 500,
        message: 'an admission webhook refused the request',
      },
    );
    assert.equal(patches(), 1, 'one PATCH: an admission refusal is not a transient 500');
    assert.equal(refreshed(PROMOTION), undefined);
    assert.equal(admission.calls[0]?.allowed, false);
    assert.equal(adapter?.stats().refreshes.retries, 0);
    const errors = logger.lines.filter((l) => l.level === 'error');
    assert.deepEqual(errors, [
      {
        level: 'error',
        obj: {
          kind: 'Promotion',
          namespace: 'kargo-demo',
          name: 'p1',
          status: 500,
          reason: 'InternalError',
          webhook: PROMOTION_WEBHOOK,
          message: `admission webhook "${PROMOTION_WEBHOOK}" denied the request: Internal error occurred: Promotion.kargo.akuity.io "p1" is forbidden: subject "${RECEIVER_USER}" is not permitted to update Promotions for Stage "prod"`,
        },
        msg: `an admission webhook refused the refresh, not retried: Kargo's Promotion webhook wants the verb "promote" on stages.kargo.akuity.io in namespace kargo-demo (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`,
      },
    ]);
  });

  it("Kargo 1.11+: its own external webhooks server's user skips the promote check", async function () {
    const admission = admit(withoutPromote(clusterRbac()), RECEIVER_USER);
    await start().refresh(PROMOTION);
    assert.ok(refreshed(PROMOTION));
    assert.equal(admission.calls[0]?.review, undefined);
  });

  it('a 500 that is not an admission refusal is still retried', async function () {
    admit(clusterRbac());
    api.fault({ method: 'PATCH', status: 500, times: 2 });
    await start().refresh(PROMOTION);
    assert.equal(patches(), 3);
    assert.ok(refreshed(PROMOTION));
  });

  describe('a merged pull request through azureReceiver (real devops-pr-merged.json payload)', function () {
    const PR = 'https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam/pullrequest/1';
    const TOKEN = 'pull-request-admission-token';

    async function post(documents: RbacDocument[]): Promise<request.Response> {
      admit(documents);
      api.put(promotionManifest('kargo-demo', 'waiting', { waitingOn: PR }));
      adapter = kubernetesAdapter({
        kubeConfig: api.kubeConfig(),
        logger,
        sleep: new FakeSleep().sleep,
        random: () => 0.5,
      });
      await adapter.ready();
      const app = express();
      app.use(
        '/azure',
        azureReceiver({ token: TOKEN, lookup: adapter.lookup, refresh: adapter.refresh }),
      );
      return request(app)
        .post(`/azure/${TOKEN}`)
        .set('Content-Type', 'application/json')
        .send(fixtureText('devops-pr-merged'));
    }

    it("with the chart's RBAC: 200, the Promotion refreshed", async function () {
      const res = await post(clusterRbac());
      assert.deepEqual([res.status, res.body], [200, { msg: 'refreshed 1 promotion(s)' }]);
      assert.ok(
        api.get({ kind: 'Promotion', namespace: 'kargo-demo', name: 'waiting' })?.metadata
          ?.annotations?.['kargo.akuity.io/refresh'],
      );
    });

    it('without promote: 503 (Azure retries while RBAC is fixed), one PATCH, the refusal logged', async function () {
      const res = await post(withoutPromote(clusterRbac()));
      assert.deepEqual(
        [res.status, res.body],
        [503, { error: 'failed to refresh 1 of 1 promotion(s)' }],
      );
      assert.equal(patches(), 1);
      assert.ok(
        logger.lines.some((l) => (l.obj as { webhook?: string }).webhook === PROMOTION_WEBHOOK),
      );
    });
  });

  describe('admissionRefusal', function () {
    const cases: Array<{ name: string; message: string | undefined; expected: unknown }> = [
      {
        name: "Kargo's refusal",
        message:
          'admission webhook "promotion.kargo.akuity.io" denied the request: Internal error occurred: x',
        expected: {
          webhook: 'promotion.kargo.akuity.io',
          message:
            'admission webhook "promotion.kargo.akuity.io" denied the request: Internal error occurred: x',
        },
      },
      {
        name: 'a webhook that could not be called (transient)',
        message:
          'Internal error occurred: failed calling webhook "promotion.kargo.akuity.io": failed to call webhook: connection refused',
        expected: undefined,
      },
      {
        name: 'an etcd failure',
        message: 'Internal error occurred: etcdserver: request timed out',
        expected: undefined,
      },
      { name: 'no message', message: undefined, expected: undefined },
      {
        name: 'control characters are blanked',
        message: 'admission webhook "w" denied the request: a\nb',
        expected: { webhook: 'w', message: 'admission webhook "w" denied the request: a b' },
      },
    ];
    for (const c of cases) {
      it(c.name, function () {
        assert.deepEqual(admissionRefusal(c.message), c.expected);
      });
    }

    it('cuts a long message at 1024 characters', function () {
      const refusal = admissionRefusal(
        `admission webhook "w" denied the request: ${'x'.repeat(2000)}`,
      );
      assert.equal(refusal?.message.length, 1025);
      assert.ok(refusal?.message.endsWith('…'));
    });
  });
});
