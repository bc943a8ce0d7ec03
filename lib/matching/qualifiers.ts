/**
 * Which pushed refs or tags a Warehouse subscription would pick up, with Kargo's semantics, compiled once per
 * subscription. Sources (akuity/kargo): `api/v1alpha1/warehouse_types.go`, `pkg/controller/git/commit/*_selector.go`
 * (`MatchesRef`), `internal/webhook/external/refresh_eligibility_checker.go` (image and chart rules).
 * @module
 */
import { RE2JS } from 're2js';
import { compileConstraint, parseTagVersion, type Constraint } from './semver-constraint.js';

/** What the pushed payload says beside its qualifiers. */
export interface RuleContext {
  /** The repository's default branch, when the payload names it (see `PushEvent.defaultBranch`). */
  defaultBranch?: string;
}

/** Why a qualifier does not match, or undefined; `note` says what a match rests on beyond the subscription's fields. */
export type Rule = ((qualifier: string, context?: RuleContext) => string | undefined) & {
  note?: (context?: RuleContext) => string;
};

const BRANCH_PREFIX = 'refs/heads/';
const TAG_PREFIX = 'refs/tags/';

/** A compiled Kargo regular expression. */
export interface Regex {
  /** The pattern as written in the Warehouse. */
  readonly source: string;
  /** True when the pattern matches anywhere in `input` (Go's `MatchString`). */
  test(input: string): boolean;
  /** `/source/`, for messages. */
  toString(): string;
}

/**
 * Compiles a Kargo regular expression (Go RE2: pkg/controller/git/commit/tag_based_selector.go). JavaScript's
 * backtracking RegExp would take exponential time on patterns Kargo accepts (`^(a|a)+$`), stalling every webhook,
 * so patterns run on re2js, with Go's syntax. Throws on a pattern RE2 rejects.
 */
export function compileRegex(source: string): Regex {
  const re = RE2JS.compile(source);
  return {
    source,
    test: (input) => re.test(input),
    toString: () => `/${source}/`,
  };
}

/** A tag filter from `allowTags*` and `ignoreTags*`. */
export interface TagFilter {
  allow: Regex[];
  ignore: Regex[];
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new Error(`${field} must be a list of strings`);
  }
  return value;
}

/**
 * Compiles a Git or image subscription's tag filter: Kargo ≥ 1.11's `allowTagsRegexes`/`ignoreTagsRegexes` (once
 * spelled `…Regex`), plus the deprecated `allowTags` (one regex) and `ignoreTags` (exact tags), as Kargo 1.10 did.
 */
export function compileTagFilter(sub: Record<string, unknown>): TagFilter {
  const allowSources = [
    ...stringList(sub['allowTagsRegexes'], 'allowTagsRegexes'),
    ...stringList(sub['allowTagsRegex'], 'allowTagsRegex'),
  ];
  const legacyAllow = sub['allowTags'];
  if (legacyAllow !== undefined && legacyAllow !== null && legacyAllow !== '') {
    if (typeof legacyAllow !== 'string') throw new Error('allowTags must be a string');
    allowSources.push(legacyAllow);
  }
  const ignoreSources = [
    ...stringList(sub['ignoreTagsRegexes'], 'ignoreTagsRegexes'),
    ...stringList(sub['ignoreTagsRegex'], 'ignoreTagsRegex'),
    ...stringList(sub['ignoreTags'], 'ignoreTags').map((tag) => `^${RE2JS.quote(tag)}$`),
  ];
  const compile = (source: string): Regex => {
    try {
      return compileRegex(source);
    } catch {
      throw new Error(`invalid regular expression ${JSON.stringify(source)}`);
    }
  };
  return { allow: allowSources.map(compile), ignore: ignoreSources.map(compile) };
}

/** Why `tag` fails the filter (ignore first, then allow, as Kargo's `matchesTag`), or undefined. */
export function checkTagFilter(filter: TagFilter, tag: string): string | undefined {
  const ignoredBy = filter.ignore.find((re) => re.test(tag));
  if (ignoredBy !== undefined)
    return `tag ${JSON.stringify(tag)} is ignored by ${String(ignoredBy)}`;
  if (filter.allow.length > 0 && !filter.allow.some((re) => re.test(tag))) {
    return `tag ${JSON.stringify(tag)} is not allowed by ${filter.allow.map(String).join(', ')}`;
  }
  return undefined;
}

function optionalString(sub: Record<string, unknown>, field: string): string {
  const value = sub[field];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new Error(`${field} must be a string`);
  return value;
}

/** `strictSemvers` defaults to true at admission (`+kubebuilder:default=true`). */
function strictSemvers(sub: Record<string, unknown>): boolean {
  const value = sub['strictSemvers'];
  if (value === undefined || value === null) return true;
  if (typeof value !== 'boolean') throw new Error('strictSemvers must be a boolean');
  return value;
}

function optionalConstraint(source: string): Constraint | undefined {
  if (source === '') return undefined;
  try {
    return compileConstraint(source);
  } catch {
    throw new Error(`invalid semver constraint ${JSON.stringify(source)}`);
  }
}

