import assert from 'node:assert/strict';
import {
  compileChartRule,
  compileGitRule,
  compileImageRule,
  compileRegex,
  type Rule,
  type RuleContext,
} from '../../lib/matching/qualifiers.js';

interface Case {
  name: string;
  sub: Record<string, unknown>;
  qualifier: string;
  /** undefined: matches; otherwise the exact reason. */
  reason: string | undefined;
  /** What the payload says beside the qualifier (the default branch). */
  context?: RuleContext;
}

function table(
  describeName: string,
  compile: (sub: Record<string, unknown>) => Rule,
  cases: Case[],
): void {
  describe(describeName, () => {
    for (const c of cases) {
      it(c.name, () => {
        assert.equal(compile(c.sub)(c.qualifier, c.context), c.reason);
      });
    }
  });
}

table('compileGitRule', compileGitRule, [
  // NewestFromBranch (the default)
  {
    name: 'default strategy, no branch: main',
    sub: {},
    qualifier: 'refs/heads/main',
    reason: undefined,
  },
  {
    name: 'default strategy, no branch: master',
    sub: {},
    qualifier: 'refs/heads/master',
    reason: undefined,
  },
  {
    name: 'default strategy, no branch: other branch',
    sub: {},
    qualifier: 'refs/heads/develop',
    reason:
      'branch "develop" is not main or master (no branch set, and the push names no default branch: Kargo\'s guess)',
  },
  {
    name: 'no branch, the push names the default branch develop: develop',
    sub: {},
    qualifier: 'refs/heads/develop',
    context: { defaultBranch: 'develop' },
    reason: undefined,
  },
  {
    name: 'no branch, the push names the default branch develop: main is not it',
    sub: {},
    qualifier: 'refs/heads/main',
    context: { defaultBranch: 'develop' },
    reason: 'branch "main" is not the default branch "develop" named by the push (no branch set)',
  },
  {
    name: "no branch, an empty default branch: Kargo's guess",
    sub: {},
    qualifier: 'refs/heads/master',
    context: { defaultBranch: '' },
    reason: undefined,
  },
  {
    name: 'branch set: the default branch named by the push does not matter',
    sub: { branch: 'release' },
    qualifier: 'refs/heads/develop',
    context: { defaultBranch: 'develop' },
    reason: 'branch "develop" is not "release"',
  },
  {
    name: 'branch set: same',
    sub: { branch: 'release/1.x' },
    qualifier: 'refs/heads/release/1.x',
    reason: undefined,
  },
  {
    name: 'branch set: main is not enough',
    sub: { branch: 'develop' },
    qualifier: 'refs/heads/main',
    reason: 'branch "main" is not "develop"',
  },
  {
    name: 'branch names are case-sensitive',
    sub: { branch: 'Main' },
    qualifier: 'refs/heads/main',
    reason: 'branch "main" is not "Main"',
  },
  {
    name: 'explicit NewestFromBranch ignores tag refs',
    sub: { commitSelectionStrategy: 'NewestFromBranch' },
    qualifier: 'refs/tags/v1.0.0',
    reason: 'refs/tags/v1.0.0 is not a branch',
  },
  // SemVer
  {
    name: 'SemVer: strict tag',
    sub: { commitSelectionStrategy: 'SemVer' },
    qualifier: 'refs/tags/v1.2.3',
    reason: undefined,
  },
  {
    name: 'SemVer: strict by default rejects v1',
    sub: { commitSelectionStrategy: 'SemVer' },
    qualifier: 'refs/tags/v1',
    reason: 'tag "v1" is not a strict semantic version',
  },
  {
    name: 'SemVer: loose accepts v1',
    sub: { commitSelectionStrategy: 'SemVer', strictSemvers: false },
    qualifier: 'refs/tags/v1',
    reason: undefined,
  },
  {
    name: 'SemVer: branch ref',
    sub: { commitSelectionStrategy: 'SemVer' },
    qualifier: 'refs/heads/main',
    reason: 'refs/heads/main is not a tag',
  },
  {
    name: 'SemVer: constraint holds',
    sub: { commitSelectionStrategy: 'SemVer', semverConstraint: '^1.0.0' },
    qualifier: 'refs/tags/v1.4.0',
    reason: undefined,
  },
  {
    name: 'SemVer: constraint fails',
    sub: { commitSelectionStrategy: 'SemVer', semverConstraint: '^1.0.0' },
    qualifier: 'refs/tags/v2.0.0',
    reason: 'tag "v2.0.0" does not satisfy "^1.0.0"',
  },
  {
    name: 'SemVer: allowTagsRegexes applies too',
    sub: { commitSelectionStrategy: 'SemVer', allowTagsRegexes: ['^v'] },
    qualifier: 'refs/tags/1.0.0',
    reason: 'tag "1.0.0" is not allowed by /^v/',
  },
  // NewestTag and Lexical
  {
    name: 'NewestTag: any tag',
    sub: { commitSelectionStrategy: 'NewestTag' },
    qualifier: 'refs/tags/anything',
    reason: undefined,
  },
  {
    name: 'Lexical: branch ref',
    sub: { commitSelectionStrategy: 'Lexical' },
    qualifier: 'refs/heads/main',
    reason: 'refs/heads/main is not a tag',
  },
  {
    name: 'NewestTag: allowTags (legacy regex)',
    sub: { commitSelectionStrategy: 'NewestTag', allowTags: '^release-' },
    qualifier: 'refs/tags/release-2024',
    reason: undefined,
  },
  {
    name: 'NewestTag: allowTags rejects',
    sub: { commitSelectionStrategy: 'NewestTag', allowTags: '^release-' },
    qualifier: 'refs/tags/nightly',
    reason: 'tag "nightly" is not allowed by /^release-/',
  },
  {
    name: 'Lexical: ignoreTags are exact strings',
    sub: { commitSelectionStrategy: 'Lexical', ignoreTags: ['v1.0.0'] },
    qualifier: 'refs/tags/v1.0.0',
    reason: 'tag "v1.0.0" is ignored by /^v1\\.0\\.0$/',
  },
  {
    name: 'Lexical: ignoreTags exact, not a pattern',
    sub: { commitSelectionStrategy: 'Lexical', ignoreTags: ['v1.0.0'] },
    qualifier: 'refs/tags/v1x0x0',
    reason: undefined,
  },
  {
    name: 'Lexical: ignoreTagsRegexes win over allow',
    sub: {
      commitSelectionStrategy: 'Lexical',
      allowTagsRegexes: ['.*'],
      ignoreTagsRegexes: ['-rc$'],
    },
    qualifier: 'refs/tags/2024.1-rc',
    reason: 'tag "2024.1-rc" is ignored by /-rc$/',
  },
  {
    name: 'NewestTag: any of several allowTagsRegexes',
    sub: { commitSelectionStrategy: 'NewestTag', allowTagsRegexes: ['^a', '^b'] },
    qualifier: 'refs/tags/b1',
    reason: undefined,
  },
  {
    name: 'NewestTag: allowTagsRegex (singular spelling)',
    sub: { commitSelectionStrategy: 'NewestTag', allowTagsRegex: ['^a'] },
    qualifier: 'refs/tags/b1',
    reason: 'tag "b1" is not allowed by /^a/',
  },
  {
    name: 'NewestTag: RE2 (?i) flag',
    sub: { commitSelectionStrategy: 'NewestTag', allowTagsRegexes: ['(?i)^release'] },
    qualifier: 'refs/tags/RELEASE-1',
    reason: undefined,
  },
  { name: 'any strategy: not a ref', sub: {}, qualifier: 'main', reason: 'main is not a branch' },
]);

