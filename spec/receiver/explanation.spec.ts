import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { azureReceiver, kubernetesAdapter, memoryAdapter } from '../../lib/index.js';
import {
  MAX_EXPLAINED,
  MAX_TEXT,
  bounded,
  explainedFields,
  pushHint,
} from '../../lib/receiver/explanation.js';
import type { PushEvent, PushExplanation, RefreshTarget } from '../../lib/types.js';
import { until } from '../adapters/kubernetes/helpers.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { fixture } from '../support/fixtures.js';
import { warehouseManifest } from '../support/manifests.js';
import { RecordingLogger } from '../support/recording-adapter.js';

const TOKEN = 'e'.repeat(64);
/** The repository of acr-push.json. */
const HELLO = 'myregistry.azurecr.io/hello-world';
/** The repository of devops-git-push.json and devops-test-git-push.json, normalized. */
const FABRIKAM =
  'https://dev.azure.com/fabrikam-fiber-inc/fabrikam-fiber-git/_git/fabrikam-fiber-git';
/** An Azure DevOps Server (on-premises) spelling: not an Azure DevOps Services URL, so kept as written. */
const ON_PREM =
  'https://tfs.fabrikam.com/tfs/DefaultCollection/Fabrikam-Fiber-Git/_git/Fabrikam-Fiber-Git';

/** devops-git-push.json with other refs, default branch or remote URL. */
function gitPush(
  options: { refs?: string[]; defaultBranch?: string | null; remoteUrl?: string } = {},
): Record<string, unknown> {
  const body = fixture('devops-git-push');
  if (options.refs) {
    body.resource.refUpdates = options.refs.map((name) => ({
      name,
      oldObjectId: 'a'.repeat(40),
      newObjectId: 'b'.repeat(40),
    }));
  }
  if (options.defaultBranch === null) delete body.resource.repository.defaultBranch;
  else if (options.defaultBranch !== undefined)
    body.resource.repository.defaultBranch = options.defaultBranch;
  if (options.remoteUrl) body.resource.repository.remoteUrl = options.remoteUrl;
  return body;
}

function git(repoURL: string, extra: Record<string, unknown> = {}) {
  return { git: { repoURL, ...extra } };
}
function image(repoURL: string, extra: Record<string, unknown> = {}) {
  return { image: { repoURL, ...extra } };
}

interface Case {
  name: string;
  payload: Record<string, unknown>;
  warehouses: Array<[string, Record<string, unknown> | string]>;
  explain?: boolean;
  body: object;
}