/** Why `tag` fails a semver check, or undefined. */
function checkSemver(
  tag: string,
  strict: boolean,
  constraint: Constraint | undefined,
): string | undefined {
  const version = parseTagVersion(tag, strict);
  if (version === undefined) {
    return `tag ${JSON.stringify(tag)} is not a ${strict ? 'strict ' : ''}semantic version`;
  }
  if (constraint !== undefined && !constraint.check(version)) {
    return `tag ${JSON.stringify(tag)} does not satisfy ${JSON.stringify(constraint.source)}`;
  }
  return undefined;
}

/**
 * A `NewestFromBranch` subscription without `branch` follows the default branch. Kargo's receivers guess `main` or
 * `master` (`MatchesRef`, pkg/controller/git/commit/newest_from_branch_selector.go); an Azure DevOps `git.push` names
 * it in `resource.repository.defaultBranch`, so we follow the payload when it says.
 */
function defaultBranchRule(): Rule {
  const rule: Rule = (ref, context) => {
    if (!ref.startsWith(BRANCH_PREFIX)) return `${ref} is not a branch`;
    const pushed = ref.slice(BRANCH_PREFIX.length);
    const named = context?.defaultBranch;
    if (named !== undefined && named !== '') {
      return pushed === named
        ? undefined
        : `branch ${JSON.stringify(pushed)} is not the default branch ${JSON.stringify(named)} named by the push (no branch set)`;
    }
    return pushed === 'main' || pushed === 'master'
      ? undefined
      : `branch ${JSON.stringify(pushed)} is not main or master (no branch set, and the push names no default branch: Kargo's guess)`;
  };
  rule.note = (context) =>
    context?.defaultBranch
      ? `no branch set: follows the default branch ${JSON.stringify(context.defaultBranch)} named by the push`
      : "no branch set: follows main or master (the push names no default branch: Kargo's guess)";
  return rule;
}

/**
 * Compiles a Git subscription's rule (qualifiers are refs): `NewestFromBranch` (default) takes `refs/heads/<branch>`;
 * `SemVer`, `NewestTag` and `Lexical` take `refs/tags/<tag>` through the tag filter (and semver checks). Throws if broken.
 */
export function compileGitRule(sub: Record<string, unknown>): Rule {
  const strategy = optionalString(sub, 'commitSelectionStrategy') || 'NewestFromBranch';
  switch (strategy) {
    case 'NewestFromBranch': {
      const branch = optionalString(sub, 'branch');
      if (branch === '') return defaultBranchRule();
      return (ref) => {
        if (!ref.startsWith(BRANCH_PREFIX)) return `${ref} is not a branch`;
        const pushed = ref.slice(BRANCH_PREFIX.length);
        return pushed === branch
          ? undefined
          : `branch ${JSON.stringify(pushed)} is not ${JSON.stringify(branch)}`;
      };
    }
    case 'SemVer':
    case 'NewestTag':
    case 'Lexical': {
      const filter = compileTagFilter(sub);
      const strict = strictSemvers(sub);
      const constraint =
        strategy === 'SemVer'
          ? optionalConstraint(optionalString(sub, 'semverConstraint'))
          : undefined;
      return (ref) => {
        if (!ref.startsWith(TAG_PREFIX)) return `${ref} is not a tag`;
        const tag = ref.slice(TAG_PREFIX.length);
        return (
          checkTagFilter(filter, tag) ??
          (strategy === 'SemVer' ? checkSemver(tag, strict, constraint) : undefined)
        );
      };
    }
    default:
      throw new Error(`unknown commitSelectionStrategy ${JSON.stringify(strategy)}`);
  }
}

/**
 * Compiles an image subscription's rule (qualifiers are tags): `SemVer` (default), `Lexical`, `NewestBuild` through the
 * tag filter (`SemVer` also `constraint`, else `semverConstraint`); `Digest` matches its constraint's tag. Throws if broken.
 */
export function compileImageRule(sub: Record<string, unknown>): Rule {
  const strategy = optionalString(sub, 'imageSelectionStrategy') || 'SemVer';
  const constraintSource =
    optionalString(sub, 'constraint') || optionalString(sub, 'semverConstraint');
  switch (strategy) {
    case 'Digest':
      if (constraintSource === '') throw new Error('Digest strategy without constraint');
      return (tag) =>
        tag === constraintSource
          ? undefined
          : `tag ${JSON.stringify(tag)} is not ${JSON.stringify(constraintSource)}`;
    case 'SemVer':
    case 'Lexical':
    case 'NewestBuild': {
      const filter = compileTagFilter(sub);
      const strict = strictSemvers(sub);
      const constraint = strategy === 'SemVer' ? optionalConstraint(constraintSource) : undefined;
      return (tag) =>
        checkTagFilter(filter, tag) ??
        (strategy === 'SemVer' ? checkSemver(tag, strict, constraint) : undefined);
    }
    default:
      throw new Error(`unknown imageSelectionStrategy ${JSON.stringify(strategy)}`);
  }
}

/**
 * Compiles a chart subscription's rule: with a `semverConstraint`, the version must satisfy it, parsed loosely as
 * Kargo's `MatchesVersion` (Masterminds' `NewVersion`: `1.0` and `v1` are `1.0.0`). Throws if broken.
 */
export function compileChartRule(sub: Record<string, unknown>): Rule {
  const constraint = optionalConstraint(optionalString(sub, 'semverConstraint'));
  if (constraint === undefined) return () => undefined;
  return (version) => checkSemver(version, false, constraint);
}
