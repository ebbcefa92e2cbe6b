/**
 * Issue 2, points 2, 5 and the test list: the split is uniform (or follows the weights), and
 * draws with different salts are independent: two track sets, the set choice of a
 * MultiTrackSet and the track inside a set, coverage and the track. Chi-square tests on
 * 100,000 keys, p-values from the regularized upper incomplete gamma function
 * (P(X >= x) = Q(df/2, x/2), @stdlib/math-base-special-gammainc); threshold p > 0.001.
 * Keys are fixed, so each test is deterministic; the threshold only says how unlucky a fixed
 * key set may look before we call the hash biased.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiTrackSet, ParamTrackSet, TrackSet, bucketOf } from '../../src/index.js';
import { assignAll, chiSquareP, countBy, crossTab, goodnessOfFit, handDefinition, independence, keys, N } from './helpers.js';

class DelayTracks extends TrackSet {
  static override id = 'delay';
  static short_track() {}
  static long_track() {}
}
class PricingTracks extends TrackSet {
  static override id = 'pricing';
  static expensive_track() {}
  static cheap_track() {}
}
class WeightedTracks extends TrackSet {
  static override id = 'checkout';
  static override weights = { control: 2, fast: 1, slow: 1, off: 0 };
  static fast_track() {}
  static slow_track() {}
  static off_track() {}
}
class CarefulTracks extends TrackSet {
  static override id = 'careful';
  static override coverage = 0.2;
  static new_track() {}
}
class ParamTracks extends ParamTrackSet {
  static override id = 'param-uniform';
  static override addControlTrack = false;
  static override params = Array.from({ length: 11 }, (_, i) => i - 5);
  static override track() {}
}

const allKeys = keys(N);
const delay = allKeys.map((k) => bucketOf(DelayTracks, k));
const DELAY = ['control', 'short', 'long'];

describe('the chi-square machinery can fail', () => {
  test('p-values match the table: chi2(0.999) critical values 13.816 (df 2), 16.266 (df 3), 18.467 (df 4)', () => {
    // NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.6.7.4 "Critical Values of the Chi-Square Distribution".
    assert.ok(Math.abs(chiSquareP(13.816, 2) - 0.001) < 1e-5);
    assert.ok(Math.abs(chiSquareP(16.266, 3) - 0.001) < 1e-5);
    assert.ok(Math.abs(chiSquareP(18.467, 4) - 0.001) < 1e-5);
  });

  test('a wrong expected split is rejected', () => {
    assert.ok(goodnessOfFit(countBy(delay, DELAY), [0.5, 0.25, 0.25]).p < 1e-9);
    assert.ok(goodnessOfFit(countBy(delay, DELAY), [0.34, 0.33, 0.33]).p < 0.001, 'a 1% skew shows on 100,000 keys');
  });

  test('dependent sets (the same salt) are detected', () => {
    const a = assignAll(handDefinition('same', { control: 1, a: 1, b: 1 }), allKeys) as string[];
    const b = assignAll(handDefinition('same', { control: 1, x: 1, y: 1 }), allKeys) as string[];
    assert.ok(independence(crossTab(a, ['control', 'a', 'b'], b, ['control', 'x', 'y'])).p < 1e-9);
  });
});

describe('uniformity of the split (100,000 keys)', () => {
  test('equal weights: DelayTracks splits a third each', () => {
    const fit = goodnessOfFit(countBy(delay, DELAY), [1 / 3, 1 / 3, 1 / 3]);
    assert.ok(fit.p > 0.001, `chi2 ${fit.stat.toFixed(2)} df ${fit.df} p ${fit.p}`);
  });

  test('eleven params split evenly', () => {
    const names = ParamTracks.trackNames();
    const fit = goodnessOfFit(countBy(allKeys.map((k) => bucketOf(ParamTracks, k)), names), names.map(() => 1 / 11));
    assert.ok(fit.p > 0.001, `chi2 ${fit.stat.toFixed(2)} df ${fit.df} p ${fit.p}`);
  });

  test('weights 2:1:1 (and a weight-0 track nobody gets) split 50/25/25', () => {
    const got = allKeys.map((k) => bucketOf(WeightedTracks, k));
    assert.ok(!got.includes('off'));
    const fit = goodnessOfFit(countBy(got, ['control', 'fast', 'slow']), [0.5, 0.25, 0.25]);
    assert.ok(fit.p > 0.001, `chi2 ${fit.stat.toFixed(2)} df ${fit.df} p ${fit.p}`);
  });

  test('uneven weights (0.3 : 1 : 2.7 : 6) follow their shares', () => {
    const weights = { control: 0.3, a: 1, b: 2.7, c: 6 };
    const got = assignAll(handDefinition('uneven', weights), allKeys) as string[];
    const fit = goodnessOfFit(countBy(got, Object.keys(weights)), Object.values(weights).map((w) => w / 10));
    assert.ok(fit.p > 0.001, `chi2 ${fit.stat.toFixed(2)} df ${fit.df} p ${fit.p}`);
  });

  test('numeric keys 0..99,999 split evenly too (sequential ids are the common case)', () => {
    const got = Array.from({ length: N }, (_, i) => bucketOf(DelayTracks, i));
    const fit = goodnessOfFit(countBy(got, DELAY), [1 / 3, 1 / 3, 1 / 3]);
    assert.ok(fit.p > 0.001, `chi2 ${fit.stat.toFixed(2)} p ${fit.p}`);
  });
});

describe('independence (100,000 keys)', () => {
  test('of two track sets: DelayTracks x PricingTracks contingency table', () => {
    const pricing = allKeys.map((k) => bucketOf(PricingTracks, k));
    const result = independence(crossTab(delay, DELAY, pricing, ['control', 'expensive', 'cheap']));
    assert.ok(result.p > 0.001, `chi2 ${result.stat.toFixed(2)} df ${result.df} p ${result.p}`);
  });

  test('of the set a MultiTrackSet chooses and the track inside each set', () => {
    const sets: string[] = [];
    for (const key of allKeys) sets.push(new MultiTrackSet([DelayTracks, PricingTracks], { key }).trackSet!.id);
    const setFit = goodnessOfFit(countBy(sets, ['delay', 'pricing']), [0.5, 0.5]);
    assert.ok(setFit.p > 0.001, `set split: p ${setFit.p}`);
    const delayResult = independence(crossTab(sets, ['delay', 'pricing'], delay, DELAY));
    assert.ok(delayResult.p > 0.001, `set choice vs delay track: chi2 ${delayResult.stat.toFixed(2)} p ${delayResult.p}`);
    const pricing = allKeys.map((k) => bucketOf(PricingTracks, k));
    const pricingResult = independence(crossTab(sets, ['delay', 'pricing'], pricing, ['control', 'expensive', 'cheap']));
    assert.ok(pricingResult.p > 0.001, `set choice vs pricing track: chi2 ${pricingResult.stat.toFixed(2)} p ${pricingResult.p}`);
  });

  test('of coverage and the track (the track a key would get if covered)', () => {
    const covered = assignAll(handDefinition('cov', { control: 1, a: 1, b: 1 }, 0.5), allKeys).map((t) => (t === null ? 'out' : 'in'));
    const track = assignAll(handDefinition('cov', { control: 1, a: 1, b: 1 }, 1), allKeys) as string[];
    const result = independence(crossTab(covered, ['in', 'out'], track, ['control', 'a', 'b']));
    assert.ok(result.p > 0.001, `chi2 ${result.stat.toFixed(2)} df ${result.df} p ${result.p}`);
    // and covered keys keep the track they would have had
    const coveredTrack = assignAll(handDefinition('cov', { control: 1, a: 1, b: 1 }, 0.5), allKeys);
    coveredTrack.forEach((t, i) => t === null || assert.equal(t, track[i]));
  });
});

describe('weights of sets in a MultiTrackSet', () => {
  class HeavyDelayTracks extends TrackSet {
    static override id = 'delay';
    static override weight = 1000;
    static short_track() {}
    static long_track() {}
  }

  test('weights 1000 and 100 give about 10:1 (chi-square against 10/11, 1/11)', () => {
    const sets = allKeys.map((key) => new MultiTrackSet([HeavyDelayTracks, PricingTracks], { key }).trackSet!.id);
    const counts = countBy(sets, ['delay', 'pricing']);
    const fit = goodnessOfFit(counts, [10 / 11, 1 / 11]);
    assert.ok(fit.p > 0.001, `${counts[0]}:${counts[1]}, chi2 ${fit.stat.toFixed(2)} p ${fit.p}`);
    const ratio = counts[0]! / counts[1]!;
    assert.ok(ratio > 9.5 && ratio < 10.5, `ratio ${ratio}`);
  });
});

describe('coverage', () => {
  test('coverage 0.2 puts about 20% in the test; the rest get control, not covered, not in the test', () => {
    let inTest = 0;
    const covered: string[] = [];
    for (const key of allKeys) {
      const run = new CarefulTracks({ key });
      if (run.inTest) {
        inTest++;
        assert.equal(run.reason, 'assigned');
        covered.push(run.name);
      } else {
        assert.equal(run.name, 'control');
        assert.equal(run.reason, 'not covered');
      }
    }
    const z = (inTest - N * 0.2) / Math.sqrt(N * 0.2 * 0.8);
    assert.ok(Math.abs(z) < 4, `${inTest} of ${N} covered (z = ${z.toFixed(2)})`);
    const fit = goodnessOfFit(countBy(covered, ['control', 'new']), [0.5, 0.5]);
    assert.ok(fit.p > 0.001, `covered keys split evenly: p ${fit.p}`);
  });

  test('coverage 0 puts nobody in the test', () => {
    const nobody = handDefinition('nobody', { control: 1, a: 1 }, 0);
    assert.ok(assignAll(nobody, allKeys.slice(0, 10_000)).every((t) => t === null));
  });
});
