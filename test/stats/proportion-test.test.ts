import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import { proportionTest } from '../../src/stats/index.js';
import { assertClose, conversions, loadFixture } from './fixtures.js';

interface Arm {
  readonly n: number;
  readonly conversions: number;
}
const fixture = loadFixture<{ control: Arm; treatment: Arm }>('proportion-test');

for (const c of fixture.cases) {
  test(`proportionTest matches ${c.name}`, () => {
    const { control, treatment } = c.inputs;
    const result = proportionTest(
      conversions(control.n, control.conversions),
      conversions(treatment.n, treatment.conversions),
    );
    assert.ok(result.ok);
    const actual: Record<string, number> = { z: result.z, pValue: result.pValue };
    for (const [key, expected] of Object.entries(c.expected)) {
      assertClose(actual[key] ?? Number.NaN, expected, c.tolerance, `${c.name} ${key}`);
    }
  });
}

const newcombe = loadFixture<{ control: Arm; treatment: Arm; alpha: number }>('proportion-newcombe');
for (const c of newcombe.cases) {
  test(`proportionTest: each track at 0% or 100%, Newcombe's interval matches ${c.name}`, () => {
    const { control, treatment, alpha } = c.inputs;
    const result = proportionTest(conversions(control.n, control.conversions), conversions(treatment.n, treatment.conversions), { alpha });
    assert.ok(result.ok, 'a difference of 0% and 100% is a comparison, not zero variance');
    const actual: Record<string, number> = { low: result.confidenceInterval[0], high: result.confidenceInterval[1], z: result.z, pValue: result.pValue };
    for (const [key, expected] of Object.entries(c.expected)) assertClose(actual[key] ?? Number.NaN, expected, c.tolerance, `${c.name} ${key}`);
  });
}

test('proportionTest: one-sided, each track at 0% or 100%, keeps the matching side of the interval', () => {
  const greater = proportionTest(conversions(28, 0), conversions(32, 32), { alternative: 'greater' });
  assert.ok(greater.ok);
  assert.ok(greater.confidenceInterval[0] > 0.85 && greater.confidenceInterval[0] < 1);
  assert.equal(greater.confidenceInterval[1], Number.POSITIVE_INFINITY);
});

test('proportionTest: the interval is unpooled, the test pooled', () => {
  const result = proportionTest(conversions(1000, 100), conversions(1000, 150));
  assert.ok(result.ok);
  const unpooled = Math.sqrt((0.1 * 0.9) / 1000 + (0.15 * 0.85) / 1000);
  const pooled = Math.sqrt(0.125 * 0.875 * (2 / 1000));
  assert.ok(Math.abs(result.standardError - unpooled) < 1e-15);
  assert.ok(Math.abs(result.pooledStandardError - pooled) < 1e-15);
  const [lower, upper] = result.confidenceInterval;
  assert.ok(Math.abs((upper - lower) / 2 - 1.959963984540054 * unpooled) < 1e-12);
});

test('proportionTest: a huge effect gives a tiny positive p-value, never 0', () => {
  const result = proportionTest(conversions(10_000_000, 1_000_000), conversions(10_000_000, 2_000_000));
  assert.ok(result.ok);
  assert.ok(result.pValue > 0, `p = ${result.pValue}`);
  assert.ok(result.z > 100);
});

test('proportionTest: cannot compute with zero users or no variance at all', () => {
  assert.deepEqual(proportionTest(conversions(0, 0), conversions(10, 1)), {
    ok: false,
    reason: 'control has zero users',
  });
  const none = proportionTest(conversions(100, 0), conversions(100, 0));
  assert.equal(none.ok, false);
  assert.match(none.ok ? '' : none.reason, /zero variance/);
  assert.equal(proportionTest(conversions(100, 100), conversions(50, 50)).ok, false);
});

test('proportionTest: conversions above users or negative counts throw TracksError', () => {
  assert.throws(() => proportionTest(conversions(10, 11), conversions(10, 1)), (e: unknown) =>
    e instanceof TracksError && /control\.sum/.test(e.message));
  assert.throws(() => proportionTest(conversions(10, 1), conversions(10, -1)), /treatment\.sum/);
});

test('proportionTest: one-sided alternatives halve the two-sided p-value in the right direction', () => {
  const control = conversions(2000, 200);
  const treatment = conversions(2000, 240);
  const two = proportionTest(control, treatment);
  const greater = proportionTest(control, treatment, { alternative: 'greater' });
  const less = proportionTest(control, treatment, { alternative: 'less' });
  assert.ok(two.ok && greater.ok && less.ok);
  assert.ok(Math.abs(greater.pValue - two.pValue / 2) < 1e-15);
  assert.ok(Math.abs(less.pValue - (1 - two.pValue / 2)) < 1e-12);
  assert.equal(greater.confidenceInterval[1], Number.POSITIVE_INFINITY);
});
