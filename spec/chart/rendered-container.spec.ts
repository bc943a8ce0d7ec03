/**
 * The container the chart renders works as it stands: its args and its
 * environment, given to the real `kargo-azure-receiver` command (a child
 * process), serve the Azure receivers of a Kargo cluster (the fake API
 * server), under exactly the RBAC the same render grants. Only what a pod
 * gets from Kubernetes itself is stood in for: the API server address
 * (a kubeconfig instead of the in-cluster service account) and the ports
 * (--port 0 --metrics-port 0, since flags win over KAR_PORT and
 * KAR_METRICS_PORT, so that parallel runs never collide).
 */
import assert from 'node:assert/strict';
import { kargoToken } from '../../lib/receiver/token.js';
import {
  type RenderOptions,
  type RenderedContainer,
  SERVICE_ACCOUNT_USER,
  chartRbac,
  helmSkipReason,
  renderedPod,
} from '../support/chart.js';
import { rbacAuthorizer } from '../support/fake-kargo-admission.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { fixtureText } from '../support/fixtures.js';
import {
  azure,
  projectConfig,
  secret,
  until,
  warehouse,
  warehousePatches,
} from '../kargo/helpers.js';
import { ServeProcess, TempKubeConfig, waitForStatus } from '../server/cli-harness.js';

const RECEIVER = 'azure-wh-receiver';
const SECRET = 'a-receiver-secret-of-the-chart-spec';

/** The rendered environment as plain variables; a Secret reference would need a cluster, so none may be there. */
function plainEnv(container: RenderedContainer): Record<string, string> {
  const fromSecrets = container.env.filter((e) => e.value === undefined).map((e) => e.name);
  assert.deepEqual(fromSecrets, []);
  return Object.fromEntries(container.env.map((e) => [e.name, e.value!]));
}

/** The URL token of a project's receiver, as Kargo derives it. */
function tokenOf(project: string): string {
  return kargoToken({ project, receiver: RECEIVER, secret: `${SECRET}-${project}` });
}

/** The real ACR push fixture, posted to the receiver of `project`. */
function push(url: string, project: string): Promise<Response> {
  return fetch(`${url}/azure/${tokenOf(project)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: fixtureText('acr-push'),
  });
}

/** A cluster of two Kargo projects, each with an Azure receiver and a subscribed Warehouse. */
function cluster(api: FakeKubeApi): void {
  for (const project of ['kargo-demo', 'other-project']) {
    api.put(secret(project, 'azure-wh-secret', `${SECRET}-${project}`));
    api.put(projectConfig(project, [azure(RECEIVER, 'azure-wh-secret')]));
    api.put(warehouse(project, 'hello-world'));
  }
}

const variants: Array<{ name: string; options: RenderOptions; served: string[] }> = [
  {
    name: 'the defaults (rbac.scope=cluster)',
    options: {},
    served: ['kargo-demo', 'other-project'],
  },
  {
    name: 'rbac.scope=namespaced, namespaces [kargo-demo], kargo.writeStatus',
    options: {
      set: [
        'rbac.scope=namespaced',
        'rbac.namespaces={kargo-demo}',
        'kargo.writeStatus=true',
        'baseURL=https://hooks.example.com',
      ],
    },
    served: ['kargo-demo'],
  },
];

describe(`the chart's rendered container serves the receivers of a cluster${helmSkipReason}`, function () {
  // A child loading @kubernetes/client-node through tsx: seconds alone, more on a loaded machine.
  this.timeout(90_000);
  before(function () {
    if (helmSkipReason) this.skip();
  });

  for (const variant of variants) {
    describe(variant.name, function () {
      let api: FakeKubeApi;
      let kubeconfig: TempKubeConfig;
      let serve: ServeProcess;
      let url: string;
      let metricsURL: string;
      let container: RenderedContainer;

      before(async function () {
        if (helmSkipReason) this.skip();
        container = renderedPod(variant.options).containers[0]!;
        api = new FakeKubeApi();
        api.username = SERVICE_ACCOUNT_USER;
        api.authorize = rbacAuthorizer(chartRbac(variant.options));
        await api.start();
        cluster(api);
        kubeconfig = new TempKubeConfig(api);
        assert.deepEqual(container.args, ['serve']);
        serve = new ServeProcess(
          [...container.args.slice(1), '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1'],
          { ...plainEnv(container), KUBECONFIG: kubeconfig.file },
        );
        ({ url, metricsURL } = (await serve.listening()) as { url: string; metricsURL: string });
      });

      after(async function () {
        await serve?.stop();
        await api?.close();
        kubeconfig?.remove();
      });

      it('becomes ready on the readiness probe’s path, with no RBAC refusal', async function () {
        const probe = container.readinessProbe?.httpGet?.path;
        assert.equal(probe, '/readyz');
        await waitForStatus(`${url}${probe}`, 200, 30_000);
        // A refused request (403) would be logged as a warning or an error.
        assert.deepEqual(
          serve.logs.filter((l) => l.level !== 'info' && l.level !== 'debug').map((l) => l.msg),
          [],
        );
      });

      it('answers an ACR push 200 and refreshes the project’s Warehouse with a PATCH', async function () {
        const res = await push(url, 'kargo-demo');
        assert.deepEqual(
          [res.status, await res.json()],
          [200, { msg: 'refreshed 1 warehouse(s)' }],
        );
        assert.deepEqual(warehousePatches(api), ['kargo-demo/hello-world']);
      });

      it(`serves the receivers of ${variant.served.join(' and ')} only`, async function () {
        const res = await push(url, 'other-project');
        const served = variant.served.includes('other-project');
        assert.deepEqual(
          [res.status, await res.json()],
          served ? [200, { msg: 'refreshed 1 warehouse(s)' }] : [404, { error: 'not found' }],
        );
        assert.deepEqual(
          warehousePatches(api),
          served
            ? ['kargo-demo/hello-world', 'other-project/hello-world']
            : ['kargo-demo/hello-world'],
        );
      });

      if (variant.options.set?.includes('kargo.writeStatus=true')) {
        it('writes the receiver URL into the ProjectConfig status, as KAR_WRITE_STATUS asks', async function () {
          const token = tokenOf('kargo-demo');
          const written = (): unknown =>
            api.get({ kind: 'ProjectConfig', namespace: 'kargo-demo', name: 'kargo-demo' })
              ?.status as unknown;
          await until(() => written() !== undefined, 'the status written');
          assert.equal(
            JSON.stringify(written()).includes(`https://hooks.example.com/azure/${token}`),
            true,
            JSON.stringify(written()),
          );
        });
      }

      it('serves metrics, as the rendered KAR_METRICS_PORT turns them on', async function () {
        const res = await fetch(metricsURL);
        assert.equal(res.status, 200);
        assert.match(await res.text(), /^# HELP /m);
      });
    });
  }
});
