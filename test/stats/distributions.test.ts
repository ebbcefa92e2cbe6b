import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import {
  SMALLEST_PROBABILITY,
  chiSquareSf,
  normalCdf,
  normalQuantile,
  normalSf,
  studentTCdf,
  studentTQuantile,
  studentTSf,
  summarize,
  twoSidedNormalPValue,
  twoSidedTPValue,
} from '../../src/stats/index.js';
import { assertClose, loadFixture } from './fixtures.js';

const fixture = loadFixture<{ x: number; df: number }, { value: number }>('distributions');

for (const c of fixture.cases) {
  test(`${c.function ?? ''} matches ${c.name}`, () => {
    assert.equal(c.function, 'chiSquareSf');
    assertClose(chiSquareSf(c.inputs.x, c.inputs.df), c.expected.value, c.tolerance, c.name);
  });
}

test('survival functions keep precision deep in the tail, where 1 − cdf would be 0', () => {
  assert.equal(1 - normalCdf(10), 0);
  assert.ok(normalSf(10) > 7e-24 && normalSf(10) < 8e-24);
  assert.ok(studentTSf(50, 30) > 0);
  assert.ok(chiSquareSf(1000, 1) > 0 && chiSquareSf(1000, 1) < 1e-200);
});

test('p-values never reach 0 or NaN for finite statistics', () => {
  for (const z of [40, 1e3, 1e6]) {
    assert.equal(twoSidedNormalPValue(z), SMALLEST_PROBABILITY);
    assert.ok(twoSidedTPValue(z, 10) > 0);
    assert.ok(twoSidedTPValue(z, Number.POSITIVE_INFINITY) > 0);
  }
  assert.equal(twoSidedNormalPValue(0), 1);
});

test('quantiles invert the cdfs; df = Infinity is the normal law', () => {
  for (const p of [0.001, 0.025, 0.5, 0.9, 0.975]) {
    assert.ok(Math.abs(normalCdf(normalQuantile(p)) - p) < 1e-14);
    assert.ok(Math.abs(studentTCdf(studentTQuantile(p, 7.3), 7.3) - p) < 1e-12);
  }
  assert.equal(studentTQuantile(0.975, Number.POSITIVE_INFINITY), normalQuantile(0.975));
  assert.equal(chiSquareSf(0, 3), 1);
});

test('distribution arguments are checked', () => {
  assert.throws(() => normalQuantile(1), (e: unknown) => e instanceof TracksError && /p must/.test(e.message));
  assert.throws(() => studentTCdf(1, 0), /df/);
  assert.throws(() => chiSquareSf(1, -1), /df/);
});

test('summarize: sample variance for means, Bernoulli variance for proportions', () => {
  const mean = summarize({ n: 3, sum: 6, sumSquares: 14 });
  assert.ok(mean.ok);
  assert.equal(mean.mean, 2);
  assert.equal(mean.variance, 1);
  const proportion = summarize({ n: 4, sum: 1, sumSquares: 1 }, 'proportion');
  assert.ok(proportion.ok);
  assert.equal(proportion.variance, 0.25 * 0.75);
  assert.equal(summarize({ n: 0, sum: 0, sumSquares: 0 }).ok, false);
  assert.equal(summarize({ n: 1, sum: 5, sumSquares: 25 }).ok, false);
  // Rounding can make sumSquares − sum²/n slightly negative for constant data.
  const constant = summarize({ n: 3, sum: 0.3, sumSquares: 0.030000000000000002 });
  assert.ok(constant.ok && constant.variance >= 0);
});
