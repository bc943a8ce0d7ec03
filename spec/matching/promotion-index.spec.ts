import assert from 'node:assert/strict';
import { PromotionIndex } from '../../lib/matching/index.js';
import type { RefreshTarget } from '../../lib/types.js';
import { normalizePullRequestURL } from '../../lib/matching/urls.js';
import { fixture } from '../support/fixtures.js';
import { RecordingLogger } from '../support/recording-adapter.js';

const PR = 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam/pullrequest/1';
const PR_WEB =
  'https://fabrikam.visualstudio.com/DefaultCollection/_git/Fabrikam/pullrequest/1#view=discussion';
const OTHER_PR = 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam/pullrequest/2';

interface Options {
  name?: string;
  namespace?: string;
  phase?: string;
  currentStep?: number;
  steps?: unknown[];
  state?: unknown;
}

/** A Promotion as Kargo stores it while `git-wait-for-pr` runs (step 2 here). */
function promotionManifest(o: Options = {}): Record<string, unknown> {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Promotion',
    metadata: { name: o.name ?? 'prod.01abc', namespace: o.namespace ?? 'kargo-demo' },
    spec: {
      stage: 'prod',
      freight: 'abc',
      steps: o.steps ?? [
        { uses: 'git-clone', config: {} },
        { uses: 'git-open-pr', as: 'open-pr', config: {} },
        {
          uses: 'git-wait-for-pr',
          as: 'wait-for-pr',
          config: { prNumber: "${{ outputs['open-pr'].pr.id }}" },
        },
        { uses: 'argocd-update', config: {} },
      ],
    },
    status: {
      phase: o.phase ?? 'Running',
      currentStep: o.currentStep ?? 2,
      state:
        'state' in o
          ? o.state
          : {
              'open-pr': { pr: { id: 1, url: PR_WEB } },
              'wait-for-pr': { pr: { id: 1, url: PR_WEB, open: true, merged: false } },
            },
    },
  };
}

function promo(name: string, namespace = 'kargo-demo'): RefreshTarget {
  return { kind: 'Promotion', namespace, name };
}

describe('PromotionIndex.upsert then match', () => {
  const cases: Array<{
    name: string;
    manifests: Array<Record<string, unknown>>;
    prURL: string;
    namespaces?: string[];
    expected: RefreshTarget[];
  }> = [
    {
      name: 'running, waiting on the PR',
      manifests: [promotionManifest()],
      prURL: PR,
      expected: [promo('prod.01abc')],
    },
    { name: 'another PR', manifests: [promotionManifest()], prURL: OTHER_PR, expected: [] },
    {
      name: 'succeeded',
      manifests: [promotionManifest({ phase: 'Succeeded' })],
      prURL: PR,
      expected: [],
    },
    {
      name: 'pending',
      manifests: [promotionManifest({ phase: 'Pending' })],
      prURL: PR,
      expected: [],
    },
    {
      name: 'wait step not reached yet',
      manifests: [promotionManifest({ currentStep: 1 })],
      prURL: PR,
      expected: [],
    },
    {
      name: 'past the wait step',
      manifests: [promotionManifest({ currentStep: 3 })],
      prURL: PR,
      expected: [promo('prod.01abc')],
    },
    {
      name: 'currentStep absent means 0',
      manifests: [
        (() => {
          const m = promotionManifest({
            steps: [{ uses: 'git-wait-for-pr', as: 'w' }],
            state: { w: { pr: { url: PR } } },
          });
          delete (m['status'] as Record<string, unknown>)['currentStep'];
          return m;
        })(),
      ],
      prURL: PR,
      expected: [promo('prod.01abc')],
    },
    {
      name: 'wait step without alias',
      manifests: [
        promotionManifest({
          steps: [{ uses: 'git-wait-for-pr' }],
          currentStep: 0,
          state: { '': { pr: { url: PR } } },
        }),
      ],
      prURL: PR,
      expected: [],
    },
    {
      name: 'the URL of the open-pr step alone does not count',
      manifests: [promotionManifest({ state: { 'open-pr': { pr: { url: PR } } } })],
      prURL: PR,
      expected: [],
    },
    { name: 'no state', manifests: [promotionManifest({ state: null })], prURL: PR, expected: [] },
    {
      name: 'state without pr.url',
      manifests: [promotionManifest({ state: { 'wait-for-pr': { pr: { id: 1 } } } })],
      prURL: PR,
      expected: [],
    },
    {
      name: 'PR URL in any form',
      manifests: [
        promotionManifest({
          state: {
            'wait-for-pr': {
              pr: {
                url: 'HTTPS://dev.azure.com/Fabrikam/DefaultCollection/_git/Fabrikam/pullrequest/1/',
              },
            },
          },
        }),
      ],
      prURL: PR,
      expected: [promo('prod.01abc')],
    },
    {
      name: 'sorted and scoped',
      manifests: [
        promotionManifest({ name: 'b', namespace: 'team-b' }),
        promotionManifest({ name: 'z', namespace: 'team-a' }),
        promotionManifest({ name: 'a', namespace: 'team-a' }),
      ],
      prURL: PR,
      expected: [promo('a', 'team-a'), promo('z', 'team-a'), promo('b', 'team-b')],
    },
    {
      name: 'scoped to namespaces',
      manifests: [
        promotionManifest({ name: 'b', namespace: 'team-b' }),
        promotionManifest({ name: 'a', namespace: 'team-a' }),
      ],
      prURL: PR,
      namespaces: ['team-b'],
      expected: [promo('b', 'team-b')],
    },
    {
      name: 'two wait steps on the same PR: once',
      manifests: [
        promotionManifest({
          steps: [
            { uses: 'git-wait-for-pr', as: 'w1' },
            { uses: 'git-wait-for-pr', as: 'w2' },
          ],
          currentStep: 1,
          state: { w1: { pr: { url: PR } }, w2: { pr: { url: PR_WEB } } },
        }),
      ],
      prURL: PR,
      expected: [promo('prod.01abc')],
    },
    {
      name: 'two wait steps on two PRs: either',
      manifests: [
        promotionManifest({
          steps: [
            { uses: 'git-wait-for-pr', as: 'w1' },
            { uses: 'git-wait-for-pr', as: 'w2' },
          ],
          currentStep: 1,
          state: { w1: { pr: { url: OTHER_PR } }, w2: { pr: { url: PR } } },
        }),
      ],
      prURL: OTHER_PR,
      expected: [promo('prod.01abc')],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const index = new PromotionIndex();
      for (const m of c.manifests) index.upsert(m);
      assert.deepEqual(
        index.match(c.prURL, c.namespaces === undefined ? undefined : { namespaces: c.namespaces }),
        c.expected,
      );
    });
  }

  it('matches the URL the Azure DevOps source derives from devops-pr-merged.json', () => {
    const index = new PromotionIndex();
    index.upsert(promotionManifest());
    const href = String(fixture('devops-pr-merged')['resource']._links.web.href);
    assert.deepEqual(index.match(normalizePullRequestURL(href)), [promo('prod.01abc')]);
  });
});

