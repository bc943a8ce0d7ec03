import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  SecondFactorError,
  parseBasicAuthLines,
  parseHeaderLines,
  secondFactor,
} from '../../lib/receiver/second-factor.js';
import { azureReceiver, type AzureReceiverOptions } from '../../lib/index.js';
import type { WebhookRecord } from '../../lib/receiver/options.js';
import { fixture } from '../support/fixtures.js';
import { RecordingAdapter, warehouse } from '../support/recording-adapter.js';
import { buildReceiverApp } from '../support/receiver-app.js';

const TOKEN = 'a'.repeat(64);
const USER = 'azure-devops';
const PASSWORD = 'pa:ss-w0rd-of-the-tests';
const OLD_PASSWORD = 'old-password-of-the-tests';
const HEADER_VALUE = 'header-value-of-the-tests';
const OLD_HEADER_VALUE = 'old-header-value-of-the-tests';
const CHALLENGE = 'Basic realm="kargo-azure-receiver", charset="UTF-8"';
const UNAUTHORIZED = { error: 'unauthorized' };
const SECRETS = [PASSWORD, OLD_PASSWORD, HEADER_VALUE, OLD_HEADER_VALUE];

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

function build(options: Partial<AzureReceiverOptions>) {
  const adapter = new RecordingAdapter();
  adapter.targets = [warehouse('hello-world')];
  return { ...buildReceiverApp(TOKEN, adapter, options), adapter };
}

interface Case {
  name: string;
  options: Partial<AzureReceiverOptions>;
  headers: Record<string, string>;
  status: 200 | 401;
  /** The record's factorsFailed on a 401. */
  failed?: string[];
  challenge?: boolean;
}

const BOTH: Partial<AzureReceiverOptions> = {
  basicAuth: { username: USER, password: PASSWORD },
  headers: { 'X-Kargo-Key': HEADER_VALUE },
};

