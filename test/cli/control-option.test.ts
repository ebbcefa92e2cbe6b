// `--control <id>=<track>`, shared by tracks report and tracks dashboard.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baselinesOf } from '../../src/cli/control-option.js';

test('--control splits at the last =, so a set id holding one names its baseline; a malformed or contradictory pair is a usage error', () => {
  assert.deepEqual(baselinesOf(['pricing=price_adjusted_by_0', 'ab=c=short']), new Map([['pricing', 'price_adjusted_by_0'], ['ab=c', 'short']]));
  assert.deepEqual(baselinesOf(['delay=long', 'delay=long']), new Map([['delay', 'long']]), 'the same pair twice is one');
  for (const bad of ['delay', 'delay=', '=long']) assert.throws(() => baselinesOf([bad]), /--control is '.*'; write it as <trackset id>=<track>/);
  assert.throws(() => baselinesOf(['delay=long', 'delay=short']), /--control names two baselines for 'delay', 'long' and 'short'; give one/);
});
