/**
 * The builders of `kargo-azure-receiver/testing` against the real payloads:
 * each builder, given the fixture's values, is classified exactly as the
 * fixture is, and uses the fixture's field names.
 */
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { azureReceiver } from '../../lib/index.js';
import { classify } from '../../lib/sources/index.js';
import type { JSONObject } from '../../lib/sources/result.js';
import {
  acrChartPush,
  acrPing,
  acrPush,
  devopsGitPush,
  devopsPullRequestCreated,
  devopsPullRequestMerged,
  devopsPullRequestUpdated,
  recordingAdapter,
  ZERO_OBJECT_ID,
  type Payload,
} from '../../lib/testing/index.js';
import { fixture } from '../support/fixtures.js';

/** Every key path of a JSON value (`resource.repository.remoteUrl`), arrays entered at index 0. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length ? keyPaths(value[0], `${prefix}[]`) : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [
    `${prefix}${k}`,
    ...keyPaths(v, `${prefix}${k}.`),
  ]);
}

const DEVOPS_REMOTE =
  'https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git';
const PR_REMOTE = 'https://fabrikam.visualstudio.com/DefaultCollection/_git/Fabrikam';

const cases: Array<{ name: string; fixture: string; built: Payload }> = [
  {
    name: 'acrPush',
    fixture: 'acr-push',
    built: acrPush({ registry: 'myregistry.azurecr.io', repository: 'hello-world', tag: 'v1' }),
  },
  {
    name: 'devopsGitPush',
    fixture: 'devops-git-push',
    built: devopsGitPush({ remoteUrl: DEVOPS_REMOTE, refs: ['refs/heads/main'] }),
  },
  {
    name: 'devopsPullRequestCreated',
    fixture: 'devops-pr-created',
    built: devopsPullRequestCreated({
      remoteUrl: 'https://dev.azure.com/fabrikam/DefaultCollection/_git/Fabrikam',
    }),
  },
  {
    name: 'devopsPullRequestMerged',
    fixture: 'devops-pr-merged',
    built: devopsPullRequestMerged({ remoteUrl: PR_REMOTE, pullRequestId: 1 }),
  },
  {
    name: 'devopsPullRequestUpdated',
    fixture: 'devops-pr-updated',
    built: devopsPullRequestUpdated({
      remoteUrl: PR_REMOTE,
      pullRequestId: 1,
      status: 'completed',
    }),
  },
];

describe('kargo-azure-receiver/testing payloads', function () {
  for (const c of cases) {
    it(`${c.name} is classified as ${c.fixture}.json is`, function () {
      assert.deepEqual(classify(c.built as JSONObject), classify(fixture(c.fixture)));
    });
    it(`${c.name} uses only field names of ${c.fixture}.json`, function () {
      const real = new Set(keyPaths(fixture(c.fixture)));
      assert.deepEqual(
        keyPaths(c.built).filter((path) => !real.has(path)),
        [],
      );
    });
  }

  it('acrPush by digest has no tag; acrChartPush is an OCI manifest tagged with the version', function () {
    assert.deepEqual(classify(acrPush({ repository: 'app', tag: '' }) as JSONObject), {
      action: 'refresh',
      source: 'acr',
      eventType: 'push',
      event: {
        type: 'push',
        source: 'acr',
        eventType: 'push',
        repoURLs: ['myregistry.azurecr.io/app'],
        kinds: ['image'],
        qualifiers: [],
      },
    });
    const chart = acrChartPush({ repository: 'charts/app', version: '1.2.3' });
    assert.equal((chart.target as Payload).tag, '1.2.3');
    assert.equal((chart.target as Payload).mediaType, 'application/vnd.oci.image.manifest.v1+json');
  });

  it('devopsGitPush of a deleted ref only is ignored', function () {
    const body = devopsGitPush({
      remoteUrl: DEVOPS_REMOTE,
      refs: [{ name: 'refs/heads/old', newObjectId: ZERO_OBJECT_ID }],
    });
    assert.equal(classify(body as JSONObject)?.action, 'ignore');
  });
});

describe('kargo-azure-receiver/testing recordingAdapter', function () {
  const token = 't'.repeat(64);
  const target = { kind: 'Warehouse', namespace: 'kargo-demo', name: 'app' } as const;

  function appWith(adapter: ReturnType<typeof recordingAdapter>) {
    const app = express();
    app.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));
    return app;
  }

  it('answers lookups from its targets and records lookups and refreshes', async function () {
    const adapter = recordingAdapter({ targets: [target] });
    await request(appWith(adapter))
      .post(`/azure/${token}`)
      .send(acrPush({ repository: 'app', tag: 'v2' }))
      .expect(200, { msg: 'refreshed 1 warehouse(s)' });
    assert.deepEqual(adapter.lookups, [
      {
        type: 'push',
        source: 'acr',
        eventType: 'push',
        repoURLs: ['myregistry.azurecr.io/app'],
        kinds: ['image'],
        qualifiers: ['v2'],
      },
    ]);
    assert.deepEqual(adapter.refreshes, [target]);
    adapter.reset();
    assert.deepEqual([adapter.lookups, adapter.refreshes], [[], []]);
  });

  it('a ping is answered without calling the adapter', async function () {
    const adapter = recordingAdapter({ targets: [target] });
    await request(appWith(adapter))
      .post(`/azure/${token}`)
      .send(acrPing())
      .expect(200, { msg: 'ping event received, webhook is configured correctly' });
    assert.deepEqual([adapter.lookups, adapter.refreshes], [[], []]);
  });

  it('lookupError and refreshErrors make the receiver answer 503', async function () {
    const failing = recordingAdapter({ lookupError: new Error('down') });
    const res1 = await request(appWith(failing))
      .post(`/azure/${token}`)
      .send(acrPush({ repository: 'app' }));
    assert.equal(res1.status, 503);
    const refreshFails = recordingAdapter({
      targets: [target],
      refreshErrors: [{ target, error: new Error('patch failed') }],
    });
    const res2 = await request(appWith(refreshFails))
      .post(`/azure/${token}`)
      .send(acrPush({ repository: 'app' }));
    assert.equal(res2.status, 503);
    assert.deepEqual(refreshFails.refreshes, [target]);
  });

  it('targets can be a function of the event', async function () {
    const adapter = recordingAdapter({
      targets: (event) => (event.type === 'pull-request' ? [{ ...target, kind: 'Promotion' }] : []),
    });
    await request(appWith(adapter))
      .post(`/azure/${token}`)
      .send(devopsPullRequestMerged({ remoteUrl: PR_REMOTE, pullRequestId: 7 }))
      .expect(200);
    assert.deepEqual(adapter.refreshes, [{ ...target, kind: 'Promotion' }]);
  });
});

/** The key paths every one of these fixtures has. */
function sharedKeyPaths(fixtures: readonly string[]): string[] {
  const [first = [], ...others] = fixtures.map((name) => keyPaths(fixture(name)));
  const sets = others.map((paths) => new Set(paths));
  return first.filter((path) => sets.every((set) => set.has(path)));
}