const cases: Case[] = [
  // Hints: why nothing was refreshed.
  {
    name: 'ACR push nobody subscribes to',
    payload: fixture('acr-push'),
    warehouses: [['other', 'myregistry.azurecr.io/other']],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse subscribes to image ${HELLO}`,
    },
  },
  {
    name: 'ACR push whose tag is outside the rules of the 2 subscribed Warehouses',
    payload: fixture('acr-push'),
    warehouses: [
      ['semver', image(HELLO, { semverConstraint: '^1.0.0' })],
      ['releases', image(HELLO, { imageSelectionStrategy: 'Lexical', allowTags: '^release-' })],
    ],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `2 Warehouses subscribe to image ${HELLO}; none takes tag "v1": kargo-demo/releases: spec.subscriptions[0]: tag "v1" is not allowed by /^release-/; and 1 more`,
    },
  },
  {
    name: 'ACR push of an image to a chart subscription of the same repository',
    payload: fixture('acr-push'),
    warehouses: [['chart', { chart: { repoURL: `oci://${HELLO}` } }]],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `1 Warehouse subscribes to image ${HELLO}; none takes tag "v1": kargo-demo/chart: spec.subscriptions[0] is a chart subscription; the push is an image`,
    },
  },
  {
    name: 'git.push to a branch no Warehouse watches',
    payload: fixture('devops-git-push'),
    warehouses: [['release', git(FABRIKAM, { branch: 'release' })]],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `1 Warehouse subscribes to Git repository ${FABRIKAM}; none takes refs/heads/main: kargo-demo/release: spec.subscriptions[0]: branch "main" is not "release"`,
    },
  },
  // Near misses: the same repository under a spelling normalization does not join.
  {
    name: 'near miss: another registry host (a geo-replica login server)',
    payload: fixture('acr-push'),
    warehouses: [['eu', 'myregistry-eu.azurecr.io/hello-world']],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse subscribes to image ${HELLO}; Warehouse kargo-demo/eu subscribes to image myregistry-eu.azurecr.io/hello-world (another registry host or login server: myregistry-eu.azurecr.io instead of myregistry.azurecr.io)`,
    },
  },
  {
    name: 'near miss: the login server with a port',
    payload: fixture('acr-push'),
    warehouses: [['port', 'myregistry.azurecr.io:443/hello-world']],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse subscribes to image ${HELLO}; Warehouse kargo-demo/port subscribes to image myregistry.azurecr.io:443/hello-world (another registry host or login server: myregistry.azurecr.io:443 instead of myregistry.azurecr.io)`,
    },
  },
  {
    name: 'near miss: Docker Hub instead of the registry',
    payload: fixture('acr-push'),
    warehouses: [['hub', 'docker.io/library/hello-world']],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse subscribes to image ${HELLO}; Warehouse kargo-demo/hub subscribes to image hello-world (another registry host or login server: docker.io instead of myregistry.azurecr.io)`,
    },
  },
  {
    name: 'near miss: another path prefix',
    payload: fixture('acr-push'),
    warehouses: [['samples', 'myregistry.azurecr.io/samples/hello-world']],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse subscribes to image ${HELLO}; Warehouse kargo-demo/samples subscribes to image myregistry.azurecr.io/samples/hello-world (another path prefix: samples/hello-world instead of hello-world)`,
    },
  },
  {
    name: 'near miss: a Git repository of the same name in another Azure DevOps project',
    payload: fixture('devops-git-push'),
    warehouses: [
      [
        'other-project',
        git('https://dev.azure.com/fabrikam-fiber-inc/Other/_git/Fabrikam-Fiber-Git'),
      ],
    ],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse subscribes to Git repository ${FABRIKAM}; Warehouse kargo-demo/other-project subscribes to git https://dev.azure.com/fabrikam-fiber-inc/other/_git/fabrikam-fiber-git (another path prefix: fabrikam-fiber-inc/other/_git/fabrikam-fiber-git instead of fabrikam-fiber-inc/fabrikam-fiber-git/_git/fabrikam-fiber-git)`,
    },
  },
  {
    name: 'near miss: http:// instead of https:// (Azure DevOps Server)',
    payload: gitPush({ remoteUrl: ON_PREM }),
    warehouses: [['plain-http', git(ON_PREM.replace('https://', 'http://'))]],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse subscribes to Git repository ${ON_PREM.toLowerCase()}; Warehouse kargo-demo/plain-http subscribes to git ${ON_PREM.toLowerCase().replace('https://', 'http://')} (another scheme: http:// instead of https://)`,
    },
  },
  {
    name: 'near misses: several, the first named and the others counted',
    payload: fixture('acr-push'),
    warehouses: [
      ['b-samples', 'myregistry.azurecr.io/samples/hello-world'],
      ['a-eu', 'myregistry-eu.azurecr.io/hello-world'],
    ],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse subscribes to image ${HELLO}; Warehouse kargo-demo/a-eu subscribes to image myregistry-eu.azurecr.io/hello-world (another registry host or login server: myregistry-eu.azurecr.io instead of myregistry.azurecr.io), and 1 more near miss(es)`,
    },
  },
  {
    name: 'another case is no near miss: normalization lowercases, so it is the same repository',
    payload: fixture('acr-push'),
    warehouses: [
      ['cased', image('MyRegistry.AzureCR.io/Hello-World', { imageSelectionStrategy: 'Lexical' })],
    ],
    body: { msg: 'refreshed 1 warehouse(s)' },
  },
  // The default branch named by git.push.
  {
    name: 'git.push to develop, the default branch: a subscription without branch follows it',
    payload: gitPush({ refs: ['refs/heads/develop'], defaultBranch: 'refs/heads/develop' }),
    warehouses: [['default', git(FABRIKAM)]],
    explain: true,
    body: {
      msg: 'refreshed 1 warehouse(s)',
      warehouses: [
        {
          namespace: 'kargo-demo',
          name: 'default',
          refreshed: true,
          reason:
            'spec.subscriptions[0] takes refs/heads/develop (no branch set: follows the default branch "develop" named by the push)',
        },
      ],
    },
  },
  {
    name: 'git.push to main while the default branch is develop',
    payload: gitPush({ refs: ['refs/heads/main'], defaultBranch: 'refs/heads/develop' }),
    warehouses: [['default', git(FABRIKAM)]],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `1 Warehouse subscribes to Git repository ${FABRIKAM}; none takes refs/heads/main: kargo-demo/default: spec.subscriptions[0]: branch "main" is not the default branch "develop" named by the push (no branch set)`,
    },
  },
  {
    name: "git.push without defaultBranch: Kargo's guess, main or master",
    payload: gitPush({ refs: ['refs/heads/develop'], defaultBranch: null }),
    warehouses: [['default', git(FABRIKAM)]],
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `1 Warehouse subscribes to Git repository ${FABRIKAM}; none takes refs/heads/develop: kargo-demo/default: spec.subscriptions[0]: branch "develop" is not main or master (no branch set, and the push names no default branch: Kargo's guess)`,
    },
  },
  {
    name: "the wizard's Test payload: master, named as the default branch",
    payload: fixture('devops-test-git-push'),
    warehouses: [['default', git(FABRIKAM)]],
    explain: true,
    body: {
      msg: 'refreshed 1 warehouse(s)',
      warehouses: [
        {
          namespace: 'kargo-demo',
          name: 'default',
          refreshed: true,
          reason:
            'spec.subscriptions[0] takes refs/heads/master (no branch set: follows the default branch "master" named by the push)',
        },
      ],
    },
  },
  // explain: true
  {
    name: 'explain: every subscribed Warehouse, sorted, refreshed or not and why',
    payload: fixture('acr-push'),
    warehouses: [
      ['semver', image(HELLO, { semverConstraint: '^1.0.0' })],
      ['lexical', image(HELLO, { imageSelectionStrategy: 'Lexical' })],
      ['unrelated', 'myregistry.azurecr.io/other'],
    ],
    explain: true,
    body: {
      msg: 'refreshed 1 warehouse(s)',
      warehouses: [
        {
          namespace: 'kargo-demo',
          name: 'lexical',
          refreshed: true,
          reason: 'spec.subscriptions[0] takes tag "v1"',
        },
        {
          namespace: 'kargo-demo',
          name: 'semver',
          refreshed: false,
          reason: 'spec.subscriptions[0]: tag "v1" is not a strict semantic version',
        },
      ],
    },
  },
  {
    name: 'explain: near misses listed when nothing matched',
    payload: fixture('acr-push'),
    warehouses: [['eu', 'myregistry-eu.azurecr.io/hello-world']],
    explain: true,
    body: {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse subscribes to image ${HELLO}; Warehouse kargo-demo/eu subscribes to image myregistry-eu.azurecr.io/hello-world (another registry host or login server: myregistry-eu.azurecr.io instead of myregistry.azurecr.io)`,
      warehouses: [],
      nearMisses: [
        {
          namespace: 'kargo-demo',
          name: 'eu',
          subscription: 'image myregistry-eu.azurecr.io/hello-world',
          difference:
            'another registry host or login server: myregistry-eu.azurecr.io instead of myregistry.azurecr.io',
        },
      ],
    },
  },
];

function appWith(
  manifests: unknown[],
  options: { explain?: boolean; logger?: RecordingLogger } = {},
) {
  const adapter = memoryAdapter({ warehouses: manifests });
  const app = express();
  app.use('/azure', azureReceiver({ token: TOKEN, ...adapter, ...options }));
  return { app, adapter };
}

describe('explanations in the answer (real Azure payloads, memoryAdapter)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { app } = appWith(
        c.warehouses.map(([name, sub]) => warehouseManifest('kargo-demo', name, sub)),
        { explain: c.explain ?? false },
      );
      const res = await request(app).post(`/azure/${TOKEN}`).send(c.payload);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, c.body);
    });
  }

  it(`explain: at most ${MAX_EXPLAINED} Warehouses, the rest counted`, async () => {
    const names = Array.from(
      { length: MAX_EXPLAINED + 5 },
      (_, i) => `w${String(i).padStart(3, '0')}`,
    );
    const { app } = appWith(
      names.map((name) =>
        warehouseManifest('kargo-demo', name, image(HELLO, { semverConstraint: '^2.0.0' })),
      ),
      { explain: true },
    );
    const res = await request(app).post(`/azure/${TOKEN}`).send(fixture('acr-push'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      msg: 'refreshed 0 warehouse(s)',
      hint: `${MAX_EXPLAINED + 5} Warehouses subscribe to image ${HELLO}; none takes tag "v1": kargo-demo/w000: spec.subscriptions[0]: tag "v1" is not a strict semantic version; and ${MAX_EXPLAINED + 4} more`,
      warehouses: names.slice(0, MAX_EXPLAINED).map((name) => ({
        namespace: 'kargo-demo',
        name,
        refreshed: false,
        reason: 'spec.subscriptions[0]: tag "v1" is not a strict semantic version',
      })),
      warehousesOmitted: 5,
    });
  });

  it('logs the explanation at debug level and the hint at info level', async () => {
    const logger = Object.assign(new RecordingLogger(), { isLevelEnabled: () => true });
    const { app } = appWith([warehouseManifest('kargo-demo', 'semver', image(HELLO))], { logger });
    await request(app).post(`/azure/${TOKEN}`).send(fixture('acr-push')).expect(200);
    const explained = logger.lines.filter((l) => l.msg === 'push explained');
    assert.deepEqual(explained, [
      {
        level: 'debug',
        msg: 'push explained',
        obj: {
          repoURLs: [HELLO],
          qualifiers: ['v1'],
          defaultBranch: undefined,
          warehouses: [
            {
              namespace: 'kargo-demo',
              name: 'semver',
              refreshed: false,
              subscription: `image ${HELLO}`,
              reason: 'spec.subscriptions[0]: tag "v1" is not a strict semantic version',
            },
          ],
          nearMisses: [],
        },
      },
    ]);
    const webhook = logger.lines.find((l) => l.msg === 'webhook');
    assert.equal(webhook?.level, 'info');
    assert.equal(
      (webhook?.obj as { hint?: string }).hint,
      `1 Warehouse subscribes to image ${HELLO}; none takes tag "v1": kargo-demo/semver: spec.subscriptions[0]: tag "v1" is not a strict semantic version`,
    );
  });
});

/** An adapter whose explainPush counts its calls (and can fail). */
class CountingAdapter {
  explained = 0;
  targets: RefreshTarget[] = [];
  failExplain: Error | undefined;
  readonly lookup = async (): Promise<RefreshTarget[]> => this.targets;
  readonly refresh = async (): Promise<void> => undefined;
  readonly explainPush = async (_event: PushEvent): Promise<PushExplanation> => {
    this.explained++;
    if (this.failExplain) throw this.failExplain;
    return { warehouses: [], nearMisses: [] };
  };
}

describe('explanations stay off the hot path', () => {
  function build(adapter: CountingAdapter, logger: RecordingLogger, explain = false) {
    const app = express();
    // Its own members named: a spread would bring `explained`, an unknown option.
    const { lookup, refresh, explainPush } = adapter;
    app.use(
      '/azure',
      azureReceiver({ token: TOKEN, lookup, refresh, explainPush, logger, explain }),
    );
    return app;
  }

  const hotPath = [
    { name: 'explain off, debug off: explainPush is not called', debug: false, explained: 0 },
    {
      name: 'debug logs on: explained for the log, the answer unchanged',
      debug: true,
      explained: 1,
    },
  ];
  for (const c of hotPath) {
    it(`a push that refreshes something, ${c.name}`, async () => {
      const adapter = new CountingAdapter();
      adapter.targets = [{ kind: 'Warehouse', namespace: 'kargo-demo', name: 'w' }];
      const logger = Object.assign(new RecordingLogger(), { isLevelEnabled: () => c.debug });
      const res = await request(build(adapter, logger))
        .post(`/azure/${TOKEN}`)
        .send(fixture('acr-push'));
      assert.deepEqual(res.body, { msg: 'refreshed 1 warehouse(s)' });
      assert.equal(adapter.explained, c.explained);
    });
  }

  it('a failing explainPush never fails the delivery: the hint from the event alone, a warning without the message', async () => {
    const adapter = new CountingAdapter();
    adapter.failExplain = Object.assign(new Error('HTTP-Code: 500 Body: {"secret":"leaked"}'), {
      code: 500,
    });
    const logger = new RecordingLogger();
    const res = await request(build(adapter, logger, true))
      .post(`/azure/${TOKEN}`)
      .send(fixture('acr-push'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      msg: 'refreshed 0 warehouse(s)',
      hint: `no Warehouse of this receiver takes tag "v1" of image ${HELLO} (the adapter cannot say why)`,
    });
    assert.deepEqual(
      logger.lines.filter((l) => l.msg === 'explanation failed'),
      [{ level: 'warn', msg: 'explanation failed', obj: { errorName: 'Error', errorCode: 500 } }],
    );
    assert.ok(!logger.text().includes('leaked'));
  });
});

describe('explanations through kubernetesAdapter and the fake API server: the receiver scope only', () => {
  let api: FakeKubeApi;
  before(async () => {
    api = new FakeKubeApi();
    await api.start();
    api.put(
      warehouseManifest('kargo-demo', 'semver', image(HELLO, { semverConstraint: '^1.0.0' })),
    );
    api.put(warehouseManifest('kargo-demo', 'eu', 'myregistry-eu.azurecr.io/hello-world'));
    api.put(
      warehouseManifest(
        'other-project',
        'lexical',
        image(HELLO, { imageSelectionStrategy: 'Lexical' }),
      ),
    );
    api.put(warehouseManifest('other-project', 'eu', 'myregistry-eu.azurecr.io/hello-world'));
  });
  after(async () => {
    await until(() => api.openConnections === 0, 'no connections left');
    await api.close();
  });

  it("a project's receiver explains with its project's Warehouses, never another project's", async () => {
    const adapter = kubernetesAdapter({ kubeConfig: api.kubeConfig() });
    try {
      await adapter.ready();
      const app = express();
      app.use(
        '/azure',
        azureReceiver({ token: TOKEN, ...adapter.scoped(['kargo-demo']), explain: true }),
      );
      const res = await request(app)
        .post(`/azure/${TOKEN}`)
        .set('Content-Type', 'application/json; charset=utf-8')
        .send(fixture('acr-push'));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        msg: 'refreshed 0 warehouse(s)',
        hint: `1 Warehouse subscribes to image ${HELLO}; none takes tag "v1": kargo-demo/semver: spec.subscriptions[0]: tag "v1" is not a strict semantic version`,
        warehouses: [
          {
            namespace: 'kargo-demo',
            name: 'semver',
            refreshed: false,
            reason: 'spec.subscriptions[0]: tag "v1" is not a strict semantic version',
          },
        ],
        nearMisses: [
          {
            namespace: 'kargo-demo',
            name: 'eu',
            subscription: 'image myregistry-eu.azurecr.io/hello-world',
            difference:
              'another registry host or login server: myregistry-eu.azurecr.io instead of myregistry.azurecr.io',
          },
        ],
      });
      // The cluster-wide adapter refreshes the other project's Lexical Warehouse.
      const all = express();
      all.use('/azure', azureReceiver({ token: TOKEN, ...adapter, explain: true }));
      const wide = await request(all).post(`/azure/${TOKEN}`).send(fixture('acr-push'));
      assert.deepEqual(wide.body, {
        msg: 'refreshed 1 warehouse(s)',
        warehouses: [
          {
            namespace: 'kargo-demo',
            name: 'semver',
            refreshed: false,
            reason: 'spec.subscriptions[0]: tag "v1" is not a strict semantic version',
          },
          {
            namespace: 'other-project',
            name: 'lexical',
            refreshed: true,
            reason: 'spec.subscriptions[0] takes tag "v1"',
          },
        ],
      });
    } finally {
      await adapter.close();
    }
  });
});

describe('pushHint and the answer fields', () => {
  function event(overrides: Partial<PushEvent>): PushEvent {
    return {
      type: 'push',
      source: 'acr',
      eventType: 'push',
      repoURLs: [HELLO],
      kinds: ['image'],
      qualifiers: ['v1'],
      ...overrides,
    };
  }

  it('names what each kind of push carries: chart versions, several refs, no qualifier', () => {
    const none: PushExplanation = {
      warehouses: [{ namespace: 'p', name: 'w', refreshed: false, subscription: 's', reason: 'r' }],
      nearMisses: [],
    };
    assert.equal(
      pushHint(event({ kinds: ['chart'], qualifiers: ['1.2.3'] }), none),
      `1 Warehouse subscribes to chart ${HELLO}; none takes version "1.2.3": p/w: r`,
    );
    assert.equal(
      pushHint(
        event({
          kinds: ['git'],
          repoURLs: [FABRIKAM],
          qualifiers: ['refs/heads/a', 'refs/tags/v1'],
        }),
        none,
      ),
      `1 Warehouse subscribes to Git repository ${FABRIKAM}; none takes refs/heads/a or refs/tags/v1: p/w: r`,
    );
    assert.equal(
      pushHint(event({ kinds: ['image', 'chart'], qualifiers: [] }), undefined),
      `no Warehouse of this receiver takes the push of image or chart ${HELLO} (the adapter cannot say why)`,
    );
  });

  it(`cuts a long reason to ${MAX_TEXT} characters`, () => {
    const long = 'x'.repeat(1000);
    const hint = pushHint(event({}), {
      warehouses: [
        { namespace: 'p', name: 'w', refreshed: false, subscription: 's', reason: long },
      ],
      nearMisses: [],
    });
    assert.equal(hint.length, MAX_TEXT);
    assert.ok(hint.endsWith('…'));
    assert.equal(bounded('short'), 'short');
  });

  it(`lists at most ${MAX_EXPLAINED} near misses, the rest counted`, () => {
    const nearMisses = Array.from({ length: MAX_EXPLAINED + 2 }, (_, i) => ({
      namespace: 'p',
      name: `w${String(i)}`,
      subscription: 'image x/hello-world',
      difference: 'd',
    }));
    const fields = explainedFields({ warehouses: [], nearMisses }, []);
    assert.equal(fields.nearMisses?.length, MAX_EXPLAINED);
    assert.equal(fields.nearMissesOmitted, 2);
    assert.deepEqual(fields.warehouses, []);
  });
});
