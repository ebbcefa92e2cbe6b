import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import { cupedLift, type CupedLiftResult, type CupedStatistics } from '../../src/stats/cuped-lift.js';
import { lift, sampleSize, type Alternative, type MetricKind } from '../../src/stats/index.js';
import { assertClose, loadFixture } from './fixtures.js';
import { seededRandom as mulberry32 } from '../support/random.js';

interface Inputs {
  readonly kind: MetricKind;
  readonly alternative: Alternative;
  readonly control: CupedStatistics;
  readonly treatment: CupedStatistics;
}
const fixture = loadFixture<Inputs>('gbstats-cuped');

test('the gbstats fixture names its repository, commit, files and tests', () => {
  const raw = JSON.parse(readFileSync(new URL('../fixtures/stats/gbstats-cuped.json', import.meta.url), 'utf8')) as {
    source: { repository: string; commit: string; files: string[]; tests: string[] };
  };
  assert.equal(raw.source.repository, 'github.com/growthbook/growthbook');
  assert.match(raw.source.commit, /^[0-9a-f]{40}$/);
  assert.ok(raw.source.files.includes('packages/stats/tests/test_gbstats.py'));
  assert.ok(raw.source.files.includes('packages/stats/tests/frequentist/test_tests.py'));
  assert.ok(raw.source.tests.length >= 4);
});

/** A number in the result by its fixture key: a dotted path, `standardDeviation` = √variance, `ciLower`/`ciUpper`. */
function valueAt(result: CupedLiftResult, key: string): number {
  let value: unknown = result;
  for (const part of key.split('.')) {
    const object = value as Record<string, unknown> & { ok?: boolean; confidenceInterval?: readonly number[]; variance?: number };
    assert.notEqual(object.ok, false, `${key}: ${JSON.stringify(object)}`);
    if (part === 'standardDeviation') value = Math.sqrt(object.variance ?? Number.NaN);
    else if (part === 'ciLower') value = object.confidenceInterval?.[0];
    else if (part === 'ciUpper') value = object.confidenceInterval?.[1];
    else value = object[part];
  }
  assert.equal(typeof value, 'number', key);
  return value as number;
}

for (const c of fixture.cases) {
  test(`cupedLift matches ${c.name}`, () => {
    const { kind, alternative, control, treatment } = c.inputs;
    const result = cupedLift(control, treatment, { kind, alternative });
    assert.ok(result.ok, JSON.stringify(result));
    for (const [key, expected] of Object.entries(c.expected)) {
      assertClose(valueAt(result, key), expected, c.tolerance, `${c.name} ${key}`);
    }
  });
}

// Units without history have covariate 0: then no covariate varies, θ is 0 and CUPED is lift().
const noHistory = (n: number, sum: number, sumSquares: number): CupedStatistics => ({
  n, sum, sumSquares, covariateSum: 0, covariateSumSquares: 0, crossSum: 0,
});

test('cupedLift: with no covariate variance θ is 0 and the result is lift()', () => {
  for (const kind of ['mean', 'proportion'] as const) {
    const control = kind === 'mean' ? noHistory(3407, 1396.87, 52377.9767) : noHistory(1000, 52, 52);
    const treatment = kind === 'mean' ? noHistory(3461, 2422.7, 134698.29) : noHistory(1000, 61, 61);
    const cuped = cupedLift(control, treatment, { kind });
    const plain = lift(control, treatment, { kind });
    assert.ok(cuped.ok && plain.ok && cuped.relative.ok && plain.relative.ok);
    assert.equal(cuped.theta, 0);
    assert.equal(cuped.varianceReduction, 0);
    assert.deepEqual(cuped.unadjusted, plain);
    assert.deepEqual(cuped.control, plain.control);
    assert.deepEqual(cuped.treatment, plain.treatment);
    assert.deepEqual(cuped.absolute, plain.absolute);
    // Same formula, arranged differently: equal to rounding.
    for (const key of ['estimate', 'standardError', 'pValue'] as const) {
      assertClose(cuped.relative[key], plain.relative[key], { relative: 1e-12 }, `${kind} relative ${key}`);
    }
  }
});