const cases: Case[] = [
  {
    name: 'basic auth: right credentials',
    options: { basicAuth: { username: USER, password: PASSWORD } },
    headers: { Authorization: basic(USER, PASSWORD) },
    status: 200,
  },
  {
    name: 'basic auth: missing',
    options: { basicAuth: { username: USER, password: PASSWORD } },
    headers: {},
    status: 401,
    failed: ['basic-auth: missing'],
    challenge: true,
  },
  {
    name: 'basic auth: wrong password',
    options: { basicAuth: { username: USER, password: PASSWORD } },
    headers: { Authorization: basic(USER, `${PASSWORD}x`) },
    status: 401,
    failed: ['basic-auth: wrong'],
    challenge: true,
  },
  {
    name: 'basic auth: wrong user name',
    options: { basicAuth: { username: USER, password: PASSWORD } },
    headers: { Authorization: basic('someone-else', PASSWORD) },
    status: 401,
    failed: ['basic-auth: wrong'],
    challenge: true,
  },
  {
    name: "basic auth: one pair's user name with another pair's password",
    options: {
      basicAuth: [
        { username: USER, password: PASSWORD },
        { username: 'other', password: OLD_PASSWORD },
      ],
    },
    headers: { Authorization: basic(USER, OLD_PASSWORD) },
    status: 401,
    failed: ['basic-auth: wrong'],
    challenge: true,
  },
  {
    name: 'basic auth: another scheme',
    options: { basicAuth: { username: USER, password: PASSWORD } },
    headers: { Authorization: `Bearer ${PASSWORD}` },
    status: 401,
    failed: ['basic-auth: malformed'],
    challenge: true,
  },
  {
    name: 'basic auth: rotation, the old pair still accepted',
    options: {
      basicAuth: [
        { username: USER, password: PASSWORD },
        { username: USER, password: OLD_PASSWORD },
      ],
    },
    headers: { Authorization: basic(USER, OLD_PASSWORD) },
    status: 200,
  },
  {
    name: 'basic auth: scheme in any case (RFC 9110)',
    options: { basicAuth: { username: USER, password: PASSWORD } },
    headers: { Authorization: basic(USER, PASSWORD).replace('Basic', 'bAsIc') },
    status: 200,
  },
  {
    name: 'header: right value, name in another case',
    options: { headers: { 'X-Kargo-Key': HEADER_VALUE } },
    headers: { 'x-kargo-KEY': HEADER_VALUE },
    status: 200,
  },
  {
    name: 'header: missing (no challenge without basic auth)',
    options: { headers: { 'X-Kargo-Key': HEADER_VALUE } },
    headers: {},
    status: 401,
    failed: ['header x-kargo-key: missing'],
  },
  {
    name: 'header: wrong value',
    options: { headers: { 'X-Kargo-Key': HEADER_VALUE } },
    headers: { 'X-Kargo-Key': `${HEADER_VALUE}x` },
    status: 401,
    failed: ['header x-kargo-key: wrong'],
  },
  {
    name: 'header: a prefix of the value',
    options: { headers: { 'X-Kargo-Key': HEADER_VALUE } },
    headers: { 'X-Kargo-Key': HEADER_VALUE.slice(0, -1) },
    status: 401,
    failed: ['header x-kargo-key: wrong'],
  },
  {
    name: 'header: rotation, the old value still accepted',
    options: { headers: { 'X-Kargo-Key': [HEADER_VALUE, OLD_HEADER_VALUE] } },
    headers: { 'X-Kargo-Key': OLD_HEADER_VALUE },
    status: 200,
  },
  {
    name: 'header: Authorization as a custom header (ACR)',
    options: { headers: { Authorization: `Bearer ${HEADER_VALUE}` } },
    headers: { Authorization: `Bearer ${HEADER_VALUE}` },
    status: 200,
  },
  {
    name: 'headers: two required, one missing',
    options: { headers: { 'X-Kargo-Key': HEADER_VALUE, 'X-Other': OLD_HEADER_VALUE } },
    headers: { 'X-Kargo-Key': HEADER_VALUE },
    status: 401,
    failed: ['header x-other: missing'],
  },
  {
    name: 'both factors: right',
    options: BOTH,
    headers: { Authorization: basic(USER, PASSWORD), 'X-Kargo-Key': HEADER_VALUE },
    status: 200,
  },
  {
    name: 'both factors: basic auth right, header wrong',
    options: BOTH,
    headers: { Authorization: basic(USER, PASSWORD), 'X-Kargo-Key': OLD_HEADER_VALUE },
    status: 401,
    failed: ['header x-kargo-key: wrong'],
    challenge: true,
  },
  {
    name: 'both factors: header right, basic auth missing',
    options: BOTH,
    headers: { 'X-Kargo-Key': HEADER_VALUE },
    status: 401,
    failed: ['basic-auth: missing'],
    challenge: true,
  },
  {
    name: 'both factors: both wrong, both named',
    options: BOTH,
    headers: { Authorization: basic(USER, OLD_PASSWORD), 'X-Kargo-Key': OLD_HEADER_VALUE },
    status: 401,
    failed: ['basic-auth: wrong', 'header x-kargo-key: wrong'],
    challenge: true,
  },
];

