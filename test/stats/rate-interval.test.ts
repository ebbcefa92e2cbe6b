// Shares of runs (a shadow candidate's mismatch, error or timeout rate): Wilson's interval
// against scipy, the always-valid Beta-mixture interval against an independent mpmath
// implementation (test/fixtures/stats/shadow_reference.py), and seeded simulations of its
// time-uniform coverage: the truth must stay inside at every look of a sequence of runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import { rateInterval, type RateIntervalOptions } from '../../src/stats/index.js';
import { logMixtureRatio, mixtureStrength } from '../../src/stats/rate-interval.js';
import { seededRandom } from '../support/random.js';
import { assertClose, loadFixture } from './fixtures.js';

interface Inputs {
  readonly count: number;
  readonly of: number;
  readonly alpha: number;
  readonly tuningParameter?: number;
}

const fixture = loadFixture<Inputs>('rate-interval');

for (const c of fixture.cases) {
  test(`rateInterval matches ${c.name}`, () => {
    const { count, of, ...options } = c.inputs;
    const result = rateInterval(count, of, options);
    assert.ok(result.ok);
    const actual: Record<string, number> = {
      ciLower: result.confidenceInterval[0],
      ciUpper: result.confidenceInterval[1],
      sequentialLower: result.sequentialInterval[0],
      sequentialUpper: result.sequentialInterval[1],
    };
    for (const [key, expected] of Object.entries(c.expected)) {
      assertClose(actual[key] ?? Number.NaN, expected, c.tolerance, `${c.name} ${key}`);
    }
  });
}

test('rateInterval: both intervals hold the estimate, within [0, 1]; 0 of n keeps a positive width', () => {
  for (const of of [1, 2, 3, 10, 100, 1000, 5000, 10_000, 100_000, 10_000_000]) {
    for (const count of new Set([0, 1, 2, Math.floor(of / 1000), Math.floor(of * 0.03), Math.floor(of / 2), of - 1, of])) {
      if (count < 0 || count > of) continue;
      const result = rateInterval(count, of);
      assert.ok(result.ok);
      assert.equal(result.estimate, count / of);
      for (const [lower, upper] of [result.confidenceInterval, result.sequentialInterval]) {
        const label = `${count} of ${of}: [${lower}, ${upper}]`;
        assert.ok(lower >= 0 && lower <= result.estimate && result.estimate <= upper && upper <= 1, label);
        assert.ok(upper - lower > 0, label);
      }
      if (count === 0) assert.equal(result.sequentialInterval[0], 0);
      if (count === of) assert.equal(result.sequentialInterval[1], 1);
    }
  }
});

test('rateInterval: the sequential interval is exactly the rates where the mixture ratio stays below 1/alpha', () => {
  for (const [count, of, options] of [
    [150, 5000, {}],
    [5, 5000, {}],
    [2, 40, {}],
    [4990, 5000, { alpha: 0.01 }],
    [30_000, 1_000_000, { tuningParameter: 1_000_000 }],
  ] as const) {
    const alpha = options.alpha ?? 0.05;
    const strength = mixtureStrength(alpha, options.tuningParameter ?? 10_000);
    const threshold = Math.log(1 / alpha);
    const result = rateInterval(count, of, options);
    assert.ok(result.ok);
    const [lower, upper] = result.sequentialInterval;
    const at = (p: number) => logMixtureRatio(count, of, p, strength);
    for (const end of [lower, upper]) assertClose(at(end), threshold, { absolute: 1e-6 }, `${count}/${of} at ${end}`);
    assert.ok(at(lower * 0.999) > threshold && at(lower * 1.001) < threshold, `${count}/${of} lower`);
    // Just beyond and just within each end, relative to the end's distance from 0 (from 1).
    const nearOne = (factor: number) => 1 - (1 - upper) * factor;
    assert.ok(at(nearOne(0.999)) > threshold && at(nearOne(1.001)) < threshold, `${count}/${of} upper`);
    for (let i = 1; i < 100; i++) assert.ok(at(lower + ((upper - lower) * i) / 100) < threshold);
  }
});

test('rateInterval: a smaller alpha widens both intervals; the tuning parameter moves where the sequence is tightest', () => {
  const at05 = rateInterval(150, 5000);
  const at01 = rateInterval(150, 5000, { alpha: 0.01 });
  assert.ok(at05.ok && at01.ok);
  assert.ok(at01.confidenceInterval[0] < at05.confidenceInterval[0] && at01.confidenceInterval[1] > at05.confidenceInterval[1]);
  assert.ok(at01.sequentialInterval[0] < at05.sequentialInterval[0] && at01.sequentialInterval[1] > at05.sequentialInterval[1]);
  const width = (count: number, of: number, options: RateIntervalOptions) => {
    const result = rateInterval(count, of, options);
    assert.ok(result.ok);
    return result.sequentialInterval[1] - result.sequentialInterval[0];
  };
  // Tuned for 1,000 runs, the sequence is narrower at 1,000 and wider at 100,000 than tuned for 100,000.
  assert.ok(width(30, 1000, { tuningParameter: 1000 }) < width(30, 1000, { tuningParameter: 100_000 }));
  assert.ok(width(3000, 100_000, { tuningParameter: 1000 }) > width(3000, 100_000, { tuningParameter: 100_000 }));
});

