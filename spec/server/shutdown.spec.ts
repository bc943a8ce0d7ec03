import assert from 'node:assert/strict';
import http from 'node:http';
import { DEFAULT_DEADLINE_MS } from '../../lib/receiver/options.js';
import {
  DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
  defaultServerConfig,
} from '../../lib/server/server-config.js';
import { createLogger } from '../../lib/server/logging.js';
import { startServer, type RunningServer } from '../../lib/server/serve.js';
import { CLOSE_TIMEOUT_MS, FLUSH_TIMEOUT_MS } from '../../lib/server/shutdown.js';
import { kargoToken } from '../../lib/receiver/token.js';
import { type RenderedPod, helmSkipReason, renderedPod } from '../support/chart.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { fixtureText } from '../support/fixtures.js';
import { warehouseManifest } from '../support/manifests.js';
import { until } from '../adapters/kubernetes/helpers.js';
import { azure, projectConfig, secret } from '../kargo/helpers.js';

const TOKEN = 'shutdown-token-0123456789';
const N = 16;

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

/** POSTs the ACR push over a kept-alive connection of `agent`; rejects on a dropped connection. */
function postPush(url: string, agent: http.Agent): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname,
        port,
        agent,
        method: 'POST',
        path: `/azure/${TOKEN}`,
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(fixtureText('acr-push'));
  });
}

function memoryLogger(): { logger: ReturnType<typeof createLogger>; messages: () => string[] } {
  const raw: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void raw.push(line) });
  return {
    logger,
    messages: () => raw.map((l) => (JSON.parse(l) as { msg: string }).msg),
  };
}

