import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { azureReceiver, kargoToken, memoryAdapter } from '../../lib/index.js';
import { fixture, fixtureText } from '../support/fixtures.js';
import { RecordingLogger } from '../support/recording-adapter.js';

const token = kargoToken({
  project: 'kargo-demo',
  receiver: 'azure-wh-receiver',
  secret: 'spec-secret',
});

function wh(name: string, subscription: Record<string, unknown>, namespace = 'kargo-demo') {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Warehouse',
    metadata: { name, namespace },
    spec: { subscriptions: [subscription] },
  };
}

// One Warehouse per form of the Azure DevOps repository of devops-test-git-push.json
// (https://fabrikam-fiber-inc.visualstudio.com/DefaultCollection/_git/Fabrikam-Fiber-Git,
// branch master): all must be found by the push.
const devopsForms = [
  'https://fabrikam-fiber-inc.visualstudio.com/DefaultCollection/_git/Fabrikam-Fiber-Git',
  'https://fabrikam-fiber-inc.visualstudio.com/Fabrikam-Fiber-Git/_git/Fabrikam-Fiber-Git',
  'https://fabrikam-fiber-inc.visualstudio.com/DefaultCollection/Fabrikam-Fiber-Git/_git/Fabrikam-Fiber-Git/',
  'https://dev.azure.com/fabrikam-fiber-inc/Fabrikam-Fiber-Git/_git/Fabrikam-Fiber-Git',
  'https://dev.azure.com/fabrikam-fiber-inc/_git/Fabrikam-Fiber-Git',
  'https://jamal@dev.azure.com/fabrikam-fiber-inc/Fabrikam-Fiber-Git/_git/Fabrikam-Fiber-Git',
  'https://DEV.AZURE.COM/Fabrikam-Fiber-Inc/fabrikam-fiber-git/_git/FABRIKAM-FIBER-GIT.git',
  'git@ssh.dev.azure.com:v3/fabrikam-fiber-inc/Fabrikam-Fiber-Git/Fabrikam-Fiber-Git',
  'ssh://git@ssh.dev.azure.com/v3/fabrikam-fiber-inc/Fabrikam-Fiber-Git/Fabrikam-Fiber-Git',
  'fabrikam-fiber-inc@vs-ssh.visualstudio.com:v3/fabrikam-fiber-inc/Fabrikam-Fiber-Git/Fabrikam-Fiber-Git',
];

const warehouses = [
  ...devopsForms.map((repoURL, i) => wh(`form-${i}`, { git: { repoURL, branch: 'master' } })),
  // Branch rules
  wh('git-default-branch', { git: { repoURL: devopsForms[3] } }), // no branch: main or master
  wh('git-other-branch', { git: { repoURL: devopsForms[3], branch: 'develop' } }),
  wh('git-tags', { git: { repoURL: devopsForms[3], commitSelectionStrategy: 'SemVer' } }),
  wh('git-other-project', { git: { repoURL: devopsForms[3] } }, 'other-project'),
  wh('git-other-repo', {
    git: {
      repoURL: 'https://dev.azure.com/fabrikam-fiber-inc/Fabrikam-Fiber-Git/_git/Other',
      branch: 'master',
    },
  }),
  // Percent-encoding: a project with a space
  wh('space-encoded', {
    git: { repoURL: 'https://dev.azure.com/org/My%20Project/_git/My%20Repo', branch: 'main' },
  }),
  // ACR image rules for the push of `myregistry.azurecr.io/hello-world:v1`
  wh('image-lexical', {
    image: { repoURL: 'myregistry.azurecr.io/hello-world', imageSelectionStrategy: 'Lexical' },
  }),
  wh('image-newest-build', {
    image: {
      repoURL: 'MyRegistry.azurecr.io/hello-world',
      imageSelectionStrategy: 'NewestBuild',
      allowTags: '^v\\d+$',
    },
  }),
  wh('image-semver-strict', { image: { repoURL: 'myregistry.azurecr.io/hello-world' } }), // v1 is not strict semver
  wh('image-semver-lenient', {
    image: {
      repoURL: 'myregistry.azurecr.io/hello-world',
      strictSemvers: false,
      semverConstraint: '>=1.0.0, <2',
    },
  }),
  wh('image-ignored', {
    image: {
      repoURL: 'myregistry.azurecr.io/hello-world',
      imageSelectionStrategy: 'Lexical',
      ignoreTags: ['v1'],
    },
  }),
  wh('image-digest', {
    image: {
      repoURL: 'myregistry.azurecr.io/hello-world',
      imageSelectionStrategy: 'Digest',
      constraint: 'v1',
    },
  }),
  wh('image-digest-other', {
    image: {
      repoURL: 'myregistry.azurecr.io/hello-world',
      imageSelectionStrategy: 'Digest',
      constraint: 'latest',
    },
  }),
  wh('chart-same-repo', { chart: { repoURL: 'oci://myregistry.azurecr.io/hello-world' } }),
  wh('broken-regex', { image: { repoURL: 'myregistry.azurecr.io/hello-world', allowTags: '(' } }),
  // Promotions are handled by PR events; a Warehouse on another kind of subscription is ignored.
];

