import assert from 'node:assert/strict';
import { WarehouseIndex } from '../../lib/matching/index.js';
import type { ArtifactKind, PushEvent, RefreshTarget } from '../../lib/types.js';
import { normalizeGitURL, normalizeImageURL } from '../../lib/matching/urls.js';
import { RecordingLogger } from '../support/recording-adapter.js';

const GIT = 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam';
const IMAGE = 'myacr.azurecr.io/app';
const CHART = 'myacr.azurecr.io/helm/app';

function warehouseManifest(
  name: string,
  subscriptions: unknown[],
  namespace = 'kargo-demo',
): Record<string, unknown> {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Warehouse',
    metadata: { name, namespace, uid: 'u-1', resourceVersion: '1' },
    spec: { interval: '5m0s', subscriptions },
    status: { conditions: [] },
  };
}

function push(repoURLs: string[], kinds: ArtifactKind[], qualifiers: string[]): PushEvent {
  return {
    type: 'push',
    source: 'azure-devops',
    eventType: 'git.push',
    repoURLs,
    kinds,
    qualifiers,
  };
}

function wh(name: string, namespace = 'kargo-demo'): RefreshTarget {
  return { kind: 'Warehouse', namespace, name };
}

/** A small fleet covering every subscription kind and the usual spellings of one repository. */
function fleet(): WarehouseIndex {
  const index = new WarehouseIndex();
  index.upsert(
    warehouseManifest('git-default', [
      { git: { repoURL: 'https://fabrikam.visualstudio.com/DefaultCollection/_git/Fabrikam' } },
    ]),
  );
  index.upsert(
    warehouseManifest('git-develop', [
      {
        git: { repoURL: 'git@ssh.dev.azure.com:v3/fabrikam/Fabrikam/Fabrikam', branch: 'develop' },
      },
    ]),
  );
  index.upsert(
    warehouseManifest('git-semver', [
      {
        git: {
          repoURL: 'https://user@dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam.git',
          commitSelectionStrategy: 'SemVer',
          semverConstraint: '^1.0.0',
        },
      },
    ]),
  );
  index.upsert(warehouseManifest('image-semver', [{ image: { repoURL: 'MyACR.azurecr.io/app' } }]));
  index.upsert(
    warehouseManifest('image-digest', [
      {
        image: {
          repoURL: 'myacr.azurecr.io/app',
          imageSelectionStrategy: 'Digest',
          constraint: 'stable',
        },
      },
    ]),
  );
  index.upsert(
    warehouseManifest('chart', [
      { chart: { repoURL: 'oci://myacr.azurecr.io/helm/app', semverConstraint: '>=1.0.0' } },
    ]),
  );
  index.upsert(
    warehouseManifest(
      'other-project',
      [{ git: { repoURL: 'https://dev.azure.com/fabrikam/Fabrikam/_git/Fabrikam' } }],
      'another-project',
    ),
  );
  index.upsert(
    warehouseManifest('unrelated', [{ git: { repoURL: 'https://github.com/example/repo' } }]),
  );
  return index;
}

