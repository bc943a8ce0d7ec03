// Testing your app with supertest and kargo-azure-receiver/testing: real
// Azure payload shapes, a recording adapter, exact answers.
import assert from 'node:assert/strict';
import request from 'supertest';
import { kargoToken } from 'kargo-azure-receiver';
import {
  acrPing,
  acrPush,
  devopsGitPush,
  devopsPullRequestMerged,
  recordingAdapter,
} from 'kargo-azure-receiver/testing';
import { createApp } from './app.js';

const token = kargoToken({
  project: 'kargo-demo',
  receiver: 'azure-wh-receiver',
  secret: 'test-secret',
});
const warehouse = { kind: 'Warehouse', namespace: 'kargo-demo', name: 'app' } as const;

describe('my app receives Azure webhooks', function () {
  it('answers a ping without touching Kargo', async function () {
    const adapter = recordingAdapter();
    await request(createApp(adapter, token))
      .post(`/azure/${token}`)
      .send(acrPing())
      .expect(200, { msg: 'ping event received, webhook is configured correctly' });
    assert.deepEqual(adapter.lookups, []);
  });

  it('refreshes the Warehouses of a pushed image', async function () {
    const adapter = recordingAdapter({ targets: [warehouse] });
    await request(createApp(adapter, token))
      .post(`/azure/${token}`)
      .send(acrPush({ registry: 'myregistry.azurecr.io', repository: 'app', tag: 'v1.2.3' }))
      .expect(200, { msg: 'refreshed 1 warehouse(s)' });
    assert.deepEqual(adapter.lookups[0], {
      type: 'push',
      source: 'acr',
      eventType: 'push',
      repoURLs: ['myregistry.azurecr.io/app'],
      kinds: ['image'],
      qualifiers: ['v1.2.3'],
    });
    assert.deepEqual(adapter.refreshes, [warehouse]);
  });

  it('looks up a git push by repository and branch', async function () {
    const adapter = recordingAdapter();
    await request(createApp(adapter, token))
      .post(`/azure/${token}`)
      .send(
        devopsGitPush({
          remoteUrl: 'https://dev.azure.com/org/project/_git/repo',
          refs: ['refs/heads/main'],
        }),
      )
      .expect(200, {
        msg: 'refreshed 0 warehouse(s)',
        hint: 'no Warehouse of this receiver takes refs/heads/main of Git repository https://dev.azure.com/org/project/_git/repo (the adapter cannot say why)',
      });
    assert.deepEqual(adapter.lookups[0], {
      type: 'push',
      source: 'azure-devops',
      eventType: 'git.push',
      repoURLs: ['https://dev.azure.com/org/project/_git/repo'],
      kinds: ['git'],
      qualifiers: ['refs/heads/main'],
      defaultBranch: 'main',
    });
  });

  it('answers 503 (Azure retries) when Kargo cannot be reached', async function () {
    const adapter = recordingAdapter({ lookupError: new Error('API server down') });
    const res = await request(createApp(adapter, token))
      .post(`/azure/${token}`)
      .send(
        devopsPullRequestMerged({
          remoteUrl: 'https://dev.azure.com/org/project/_git/repo',
          pullRequestId: 42,
        }),
      );
    assert.equal(res.status, 503);
  });
});
