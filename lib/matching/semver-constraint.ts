/**
 * Semantic versions and constraints with the semantics Kargo gets from
 * Masterminds/semver (Go), evaluated with the `semver` npm package.
 * @module
 */
import semver from 'semver';

/** A parsed version (a `semver.SemVer` inside, declared here so the published types need no `@types/semver`). */
export interface TagVersion {
  /** The canonical `MAJOR.MINOR.PATCH[-PRERELEASE]` form. */
  readonly version: string;
  /** The prerelease identifiers, empty for a release. */
  readonly prerelease: readonly (string | number)[];
}

/** Masterminds' loose version form: `v` prefix and missing minor/patch allowed (`NewVersion`). */
const LOOSE_VERSION =
  /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/**
 * Parses a tag as Kargo does (`pkg/controller/semver/parser.go`): loosely, and when `strict` also a full
 * `MAJOR.MINOR.PATCH` once one leading `v` is removed (`v1.0.0` passes, `v1` and `1.0` do not). Undefined if not one.
 */
export function parseTagVersion(tag: string, strict: boolean): TagVersion | undefined {
  const m = LOOSE_VERSION.exec(tag);
  if (m === null) return undefined;
  if (strict) {
    const bare = tag.startsWith('v') ? tag.slice(1) : tag;
    return semver.parse(bare) ?? undefined;
  }
  const [, major, minor, patch, pre, build] = m;
  const canonical = `${String(Number(major))}.${String(Number(minor ?? 0))}.${String(Number(patch ?? 0))}${pre ?? ''}${build ?? ''}`;
  return semver.parse(canonical) ?? undefined;
}

/** One comparator of a constraint: a predicate and whether its version carries a prerelease. */
interface Comparator {
  test(version: semver.SemVer): boolean;
  /** Masterminds lets a prerelease version through a comparator only if the comparator names a prerelease. */
  allowsPrerelease: boolean;
}

/** A compiled constraint. */
export interface Constraint {
  /** The constraint as written. */
  readonly source: string;
  /** Whether `version` (from {@link parseTagVersion}) satisfies the constraint. */
  check(version: TagVersion): boolean;
}

const PART = '(?:\\d+|[xX*])';
const VERSION_PATTERN = `v?${PART}(?:\\.${PART}){0,2}(?:-[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?`;
const COMPARATOR = new RegExp(`^(!=|>=|=>|<=|=<|~>|>|<|=|~|\\^)?(${VERSION_PATTERN})$`);
const HYPHEN_RANGE = new RegExp(`(${VERSION_PATTERN})\\s+-\\s+(${VERSION_PATTERN})`, 'g');
const OPERATOR_SPACE = /(!=|>=|=>|<=|=<|~>|>|<|=|~|\^)\s+/g;

/** Masterminds spellings npm does not know. */
const NPM_OPERATOR: Record<string, string> = { '=>': '>=', '=<': '<=', '~>': '~' };

function compileComparator(token: string): Comparator {
  const m = COMPARATOR.exec(token);
  const op = m?.[1] ?? '';
  const version = m?.[2];
  if (version === undefined) throw new Error(`invalid comparator ${JSON.stringify(token)}`);
  const allowsPrerelease = version.includes('-');
  // includePrerelease: the prerelease rule is applied separately, Masterminds' way.
  const options = { includePrerelease: true };
  if (op === '!=') {
    const range = new semver.Range(version, options);
    // Masterminds' `!=` on an exact version does not apply the prerelease rule.
    const wildcard = /(^|\.)[xX*]/.test(version) || version.split('.').length < 3;
    return { test: (v) => !range.test(v), allowsPrerelease: allowsPrerelease || !wildcard };
  }
  const range = new semver.Range(`${NPM_OPERATOR[op] ?? op}${version}`, options);
  return { test: (v) => range.test(v), allowsPrerelease };
}

/**
 * Compiles a Masterminds/semver constraint
 * (https://github.com/Masterminds/semver#checking-version-constraints):
 * `||` separates alternatives; `,` or spaces separate comparators that must
 * all hold; `=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `~>`, `^`, `x`/`*`
 * wildcards and `A - B` ranges. As in Masterminds, a prerelease version
 * satisfies a comparator only if that comparator's version has a prerelease.
 * Throws on a constraint Masterminds would reject.
 */
export function compileConstraint(source: string): Constraint {
  const alternatives = source.split('||').map((alternative) => {
    const rewritten = alternative.replace(HYPHEN_RANGE, '>=$1 <=$2').replace(OPERATOR_SPACE, '$1');
    const tokens = rewritten.split(/[\s,]+/).filter((t) => t !== '');
    if (tokens.length === 0)
      throw new Error(`empty alternative in constraint ${JSON.stringify(source)}`);
    return tokens.map(compileComparator);
  });
  return {
    source,
    check(tagVersion) {
      const version = tagVersion as semver.SemVer; // parseTagVersion made it
      const pre = version.prerelease.length > 0;
      return alternatives.some((comparators) =>
        comparators.every((c) => (!pre || c.allowsPrerelease) && c.test(version)),
      );
    },
  };
}
