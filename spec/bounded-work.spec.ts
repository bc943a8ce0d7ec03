/**
 * One project cannot stall the others: every request costs bounded work and
 * output, and a refused body still gets its answer.
 */
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { azureReceiver, memoryAdapter } from '../lib/index.js';
import type { AzureReceiverOptions } from '../lib/receiver/options.js';
import { MAX_JSON_DEPTH } from '../lib/receiver/json-body.js';
import { MAX_ECHO_CHARS } from '../lib/sources/fields.js';
import { fixture } from './support/fixtures.js';
import { RecordingAdapter, warehouse } from './support/recording-adapter.js';
import { buildReceiverApp } from './support/receiver-app.js';

const TOKEN = 'c'.repeat(64);

function build(adapter: RecordingAdapter, options: Partial<AzureReceiverOptions> = {}) {
  return buildReceiverApp(TOKEN, adapter, options);
}

/** `value` as the receiver echoes it: 200 characters and a mark. */
function cut(value: string): string {
  return `${value.slice(0, MAX_ECHO_CHARS)}…[cut: ${value.length} characters]`;
}

describe('bounded output: echoed strings are cut', () => {
  it('a 1.9 MB Azure DevOps eventType: answer and log line hold 200 characters of it', async () => {
    const adapter = new RecordingAdapter();
    const { app, logger, records } = build(adapter);
    const eventType = 'e'.repeat(1_900_000);
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ eventType, publisherId: 'tfs' }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { msg: `${cut(eventType)} events need no refresh` });
    assert.equal(records[0]?.eventType, cut(eventType));
    assert.ok(logger.text().length < 2000, `log is ${logger.text().length} characters`);
    assert.equal(adapter.calls, 0);
  });

  it('a 1.9 MB ACR action: the same', async () => {
    const { app, records } = build(new RecordingAdapter());
    const action = 'a'.repeat(1_900_000);
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ action, target: {} }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { msg: `ACR ${cut(action)} events need no refresh` });
    assert.equal(records[0]?.eventType, cut(action));
  });

  it('a long pull-request status is cut in the answer', async () => {
    const { app } = build(new RecordingAdapter());
    const status = 's'.repeat(1000);
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .send({ eventType: 'git.pullrequest.updated', resource: { status } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      msg: `nothing refreshed: a pull request update to status ${cut(status)} closes nothing`,
    });
  });

  it('the record lists at most 20 refs, each cut, and says how many there were', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = [warehouse('w')];
    const { app, records } = build(adapter);
    const names = Array.from({ length: 50 }, (_, i) => `refs/tags/${String(i).padStart(300, 'v')}`);
    const body = fixture('devops-git-push');
    body.resource.refUpdates = names.map((name) => ({ name, newObjectId: 'a1b2c3' }));
    const res = await request(app).post(`/azure/${TOKEN}`).send(body);
    assert.equal(res.status, 200);
    assert.deepEqual(records[0]?.qualifiers, [
      ...names.slice(0, 20).map(cut),
      '…[cut: 50 entries]',
    ]);
    // The lookup still gets every ref, whole.
    assert.deepEqual(adapter.lookups[0]?.type === 'push' && adapter.lookups[0].qualifiers, names);
  });
});

const TOO_DEEP = { error: `request body nested deeper than ${MAX_JSON_DEPTH} levels` };

