import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { azureReceiver } from '../../lib/index.js';
import type { AzureReceiverOptions } from '../../lib/index.js';
import type { WebhookRecord } from '../../lib/receiver/options.js';
import { fixture, fixtureText } from '../support/fixtures.js';
import { RecordingAdapter, warehouse } from '../support/recording-adapter.js';
import { buildReceiverApp } from '../support/receiver-app.js';

const TOKEN = 'a'.repeat(64);
const OTHER_TOKEN = 'b'.repeat(64);
const PING_MSG = { msg: 'ping event received, webhook is configured correctly' };

function build(adapter: RecordingAdapter, options: Partial<AzureReceiverOptions> = {}) {
  return buildReceiverApp(TOKEN, adapter, options);
}

interface Case {
  name: string;
  path?: string;
  method?: 'post' | 'get' | 'put' | 'delete' | 'patch';
  body?: string | object;
  headers?: Record<string, string>;
  targets?: number;
  status: number;
  body_: object;
  /** Whether the adapters may be called. */
  adapters: boolean;
}

const acrPush = fixture('acr-push');
const devopsPush = fixture('devops-git-push');

const cases: Case[] = [
  {
    name: 'wrong token, POST of a real push',
    path: `/azure/${OTHER_TOKEN}`,
    body: acrPush,
    status: 404,
    body_: { error: 'not found' },
    adapters: false,
  },
  {
    name: 'wrong token, GET',
    path: `/azure/${OTHER_TOKEN}`,
    method: 'get',
    status: 404,
    body_: { error: 'not found' },
    adapters: false,
  },
  {
    name: 'wrong token, body not JSON (never parsed)',
    path: `/azure/${OTHER_TOKEN}`,
    body: '{not json',
    status: 404,
    body_: { error: 'not found' },
    adapters: false,
  },
  {
    name: 'token prefix only',
    path: `/azure/${TOKEN.slice(0, 63)}`,
    body: acrPush,
    status: 404,
    body_: { error: 'not found' },
    adapters: false,
  },
  {
    name: 'malformed percent-escape in the token (Express cannot decode it)',
    path: `/azure/${TOKEN}%E0%A4%A`,
    body: acrPush,
    status: 404,
    body_: { error: 'not found' },
    adapters: false,
  },
  {
    name: 'percent-encoded valid token is still the token',
    path: `/azure/%61${TOKEN.slice(1)}`,
    body: { action: 'ping' },
    status: 200,
    body_: PING_MSG,
    adapters: false,
  },
  {
    name: 'token with a suffix',
    path: `/azure/${TOKEN}x`,
    body: acrPush,
    status: 404,
    body_: { error: 'not found' },
    adapters: false,
  },
  {
    name: 'valid token, GET',
    method: 'get',
    status: 405,
    body_: { error: 'method GET not allowed: Azure webhooks use POST' },
    adapters: false,
  },
  {
    name: 'valid token, PUT',
    method: 'put',
    body: acrPush,
    status: 405,
    body_: { error: 'method PUT not allowed: Azure webhooks use POST' },
    adapters: false,
  },
  {
    name: 'body not JSON',
    body: '{"action": "push",',
    status: 400,
    body_: { error: 'invalid request body' },
    adapters: false,
  },
  {
    name: 'empty body',
    body: '',
    status: 400,
    body_: { error: 'invalid request body' },
    adapters: false,
  },
  {
    name: 'JSON array',
    body: '[{"action":"ping"}]',
    status: 400,
    body_: { error: 'invalid request body' },
    adapters: false,
  },
  {
    name: 'JSON null',
    body: 'null',
    status: 400,
    body_: { error: 'invalid request body' },
    adapters: false,
  },
  {
    name: 'JSON string',
    body: '"ping"',
    status: 400,
    body_: { error: 'invalid request body' },
    adapters: false,
  },
  {
    name: 'JSON number',
    body: '42',
    status: 400,
    body_: { error: 'invalid request body' },
    adapters: false,
  },
  {
    name: 'empty object',
    body: {},
    status: 400,
    body_: {
      error: 'request body is neither an Azure Container Registry nor an Azure DevOps event',
    },
    adapters: false,
  },
  {
    name: 'GitHub-shaped push',
    body: { ref: 'refs/heads/main', repository: { clone_url: 'https://github.com/a/b.git' } },
    status: 400,
    body_: {
      error: 'request body is neither an Azure Container Registry nor an Azure DevOps event',
    },
    adapters: false,
  },
  {
    name: 'unknown action without target',
    body: { action: 'explode' },
    status: 400,
    body_: {
      error: 'request body is neither an Azure Container Registry nor an Azure DevOps event',
    },
    adapters: false,
  },
  {
    name: 'ACR ping, bare',
    body: { action: 'ping' },
    status: 200,
    body_: PING_MSG,
    adapters: false,
  },
  {
    name: 'ACR ping with ACR user agent',
    body: { action: 'ping' },
    headers: { 'User-Agent': 'AzureContainerRegistry/1.0' },
    status: 200,
    body_: PING_MSG,
    adapters: false,
  },
  {
    name: 'ACR ping with a proxy user agent',
    body: { action: 'ping', id: 'x', timestamp: '2023-11-17T16:52:01Z' },
    headers: { 'User-Agent': 'Go-http-client/1.1' },
    status: 200,
    body_: PING_MSG,
    adapters: false,
  },
  {
    name: 'ACR push (real)',
    body: fixtureText('acr-push'),
    targets: 2,
    status: 200,
    body_: { msg: 'refreshed 2 warehouse(s)' },
    adapters: true,
  },
  {
    name: 'ACR push (real, 2017 text)',
    body: fixtureText('acr-push-2017'),
    targets: 1,
    status: 200,
    body_: { msg: 'refreshed 1 warehouse(s)' },
    adapters: true,
  },
  {
    name: 'ACR push matching nothing (an adapter without explainPush: a hint from the event alone)',
    body: acrPush,
    targets: 0,
    status: 200,
    body_: {
      msg: 'refreshed 0 warehouse(s)',
      hint: 'no Warehouse of this receiver takes tag "v1" of image myregistry.azurecr.io/hello-world (the adapter cannot say why)',
    },
    adapters: true,
  },
  {
    name: 'ACR delete (real)',
    body: fixtureText('acr-delete'),
    status: 200,
    body_: { msg: 'delete events need no refresh' },
    adapters: false,
  },
  {
    name: 'ACR chart_push (real)',
    body: fixtureText('acr-chart-push'),
    status: 200,
    body_: {
      msg: 'chart_push events come from legacy ACR Helm repositories, which Kargo cannot subscribe to',
    },
    adapters: false,
  },
  {
    name: 'ACR chart_delete',
    body: { ...fixture('acr-chart-push'), action: 'chart_delete' },
    status: 200,
    body_: { msg: 'chart_delete events need no refresh' },
    adapters: false,
  },
  {
    name: 'ACR quarantine',
    body: { ...acrPush, action: 'quarantine' },
    status: 200,
    body_: { msg: 'quarantine events need no refresh' },
    adapters: false,
  },
  {
    name: 'ACR action named like an Object.prototype member',
    body: { action: 'toString', target: {} },
    status: 200,
    body_: { msg: 'ACR toString events need no refresh' },
    adapters: false,
  },
  {
    name: 'ACR action added later, with target',
    body: { ...acrPush, action: 'sign' },
    status: 200,
    body_: { msg: 'ACR sign events need no refresh' },
    adapters: false,
  },
  {
    name: 'ACR push without request (no host)',
    body: { ...acrPush, request: undefined },
    status: 200,
    body_: { msg: 'nothing refreshed: the push event names no registry host and repository' },
    adapters: false,
  },
  {
    name: 'ACR push with a non-string repository',
    body: { ...acrPush, target: { ...acrPush.target, repository: 5 } },
    status: 400,
    body_: { error: 'invalid ACR push event: "target.repository" must be a string' },
    adapters: false,
  },
  {
    name: 'Azure DevOps git.push (real)',
    body: fixtureText('devops-git-push'),
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'User-Agent': 'VSServices/16.255.0',
    },
    targets: 3,
    status: 200,
    body_: { msg: 'refreshed 3 warehouse(s)' },
    adapters: true,
  },
  {
    name: 'Azure DevOps wizard Test payload (real)',
    body: fixtureText('devops-test-git-push'),
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    targets: 1,
    status: 200,
    body_: { msg: 'refreshed 1 warehouse(s)' },
    adapters: true,
  },
  {
    name: 'Azure DevOps git.push, Resource details: Minimal',
    body: {
      eventType: 'git.push',
      publisherId: 'tfs',
      resource: { url: devopsPush.resource.url, pushId: 14 },
    },
    status: 200,
    body_: {
      msg: 'nothing refreshed: the push event names no repository (set "Resource details to send" to All)',
    },
    adapters: false,
  },
  {
    name: 'Azure DevOps git.push that only deletes refs',
    body: {
      ...devopsPush,
      resource: {
        ...devopsPush.resource,
        refUpdates: [
          {
            name: 'refs/heads/old',
            oldObjectId: 'aad331d8d3b131fa9ae03cf5e53965b51942618a',
            newObjectId: '0000000000000000000000000000000000000000',
          },
        ],
      },
    },
    status: 200,
    body_: { msg: 'nothing refreshed: the push only deleted refs' },
    adapters: false,
  },
  {
    name: 'Azure DevOps git.push with a non-array refUpdates',
    body: { ...devopsPush, resource: { ...devopsPush.resource, refUpdates: 'refs/heads/main' } },
    status: 400,
    body_: { error: 'invalid Azure DevOps git.push event: "resource.refUpdates" must be an array' },
    adapters: false,
  },
  {
    name: 'Azure DevOps PR created (real)',
    body: fixtureText('devops-pr-created'),
    status: 200,
    body_: { msg: 'git.pullrequest.created events need no refresh' },
    adapters: false,
  },
  {
    name: 'Azure DevOps PR merged (real)',
    body: fixtureText('devops-pr-merged'),
    targets: 1,
    status: 200,
    body_: { msg: 'refreshed 1 promotion(s)' },
    adapters: true,
  },
  {
    name: 'Azure DevOps PR merge attempt that failed',
    body: {
      ...fixture('devops-pr-merged'),
      resource: {
        ...fixture('devops-pr-merged').resource,
        status: 'active',
        mergeStatus: 'conflicts',
      },
    },
    status: 200,
    body_: {
      msg: 'nothing refreshed: the merge did not complete (status active, mergeStatus conflicts)',
    },
    adapters: false,
  },
  {
    name: 'Azure DevOps PR updated to completed (real; the merged event announces completion)',
    body: fixtureText('devops-pr-updated'),
    status: 200,
    body_: { msg: 'nothing refreshed: a pull request update to status completed closes nothing' },
    adapters: false,
  },
  {
    name: 'Azure DevOps PR updated, still active',
    body: {
      ...fixture('devops-pr-updated'),
      resource: { ...fixture('devops-pr-updated').resource, status: 'active' },
    },
    status: 200,
    body_: { msg: 'nothing refreshed: a pull request update to status active closes nothing' },
    adapters: false,
  },
  {
    name: 'Azure DevOps PR updated to abandoned',
    body: {
      ...fixture('devops-pr-updated'),
      resource: { ...fixture('devops-pr-updated').resource, status: 'abandoned' },
    },
    targets: 2,
    status: 200,
    body_: { msg: 'refreshed 2 promotion(s)' },
    adapters: true,
  },
  {
    name: 'Azure DevOps other event type',
    body: { eventType: 'build.complete', publisherId: 'tfs', resource: {} },
    status: 200,
    body_: { msg: 'build.complete events need no refresh' },
    adapters: false,
  },
];

