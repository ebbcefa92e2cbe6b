/**
 * Issue 2, point 4: keys are serialized canonically; unserializable keys get a TracksError
 * that names the problem.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TrackSet, TracksError, serializeKey } from '../../src/index.js';

function rejects(key: unknown, ...patterns: RegExp[]): void {
  assert.throws(
    () => serializeKey(key),
    (error: unknown) => {
      assert.ok(error instanceof TracksError, `a TracksError, got ${String(error)}`);
      for (const p of patterns) assert.match(error.message, p);
      return true;
    },
  );
}

describe('serializeKey', () => {
  test('strings as they are (including empty and non-ASCII)', () => {
    for (const s of ['user-42', '', 'héllo ☃', '{"a":1}', ' padded ']) assert.equal(serializeKey(s), s);
  });

  test("42, 42n and '42' are the same key; -0 is 0; booleans", () => {
    assert.equal(serializeKey(42), '42');
    assert.equal(serializeKey(42n), '42');
    assert.equal(serializeKey(-0), '0');
    assert.equal(serializeKey(0.5), '0.5');
    assert.equal(serializeKey(-7), '-7');
    assert.equal(serializeKey(true), 'true');
    assert.equal(serializeKey(false), 'false');
    assert.equal(serializeKey(12345678901234567890n), '12345678901234567890');
  });

  test('Dates as ISO 8601', () => {
    assert.equal(serializeKey(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))), '2024-01-02T03:04:05.006Z');
    assert.equal(serializeKey({ at: new Date(0) }), '{"at":"1970-01-01T00:00:00.000Z"}');
  });

  test('plain objects: sorted keys at every depth, so property order never matters', () => {
    assert.equal(serializeKey({ country: 'NL', articleId: 7 }), '{"articleId":7,"country":"NL"}');
    assert.equal(serializeKey({ articleId: 7, country: 'NL' }), '{"articleId":7,"country":"NL"}');
    assert.equal(serializeKey({ b: { y: 1, x: [2, { d: 1, c: 2 }] }, a: null }), '{"a":null,"b":{"x":[2,{"c":2,"d":1}],"y":1}}');
    assert.equal(serializeKey(Object.assign(Object.create(null) as object, { z: 1, a: 2 })), '{"a":2,"z":1}');
  });

  test('arrays keep their order; undefined properties are dropped, undefined items are null', () => {
    assert.equal(serializeKey(['NL', 7]), '["NL",7]');
    assert.notEqual(serializeKey(['NL', 7]), serializeKey([7, 'NL']));
    assert.equal(serializeKey({ a: 1, b: undefined }), '{"a":1}');
    assert.equal(serializeKey([1, undefined]), '[1,null]');
    assert.equal(serializeKey({ n: 42n, s: 'x"y' }), '{"n":42,"s":"x\\"y"}');
  });

  test('the same structure reached twice (not a cycle) is fine', () => {
    const shared = { id: 1 };
    assert.equal(serializeKey({ a: shared, b: shared }), '{"a":{"id":1},"b":{"id":1}}');
  });

  test('toJSON() is honoured: an object is the key its toJSON() result is', () => {
    class UserId {
      constructor(readonly value: number) {}
      toJSON() {
        return { user: this.value };
      }
    }
    assert.equal(serializeKey(new UserId(7)), '{"user":7}');
    assert.equal(serializeKey({ who: new UserId(7) }), '{"who":{"user":7}}');
    // a URL's toJSON() is its href: the URL is the same key as that string, as a Date is its ISO text
    const url = new URL('https://coconuts.example/catalog?page=2');
    assert.equal(serializeKey(url), serializeKey(url.toJSON()));
    assert.equal(serializeKey(url), 'https://coconuts.example/catalog?page=2');
    assert.equal(serializeKey({ url }), '{"url":"https://coconuts.example/catalog?page=2"}');
    class Decimal {
      toJSON() {
        return 1.5;
      }
    }
    assert.equal(serializeKey(new Decimal()), '1.5');
    // A plain object's toJSON() counts too, as in JSON.stringify.
    assert.equal(serializeKey({ toJSON: () => 'x' }), 'x');
    assert.equal(serializeKey({ nested: { toJSON: () => ({ b: 1, a: 2 }) } }), '{"nested":{"a":2,"b":1}}');
  });

  test('a toJSON() that returns a new object each time is a TracksError, not a stack overflow', () => {
    class Endless {
      toJSON(): unknown {
        return new Endless();
      }
    }
    class EndlessInside {
      toJSON(): unknown {
        return { inner: new EndlessInside() };
      }
    }
    rejects(new Endless(), /goes through more than 200 toJSON\(\) results/, /toJSON\(\) that returns a new object each time/);
    rejects({ user: new EndlessInside() }, /goes through more than 200 toJSON\(\) results/);
  });

  test('keys that serialized before keep their text: a toJSON() giving a Date or null, a hidden toJSON, deep arrays', () => {
    class WhenTracks {
      toJSON() {
        return new Date(0);
      }
    }
    assert.equal(serializeKey(new WhenTracks()), '1970-01-01T00:00:00.000Z', 'a top-level Date is written bare, as a Date key is');
    class Nothing {
      toJSON() {
        return null;
      }
    }
    rejects(new Nothing(), /cannot serialize null/);
    const hidden = { a: 1 };
    Object.defineProperty(hidden, 'toJSON', { value: () => 'hidden', enumerable: false });
    assert.equal(serializeKey(hidden), '{"a":1}', 'a plain object\'s hidden toJSON is skipped, as before');
    let deep: unknown = 1;
    for (let i = 0; i < 1000; i++) deep = [deep];
    assert.equal(serializeKey(deep), `${'['.repeat(1000)}1${']'.repeat(1000)}`);
  });

  test('functions, symbols, NaN and infinities, invalid Dates: a TracksError naming the problem', () => {
    rejects(function userId() {}, /function \(userId\)/, /use a string, number/);
    rejects(Symbol('id'), /symbol \(Symbol\(id\)\)/);
    rejects(NaN, /NaN is not a usable key/, /finite number/);
    rejects(Infinity, /Infinity/);
    rejects(-Infinity, /-Infinity/);
    rejects(new Date('nope'), /Invalid Date/);
    rejects({ user: { score: NaN } }, /key\.user\.score: NaN/);
    rejects({ cb: () => 1 }, /function/);
    rejects([1, Symbol('x')], /key\[1\]/, /symbol/);
  });

  test('cycles: a TracksError', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    rejects(a, /cycle/, /circular/);
    const list: unknown[] = [1];
    list.push({ back: list });
    rejects(list, /cycle/);
    class SelfJson {
      toJSON() {
        return this;
      }
    }
    rejects(new SelfJson(), /cycle/);
  });

  test('keys nested past 1,000 levels: a TracksError, not a stack overflow', () => {
    const nest = (levels: number, inner: unknown, wrap: (x: unknown) => unknown): unknown => {
      let key = inner;
      for (let i = 0; i < levels; i++) key = wrap(key);
      return key;
    };
    rejects(nest(20_000, 'u', (x) => ({ x })), /nested more than 1000 deep/, /flatter key/);
    rejects(nest(20_000, 'u', (x) => [x]), /nested more than 1000 deep/);
    rejects(nest(1_001, 1, (x) => [x]), /nested more than 1000/);
  });

  test('class instances without toJSON: a TracksError naming the class and the fix', () => {
    class User {
      constructor(readonly id: number) {}
    }
    rejects(new User(1), /instance of User/, /toJSON\(\)/);
    rejects(new Map([['a', 1]]), /instance of Map/);
    rejects(new Set([1]), /instance of Set/);
    rejects({ user: new User(1) }, /key\.user/, /instance of User/);
  });

  test('null and undefined are no key: a fresh draw per run (key null)', () => {
    class KeylessTracks extends TrackSet {
      static override id = 'keyless';
      static long_track() {}
    }
    assert.equal(new KeylessTracks({ key: null }).key, null);
    assert.equal(new KeylessTracks({ key: undefined }).key, null);
    assert.equal(new KeylessTracks().key, null);
    assert.equal(new KeylessTracks({ key: 42n }).key, '42');
    assert.throws(() => new KeylessTracks({ key: () => 1 }), TracksError);
  });

  test('equal keys give equal assignments through the API', () => {
    class KeyedTracks extends TrackSet {
      static override id = 'keyed';
      static a_track() {}
      static b_track() {}
      static c_track() {}
    }
    for (let i = 0; i < 500; i++) {
      const names = [i, BigInt(i), String(i)].map((key) => new KeyedTracks({ key }).name);
      assert.equal(new Set(names).size, 1);
      const objects = [{ x: i, y: 'q' }, { y: 'q', x: i }].map((key) => new KeyedTracks({ key }).name);
      assert.equal(objects[0], objects[1]);
    }
  });
});

test('a nested key serialized from deep in the caller’s own recursion: a TracksError when the stack runs out, never a RangeError', () => {
  let key: unknown = 1;
  for (let i = 0; i < 1_000; i++) key = [key];
  // Recurse until serializing fails: somewhere the stack left is too small for the key.
  const attempt = (depth: number): unknown => {
    if (depth > 0) return attempt(depth - 1);
    try {
      serializeKey(key);
      return 'ok';
    } catch (error) {
      return error;
    }
  };
  const outcomes = [0, 2_000, 4_000, 6_000, 8_000].map((depth) => {
    try {
      return attempt(depth);
    } catch (error) {
      return error; // the recursion itself ran out before serializing: not ours
    }
  });
  assert.equal(outcomes[0], 'ok');
  for (const outcome of outcomes) {
    if (outcome === 'ok' || !(outcome instanceof Error)) continue;
    // A RangeError from the recursion itself (no serializing frame on top) is not ours.
    if (outcome instanceof RangeError && !/canonicalJson|objectJson|serializeKey/.test(String(outcome.stack))) continue;
    assert.ok(outcome instanceof TracksError, `got ${String(outcome)}`);
    assert.match(outcome.message, /nested too deeply to serialize from here/);
  }
  assert.ok(outcomes.some((o) => o instanceof TracksError), 'the stack ran out at some depth');
});

// A probe of issue 2's point 4 ("symbols ... get a TracksError"): a property keyed by a symbol
// was left out silently, so `{ [tenant]: 1, id: 7 }` and `{ [tenant]: 2, id: 7 }` were one key.
test('an object key with a property keyed by a symbol: a TracksError, not two keys merged', () => {
  const tenant = Symbol('tenant');
  for (const key of [{ [tenant]: 1, id: 7 }, [{ [tenant]: 2 }], { nested: { [Symbol.iterator]: 1 } }]) {
    assert.throws(() => serializeKey(key), (error: unknown) => error instanceof TracksError && /a property keyed by a symbol \(Symbol\((tenant|Symbol\.iterator)\)\)/.test(error.message) && /string names/.test(error.message));
  }
  // A hidden (non-enumerable) one is left out, as hidden string-named properties are.
  const hidden = Object.defineProperty({ id: 7 }, Symbol('cache'), { value: 1, enumerable: false });
  assert.equal(serializeKey(hidden), '{"id":7}');
});

// JSON.stringify leaves out a property whose toJSON() returns undefined; serializeKey wrote it
// as null, so `{ a: { toJSON: () => undefined } }` was the key of `{ a: null }`.
test('a nested toJSON() that returns undefined: the property is left out, as an undefined one is; in an array it is null', () => {
  const gone = { toJSON: () => undefined };
  assert.equal(serializeKey({ a: gone, b: 1 }), serializeKey({ b: 1 }));
  assert.notEqual(serializeKey({ a: gone, b: 1 }), serializeKey({ a: null, b: 1 }));
  assert.equal(serializeKey([gone, 1]), '[null,1]');
  assert.equal(serializeKey({ a: { toJSON: () => ({ toJSON: () => undefined }) }, b: 1 }), '{"b":1}');
});

test('an object made with Object.create from another object: the error says what it is, not "an instance of Object"', () => {
  assert.throws(
    () => serializeKey(Object.create({ inherited: 1 }) as object),
    (error: unknown) => error instanceof TracksError && /an object whose prototype is another object/.test(error.message) && !/instance of Object/.test(error.message),
  );
  class Plan {}
  assert.throws(() => serializeKey(new Plan()), /an instance of Plan/);
});
