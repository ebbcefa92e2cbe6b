import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import {
  cohenH,
  proportionPower,
  requiredUsersPerTrack,
  sampleSize,
} from '../../src/stats/index.js';
import { assertClose, loadFixture } from './fixtures.js';

const fixture = loadFixture<Record<string, number>, { value: number }>('sample-size');

for (const c of fixture.cases) {
  test(`${c.function ?? ''} matches ${c.name}`, () => {
    const i = c.inputs;
    if (c.function === 'cohenH') {
      assertClose(cohenH(i.p1 ?? Number.NaN, i.p2 ?? Number.NaN), c.expected.value, c.tolerance, c.name);
    } else if (c.function === 'proportionPower') {
      const input = { effectSize: i.effectSize ?? Number.NaN, usersPerTrack: i.usersPerTrack ?? Number.NaN, alpha: i.alpha ?? Number.NaN };
      assertClose(proportionPower(input), c.expected.value, c.tolerance, c.name);
      // Inverting the source's power must give back its sample size.
      const n = requiredUsersPerTrack({ effectSize: input.effectSize, alpha: input.alpha, power: c.expected.value });
      assertClose(n, input.usersPerTrack, { relative: 1e-6 }, `${c.name}, solved for n`);
    } else {
      assert.fail(`unknown function ${String(c.function)}`);
    }
  });
}

test('sampleSize: the plan reaches the power at the corrected alpha, one user fewer does not', () => {
  const plan = sampleSize({ baseline: 0.05, relativeMde: 0.1, tracks: 3, power: 0.8, alpha: 0.05, dailyUsers: 20_000 });
  assert.equal(plan.comparisons, 2);
  assert.equal(plan.adjustedAlpha, 0.025);
  assert.equal(plan.totalUsers, plan.usersPerTrack * 3);
  assert.equal(plan.days, Math.ceil(plan.totalUsers / 20_000));
  const at = (n: number) => proportionPower({ effectSize: plan.effectSize, usersPerTrack: n, alpha: 0.025 });
  assert.ok(at(plan.usersPerTrack) >= 0.8);
  assert.ok(at(plan.usersPerTrack - 1) < 0.8);
});

test('sampleSize: more tracks, smaller effects and more power need more users', () => {
  const base = sampleSize({ baseline: 0.05, relativeMde: 0.1 });
  assert.equal(base.days, undefined);
  assert.ok(sampleSize({ baseline: 0.05, relativeMde: 0.1, tracks: 4 }).usersPerTrack > base.usersPerTrack);
  assert.ok(sampleSize({ baseline: 0.05, relativeMde: 0.05 }).usersPerTrack > base.usersPerTrack);
  assert.ok(sampleSize({ baseline: 0.05, relativeMde: 0.1, power: 0.9 }).usersPerTrack > base.usersPerTrack);
  assert.ok(sampleSize({ baseline: 0.05, relativeMde: -0.2 }).usersPerTrack > 0);
});

test('sampleSize: bad arguments throw TracksError naming the argument', () => {
  const bad = (input: Parameters<typeof sampleSize>[0], pattern: RegExp) =>
    assert.throws(() => sampleSize(input), (e: unknown) => e instanceof TracksError && pattern.test(e.message));
  bad({ baseline: 0, relativeMde: 0.1 }, /baseline/);
  bad({ baseline: 0.05, relativeMde: 0 }, /relativeMde/);
  bad({ baseline: 0.6, relativeMde: 1 }, /relativeMde/);
  bad({ baseline: 0.05, relativeMde: 0.1, alpha: 1 }, /alpha/);
  bad({ baseline: 0.05, relativeMde: 0.1, power: 0 }, /power/);
  bad({ baseline: 0.05, relativeMde: 0.1, tracks: 1 }, /tracks/);
  bad({ baseline: 0.05, relativeMde: 0.1, dailyUsers: 0 }, /dailyUsers/);
  assert.throws(() => requiredUsersPerTrack({ effectSize: 0.1, power: 0.01, alpha: 0.05 }), /power/);
});

test('requiredUsersPerTrack keeps its digits at a tiny alpha (1e-9 over 999 comparisons): scipy brentq on norm.isf gives 24,264,217.314', () => {
  // Reference: scipy 1.x, h = 2·asin(√0.0505) − 2·asin(√0.05); z = norm.isf(alpha / 2);
  // brentq(lambda n: norm.cdf(h·√(n/2) − z) + norm.cdf(−h·√(n/2) − z) − 0.8, 1, 1e12, xtol=1e-6).
  // 1 − alpha / 2 rounded away the digits of alpha: 24,264,237.6 (20 users too many).
  const n = requiredUsersPerTrack({ effectSize: 0.002288751385728205, alpha: 1.001001001001001e-12, power: 0.8 });
  assertClose(n, 24264217.314245496, { relative: 1e-9 }, 'users per track');
});