describe('azureReceiver: responses', () => {
  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const adapter = new RecordingAdapter();
      const kind =
        c.body_ && 'msg' in c.body_ && String(c.body_.msg).includes('promotion')
          ? 'Promotion'
          : 'Warehouse';
      adapter.targets = Array.from({ length: c.targets ?? 0 }, (_, i) => ({
        ...warehouse(`w${i}`),
        kind,
      }));
      const { app } = build(adapter);
      const path = c.path ?? `/azure/${TOKEN}`;
      let req = request(app)[c.method ?? 'post'](path);
      for (const [k, v] of Object.entries(c.headers ?? {})) req = req.set(k, v);
      if (c.body !== undefined) {
        if (!c.headers?.['Content-Type']) req = req.set('Content-Type', 'application/json');
        req = req.send(typeof c.body === 'string' ? c.body : JSON.stringify(c.body));
      }
      const res = await req;
      assert.equal(res.status, c.status);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(res.body, c.body_);
      if (c.adapters) {
        assert.equal(adapter.lookups.length, 1);
        assert.equal(adapter.refreshes.length, c.targets ?? 0);
      } else {
        assert.equal(adapter.calls, 0, 'adapters must not be called');
      }
    });
  }
});

describe('azureReceiver: events handed to lookup', () => {
  async function lookupOf(body: object | string): Promise<unknown> {
    const adapter = new RecordingAdapter();
    const { app } = build(adapter);
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
    assert.equal(res.status, 200);
    assert.equal(adapter.lookups.length, 1);
    return adapter.lookups[0];
  }

  it('ACR push of a Docker manifest: image URL only, tag as qualifier', async () => {
    assert.deepEqual(await lookupOf(acrPush), {
      type: 'push',
      source: 'acr',
      eventType: 'push',
      repoURLs: ['myregistry.azurecr.io/hello-world'],
      kinds: ['image'],
      qualifiers: ['v1'],
    });
  });

  it('ACR push of a Helm chart (OCI): chart kind only', async () => {
    const body = {
      ...acrPush,
      target: {
        ...acrPush.target,
        repository: 'charts/podinfo',
        tag: '6.5.0',
        mediaType: 'application/vnd.cncf.helm.config.v1+json',
      },
    };
    assert.deepEqual(await lookupOf(body), {
      type: 'push',
      source: 'acr',
      eventType: 'push',
      repoURLs: ['myregistry.azurecr.io/charts/podinfo'],
      kinds: ['chart'],
      qualifiers: ['6.5.0'],
    });
  });

  it('ACR push of an OCI manifest: both kinds are candidates', async () => {
    const body = {
      ...acrPush,
      target: { ...acrPush.target, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
    };
    assert.deepEqual(await lookupOf(body), {
      type: 'push',
      source: 'acr',
      eventType: 'push',
      repoURLs: ['myregistry.azurecr.io/hello-world'],
      kinds: ['image', 'chart'],
      qualifiers: ['v1'],
    });
  });

  it('ACR push by digest (no tag): no qualifier, so no filtering', async () => {
    const { tag: _tag, ...target } = acrPush.target;
    assert.deepEqual(await lookupOf({ ...acrPush, target }), {
      type: 'push',
      source: 'acr',
      eventType: 'push',
      repoURLs: ['myregistry.azurecr.io/hello-world'],
      kinds: ['image'],
      qualifiers: [],
    });
  });

  it('Azure DevOps git.push: normalized remote URL, updated refs, deletions skipped', async () => {
    const body = {
      ...devopsPush,
      resource: {
        ...devopsPush.resource,
        refUpdates: [
          { name: 'refs/heads/master', oldObjectId: 'a'.repeat(40), newObjectId: 'b'.repeat(40) },
          { name: 'refs/tags/v1.2.3', oldObjectId: '0'.repeat(40), newObjectId: 'c'.repeat(40) },
          { name: 'refs/heads/gone', oldObjectId: 'd'.repeat(40), newObjectId: '0'.repeat(40) },
        ],
      },
    };
    assert.deepEqual(await lookupOf(body), {
      type: 'push',
      source: 'azure-devops',
      eventType: 'git.push',
      repoURLs: [
        'https://dev.azure.com/fabrikam-fiber-inc/fabrikam-fiber-git/_git/fabrikam-fiber-git',
      ],
      kinds: ['git'],
      qualifiers: ['refs/heads/master', 'refs/tags/v1.2.3'],
      defaultBranch: 'main',
    });
  });

  const defaultBranches: Array<[unknown, string | undefined]> = [
    ['refs/heads/develop', 'develop'],
    ['release/1.x', 'release/1.x'],
    ['refs/tags/v1', undefined],
    ['', undefined],
    [null, undefined],
    [42, undefined],
  ];
  for (const [given, expected] of defaultBranches) {
    it(`git.push with defaultBranch ${JSON.stringify(given)}: ${expected ?? 'none'} (never a rejected push)`, async () => {
      const body = fixture('devops-git-push');
      body.resource.repository.defaultBranch = given;
      const event = (await lookupOf(body)) as { defaultBranch?: string };
      assert.equal(event.defaultBranch, expected);
      assert.equal('defaultBranch' in event, expected !== undefined);
    });
  }

  it('PR merged: the web URL, normalized (no #view=discussion)', async () => {
    assert.deepEqual(await lookupOf(fixtureText('devops-pr-merged')), {
      type: 'pull-request',
      source: 'azure-devops',
      eventType: 'git.pullrequest.merged',
      prURL: 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam/pullrequest/1',
    });
  });

  it('PR merged without _links: URL built from the repository and id', async () => {
    const merged = fixture('devops-pr-merged');
    delete merged.resource._links;
    assert.deepEqual(await lookupOf(merged), {
      type: 'pull-request',
      source: 'azure-devops',
      eventType: 'git.pullrequest.merged',
      prURL: 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam/pullrequest/1',
    });
  });
});

describe('azureReceiver: failures of the back end', () => {
  it('lookup failure → 503 with a fixed sentence, nothing of the error leaks', async () => {
    const adapter = new RecordingAdapter();
    adapter.failLookup = Object.assign(
      new Error(
        'HTTP-Code: 500 Body: {"token":"sekrit"} Headers: {"authorization":"Bearer sekrit"}',
      ),
      { code: 'ECONNRESET' },
    );
    const { app, logger, records } = build(adapter);
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'failed to look up subscribed warehouses' });
    assert.equal(adapter.refreshes.length, 0);
    assert.doesNotMatch(logger.text(), /sekrit/);
    assert.doesNotMatch(logger.text(), new RegExp(TOKEN));
    assert.equal(records[0]?.code, 'LOOKUP_FAILED');
  });

  it('lookup failure on a PR event names promotions', async () => {
    const adapter = new RecordingAdapter();
    adapter.failLookup = new Error('boom');
    const { app } = build(adapter);
    const res = await request(app).post(`/azure/${TOKEN}`).send(fixture('devops-pr-merged'));
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'failed to look up waiting promotions' });
  });

  it('one refresh of three fails → 503 "failed to refresh 1 of 3", the others still refreshed', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = [warehouse('a'), warehouse('b'), warehouse('c')];
    adapter.failRefresh.add('b');
    const { app, logger, records } = build(adapter);
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'failed to refresh 1 of 3 warehouse(s)' });
    assert.deepEqual(adapter.refreshes.map((t) => t.name).sort(), ['a', 'b', 'c']);
    assert.doesNotMatch(logger.text(), /leaked|Bearer/);
    const errorLine = logger.lines.find((l) => l.msg === 'refresh failed');
    assert.deepEqual(errorLine?.obj, {
      target: warehouse('b'),
      errorName: 'Error',
      errorCode: 500,
    });
    assert.deepEqual(
      {
        outcome: records[0]?.outcome,
        status: records[0]?.status,
        matched: records[0]?.matched,
        refreshed: records[0]?.refreshed,
        failed: records[0]?.failed,
      },
      { outcome: 'failed', status: 503, matched: 3, refreshed: 2, failed: 1 },
    );
  });

  it('every refresh of a PR event fails → 503 naming promotions', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = [{ kind: 'Promotion', namespace: 'p', name: 'x' }];
    adapter.failRefresh.add('x');
    const { app } = build(adapter);
    const res = await request(app).post(`/azure/${TOKEN}`).send(fixture('devops-pr-merged'));
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'failed to refresh 1 of 1 promotion(s)' });
  });

  it('a bug in an adapter that throws synchronously still answers 503', async () => {
    const { app } = build(new RecordingAdapter(), {
      lookup: () => {
        throw new TypeError('cannot read properties of undefined');
      },
    });
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'failed to look up subscribed warehouses' });
  });
});