test('cupedLift: a constant covariate gives θ = 0, not a ratio of rounding errors', () => {
  const n = 1000;
  const withConstant = (sum: number, sumSquares: number): CupedStatistics => ({
    n, sum, sumSquares, covariateSum: 7.3 * n, covariateSumSquares: 7.3 * 7.3 * n, crossSum: 7.3 * sum,
  });
  const result = cupedLift(withConstant(500, 900), withConstant(560, 1000));
  assert.ok(result.ok);
  assert.equal(result.theta, 0);
});

test('cupedLift: users without history are just data', () => {
  // Control: 4 users with history (Y, X) = (3, 2), (5, 4), (4, 3), (6, 5) and 2 without: (1, 0), (2, 0).
  const control: CupedStatistics = { n: 6, sum: 21, sumSquares: 91, covariateSum: 14, covariateSumSquares: 54, crossSum: 68 };
  // Treatment: (4, 2), (6, 4), (5, 3), (2, 0), (3, 0).
  const treatment: CupedStatistics = { n: 5, sum: 20, sumSquares: 90, covariateSum: 9, covariateSumSquares: 29, crossSum: 47 };
  const result = cupedLift(control, treatment);
  assert.ok(result.ok && result.unadjusted.ok);
  assert.ok(result.theta > 0);
  assert.ok(result.varianceReduction > 0.5, `variance reduction ${result.varianceReduction}`);
  assert.ok(result.absolute.standardError < result.unadjusted.absolute.standardError);
});

test('cupedLift: what cannot be computed says why', () => {
  const some = noHistory(10, 5, 5);
  assert.deepEqual(cupedLift(noHistory(0, 0, 0), some, { kind: 'proportion' }), { ok: false, reason: 'control has zero users' });
  const zeroBaseline = cupedLift(
    { n: 100, sum: 0, sumSquares: 0, covariateSum: 10, covariateSumSquares: 10, crossSum: 0 },
    { n: 100, sum: 10, sumSquares: 10, covariateSum: 12, covariateSumSquares: 12, crossSum: 3 },
    { kind: 'proportion' },
  );
  assert.ok(zeroBaseline.ok);
  assert.deepEqual(zeroBaseline.relative, { ok: false, reason: 'the control mean is 0, so a relative lift is undefined' });
  // Y = 2X exactly in both tracks: nothing is left once X is accounted for.
  const linear = cupedLift(
    { n: 3, sum: 12, sumSquares: 56, covariateSum: 6, covariateSumSquares: 14, crossSum: 28 }, // X 1, 2, 3
    { n: 3, sum: 18, sumSquares: 116, covariateSum: 9, covariateSumSquares: 29, crossSum: 58 }, // X 2, 3, 4
  );
  assert.deepEqual(linear, { ok: false, reason: 'both tracks have zero variance after the adjustment' });
});