const promotions = [
  {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Promotion',
    metadata: { name: 'prod-waiting', namespace: 'kargo-demo' },
    spec: {
      steps: [
        { uses: 'git-open-pr', as: 'open' },
        { uses: 'git-wait-for-pr', as: 'wait' },
      ],
    },
    status: {
      phase: 'Running',
      currentStep: 1,
      state: {
        wait: {
          pr: { url: 'https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam/pullrequest/1' },
        },
      },
    },
  },
  {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Promotion',
    metadata: { name: 'prod-done', namespace: 'kargo-demo' },
    spec: { steps: [{ uses: 'git-wait-for-pr', as: 'wait' }] },
    status: {
      phase: 'Succeeded',
      currentStep: 0,
      state: {
        wait: {
          pr: { url: 'https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam/pullrequest/1' },
        },
      },
    },
  },
  {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Promotion',
    metadata: { name: 'prod-other-pr', namespace: 'kargo-demo' },
    spec: { steps: [{ uses: 'git-wait-for-pr', as: 'wait' }] },
    status: {
      phase: 'Running',
      currentStep: 0,
      state: {
        wait: {
          pr: { url: 'https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam/pullrequest/2' },
        },
      },
    },
  },
];

function setup() {
  const logger = new RecordingLogger();
  const adapter = memoryAdapter({
    warehouses,
    promotions,
    logger,
    now: () => new Date('2026-11-25T10:00:00Z'),
  });
  const app = express();
  app.use('/azure', azureReceiver({ token, ...adapter }));
  return { app, adapter, logger };
}

const cases: Array<{
  name: string;
  body: string | object;
  status: number;
  msg: string;
  refreshed: string[];
}> = [
  {
    name: 'the wizard Test payload (real; branch master) finds the repository in every URL form',
    body: fixtureText('devops-test-git-push'),
    status: 200,
    msg: 'refreshed 12 warehouse(s)',
    refreshed: [
      ...devopsForms.map((_, i) => `kargo-demo/form-${i}`),
      'kargo-demo/git-default-branch',
      'other-project/git-other-project',
    ].sort(),
  },
  {
    name: 'Azure DevOps git.push (real; branch main) refreshes the default-branch Warehouses only',
    body: fixtureText('devops-git-push'),
    status: 200,
    msg: 'refreshed 2 warehouse(s)',
    refreshed: ['kargo-demo/git-default-branch', 'other-project/git-other-project'],
  },
  {
    name: 'a tag push reaches tag strategies, not branch ones',
    body: (() => {
      const b = fixture('devops-git-push');
      b.resource.refUpdates = [
        { name: 'refs/tags/v1.4.0', oldObjectId: '0'.repeat(40), newObjectId: 'a'.repeat(40) },
      ];
      return b;
    })(),
    status: 200,
    msg: 'refreshed 1 warehouse(s)',
    refreshed: ['kargo-demo/git-tags'],
  },
  {
    name: 'a push reported with a percent-encoded URL finds the Warehouse written with one',
    body: (() => {
      const b = fixture('devops-git-push');
      b.resource.repository.remoteUrl = 'https://org@dev.azure.com/org/My Project/_git/My Repo';
      b.resource.refUpdates = [
        { name: 'refs/heads/main', oldObjectId: 'a'.repeat(40), newObjectId: 'b'.repeat(40) },
      ];
      return b;
    })(),
    status: 200,
    msg: 'refreshed 1 warehouse(s)',
    refreshed: ['kargo-demo/space-encoded'],
  },
  {
    name: 'ACR push (real, tag v1, Docker manifest): image rules apply, the chart is not a candidate',
    body: fixtureText('acr-push'),
    status: 200,
    msg: 'refreshed 4 warehouse(s)',
    refreshed: [
      'kargo-demo/image-digest',
      'kargo-demo/image-lexical',
      'kargo-demo/image-newest-build',
      'kargo-demo/image-semver-lenient',
    ],
  },
  {
    name: 'ACR push of an OCI manifest tagged 1.2.3 reaches image and chart subscriptions',
    body: (() => {
      const b = fixture('acr-push');
      b.target.mediaType = 'application/vnd.oci.image.manifest.v1+json';
      b.target.tag = '1.2.3';
      return b;
    })(),
    status: 200,
    msg: 'refreshed 5 warehouse(s)',
    refreshed: [
      'kargo-demo/chart-same-repo',
      'kargo-demo/image-ignored',
      'kargo-demo/image-lexical',
      'kargo-demo/image-semver-lenient',
      'kargo-demo/image-semver-strict',
    ],
  },
  {
    name: 'PR merged (real) wakes only the running Promotion waiting on that PR',
    body: fixtureText('devops-pr-merged'),
    status: 200,
    msg: 'refreshed 1 promotion(s)',
    refreshed: ['kargo-demo/prod-waiting'],
  },
];

