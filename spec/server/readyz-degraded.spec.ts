/**
 * `serve` while a watch is down on a failure: still ready (ACR does not
 * retry: a replica out of the Service loses its pushes for sure), and
 * /readyz's body and a metric say which watch and why.
 */
import assert from 'node:assert/strict';
import { defaultServerConfig } from '../../lib/server/server-config.js';
import { createLogger } from '../../lib/server/logging.js';
import { startServer, type RunningServer } from '../../lib/server/serve.js';
import { acrPush } from '../../lib/testing/index.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { warehouseManifest } from '../support/manifests.js';

const TOKEN = 'readyz-degraded-token-0123456789';
const IMAGE = 'myregistry.azurecr.io/hello-world';

describe('startServer /readyz while a watch is down on a failure', function () {
  this.timeout(20_000);
  let api: FakeKubeApi;
  let running: RunningServer;

  before(async () => {
    api = new FakeKubeApi();
    await api.start();
    api.put(
      warehouseManifest('a', 'before', {
        image: { repoURL: IMAGE, imageSelectionStrategy: 'Lexical' },
      }),
    );
    running = await startServer(
      defaultServerConfig({ port: 0, host: '127.0.0.1', tokens: [TOKEN], metricsPort: 0 }),
      { kubeConfig: api.kubeConfig(), logger: createLogger('silent') },
    );
    await running.ready();
  });

  after(async () => {
    await running.close();
    await api.close();
  });

  it('stays ready, says why in /readyz and the watch_failing metric, and answers pushes from live reads', async () => {
    api.fault({ path: '/warehouses', watch: true, status: 403, times: 100_000 });
    // A server-side timeout: the re-watch is refused.
    api.dropWatches({ graceful: true });
    let body: { msg?: string; error?: string } = {};
    for (let i = 0; i < 400 && !body.msg?.startsWith('ready, degraded'); i++) {
      const res = await fetch(`${running.url}/readyz`);
      assert.equal(res.status, 200);
      body = (await res.json()) as typeof body;
      if (!body.msg?.startsWith('ready, degraded')) await new Promise((r) => setTimeout(r, 25));
    }
    assert.match(
      body.msg ?? '',
      /^ready, degraded: the Kubernetes API server http:\/\/127\.0\.0\.1:\d+ \(context "fake"\) refused access to warehouses\.kargo\.akuity\.io \(403 Forbidden\): the context's user or service account lacks an RBAC permission \(see the RBAC of the Helm chart, charts\/kargo-azure-receiver\) \(warehouses watch in every namespace down \d+ s\); lookups confirm by live reads$/,
    );
    const metrics = await (await fetch(running.metricsURL!)).text();
    assert.ok(
      metrics.includes(
        '\nkargo_azure_receiver_watch_failing{resource="warehouses",namespace="*",cause="KUBE_FORBIDDEN"} 1\n',
      ),
      metrics,
    );
    assert.ok(metrics.includes('\nkargo_azure_receiver_ready 1\n'), metrics);

    api.put(
      warehouseManifest('a', 'missed', {
        image: { repoURL: IMAGE, imageSelectionStrategy: 'Lexical' },
      }),
    );
    const res = await fetch(`${running.url}/azure/${TOKEN}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(acrPush({ repository: 'hello-world' })),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { msg: 'refreshed 2 warehouse(s)' });
    const after = await (await fetch(running.metricsURL!)).text();
    assert.ok(after.includes('\nkargo_azure_receiver_live_reads_total 1\n'), after);
    api.clearFaults();
  });
});
