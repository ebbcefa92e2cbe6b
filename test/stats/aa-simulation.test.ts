// A/A simulations: both tracks share one true distribution, so every "significant" result is
// a false positive. A correct fixed-horizon test at alpha 0.05 is wrong 5% of the time; an
// always-valid sequential test stays at or below 5% however often it is checked. Seeded,
// so the rates below are the same on every run; sufficient statistics are accumulated
// directly, so the whole file runs in well under a second.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  proportionTest,
  sequentialLift,
  welchTest,
  type SufficientStatistics,
} from '../../src/stats/index.js';
import { seededRandom as mulberry32 } from '../support/random.js';


/** Number of successes in `n` Bernoulli(p) trials. */
function binomial(random: () => number, n: number, p: number): number {
  let successes = 0;
  for (let i = 0; i < n; i++) if (random() < p) successes++;
  return successes;
}

function conversions(n: number, converted: number): SufficientStatistics {
  return { n, sum: converted, sumSquares: converted };
}

const ALPHA = 0.05;

test('A/A, binary metric: the two-proportion z-test rejects 4–6% of the time at alpha 0.05', (t) => {
  const random = mulberry32(20240401);
  const simulations = 10_000;
  const usersPerTrack = 1000;
  let rejections = 0;
  for (let s = 0; s < simulations; s++) {
    const control = conversions(usersPerTrack, binomial(random, usersPerTrack, 0.1));
    const treatment = conversions(usersPerTrack, binomial(random, usersPerTrack, 0.1));
    const result = proportionTest(control, treatment, { alpha: ALPHA });
    assert.ok(result.ok);
    if (result.pValue < ALPHA) rejections++;
  }
  const rate = rejections / simulations;
  t.diagnostic(`false-positive rate ${(100 * rate).toFixed(2)}% over ${simulations} A/A tests`);
  assert.ok(rate >= 0.04 && rate <= 0.06, `false-positive rate ${rate}`);
});

test('A/A, skewed continuous metric: Welch\'s t-test rejects 4–6% of the time at alpha 0.05', (t) => {
  const random = mulberry32(7);
  const simulations = 2000;
  const usersPerTrack = 500;
  // Revenue-like: most users spend nothing, spenders follow an exponential law.
  const draw = (): SufficientStatistics => {
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < usersPerTrack; i++) {
      if (random() < 0.3) {
        const value = -20 * Math.log(1 - random());
        sum += value;
        sumSquares += value * value;
      }
    }
    return { n: usersPerTrack, sum, sumSquares };
  };
  let rejections = 0;
  for (let s = 0; s < simulations; s++) {
    const result = welchTest(draw(), draw(), { alpha: ALPHA });
    assert.ok(result.ok);
    if (result.pValue < ALPHA) rejections++;
  }
  const rate = rejections / simulations;
  t.diagnostic(`false-positive rate ${(100 * rate).toFixed(2)}% over ${simulations} A/A tests`);
  assert.ok(rate >= 0.04 && rate <= 0.06, `false-positive rate ${rate}`);
});

test('A/A with a look after every 1,000 users: sequential testing stays at or below 5%, peeking does not', (t) => {
  const random = mulberry32(99);
  const simulations = 2000;
  const looks = 10;
  const usersPerLookPerTrack = 500; // 1,000 users per look across both tracks
  let sequentialRejections = 0;
  let peekingRejections = 0;
  for (let s = 0; s < simulations; s++) {
    let control = conversions(0, 0);
    let treatment = conversions(0, 0);
    let sequentialRejected = false;
    let peekingRejected = false;
    for (let look = 0; look < looks; look++) {
      control = conversions(control.n + usersPerLookPerTrack, control.sum + binomial(random, usersPerLookPerTrack, 0.1));
      treatment = conversions(treatment.n + usersPerLookPerTrack, treatment.sum + binomial(random, usersPerLookPerTrack, 0.1));
      const sequential = sequentialLift(control, treatment, {
        kind: 'proportion',
        alpha: ALPHA,
        tuningParameter: 10_000,
      });
      assert.ok(sequential.ok);
      if (sequential.absolute.pValue < ALPHA) sequentialRejected = true;
      const naive = proportionTest(control, treatment, { alpha: ALPHA });
      assert.ok(naive.ok);
      if (naive.pValue < ALPHA) peekingRejected = true;
    }
    if (sequentialRejected) sequentialRejections++;
    if (peekingRejected) peekingRejections++;
  }
  const sequentialRate = sequentialRejections / simulations;
  const peekingRate = peekingRejections / simulations;
  t.diagnostic(
    `false-positive rate over ${simulations} A/A tests with ${looks} looks: sequential ${(100 * sequentialRate).toFixed(2)}%, fixed-horizon test at every look ${(100 * peekingRate).toFixed(2)}%`,
  );
  assert.ok(sequentialRate <= 0.05, `sequential false-positive rate ${sequentialRate}`);
  // Why the sequential test exists: checking a fixed-horizon test at every look inflates errors.
  assert.ok(peekingRate > 0.08, `peeking false-positive rate ${peekingRate}`);
});
