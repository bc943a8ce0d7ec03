import assert from 'node:assert/strict';
import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { azureReceiver, memoryAdapter } from '../lib/index.js';
import { loadManifests } from '../lib/server/demo.js';
import { fixture } from './support/fixtures.js';
import { RecordingAdapter, warehouse } from './support/recording-adapter.js';

const TOKEN = 'f'.repeat(64);

function build() {
  const adapter = new RecordingAdapter();
  adapter.targets = [warehouse('a')];
  const app = express();
  app.use(
    '/azure',
    azureReceiver({
      token: TOKEN,
      lookup: adapter.lookup,
      refresh: adapter.refresh,
      maxBodyBytes: 4096,
    }),
  );
  return { app, adapter };
}

// Bodies: random JSON, random text, and real payloads with random fields swapped in.
const reals = [
  'acr-push',
  'acr-delete',
  'acr-chart-push',
  'devops-git-push',
  'devops-test-git-push',
  'devops-pr-merged',
  'devops-pr-updated',
  'devops-pr-created',
].map(fixture);

function mutate(
  base: Record<string, unknown>,
  path: string[],
  value: unknown,
): Record<string, unknown> {
  const copy = structuredClone(base);
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) return copy;
    node = next as Record<string, unknown>;
  }
  node[path[path.length - 1] ?? 'x'] = value;
  return copy;
}

const fieldPaths = [
  ['action'],
  ['eventType'],
  ['target'],
  ['target', 'repository'],
  ['target', 'tag'],
  ['target', 'mediaType'],
  ['request'],
  ['request', 'host'],
  ['resource'],
  ['resource', 'repository'],
  ['resource', 'repository', 'remoteUrl'],
  ['resource', 'refUpdates'],
  ['resource', 'status'],
  ['resource', 'mergeStatus'],
  ['resource', 'pullRequestId'],
  ['resource', '_links'],
  ['publisherId'],
];

const body = fc.oneof(
  fc.json().map((s) => s),
  fc.string({ maxLength: 200 }),
  fc
    .tuple(fc.constantFrom(...reals), fc.constantFrom(...fieldPaths), fc.jsonValue())
    .map(([base, path, value]) => JSON.stringify(mutate(base, path, value))),
  fc
    .record({ action: fc.string(), target: fc.dictionary(fc.string(), fc.jsonValue()) })
    .map((o) => JSON.stringify(o)),
  fc
    .record({ eventType: fc.string(), publisherId: fc.string(), resource: fc.jsonValue() })
    .map((o) => JSON.stringify(o)),
);

const headerName = fc.constantFrom(
  'User-Agent',
  'Content-Type',
  'X-VSS-ActivityId',
  'Authorization',
  'X-Custom',
);
const headers = fc.dictionary(
  headerName,
  fc.string({ maxLength: 60 }).filter((v) => /^[\x20-\x7e]*$/.test(v)),
  { maxKeys: 4 },
);

describe('azureReceiver properties (fast-check)', () => {
  it('with healthy adapters, no body or header ever gives a 5xx, a non-JSON answer or a stack trace', async () => {
    const { app } = build();
    await fc.assert(
      fc.asyncProperty(body, headers, async (payload, hdrs) => {
        let req = request(app).post(`/azure/${TOKEN}`);
        for (const [k, v] of Object.entries(hdrs)) req = req.set(k, v);
        const res = await req.send(payload);
        assert.ok(res.status < 500, `status ${res.status} for ${payload.slice(0, 200)}`);
        assert.ok([200, 400, 413, 415].includes(res.status), `unexpected status ${res.status}`);
        const keys = Object.keys(res.body as object);
        assert.deepEqual(keys, [res.status === 200 ? 'msg' : 'error']);
        assert.doesNotMatch(res.text, /\bat .*\(.*:\d+:\d+\)|node_modules|Error:/);
      }),
      { numRuns: 300 },
    );
  });

  it('with the real matching code (memoryAdapter on the example manifests), mutated real payloads never give a 5xx', async () => {
    const manifests = await loadManifests(
      new URL('../examples/manifests.yaml', import.meta.url).pathname,
    );
    const app = express();
    app.use('/azure', azureReceiver({ token: TOKEN, ...memoryAdapter({ warehouses: manifests }) }));
    const mutated = fc
      .tuple(
        fc.constantFrom(...reals),
        fc.constantFrom(...fieldPaths),
        fc.oneof(
          fc.jsonValue(),
          fc.string(),
          fc.constantFrom('refs/heads/main', 'refs/tags/v1.2.3', 'v1', '', 'toString', '__proto__'),
        ),
      )
      .map(([base, path, value]) => JSON.stringify(mutate(base, path, value)));
    await fc.assert(
      fc.asyncProperty(mutated, async (payload) => {
        const res = await request(app)
          .post(`/azure/${TOKEN}`)
          .set('Content-Type', 'application/json')
          .send(payload);
        assert.ok(
          [200, 400].includes(res.status),
          `status ${res.status} for ${payload.slice(0, 300)}`,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('a wrong token never reaches an adapter and always gets the same 404', async () => {
    const { app, adapter } = build();
    const token = fc.oneof(
      fc
        .string({ minLength: 1, maxLength: 80 })
        .filter((t) => t !== TOKEN && /^[A-Za-z0-9._~-]+$/.test(t)),
      fc.nat({ max: 63 }).map((n) => TOKEN.slice(0, n) + 'e' + TOKEN.slice(n + 1)),
      // Percent-escapes, well-formed or not: Express decodes (or fails to decode) them first.
      fc
        .tuple(
          fc.string({ maxLength: 20 }),
          fc.constantFrom('%', '%E0%A4%A', '%zz', '%00', '%2F', '%C3%28'),
        )
        .map(([t, esc]) => encodeURIComponent(t).replace(/%2F/gi, '') + esc),
    );
    await fc.assert(
      fc.asyncProperty(
        token,
        body,
        fc.constantFrom('post', 'get', 'put'),
        async (t, payload, method) => {
          const res = await request(app)[method as 'post'](`/azure/${t}`).send(payload);
          assert.equal(res.status, 404);
          assert.deepEqual(res.body, { error: 'not found' });
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(adapter.calls, 0);
  });
});
