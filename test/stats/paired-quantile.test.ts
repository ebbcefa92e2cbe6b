// Quantiles of per-run latency differences (candidate − baseline on the same run) read from
// the signed histogram a shadow comparison records: numpy's quantiles of the raw differences
// (test/fixtures/stats/shadow_reference.py), agreement with quantileInterval on one-sided
// data, edge cases, and seeded simulations of raw differences counted with the recorder's
// latencyBucket: the interval's coverage of the true quantile of the difference distribution,
// and how much narrower pairing makes it than comparing the two paths' own quantiles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import { emptyHistogram, LATENCY_BUCKET_BOUNDS_MS, latencyBucket } from '../../src/model/latency-histogram.js';
import { normalCdf, pairedQuantileInterval, quantileInterval, type PairedHistogram } from '../../src/stats/index.js';
import { quantileDifference } from '../../src/stats/quantile-difference.js';
import { seededRandom } from '../support/random.js';
import { assertClose, loadFixture } from './fixtures.js';

const bounds = LATENCY_BUCKET_BOUNDS_MS;
type Sparse = Readonly<Record<string, number>>;
const RESOLUTION = bounds[0]!; // 0.05 ms
const STEP = 2 ** (1 / 3); // one bucket

function dense(sparse: Sparse = {}): number[] {
  const counts = emptyHistogram();
  for (const [bucket, count] of Object.entries(sparse)) counts[Number(bucket)] = count;
  return counts;
}

function paired(slower: Sparse, faster: Sparse): PairedHistogram {
  return { bounds, slower: dense(slower), faster: dense(faster) };
}

/** How far an estimate is from a raw quantile, in units of ln; 0 when both are below resolution. */
function resolutionError(estimate: number, raw: number, belowResolution: boolean): number {
  if (belowResolution) return Math.abs(raw) <= RESOLUTION * STEP ? 0 : Number.POSITIVE_INFINITY;
  if (Math.sign(estimate) !== Math.sign(raw)) return Number.POSITIVE_INFINITY;
  return Math.abs(Math.log(estimate / raw));
}

const HALF_BUCKET = Math.log(1.13);

const fixture = loadFixture<{ slower: Sparse; faster: Sparse }>('paired-quantile');

for (const c of fixture.cases) {
  test(`pairedQuantileInterval is within bucket resolution of numpy's quantile: ${c.name}`, () => {
    const histogram = paired(c.inputs.slower, c.inputs.faster);
    for (const [key, raw] of Object.entries(c.expected)) {
      const q = Number(key.slice(1));
      const result = pairedQuantileInterval(histogram, q);
      assert.ok(result.ok);
      assert.equal(result.n, 5000);
      const error = resolutionError(result.estimate, raw, result.belowResolution);
      assert.ok(error <= HALF_BUCKET, `${c.name} ${key}: ${result.estimate} vs numpy ${raw}`);
      assert.equal(result.belowResolution, Math.abs(raw) <= RESOLUTION, `${c.name} ${key} belowResolution`);
      const [lower, upper] = result.confidenceInterval;
      assert.ok(lower <= raw && raw <= upper, `${c.name} ${key}: numpy's ${raw} outside [${lower}, ${upper}]`);
    }
  });
}

