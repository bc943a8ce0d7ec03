import assert from 'node:assert/strict';
import { compileConstraint, parseTagVersion } from '../../lib/matching/semver-constraint.js';

describe('parseTagVersion', () => {
  // Kargo's pkg/controller/semver/parser.go and its tests
  const cases = [
    { tag: 'invalid', strict: true, version: undefined },
    { tag: 'invalid', strict: false, version: undefined },
    { tag: '1', strict: true, version: undefined },
    { tag: '1', strict: false, version: '1.0.0' },
    { tag: 'v1', strict: true, version: undefined },
    { tag: 'v1', strict: false, version: '1.0.0' },
    { tag: '1.2', strict: true, version: undefined },
    { tag: 'v1.2', strict: false, version: '1.2.0' },
    { tag: '1.0.0', strict: true, version: '1.0.0' },
    { tag: 'v1.0.0', strict: true, version: '1.0.0' },
    { tag: 'v1.0.0', strict: false, version: '1.0.0' },
    { tag: 'vv1.0.0', strict: true, version: undefined },
    { tag: '=1.0.0', strict: true, version: undefined },
    { tag: '1.2.3-rc.1+build.5', strict: true, version: '1.2.3-rc.1' },
    { tag: '01.2.3', strict: true, version: undefined },
    { tag: '1.2.3.4', strict: false, version: undefined },
    { tag: 'latest', strict: false, version: undefined },
  ];
  for (const c of cases) {
    it(`${c.tag} (${c.strict ? 'strict' : 'loose'}) → ${String(c.version)}`, () => {
      assert.equal(parseTagVersion(c.tag, c.strict)?.version, c.version);
    });
  }
});

describe('compileConstraint', () => {
  const cases = [
    { constraint: '^1.2.0', version: '1.9.9', ok: true },
    { constraint: '^1.2.0', version: '2.0.0', ok: false },
    { constraint: '~1.2', version: '1.2.7', ok: true },
    { constraint: '~>1.2', version: '1.3.0', ok: false },
    { constraint: '>=1.0.0, <2.0.0', version: '1.5.0', ok: true },
    { constraint: '>=1.0.0,<2.0.0', version: '2.0.0', ok: false },
    { constraint: '>= 1.0.0 < 2.0.0', version: '1.0.0', ok: true },
    { constraint: '=>1.0.0 =<1.1.0', version: '1.1.0', ok: true },
    { constraint: '<1.0.0 || >=3.0.0', version: '3.1.0', ok: true },
    { constraint: '<1.0.0 || >=3.0.0', version: '2.0.0', ok: false },
    { constraint: '1.2.x', version: '1.2.9', ok: true },
    { constraint: '1.2.*', version: '1.3.0', ok: false },
    { constraint: '*', version: '7.0.0', ok: true },
    { constraint: '1.0.0 - 1.4', version: '1.4.9', ok: true },
    { constraint: '1.0.0 - 1.4', version: '1.5.0', ok: false },
    { constraint: '!=1.2.3', version: '1.2.4', ok: true },
    { constraint: '!=1.2.3', version: '1.2.3', ok: false },
    { constraint: '>=v1.2.3', version: '1.2.3', ok: true },
    { constraint: '=1.2.3', version: '1.2.3', ok: true },
    // Masterminds: a prerelease only passes comparators that name a prerelease
    { constraint: '>=1.0.0', version: '1.5.0-rc.1', ok: false },
    { constraint: '^1.0.0', version: '1.5.0-rc.1', ok: false },
    { constraint: '*', version: '1.0.0-alpha', ok: false },
    { constraint: '>=1.0.0-0', version: '1.5.0-rc.1', ok: true },
    { constraint: '>=1.2.3-alpha', version: '1.5.0-beta', ok: true },
    { constraint: '>=1.2.3-alpha, <2.0.0', version: '1.5.0-beta', ok: false },
    { constraint: '<2.0.0', version: '2.0.0-beta', ok: false },
    { constraint: '!=1.2.3', version: '1.3.0-beta', ok: true },
  ];
  for (const c of cases) {
    it(`${c.version} ${c.ok ? 'satisfies' : 'does not satisfy'} ${c.constraint}`, () => {
      const version = parseTagVersion(c.version, true);
      assert.ok(version);
      assert.equal(compileConstraint(c.constraint).check(version), c.ok);
    });
  }

  const broken = ['foo', '>=1.0.0 ||', '||', '>= x.y', '1.2.3.4', '>>1.0.0', ''];
  for (const b of broken) {
    it(`rejects ${JSON.stringify(b)}`, () => {
      assert.throws(() => compileConstraint(b));
    });
  }

  it('keeps its source', () => {
    assert.equal(compileConstraint('^1.0.0').source, '^1.0.0');
  });
});
