import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import { cupedLift, lift, welchTest, type Alternative } from '../../src/stats/index.js';
import { assertClose, loadFixture, toStatistics, type SampleSpec } from './fixtures.js';

interface Inputs {
  readonly control: SampleSpec;
  readonly treatment: SampleSpec;
  readonly alternative?: Alternative;
}

const fixture = loadFixture<Inputs>('welch-test');

for (const c of fixture.cases) {
  test(`welchTest matches ${c.name}`, () => {
    const result = welchTest(toStatistics(c.inputs.control), toStatistics(c.inputs.treatment), {
      alternative: c.inputs.alternative ?? 'two-sided',
    });
    assert.ok(result.ok);
    const actual: Record<string, number> = {
      t: result.t,
      pValue: result.pValue,
      estimate: result.estimate,
      standardError: result.standardError,
      ciLower: result.confidenceInterval[0],
      ciUpper: result.confidenceInterval[1],
    };
    for (const [key, expected] of Object.entries(c.expected)) {
      assertClose(actual[key] ?? Number.NaN, expected, c.tolerance, `${c.name} ${key}`);
    }
  });
}

test('welchTest: the Welch–Satterthwaite degrees of freedom fall between min(n)−1 and n1+n2−2', () => {
  const result = welchTest({ n: 3, sum: 8.2, sumSquares: 27.26 }, { n: 4, sum: 10, sumSquares: 30 });
  assert.ok(result.ok);
  assert.ok(result.degreesOfFreedom >= 2 && result.degreesOfFreedom <= 5);
});

test('welchTest: a huge effect gives a tiny positive p-value, never 0 or NaN', () => {
  const control = { n: 1_000_000, sum: 1_000_000, sumSquares: 1_000_000 * 1.01 }; // mean 1, sd 0.1
  const treatment = { n: 1_000_000, sum: 2_000_000, sumSquares: 1_000_000 * 4.01 }; // mean 2, sd 0.1
  const result = welchTest(control, treatment);
  assert.ok(result.ok);
  assert.ok(result.pValue > 0 && result.pValue < 1e-300, `p = ${result.pValue}`);
});

test('welchTest: cannot compute with too few users or zero variance in both tracks', () => {
  const some = { n: 10, sum: 10, sumSquares: 20 };
  const empty = welchTest({ n: 0, sum: 0, sumSquares: 0 }, some);
  assert.deepEqual(empty, { ok: false, reason: 'control has zero users' });
  const single = welchTest(some, { n: 1, sum: 3, sumSquares: 9 });
  assert.equal(single.ok, false);
  assert.match(single.ok ? '' : single.reason, /treatment has fewer than 2 users/);
  const flat = welchTest({ n: 5, sum: 5, sumSquares: 5 }, { n: 5, sum: 10, sumSquares: 20 });
  assert.deepEqual(flat, { ok: false, reason: 'both tracks have zero variance' });
});

test('welchTest: one track with zero variance is still computable', () => {
  const result = welchTest({ n: 5, sum: 5, sumSquares: 5 }, { n: 5, sum: 10, sumSquares: 22 });
  assert.ok(result.ok);
  assert.ok(Math.abs(result.degreesOfFreedom - 4) < 1e-12);
});

