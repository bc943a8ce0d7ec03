import assert from 'node:assert/strict';
import { kargoToken } from '../../lib/receiver/token.js';
import { FakeKubeApi, type KubeObject } from '../support/fake-kube-api.js';
import { fixtureText } from '../support/fixtures.js';
import { warehouseManifest } from '../support/manifests.js';
import {
  ServeProcess,
  TempKubeConfig,
  runCli,
  waitForStatus,
  type RunResult,
} from './cli-harness.js';

const IMAGE = 'myregistry.azurecr.io/hello-world'; // the repository of spec/fixtures/azure/acr-push.json
const SECRET = 'a-receiver-secret-of-the-tests';
const RECEIVER = 'azure-wh-receiver';
/** The second factor of the single receiver, through the environment (values to never see again). */
const PASSWORD = 'basic-password-of-the-serve-spec';
const HEADER_VALUE = 'header-value-of-the-serve-spec';
const FACTOR = {
  Authorization: `Basic ${Buffer.from(`azure-devops:${PASSWORD}`).toString('base64')}`,
  'X-Kargo-Key': HEADER_VALUE,
};
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A Warehouse on `image` with the Lexical strategy: the fixture's tag `v1` is not strict semver. */
function warehouse(namespace: string, name: string, image = IMAGE): KubeObject {
  return warehouseManifest(namespace, name, {
    image: { repoURL: image, imageSelectionStrategy: 'Lexical' },
  });
}

function seed(api: FakeKubeApi): void {
  api.put(warehouse('kargo-demo', 'hello-world'));
  api.put(warehouse('kargo-demo', 'unrelated', 'myregistry.azurecr.io/other'));
  // Same repository, another project: never refreshed by kargo-demo's receiver.
  api.put(warehouse('other-project', 'hello-world'));
}

async function post(
  url: string,
  payload: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: fixtureText(payload),
  });
  return { status: res.status, body: await res.json() };
}

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}

/** The value of one series (`name{labels}` as exposed) on the metrics endpoint. */
async function counter(metricsURL: string, series: string): Promise<number> {
  const text = await (await fetch(metricsURL)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 0);
}

/** The one PATCH the fake received for a Warehouse, checked to be Kargo's refresh. */
function assertRefreshPatch(api: FakeKubeApi, namespace: string, name: string): void {
  const patches = api.requestsTo('PATCH', '/warehouses/');
  assert.deepEqual(
    patches.map((p) => [p.path, p.contentType]),
    [
      [
        `/apis/kargo.akuity.io/v1alpha1/namespaces/${namespace}/warehouses/${name}`,
        'application/merge-patch+json',
      ],
    ],
  );
  const body = patches[0]!.body as { metadata: { annotations: Record<string, string> } };
  assert.deepEqual(Object.keys(body), ['metadata']);
  assert.deepEqual(Object.keys(body.metadata), ['annotations']);
  assert.deepEqual(Object.keys(body.metadata.annotations), ['kargo.akuity.io/refresh']);
  assert.match(body.metadata.annotations['kargo.akuity.io/refresh']!, RFC3339);
}

interface KargoEnv {
  api: FakeKubeApi;
  kubeconfig: TempKubeConfig;
  serve: ServeProcess;
  urlsRun: Promise<RunResult>;
}

/** Two projects with a ProjectConfig and a Secret each; `serve` and `urls` started on them. */
async function startKargoEnv(): Promise<KargoEnv> {
  const api = new FakeKubeApi();
  await api.start();
  seed(api);
  for (const project of ['kargo-demo', 'other-project']) {
    api.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        namespace: project,
        name: 'azure-wh-secret',
        labels: { 'kargo.akuity.io/cred-type': 'generic' },
      },
      data: { secret: Buffer.from(`${SECRET}-${project}`).toString('base64') },
    });
    api.put({
      apiVersion: 'kargo.akuity.io/v1alpha1',
      kind: 'ProjectConfig',
      metadata: { namespace: project, name: project },
      spec: {
        webhookReceivers: [{ name: RECEIVER, azure: { secretRef: { name: 'azure-wh-secret' } } }],
      },
    });
  }
  const kubeconfig = new TempKubeConfig(api);
  const serve = new ServeProcess(
    ['--port', '0', '--host', '127.0.0.1', '--base-url', 'https://hooks.example.com/kargo'],
    {
      KUBECONFIG: kubeconfig.file,
    },
  );
  const urlsRun = runCli(['urls', '--base-url', 'https://hooks.example.com/kargo'], {
    KUBECONFIG: kubeconfig.file,
  });
  return { api, kubeconfig, serve, urlsRun };
}

