// nearestName: the one "did you mean" rule of configure()'s options, the adapters', the CLI's
// flags and a track set's statics (with its own, stricter distance).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editDistance, nearestName } from '../../src/core/suggest.js';

test('nearestName: the nearest name within the distance, letter case aside; none past it', () => {
  assert.equal(editDistance('weigths', 'weights'), 1);
  // The nearest, not the first within two edits ('all' is two away, 'alpha' one).
  assert.equal(nearestName('alph', ['all', 'alpha']), 'alpha');
  assert.equal(nearestName('FlushInterval', ['flushTimeout', 'flushInterval']), 'flushInterval');
  assert.equal(nearestName('bogus', ['store', 'onError']), undefined);
  // A stricter rule for short names: one edit under eight letters.
  const strict = (name: string) => (name.length >= 8 ? 2 : 1);
  assert.equal(nearestName('covrage', ['coverage'], strict), 'coverage');
  assert.equal(nearestName('stiky', ['sticky'], strict), 'sticky');
  assert.equal(nearestName('stik', ['sticky'], strict), undefined);
});
