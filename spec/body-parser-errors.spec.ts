/**
 * An app that runs `express.json()` app-wide, before the receiver: with
 * `bodyParserErrors()` mounted at the receiver's path, the parser's failures
 * get the receiver's JSON answers, not Express's HTML error page and a
 * logged stack. Runs on Express 5 and, with KAR_EXPRESS=4, Express 4.
 */
import assert from 'node:assert/strict';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { azureReceiver, bodyParserErrors } from '../lib/index.js';
import { acrPush, recordingAdapter } from '../lib/testing/index.js';
import { bodyParserAnswer } from '../lib/body-parser-errors.js';
import * as apps from '../examples/app-wide-json.js';

const TOKEN = 'body-parser-errors-token-0123456789';
const target = { kind: 'Warehouse', namespace: 'kargo-demo', name: 'app' } as const;
/** express.json()'s default limit: 100 kB. */
const DEFAULT_JSON_LIMIT = 102_400;

function appWith(handler: boolean) {
  const passedOn: unknown[] = [];
  const adapter = recordingAdapter({ targets: [target] });
  const app = express();
  app.use(express.json());
  app.use('/azure', azureReceiver({ token: TOKEN, ...adapter }));
  if (handler) app.use('/azure', bodyParserErrors());
  app.get('/boom', () => {
    throw new Error('boom');
  });
  // Stands in for Express's final handler, which logs the stack.
  app.use(function lastErrorHandler(
    err: unknown,
    _req: Request,
    res: Response,
    next: NextFunction,
  ) {
    void next;
    passedOn.push(err);
    res.status(500).type('text/html').send('<pre>Error</pre>');
  });
  return { app, passedOn, adapter };
}

const tooLarge = JSON.stringify({
  ...acrPush({ repository: 'app' }),
  pad: 'x'.repeat(DEFAULT_JSON_LIMIT),
});

const cases: Array<{
  name: string;
  send: (r: request.Test) => request.Test;
  status: number;
  body: unknown;
}> = [
  {
    name: 'malformed JSON',
    send: (r) => r.set('Content-Type', 'application/json').send('{"action": "push",'),
    status: 400,
    body: { error: 'invalid request body' },
  },
  {
    name: "a body over express.json()'s 100 kB",
    send: (r) => r.set('Content-Type', 'application/json').send(tooLarge),
    status: 413,
    body: { error: `request body larger than ${DEFAULT_JSON_LIMIT} bytes` },
  },
  {
    name: 'an encoding the parser cannot decode',
    send: (r) =>
      r.set('Content-Type', 'application/json').set('Content-Encoding', 'x-zip').send('{}'),
    status: 415,
    body: { error: 'unsupported content encoding "x-zip"' },
  },
  {
    name: 'a charset the parser refuses',
    send: (r) => r.set('Content-Type', 'application/json; charset=latin-9').send('{}'),
    status: 415,
    body: { error: 'unsupported charset' },
  },
];

describe('bodyParserErrors(): an app-wide express.json() before the receiver', function () {
  for (const c of cases) {
    it(`${c.name}: without it, Express's error page (the failure we fix)`, async function () {
      const { app, passedOn } = appWith(false);
      const res = await c.send(request(app).post(`/azure/${TOKEN}`));
      assert.equal(res.status, 500);
      assert.equal(res.text, '<pre>Error</pre>');
      assert.equal(passedOn.length, 1);
    });

    it(`${c.name}: with it, ${c.status} ${JSON.stringify(c.body)} as JSON`, async function () {
      const { app, passedOn, adapter } = appWith(true);
      const res = await c.send(request(app).post(`/azure/${TOKEN}`));
      assert.equal(res.status, c.status);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.deepEqual(res.body, c.body);
      assert.deepEqual(passedOn, []);
      assert.deepEqual(adapter.lookups, []);
    });
  }

  it('the receiver answers malformed JSON it reads itself with the same body', async function () {
    const app = express();
    app.use('/azure', azureReceiver({ token: TOKEN, ...recordingAdapter() }));
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'application/json')
      .send('{"action": "push",');
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error: 'invalid request body' });
  });

  it('a parsed body still reaches the receiver, which refreshes', async function () {
    const { app, adapter } = appWith(true);
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .send(acrPush({ repository: 'app', tag: '1.0.0' }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { msg: 'refreshed 1 warehouse(s)' });
    assert.equal(adapter.lookups.length, 1);
  });

  it('other errors pass on to the next error handler; an unknown limit is not invented', async function () {
    const { app, passedOn } = appWith(true);
    const res = await request(app).get('/boom');
    assert.equal(res.status, 500);
    assert.equal(passedOn.length, 1);
    assert.equal((passedOn[0] as Error).message, 'boom');
    assert.equal(bodyParserAnswer(new Error('x')), undefined);
    assert.equal(
      bodyParserAnswer({ type: 'entity.too.large', status: 413 })?.error,
      'request body too large',
    );
  });
});

describe('examples/app-wide-json.ts', function () {
  for (const name of ['receiverFirst', 'parserFirst'] as const) {
    it(`${name}: malformed JSON gets the receiver's 400`, async function () {
      const res = await request(apps[name])
        .post('/azure/a-token-of-at-least-16-chars')
        .set('Content-Type', 'application/json')
        .send('{"action": "push",');
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { error: 'invalid request body' });
    });
  }
});
