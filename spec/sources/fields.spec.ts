import assert from 'node:assert/strict';
import {
  capEcho,
  capEchoList,
  FieldError,
  MAX_ECHO_CHARS,
  MAX_FIELD_CHARS,
  objectField,
  own,
  stringField,
} from '../../lib/sources/fields.js';

describe('capEcho', () => {
  it('keeps a string of up to 200 characters as it is', () => {
    assert.equal(capEcho('push'), 'push');
    assert.equal(capEcho('x'.repeat(MAX_ECHO_CHARS)), 'x'.repeat(MAX_ECHO_CHARS));
  });

  it('cuts a longer one to 200 characters and says how long it was', () => {
    assert.equal(capEcho('y'.repeat(201)), `${'y'.repeat(200)}…[cut: 201 characters]`);
  });

  it('never splits a surrogate pair', () => {
    const value = `${'z'.repeat(199)}😀${'z'.repeat(10)}`;
    assert.equal(capEcho(value), `${'z'.repeat(199)}…[cut: ${value.length} characters]`);
  });
});

describe('capEchoList', () => {
  it('keeps up to 20 entries, each cut, and marks the rest', () => {
    assert.deepEqual(capEchoList(['a', 'b']), ['a', 'b']);
    const many = Array.from({ length: 21 }, (_, i) => `r${i}`);
    assert.deepEqual(capEchoList(many), [...many.slice(0, 20), '…[cut: 21 entries]']);
  });
});

describe('field readers', () => {
  it('read own properties only: Object.prototype does not answer', () => {
    assert.equal(own({}, 'toString'), undefined);
    assert.deepEqual(objectField({}, 'constructor', 'constructor'), {});
  });

  it('refuse a string over 2048 characters, and a value of another type', () => {
    assert.equal(stringField({ a: 'x'.repeat(MAX_FIELD_CHARS) }, 'a', 'a')?.length, 2048);
    assert.throws(() => stringField({ a: 'x'.repeat(MAX_FIELD_CHARS + 1) }, 'a', 't.a'), {
      name: 'FieldError',
      message: '"t.a" must be at most 2048 characters long',
    });
    assert.throws(() => stringField({ a: null }, 'a', 't.a'), new FieldError('t.a', 'a string'));
    assert.throws(() => objectField({ a: [] }, 'a', 'a'), {
      message: '"a" must be of type object',
    });
  });
});