describe('WarehouseIndex.match', () => {
  const cases: Array<{
    name: string;
    event: PushEvent;
    namespaces?: string[];
    expected: RefreshTarget[];
  }> = [
    {
      name: 'git push to main: default-branch subscribers in every namespace',
      event: push([GIT], ['git'], ['refs/heads/main']),
      expected: [wh('other-project', 'another-project'), wh('git-default')],
    },
    {
      name: 'git push to develop',
      event: push([GIT], ['git'], ['refs/heads/develop']),
      expected: [wh('git-develop')],
    },
    {
      name: 'git tag within the constraint',
      event: push([GIT], ['git'], ['refs/tags/v1.2.0']),
      expected: [wh('git-semver')],
    },
    {
      name: 'git tag outside the constraint',
      event: push([GIT], ['git'], ['refs/tags/v2.0.0']),
      expected: [],
    },
    {
      name: 'several refs in one push: any one matches',
      event: push([GIT], ['git'], ['refs/heads/feature', 'refs/tags/v1.0.1', 'refs/heads/develop']),
      expected: [wh('git-develop'), wh('git-semver')],
    },
    {
      name: 'no qualifiers: every subscriber of the repository',
      event: push([GIT], ['git'], []),
      expected: [
        wh('other-project', 'another-project'),
        wh('git-default'),
        wh('git-develop'),
        wh('git-semver'),
      ],
    },
    {
      name: 'scoped to namespaces',
      event: push([GIT], ['git'], ['refs/heads/main']),
      namespaces: ['another-project'],
      expected: [wh('other-project', 'another-project')],
    },
    {
      name: 'scoped to no namespace',
      event: push([GIT], ['git'], ['refs/heads/main']),
      namespaces: [],
      expected: [],
    },
    {
      name: 'image semver tag',
      event: push([IMAGE], ['image'], ['1.4.0']),
      expected: [wh('image-semver')],
    },
    {
      name: 'image digest tag',
      event: push([IMAGE], ['image'], ['stable']),
      expected: [wh('image-digest')],
    },
    {
      name: 'image push by digest (no tag): every image subscriber',
      event: push([IMAGE], ['image'], []),
      expected: [wh('image-digest'), wh('image-semver')],
    },
    {
      name: 'OCI artifact that may be image or chart',
      event: push([IMAGE, CHART], ['image', 'chart'], ['1.0.0']),
      expected: [wh('chart'), wh('image-semver')],
    },
    {
      name: 'kind filters: a chart push does not reach image subscribers of the same URL',
      event: push([IMAGE], ['chart'], ['1.0.0']),
      expected: [],
    },
    {
      name: 'unknown repository',
      event: push(['https://dev.azure.com/x/y/_git/z'], ['git'], []),
      expected: [],
    },
    {
      name: 'duplicated URLs and kinds are harmless',
      event: push([GIT, GIT], ['git', 'git'], ['refs/heads/main', 'refs/heads/main']),
      expected: [wh('other-project', 'another-project'), wh('git-default')],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const index = fleet();
      assert.deepEqual(
        index.match(c.event, c.namespaces === undefined ? undefined : { namespaces: c.namespaces }),
        c.expected,
      );
    });
  }

  it('returns a Warehouse once even when several subscriptions match', () => {
    const index = new WarehouseIndex();
    index.upsert(
      warehouseManifest('twice', [
        { git: { repoURL: GIT } },
        {
          git: {
            repoURL: 'https://fabrikam.visualstudio.com/Fabrikam/_git/Fabrikam',
            branch: 'main',
          },
        },
        { image: { repoURL: IMAGE } },
      ]),
    );
    assert.deepEqual(index.match(push([GIT], ['git'], ['refs/heads/main'])), [wh('twice')]);
    assert.deepEqual(index.match(push([GIT, IMAGE], ['git', 'image'], [])), [wh('twice')]);
  });

  it('matches the normalized URL the sources compute from real payload URLs', () => {
    const index = fleet();
    const event = push(
      [normalizeGitURL('https://dev.azure.com/fabrikam/DefaultCollection/_git/Fabrikam')],
      ['git'],
      ['refs/heads/main'],
    );
    assert.deepEqual(index.match(event), [
      wh('other-project', 'another-project'),
      wh('git-default'),
    ]);
    assert.deepEqual(
      index.match(push([normalizeImageURL('myacr.azurecr.io/app:1.0.0')], ['image'], ['1.0.0'])),
      [wh('image-semver')],
    );
  });
});

describe('WarehouseIndex.upsert, delete, clear', () => {
  it('replaces a Warehouse: old subscriptions stop matching', () => {
    const index = fleet();
    index.upsert(
      warehouseManifest('git-default', [{ git: { repoURL: 'https://github.com/example/other' } }]),
    );
    assert.equal(index.size, 8);
    assert.deepEqual(index.match(push([GIT], ['git'], ['refs/heads/main'])), [
      wh('other-project', 'another-project'),
    ]);
    assert.deepEqual(
      index.match(push(['https://github.com/example/other'], ['git'], ['refs/heads/main'])),
      [wh('git-default')],
    );
  });

  it('deletes a Warehouse, and deleting an unknown one is a no-op', () => {
    const index = fleet();
    index.delete('kargo-demo', 'git-default');
    index.delete('kargo-demo', 'never-there');
    index.delete('another-project', 'git-default');
    assert.equal(index.size, 7);
    assert.deepEqual(index.match(push([GIT], ['git'], ['refs/heads/main'])), [
      wh('other-project', 'another-project'),
    ]);
  });

  it('clears', () => {
    const index = fleet();
    index.clear();
    assert.equal(index.size, 0);
    assert.deepEqual(index.match(push([GIT], ['git'], [])), []);
  });

  it('keeps a projection: mutating the manifest afterwards changes nothing', () => {
    const index = new WarehouseIndex();
    const manifest = warehouseManifest('w', [{ git: { repoURL: GIT, branch: 'main' } }]);
    index.upsert(manifest);
    const spec = manifest['spec'] as { subscriptions: Array<{ git: Record<string, unknown> }> };
    const git = spec.subscriptions[0]!.git;
    git['repoURL'] = 'https://github.com/elsewhere/repo';
    git['branch'] = 'develop';
    (manifest['metadata'] as Record<string, unknown>)['name'] = 'renamed';
    assert.deepEqual(index.match(push([GIT], ['git'], ['refs/heads/main'])), [wh('w')]);
    assert.deepEqual(index.match(push(['https://github.com/elsewhere/repo'], ['git'], [])), []);
  });

  it('holds a Warehouse without subscriptions list (it matches nothing)', () => {
    const logger = new RecordingLogger();
    const index = new WarehouseIndex({ logger });
    index.upsert({ kind: 'Warehouse', metadata: { name: 'empty', namespace: 'ns' }, spec: {} });
    assert.equal(index.size, 1);
    assert.deepEqual(logger.lines, [
      {
        level: 'warn',
        obj: { namespace: 'ns', name: 'empty' },
        msg: 'Warehouse has no spec.subscriptions list',
      },
    ]);
  });
});