const ACR_PUSHES = ['acr-push', 'acr-push-2017'];
const GIT_PUSHES = ['devops-git-push', 'devops-test-git-push'];
const PULL_REQUESTS = ['devops-pr-created', 'devops-pr-merged', 'devops-pr-updated'];

const complete: Array<{ name: string; fixtures: string[]; built: Payload }> = [
  { name: 'acrPush', fixtures: ACR_PUSHES, built: acrPush({ repository: 'app' }) },
  {
    name: 'acrChartPush',
    fixtures: ACR_PUSHES,
    built: acrChartPush({ repository: 'charts/app', version: '1.2.3' }),
  },
  {
    name: 'devopsGitPush',
    fixtures: GIT_PUSHES,
    built: devopsGitPush({ remoteUrl: DEVOPS_REMOTE }),
  },
  {
    name: 'devopsGitPush of a tag',
    fixtures: GIT_PUSHES,
    built: devopsGitPush({ remoteUrl: DEVOPS_REMOTE, refs: ['refs/tags/v1.2.0'] }),
  },
  {
    name: 'devopsPullRequestCreated',
    fixtures: PULL_REQUESTS,
    built: devopsPullRequestCreated({ remoteUrl: PR_REMOTE }),
  },
  {
    name: 'devopsPullRequestUpdated (abandoned)',
    fixtures: PULL_REQUESTS,
    built: devopsPullRequestUpdated({ remoteUrl: PR_REMOTE, status: 'abandoned' }),
  },
  {
    name: 'devopsPullRequestMerged',
    fixtures: PULL_REQUESTS,
    built: devopsPullRequestMerged({ remoteUrl: PR_REMOTE, pullRequestId: 7 }),
  },
  {
    name: 'devopsPullRequestMerged (conflicts)',
    fixtures: PULL_REQUESTS,
    built: devopsPullRequestMerged({
      remoteUrl: PR_REMOTE,
      status: 'active',
      mergeStatus: 'conflicts',
    }),
  },
];

describe('kargo-azure-receiver/testing payloads carry every field the samples share', function () {
  it('the samples of each source share the fields a receiver reads', function () {
    assert.ok(sharedKeyPaths(PULL_REQUESTS).includes('resource.lastMergeSourceCommit.commitId'));
    assert.ok(sharedKeyPaths(GIT_PUSHES).includes('resource.refUpdates.[]newObjectId'));
    assert.ok(sharedKeyPaths(ACR_PUSHES).includes('target.repository'));
  });
  for (const c of complete) {
    it(`${c.name} has every key path ${c.fixtures.join(', ')} share`, function () {
      const built = new Set(keyPaths(c.built));
      assert.deepEqual(
        sharedKeyPaths(c.fixtures).filter((path) => !built.has(path)),
        [],
      );
    });
  }
});
