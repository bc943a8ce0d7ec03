import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_JSON_DEPTH, nestsDeeperThan, parseJSONBody } from '../../lib/receiver/json-body.js';
import { ReceiverError } from '../../lib/errors.js';
import { fixtureText } from '../support/fixtures.js';

/** Nesting of objects and arrays in a parsed value. */
function depth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depth));
}

/** The ReceiverError `parseJSONBody` throws on `text`, as status, code and message. */
function refusal(text: string): [number, string, string] {
  try {
    parseJSONBody(Buffer.from(text));
  } catch (err) {
    assert.ok(err instanceof ReceiverError);
    return [err.status, err.code, err.message];
  }
  assert.fail(`accepted ${text.slice(0, 40)}`);
}

describe('nestsDeeperThan', () => {
  it('is exact on any JSON text, strings with brackets and escapes included', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat({ max: 6 }), (text, limit) => {
        assert.equal(nestsDeeperThan(text, limit), depth(JSON.parse(text)) > limit);
      }),
      { numRuns: 2000 },
    );
  });

  it('finds every real Azure payload 5 levels deep at most', () => {
    for (const name of ['acr-push', 'acr-chart-push', 'devops-git-push', 'devops-pr-merged']) {
      assert.equal(nestsDeeperThan(fixtureText(name), 5), false, name);
    }
    assert.equal(nestsDeeperThan(fixtureText('devops-git-push'), 4), true);
  });
});

describe('parseJSONBody', () => {
  it('parses as JSON.parse does, a UTF-8 byte order mark aside', () => {
    const text = fixtureText('devops-git-push');
    assert.deepEqual(parseJSONBody(Buffer.from(`\uFEFF${text}`)), JSON.parse(text));
  });

  it('makes a __proto__ key an own property and leaves the prototype alone', () => {
    const body = parseJSONBody(Buffer.from('{"__proto__":{"action":"ping"}}')) as object;
    assert.equal(Object.getPrototypeOf(body), Object.prototype);
    assert.deepEqual(Object.keys(body), ['__proto__']);
    assert.equal((body as { action?: unknown }).action, undefined);
  });

  it('refuses nesting past the limit before parsing, and invalid JSON', () => {
    const tooDeep = [
      400,
      'JSON_TOO_DEEP',
      `request body nested deeper than ${MAX_JSON_DEPTH} levels`,
    ];
    assert.deepEqual(
      refusal(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`),
      tooDeep,
    );
    assert.deepEqual(refusal('['.repeat(10_000_000)), tooDeep);
    assert.deepEqual(refusal('{"a":1,}'), [400, 'INVALID_JSON', 'invalid request body']);
    assert.deepEqual(refusal(''), [400, 'INVALID_JSON', 'invalid request body']);
    const deepest = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    assert.equal(depth(parseJSONBody(Buffer.from(deepest))), MAX_JSON_DEPTH);
  });
});