test('pairedQuantileInterval: runs all slower (or all faster) by more than 0.05 ms give quantileInterval\'s answer (mirrored)', () => {
  const shapes: Sparse[] = [
    { 24: 60, 25: 40 },
    { 22: 40, 23: 100, 24: 200, 25: 300, 26: 200, 27: 100, 28: 40 },
    { 3: 300, 4: 1700, 5: 30 },
    { 10: 12, 11: 80, 12: 400, 13: 900, 14: 700, 15: 300, 16: 90, 17: 25, 18: 8, 30: 1 },
  ];
  for (const sparse of shapes) {
    for (const q of [0.05, 0.25, 0.5, 0.9, 0.95]) {
      for (const alpha of [0.05, 0.01]) {
        const single = quantileInterval({ bounds, counts: dense(sparse) }, q, { alpha });
        const slower = pairedQuantileInterval(paired(sparse, {}), q, { alpha });
        const faster = pairedQuantileInterval(paired({}, sparse), 1 - q, { alpha });
        assert.ok(single.ok && slower.ok && faster.ok);
        const label = `${JSON.stringify(sparse)} q ${q} alpha ${alpha}`;
        assert.equal(slower.estimate, single.estimate, label);
        assertClose(faster.estimate, -single.estimate, { relative: 1e-12 }, label);
        // Except where the lower rank leaves the data: a duration is at least 0, a difference
        // could be anything.
        const [lower, upper] = single.confidenceInterval;
        const open = single.standardError === Number.POSITIVE_INFINITY && lower === 0;
        assert.deepEqual(slower.confidenceInterval, [open ? Number.NEGATIVE_INFINITY : lower, upper], label);
        // Mirrored, the in-bucket fraction is 1 − f: equal to rounding.
        const [fasterLower, fasterUpper] = faster.confidenceInterval;
        if (upper === Number.POSITIVE_INFINITY) assert.equal(fasterLower, Number.NEGATIVE_INFINITY, label);
        else assertClose(fasterLower, -upper, { relative: 1e-12 }, label);
        if (open) assert.equal(fasterUpper, Number.POSITIVE_INFINITY, label);
        else assertClose(fasterUpper, -lower, { relative: 1e-12 }, label);
      }
    }
  }
});

test('pairedQuantileInterval: a no-op is below resolution, its interval [-0.05, 0.05] ms', () => {
  const result = pairedQuantileInterval(paired({ 0: 2600 }, { 0: 2400 }), 0.95);
  assert.ok(result.ok);
  assert.equal(result.belowResolution, true);
  assert.deepEqual(result.confidenceInterval, [-RESOLUTION, RESOLUTION]);
  assert.ok(result.estimate >= -RESOLUTION && result.estimate <= RESOLUTION);
});

test('pairedQuantileInterval: the signed line runs from the most faster bucket to the most slower one', () => {
  // 400 runs 3.2–4.03 ms faster, 600 runs 2.54–3.2 ms faster: their median is in faster bucket 18.
  const faster = pairedQuantileInterval(paired({}, { 18: 600, 19: 400 }), 0.5);
  assert.ok(faster.ok);
  assertClose(faster.estimate, -(bounds[17]! * STEP ** (5 / 6)), { relative: 1e-12 }, 'estimate');
  assert.deepEqual(faster.confidenceInterval, [-bounds[18]!, -bounds[17]!]);
  // 30 faster, 40 within ±0.05 ms, 30 slower: the median is within resolution.
  const mixed = pairedQuantileInterval(paired({ 0: 20, 20: 30 }, { 0: 20, 20: 30 }), 0.5);
  assert.ok(mixed.ok);
  assert.equal(mixed.belowResolution, true);
  assert.equal(mixed.estimate, 0);
  // The 25th of those 100 runs is among the 30 faster ones; the upper rank, 33.5, is in the
  // centre, so the interval runs from the faster bucket's edge to +0.05 ms.
  const p25 = pairedQuantileInterval(paired({ 0: 20, 20: 30 }, { 0: 20, 20: 30 }), 0.25);
  assert.ok(p25.ok && p25.estimate < -bounds[19]! && p25.estimate > -bounds[20]!);
  assert.equal(p25.belowResolution, false);
  assert.deepEqual(p25.confidenceInterval, [-bounds[20]!, RESOLUTION]);
});

