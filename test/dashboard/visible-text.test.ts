// The page shows names as `tracks report` does: escapes for control characters, bidirectional
// overrides and line separators, so a right-to-left override in a name cannot disguise it or
// reorder the page's own text. The page cannot import src/text.ts; this keeps the copies alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { visible } from '../../src/dashboard/client/dom.js';
import { escapeControl } from '../../src/text.js';

test('visible() escapes exactly what escapeControl() escapes, but tab and line breaks', () => {
  const samples = [
    'plain',
    'prüfung-🥥',
    '\u202egnp.exe',
    '<b>bold</b>\u202emetric',
    'a\u001b[2Jb',
    'one\u2028two\u2029three',
    'lone \ud800 surrogate \udc00',
    'marks \u200e\u200f\u061c isolates \u2066\u2067\u2068\u2069',
    'c1 \u0085 \u009b del \u007f nul \u0000',
  ];
  for (const text of samples) assert.equal(visible(text), escapeControl(text), JSON.stringify(text));
  for (let code = 0; code < 0x3000; code++) {
    const c = String.fromCharCode(code);
    if (c === '\t' || c === '\n' || c === '\r') continue;
    assert.equal(visible(`x${c}y`), escapeControl(`x${c}y`), `U+${code.toString(16)}`);
  }
  assert.equal(visible('line one\n\tline two\r\n'), 'line one\n\tline two\r\n', 'a shadow sample keeps its lines');
});