describe('bounded work: JSON.parse within the body limit, after a nesting check', () => {
  it('200,000 keys inside an ACR target: refreshed as a plain push', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = [warehouse('w')];
    const { app } = build(adapter);
    const body = fixture('acr-push');
    for (let i = 0; i < 200_000; i++) body.target[`_${i.toString(36)}`] = 1;
    const res = await request(app).post(`/azure/${TOKEN}`).send(body);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { msg: 'refreshed 1 warehouse(s)' });
    assert.deepEqual(adapter.lookups[0], {
      type: 'push',
      source: 'acr',
      eventType: 'push',
      repoURLs: ['myregistry.azurecr.io/hello-world'],
      kinds: ['image'],
      qualifiers: ['v1'],
    });
  });

  const rows: Array<{ name: string; body: string; status: number; answer: object }> = [
    {
      name: 'a repository name over 2048 characters',
      body: JSON.stringify({
        action: 'push',
        target: { repository: 'r'.repeat(2049), tag: 'v1' },
        request: { host: 'myregistry.azurecr.io' },
      }),
      status: 400,
      answer: {
        error: 'invalid ACR push event: "target.repository" must be at most 2048 characters long',
      },
    },
    {
      name: 'a remote URL over 2048 characters',
      body: JSON.stringify({
        eventType: 'git.push',
        resource: { repository: { remoteUrl: `https://dev.azure.com/${'o/'.repeat(1100)}` } },
      }),
      status: 400,
      answer: {
        error:
          'invalid Azure DevOps git.push event: "resource.repository.remoteUrl" must be at most 2048 characters long',
      },
    },
    {
      name: 'a million nested arrays as the ACR target: refused as too deep',
      body: `{"action":"push","target":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`,
      status: 400,
      answer: TOO_DEEP,
    },
    {
      name: 'a million nested arrays beside the fields: refused as too deep (was read past)',
      body: `{"action":"ping","x":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`,
      status: 400,
      answer: TOO_DEEP,
    },
    {
      name: 'an unclosed million nested arrays: refused as too deep before JSON.parse sees it',
      body: `{"action":"ping","x":${'['.repeat(1_000_000)}}`,
      status: 400,
      answer: TOO_DEEP,
    },
    {
      name: `${MAX_JSON_DEPTH} levels in all (the deepest real payload has 5): read`,
      body: `{"action":"ping","x":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`,
      status: 200,
      answer: { msg: 'ping event received, webhook is configured correctly' },
    },
    {
      name: `${MAX_JSON_DEPTH + 1} levels: refused as too deep`,
      body: `{"action":"ping","x":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`,
      status: 400,
      answer: TOO_DEEP,
    },
    {
      name: 'brackets inside strings, escaped quotes among them, are not nesting',
      body: JSON.stringify({ action: 'ping', x: `\\"${'[{'.repeat(1000)}`, y: '"]' }),
      status: 200,
      answer: { msg: 'ping event received, webhook is configured correctly' },
    },
    {
      name: 'invalid JSON within the depth limit: the invalid-body answer',
      body: '{"action":"ping",}',
      status: 400,
      answer: { error: 'invalid request body' },
    },
    {
      name: 'a __proto__ key is an own property, never the prototype: its fields are not read',
      body: '{"__proto__":{"action":"ping"},"constructor":{"action":"ping"}}',
      status: 400,
      answer: {
        error: 'request body is neither an Azure Container Registry nor an Azure DevOps event',
      },
    },
  ];
  for (const row of rows) {
    it(`${row.name} → ${row.status}`, async () => {
      const adapter = new RecordingAdapter();
      const { app } = build(adapter);
      const res = await request(app)
        .post(`/azure/${TOKEN}`)
        .set('Content-Type', 'application/json')
        .send(row.body);
      assert.equal(res.status, row.status);
      assert.deepEqual(res.body, row.answer);
      assert.equal(adapter.calls, 0);
    });
  }

  it('a push of more than 100 refs refreshes every subscriber of the repository (no filtering)', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = [warehouse('w')];
    const { app } = build(adapter);
    const body = fixture('devops-git-push');
    body.resource.refUpdates = Array.from({ length: 101 }, (_, i) => ({
      name: `refs/tags/v${i}`,
      newObjectId: 'a1b2c3',
    }));
    const res = await request(app).post(`/azure/${TOKEN}`).send(body);
    assert.equal(res.status, 200);
    assert.deepEqual(adapter.lookups[0]?.type === 'push' && adapter.lookups[0].qualifiers, []);
  });

  it('a tag against a pathological RE2 pattern is matched in linear time', async function () {
    // On a backtracking engine this push would hold the event loop for minutes.
    this.timeout(5000);
    const adapter = memoryAdapter({
      warehouses: [
        {
          apiVersion: 'kargo.akuity.io/v1alpha1',
          kind: 'Warehouse',
          metadata: { namespace: 'p', name: 'w' },
          spec: {
            subscriptions: [
              {
                image: {
                  repoURL: 'myregistry.azurecr.io/hello-world',
                  imageSelectionStrategy: 'Lexical',
                  allowTags: '^(a|a)+$',
                },
              },
            ],
          },
        },
      ],
    });
    const app = express();
    app.use('/azure', azureReceiver({ token: TOKEN, ...adapter }));
    for (const [tag, refreshed] of [
      [`${'a'.repeat(2000)}b`, 0],
      ['a'.repeat(2000), 1],
    ] as const) {
      const body = fixture('acr-push');
      body.target.tag = tag;
      const res = await request(app).post(`/azure/${TOKEN}`).send(body);
      assert.equal(res.status, 200);
      // (A push nothing takes also carries a `hint`, checked by its own specs.)
      assert.equal(res.body.msg, `refreshed ${refreshed} warehouse(s)`);
    }
  });
});

