// The exported distributions far into their tails and at large degrees of freedom, against
// scipy 1.17.1. Every expected value below was printed by the scipy call named beside it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chiSquareSf,
  normalQuantile,
  normalSf,
  srmCheck,
  studentTQuantile,
  studentTSf,
} from '../../src/index.js';

function assertRelative(actual: number, expected: number, tolerance: number, label: string): void {
  const error = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= tolerance, `${label}: got ${actual}, expected ${expected} (relative error ${error})`);
}

test('normalQuantile keeps its digits in the lower tail, down to p = 1e-300 (scipy.stats.norm.ppf)', () => {
  const cases: [p: number, expected: number][] = [
    [1e-300, -37.0470962993612], // norm.ppf(1e-300)
    [1e-100, -21.273453560965322], // norm.ppf(1e-100)
    [1e-20, -9.262340089798409], // norm.ppf(1e-20)
    [1e-16, -8.222082216130435], // norm.ppf(1e-16)
    [1e-12, -7.034483825301131], // norm.ppf(1e-12)
    [1e-9, -5.9978070150076865], // norm.ppf(1e-9)
    [0.025, -1.9599639845400545], // norm.ppf(0.025)
    [0.975, 1.959963984540054], // norm.ppf(0.975)
    [1 - 1e-12, 7.0344869100478356], // norm.ppf(1 - 1e-12): 1 - 1e-12 is not exact, so not -ppf(1e-12)
  ];
  for (const [p, expected] of cases) assertRelative(normalQuantile(p), expected, 1e-12, `normalQuantile(${p})`);
  // With infinite degrees of freedom the t quantile is the normal one.
  assertRelative(studentTQuantile(1e-20, Number.POSITIVE_INFINITY), -9.262340089798409, 1e-12, 'studentTQuantile(1e-20, Infinity)');
  // And it inverts normalSf deep in the tail (norm.sf(9.262340089798409) = 1e-20).
  assertRelative(normalSf(-normalQuantile(1e-20)), 1e-20, 1e-12, 'normalSf(-normalQuantile(1e-20))');
});

test('chiSquareSf agrees with scipy.stats.chi2.sf for statistics above 2,000 at hundreds to thousands of degrees of freedom', () => {
  const cases: [x: number, df: number, expected: number][] = [
    [2001, 1800, 0.0005896126254400843], // chi2.sf(2001, 1800)
    [2500, 1000, 2.1059268048474495e-129], // chi2.sf(2500, 1000)
    [10500, 10000, 0.00024794736798936033], // chi2.sf(10500, 10000)
    [4000, 1200, 3.61682498089175e-297], // chi2.sf(4000, 1200)
    [5128.576, 5000, 0.09999960943306162], // chi2.sf(5128.576, 5000)
    [2100, 2150, 0.7758638505790525], // chi2.sf(2100, 2150)
  ];
  for (const [x, df, expected] of cases) assertRelative(chiSquareSf(x, df), expected, 1e-9, `chiSquareSf(${x}, ${df})`);
  // Far beyond the smallest double scipy returns 0; the p-value here is floored, never 0.
  assert.equal(chiSquareSf(2001, 3), Number.MIN_VALUE); // chi2.sf(2001, 3) = 0.0 (underflow)
});

test('srmCheck over 1,001 tracks with uneven weights matches scipy.stats.chisquare', () => {
  // weights 1..7 repeating; observed 200·w ± (20 + 10·(i mod 5)), alternating sign
  const weights: number[] = [];
  const observed: number[] = [];
  for (let i = 0; i < 1001; i++) {
    weights.push(1 + (i % 7));
    observed.push(200 * (1 + (i % 7)) + (i % 2 === 0 ? 1 : -1) * (20 + (i % 5) * 10));
  }
  const result = srmCheck(observed, weights);
  assert.ok(result.ok);
  // chisquare(obs, obs.sum() * w / w.sum()): statistic 3334.588838107606, pvalue 2.845988449532218e-248
  assertRelative(result.statistic, 3334.588838107606, 1e-12, 'statistic');
  assert.equal(result.degreesOfFreedom, 1000);
  assertRelative(result.pValue, 2.845988449532218e-248, 1e-9, 'pValue');
  assert.equal(result.mismatch, true);
});

test('Student t tails at fractional and huge degrees of freedom (scipy.stats.t.sf / t.ppf)', () => {
  const tails: [t: number, df: number, expected: number][] = [
    [10, 2.7, 0.001643828032344596], // t.sf(10, 2.7)
    [200, 10.5, 1.9048853574011252e-20], // t.sf(200, 10.5)
    [1e4, 4, 2.9999998000000113e-16], // t.sf(1e4, 4)
    [40, 1000.5, 4.811699031778353e-210], // t.sf(40, 1000.5)
    [8, 1e6, 6.227531716601252e-16], // t.sf(8, 1e6)
  ];
  for (const [t, df, expected] of tails) assertRelative(studentTSf(t, df), expected, 1e-9, `studentTSf(${t}, ${df})`);
  const quantiles: [p: number, df: number, expected: number][] = [
    [0.9995, 1.2, 226.537567245918], // t.ppf(0.9995, 1.2)
    [0.999, 1, 318.30883898555015], // t.ppf(0.999, 1)
    [1e-6, 7, -14.241469651981445], // t.ppf(1e-6, 7)
  ];
  for (const [p, df, expected] of quantiles) assertRelative(studentTQuantile(p, df), expected, 1e-9, `studentTQuantile(${p}, ${df})`);
});