describe('memoryAdapter behind azureReceiver, on real payloads', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { app, adapter } = setup();
      const res = await request(app)
        .post(`/azure/${token}`)
        .set('Content-Type', 'application/json')
        .send(typeof c.body === 'string' ? c.body : JSON.stringify(c.body));
      assert.equal(res.status, c.status);
      assert.deepEqual(res.body, { msg: c.msg });
      assert.deepEqual(
        adapter.refreshed.map((r) => `${r.namespace}/${r.name}`).sort(),
        c.refreshed,
      );
    });
  }

  it('a duplicate delivery refreshes again, once per request', async () => {
    const { app, adapter } = setup();
    for (let i = 0; i < 2; i++) {
      await request(app)
        .post(`/azure/${token}`)
        .set('Content-Type', 'application/json')
        .send(fixtureText('acr-push'))
        .expect(200, { msg: 'refreshed 4 warehouse(s)' });
    }
    assert.equal(adapter.refreshed.length, 8);
  });

  it('records when each refresh happened, and can forget', async () => {
    const { app, adapter } = setup();
    await request(app)
      .post(`/azure/${token}`)
      .set('Content-Type', 'application/json')
      .send(fixtureText('devops-pr-merged'))
      .expect(200);
    assert.deepEqual(adapter.refreshed, [
      {
        kind: 'Promotion',
        namespace: 'kargo-demo',
        name: 'prod-waiting',
        at: new Date('2026-11-25T10:00:00Z'),
      },
    ]);
    adapter.clearRefreshed();
    assert.deepEqual(adapter.refreshed, []);
  });

  it('a broken subscription is skipped and logged, never failing the request', async () => {
    const { logger } = setup();
    const warning = logger.lines.find(
      (l) => l.level === 'warn' && (l.obj as { name?: string }).name === 'broken-regex',
    );
    assert.ok(warning, 'a warning names the broken Warehouse');
  });

  it('upsert and remove change what the next webhook finds', async () => {
    const { app, adapter } = setup();
    adapter.remove('Warehouse', 'kargo-demo', 'image-lexical');
    adapter.upsert(
      wh('late', {
        image: { repoURL: 'myregistry.azurecr.io/hello-world', imageSelectionStrategy: 'Lexical' },
      }),
    );
    await request(app)
      .post(`/azure/${token}`)
      .set('Content-Type', 'application/json')
      .send(fixtureText('acr-push'))
      .expect(200, { msg: 'refreshed 4 warehouse(s)' });
    assert.deepEqual(adapter.refreshed.map((r) => r.name).sort(), [
      'image-digest',
      'image-newest-build',
      'image-semver-lenient',
      'late',
    ]);
    assert.equal(adapter.size, warehouses.length + promotions.length);
  });

  it('refresh of an object that is gone is a no-op, like a 404', async () => {
    const { adapter } = setup();
    await adapter.refresh({ kind: 'Warehouse', namespace: 'kargo-demo', name: 'nope' });
    assert.deepEqual(adapter.refreshed, []);
  });
});
