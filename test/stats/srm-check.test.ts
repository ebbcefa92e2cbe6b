import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import { srmCheck } from '../../src/stats/index.js';
import { assertClose, loadFixture } from './fixtures.js';

const fixture = loadFixture<{ observed: number[]; weights: number[] }>('srm-check');

for (const c of fixture.cases) {
  test(`srmCheck matches ${c.name}`, () => {
    const result = srmCheck(c.inputs.observed, c.inputs.weights);
    assert.ok(result.ok);
    assertClose(result.statistic, c.expected.statistic ?? Number.NaN, c.tolerance, `${c.name} statistic`);
    assertClose(result.pValue, c.expected.pValue ?? Number.NaN, c.tolerance, `${c.name} pValue`);
    assert.equal(result.mismatch, false);
  });
}

test('srmCheck flags a mismatch below p = 0.001 and not above', () => {
  const broken = srmCheck([50_000, 51_500], [1, 1]);
  assert.ok(broken.ok);
  assert.equal(broken.mismatch, true);
  assert.ok(broken.pValue < 0.001);
  const healthy = srmCheck([50_000, 50_200], [50, 50]);
  assert.ok(healthy.ok);
  assert.equal(healthy.mismatch, false);
});

test('srmCheck: weights are relative, and a huge mismatch still gives a positive p-value', () => {
  const a = srmCheck([300, 700], [0.3, 0.7]);
  const b = srmCheck([300, 700], [30, 70]);
  assert.ok(a.ok && b.ok);
  assert.ok(Math.abs(a.statistic - b.statistic) < 1e-12);
  const huge = srmCheck([1_000_000, 1_100_000], [1, 1]);
  assert.ok(huge.ok);
  assert.ok(huge.pValue > 0 && huge.pValue < 1e-300, `p = ${huge.pValue}`);
  // Weights near the largest double (a store written before weights were bounded): no overflow to NaN.
  const extreme = srmCheck([2000, 0], [1e308, 1]);
  assert.ok(extreme.ok && extreme.pValue > 0.5, JSON.stringify(extreme));
  const off = srmCheck([1990, 10], [1e308, 1e-300]);
  assert.ok(off.ok && off.pValue === 0 && off.mismatch, JSON.stringify(off));
  assert.ok(srmCheck([1000, 1000], [1e308, 1e308]).ok);
});

test('srmCheck: zero-weight tracks are ignored unless users landed there', () => {
  const ignored = srmCheck([500, 500, 0], [1, 1, 0]);
  assert.ok(ignored.ok);
  assert.equal(ignored.degreesOfFreedom, 1);
  const impossible = srmCheck([500, 500, 3], [1, 1, 0]);
  assert.ok(impossible.ok);
  assert.equal(impossible.mismatch, true);
  assert.equal(impossible.statistic, Number.POSITIVE_INFINITY);
});

test('srmCheck: users in a weight-0 track are a mismatch also when one track alone has a positive weight', () => {
  // As with three tracks: users where the weights send no one are an impossible split.
  assert.deepEqual(srmCheck([5, 3], [1, 0]), {
    ok: true,
    statistic: Number.POSITIVE_INFINITY,
    degreesOfFreedom: 0,
    pValue: 0,
    expected: [8, 0],
    mismatch: true,
  });
  const three = srmCheck([5, 3, 2], [1, 1, 0]);
  assert.ok(three.ok && three.statistic === Number.POSITIVE_INFINITY && three.pValue === 0 && three.mismatch);
  const first = srmCheck([1, 4, 0], [0, 2, 0]);
  assert.ok(first.ok && first.mismatch && first.pValue === 0, JSON.stringify(first));
  assert.deepEqual(first.expected, [0, 5, 0]);
  const nobodyWeighted = srmCheck([3, 0], [0, 1]);
  assert.ok(nobodyWeighted.ok && nobodyWeighted.mismatch, 'every user where the weights send no one');
  // Whatever the threshold: p = 0 is below any.
  const strict = srmCheck([5, 3], [1, 0], { threshold: 1e-12 });
  assert.ok(strict.ok && strict.mismatch);
});

test('srmCheck: cannot compute with no users or a single weighted track', () => {
  assert.deepEqual(srmCheck([0, 0], [1, 1]), { ok: false, reason: 'no users have been assigned yet' });
  // One weighted track and no users in the others: nothing to test (users in a weight-0 track would be a mismatch).
  assert.deepEqual(srmCheck([10, 0], [1, 0]), { ok: false, reason: 'fewer than 2 tracks have a positive weight' });
  assert.deepEqual(srmCheck([0, 7, 0], [0, 2, 0]), { ok: false, reason: 'fewer than 2 tracks have a positive weight' });
});

test('srmCheck: bad arguments throw TracksError', () => {
  assert.throws(() => srmCheck([1, 2], [1]), (e: unknown) => e instanceof TracksError && /same length/.test(e.message));
  assert.throws(() => srmCheck([1, -2], [1, 1]), /observed\[1\]/);
  assert.throws(() => srmCheck([1, 2], [1, -1]), /weights\[1\]/);
  assert.throws(() => srmCheck([1, 2], [0, 0]), /weights/);
  assert.throws(() => srmCheck([1, 2], [1, 1], { threshold: 2 }), /threshold/);
});
