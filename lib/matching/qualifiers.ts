/**
 * Which pushed refs or tags a Warehouse subscription would pick up, with
 * Kargo's semantics, compiled once per subscription.
 *
 * Sources (akuity/kargo): `api/v1alpha1/warehouse_types.go` (fields and
 * admission defaults), `pkg/controller/git/commit/*_selector.go`
 * (`MatchesRef` of each commit selection strategy),
 * `internal/webhook/external/refresh_eligibility_checker.go` (image and chart
 * rules of Kargo's own webhook receivers).
 * @module
 */
import { compileConstraint, parseTagVersion, type Constraint } from './semver-constraint.js';

/** What the pushed payload says beside its qualifiers. */
export interface RuleContext {
  /** The repository's default branch, when the payload names it (see `PushEvent.defaultBranch`). */
  defaultBranch?: string;
}

/**
 * Why a qualifier does not match, or undefined when it does. `note`, when
 * present, says what a match rests on beyond the subscription's own fields
 * (the default branch a subscription without `branch` follows).
 */
export type Rule = ((qualifier: string, context?: RuleContext) => string | undefined) & {
  note?: (context?: RuleContext) => string;
};

const BRANCH_PREFIX = 'refs/heads/';
const TAG_PREFIX = 'refs/tags/';

/**
 * Compiles a Kargo regular expression. Kargo's are Go RE2; JavaScript's
 * RegExp agrees on the common subset and both search unanchored
 * (`MatchString`, `test`). RE2's leading `(?i)`/`(?s)`/`(?m)` flags and
 * `(?P<name>…)` groups are translated; anything JavaScript rejects throws.
 */
export function compileRegex(source: string): RegExp {
  let pattern = source;
  let flags = '';
  const inline = /^\(\?([ism]+)\)/.exec(pattern);
  if (inline?.[1] !== undefined) {
    flags = [...new Set(inline[1])].join('');
    pattern = pattern.slice(inline[0].length);
  }
  return new RegExp(pattern.replaceAll('(?P<', '(?<'), flags);
}

/** A tag filter from `allowTags*` and `ignoreTags*`. */
export interface TagFilter {
  allow: RegExp[];
  ignore: RegExp[];
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new Error(`${field} must be a list of strings`);
  }
  return value;
}

/**
 * Compiles the tag filter of a Git or image subscription. Kargo ≥ 1.11 has the
 * lists `allowTagsRegexes`/`ignoreTagsRegexes` (one release spelled them
 * `allowTagsRegex`/`ignoreTagsRegex`); the deprecated `allowTags` (one regex)
 * and `ignoreTags` (exact tags) still count, as in Kargo 1.10 which turned
 * them into the same regex lists.
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
    ...stringList(sub['ignoreTags'], 'ignoreTags').map((tag) => `^${escapeRegex(tag)}$`),
  ];
  const compile = (source: string): RegExp => {
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
 * The rule of a `NewestFromBranch` subscription without `branch`: Kargo
 * clones the repository's default branch. Its own receivers cannot know it
 * and guess `main` or `master` (`MatchesRef` in
 * `pkg/controller/git/commit/newest_from_branch_selector.go`); an Azure
 * DevOps `git.push` names it in `resource.repository.defaultBranch`, so the
 * rule follows the payload when it says, and Kargo's guess otherwise.
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
 * Compiles the rule of a Git subscription. Qualifiers are refs.
 * `NewestFromBranch` (the default) takes `refs/heads/<branch>`; without a
 * `branch`, the default branch (see `defaultBranchRule`). `SemVer`,
 * `NewestTag` and `Lexical` take `refs/tags/<tag>` through the tag filter and,
 * for `SemVer`, the strictness and `semverConstraint`. Throws on a broken
 * subscription.
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
 * Compiles the rule of an image subscription. Qualifiers are tags. `SemVer`
 * (the default), `Lexical` and `NewestBuild` pass the tag through the tag
 * filter, and `SemVer` also through the strictness and the constraint
 * (`constraint`, else the deprecated `semverConstraint`). `Digest` matches
 * when the tag is the one named in the constraint. Throws on a broken
 * subscription.
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
 * Compiles the rule of a chart subscription. Qualifiers are chart versions.
 * Without `semverConstraint` every version matches; with one, the version
 * must satisfy it, parsed loosely as Kargo's `MatchesVersion` does
 * (Masterminds' `NewVersion`: `1.0` and `v1` are `1.0.0`). Throws on a
 * broken subscription.
 */
export function compileChartRule(sub: Record<string, unknown>): Rule {
  const constraint = optionalConstraint(optionalString(sub, 'semverConstraint'));
  if (constraint === undefined) return () => undefined;
  return (version) => checkSemver(version, false, constraint);
}