test('welchTest: bad arguments throw TracksError naming the argument', () => {
  const some = { n: 10, sum: 10, sumSquares: 20 };
  assert.throws(() => welchTest({ n: -1, sum: 0, sumSquares: 0 }, some), (e: unknown) =>
    e instanceof TracksError && /control\.n/.test(e.message));
  assert.throws(() => welchTest(some, { n: 10, sum: 10, sumSquares: -1 }), /treatment\.sumSquares/);
  assert.throws(() => welchTest(some, some, { alpha: 0 }), /alpha/);
  assert.throws(() => welchTest(some, some, { alpha: 1.5 }), /alpha/);
  assert.throws(() => welchTest({ n: 2.5, sum: 1, sumSquares: 1 }, some), /control\.n/);
  // Sums no data can give: the variance would be clamped to 0 and a p-value reported anyway.
  assert.throws(() => welchTest({ n: 10, sum: 20, sumSquares: 1 }, some), (e: unknown) =>
    e instanceof TracksError && /^control\.sumSquares \(1\) is less than \(control\.sum\)²\/control\.n = 40/.test(e.message));
  assert.throws(() => welchTest(some, some, { kind: 'ratio' as never }), (e: unknown) =>
    e instanceof TracksError && /^welchTest: kind must be 'mean' or 'proportion', got 'ratio'/.test(e.message));
  assert.throws(() => welchTest(some, some, null as never), (e: unknown) => e instanceof TracksError && /^welchTest: options must be an object/.test(e.message));
  // A sum whose square passes a double's range (values near 1e154, sumSquares still finite) is
  // named, not answered with a false "both tracks have zero variance" (Infinity - Infinity).
  const n = 1e6;
  const huge = { n, sum: (n / 2) * 1e150 + (n / 2) * 2e150, sumSquares: (n / 2) * 1e300 + (n / 2) * 4e300 };
  assert.ok(Number.isFinite(huge.sumSquares));
  for (const call of [() => welchTest(huge, some), () => lift(some, huge), () => cupedLift({ ...huge, covariateSum: 0, covariateSumSquares: 0, crossSum: 0 }, { ...some, covariateSum: 0, covariateSumSquares: 0, crossSum: 0 })]) {
    assert.throws(call, (e: unknown) => e instanceof TracksError && /\.sum \(1\.5e\+156\) is too large to square in a double .*; scale the values down/.test(e.message));
  }
});

test('values near 1e100 give the same answer as the same values near 1 (the squared errors are squared again in the degrees of freedom, past the largest double)', () => {
  const scale = 1e100;
  const control = { n: 3, sum: 8.2, sumSquares: 27.26 };
  const treatment = { n: 3, sum: 6, sumSquares: 14 };
  const scaled = (s: typeof control) => ({ n: s.n, sum: s.sum * scale, sumSquares: s.sumSquares * scale * scale });
  const small = welchTest(control, treatment);
  const large = welchTest(scaled(control), scaled(treatment));
  assert.ok(small.ok && large.ok);
  assert.ok(Math.abs(large.pValue - small.pValue) < 1e-12, `${large.pValue} against ${small.pValue}`);
  assert.ok(Math.abs(large.degreesOfFreedom - small.degreesOfFreedom) < 1e-9, `${large.degreesOfFreedom} against ${small.degreesOfFreedom}`);
  const liftSmall = lift(control, treatment);
  const liftLarge = lift(scaled(control), scaled(treatment));
  assert.ok(liftSmall.ok && liftLarge.ok);
  assert.ok(liftSmall.relative.ok && liftLarge.relative.ok);
  assert.ok(Math.abs(liftLarge.relative.pValue - liftSmall.relative.pValue) < 1e-12);
  // A covariate 0.9 of each value, with some spread of its own.
  const cuped = (s: typeof control) => ({ ...s, covariateSum: s.sum * 0.9, covariateSumSquares: s.sumSquares * 0.9 * 0.9 * 1.1, crossSum: s.sumSquares * 0.9 });
  const cupedSmall = cupedLift(cuped(control), cuped(treatment));
  const cupedLarge = cupedLift(cuped(scaled(control)), cuped(scaled(treatment)));
  assert.ok(cupedSmall.ok && cupedLarge.ok, JSON.stringify(cupedLarge));
  assert.ok(Math.abs(cupedLarge.absolute.pValue - cupedSmall.absolute.pValue) < 1e-9, `${cupedLarge.absolute.pValue} against ${cupedSmall.absolute.pValue}`);
  assert.ok(cupedSmall.relative.ok && cupedLarge.relative.ok);
  assert.ok(Math.abs(cupedLarge.relative.pValue - cupedSmall.relative.pValue) < 1e-9, `${cupedLarge.relative.pValue} against ${cupedSmall.relative.pValue}`);
});