describe('azureReceiver: the deadline (deadlineMs)', () => {
  it('a lookup still running at the deadline → 503, which Azure retries quickly', async () => {
    const adapter = new RecordingAdapter();
    const { app, records } = build(adapter, {
      deadlineMs: 50,
      lookup: () => new Promise(() => undefined),
    });
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'failed to look up subscribed warehouses' });
    assert.equal(records[0]?.code, 'LOOKUP_FAILED');
  });

  it('refreshes still running at the deadline count as failed → 503; the finished ones count as done', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = [warehouse('fast'), warehouse('stuck'), warehouse('queued')];
    const refresh = (target: { name: string }): Promise<void> =>
      target.name === 'fast' ? Promise.resolve() : new Promise(() => undefined);
    const { app, logger, records } = build(adapter, { deadlineMs: 50, concurrency: 2, refresh });
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'failed to refresh 2 of 3 warehouse(s)' });
    assert.deepEqual(
      {
        matched: records[0]?.matched,
        refreshed: records[0]?.refreshed,
        failed: records[0]?.failed,
      },
      { matched: 3, refreshed: 1, failed: 2 },
    );
    assert.ok(logger.lines.some((l) => l.msg === 'refreshes did not finish in time'));
  });

  it('deadlineMs must be a positive integer', () => {
    assert.throws(
      () => build(new RecordingAdapter(), { deadlineMs: 0 }),
      (err: unknown) =>
        err instanceof TypeError &&
        err.message ===
          '[kargo-azure-receiver] options.deadlineMs must be greater than or equal to 1',
    );
  });
});