async function stopKargoEnv(env: KargoEnv): Promise<void> {
  await Promise.allSettled([env.serve.stop(), env.urlsRun]);
  await env.api.close();
  env.kubeconfig.remove();
}

describe('kargo-azure-receiver serve (the real command, as a child process)', function () {
  // Each child loads @kubernetes/client-node through tsx: a few seconds alone,
  // 35 s for three at once on a shared machine (see ServeProcess.listening).
  this.timeout(90_000);
  // Every child process starts at once: their start-up dominates the run time.
  let kargoEnv: Promise<KargoEnv>;
  before(() => {
    kargoEnv = startKargoEnv();
  });
  after(async () => {
    await stopKargoEnv(await kargoEnv);
  });

  describe('a single receiver from --secret, --project and --receiver', () => {
    const token = kargoToken({ project: 'kargo-demo', receiver: RECEIVER, secret: SECRET });
    let api: FakeKubeApi;
    let kubeconfig: TempKubeConfig;
    let serve: ServeProcess;
    let url: string;
    let metricsURL: string;

    before(async () => {
      api = new FakeKubeApi();
      await api.start();
      seed(api);
      // The initial Warehouse list is slow, so /readyz can be seen answering 503 first.
      api.fault({ method: 'GET', path: '/warehouses', watch: false, delayMs: 1500 });
      kubeconfig = new TempKubeConfig(api);
      serve = new ServeProcess(
        [
          '--port',
          '0',
          '--host',
          '127.0.0.1',
          '--metrics-port',
          '0',
          '--log-level',
          'debug',
          '--project',
          'kargo-demo',
          '--receiver',
          RECEIVER,
        ],
        // The secret and the second factor through the environment, as the Deployment does.
        {
          KUBECONFIG: kubeconfig.file,
          KAR_SECRET: SECRET,
          KAR_BASIC_AUTH: `azure-devops:${PASSWORD}`,
          KAR_HEADERS: `X-Kargo-Key: ${HEADER_VALUE}`,
          KAR_SHUTDOWN_TIMEOUT: '1',
        },
      );
      ({ url, metricsURL } = (await serve.listening()) as { url: string; metricsURL: string });
    });

    after(async () => {
      await serve.stop();
      await api.close();
      kubeconfig.remove();
    });

    it('answers /healthz at once and /readyz 503 until the initial list completes, then 200', async () => {
      assert.deepEqual(await get(`${url}/healthz`), { status: 200, body: { msg: 'ok' } });
      assert.deepEqual(await get(`${url}/readyz`), {
        status: 503,
        body: { error: 'not ready: Kubernetes caches not synced yet' },
      });
      await waitForStatus(`${url}/readyz`, 200);
      assert.deepEqual(await get(`${url}/readyz`), { status: 200, body: { msg: 'ready' } });
      await serve.waitForLog((l) => l.msg === 'ready: caches synced');
    });

    it("refreshes the project's subscribed Warehouse on a real ACR push, with Kargo's merge patch", async () => {
      assert.deepEqual(await post(`${url}/azure/${token}`, 'acr-push', FACTOR), {
        status: 200,
        body: { msg: 'refreshed 1 warehouse(s)' },
      });
      assertRefreshPatch(api, 'kargo-demo', 'hello-world');
      assert.ok(
        api.get({ kind: 'Warehouse', namespace: 'kargo-demo', name: 'hello-world' })?.metadata
          ?.annotations?.['kargo.akuity.io/refresh'],
      );
      assert.equal(
        api.get({ kind: 'Warehouse', namespace: 'other-project', name: 'hello-world' })?.metadata
          ?.annotations,
        undefined,
      );
    });

    it('answers 404 for any other token, and probes are outside the token path', async () => {
      assert.deepEqual(await post(`${url}/azure/${'0'.repeat(64)}`, 'acr-push'), {
        status: 404,
        body: { error: 'not found' },
      });
      assert.deepEqual(await get(`${url}/azure/healthz`), {
        status: 404,
        body: { error: 'not found' },
      });
      assert.deepEqual(await get(`${url}/azure/${token}/extra?x=${token}`), {
        status: 404,
        body: { error: 'not found' },
      });
    });

    it('requires the second factor of KAR_BASIC_AUTH and KAR_HEADERS: 401 without it, the log names the factor only', async () => {
      assert.deepEqual(await post(`${url}/azure/${token}`, 'acr-push'), {
        status: 401,
        body: { error: 'unauthorized' },
      });
      assert.deepEqual(
        await post(`${url}/azure/${token}`, 'acr-push', { ...FACTOR, 'X-Kargo-Key': 'wrong' }),
        { status: 401, body: { error: 'unauthorized' } },
      );
      const line = await serve.waitForLog((l) => l.msg === 'webhook' && l.status === 401);
      assert.deepEqual(line.factorsFailed, ['basic-auth: missing', 'header x-kargo-key: missing']);
      const listening = await serve.waitForLog((l) => l.msg === 'listening');
      assert.deepEqual(listening.secondFactor, ['basic-auth', 'header:x-kargo-key']);
    });

    it('logs one JSON line per webhook with source, event, repository, counts, status and duration', async () => {
      const line = await serve.waitForLog((l) => l.msg === 'webhook' && l.status === 200);
      assert.equal(line.level, 'info');
      assert.equal(line.source, 'acr');
      assert.equal(line.eventType, 'push');
      assert.equal(line.outcome, 'refreshed');
      assert.deepEqual(line.repoURLs, [IMAGE]);
      assert.deepEqual(line.qualifiers, ['v1']);
      assert.equal(line.matched, 1);
      assert.equal(line.refreshed, 1);
      assert.equal(line.failed, 0);
      assert.equal(typeof line.durationMs, 'number');
    });

    it('never logs the token, the secret or the second factor, and redacts the token in logged paths', async () => {
      const redacted = await serve.waitForLog(
        (l) => l.msg === 'no route' && typeof l.path === 'string' && l.path.includes('/extra'),
      );
      assert.equal(redacted.path, '/azure/[REDACTED]/extra?[REDACTED]');
      assert.ok(serve.logs.length > 5, 'there are log lines to check');
      for (const output of [serve.stdout, serve.stderr]) {
        assert.ok(!output.includes(token), 'the token appears in the output');
        assert.ok(!output.includes(SECRET), 'the secret appears in the output');
        assert.ok(!output.includes(PASSWORD), 'the password appears in the output');
        assert.ok(!output.includes(HEADER_VALUE), 'the header value appears in the output');
        assert.ok(!output.includes(FACTOR.Authorization.slice(6)), 'the credentials appear');
      }
    });

    it('exposes Prometheus metrics on the metrics port, without the token', async () => {
      const { status, body } = await get(metricsURL);
      assert.equal(status, 200);
      const text = body as string;
      for (const series of [
        'kargo_azure_receiver_webhook_requests_total{source="acr",event="push",status="200"} 1',
        // A wrong token and GET /azure/healthz: answered by the receiver, before the body is read.
        'kargo_azure_receiver_webhook_requests_total{source="none",event="none",status="404"} 2',
        // Right token, second factor missing or wrong: also before the body.
        'kargo_azure_receiver_webhook_requests_total{source="none",event="none",status="401"} 2',
        'kargo_azure_receiver_refreshes_total{result="success"} 1',
        'kargo_azure_receiver_refreshes_total{result="failure"} 0',
        'kargo_azure_receiver_lookup_duration_seconds_count{result="success"} 1',
        'kargo_azure_receiver_refresh_duration_seconds_count{result="success"} 1',
        'kargo_azure_receiver_cache_objects{kind="warehouse"} 2',
        'kargo_azure_receiver_cache_objects{kind="promotion"} 0',
        'kargo_azure_receiver_watch_restarts_total 0',
        'kargo_azure_receiver_ready 1',
        'kargo_azure_receiver_receivers 1',
      ]) {
        assert.ok(text.split('\n').includes(series), `missing series: ${series}`);
      }
      for (const name of [
        'kargo_azure_receiver_webhook_duration_seconds_bucket',
        'kargo_azure_receiver_watch_errors_total',
        'process_cpu_seconds_total',
        'nodejs_heap_size_used_bytes',
      ]) {
        assert.ok(text.includes(name), `missing metric: ${name}`);
      }
      assert.ok(!text.includes(token), 'the token appears in the metrics');
      assert.ok(!text.includes(SECRET), 'the secret appears in the metrics');
      assert.ok(!text.includes(PASSWORD), 'the password appears in the metrics');
      assert.ok(!text.includes(HEADER_VALUE), 'the header value appears in the metrics');
      assert.deepEqual(await get(metricsURL.replace('/metrics', '/')), {
        status: 404,
        body: { error: 'not found' },
      });
    });

    it('on SIGTERM, answers each of 16 webhooks waiting on a slow PATCH with 503 (never a dropped connection), then exits 0', async () => {
      // The refresh PATCH outlasts KAR_SHUTDOWN_TIMEOUT (1 s).
      api.fault({ method: 'PATCH', path: '/warehouses/', delayMs: 60_000 });
      const before = api.requestsTo('PATCH', '/warehouses/').length;
      const LOOKUPS = 'kargo_azure_receiver_lookup_duration_seconds_count{result="success"}';
      const lookupsBefore = await counter(metricsURL, LOOKUPS);
      const inFlight = Array.from({ length: 16 }, () =>
        post(`${url}/azure/${token}`, 'acr-push', FACTOR).catch(
          (err: Error) => `dropped: ${err.message}`,
        ),
      );
      // Signal once the refresh PATCH has reached the (slow) API server and every
      // webhook's lookup is done: each is then waiting on that refresh.
      while (
        api.requestsTo('PATCH', '/warehouses/').length === before ||
        (await counter(metricsURL, LOOKUPS)) < lookupsBefore + 16
      )
        await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50));
      serve.child.kill('SIGTERM');
      assert.deepEqual(
        await Promise.all(inFlight),
        Array.from({ length: 16 }, () => ({
          status: 503,
          body: { error: 'failed to refresh 1 of 1 warehouse(s)' },
        })),
      );
      assert.deepEqual(await serve.exited, { code: 0, signal: null });
      const messages = serve.logs.map((l) => l.msg);
      assert.ok(messages.includes('shutting down: draining in-flight requests'));
      assert.ok(messages.includes('shutdown timeout: answering webhooks still running with 503'));
      assert.ok(!messages.includes('shutdown: closing connections still busy'));
      assert.equal(messages.at(-1), 'stopped');
      assert.equal(
        api.requestsTo('PATCH', '/warehouses/').length,
        before + 1,
        'PATCHes after the 503',
      );
      assert.equal(api.openWatches, 0, 'the watches are closed');
      assert.ok(!serve.stdout.includes(token) && !serve.stderr.includes(token));
    });
  });

  describe('ProjectConfig receivers (the default mode)', () => {
    const token = kargoToken({ project: 'kargo-demo', receiver: RECEIVER, secret: SECRET });
    let api: FakeKubeApi;
    let serve: ServeProcess;
    let url: string;
    let urlsRun: Promise<RunResult>;

    before(async () => {
      ({ api, serve, urlsRun } = await kargoEnv);
      ({ url } = await serve.listening());
      await waitForStatus(`${url}/readyz`, 200);
    });

    it("serves each project's receiver at Kargo's path below the base URL's path, refreshing that project only", async () => {
      const demoToken = kargoToken({
        project: 'kargo-demo',
        receiver: RECEIVER,
        secret: `${SECRET}-kargo-demo`,
      });
      assert.notEqual(demoToken, token);
      assert.deepEqual(await post(`${url}/kargo/azure/${demoToken}`, 'acr-push'), {
        status: 200,
        body: { msg: 'refreshed 1 warehouse(s)' },
      });
      assertRefreshPatch(api, 'kargo-demo', 'hello-world');
      assert.deepEqual(await post(`${url}/azure/${demoToken}`, 'acr-push'), {
        status: 404,
        body: { error: 'not found' },
      });
      const line = await serve.waitForLog((l) => l.msg === 'webhook' && l.status === 200);
      assert.deepEqual(line.labels, { project: 'kargo-demo', receiver: RECEIVER });
      assert.ok(!serve.stdout.includes(demoToken) && !serve.stderr.includes(demoToken));
    });

    it('`urls` prints project, name and URL of each receiver', async () => {
      const result = await urlsRun;
      assert.equal(result.code, 0, result.stderr);
      const rows = result.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(/\s+/));
      assert.deepEqual(rows, [
        ['PROJECT', 'NAME', 'URL'],
        [
          'kargo-demo',
          RECEIVER,
          `https://hooks.example.com/kargo/azure/${kargoToken({ project: 'kargo-demo', receiver: RECEIVER, secret: `${SECRET}-kargo-demo` })}`,
        ],
        [
          'other-project',
          RECEIVER,
          `https://hooks.example.com/kargo/azure/${kargoToken({ project: 'other-project', receiver: RECEIVER, secret: `${SECRET}-other-project` })}`,
        ],
      ]);
    });
  });
});