test('cupedLift: bad arguments throw TracksError naming the argument', () => {
  const good: CupedStatistics = { n: 100, sum: 50, sumSquares: 40, covariateSum: 45, covariateSumSquares: 35, crossSum: 30 };
  const bad = (control: unknown, treatment: unknown, pattern: RegExp, kind: MetricKind = 'mean', alpha?: number) =>
    assert.throws(
      () => cupedLift(control as CupedStatistics, treatment as CupedStatistics, { kind, ...(alpha === undefined ? {} : { alpha }) }),
      (e: unknown) => e instanceof TracksError && pattern.test(e.message),
      pattern.source,
    );
  bad(null, good, /^control must be an object \{ n, sum, sumSquares, covariateSum, covariateSumSquares, crossSum \}/);
  bad({ ...good, crossSum: Number.NaN }, good, /control\.crossSum must be a finite number/);
  bad(good, { ...good, crossSum: undefined }, /treatment\.crossSum must be a finite number/);
  bad(good, { ...good, covariateSumSquares: -1 }, /treatment\.covariateSumSquares must not be negative/);
  bad({ ...good, covariateSum: Number.POSITIVE_INFINITY }, good, /control\.covariateSum must be a finite number/);
  bad({ ...good, n: 1.5 }, good, /control\.n must be a whole number/);
  bad({ ...good, sum: '50' }, good, /control\.sum must be a finite number/);
  bad(good, { ...good, covariateSum: 101 }, /treatment\.covariateSum counts users converted before exposure/, 'proportion');
  bad(good, { ...good, sum: 101 }, /treatment\.sum counts converted users/, 'proportion');
  // |cov| > sd(X)·sd(Y) cannot come from real data.
  bad({ ...good, crossSum: 1000 }, good, /control\.crossSum \(1000\) is inconsistent with the other sums/);
  bad(good, good, /alpha/, 'mean', 2);
  // ΣY² < (ΣY)²/n cannot come from real data either, and is named before the cross sum it also upsets.
  bad({ ...good, n: 10, sum: 20, sumSquares: 1, crossSum: 25 }, good, /^control\.sumSquares \(1\) is less than \(control\.sum\)²\/control\.n = 40/);
  bad(good, { ...good, covariateSumSquares: 10 }, /^treatment\.covariateSumSquares \(10\) is less than \(treatment\.covariateSum\)²\/treatment\.n/);
  bad(good, good, /^cupedLift: kind must be 'mean' or 'proportion', got 'ratio'/, 'ratio' as MetricKind);
  assert.throws(() => cupedLift(good, good, null as never), (e: unknown) => e instanceof TracksError && /^cupedLift: options must be an object/.test(e.message));
});

test('sampleSize with cupedCorrelation ρ plans 1 − ρ² of the users', () => {
  for (const tracks of [2, 3]) {
    const plain = sampleSize({ baseline: 0.05, relativeMde: 0.1, tracks });
    const cuped = sampleSize({ baseline: 0.05, relativeMde: 0.1, tracks, cupedCorrelation: 0.7 });
    assert.ok(Math.abs(cuped.usersPerTrack / plain.usersPerTrack - 0.51) < 1e-4, `${cuped.usersPerTrack} / ${plain.usersPerTrack}`);
    assert.equal(cuped.effectSize, plain.effectSize);
    assert.deepEqual(sampleSize({ baseline: 0.05, relativeMde: 0.1, tracks, cupedCorrelation: 0 }), plain);
  }
  for (const rho of [-0.5, 1, 1.5, Number.NaN]) {
    assert.throws(
      () => sampleSize({ baseline: 0.05, relativeMde: 0.1, cupedCorrelation: rho }),
      (e: unknown) => e instanceof TracksError && /^cupedCorrelation must/.test(e.message),
      String(rho),
    );
  }
});


/** Pairs of independent standard normal draws (Box–Muller). */
function normalPairs(random: () => number): () => readonly [number, number] {
  return () => {
    const radius = Math.sqrt(-2 * Math.log(1 - random())); // 1 − u is in (0, 1]: no log(0)
    const angle = 2 * Math.PI * random();
    return [radius * Math.cos(angle), radius * Math.sin(angle)];
  };
}

function sampleVariance(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
}

