import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BODY_SHAPE } from '../../lib/sources/index.js';
import { JSONSyntaxError, parseSelected, type Shape } from '../../lib/sources/select-json.js';
import { fixtureText } from '../support/fixtures.js';

/** What parseSelected must return: JSON.parse's value, cut down to the shape. */
function project(value: unknown, shape: Shape): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    return Array.isArray(shape) ? value.map((v) => project(v, (shape as [Shape])[0])) : [];
  }
  const out: Record<string, unknown> = {};
  if (shape === true || Array.isArray(shape)) return out;
  const fields = shape as Record<string, Shape>;
  for (const [k, v] of Object.entries(value)) {
    const sub = Object.hasOwn(fields, k) ? fields[k] : undefined;
    if (sub !== undefined) out[k] = project(v, sub);
  }
  return out;
}

const shapeArb: fc.Arbitrary<Shape> = fc.letrec<{ shape: Shape }>((tie) => ({
  shape: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(true as const),
    fc.tuple(tie('shape')),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('shape'), { maxKeys: 4 }),
  ),
})).shape;

describe('parseSelected', () => {
  it('equals JSON.parse cut down to the shape, on any JSON text', () => {
    fc.assert(
      fc.property(fc.json(), shapeArb, (text, shape) => {
        assert.deepEqual(parseSelected(text, shape), project(JSON.parse(text), shape));
      }),
      { numRuns: 2000 },
    );
  });

  it('equals JSON.parse on values whose keys the shape names', () => {
    const shape: Shape = { a: { b: true, c: [true] }, d: true };
    fc.assert(
      fc.property(
        fc.record({ a: fc.record({ b: fc.jsonValue(), c: fc.jsonValue() }), d: fc.jsonValue() }),
        (value) => {
          const text = JSON.stringify(value);
          assert.deepEqual(parseSelected(text, shape), project(JSON.parse(text), shape));
        },
      ),
    );
  });

  it('throws exactly when JSON.parse throws, on any text', () => {
    const near = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.constantFrom('', ',', ']', '}', '"', '\\', '\u0001', 'x', ' ', '0'),
      )
      .map(([json, at, insert]) => {
        const cut = at % (json.length + 1);
        return json.slice(0, cut) + insert + json.slice(cut);
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), near), (text) => {
        let expected = true;
        try {
          JSON.parse(text);
        } catch {
          expected = false;
        }
        let actual = true;
        try {
          parseSelected(text, { a: true });
        } catch (err) {
          assert.ok(err instanceof JSONSyntaxError);
          actual = false;
        }
        assert.equal(actual, expected, JSON.stringify(text));
      }),
      { numRuns: 5000 },
    );
  });

  const invalid = [
    '',
    ' ',
    '{',
    '{"a":1,}',
    '[1,]',
    '{"a" 1}',
    '{a:1}',
    "{'a':1}",
    '01',
    '1.',
    '.5',
    '-',
    '1e',
    '+1',
    'tru',
    'nul',
    '"\\x"',
    '"\\u12G4"',
    '"a\nb"',
    '"abc',
    '[1 2]',
    '{"a":1}{}',
    '{"a":1} x',
    '/* c */ {}',
    'NaN',
    'Infinity',
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}, as JSON.parse does`, () => {
      assert.throws(() => JSON.parse(text), SyntaxError);
      assert.throws(() => parseSelected(text, BODY_SHAPE), JSONSyntaxError);
    });
  }

  it('reads every real Azure payload as JSON.parse does, for the fields classify reads', () => {
    for (const name of ['acr-push', 'acr-chart-push', 'devops-git-push', 'devops-pr-merged']) {
      const text = fixtureText(name);
      assert.deepEqual(parseSelected(text, BODY_SHAPE), project(JSON.parse(text), BODY_SHAPE));
    }
  });

  it('builds nothing but the selected fields of a body of 200,000 keys', () => {
    const keys = Array.from({ length: 200_000 }, (_, i) => `"${i.toString(36)}":[${i}]`).join(',');
    const text = `{"action":"push","target":{${keys},"repository":"app","tag":"v1"},"request":{"host":"r.azurecr.io","x":1}}`;
    assert.deepEqual(parseSelected(text, BODY_SHAPE), {
      action: 'push',
      target: { repository: 'app', tag: 'v1' },
      request: { host: 'r.azurecr.io' },
    });
  });

  it('keeps the type of a selected field that is not a literal, so its check fails', () => {
    assert.deepEqual(
      parseSelected(
        '{"action":"push","target":{"repository":{"deep":[1,2,{"x":3}]},"tag":[1]}}',
        BODY_SHAPE,
      ),
      { action: 'push', target: { repository: {}, tag: [] } },
    );
  });

  it('takes the last of duplicate keys, as JSON.parse', () => {
    assert.deepEqual(parseSelected('{"action":"ping","action":"push"}', BODY_SHAPE), {
      action: 'push',
    });
  });

  it('never lets a key reach the prototype', () => {
    const parsed = parseSelected('{"__proto__":{"action":"x"},"constructor":1}', BODY_SHAPE);
    assert.deepEqual(parsed, {});
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  });

  it('survives a million nested arrays without overflowing the stack', () => {
    const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    assert.deepEqual(parseSelected(`{"action":"push","target":${deep}}`, BODY_SHAPE), {
      action: 'push',
      target: [],
    });
    assert.deepEqual(parseSelected(`{"x":${deep}}`, BODY_SHAPE), {});
    assert.throws(() => parseSelected(`{"x":${deep.slice(1)}}`, BODY_SHAPE), JSONSyntaxError);
  });

  it('decodes escapes in selected strings and keys', () => {
    assert.deepEqual(
      parseSelected(
        String.raw`{"\u0061ction":"p\u00fcsh\n\"\\\/","target":{"tag":"\ud83d\ude00"}}`,
        BODY_SHAPE,
      ),
      { action: 'püsh\n"\\/', target: { tag: '😀' } },
    );
  });
});
