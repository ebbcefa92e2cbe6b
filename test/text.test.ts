// How values read in messages and terminals (src/text.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeControl, quoted, shown } from '../src/text.js';

test('escapeControl writes controls, bidirectional marks, line separators and lone surrogates as escapes', () => {
  assert.equal(escapeControl('a\u001b[2Jb'), 'a\\x1b[2Jb');
  assert.equal(escapeControl('\u202eexe.txt'), '\\u{202e}exe.txt');
  assert.equal(escapeControl('one\u2028two\u2029three'), 'one\\u{2028}two\\u{2029}three');
  assert.equal(escapeControl('a\ud800b'), 'a\\u{d800}b');
  assert.equal(escapeControl('prüfung-🥥'), 'prüfung-🥥');
});

test('quoted and shown cut long text without splitting a surrogate pair', () => {
  const text = `${'x'.repeat(56)}🥥${'y'.repeat(10)}`; // the emoji's halves at 56 and 57
  assert.equal(quoted(text), `'${'x'.repeat(56)}...'`);
  assert.equal(quoted(`${'x'.repeat(55)}🥥${'y'.repeat(10)}`), `'${'x'.repeat(55)}🥥...'`);
  assert.doesNotMatch(shown({ k: text }), /\\u\{d83e\}/);
});

test('shown says what a value is: a string as a string, a class instance by its class, a bigint with its n', () => {
  assert.equal(shown('2'), "the string '2'");
  assert.equal(shown(new Map()), 'an instance of Map');
  assert.equal(shown(5n), '5n');
  assert.equal(shown(new Date(Number.NaN)), 'an invalid Date');
  assert.equal(shown({ a: 1 }), 'an object {"a":1}');
  assert.equal(shown([1, 2]), 'an array [1,2]');
  assert.equal(shown(Symbol('s')), 'a symbol (s)');
});
