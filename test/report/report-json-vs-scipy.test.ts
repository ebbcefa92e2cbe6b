// `tracks report --json` on a SQLite store recorded through the public API (configure,
// TrackSet runs, convert, flush, close), with per-user data known in advance, against scipy
// 1.17.1 on the same per-user arrays. The arrays follow from the assignment (bucketOf) and the
// rules below; the constants were printed by the scipy calls named beside them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, bucketOf, close, configure, convert, flush } from '../../src/index.js';
import type { Report } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-json-scipy-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

class CheckoutDelay extends TrackSet {
  static override id = 'checkout-delay';
  static short_track() {}
  static long_track() {}
}

/** Percent of a track's users who buy: user i buys when (i·7919) mod 100 is below it. */
const RATE: Record<string, number> = { control: 12, short: 11, long: 8 };
const USERS = 6000;

function close6(actual: number | null | undefined, expected: number, label: string, tolerance = 1e-6): void {
  assert.ok(typeof actual === 'number', `${label}: got ${actual}`);
  const error = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= tolerance, `${label}: got ${actual}, expected ${expected} (relative error ${error})`);
}

test('report --json figures equal scipy on the same per-user data (z-test, Welch, delta method, Holm, posterior)', async () => {
  const path = join(dir, 'tracks.db');
  configure({ store: path, outbox: false, metrics: { purchase: { kind: 'conversion' }, revenue: { kind: 'sum' } } });
  for (let i = 0; i < USERS; i++) {
    const key = `u-${i}`;
    using run = new CheckoutDelay({ key });
    run.run();
    if ((i * 7919) % 100 < RATE[bucketOf(CheckoutDelay, key)]!) {
      convert({ key, metric: 'purchase' });
      convert({ key, metric: 'revenue', value: 10 + (i % 13) * 3 });
    }
  }
  await flush();
  await close();

  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['report', '--store', path, '--json'], { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  assert.equal(code, 0, err.join('\n'));
  const report = JSON.parse(out.join('\n')) as Report;
  for (const field of ['version', 'generatedAt', 'store', 'alpha', 'sequential', 'correction', 'cuped', 'latencyBucketBoundsMs', 'trackSets']) {
    assert.ok(field in report, `top-level field ${field}`);
  }
  const set = report.trackSets.find((s) => s.id === 'checkout-delay')!;
  for (const field of ['id', 'holdout', 'status', 'serving', 'baseline', 'users', 'firstExposureAt', 'lastExposureAt', 'srm', 'srmExcluded', 'phases', 'analysedPhases', 'inferredMetrics', 'warnings', 'tracks', 'guardrails', 'shadow']) {
    assert.ok(field in set, `track set field ${field}`);
  }
  assert.equal(set.users, USERS);
  assert.deepEqual(set.tracks.map((t) => [t.name, t.users]), [['control', 2048], ['short', 1942], ['long', 2010]]);
  // scipy.stats.chisquare([2048, 1942, 2010]): statistic 2.884, pvalue 0.23645437670452912
  close6(set.srm!.pValue, 0.23645437670452912, 'srm p');
  assert.equal(set.srm!.mismatch, false);

  const metric = (track: string, name: string) => {
    const found = set.tracks.find((t) => t.name === track)!.metrics.find((m) => m.metric === name)!;
    for (const field of ['metric', 'kind', 'type', 'declared', 'higherIsBetter', 'guardrail', 'value', 'conversions', 'total', 'rate', 'mean', 'interval', 'cap', 'comparison', 'cannotCompute']) {
      assert.ok(field in found, `${track} ${name} field ${field}`);
    }
    return found;
  };

  // Control's own intervals: p ± z·√(p(1 − p)/n) and x̄ ± z·s/√n with z = norm.isf(0.025).
  const controlPurchase = metric('control', 'purchase');
  assert.equal(controlPurchase.conversions, 249);
  close6(controlPurchase.rate, 249 / 2048, 'control rate');
  close6(controlPurchase.interval![0], 0.10742838236199805, 'control purchase interval lower');
  close6(controlPurchase.interval![1], 0.13573568013800197, 'control purchase interval upper');
  const controlRevenue = metric('control', 'revenue');
  assert.equal(controlRevenue.total, 6921);
  close6(controlRevenue.interval![0], 2.953276188508354, 'control revenue interval lower');
  close6(controlRevenue.interval![1], 3.805512873991646, 'control revenue interval upper');
  assert.equal(controlPurchase.comparison, null);

  // Per treatment and metric: p from scipy.stats.chi2_contingency(correction=False) (the
  // pooled two-proportion z-test squared) for purchase and scipy.stats.ttest_ind(equal_var=
  // False) for revenue; relative lift r = ȳ/x̄ − 1 with Var ≈ vt/x̄² + ȳ²vc/x̄⁴ and its
  // t.ppf(0.975, Welch df) interval; chance to beat = norm.cdf(r/se); Holm over the four
  // p-values (the Holm definition, as R p.adjust(method = "holm")).
  const expected = {
    short: {
      purchase: { conversions: 228, p: 0.6843668333323598, abs: -0.004177293865859938, absSe: 0.01027161958017527, rel: -0.034357822639683344, relCi: [-0.19720394326916912, 0.12848829798980244], chance: 0.3395668650225645, adjusted: 1 },
      revenue: { conversions: 228, p: 0.9555169740318508, abs: 0.017618857009526145, absSe: 0.3158426860149967, absCi: [-0.6016105398939938, 0.6368482539130461], rel: 0.0052136135176288345, relCi: [-0.17847645522314096, 0.18890368225839863], chance: 0.5221880880267114, adjusted: 1 },
    },
    long: {
      purchase: { conversions: 146, p: 1.447542084942215e-7, abs: -0.048945215329601985, absSe: 0.0092553309136896, rel: -0.40256948190773034, relCi: [-0.5189928332114269, -0.2861461306040338], chance: 6.0384811413907145e-12, adjusted: 5.79016833976886e-7 },
      revenue: { conversions: 146, p: 3.779142612827235e-7, abs: -1.4112353272699005, absSe: 0.27733438108276637, absCi: [-1.9549708176248783, -0.8674998369149228], rel: -0.41760005060666905, relCi: [-0.5415953493002958, -0.29360475191304225], chance: 2.015012207893949e-11, adjusted: 1.1337427838481704e-6 },
    },
  } as const;
  for (const [track, metrics] of Object.entries(expected)) {
    for (const [name, e] of Object.entries(metrics)) {
      const m = metric(track, name);
      const label = `${track} ${name}`;
      assert.equal(m.conversions, e.conversions, `${label} conversions`);
      const c = m.comparison!;
      assert.ok(c, `${label} comparison: ${m.cannotCompute}`);
      for (const field of ['absolute', 'relative', 'pValue', 'adjustedPValue', 'significant', 'verdict', 'phases', 'chanceToBeatControl', 'risk', 'cuped']) {
        assert.ok(field in c, `${label} comparison field ${field}`);
      }
      close6(c.pValue, e.p, `${label} p`);
      close6(c.adjustedPValue, e.adjusted, `${label} adjusted p`);
      close6(c.absolute.estimate, e.abs, `${label} absolute`);
      close6(c.absolute.standardError, e.absSe, `${label} absolute standard error`);
      if ('absCi' in e) {
        close6(c.absolute.interval[0], e.absCi[0], `${label} absolute lower`);
        close6(c.absolute.interval[1], e.absCi[1], `${label} absolute upper`);
      }
      close6(c.relative!.estimate, e.rel, `${label} relative`);
      close6(c.relative!.interval[0], e.relCi[0], `${label} relative lower`);
      close6(c.relative!.interval[1], e.relCi[1], `${label} relative upper`);
      close6(c.chanceToBeatControl, e.chance, `${label} chance to beat control`);
      assert.equal(c.significant, e.adjusted < 0.05, `${label} significant`);
      assert.equal(c.verdict, e.adjusted < 0.05 ? 'worse' : 'inconclusive', `${label} verdict`);
      assert.equal(c.cuped, null, `${label}: no history, no CUPED`);
    }
  }
});