describe('PromotionIndex lifecycle', () => {
  it('drops a Promotion once it leaves Running', () => {
    const index = new PromotionIndex();
    index.upsert(promotionManifest());
    assert.equal(index.size, 1);
    index.upsert(promotionManifest({ phase: 'Succeeded' }));
    assert.equal(index.size, 0);
    assert.deepEqual(index.match(PR), []);
  });

  it('replaces the PR a Promotion waits on', () => {
    const index = new PromotionIndex();
    index.upsert(promotionManifest());
    index.upsert(promotionManifest({ state: { 'wait-for-pr': { pr: { url: OTHER_PR } } } }));
    assert.equal(index.size, 1);
    assert.deepEqual(index.match(PR), []);
    assert.deepEqual(index.match(OTHER_PR), [promo('prod.01abc')]);
  });

  it('deletes and clears', () => {
    const index = new PromotionIndex();
    index.upsert(promotionManifest({ name: 'a' }));
    index.upsert(promotionManifest({ name: 'b' }));
    index.delete('kargo-demo', 'a');
    index.delete('kargo-demo', 'unknown');
    assert.deepEqual(index.match(PR), [promo('b')]);
    index.clear();
    assert.equal(index.size, 0);
    assert.deepEqual(index.match(PR), []);
  });

  it('keeps a projection: mutating the manifest afterwards changes nothing', () => {
    const index = new PromotionIndex();
    const manifest = promotionManifest();
    index.upsert(manifest);
    const status = manifest['status'] as Record<string, unknown>;
    status['phase'] = 'Succeeded';
    status['state'] = { 'wait-for-pr': { pr: { url: OTHER_PR } } };
    assert.deepEqual(index.match(PR), [promo('prod.01abc')]);
    assert.deepEqual(index.match(OTHER_PR), []);
  });

  const broken: Array<{ name: string; manifest: unknown; obj: object; msg: string }> = [
    {
      name: 'no name',
      manifest: { kind: 'Promotion', metadata: { namespace: 'ns' } },
      obj: { namespace: 'ns', name: undefined },
      msg: 'ignoring a Promotion manifest without metadata.namespace and metadata.name',
    },
    {
      name: 'another kind',
      manifest: { kind: 'Warehouse', metadata: { name: 'w', namespace: 'ns' } },
      obj: { kind: 'Warehouse', expected: 'Promotion' },
      msg: 'ignoring a manifest that is not a Promotion',
    },
    {
      name: 'an array',
      manifest: [],
      obj: { namespace: undefined, name: undefined },
      msg: 'ignoring a Promotion manifest without metadata.namespace and metadata.name',
    },
  ];
  for (const b of broken) {
    it(`ignores and logs a manifest with ${b.name}`, () => {
      const logger = new RecordingLogger();
      const index = new PromotionIndex({ logger });
      index.upsert(b.manifest);
      assert.equal(index.size, 0);
      assert.deepEqual(logger.lines, [{ level: 'warn', obj: b.obj, msg: b.msg }]);
    });
  }

  it('never throws on odd shapes', () => {
    const index = new PromotionIndex();
    const odd: unknown[] = [
      { kind: 'Promotion', metadata: { name: 'p', namespace: 'ns' } },
      {
        kind: 'Promotion',
        metadata: { name: 'p', namespace: 'ns' },
        spec: { steps: 'x' },
        status: { phase: 'Running', state: 'x' },
      },
      {
        kind: 'Promotion',
        metadata: { name: 'p', namespace: 'ns' },
        spec: { steps: [null, 1] },
        status: { phase: 'Running', currentStep: -1 },
      },
      promotionManifest({ state: { 'wait-for-pr': { pr: { url: 42 } } } }),
    ];
    for (const m of odd) index.upsert(m);
    assert.equal(index.size, 0);
  });
});