describe('startServer: graceful shutdown answers every webhook in flight', function () {
  this.timeout(10_000);
  let api: FakeKubeApi;
  let running: RunningServer | undefined;
  let agent: http.Agent;

  beforeEach(async () => {
    api = new FakeKubeApi();
    await api.start();
    api.put(
      warehouseManifest('kargo-demo', 'hello-world', {
        image: { repoURL: 'myregistry.azurecr.io/hello-world', imageSelectionStrategy: 'Lexical' },
      }),
    );
    // Keep-alive, as ingress controllers connect: the answer must close the connection itself.
    agent = new http.Agent({ keepAlive: true, maxSockets: N });
  });

  afterEach(async () => {
    agent.destroy();
    await running?.close();
    running = undefined;
    await api.close();
  });

  async function start(shutdownTimeoutMs: number, log = memoryLogger()): Promise<RunningServer> {
    running = await startServer(
      defaultServerConfig({ port: 0, host: '127.0.0.1', tokens: [TOKEN], shutdownTimeoutMs }),
      { kubeConfig: api.kubeConfig(), logger: log.logger },
    );
    await running.ready();
    return running;
  }

  /** Sends N webhooks and waits until the server received each, and the (slow) refresh PATCH is on the wire. */
  async function inFlight(server: RunningServer): Promise<Promise<Answer | string>[]> {
    let received = 0;
    server.server.on('request', () => received++);
    const answers = Array.from({ length: N }, () =>
      postPush(server.url, agent).catch((err: NodeJS.ErrnoException) => `dropped: ${err.code}`),
    );
    await until(
      () => received === N && api.requestsTo('PATCH', '/warehouses/').length === 1,
      'every webhook received, the refresh PATCH on the wire',
    );
    // Every webhook reached the refresher (one PATCH on the wire, the others joined its follow-up).
    await new Promise((r) => setTimeout(r, 50));
    return answers;
  }

  it('webhooks that finish within the shutdown timeout get their own answer, with Connection: close', async () => {
    // The first PATCH takes 300 ms; the follow-up PATCH the other 15 share is immediate.
    api.fault({ method: 'PATCH', path: '/warehouses/', delayMs: 300 });
    const log = memoryLogger();
    const server = await start(5000, log);
    const answers = await inFlight(server);
    const started = Date.now();
    const closing = server.close();
    assert.equal(server.isReady(), false, 'readiness fails at once');
    assert.equal(server.close(), closing, 'close() is idempotent');
    await closing;
    assert.ok(Date.now() - started < 3000, 'the drain ends as soon as the webhooks are answered');
    assert.deepEqual(
      await Promise.all(answers),
      Array.from({ length: N }, () => ({
        status: 200,
        connection: 'close',
        body: '{"msg":"refreshed 1 warehouse(s)"}',
      })),
    );
    assert.equal(api.requestsTo('PATCH', '/warehouses/').length, 2);
    await until(() => api.openWatches === 0, 'the watches closed');
    assert.ok(
      !log.messages().includes('shutdown timeout: answering webhooks still running with 503'),
    );
    assert.equal(log.messages().at(-1), 'stopped');
  });

  it('webhooks still waiting at the shutdown timeout get 503 (Azure retries), never a dropped connection', async () => {
    // The refresh PATCH never answers in time: today's 16 of 16 closed connections.
    api.fault({ method: 'PATCH', path: '/warehouses/', delayMs: 60_000 });
    const log = memoryLogger();
    const server = await start(200, log);
    const answers = await inFlight(server);
    const started = Date.now();
    await server.close();
    const took = Date.now() - started;
    assert.ok(took >= 200 && took < 200 + FLUSH_TIMEOUT_MS + CLOSE_TIMEOUT_MS, `took ${took} ms`);
    assert.deepEqual(
      await Promise.all(answers),
      Array.from({ length: N }, () => ({
        status: 503,
        connection: 'close',
        body: '{"error":"failed to refresh 1 of 1 warehouse(s)"}',
      })),
    );
    // The PATCH on the wire was aborted; the follow-up the others shared was never sent.
    assert.equal(api.requestsTo('PATCH', '/warehouses/').length, 1);
    const messages = log.messages();
    assert.ok(messages.includes('shutdown timeout: answering webhooks still running with 503'));
    assert.ok(
      !messages.includes('shutdown: closing connections still busy'),
      'a connection was cut',
    );
    assert.equal(messages.at(-1), 'stopped');
  });

  it('a client still sending its body when the answers are flushed is cut, and close() stays bounded', async () => {
    const log = memoryLogger();
    const server = await start(100, log);
    const { hostname, port } = new URL(server.url);
    let received = 0;
    server.server.on('request', () => received++);
    const req = http.request({
      hostname,
      port,
      method: 'POST',
      path: `/azure/${TOKEN}`,
      headers: { 'Content-Type': 'application/json', 'Content-Length': '1000' },
    });
    const outcome = new Promise<string>((resolve) => {
      req.on('response', (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', (err: NodeJS.ErrnoException) => resolve(`cut: ${err.code}`));
    });
    req.write('{"action":'); // and never the rest
    await until(() => received === 1, 'the request received');
    const started = Date.now();
    await server.close();
    const took = Date.now() - started;
    assert.ok(took >= 100 + FLUSH_TIMEOUT_MS && took < 100 + FLUSH_TIMEOUT_MS + CLOSE_TIMEOUT_MS);
    assert.equal(await outcome, 'cut: ECONNRESET');
    assert.ok(log.messages().includes('shutdown: closing connections still busy'));
  });
});

describe('startServer: close() is bounded when the API server stops answering', function () {
  this.timeout(10_000);

  it('ProjectConfig mode with a refresh and a status write hanging: the webhook gets 503, close() stays bounded', async () => {
    const api = new FakeKubeApi();
    await api.start();
    try {
      api.put(secret('kargo-demo', 'hook', 'shutdown-secret'));
      api.put(projectConfig('kargo-demo', [azure('az', 'hook')]));
      api.put(
        warehouseManifest('kargo-demo', 'hello-world', {
          image: {
            repoURL: 'myregistry.azurecr.io/hello-world',
            imageSelectionStrategy: 'Lexical',
          },
        }),
      );
      // Neither the status read of the write nor the refresh PATCH ever answers.
      api.fault({ method: 'GET', path: '/projectconfigs/kargo-demo/status', delayMs: 60_000 });
      api.fault({ method: 'PATCH', path: '/warehouses/', delayMs: 60_000 });
      const log = memoryLogger();
      const server = await startServer(
        defaultServerConfig({
          port: 0,
          host: '127.0.0.1',
          writeStatus: true,
          shutdownTimeoutMs: 100,
        }),
        { kubeConfig: api.kubeConfig(), logger: log.logger },
      );
      await server.ready();
      const webhook = fetch(
        `${server.url}/azure/${kargoToken({ project: 'kargo-demo', receiver: 'az', secret: 'shutdown-secret' })}`,
        { method: 'POST', body: fixtureText('acr-push') },
      ).then(async (res) => [res.status, await res.json()] as const);
      await until(
        () =>
          api.requestsTo('GET', '/projectconfigs/kargo-demo/status').length === 1 &&
          api.requestsTo('PATCH', '/warehouses/').length === 1,
        'the status read and the refresh PATCH hanging',
      );
      const started = Date.now();
      await server.close();
      const took = Date.now() - started;
      assert.ok(took < 100 + CLOSE_TIMEOUT_MS, `close() took ${took} ms`);
      assert.deepEqual(await webhook, [503, { error: 'failed to refresh 1 of 1 warehouse(s)' }]);
      assert.ok(!log.messages().includes('shutdown: watches not closed in time'));
      await until(() => api.openConnections === 0, 'every connection to the API server closed');
    } finally {
      await api.close();
    }
  });
});

describe(`the shutdown defaults agree with the Deployment the Helm chart renders${helmSkipReason}`, function () {
  let pod: RenderedPod;
  let preStopSeconds: number;
  let shutdownSeconds: number;
  before(function () {
    if (helmSkipReason) this.skip();
    pod = renderedPod();
    const container = pod.containers[0]!;
    const preStop = container.lifecycle?.preStop?.exec?.command ?? [];
    preStopSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
    const timeout = container.env.find((e) => e.name === 'KAR_SHUTDOWN_TIMEOUT')?.value;
    shutdownSeconds = Number(timeout ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS);
  });

  it('a webhook that arrived before SIGTERM reaches its own deadline before the shutdown timeout', () => {
    assert.equal(DEFAULT_SHUTDOWN_TIMEOUT_SECONDS * 1000, DEFAULT_DEADLINE_MS);
    assert.ok(shutdownSeconds * 1000 >= DEFAULT_DEADLINE_MS);
  });

  it('preStop sleep + shutdown timeout + flush + close fit in terminationGracePeriodSeconds, with margin', () => {
    // "The Pod's termination grace period countdown begins before the PreStop hook is
    // executed" (core/v1 Lifecycle.preStop), and SIGTERM comes after the hook
    // (https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/#container-hooks).
    const worstCase =
      preStopSeconds + shutdownSeconds + (FLUSH_TIMEOUT_MS + CLOSE_TIMEOUT_MS) / 1000;
    assert.deepEqual(
      { preStopSeconds, shutdownSeconds, worstCase, grace: pod.terminationGracePeriodSeconds },
      { preStopSeconds: 5, shutdownSeconds: 20, worstCase: 29, grace: 35 },
    );
    assert.ok(pod.terminationGracePeriodSeconds - worstCase >= 5, 'at least 5 s to spare');
  });
});