describe('azureReceiver: refreshing', () => {
  it('duplicate targets (geo-replicated deliveries, overlapping subscriptions) are refreshed once', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = [warehouse('a'), warehouse('a'), warehouse('b'), warehouse('a', 'other')];
    const { app } = build(adapter);
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { msg: 'refreshed 3 warehouse(s)' });
    assert.deepEqual(adapter.refreshes, [warehouse('a'), warehouse('b'), warehouse('a', 'other')]);
  });

  it('refreshes run concurrently, bounded by `concurrency`', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = Array.from({ length: 150 }, (_, i) => warehouse(`w${i}`));
    adapter.refreshDelayMs = 2;
    const { app } = build(adapter, { concurrency: 8 });
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { msg: 'refreshed 150 warehouse(s)' });
    assert.equal(adapter.maxInFlight, 8);
  });

  it('the default concurrency is 16', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = Array.from({ length: 40 }, (_, i) => warehouse(`w${i}`));
    adapter.refreshDelayMs = 2;
    const { app } = build(adapter);
    await request(app).post(`/azure/${TOKEN}`).send(acrPush).expect(200);
    assert.equal(adapter.maxInFlight, 16);
  });
});

describe('azureReceiver: body limits', () => {
  it('Content-Length over maxBodyBytes → 413 before reading', async () => {
    const adapter = new RecordingAdapter();
    const { app } = build(adapter, { maxBodyBytes: 64 });
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(acrPush));
    assert.equal(res.status, 413);
    assert.deepEqual(res.body, { error: 'request body larger than 64 bytes' });
    assert.equal(adapter.calls, 0);
  });

  it('a chunked body over the limit → 413 once the client has sent it all (the rest is discarded)', async () => {
    const adapter = new RecordingAdapter();
    const { app } = build(adapter, { maxBodyBytes: 1024 });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await new Promise<{ status: number; body: string; sent: number }>(
        (resolve, reject) => {
          let sent = 0;
          let answered = false;
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port,
              method: 'POST',
              path: `/azure/${TOKEN}`,
              headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
            },
            (res) => {
              answered = true;
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (d: string) => (body += d));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sent }));
            },
          );
          req.on('error', reject);
          const chunk = Buffer.alloc(512, 'x');
          // Keep writing until the server answers or 1 MiB is sent: the
          // server reads the refused rest (up to a bound) before answering.
          const pump = (): void => {
            if (answered || sent >= 1024 * 1024) return void req.end();
            sent += chunk.length;
            if (req.write(chunk)) setImmediate(pump);
            else req.once('drain', pump);
          };
          pump();
        },
      );
      assert.equal(result.status, 413);
      assert.deepEqual(JSON.parse(result.body), { error: 'request body larger than 1024 bytes' });
      assert.equal(result.sent, 1024 * 1024);
      assert.equal(adapter.calls, 0);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  describe('refused bodies are read and discarded before the answer, so the connection stays usable', () => {
    const rows: Array<{
      name: string;
      path: string;
      headers: Record<string, string>;
      body: string;
      status: number;
      connection: string;
    }> = [
      {
        name: 'wrong token, small body: kept alive (Node discards it)',
        path: `/azure/${OTHER_TOKEN}`,
        headers: {},
        body: '{"action":"ping"}',
        status: 404,
        connection: 'keep-alive',
      },
      {
        name: 'wrong token, declared length over the limit: kept alive',
        path: `/azure/${OTHER_TOKEN}`,
        headers: { 'Content-Length': '5000' },
        body: 'x'.repeat(5000),
        status: 404,
        connection: 'keep-alive',
      },
      {
        name: 'wrong token, chunked body: kept alive',
        path: `/azure/${OTHER_TOKEN}`,
        headers: { 'Transfer-Encoding': 'chunked' },
        body: '{"action":"ping"}',
        status: 404,
        connection: 'keep-alive',
      },
      {
        name: 'valid token, body over the limit: kept alive',
        path: `/azure/${TOKEN}`,
        headers: {},
        body: 'x'.repeat(2000),
        status: 413,
        connection: 'keep-alive',
      },
      {
        name: 'valid token, ping: kept alive',
        path: `/azure/${TOKEN}`,
        headers: {},
        body: '{"action":"ping"}',
        status: 200,
        connection: 'keep-alive',
      },
    ];
    for (const row of rows) {
      it(row.name, async () => {
        const { app } = build(new RecordingAdapter(), { maxBodyBytes: 1024 });
        const server = app.listen(0, '127.0.0.1');
        await new Promise((r) => server.once('listening', r));
        const agent = new Agent({ keepAlive: true });
        try {
          const { port } = server.address() as AddressInfo;
          const res = await new Promise<{ status: number; connection: string | undefined }>(
            (resolve, reject) => {
              const req = httpRequest(
                {
                  host: '127.0.0.1',
                  port,
                  method: 'POST',
                  path: row.path,
                  agent,
                  headers: { 'Content-Type': 'application/json', ...row.headers },
                },
                (r) => {
                  r.resume();
                  r.on('end', () =>
                    resolve({ status: r.statusCode ?? 0, connection: r.headers.connection }),
                  );
                },
              );
              req.on('error', reject);
              req.end(row.body);
            },
          );
          assert.deepEqual(res, { status: row.status, connection: row.connection });
        } finally {
          agent.destroy();
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
        }
      });
    }
  });

  it('exactly maxBodyBytes is accepted', async () => {
    const adapter = new RecordingAdapter();
    const body = JSON.stringify({ action: 'ping', pad: '' });
    const padded = JSON.stringify({ action: 'ping', pad: 'x'.repeat(200 - body.length) });
    assert.equal(Buffer.byteLength(padded), 200);
    const { app } = build(adapter, { maxBodyBytes: 200 });
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'application/json')
      .send(padded);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, PING_MSG);
  });

  it('a compressed body is refused with 415', async () => {
    const { app } = build(new RecordingAdapter());
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('{"action":"ping"}');
    assert.equal(res.status, 415);
    assert.deepEqual(res.body, { error: 'unsupported content encoding "gzip"' });
  });

  it('a UTF-8 byte order mark before the JSON is tolerated', async () => {
    const { app } = build(new RecordingAdapter());
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'application/json')
      .send('\uFEFF{"action":"ping"}');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, PING_MSG);
  });

  it('any Content-Type is read as JSON (Azure DevOps adds a charset; proxies rewrite it)', async () => {
    const { app } = build(new RecordingAdapter());
    const res = await request(app)
      .post(`/azure/${TOKEN}`)
      .set('Content-Type', 'text/plain')
      .send('{"action":"ping"}');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, PING_MSG);
  });
});