test('A/A with a pre-period correlation of 0.7: CUPED keeps 51% of the variance (1 − ρ²) and rejects 4–6% of the time', (t) => {
  // 10,000 experiments: the false-positive rate's binomial SD is √(0.05·0.95/10,000) ≈ 0.22
  // points, so [4%, 6%] is ±4.6 SD; the variance ratio's SD is about 0.51·1.4/√10,000 ≈ 0.007
  // (the two estimates are correlated, √0.51), so 0.51 ± 0.03 is ±4 SD.
  const experiments = 10_000;
  const usersPerTrack = 200;
  const rho = 0.7;
  const residual = Math.sqrt(1 - rho * rho);
  const normal = normalPairs(mulberry32(20260821));
  // A revenue-like metric and its pre-period value: both mean 10, SD 3, correlation 0.7.
  const draw = (): CupedStatistics => {
    let sum = 0;
    let sumSquares = 0;
    let covariateSum = 0;
    let covariateSumSquares = 0;
    let crossSum = 0;
    for (let i = 0; i < usersPerTrack; i++) {
      const [z1, z2] = normal();
      const x = 10 + 3 * z1;
      const y = 10 + 3 * (rho * z1 + residual * z2);
      sum += y;
      sumSquares += y * y;
      covariateSum += x;
      covariateSumSquares += x * x;
      crossSum += x * y;
    }
    return { n: usersPerTrack, sum, sumSquares, covariateSum, covariateSumSquares, crossSum };
  };
  const adjusted: number[] = [];
  const unadjusted: number[] = [];
  let reportedReduction = 0;
  let rejections = 0;
  let relativeRejections = 0;
  let unadjustedRejections = 0;
  for (let s = 0; s < experiments; s++) {
    const result = cupedLift(draw(), draw(), { alpha: 0.05 });
    assert.ok(result.ok && result.relative.ok && result.unadjusted.ok);
    adjusted.push(result.absolute.estimate);
    unadjusted.push(result.unadjusted.absolute.estimate);
    reportedReduction += result.varianceReduction / experiments;
    if (result.absolute.pValue < 0.05) rejections++;
    if (result.relative.pValue < 0.05) relativeRejections++;
    if (result.unadjusted.absolute.pValue < 0.05) unadjustedRejections++;
  }
  const ratio = sampleVariance(adjusted) / sampleVariance(unadjusted);
  const rate = rejections / experiments;
  const relativeRate = relativeRejections / experiments;
  t.diagnostic(
    `${experiments} A/A experiments, ${usersPerTrack} users per track: var(CUPED)/var(plain) = ${ratio.toFixed(4)} ` +
      `(1 − ρ² = ${(1 - rho * rho).toFixed(2)}), mean reported variance reduction ${(100 * reportedReduction).toFixed(1)}%, ` +
      `false-positive rate ${(100 * rate).toFixed(2)}% absolute, ${(100 * relativeRate).toFixed(2)}% relative, ` +
      `${((100 * unadjustedRejections) / experiments).toFixed(2)}% without CUPED`,
  );
  assert.ok(Math.abs(ratio - 0.51) <= 0.03, `variance ratio ${ratio}`);
  // The reported reduction tells the truth about the sampling variance.
  assert.ok(Math.abs(reportedReduction - 0.49) <= 0.03, `reported variance reduction ${reportedReduction}`);
  assert.ok(rate >= 0.04 && rate <= 0.06, `false-positive rate ${rate}`);
  assert.ok(relativeRate >= 0.04 && relativeRate <= 0.06, `relative false-positive rate ${relativeRate}`);
});

test("sums of real data whose covariate's mean is far above its spread (1e8 ± 1) are not called inconsistent", () => {
  // Each variance is then a difference of sums ~1e19 that agree to their last digits: the
  // consistency check allows for that rounding (it used to throw on about a third of these).
  const random = mulberry32(7);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (let rep = 0; rep < 60; rep++) {
    const scale = [1e6, 1e7, 3e7, 1e8][rep % 4]!;
    const track = (): CupedStatistics => {
      let sum = 0, sumSquares = 0, covariateSum = 0, covariateSumSquares = 0, crossSum = 0;
      for (let i = 0; i < 500; i++) {
        const x = scale + gauss();
        const y = 0.7 * (x - scale) + gauss() + 3;
        sum += y;
        sumSquares += y * y;
        covariateSum += x;
        covariateSumSquares += x * x;
        crossSum += x * y;
      }
      return { n: 500, sum, sumSquares, covariateSum, covariateSumSquares, crossSum };
    };
    const result = cupedLift(track(), track());
    assert.ok(result.ok, `scale ${scale}`);
  }
});