describe('second factor: azureReceiver({ basicAuth, headers })', () => {
  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const { app, adapter, logger, records } = build(c.options);
      const res = await request(app)
        .post(`/azure/${TOKEN}`)
        .set(c.headers)
        .send(fixture('acr-push'))
        .expect(c.status);
      assert.equal(res.headers['www-authenticate'], c.challenge ? CHALLENGE : undefined);
      if (c.status === 200) {
        assert.deepEqual(res.body, { msg: 'refreshed 1 warehouse(s)' });
        assert.equal(adapter.calls, 2);
        assert.equal(records[0]?.factorsFailed, undefined);
        return;
      }
      assert.deepEqual(res.body, UNAUTHORIZED);
      assert.equal(adapter.calls, 0, 'the adapters are never called');
      assert.equal(records.length, 1);
      assert.deepEqual(
        { ...records[0], durationMs: 0 },
        {
          outcome: 'rejected',
          status: 401,
          code: 'UNAUTHORIZED',
          factorsFailed: c.failed,
          matched: 0,
          refreshed: 0,
          failed: 0,
          durationMs: 0,
        },
      );
      const line = logger.lines.find((l) => l.msg === 'webhook');
      assert.equal(line?.level, 'warn');
      assert.deepEqual((line?.obj as WebhookRecord).factorsFailed, c.failed);
      for (const secret of SECRETS) {
        assert.ok(!logger.text().includes(secret), 'a value in the logs');
        assert.ok(!JSON.stringify(records).includes(secret), 'a value in the records');
        assert.ok(!JSON.stringify(res.body).includes(secret), 'a value in the answer');
      }
    });
  }

  it('is checked before the method and before the body: a GET and a non-JSON body get 401 too', async () => {
    const { app, adapter } = build(BOTH);
    await request(app).get(`/azure/${TOKEN}`).expect(401, UNAUTHORIZED);
    await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'application/json')
      .send('{not json')
      .expect(401, UNAUTHORIZED);
    assert.equal(adapter.calls, 0);
  });

  it('a wrong token still gets 404, whatever the second factor', async () => {
    const { app } = build(BOTH);
    await request(app)
      .post(`/azure/${'b'.repeat(64)}`)
      .set('Authorization', basic(USER, PASSWORD))
      .set('X-Kargo-Key', HEADER_VALUE)
      .send(fixture('acr-push'))
      .expect(404, { error: 'not found' });
  });

  it('an ACR ping without the factor gets 401: Azure\'s "Ping" shows the problem', async () => {
    const { app } = build(BOTH);
    await request(app).post(`/azure/${TOKEN}`).send({ action: 'ping' }).expect(401, UNAUTHORIZED);
  });

  it('the body of a refused request is never read: a chunked upload gets 401 and the connection closes', async () => {
    const { app } = build(BOTH);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await new Promise<{ status: number; connection: string | undefined }>(
        (resolve, reject) => {
          const req = httpRequest(
            { host: '127.0.0.1', port, method: 'POST', path: `/azure/${TOKEN}` },
            (res) => {
              res.resume();
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
            },
          );
          req.on('error', reject);
          // A first chunk only: the rest never comes, so the answer cannot wait for it.
          req.write('{"action":');
        },
      );
      assert.deepEqual(answer, { status: 401, connection: 'close' });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('second factor: options checked at factory time, values never echoed', () => {
  const adapter = new RecordingAdapter();
  const bad: Array<{ name: string; options: Partial<AzureReceiverOptions>; message: string }> = [
    {
      name: 'a user name with a colon',
      options: { basicAuth: { username: `a:${PASSWORD}`, password: PASSWORD } },
      message:
        '[kargo-azure-receiver] options.basicAuth: the user name must be non-empty, without ":" or control characters',
    },
    {
      name: 'an empty password',
      options: { basicAuth: [{ username: USER, password: '' }] },
      message: '[kargo-azure-receiver] options.basicAuth[0].password is not allowed to be empty',
    },
    {
      name: 'a password with a line break',
      options: { basicAuth: [{ username: USER, password: `${PASSWORD}\n` }] },
      message:
        '[kargo-azure-receiver] options.basicAuth[0]: the password must be non-empty, without control characters',
    },
    {
      name: 'credentials without a password',
      options: { basicAuth: { username: USER } as never },
      message: '[kargo-azure-receiver] options.basicAuth.password is required',
    },
    {
      name: 'a header value with surrounding white space',
      options: { headers: { 'X-Key': ` ${HEADER_VALUE}` } },
      message:
        '[kargo-azure-receiver] options.headers.X-Key: the value of header x-key must be non-empty printable ASCII without surrounding white space',
    },
    {
      name: 'a header that describes the message',
      options: { headers: { 'Content-Type': 'application/json' } },
      message:
        '[kargo-azure-receiver] options.headers.Content-Type: the header content-type describes the message and cannot carry a second factor',
    },
    {
      name: 'an invalid header name',
      options: { headers: { 'X Key': HEADER_VALUE } },
      message: '[kargo-azure-receiver] options.headers.X Key: not a valid HTTP header name',
    },
    {
      name: 'Authorization together with basic auth',
      options: {
        basicAuth: { username: USER, password: PASSWORD },
        headers: { authorization: HEADER_VALUE },
      },
      message:
        '[kargo-azure-receiver] options.headers.authorization: the header authorization cannot be required together with basic authentication, which sends it',
    },
    {
      name: 'no value for a header',
      options: { headers: { 'X-Key': [] } },
      message: '[kargo-azure-receiver] options.headers.X-Key must contain at least 1 items',
    },
    {
      name: 'empty headers',
      options: { headers: {} },
      message: '[kargo-azure-receiver] options.headers must have at least 1 key',
    },
  ];
  for (const c of bad) {
    it(`${c.name}: TypeError`, () => {
      assert.throws(
        () =>
          azureReceiver({
            token: TOKEN,
            lookup: adapter.lookup,
            refresh: adapter.refresh,
            ...c.options,
          }),
        (err: Error) => {
          assert.ok(err instanceof TypeError);
          assert.equal(err.message, c.message);
          for (const secret of SECRETS) assert.ok(!err.message.includes(secret));
          return true;
        },
      );
    });
  }
});

describe('second factor: the line formats of Secrets, flags and variables', () => {
  it('basicAuth: one username:password per line; the password may hold colons; blank lines and comments skipped', () => {
    assert.deepEqual(
      parseBasicAuthLines(`# current\n${USER}:${PASSWORD}\r\n\n${USER}:${OLD_PASSWORD}\n`, 'KEY'),
      [
        { username: USER, password: PASSWORD },
        { username: USER, password: OLD_PASSWORD },
      ],
    );
  });

  it('headers: one Name: Value per line, as in Azure DevOps; a repeated name accepts each value', () => {
    assert.deepEqual(
      parseHeaderLines(
        `X-Kargo-Key: ${HEADER_VALUE}\nx-kargo-key:${OLD_HEADER_VALUE}\nX-Other: a b`,
        'KEY',
      ),
      { 'x-kargo-key': [HEADER_VALUE, OLD_HEADER_VALUE], 'x-other': ['a b'] },
    );
  });

  const errors: Array<[string, () => unknown, string]> = [
    [
      'basic auth without a colon',
      () => parseBasicAuthLines(`\n${PASSWORD.replace(':', '')}`, 'KAR_BASIC_AUTH'),
      'KAR_BASIC_AUTH, line 2: expected username:password',
    ],
    [
      'basic auth with an empty password',
      () => parseBasicAuthLines(`${USER}:`, 'KAR_BASIC_AUTH'),
      'KAR_BASIC_AUTH, line 1: the password must be non-empty, without control characters',
    ],
    [
      'basic auth with nothing',
      () => parseBasicAuthLines('\n# none\n', 'KAR_BASIC_AUTH'),
      'KAR_BASIC_AUTH: no username:password line',
    ],
    [
      'a header line without a colon',
      () => parseHeaderLines(`X-Key ${HEADER_VALUE}`, 'KAR_HEADERS'),
      'KAR_HEADERS, line 1: expected Name: Value',
    ],
    [
      'a header name with spaces',
      () => parseHeaderLines(`Authorization Bearer ${HEADER_VALUE}:x`, 'KAR_HEADERS'),
      'KAR_HEADERS, line 1: not a valid HTTP header name',
    ],
    [
      'a header without a value',
      () => parseHeaderLines('X-Key:  ', 'KAR_HEADERS'),
      'KAR_HEADERS, line 1: the value of header x-key must be non-empty printable ASCII without surrounding white space',
    ],
    [
      'a reserved header',
      () => parseHeaderLines('Host: example.com', 'KAR_HEADERS'),
      'KAR_HEADERS, line 1: the header host describes the message and cannot carry a second factor',
    ],
  ];
  for (const [name, parse, message] of errors) {
    it(`${name}: an error naming the line, never the value`, () => {
      assert.throws(parse, (err: Error) => {
        assert.ok(err instanceof SecondFactorError);
        assert.equal(err.message, message);
        return true;
      });
    });
  }

  it('secondFactor(): undefined when nothing is required; names the required factors', () => {
    assert.equal(secondFactor({}), undefined);
    assert.deepEqual(
      secondFactor({ basicAuth: [{ username: USER, password: PASSWORD }], headers: { 'X-A': 'v' } })
        ?.factors,
      ['basic-auth', 'header:x-a'],
    );
  });
});
