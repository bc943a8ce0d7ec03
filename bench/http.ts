/**
 * HTTP overhead of azureReceiver against a bare Express route doing the
 * least a receiver must do (parse JSON, answer 200), on loopback, same run.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import autocannon, { type Result } from 'autocannon';
import express from 'express';
import { azureReceiver, kargoToken, memoryAdapter } from '../lib/index.js';
import { loadManifests } from '../lib/server/demo.js';
import { fixtureText } from '../spec/support/fixtures.js';

async function listen(app: express.Express): Promise<{ server: Server; base: string }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export interface HttpRow {
  name: string;
  reqPerSec: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
}

/** Posts the same JSON body for `durationSec` over `connections` keep-alive connections. */
export function postJSONLoad(
  url: string,
  body: string,
  durationSec: number,
  connections: number,
  headers: Record<string, string> = {},
): Promise<Result> {
  return autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    duration: durationSec,
  });
}

async function measure(
  name: string,
  url: string,
  body: string,
  durationSec: number,
  headers: Record<string, string> = {},
): Promise<HttpRow> {
  const result = await postJSONLoad(url, body, durationSec, 16, headers);
  return {
    name,
    reqPerSec: Math.round(result.requests.average),
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    non2xx: result.non2xx,
  };
}

export async function benchHttp(durationSec: number): Promise<HttpRow[]> {
  const token = kargoToken({
    project: 'kargo-demo',
    receiver: 'azure-wh-receiver',
    secret: 'bench',
  });
  const body = fixtureText('acr-push');

  const bare = express();
  bare.post(
    '/azure/:token',
    express.json({ limit: '2mb' }),
    (_req, res) => void res.status(200).json({ msg: 'ok' }),
  );

  const ours = express();
  const manifests = await loadManifests(
    new URL('../examples/manifests.yaml', import.meta.url).pathname,
  );
  ours.use('/azure', azureReceiver({ token, ...memoryAdapter({ warehouses: manifests }) }));
  // The same receiver behind a second factor: two pairs and two header values, as while rotating.
  const factor = {
    authorization: `Basic ${Buffer.from('azure-devops:bench-password-2').toString('base64')}`,
    'x-kargo-key': 'bench-header-value-2',
  };
  ours.use(
    '/guarded',
    azureReceiver({
      token,
      ...memoryAdapter({ warehouses: manifests }),
      basicAuth: [
        { username: 'azure-devops', password: 'bench-password-1' },
        { username: 'azure-devops', password: 'bench-password-2' },
      ],
      headers: { 'X-Kargo-Key': ['bench-header-value-1', 'bench-header-value-2'] },
    }),
  );

  const a = await listen(bare);
  const b = await listen(ours);
  try {
    // Warm-up, then the measured runs.
    await measure('warm-up', `${a.base}/azure/${token}`, body, 1);
    await measure('warm-up', `${b.base}/azure/${token}`, body, 1);
    return [
      await measure(
        'baseline: bare Express route (express.json + 200)',
        `${a.base}/azure/${token}`,
        body,
        durationSec,
      ),
      await measure(
        'azureReceiver + memoryAdapter (ACR push, 1 refresh)',
        `${b.base}/azure/${token}`,
        body,
        durationSec,
      ),
      await measure(
        'azureReceiver + basicAuth + headers (second factor, 1 refresh)',
        `${b.base}/guarded/${token}`,
        body,
        durationSec,
        factor,
      ),
      await measure(
        'azureReceiver, right token, second factor missing (401 path)',
        `${b.base}/guarded/${token}`,
        body,
        durationSec,
      ),
      await measure(
        'azureReceiver, wrong token (404 path)',
        `${b.base}/azure/${'0'.repeat(64)}`,
        body,
        durationSec,
      ),
    ];
  } finally {
    a.server.close();
    b.server.close();
  }
}