/** The status line and body of the answer, read off a raw socket. */
function readAnswer(socket: Socket): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      data += d;
      const head = data.indexOf('\r\n\r\n');
      if (head < 0) return;
      const length = /content-length: (\d+)/i.exec(data.slice(0, head));
      if (length && data.length >= head + 4 + Number(length[1])) {
        resolve({
          status: data.slice(0, data.indexOf('\r\n')),
          body: data.slice(head + 4, head + 4 + Number(length[1])),
        });
      }
    });
    socket.on('error', reject);
    socket.on('close', () =>
      reject(new Error(`closed before the answer: ${JSON.stringify(data)}`)),
    );
  });
}

function write(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.write(data, (err) => (err ? reject(err) : resolve())),
  );
}

describe('a body over the limit gets its 413, not a connection reset', () => {
  let server: Server;
  let port: number;
  const LIMIT = 64 * 1024;

  before(async () => {
    const { app } = build(new RecordingAdapter(), { maxBodyBytes: LIMIT });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  // 4 MiB: far more than loopback socket buffers hold, so a server that
  // stopped reading and closed would reset the connection under the client.
  const body = Buffer.alloc(4 * 1024 * 1024, 'x');
  const TRIES = 20;
  const variants = [
    { name: 'declared length', chunked: false, close: false },
    { name: 'declared length, Connection: close', chunked: false, close: true },
    { name: 'chunked', chunked: true, close: false },
    { name: 'chunked, Connection: close', chunked: true, close: true },
  ];
  for (const v of variants) {
    it(`${v.name}: ${TRIES} of ${TRIES} tries read the 413`, async function () {
      this.timeout(30_000);
      const answers: string[] = [];
      for (let i = 0; i < TRIES; i++) {
        const socket = connect(port, '127.0.0.1');
        try {
          const answer = readAnswer(socket);
          // Never rejected unobserved, even when a write fails first.
          answer.catch(() => undefined);
          await write(
            socket,
            [
              `POST /azure/${TOKEN} HTTP/1.1`,
              'Host: 127.0.0.1',
              'Content-Type: application/json',
              v.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`,
              ...(v.close ? ['Connection: close'] : []),
              '',
              '',
            ].join('\r\n'),
          );
          // The whole body, as Azure sends it, before reading the answer.
          for (let at = 0; at < body.length; at += 256 * 1024) {
            const piece = body.subarray(at, at + 256 * 1024);
            await write(
              socket,
              v.chunked
                ? Buffer.concat([
                    Buffer.from(`${piece.length.toString(16)}\r\n`),
                    piece,
                    Buffer.from('\r\n'),
                  ])
                : piece,
            );
          }
          if (v.chunked) await write(socket, '0\r\n\r\n');
          const { status, body: text } = await answer;
          answers.push(`${status} ${text}`);
        } catch (err) {
          answers.push(`failed: ${(err as Error).message.slice(0, 80)}`);
        } finally {
          socket.destroy();
        }
      }
      assert.deepEqual(
        answers,
        Array.from(
          { length: TRIES },
          () =>
            `HTTP/1.1 413 Payload Too Large {"error":"request body larger than ${LIMIT} bytes"}`,
        ),
      );
    });
  }

  it('past the drain bound (8 MiB here), the connection is cut instead of read on', async () => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    let sent = 0;
    const total = 64 * 1024 * 1024;
    let open = true;
    void closed.then(() => (open = false));
    try {
      await write(
        socket,
        `POST /azure/${TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`,
      );
      const chunk = Buffer.alloc(256 * 1024, 'x');
      while (open && sent < total) {
        await write(socket, chunk).catch(() => (open = false));
        sent += chunk.length;
      }
      await closed;
      assert.ok(sent < 16 * 1024 * 1024, `server read ${sent} bytes before cutting`);
    } finally {
      socket.destroy();
    }
  });
});
