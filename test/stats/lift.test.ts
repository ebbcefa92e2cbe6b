import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bayesianComparison, lift, type Alternative, type MetricKind, type SufficientStatistics } from '../../src/stats/index.js';
import { assertEstimateMatches, conversions, loadFixture } from './fixtures.js';

interface Inputs {
  readonly kind: MetricKind;
  readonly alternative: Alternative;
  readonly control: SufficientStatistics;
  readonly treatment: SufficientStatistics;
}
const fixture = loadFixture<Inputs>('lift');

for (const c of fixture.cases) {
  test(`lift (relative, delta method) matches ${c.name}`, () => {
    const result = lift(c.inputs.control, c.inputs.treatment, {
      kind: c.inputs.kind,
      alternative: c.inputs.alternative,
    });
    assert.ok(result.ok);
    assert.ok(result.relative.ok);
    assertEstimateMatches(result.relative, c.expected, c.tolerance, c.name);
  });
}

test('lift: the absolute lift is the Welch difference of means', () => {
  const result = lift({ n: 3407, sum: 1396.87, sumSquares: 52377.9767 }, { n: 3461, sum: 2422.7, sumSquares: 134698.29 });
  assert.ok(result.ok);
  assert.ok(Math.abs(result.absolute.estimate - 0.29) < 1e-12);
});

test('lift: a zero control mean makes only the relative lift uncomputable', () => {
  const result = lift(conversions(1000, 0), conversions(1000, 10), { kind: 'proportion' });
  assert.ok(result.ok);
  assert.ok(result.absolute.estimate > 0);
  assert.deepEqual(result.relative, {
    ok: false,
    reason: 'the control mean is 0, so a relative lift is undefined',
  });
});

test('lift: zero users cannot be computed', () => {
  const result = lift(conversions(0, 0), conversions(10, 1), { kind: 'proportion' });
  assert.deepEqual(result, { ok: false, reason: 'control has zero users' });
});

test('lift: an interval at a smaller alpha is wider', () => {
  const control = conversions(5000, 250);
  const treatment = conversions(5000, 300);
  const wide = lift(control, treatment, { kind: 'proportion', alpha: 0.01 });
  const narrow = lift(control, treatment, { kind: 'proportion', alpha: 0.1 });
  assert.ok(wide.ok && narrow.ok && wide.relative.ok && narrow.relative.ok);
  const width = (i: readonly [number, number]) => i[1] - i[0];
  assert.ok(width(wide.relative.confidenceInterval) > width(narrow.relative.confidenceInterval));
});

test('lift: with a negative control mean the relative lift keeps the sign of the difference (over |control|, as gbstats)', () => {
  // A profit per user of -50 against -54: the treatment loses more, so the lift is -8%, not +8%
  // (t/c - 1 would say +8%, and P(better) 99%). Variance 100 in both arms.
  const control = { n: 100, sum: -5000, sumSquares: 99 * 100 + 100 * 2500 };
  const treatment = { n: 100, sum: -5400, sumSquares: 99 * 100 + 100 * 2916 };
  const result = lift(control, treatment);
  assert.ok(result.ok && result.relative.ok);
  assert.ok(Math.abs(result.absolute.estimate - -4) < 1e-9);
  assert.ok(Math.abs(result.relative.estimate - -0.08) < 1e-12);
  // Var(r) = Var(t̄)/c² + t²·Var(c̄)/c⁴: sqrt(1/2500 + 2916/6,250,000), as for the mirrored positive data.
  assert.ok(Math.abs(result.relative.standardError - Math.sqrt(1 / 2500 + 2916 / 6_250_000)) < 1e-12);
  assert.ok(result.relative.confidenceInterval[1] < 0);
  const mirrored = lift({ ...control, sum: 5000 }, { ...treatment, sum: 5400 });
  assert.ok(mirrored.ok && mirrored.relative.ok);
  assert.ok(Math.abs(mirrored.relative.estimate + result.relative.estimate) < 1e-12);
  assert.equal(mirrored.relative.pValue, result.relative.pValue);
  const bayes = bayesianComparison(control, treatment);
  assert.ok(bayes.ok);
  assert.ok(bayes.chanceToBeatControl < 0.01, `chance to beat control ${bayes.chanceToBeatControl}`);
});
