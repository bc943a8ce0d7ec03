import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { kargoToken } from '../../lib/receiver/token.js';
import {
  kargoReceivers,
  listReceiverURLs,
  type KargoReceiversRouter,
} from '../../lib/kargo/index.js';
import type { WebhookRecord } from '../../lib/receiver/options.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { fixtureText } from '../support/fixtures.js';
import { RecordingLogger } from '../support/recording-adapter.js';
import { azure, projectConfig, secret, until, warehouse, warehousePatches } from './helpers.js';

const SECRET = 'secret-of-the-second-factor-specs';
const RECEIVER = 'azure-wh-receiver';
const PROJECT = 'proj-a';
const PASSWORD = 'password:of-the-tests-1';
const NEW_PASSWORD = 'password-of-the-tests-2';
const HEADER = 'header-value-of-the-tests';
const NEW_HEADER = 'header-value-of-the-tests-2';
const VALUES = [PASSWORD, NEW_PASSWORD, HEADER, NEW_HEADER];
const CHALLENGE = 'Basic realm="kargo-azure-receiver", charset="UTF-8"';
const PATH = `/azure/${kargoToken({ project: PROJECT, receiver: RECEIVER, secret: SECRET })}`;

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** The receiver's Secret: `secret` plus the given extra keys (plain text, encoded here). */
function receiverSecret(extra: Record<string, string>) {
  const data: Record<string, string> = { secret: b64(SECRET) };
  for (const [key, value] of Object.entries(extra)) data[key] = b64(value);
  return secret(PROJECT, 'azure-wh-secret', undefined, data);
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

describe('kargoReceivers: a second factor from the Secret (basicAuth and headers keys)', function () {
  let api: FakeKubeApi;
  let logger: RecordingLogger;
  let records: WebhookRecord[];
  let router: KargoReceiversRouter;
  let app: express.Express;

  async function start(extra: Record<string, string>): Promise<void> {
    api.put(receiverSecret(extra));
    router = kargoReceivers({
      kubeConfig: api.kubeConfig(),
      logger,
      onWebhook: (r) => records.push(r),
    });
    app = express();
    app.use(router);
    await router.ready();
  }

  function push(headers: Record<string, string>): request.Test {
    return request(app)
      .post(PATH)
      .set('Content-Type', 'application/json')
      .set(headers)
      .send(fixtureText('acr-push'));
  }

  /** Pushes until the answer is `status`: the Secret's watch event arrives asynchronously. */
  async function eventually(headers: Record<string, string>, status: number): Promise<void> {
    let last = 0;
    for (let i = 0; i < 200 && last !== status; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 10));
      last = (await push(headers)).status;
    }
    assert.equal(last, status);
  }

  beforeEach(async function () {
    api = new FakeKubeApi();
    await api.start();
    logger = new RecordingLogger();
    records = [];
    api.put(warehouse(PROJECT, 'images'));
    api.put(projectConfig(PROJECT, [azure(RECEIVER, 'azure-wh-secret')]));
  });

  afterEach(async function () {
    await router.close();
    await api.close();
  });

  it('basicAuth: right credentials refresh; missing or wrong get 401 with a challenge, nothing refreshed', async function () {
    await start({ basicAuth: `azure-devops:${PASSWORD}\n` });
    // Extra keys leave the path as Kargo computes it from `secret` alone.
    assert.deepEqual(
      router.receivers().map((r) => r.path),
      [PATH],
    );
    for (const headers of [{}, { Authorization: basic('azure-devops', NEW_PASSWORD) }] as Array<
      Record<string, string>
    >) {
      const res = await push(headers).expect(401, { error: 'unauthorized' });
      assert.equal(res.headers['www-authenticate'], CHALLENGE);
    }
    assert.deepEqual(warehousePatches(api), []);
    await push({ Authorization: basic('azure-devops', PASSWORD) }).expect(200, {
      msg: 'refreshed 1 warehouse(s)',
    });
    assert.deepEqual(warehousePatches(api), [`${PROJECT}/images`]);
    assert.deepEqual(
      records.map((r) => [r.status, r.factorsFailed, r.labels]),
      [
        [401, ['basic-auth: missing'], { project: PROJECT, receiver: RECEIVER }],
        [401, ['basic-auth: wrong'], { project: PROJECT, receiver: RECEIVER }],
        [200, undefined, { project: PROJECT, receiver: RECEIVER }],
      ],
    );
    const served = logger.lines.find((l) => l.msg?.includes('served'));
    assert.deepEqual((served?.obj as { secondFactor?: string[] }).secondFactor, ['basic-auth']);
  });

  it('headers: one Name: Value per line; missing or wrong get 401 without a challenge', async function () {
    await start({ headers: `X-Kargo-Key: ${HEADER}\nX-Other: ${NEW_HEADER}` });
    const missing = await push({ 'X-Kargo-Key': HEADER }).expect(401, { error: 'unauthorized' });
    assert.equal(missing.headers['www-authenticate'], undefined);
    await push({ 'X-Kargo-Key': NEW_HEADER, 'X-Other': NEW_HEADER }).expect(401);
    await push({ 'x-kargo-key': HEADER, 'x-other': NEW_HEADER }).expect(200);
    assert.deepEqual(
      records.map((r) => r.factorsFailed),
      [['header x-other: missing'], ['header x-kargo-key: wrong'], undefined],
    );
  });

  it('both factors: each is required', async function () {
    await start({ basicAuth: `u:${PASSWORD}`, headers: `X-Kargo-Key: ${HEADER}` });
    await push({ Authorization: basic('u', PASSWORD) }).expect(401);
    await push({ 'X-Kargo-Key': HEADER }).expect(401);
    await push({ Authorization: basic('u', PASSWORD), 'X-Kargo-Key': HEADER }).expect(200);
    assert.deepEqual(
      records.map((r) => r.factorsFailed),
      [['header x-kargo-key: missing'], ['basic-auth: missing'], undefined],
    );
  });

  it('rotation takes effect live: add the new value, switch Azure, drop the old one; the path never changes', async function () {
    await start({ basicAuth: `u:${PASSWORD}`, headers: `X-Kargo-Key: ${HEADER}` });
    const old = { Authorization: basic('u', PASSWORD), 'X-Kargo-Key': HEADER };
    const next = { Authorization: basic('u', NEW_PASSWORD), 'X-Kargo-Key': NEW_HEADER };
    await push(next).expect(401);

    api.put(
      receiverSecret({
        basicAuth: `u:${PASSWORD}\nu:${NEW_PASSWORD}`,
        headers: `X-Kargo-Key: ${HEADER}\nX-Kargo-Key: ${NEW_HEADER}`,
      }),
    );
    await eventually(next, 200);
    await push(next).expect(200);
    await push(old).expect(200);

    api.put(
      receiverSecret({ basicAuth: `u:${NEW_PASSWORD}`, headers: `X-Kargo-Key: ${NEW_HEADER}` }),
    );
    await eventually(old, 401);
    await push(old).expect(401);
    await push(next).expect(200);

    // Removing the keys removes the factor.
    api.put(receiverSecret({}));
    await eventually({}, 200);
    await push({}).expect(200);
    assert.deepEqual(
      router.receivers().map((r) => r.path),
      [PATH],
    );
  });

  const broken: Array<{
    name: string;
    extra: Record<string, string>;
    reason: string;
    text: string;
  }> = [
    {
      name: 'basicAuth without a colon',
      extra: { basicAuth: PASSWORD.replace(':', '') },
      reason: 'basic-auth-invalid',
      text: `the Secret's "basicAuth" value is not one username:password per line (user name without ":", no control characters)`,
    },
    {
      name: 'an empty basicAuth',
      extra: { basicAuth: '' },
      reason: 'basic-auth-invalid',
      text: `the Secret's "basicAuth" value is not one username:password per line (user name without ":", no control characters)`,
    },
    {
      name: 'a headers line without a colon',
      extra: { headers: `X-Kargo-Key ${HEADER}` },
      reason: 'headers-invalid',
      text: `the Secret's "headers" value is not one "Name: Value" per line of headers that can carry a second factor (printable ASCII values; no Authorization together with "basicAuth")`,
    },
    {
      name: 'Authorization in headers together with basicAuth',
      extra: { basicAuth: `u:${PASSWORD}`, headers: `Authorization: Bearer ${HEADER}` },
      reason: 'headers-invalid',
      text: `the Secret's "headers" value is not one "Name: Value" per line of headers that can carry a second factor (printable ASCII values; no Authorization together with "basicAuth")`,
    },
  ];
  for (const c of broken) {
    it(`${c.name}: not served (never served without the factor asked for), one warning without the value`, async function () {
      await start(c.extra);
      assert.deepEqual(router.receivers(), []);
      await push({}).expect(404, { error: 'not found' });
      const warnings = logger.lines.filter((l) => l.level === 'warn' && l.msg !== 'webhook');
      assert.deepEqual(warnings, [
        {
          level: 'warn',
          obj: {
            config: `ProjectConfig ${PROJECT}/${PROJECT}`,
            project: PROJECT,
            receiver: RECEIVER,
            secretRef: `${PROJECT}/azure-wh-secret`,
            reason: c.reason,
          },
          msg: `Azure receiver "${RECEIVER}" of ProjectConfig ${PROJECT}/${PROJECT} not served: ${c.text} (Secret ${PROJECT}/azure-wh-secret)`,
        },
      ]);
      // `urls` leaves it out the same way.
      const urlsLogger = new RecordingLogger();
      assert.deepEqual(
        await listReceiverURLs({ kubeConfig: api.kubeConfig(), logger: urlsLogger }),
        [],
      );
      assert.equal((urlsLogger.lines[0]?.obj as { reason?: string }).reason, c.reason);
      // Fixed: served at once.
      api.put(receiverSecret({ headers: `X-Kargo-Key: ${HEADER}` }));
      await until(() => router.receivers().length === 1, 'fixed');
      await push({ 'X-Kargo-Key': HEADER }).expect(200);
      for (const value of [...VALUES, SECRET])
        assert.ok(!logger.text().includes(value), 'a value in the logs');
    });
  }

  it('never logs a value of the Secret, in any line', async function () {
    await start({ basicAuth: `u:${PASSWORD}`, headers: `X-Kargo-Key: ${HEADER}` });
    await push({ Authorization: basic('u', NEW_PASSWORD), 'X-Kargo-Key': NEW_HEADER }).expect(401);
    await push({ Authorization: basic('u', PASSWORD), 'X-Kargo-Key': HEADER }).expect(200);
    const text = logger.text() + JSON.stringify(records);
    for (const value of [...VALUES, SECRET, PATH.slice('/azure/'.length)])
      assert.ok(!text.includes(value), 'a value in the logs or records');
  });
});
