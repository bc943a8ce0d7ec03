import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { defaultServerConfig } from '../../lib/server/server-config.js';
import { createLogger } from '../../lib/server/logging.js';
import { startServer, type RunningServer } from '../../lib/server/serve.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';

const TOKEN = 'timeouts-token-0123456789';

/**
 * Sends `data` and waits: the milliseconds until the server answers or
 * closes, and what it answered.
 */
function timeUntilCut(url: string, data: string): Promise<{ ms: number; answer: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ ms: performance.now() - started, answer }));
    socket.write(data);
  });
}

describe('serve: slow clients are cut when the timeouts say', function () {
  this.timeout(10_000);
  let api: FakeKubeApi;
  let running: RunningServer;

  before(async () => {
    api = new FakeKubeApi();
    await api.start();
    running = await startServer(
      defaultServerConfig({
        port: 0,
        host: '127.0.0.1',
        tokens: [TOKEN],
        // Scaled down from 10 s / 30 s / 1 s, in the same proportions.
        headersTimeoutMs: 300,
        requestTimeoutMs: 900,
        connectionsCheckingIntervalMs: 30,
      }),
      { kubeConfig: api.kubeConfig(), logger: createLogger('silent') },
    );
  });
  after(async () => {
    await running.close();
    await api.close();
  });

  it('the defaults: 10 s for the headers, 30 s for the request, checked every second', () => {
    const config = defaultServerConfig();
    assert.deepEqual(
      [config.headersTimeoutMs, config.requestTimeoutMs, config.connectionsCheckingIntervalMs],
      [10_000, 30_000, 1000],
    );
  });

  // Node's own check interval (30 s) would cut these only after tens of seconds.
  it('headers never finished: 408 once headersTimeout passed, not later', async () => {
    const { ms, answer } = await timeUntilCut(running.url, 'POST /azure/x HTTP/1.1\r\nHost: a\r\n');
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(ms >= 280 && ms < 900, `cut after ${ms.toFixed(0)} ms`);
  });

  it('body never finished: 408 once requestTimeout passed, not later', async () => {
    const { ms, answer } = await timeUntilCut(
      running.url,
      `POST /azure/${TOKEN} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"action":`,
    );
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(ms >= 880 && ms < 1800, `cut after ${ms.toFixed(0)} ms`);
  });
});
