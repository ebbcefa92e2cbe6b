import { TracksError } from '../errors.js';
import { assertFiniteNumber } from './validate.js';

/**
 * Reading a duration back from a latency histogram's bucket, shared by `quantileInterval`
 * (durations) and `pairedQuantileInterval` (magnitudes of per-run differences): the buckets
 * are geometric, so within a bucket the log of the value has a density that is exponential
 * with the slope of the neighbouring buckets' log densities, or uniform where that slope
 * cannot be trusted. docs/statistics.md, "Latency quantiles", gives the method and its margin.
 */

/**
 * A neighbour needs this many runs for its log density to count in a slope: with c runs the
 * log of its count is off by about 1/√c, ±0.3 at 10, while a neighbour of 1 or 2 runs makes
 * the slope whatever chance made it.
 */
const MIN_NEIGHBOUR_RUNS = 10;

/**
 * The largest |curvature|·w² of the log density for which a bucket's shape is used. The
 * margin's curvature term is a first-order bound; it holds while the log density departs from
 * a straight line across the bucket by at most |κ|·w²/8 = 1/2. A peak narrower than a bucket
 * (a spin loop: every run within a few percent) bends it far more, and the neighbours then
 * say nothing about where in the bucket the runs are.
 */
const MAX_CURVATURE = 4;

/**
 * Slope and curvature of the log-density of log-value at bucket `i`, from the log densities
 * (count / log-width) of it and its two neighbours at their centres, by divided differences.
 * Undefined, so that the bucket is read log-linearly and an interval end in it is its edge,
 * when a neighbour holds fewer than {@link MIN_NEIGHBOUR_RUNS} runs, is the first bucket (not
 * geometric) or is the open last bucket, and when the curvature exceeds {@link MAX_CURVATURE}.
 */
function bucketShape(bounds: readonly number[], counts: readonly number[], i: number): { slope: number; curvature: number } | undefined {
  if (i < 2 || i > counts.length - 3) return undefined;
  if (counts[i - 1]! < MIN_NEIGHBOUR_RUNS || counts[i + 1]! < MIN_NEIGHBOUR_RUNS) return undefined;
  const centre: number[] = [];
  const logDensity: number[] = [];
  for (let j = i - 1; j <= i + 1; j++) {
    const low = Math.log(bounds[j - 1]!);
    const width = Math.log(bounds[j]!) - low;
    centre.push(low + width / 2);
    logDensity.push(Math.log(counts[j]! / width));
  }
  const [x0, x1, x2] = centre as [number, number, number];
  const [l0, l1, l2] = logDensity as [number, number, number];
  const curvature = (2 * ((l2 - l1) / (x2 - x1) - (l1 - l0) / (x1 - x0))) / (x2 - x0);
  const width = Math.log(bounds[i]! / bounds[i - 1]!);
  if (Math.abs(curvature) * width ** 2 > MAX_CURVATURE) return undefined;
  return { slope: (l2 - l0) / (x2 - x0), curvature };
}

/**
 * The value a `fraction` of the way (by runs) up bucket `i` (1 <= i; the first bucket is not
 * geometric and is read by the caller), and, where the bucket's shape is known, the resolution
 * margin of that value in log units. The open last bucket gives its lower bound.
 */
export function readInBucket(bounds: readonly number[], counts: readonly number[], i: number, fraction: number): { value: number; margin: number | undefined } {
  if (i === counts.length - 1) return { value: bounds[i - 1]!, margin: undefined };
  const lower = Math.log(bounds[i - 1]!);
  const width = Math.log(bounds[i]!) - lower;
  const plain = fraction * width;
  const shape = bucketShape(bounds, counts, i);
  if (shape === undefined) return { value: Math.exp(lower + plain), margin: undefined };
  const { slope, curvature } = shape;
  // Within the bucket log-value has density ∝ exp(slope·u), u in [0, width]; invert its
  // cumulative share (e^{slope·u} − 1)/(e^{slope·width} − 1) = fraction.
  const shaped = Math.abs(slope * width) < 1e-9 ? plain : Math.log1p(fraction * Math.expm1(slope * width)) / slope;
  // The margin: the first-order correction just made (trusted no further than its own size)
  // plus the largest error the curvature, left uncorrected, causes in a bucket: |κ|·w³/(72√3).
  const margin = Math.abs(shaped - plain) + (Math.abs(curvature) * width ** 3) / (72 * Math.sqrt(3));
  return { value: Math.exp(lower + shaped), margin };
}

/** Checks a histogram's bucket bounds (positive, increasing, at least 2), naming the argument. */
export function assertBucketBounds(name: string, bounds: readonly number[]): void {
  if (bounds.length < 2) throw new TracksError(`${name} must have at least 2 buckets, got ${bounds.length}`);
  for (let i = 0; i < bounds.length; i++) {
    const bound = bounds[i]!;
    assertFiniteNumber(`${name}.bounds[${i}]`, bound);
    if (!(bound > (i === 0 ? 0 : bounds[i - 1]!))) {
      throw new TracksError(
        i === 0
          ? `${name}.bounds[0] must be positive, got ${bound}`
          : `${name}.bounds must increase: ${name}.bounds[${i}] is ${bound}, not above ${bounds[i - 1]}`,
      );
    }
  }
}

/** Checks one array of run counts (whole numbers, one per bucket), naming the argument. */
export function assertRunCounts(name: string, side: string, counts: readonly number[], buckets: number): void {
  if (counts.length !== buckets) {
    throw new TracksError(`${name}.bounds and ${name}.${side} must have the same length, got ${buckets} and ${counts.length}`);
  }
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
      throw new TracksError(`${name}.${side}[${i}] must be a whole number of runs, got ${String(count)}`);
    }
  }
}