describe('WarehouseIndex: broken input never throws', () => {
  const broken: Array<{ name: string; subscription: unknown; reason: string }> = [
    {
      name: 'bad regex',
      subscription: { image: { repoURL: IMAGE, allowTags: '(' } },
      reason: 'invalid regular expression "("',
    },
    {
      // Valid JavaScript, but RE2 has no lookaround: Kargo rejects it too.
      name: 'a lookahead RE2 rejects',
      subscription: { image: { repoURL: IMAGE, allowTagsRegexes: ['^v(?=1)'] } },
      reason: 'invalid regular expression "^v(?=1)"',
    },
    {
      name: 'a backreference RE2 rejects',
      subscription: { image: { repoURL: IMAGE, ignoreTagsRegexes: ['(a)\\1'] } },
      reason: String.raw`invalid regular expression "(a)\\1"`,
    },
    {
      name: 'bad constraint',
      subscription: { image: { repoURL: IMAGE, constraint: 'not a range' } },
      reason: 'invalid semver constraint "not a range"',
    },
    {
      name: 'bad git constraint',
      subscription: {
        git: { repoURL: GIT, commitSelectionStrategy: 'SemVer', semverConstraint: '^^1' },
      },
      reason: 'invalid semver constraint "^^1"',
    },
    {
      name: 'missing repoURL',
      subscription: { git: { branch: 'main' } },
      reason: 'git.repoURL is missing',
    },
    {
      name: 'blank repoURL',
      subscription: { chart: { repoURL: '  ' } },
      reason: 'chart.repoURL is missing',
    },
    {
      name: 'two kinds',
      subscription: { git: { repoURL: GIT }, image: { repoURL: IMAGE } },
      reason: 'subscription has more than one of git, image',
    },
    { name: 'not an object', subscription: 'git', reason: 'subscription is not an object' },
    {
      name: 'kind not an object',
      subscription: { image: 'nginx' },
      reason: 'image is not an object',
    },
  ];
  for (const b of broken) {
    it(`skips and logs a subscription with ${b.name}, keeps the others`, () => {
      const logger = new RecordingLogger();
      const index = new WarehouseIndex({ logger });
      index.upsert(warehouseManifest('w', [b.subscription, { git: { repoURL: GIT } }]));
      assert.deepEqual(logger.lines, [
        {
          level: 'warn',
          obj: { namespace: 'kargo-demo', name: 'w', subscription: 0, reason: b.reason },
          msg: 'skipping a broken Warehouse subscription',
        },
      ]);
      assert.equal(index.size, 1);
      assert.deepEqual(index.match(push([GIT], ['git'], ['refs/heads/main'])), [wh('w')]);
    });
  }

  it('skips subscriptions of kinds it does not serve, at debug level', () => {
    const logger = new RecordingLogger();
    const index = new WarehouseIndex({ logger });
    index.upsert(warehouseManifest('w', [{ other: { repoURL: 'x' } }]));
    assert.deepEqual(logger.lines, [
      {
        level: 'debug',
        obj: { namespace: 'kargo-demo', name: 'w', subscription: 0 },
        msg: 'skipping a subscription of an unsupported kind',
      },
    ]);
  });

  const manifests: Array<{ name: string; manifest: unknown; obj: object; msg: string }> = [
    {
      name: 'no metadata.name',
      manifest: { kind: 'Warehouse', metadata: { namespace: 'ns' } },
      obj: { namespace: 'ns', name: undefined },
      msg: 'ignoring a Warehouse manifest without metadata.namespace and metadata.name',
    },
    {
      name: 'no metadata.namespace',
      manifest: { metadata: { name: 'w' } },
      obj: { namespace: undefined, name: 'w' },
      msg: 'ignoring a Warehouse manifest without metadata.namespace and metadata.name',
    },
    {
      name: 'no metadata',
      manifest: { spec: {} },
      obj: { namespace: undefined, name: undefined },
      msg: 'ignoring a Warehouse manifest without metadata.namespace and metadata.name',
    },
    {
      name: 'null',
      manifest: null,
      obj: { namespace: undefined, name: undefined },
      msg: 'ignoring a Warehouse manifest without metadata.namespace and metadata.name',
    },
    {
      name: 'a string',
      manifest: 'Warehouse',
      obj: { namespace: undefined, name: undefined },
      msg: 'ignoring a Warehouse manifest without metadata.namespace and metadata.name',
    },
    {
      name: 'another kind',
      manifest: { kind: 'Stage', metadata: { name: 's', namespace: 'ns' } },
      obj: { kind: 'Stage', expected: 'Warehouse' },
      msg: 'ignoring a manifest that is not a Warehouse',
    },
  ];
  for (const m of manifests) {
    it(`ignores and logs a manifest with ${m.name}`, () => {
      const logger = new RecordingLogger();
      const index = new WarehouseIndex({ logger });
      index.upsert(m.manifest);
      assert.equal(index.size, 0);
      assert.deepEqual(logger.lines, [{ level: 'warn', obj: m.obj, msg: m.msg }]);
    });
  }

  it('works without a logger', () => {
    const index = new WarehouseIndex();
    index.upsert(null);
    index.upsert(warehouseManifest('w', [{ image: { repoURL: IMAGE, allowTags: '(' } }]));
    assert.equal(index.size, 1);
  });
});

