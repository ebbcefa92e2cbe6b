// `tracks plan --json` against the power equation of the two-sided two-proportion test on
// the arcsine scale (R pwr.2p.test), solved in python3 with scipy 1.17.1:
//
//   h = 2·asin√(b(1 + m)) − 2·asin√b,  α' = α/(k − 1)  (Bonferroni over the k − 1 comparisons)
//   power(n) = Φ(|h|√(n/2) − z) + Φ(−|h|√(n/2) − z),  z = norm.isf(α'/2)
//   n = scipy.optimize.brentq(lambda n: power(n) − target, 1e-9, 1e12, xtol=1e-12, rtol=1e-15)
//
// usersPerTrack = ceil(n), totalUsers = k·ceil(n), days = ceil(totalUsers/daily).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../src/cli/run-cli.js';

interface Case {
  readonly flags: string[];
  /** The root n of the power equation, as brentq printed it. */
  readonly n: number;
  readonly tracks: number;
  readonly days?: number;
}

const CASES: Case[] = [
  { flags: ['--baseline', '0.05', '--mde', '0.1'], n: 31217.423430359788, tracks: 2 },
  { flags: ['--baseline', '0.05', '--mde', '0.1', '--tracks', '3', '--daily', '10000'], n: 37804.56050002652, tracks: 3, days: 12 },
  { flags: ['--baseline', '0.01', '--mde', '0.05', '--alpha', '0.001', '--power', '0.9'], n: 1696299.433113365, tracks: 2 },
  { flags: ['--baseline', '0.2', '--mde', '-0.2', '--tracks', '5', '--alpha', '0.2', '--power', '0.5', '--daily', '777'], n: 706.6897682596866, tracks: 5, days: 5 },
  { flags: ['--baseline', '0.5', '--mde', '0.01', '--tracks', '10', '--power', '0.95'], n: 390321.69373370137, tracks: 10 },
  { flags: ['--baseline', '0.001', '--mde', '1'], n: 22839.59849900809, tracks: 2 },
  { flags: ['--baseline', '0.9', '--mde', '0.1', '--tracks', '4', '--alpha', '0.01', '--power', '0.99', '--daily', '50000'], n: 281.91849683873767, tracks: 4, days: 1 },
  // Power 0.6 at alpha 0.5: the far tail counts, and the closed form 2((z + z_power)/h)² (14) overshoots the root.
  { flags: ['--baseline', '0.3', '--mde', '-0.5', '--alpha', '0.5', '--power', '0.6'], n: 7.853595635233384, tracks: 2 },
];

test('tracks plan --json: users per track are the ceiling of the power equation\'s root, for several baselines, MDEs, alphas, powers and track counts', async () => {
  for (const c of CASES) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['plan', ...c.flags, '--json'], { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
    assert.equal(code, 0, err.join('\n'));
    const plan = JSON.parse(out.join('\n')) as { usersPerTrack: number; totalUsers: number; comparisons: number; days?: number };
    const label = c.flags.join(' ');
    assert.equal(plan.usersPerTrack, Math.ceil(c.n), label);
    assert.equal(plan.totalUsers, Math.ceil(c.n) * c.tracks, label);
    assert.equal(plan.comparisons, c.tracks - 1, label);
    assert.equal(plan.days, c.days, label);
  }
});
