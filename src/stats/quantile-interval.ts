import { TracksError } from '../errors.js';
import { normalQuantile } from './distributions.js';
import { readAlpha, type Interval } from './inference.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import { assertOpenUnitInterval, assertOptions } from './validate.js';
import { assertBucketBounds, assertRunCounts, readInBucket } from './bucket-shape.js';

/**
 * Run durations counted into buckets, as tracks records them per track and minute. `bounds`
 * are the buckets' upper bounds in milliseconds, strictly increasing; bucket `i` holds
 * durations in (bounds[i-1], bounds[i]], bucket 0 holds (0, bounds[0]], and the last bucket
 * is open-ended: it also holds everything slower than its lower bound, so its own bound is
 * never used. Pass the recorder's `LATENCY_BUCKET_BOUNDS_MS` with a track's summed counts.
 *
 * @example
 * ```ts
 * const histogram: LatencyHistogram = { bounds: LATENCY_BUCKET_BOUNDS_MS, counts: sums.histogram };
 * ```
 */
export interface LatencyHistogram {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
}

/**
 * Options of {@link quantileInterval}: the interval's level is 1 − `alpha` (default 0.05).
 *
 * @example
 * ```ts
 * const options: QuantileIntervalOptions = { alpha: 0.01 };
 * ```
 */
export interface QuantileIntervalOptions {
  readonly alpha?: number | undefined;
}

/**
 * Result of {@link quantileInterval}, in milliseconds.
 *
 * - `estimate`: the quantile, interpolated within its bucket (see docs/statistics.md).
 * - `standardError`: the interval's width over 2z, sampling error and bucket resolution
 *   together; `Infinity` when there are too few runs to bound the quantile on both sides.
 *   Comparisons of two tracks use the interval's two ends, each as its own standard error.
 * - `confidenceInterval`: sampling error and bucket resolution together. The lower bound is
 *   0 when it falls in the first bucket; the upper bound is `Infinity` when there are too
 *   few runs above the quantile or it falls in the open last bucket.
 * - `bucket`: the bounds of the bucket the quantile falls in.
 * - `belowResolution`: the quantile falls in the first bucket, so it is only known to be at
 *   most `bucket[1]` (0.05 ms for tracks' histograms): show "< 0.05 ms", not the estimate.
 * - `aboveRange`: the quantile falls in the open last bucket, so it is only known to exceed
 *   `bucket[0]`, which is then the estimate.
 *
 * @example
 * ```ts
 * const p95 = quantileInterval(histogram, 0.95);
 * if (p95.ok) console.log(p95.belowResolution ? `< ${p95.bucket[1]} ms` : `${p95.estimate} ms`);
 * ```
 */
export interface QuantileIntervalResult {
  readonly q: number;
  /** Number of runs in the histogram. */
  readonly n: number;
  readonly estimate: number;
  readonly standardError: number;
  readonly confidenceInterval: Interval;
  readonly bucket: Interval;
  readonly belowResolution: boolean;
  readonly aboveRange: boolean;
}

/**
 * The `q` quantile of the runs in a latency histogram with a distribution-free confidence
 * interval, in milliseconds.
 *
 * The estimate reads the histogram as a distribution: within a bucket, log-duration has a
 * density that is exponential with the slope of the neighbouring buckets' counts (uniform
 * where a neighbour holds fewer than 10 runs or the counts bend too sharply for a slope to
 * describe the bucket, linear from 0 in the first bucket). The interval is Woodruff's
 * (1952): the number of runs below the true quantile is binomial(n, q), so the runs at ranks
 * n·q ± z·√(n·q·(1 − q)) bracket it with probability about 1 − alpha, and their durations
 * are read back from the same interpolation. Each end is then widened by a bucket-resolution
 * margin, added in quadrature, but never past the edge of its bucket, where the run at that
 * rank is sure to lie; where the bucket's shape is unknown, the end is that edge. The
 * standard error is the interval's half-width over z. Method, margin and measured coverage:
 * docs/statistics.md, "Latency quantiles". Cannot compute for an empty histogram.
 *
 * @example
 * ```ts
 * const counts = new Array(66).fill(0);
 * counts[24] = 60; counts[25] = 40; // 60 runs in (10.16, 12.8] ms, 40 in (12.8, 16.13] ms
 * const result = quantileInterval({ bounds: LATENCY_BUCKET_BOUNDS_MS, counts }, 0.5);
 * if (result.ok) result.estimate; // 12.32 ms, interval [10.16, 12.8]: the edges of bucket 24
 * ```
 */
