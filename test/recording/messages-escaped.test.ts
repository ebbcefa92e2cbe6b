// What a message echoes back (an event's id, kind or field, a key's property name or class) is
// escaped: messages reach onError, the quarantine's reasons and terminals, where an escape
// sequence would clear the screen and a right-to-left override would reorder the text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError, eventProblem } from '../../src/index.js';
import { serializeKey } from '../../src/core/key.js';

const HOSTILE = '\u001b[2J\u202eevil';
const raw = (message: string) => /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(message);

test('eventProblem escapes the event id, the kind and the value it quotes', () => {
  const problems = [
    eventProblem({ kind: 'conversion', eventId: HOSTILE, unit: 'u', metric: 'buy', value: Number.NaN, at: 1 }),
    eventProblem({ kind: HOSTILE, eventId: 'e1' }),
    eventProblem({ kind: 'conversion', eventId: 'c1', unit: 'u1', metric: 'buy', value: 1, at: HOSTILE }),
  ];
  for (const problem of problems) {
    assert.ok(problem !== undefined);
    assert.equal(raw(problem), false, JSON.stringify(problem));
    assert.match(problem, /\\x1b\[2J\\u\{202e\}evil/);
  }
});

test('a key’s property name, a symbol and a class name are escaped in the TracksError', () => {
  class Evil {}
  Object.defineProperty(Evil, 'name', { value: HOSTILE });
  for (const key of [{ [HOSTILE]: Number.NaN }, Symbol(HOSTILE), new Evil()]) {
    assert.throws(() => serializeKey(key), (e: unknown) => e instanceof TracksError && !raw(e.message) && /\\x1b\[2J/.test(e.message));
  }
});