describe('azureReceiver: mounting in an existing app', () => {
  it('works behind an app-wide express.json()', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = [warehouse('a')];
    const app = express();
    app.use(express.json());
    app.use(
      '/azure',
      azureReceiver({ token: TOKEN, lookup: adapter.lookup, refresh: adapter.refresh }),
    );
    const res = await request(app).post(`/azure/${TOKEN}`).send(acrPush);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { msg: 'refreshed 1 warehouse(s)' });
  });

  it('leaves other routes of the app alone, beside other receivers', async () => {
    const adapter = new RecordingAdapter();
    const app = express();
    app.use(
      '/azure',
      azureReceiver({ token: TOKEN, lookup: adapter.lookup, refresh: adapter.refresh }),
    );
    app.post('/github/:token', (_req, res) => void res.status(202).json({ msg: 'github' }));
    app.post(
      '/azure/:token/extra',
      (_req, res) => void res.status(201).json({ msg: 'deeper path is not ours' }),
    );
    await request(app).post('/github/x').send({}).expect(202, { msg: 'github' });
    await request(app)
      .post(`/azure/${TOKEN}/extra`)
      .send({})
      .expect(201, { msg: 'deeper path is not ours' });
    assert.equal(adapter.calls, 0);
  });

  it('accepts several tokens at once (rotation)', async () => {
    const adapter = new RecordingAdapter();
    const app = express();
    app.use(
      '/azure',
      azureReceiver({
        token: [TOKEN, OTHER_TOKEN],
        lookup: adapter.lookup,
        refresh: adapter.refresh,
      }),
    );
    await request(app).post(`/azure/${TOKEN}`).send({ action: 'ping' }).expect(200, PING_MSG);
    await request(app).post(`/azure/${OTHER_TOKEN}`).send({ action: 'ping' }).expect(200, PING_MSG);
    await request(app)
      .post(`/azure/${'c'.repeat(64)}`)
      .send({ action: 'ping' })
      .expect(404, { error: 'not found' });
  });

  it('logs one line per webhook, never with the token', async () => {
    const adapter = new RecordingAdapter();
    adapter.targets = [warehouse('a')];
    const { app, logger } = build(adapter);
    await request(app).post(`/azure/${TOKEN}`).send(acrPush).expect(200);
    await request(app).post(`/azure/${OTHER_TOKEN}`).send(acrPush).expect(404);
    const webhookLines = logger.lines.filter((l) => l.msg === 'webhook');
    assert.equal(webhookLines.length, 2);
    const first = webhookLines[0]!.obj as WebhookRecord;
    assert.deepEqual(
      { ...first, durationMs: 0 },
      {
        outcome: 'refreshed',
        status: 200,
        matched: 1,
        refreshed: 1,
        failed: 0,
        durationMs: 0,
        source: 'acr',
        eventType: 'push',
        repoURLs: ['myregistry.azurecr.io/hello-world'],
        qualifiers: ['v1'],
      },
    );
    assert.equal(webhookLines[1]!.level, 'warn');
    assert.deepEqual(
      { ...(webhookLines[1]!.obj as WebhookRecord), durationMs: 0 },
      { outcome: 'not-found', status: 404, matched: 0, refreshed: 0, failed: 0, durationMs: 0 },
    );
    assert.doesNotMatch(logger.text(), new RegExp(`${TOKEN}|${OTHER_TOKEN}`));
  });

  it('an onWebhook hook that throws does not change the answer', async () => {
    const { app } = build(new RecordingAdapter(), {
      onWebhook: () => {
        throw new Error('metrics broke');
      },
    });
    await request(app).post(`/azure/${TOKEN}`).send({ action: 'ping' }).expect(200, PING_MSG);
  });
});