describe('WarehouseIndex.explain', () => {
  it('says, per subscribed Warehouse, whether it is refreshed and why', () => {
    const index = fleet();
    index.upsert(
      warehouseManifest('image-on-git-url', [
        { image: { repoURL: IMAGE } },
        { git: { repoURL: GIT, branch: 'release' } },
      ]),
    );
    assert.deepEqual(index.explain(push([GIT], ['git'], ['refs/heads/main'])), [
      {
        namespace: 'another-project',
        name: 'other-project',
        refreshed: true,
        subscription: `git ${GIT}`,
        reason: `spec.subscriptions[0] takes refs/heads/main (no branch set: follows main or master (the push names no default branch: Kargo's guess))`,
      },
      {
        namespace: 'kargo-demo',
        name: 'git-default',
        refreshed: true,
        subscription: `git ${GIT}`,
        reason: `spec.subscriptions[0] takes refs/heads/main (no branch set: follows main or master (the push names no default branch: Kargo's guess))`,
      },
      {
        namespace: 'kargo-demo',
        name: 'git-develop',
        refreshed: false,
        subscription: `git ${GIT}`,
        reason: `spec.subscriptions[0]: branch "main" is not "develop"`,
      },
      {
        namespace: 'kargo-demo',
        name: 'git-semver',
        refreshed: false,
        subscription: `git ${GIT}`,
        reason: `spec.subscriptions[0]: refs/heads/main is not a tag`,
      },
      {
        namespace: 'kargo-demo',
        name: 'image-on-git-url',
        refreshed: false,
        subscription: `git ${GIT}`,
        reason: `spec.subscriptions[1]: branch "main" is not "release"`,
      },
    ]);
  });

  it('names the kind mismatch and every failed qualifier', () => {
    const index = fleet();
    assert.deepEqual(
      index.explain(push([IMAGE], ['chart'], ['v1', 'latest']), { namespaces: ['kargo-demo'] }),
      [
        {
          namespace: 'kargo-demo',
          name: 'image-digest',
          refreshed: false,
          subscription: `image ${IMAGE}`,
          reason: `spec.subscriptions[0] is an image subscription; the push is a chart`,
        },
        {
          namespace: 'kargo-demo',
          name: 'image-semver',
          refreshed: false,
          subscription: `image ${IMAGE}`,
          reason: `spec.subscriptions[0] is an image subscription; the push is a chart`,
        },
      ],
    );
    assert.deepEqual(
      index.explain(push([IMAGE], ['image'], ['v1', 'latest']), { namespaces: ['kargo-demo'] }),
      [
        {
          namespace: 'kargo-demo',
          name: 'image-digest',
          refreshed: false,
          subscription: `image ${IMAGE}`,
          reason: `spec.subscriptions[0]: tag "v1" is not "stable"; tag "latest" is not "stable"`,
        },
        {
          namespace: 'kargo-demo',
          name: 'image-semver',
          refreshed: false,
          subscription: `image ${IMAGE}`,
          reason: `spec.subscriptions[0]: tag "v1" is not a strict semantic version; tag "latest" is not a strict semantic version`,
        },
      ],
    );
  });

  it('explains a push without qualifiers and agrees with match', () => {
    const index = fleet();
    const event = push([IMAGE], ['image'], []);
    const explained = index.explain(event);
    assert.deepEqual(explained, [
      {
        namespace: 'kargo-demo',
        name: 'image-digest',
        refreshed: true,
        subscription: `image ${IMAGE}`,
        reason: `spec.subscriptions[0] takes the push (it names no tag or ref to filter on)`,
      },
      {
        namespace: 'kargo-demo',
        name: 'image-semver',
        refreshed: true,
        subscription: `image ${IMAGE}`,
        reason: `spec.subscriptions[0] takes the push (it names no tag or ref to filter on)`,
      },
    ]);
    assert.deepEqual(
      explained.filter((e) => e.refreshed).map((e) => wh(e.name, e.namespace)),
      index.match(event),
    );
  });

  it('is empty for a repository nobody subscribes to', () => {
    assert.deepEqual(fleet().explain(push(['https://dev.azure.com/x/y/_git/z'], ['git'], [])), []);
  });
});