export function quantileInterval(
  histogram: LatencyHistogram,
  q: number,
  options: QuantileIntervalOptions = {},
  name = 'histogram',
): StatResult<QuantileIntervalResult> {
  assertOptions('quantileInterval', options);
  assertOpenUnitInterval('q', q);
  const alpha = readAlpha(options.alpha, 'quantileInterval');
  const h = readHistogram(name, histogram);
  if (h.n === 0) return cannotCompute(`${name} has no runs`);
  const last = h.counts.length - 1;
  const z = normalQuantile(1 - alpha / 2);
  const rank = q * h.n;
  const spread = z * Math.sqrt(h.n * q * (1 - q));
  const middle = readRank(h, rank);
  const bucket: Interval = [lowerEdge(h, middle.index), upperEdge(h, middle.index)];
  const aboveRange = middle.index === last;
  // Nothing is known within the open bucket but its lower bound.
  const estimate = aboveRange ? bucket[0] : middle.value;
  const low = rank - spread > 0 ? readRank(h, rank - spread) : undefined;
  const high = rank + spread <= h.n ? readRank(h, rank + spread) : undefined;
  const confidenceInterval: Interval = [lowerEnd(h, estimate, low), upperEnd(h, estimate, high)];
  const standardError =
    low === undefined || high === undefined || high.index === last || aboveRange
      ? Number.POSITIVE_INFINITY
      : (confidenceInterval[1] - confidenceInterval[0]) / (2 * z);
  return computed({
    q,
    n: h.n,
    estimate,
    standardError,
    confidenceInterval,
    bucket,
    belowResolution: middle.index === 0,
    aboveRange,
  });
}

/**
 * Whether the shape of the bucket holding the `q` quantile is known (its neighbours give a
 * slope): then the estimate is placed within the bucket; otherwise only the bucket is known,
 * and its edges are bounds, not distances (see quantileDifference).
 */
export function quantileShapeKnown(histogram: LatencyHistogram, q: number): boolean {
  const h = readHistogram('histogram', histogram);
  return h.n > 0 && readRank(h, q * h.n).margin !== undefined;
}

/** A histogram checked and with running totals: `below[i]` runs are in buckets before i. */
interface ReadHistogram {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly below: readonly number[];
  readonly n: number;
}

/** Checks a histogram argument, naming it in errors. */
function readHistogram(name: string, histogram: LatencyHistogram): ReadHistogram {
  if (histogram === null || typeof histogram !== 'object' || !Array.isArray(histogram.bounds) || !Array.isArray(histogram.counts)) {
    throw new TracksError(`${name} must be an object { bounds, counts } of two arrays`);
  }
  const { bounds, counts } = histogram;
  if (bounds.length !== counts.length) {
    throw new TracksError(
      `${name}.bounds and ${name}.counts must have the same length, got ${bounds.length} and ${counts.length}`,
    );
  }
  assertBucketBounds(name, bounds);
  assertRunCounts(name, 'counts', counts, bounds.length);
  const below: number[] = [];
  let n = 0;
  for (const count of counts) {
    below.push(n);
    n += count;
  }
  return { bounds, counts, below, n };
}

/**
 * What the histogram says about the run at a (fractional) rank in 0 < rank <= n: its bucket,
 * its interpolated duration, and, where the bucket's shape could be estimated, the
 * resolution margin of that duration (log units).
 */
interface RankReading {
  readonly index: number;
  readonly value: number;
  readonly margin: number | undefined;
}

/** Reads a rank through the interpolated distribution. */
function readRank(h: ReadHistogram, rank: number): RankReading {
  // The first occupied bucket whose cumulative count reaches the rank.
  let i = 0;
  while (i < h.counts.length - 1 && (h.counts[i] === 0 || h.below[i]! + h.counts[i]! < rank)) i++;
  const fraction = Math.min(1, Math.max(0, (rank - h.below[i]!) / h.counts[i]!));
  if (i === 0) return { index: 0, value: h.bounds[0]! * fraction, margin: undefined };
  return { index: i, ...readInBucket(h.bounds, h.counts, i, fraction) };
}

function lowerEdge(h: ReadHistogram, index: number): number {
  return index === 0 ? 0 : h.bounds[index - 1]!;
}

function upperEdge(h: ReadHistogram, index: number): number {
  return index === h.counts.length - 1 ? Number.POSITIVE_INFINITY : h.bounds[index]!;
}

// An interval end: the sampling half-width (log units, from the estimate) and the resolution
// margin combined in quadrature, never past the edge of the end's bucket. Where the shape of
// the bucket is unknown, the edge itself: the run at that rank lies in the bucket, nothing more
// is known. The run at the lower rank is at least its bucket's lower edge whatever the
// interpolation says, so the edge is a bound that needs no assumption about the shape.
function lowerEnd(h: ReadHistogram, estimate: number, low: RankReading | undefined): number {
  if (low === undefined) return 0;
  const edge = lowerEdge(h, low.index);
  if (low.margin === undefined || !(estimate > 0)) return edge;
  const spread = Math.log(estimate / low.value);
  return Math.max(edge, estimate * Math.exp(-Math.hypot(spread, low.margin)));
}

function upperEnd(h: ReadHistogram, estimate: number, high: RankReading | undefined): number {
  if (high === undefined) return Number.POSITIVE_INFINITY;
  const edge = upperEdge(h, high.index);
  if (high.margin === undefined || !(estimate > 0)) return edge;
  const spread = Math.log(high.value / estimate);
  return Math.min(edge, estimate * Math.exp(Math.hypot(spread, high.margin)));
}