table('compileImageRule', compileImageRule, [
  { name: 'SemVer default: strict tag', sub: {}, qualifier: 'v1.2.3', reason: undefined },
  {
    name: 'SemVer default: v1 is not strict',
    sub: {},
    qualifier: 'v1',
    reason: 'tag "v1" is not a strict semantic version',
  },
  {
    name: 'SemVer default: latest',
    sub: {},
    qualifier: 'latest',
    reason: 'tag "latest" is not a strict semantic version',
  },
  { name: 'SemVer loose: v1', sub: { strictSemvers: false }, qualifier: 'v1', reason: undefined },
  {
    name: 'SemVer: constraint',
    sub: { constraint: '~1.2' },
    qualifier: '1.2.9',
    reason: undefined,
  },
  {
    name: 'SemVer: constraint fails',
    sub: { constraint: '~1.2' },
    qualifier: '1.3.0',
    reason: 'tag "1.3.0" does not satisfy "~1.2"',
  },
  {
    name: 'SemVer: semverConstraint (deprecated)',
    sub: { semverConstraint: '<1.0.0' },
    qualifier: '1.0.0',
    reason: 'tag "1.0.0" does not satisfy "<1.0.0"',
  },
  {
    name: 'SemVer: constraint wins over semverConstraint',
    sub: { constraint: '^2', semverConstraint: '^1' },
    qualifier: '2.1.0',
    reason: undefined,
  },
  {
    name: 'SemVer: prerelease excluded',
    sub: { constraint: '>=1.0.0' },
    qualifier: '1.1.0-rc.1',
    reason: 'tag "1.1.0-rc.1" does not satisfy ">=1.0.0"',
  },
  {
    name: 'SemVer: prerelease asked for',
    sub: { constraint: '>=1.1.0-0' },
    qualifier: '1.1.0-rc.1',
    reason: undefined,
  },
  {
    name: 'SemVer: ignoreTags',
    sub: { ignoreTags: ['1.0.0'] },
    qualifier: '1.0.0',
    reason: 'tag "1.0.0" is ignored by /^1\\.0\\.0$/',
  },
  {
    name: 'Lexical: any tag',
    sub: { imageSelectionStrategy: 'Lexical' },
    qualifier: 'nightly-20240101',
    reason: undefined,
  },
  {
    name: 'Lexical: allowTags',
    sub: { imageSelectionStrategy: 'Lexical', allowTags: '^nightly-' },
    qualifier: 'v1',
    reason: 'tag "v1" is not allowed by /^nightly-/',
  },
  {
    name: 'NewestBuild: any tag',
    sub: { imageSelectionStrategy: 'NewestBuild' },
    qualifier: 'abc123',
    reason: undefined,
  },
  {
    name: 'NewestBuild: ignoreTagsRegexes',
    sub: { imageSelectionStrategy: 'NewestBuild', ignoreTagsRegexes: ['^cache-'] },
    qualifier: 'cache-1',
    reason: 'tag "cache-1" is ignored by /^cache-/',
  },
  {
    name: 'Digest: the named tag',
    sub: { imageSelectionStrategy: 'Digest', constraint: 'stable' },
    qualifier: 'stable',
    reason: undefined,
  },
  {
    name: 'Digest: the named tag via semverConstraint',
    sub: { imageSelectionStrategy: 'Digest', semverConstraint: 'stable' },
    qualifier: 'latest',
    reason: 'tag "latest" is not "stable"',
  },
]);