describe('WarehouseIndex.nearMisses and explainPush', () => {
  const PUSHED = 'myacr.azurecr.io/app';

  function nearFleet(): WarehouseIndex {
    const index = new WarehouseIndex();
    index.upsert(
      warehouseManifest('exact', [{ image: { repoURL: PUSHED, semverConstraint: '^2' } }]),
    );
    index.upsert(warehouseManifest('geo', [{ image: { repoURL: 'myacr-eu.azurecr.io/app' } }]));
    index.upsert(warehouseManifest('team', [{ image: { repoURL: 'myacr.azurecr.io/team/app' } }]));
    index.upsert(
      warehouseManifest(
        'geo',
        [{ image: { repoURL: 'myacr-eu.azurecr.io/app' } }],
        'another-project',
      ),
    );
    index.upsert(
      warehouseManifest('git-app', [{ git: { repoURL: 'https://example.com/org/app' } }]),
    );
    index.upsert(warehouseManifest('other-name', [{ image: { repoURL: 'myacr.azurecr.io/api' } }]));
    return index;
  }

  it('finds subscriptions of the same repository name, of a kind the push can be, in scope', () => {
    const event = push([PUSHED], ['image'], ['1.0.0']);
    assert.deepEqual(nearFleet().nearMisses(event, { namespaces: ['kargo-demo'] }), [
      {
        namespace: 'kargo-demo',
        name: 'geo',
        subscription: 'image myacr-eu.azurecr.io/app',
        difference:
          'another registry host or login server: myacr-eu.azurecr.io instead of myacr.azurecr.io',
      },
      {
        namespace: 'kargo-demo',
        name: 'team',
        subscription: 'image myacr.azurecr.io/team/app',
        difference: 'another path prefix: team/app instead of app',
      },
    ]);
    assert.equal(nearFleet().nearMisses(event).length, 3);
  });

  it('explainPush: near misses only when nothing takes the push', () => {
    const index = nearFleet();
    const missed = index.explainPush(push([PUSHED], ['image'], ['1.0.0']), {
      namespaces: ['kargo-demo'],
    });
    assert.deepEqual(
      missed.warehouses.map((w) => [w.name, w.refreshed]),
      [['exact', false]],
    );
    assert.deepEqual(
      missed.nearMisses.map((m) => m.name),
      ['geo', 'team'],
    );
    const taken = index.explainPush(push([PUSHED], ['image'], ['2.0.0']));
    assert.deepEqual(
      taken.warehouses.map((w) => [w.name, w.refreshed]),
      [['exact', true]],
    );
    assert.deepEqual(taken.nearMisses, []);
  });

  it('forgets near misses with their Warehouses: replaced, deleted, cleared', () => {
    const index = nearFleet();
    const event = push([PUSHED], ['image'], []);
    index.upsert(warehouseManifest('geo', [{ image: { repoURL: 'myacr.azurecr.io/other' } }]));
    index.delete('kargo-demo', 'team');
    assert.deepEqual(
      index.nearMisses(event).map((m) => `${m.namespace}/${m.name}`),
      ['another-project/geo'],
    );
    index.delete('another-project', 'geo');
    assert.deepEqual(index.nearMisses(event), []);
    const again = nearFleet();
    again.clear();
    again.upsert(warehouseManifest('geo', [{ image: { repoURL: 'myacr-eu.azurecr.io/app' } }]));
    assert.deepEqual(
      again.nearMisses(event).map((m) => m.name),
      ['geo'],
    );
  });
});