test('pairedQuantileInterval: open buckets and few runs leave the interval unbounded', () => {
  const slowest = pairedQuantileInterval(paired({ 30: 10, 65: 90 }, {}), 0.5);
  assert.ok(slowest.ok);
  assert.equal(slowest.estimate, bounds[64]);
  assert.equal(slowest.confidenceInterval[1], Number.POSITIVE_INFINITY);
  const fastest = pairedQuantileInterval(paired({}, { 30: 10, 65: 90 }), 0.5);
  assert.ok(fastest.ok);
  assert.equal(fastest.estimate, -bounds[64]!);
  assert.equal(fastest.confidenceInterval[0], Number.NEGATIVE_INFINITY);
  const one = pairedQuantileInterval(paired({ 24: 1 }, {}), 0.5);
  assert.ok(one.ok);
  assert.deepEqual(one.confidenceInterval, [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]);
});

test('pairedQuantileInterval: the interval always holds the estimate', () => {
  const histograms: [Sparse, Sparse][] = [
    [{ 24: 1 }, {}],
    [{ 10: 3, 40: 3 }, { 5: 4 }],
    [{ 0: 2, 1: 1, 5: 7 }, { 0: 3, 1: 9 }],
    [{ 20: 5, 21: 50, 22: 500, 23: 50, 24: 5 }, { 20: 5, 21: 50, 22: 500, 23: 50, 24: 5 }],
    [{ 1: 40, 2: 60, 3: 80 }, { 1: 50, 2: 30, 3: 20, 4: 12 }],
  ];
  for (const [slower, faster] of histograms) {
    for (const q of [0.01, 0.3, 0.5, 0.7, 0.95, 0.99]) {
      const result = pairedQuantileInterval(paired(slower, faster), q);
      assert.ok(result.ok);
      const [lower, upper] = result.confidenceInterval;
      assert.ok(lower <= result.estimate && result.estimate <= upper, `${JSON.stringify([slower, faster])} q=${q}`);
    }
  }
});

test('pairedQuantileInterval: no runs cannot compute; bad arguments throw TracksError naming the argument', () => {
  assert.deepEqual(pairedQuantileInterval(paired({}, {}), 0.5), { ok: false, reason: 'histogram has no runs' });
  const good = paired({ 24: 10 }, { 3: 4 });
  const named = (pattern: RegExp) => (e: unknown) => e instanceof TracksError && pattern.test(e.message);
  assert.throws(() => pairedQuantileInterval(good, 0), named(/^q must be strictly between 0 and 1/));
  assert.throws(() => pairedQuantileInterval(good, 1), named(/^q /));
  assert.throws(() => pairedQuantileInterval(good, Number.NaN), named(/^q /));
  assert.throws(() => pairedQuantileInterval(good, 0.5, { alpha: 1 }), named(/alpha/));
  assert.throws(() => pairedQuantileInterval(null as unknown as PairedHistogram, 0.5), named(/histogram must be an object \{ bounds, slower, faster \}/));
  assert.throws(
    () => pairedQuantileInterval({ bounds, slower: [1, 2], faster: dense() }, 0.5),
    named(/histogram\.bounds and histogram\.slower must have the same length, got 66 and 2/),
  );
  assert.throws(
    () => pairedQuantileInterval({ bounds, slower: dense(), faster: [1] }, 0.5),
    named(/histogram\.bounds and histogram\.faster must have the same length/),
  );
  assert.throws(() => pairedQuantileInterval({ bounds: [1], slower: [1], faster: [1] }, 0.5), named(/at least 2 buckets/));
  assert.throws(() => pairedQuantileInterval({ bounds: [1, 1], slower: [1, 1], faster: [0, 0] }, 0.5), named(/histogram\.bounds must increase/));
  for (const bad of [-1, 1.5, Number.NaN]) {
    const counts = dense({ 24: 10 });
    counts[7] = bad;
    assert.throws(() => pairedQuantileInterval({ bounds, slower: counts, faster: dense() }, 0.5), named(/histogram\.slower\[7\] must be a whole number of runs/));
    assert.throws(() => pairedQuantileInterval({ bounds, slower: dense(), faster: counts }, 0.5), named(/histogram\.faster\[7\] must be a whole number of runs/));
  }
});

// ---------------------------------------------------------------------------------------
// Seeded simulations: raw per-run differences counted into the signed histogram.

