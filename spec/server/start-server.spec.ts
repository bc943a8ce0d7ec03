import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultServerConfig } from '../../lib/server/server-config.js';
import { createLogger } from '../../lib/server/logging.js';
import { startServer, type RunningServer } from '../../lib/server/serve.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { fixtureText } from '../support/fixtures.js';

const TOKEN = 'in-process-token-0123456789';

/** A pino logger whose JSON lines are kept in memory. */
function memoryLogger(): {
  logger: ReturnType<typeof createLogger>;
  lines: Record<string, unknown>[];
  text: () => string;
} {
  const raw: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void raw.push(line) });
  return {
    logger,
    get lines() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

/** A raw request, so that paths reach the server byte for byte. */
function rawRequest(
  url: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname, port, method, path, headers: body ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('startServer (in process)', function () {
  this.timeout(10_000);
  let api: FakeKubeApi;
  let running: RunningServer | undefined;

  beforeEach(async () => {
    api = new FakeKubeApi();
    await api.start();
    api.put({
      apiVersion: 'kargo.akuity.io/v1alpha1',
      kind: 'Warehouse',
      metadata: { namespace: 'kargo-demo', name: 'hello-world' },
      spec: {
        subscriptions: [
          {
            image: {
              repoURL: 'myregistry.azurecr.io/hello-world',
              imageSelectionStrategy: 'Lexical',
            },
          },
        ],
      },
    });
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
    await api.close();
  });

  function start(
    overrides: Parameters<typeof defaultServerConfig>[0] = {},
    log = memoryLogger(),
  ): Promise<RunningServer> {
    return startServer(
      defaultServerConfig({ port: 0, host: '127.0.0.1', tokens: [TOKEN], ...overrides }),
      {
        kubeConfig: api.kubeConfig(),
        logger: log.logger,
      },
    ).then((r) => (running = r));
  }

  it('--explain: answers list the Warehouses through the instrumented adapter; the explanation is logged at debug', async () => {
    const log = memoryLogger();
    const server = await start({ explain: true, metricsPort: 0 }, log);
    await server.ready();
    const res = await rawRequest(server.url, 'POST', `/azure/${TOKEN}`, fixtureText('acr-push'));
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), {
      msg: 'refreshed 1 warehouse(s)',
      warehouses: [
        {
          namespace: 'kargo-demo',
          name: 'hello-world',
          refreshed: true,
          reason: 'spec.subscriptions[0] takes tag "v1"',
        },
      ],
    });
    const explained = log.lines.find((l) => l.msg === 'push explained');
    assert.equal(explained?.level, 'debug');
    assert.deepEqual(explained?.qualifiers, ['v1']);
  });

  it('serves below a base path, answers a malformed token like any wrong token, and never logs it', async () => {
    const log = memoryLogger();
    const server = await start({ basePath: '/hooks' }, log);
    await server.ready();
    assert.equal(server.mode, 'single');
    assert.equal(server.isReady(), true);
    assert.deepEqual(
      await rawRequest(server.url, 'POST', `/hooks/azure/${TOKEN}`, fixtureText('acr-push')),
      {
        status: 200,
        body: '{"msg":"refreshed 1 warehouse(s)"}',
      },
    );
    assert.deepEqual(await rawRequest(server.url, 'POST', `/azure/${TOKEN}`, '{}'), {
      status: 404,
      body: '{"error":"not found"}',
    });
    assert.deepEqual(await rawRequest(server.url, 'POST', `/hooks/azure/${TOKEN}%E0%A4%A`, '{}'), {
      status: 404,
      body: '{"error":"not found"}',
    });
    const refused = log.lines.filter((l) => l.msg === 'webhook' && l.status === 404);
    assert.equal(refused.length, 1, 'the malformed token is logged as one refused webhook');
    assert.equal(refused[0]?.outcome, 'not-found');
    assert.ok(!log.text().includes(TOKEN));
  });

  it('single receiver with a second factor (serve --basic-auth, --header): rotated values accepted, others 401, none logged', async () => {
    const log = memoryLogger();
    const server = await start(
      {
        basicAuth: [
          { username: 'azure-devops', password: 'new-password-in-process' },
          { username: 'azure-devops', password: 'old-password-in-process' },
        ],
        headers: { 'x-kargo-key': ['new-key-in-process', 'old-key-in-process'] },
      },
      log,
    );
    await server.ready();
    const post = async (password: string, key: string | undefined) => {
      const res = await fetch(`${server.url}/azure/${TOKEN}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Basic ${Buffer.from(`azure-devops:${password}`).toString('base64')}`,
          ...(key ? { 'X-Kargo-Key': key } : {}),
        },
        body: fixtureText('acr-push'),
      });
      return [res.status, await res.json(), res.headers.get('www-authenticate')];
    };
    const refreshed = [200, { msg: 'refreshed 1 warehouse(s)' }, null];
    const refused = [
      401,
      { error: 'unauthorized' },
      'Basic realm="kargo-azure-receiver", charset="UTF-8"',
    ];
    assert.deepEqual(await post('new-password-in-process', 'new-key-in-process'), refreshed);
    assert.deepEqual(await post('old-password-in-process', 'old-key-in-process'), refreshed);
    assert.deepEqual(await post('new-password-in-process', undefined), refused);
    assert.deepEqual(await post('wrong-password-in-process', 'new-key-in-process'), refused);
    assert.deepEqual(
      log.lines.filter((l) => l.msg === 'webhook').map((l) => l.factorsFailed),
      [undefined, undefined, ['header x-kargo-key: missing'], ['basic-auth: wrong']],
    );
    for (const value of ['new-password', 'old-password', 'wrong-password', 'new-key', 'old-key'])
      assert.ok(!log.text().includes(`${value}-in-process`), `${value} logged`);
  });

  it('serves metrics only at GET or HEAD /metrics', async () => {
    const server = await start({ metricsPort: 0 });
    assert.ok(server.metricsURL);
    const head = await fetch(server.metricsURL, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /^text\/plain/);
    const post = await fetch(server.metricsURL, { method: 'POST' });
    assert.deepEqual([post.status, await post.json()], [404, { error: 'not found' }]);
  });

  it('rejects when the port is taken, and leaves nothing running', async () => {
    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      await assert.rejects(
        startServer(defaultServerConfig({ port, host: '127.0.0.1', tokens: [TOKEN] }), {
          kubeConfig: api.kubeConfig(),
          logger: memoryLogger().logger,
        }),
        { code: 'EADDRINUSE' },
      );
      assert.equal(api.openWatches, 0);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