test('rateInterval: no runs cannot compute; bad arguments throw TracksError naming the argument', () => {
  assert.deepEqual(rateInterval(0, 0), { ok: false, reason: 'there are no runs (of is 0)' });
  const named = (pattern: RegExp) => (e: unknown) => e instanceof TracksError && pattern.test(e.message);
  assert.throws(() => rateInterval(-1, 10), named(/^count must be a whole number of runs, got -1/));
  assert.throws(() => rateInterval(1.5, 10), named(/^count must be a whole number/));
  assert.throws(() => rateInterval(Number.NaN, 10), named(/^count must be a whole number/));
  assert.throws(() => rateInterval(1, -10), named(/^of must be a whole number of runs, got -10/));
  assert.throws(() => rateInterval(1, 2.5), named(/^of must be a whole number/));
  assert.throws(() => rateInterval(1, Number.POSITIVE_INFINITY), named(/^of must be a whole number/));
  assert.throws(() => rateInterval('3' as unknown as number, 10), named(/^count must be a whole number/));
  assert.throws(() => rateInterval(11, 10), named(/^count .* must be at most of, got 11/));
  assert.throws(() => rateInterval(1, 10, { alpha: 0 }), named(/alpha/));
  assert.throws(() => rateInterval(1, 10, { alpha: 1 }), named(/alpha/));
  assert.throws(() => rateInterval(1, 10, { tuningParameter: 0 }), named(/tuningParameter/));
  assert.throws(() => rateInterval(1, 10, { tuningParameter: Number.NaN }), named(/tuningParameter/));
});

// ---------------------------------------------------------------------------------------
// Seeded simulations.

const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;

test('simulation: the sequential interval holds the true rate at every one of 2,000 looks in at least 95% of sequences', (t) => {
  const SEQUENCES = 500;
  const LOOKS = 2000;
  const lines: string[] = [];
  for (const [index, p] of [0.001, 0.03, 0.5].entries()) {
    const random = seededRandom(7000 + index);
    // The interval depends on (count, of) alone, so each pair is computed once.
    const sequentialHolds = new Map<number, boolean>();
    const wilsonHolds = new Map<number, boolean>();
    let sequentialMissed = 0;
    let wilsonMissed = 0;
    for (let s = 0; s < SEQUENCES; s++) {
      let count = 0;
      let missedSequential = false;
      let missedWilson = false;
      for (let of = 1; of <= LOOKS; of++) {
        if (random() < p) count++;
        const key = of * 10_000 + count;
        let holds = sequentialHolds.get(key);
        if (holds === undefined) {
          const result = rateInterval(count, of);
          assert.ok(result.ok);
          const [lower, upper] = result.sequentialInterval;
          holds = lower <= p && p <= upper;
          sequentialHolds.set(key, holds);
          wilsonHolds.set(key, result.confidenceInterval[0] <= p && p <= result.confidenceInterval[1]);
        }
        if (!holds) missedSequential = true;
        if (!wilsonHolds.get(key)) missedWilson = true;
      }
      if (missedSequential) sequentialMissed++;
      if (missedWilson) wilsonMissed++;
    }
    const coverage = 1 - sequentialMissed / SEQUENCES;
    lines.push(
      `p ${p}: sequential holds at every look in ${percent(coverage)} (Wilson at every look: ${percent(1 - wilsonMissed / SEQUENCES)}; ${sequentialHolds.size} distinct looks)`,
    );
    assert.ok(coverage >= 0.95, `p ${p}: time-uniform coverage ${coverage}`);
    // Looking at Wilson's fixed-sample interval after every run misses far more often.
    if (p >= 0.03) assert.ok(wilsonMissed / SEQUENCES > 0.1, `p ${p}: Wilson missed ${wilsonMissed}`);
  }
  t.diagnostic(`${SEQUENCES} sequences of ${LOOKS} runs, a look after every run: ${lines.join('; ')}`);
});

test('simulation: a candidate that differs on 3% of 5,000 runs: Wilson covers 0.03 at about 95%, the sequential interval at least as often', (t) => {
  const SIMULATIONS = 4000;
  const random = seededRandom(20260503);
  let wilson = 0;
  let sequential = 0;
  let widthRatio = 0;
  for (let s = 0; s < SIMULATIONS; s++) {
    let count = 0;
    for (let run = 0; run < 5000; run++) if (random() < 0.03) count++;
    const result = rateInterval(count, 5000);
    assert.ok(result.ok);
    const [wl, wu] = result.confidenceInterval;
    const [sl, su] = result.sequentialInterval;
    if (wl <= 0.03 && 0.03 <= wu) wilson++;
    if (sl <= 0.03 && 0.03 <= su) sequential++;
    widthRatio += (su - sl) / (wu - wl) / SIMULATIONS;
  }
  t.diagnostic(
    `${SIMULATIONS} simulations of 5,000 runs at 3%: Wilson covers ${percent(wilson / SIMULATIONS)}, sequential ${percent(sequential / SIMULATIONS)}; the sequential interval is ${widthRatio.toFixed(2)} × as wide`,
  );
  assert.ok(wilson / SIMULATIONS >= 0.935 && wilson / SIMULATIONS <= 0.965, `Wilson coverage ${wilson / SIMULATIONS}`);
  assert.ok(sequential / SIMULATIONS >= 0.95, `sequential coverage ${sequential / SIMULATIONS}`);
});