/** Standard normal draws by the Box–Muller transform, two per pair of uniforms. */
function normals(random: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/** Counts a difference the way the recorder does. */
function record(histogram: { slower: number[]; faster: number[] }, d: number): void {
  if (d >= 0) histogram.slower[latencyBucket(d)]!++;
  else histogram.faster[latencyBucket(-d)]!++;
}

/** E[g(Z)] for a standard normal Z, by the trapezoid rule on [-7.5, 7.5] (g is bounded by 1). */
function expectOverNormal(g: (z: number) => number): number {
  const step = 0.01;
  let sum = 0;
  for (let i = -750; i <= 750; i++) {
    const z = i * step;
    sum += Math.exp(-z * z / 2) * g(z);
  }
  return (sum * step) / Math.sqrt(2 * Math.PI);
}

/** The q quantile of a distribution given by its CDF, by bisection in [-100, 100] ms. */
function quantileOf(cdf: (x: number) => number, q: number): number {
  let low = -100;
  let high = 100;
  for (let i = 0; i < 48; i++) {
    const middle = (low + high) / 2;
    if (cdf(middle) < q) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

/** numpy.quantile(values, q) with its default ('linear') method. */
function numpyQuantile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

interface Shape {
  readonly label: string;
  /** One run's difference, candidate − baseline, in ms. */
  readonly draw: (normal: () => number, random: () => number) => number;
  readonly cdf: (x: number) => number;
}

// The same shapes as the numpy fixture (shadow_reference.py).
const shapes: Shape[] = [
  {
    label: 'faster: baseline lognormal median 20 ms, sigma 0.5; candidate = 0.8 × baseline + N(0, 0.3 ms)',
    draw: (normal) => {
      const baseline = 20 * Math.exp(0.5 * normal());
      return 0.8 * baseline + 0.3 * normal() - baseline;
    },
    cdf: (x) => expectOverNormal((z) => normalCdf((x + 0.2 * 20 * Math.exp(0.5 * z)) / 0.3)),
  },
  {
    label: 'slower: candidate = baseline + lognormal extra (median 2 ms, sigma 0.8) + N(0, 0.1 ms)',
    draw: (normal) => 2 * Math.exp(0.8 * normal()) + 0.1 * normal(),
    cdf: (x) => expectOverNormal((z) => normalCdf((x - 2 * Math.exp(0.8 * z)) / 0.1)),
  },
  {
    label: 'no-op-like: d ~ N(0, 0.02 ms), 2% of runs + lognormal (median 1 ms, sigma 0.5)',
    draw: (normal, random) => 0.02 * normal() + (random() < 0.02 ? Math.exp(0.5 * normal()) : 0),
    cdf: (x) => 0.98 * normalCdf(x / 0.02) + 0.02 * expectOverNormal((z) => normalCdf((x - Math.exp(0.5 * z)) / 0.02)),
  },
];

const SIMULATIONS = 500;
const RUNS = 5000;
const percent = (x: number): string => `${(100 * x).toFixed(1)}%`;

test('simulation: the 95% intervals of p50 and p95 of the differences cover the truth at least 93% of the time; estimates within 13% of numpy\'s', (t) => {
  const quantiles = [0.5, 0.95];
  let seed = 31;
  for (const shape of shapes) {
    const random = seededRandom(seed++);
    const normal = normals(random);
    const truths = quantiles.map((q) => quantileOf(shape.cdf, q));
    const covered = quantiles.map(() => 0);
    const below = quantiles.map(() => 0);
    const worst = quantiles.map(() => 0);
    const raw = new Float64Array(RUNS);
    for (let s = 0; s < SIMULATIONS; s++) {
      const histogram = { slower: emptyHistogram(), faster: emptyHistogram() };
      for (let run = 0; run < RUNS; run++) {
        raw[run] = shape.draw(normal, random);
        record(histogram, raw[run]!);
      }
      raw.sort();
      quantiles.forEach((q, k) => {
        const result = pairedQuantileInterval({ bounds, ...histogram }, q);
        assert.ok(result.ok);
        const [lower, upper] = result.confidenceInterval;
        if (lower <= truths[k]! && truths[k]! <= upper) covered[k]!++;
        if (result.belowResolution) below[k]!++;
        const sample = numpyQuantile(raw, q);
        const error = resolutionError(result.estimate, sample, result.belowResolution);
        assert.ok(error <= HALF_BUCKET, `${shape.label} p${q * 100}: ${result.estimate} vs raw ${sample}`);
        worst[k] = Math.max(worst[k]!, error);
      });
    }
    const coverage = covered.map((c) => c / SIMULATIONS);
    t.diagnostic(
      `${shape.label}, ${RUNS} runs, ${SIMULATIONS} simulations: true p50 ${truths[0]!.toFixed(4)} ms covered ${percent(coverage[0]!)}, ` +
        `true p95 ${truths[1]!.toFixed(4)} ms covered ${percent(coverage[1]!)}; below resolution ${below.map((b) => percent(b / SIMULATIONS)).join(' / ')}; ` +
        `largest error of the estimate vs numpy's quantile of the raw differences ${worst.map((w) => percent(Math.expm1(w))).join(' / ')}`,
    );
    for (const [k, q] of quantiles.entries()) assert.ok(coverage[k]! >= 0.93, `${shape.label}: p${q * 100} coverage ${coverage[k]}`);
  }
});

test('simulation: pairing cancels shared per-request variation: the paired p50 interval is far narrower than the unpaired difference', (t) => {
  // Request size lognormal (sigma 1) sets both paths' duration; the candidate is 5% slower,
  // each path adds 5% noise of its own.
  const random = seededRandom(4242);
  const normal = normals(random);
  const ratios: number[] = [];
  let pairedHolds = 0;
  const REPEATS = 20;
  for (let s = 0; s < REPEATS; s++) {
    const baseline = emptyHistogram();
    const candidate = emptyHistogram();
    const differences = { slower: emptyHistogram(), faster: emptyHistogram() };
    for (let run = 0; run < RUNS; run++) {
      const size = Math.exp(normal());
      const b = 10 * size * Math.exp(0.05 * normal());
      const c = 10.5 * size * Math.exp(0.05 * normal());
      baseline[latencyBucket(b)]!++;
      candidate[latencyBucket(c)]!++;
      record(differences, c - b);
    }
    const pairedResult = pairedQuantileInterval({ bounds, ...differences }, 0.5);
    const unpaired = quantileDifference({ bounds, counts: baseline }, { bounds, counts: candidate }, 0.5);
    assert.ok(pairedResult.ok && unpaired.ok);
    const pairedWidth = pairedResult.confidenceInterval[1] - pairedResult.confidenceInterval[0];
    const unpairedWidth = unpaired.difference.confidenceInterval[1] - unpaired.difference.confidenceInterval[0];
    ratios.push(pairedWidth / unpairedWidth);
    if (pairedResult.confidenceInterval[0] > 0) pairedHolds++;
    if (s === 0) {
      t.diagnostic(
        `first of ${REPEATS}: paired p50 of d ${pairedResult.estimate.toFixed(3)} ms [${pairedResult.confidenceInterval.map((x) => x.toFixed(3)).join(', ')}]; ` +
          `unpaired p50 difference ${unpaired.difference.estimate.toFixed(3)} ms [${unpaired.difference.confidenceInterval.map((x) => x.toFixed(3)).join(', ')}]`,
      );
    }
  }
  const largest = Math.max(...ratios);
  const mean = ratios.reduce((a, b) => a + b, 0) / REPEATS;
  t.diagnostic(
    `${REPEATS} simulations of ${RUNS} runs: paired width / unpaired width mean ${mean.toFixed(3)}, largest ${largest.toFixed(3)}; the paired interval excludes 0 in ${pairedHolds} of ${REPEATS}`,
  );
  assert.ok(largest < 0.5, `width ratio ${largest}`);
  assert.equal(pairedHolds, REPEATS);
});