table('compileChartRule', compileChartRule, [
  { name: 'no constraint: any version', sub: {}, qualifier: 'not-semver', reason: undefined },
  {
    name: 'constraint holds',
    sub: { semverConstraint: '^1.0.0' },
    qualifier: '1.3.0',
    reason: undefined,
  },
  {
    name: 'constraint fails',
    sub: { semverConstraint: '^1.0.0' },
    qualifier: '2.0.0',
    reason: 'tag "2.0.0" does not satisfy "^1.0.0"',
  },
  // Kargo's MatchesVersion parses chart versions loosely (Masterminds NewVersion).
  { name: 'loose 1.3', sub: { semverConstraint: '^1.0.0' }, qualifier: '1.3', reason: undefined },
  { name: 'loose v1', sub: { semverConstraint: '^1.0.0' }, qualifier: 'v1', reason: undefined },
  {
    name: 'loose, outside',
    sub: { semverConstraint: '^1.0.0' },
    qualifier: 'v2',
    reason: 'tag "v2" does not satisfy "^1.0.0"',
  },
  {
    name: 'no version at all',
    sub: { semverConstraint: '^1.0.0' },
    qualifier: 'latest',
    reason: 'tag "latest" is not a semantic version',
  },
]);

describe('broken subscriptions throw at compile time', () => {
  const cases: Array<{ name: string; compile: () => Rule; message: string }> = [
    {
      name: 'bad allowTags',
      compile: () => compileGitRule({ commitSelectionStrategy: 'NewestTag', allowTags: '(' }),
      message: 'invalid regular expression "("',
    },
    {
      name: 'bad allowTagsRegexes',
      compile: () => compileImageRule({ allowTagsRegexes: ['[a-'] }),
      message: 'invalid regular expression "[a-"',
    },
    {
      name: 'bad ignoreTagsRegexes',
      compile: () => compileImageRule({ ignoreTagsRegexes: ['*'] }),
      message: 'invalid regular expression "*"',
    },
    {
      name: 'ignoreTags not a list',
      compile: () => compileImageRule({ ignoreTags: 'v1' }),
      message: 'ignoreTags must be a list of strings',
    },
    {
      name: 'bad git constraint',
      compile: () => compileGitRule({ commitSelectionStrategy: 'SemVer', semverConstraint: 'one' }),
      message: 'invalid semver constraint "one"',
    },
    {
      name: 'bad image constraint',
      compile: () => compileImageRule({ constraint: '>> 1' }),
      message: 'invalid semver constraint ">> 1"',
    },
    {
      name: 'bad chart constraint',
      compile: () => compileChartRule({ semverConstraint: 'x.y.z.w' }),
      message: 'invalid semver constraint "x.y.z.w"',
    },
    {
      name: 'unknown git strategy',
      compile: () => compileGitRule({ commitSelectionStrategy: 'Oldest' }),
      message: 'unknown commitSelectionStrategy "Oldest"',
    },
    {
      name: 'unknown image strategy',
      compile: () => compileImageRule({ imageSelectionStrategy: 'Random' }),
      message: 'unknown imageSelectionStrategy "Random"',
    },
    {
      name: 'Digest without constraint',
      compile: () => compileImageRule({ imageSelectionStrategy: 'Digest' }),
      message: 'Digest strategy without constraint',
    },
    {
      name: 'strictSemvers not boolean',
      compile: () => compileImageRule({ strictSemvers: 'yes' }),
      message: 'strictSemvers must be a boolean',
    },
    {
      name: 'branch not a string',
      compile: () => compileGitRule({ branch: 7 }),
      message: 'branch must be a string',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(c.compile, { message: c.message });
    });
  }
});

describe('compileRegex', () => {
  const cases = [
    { source: '^v\\d+$', input: 'v12', ok: true },
    { source: 'rc', input: 'v1-rc1', ok: true }, // unanchored, as RE2 MatchString
    { source: '(?i)^abc$', input: 'ABC', ok: true },
    { source: '(?P<major>\\d+)\\.', input: '1.2', ok: true },
    { source: '^abc$', input: 'ABC', ok: false },
  ];
  for (const c of cases) {
    it(`${c.source} on ${c.input}`, () => {
      assert.equal(compileRegex(c.source).test(c.input), c.ok);
    });
  }
});

describe('compileGitRule notes', () => {
  it('a subscription without branch says which default branch it followed', () => {
    const rule = compileGitRule({});
    assert.equal(
      rule.note?.({ defaultBranch: 'develop' }),
      'no branch set: follows the default branch "develop" named by the push',
    );
    assert.equal(
      rule.note?.({}),
      "no branch set: follows main or master (the push names no default branch: Kargo's guess)",
    );
  });

  it('a subscription with a branch has no note', () => {
    assert.equal(compileGitRule({ branch: 'main' }).note, undefined);
  });
});
