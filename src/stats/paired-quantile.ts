import { TracksError } from '../errors.js';
import { normalQuantile } from './distributions.js';
import { readAlpha, type Interval } from './inference.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import { assertOpenUnitInterval, assertOptions } from './validate.js';
import { assertBucketBounds, assertRunCounts, readInBucket } from './bucket-shape.js';

/**
 * Per-run latency differences of a shadow candidate, d = candidate ms − baseline ms on the
 * same run, counted into a signed histogram. `bounds` are the buckets' upper bounds for |d|
 * in milliseconds (the recorder's `LATENCY_BUCKET_BOUNDS_MS`, as in a `LatencyHistogram`).
 * `slower[i]` counts runs with d ≥ 0 in bucket `latencyBucket(d)`, `faster[i]` runs with
 * d < 0 in bucket `latencyBucket(−d)`. Bucket 0 of both together holds |d| ≤ 0.05 ms; the
 * last bucket of each side is open-ended.
 *
 * @example
 * ```ts
 * const slower = emptyHistogram();
 * const faster = emptyHistogram();
 * const d = candidateMs - baselineMs; // for each shadow run
 * if (d >= 0) slower[latencyBucket(d)]++; else faster[latencyBucket(-d)]++;
 * const paired: PairedHistogram = { bounds: LATENCY_BUCKET_BOUNDS_MS, slower, faster };
 * ```
 */
export interface PairedHistogram {
  readonly bounds: readonly number[];
  readonly slower: readonly number[];
  readonly faster: readonly number[];
}

/**
 * Options of {@link pairedQuantileInterval}: the interval's level is 1 − `alpha` (default 0.05).
 *
 * @example
 * ```ts
 * const options: PairedQuantileOptions = { alpha: 0.01 };
 * ```
 */
export interface PairedQuantileOptions {
  readonly alpha?: number | undefined;
}

/**
 * Result of {@link pairedQuantileInterval}, in signed milliseconds (negative: the candidate
 * is faster on that share of runs).
 *
 * - `estimate`: the quantile of the differences, interpolated within its bucket; in an open
 *   last bucket, that bucket's finite edge (±132,112 ms for the recorder's buckets).
 * - `confidenceInterval`: sampling error and bucket resolution together; an end is ∓Infinity
 *   when there are too few runs beyond the quantile on that side or it falls in an open
 *   bucket.
 * - `belowResolution`: the quantile falls in [−0.05, 0.05] ms, where the histogram cannot
 *   tell differences apart: show "within ±0.05 ms", not the estimate.
 *
 * @example
 * ```ts
 * const p50 = pairedQuantileInterval(paired, 0.5);
 * if (p50.ok && p50.confidenceInterval[1] < 0) console.log('the candidate is faster on most runs');
 * ```
 */
export interface PairedQuantileResult {
  readonly q: number;
  /** Number of runs in the histogram. */
  readonly n: number;
  readonly estimate: number;
  readonly confidenceInterval: Interval;
  readonly belowResolution: boolean;
}

/**
 * The `q` quantile of per-run latency differences (candidate − baseline on the same run) with
 * a distribution-free confidence interval, in signed milliseconds.
 *
 * The method is {@link quantileInterval}'s, on a signed line: the faster buckets from the
 * largest |d| down to the smallest, mirrored to negative values, then the two innermost
 * buckets together as [−0.05, 0.05] ms (read as uniform there), then the slower buckets
 * upward. Within any other bucket, ln |d| has the density of its side's neighbouring buckets
 * (exponential with their slope, uniform where a neighbour holds fewer than 10 runs or the
 * counts bend too sharply). Woodruff's (1952) ranks n·q ± z·√(n·q·(1 − q)) bracket the
 * quantile with probability about 1 − alpha; their values are read back from the same
 * interpolation and widened by the bucket-resolution margin in quadrature, never past the
 * edge of their bucket, and are that edge where the bucket's shape is unknown. On runs that
 * are all slower (or all faster) by more than 0.05 ms it gives quantileInterval's answer
 * (mirrored). Pairing removes what both paths share on a run (payload size, cache state,
 * load), so the interval is far narrower than one built from the two paths' own quantiles:
 * docs/statistics.md, "Shadow comparisons". Cannot compute for an empty histogram.
 *
 * @example
 * ```ts
 * const faster = new Array(66).fill(0);
 * faster[18] = 600; faster[19] = 400; // 600 runs 2.54–3.2 ms faster, 400 3.2–4.03 ms faster
 * const paired = { bounds: LATENCY_BUCKET_BOUNDS_MS, slower: new Array(66).fill(0), faster };
 * const result = pairedQuantileInterval(paired, 0.5);
 * if (result.ok) result.estimate; // −3.08 ms, interval [−3.2, −2.54]: the edges of faster bucket 18
 * ```
 */
export function pairedQuantileInterval(
  histogram: PairedHistogram,
  q: number,
  options: PairedQuantileOptions = {},
): StatResult<PairedQuantileResult> {
  assertOptions('pairedQuantileInterval', options);
  assertOpenUnitInterval('q', q);
  const alpha = readAlpha(options.alpha, 'pairedQuantileInterval');
  const h = readPairedHistogram('histogram', histogram);
  if (h.n === 0) return cannotCompute('histogram has no runs');
  const z = normalQuantile(1 - alpha / 2);
  const rank = q * h.n;
  const spread = z * Math.sqrt(h.n * q * (1 - q));
  const middle = readRank(h, rank);
  const estimate = middle.value;
  const low = rank - spread > 0 ? readRank(h, rank - spread) : undefined;
  const high = rank + spread <= h.n ? readRank(h, rank + spread) : undefined;
  return computed({
    q,
    n: h.n,
    estimate,
    confidenceInterval: [lowerEnd(h, estimate, low), upperEnd(h, estimate, high)] as const,
    belowResolution: middle.bucket === h.centre,
  });
}

/**
 * A paired histogram checked and laid out on the signed line: bucket k < L is faster bucket
 * L − k, k = L is the centre (both buckets 0), k > L is slower bucket k − L, where L is the
 * index of the last bucket. `below[k]` runs are in buckets before k.
 */
interface SignedHistogram {
  readonly bounds: readonly number[];
  readonly slower: readonly number[];
  readonly faster: readonly number[];
  readonly centre: number;
  readonly counts: readonly number[];
  readonly below: readonly number[];
  readonly n: number;
}

function readPairedHistogram(name: string, histogram: PairedHistogram): SignedHistogram {
  if (
    histogram === null ||
    typeof histogram !== 'object' ||
    !Array.isArray(histogram.bounds) ||
    !Array.isArray(histogram.slower) ||
    !Array.isArray(histogram.faster)
  ) {
    throw new TracksError(`${name} must be an object { bounds, slower, faster } of three arrays`);
  }
  const { bounds, slower, faster } = histogram;
  assertBucketBounds(name, bounds);
  assertRunCounts(name, 'slower', slower, bounds.length);
  assertRunCounts(name, 'faster', faster, bounds.length);
  const centre = bounds.length - 1;
  const counts: number[] = [];
  for (let i = centre; i >= 1; i--) counts.push(faster[i]!);
  counts.push(faster[0]! + slower[0]!);
  for (let i = 1; i <= centre; i++) counts.push(slower[i]!);
  const below: number[] = [];
  let n = 0;
  for (const count of counts) {
    below.push(n);
    n += count;
  }
  return { bounds, slower, faster, centre, counts, below, n };
}

/**
 * What the histogram says about the run at a (fractional) rank in 0 < rank <= n: its signed
 * bucket, its interpolated difference, and, where the bucket's shape could be estimated, the
 * resolution margin of that difference (in units of ln |d|).
 */
interface RankReading {
  readonly bucket: number;
  readonly value: number;
  readonly margin: number | undefined;
}

function readRank(h: SignedHistogram, rank: number): RankReading {
  // The first occupied bucket whose cumulative count reaches the rank.
  let k = 0;
  while (k < h.counts.length - 1 && (h.counts[k] === 0 || h.below[k]! + h.counts[k]! < rank)) k++;
  const fraction = Math.min(1, Math.max(0, (rank - h.below[k]!) / h.counts[k]!));
  const width = h.bounds[0]!;
  if (k === h.centre) return { bucket: k, value: width * (2 * fraction - 1), margin: undefined };
  if (k > h.centre) {
    const side = readInBucket(h.bounds, h.slower, k - h.centre, fraction);
    return { bucket: k, value: side.value, margin: side.margin };
  }
  // Faster: the signed line runs from the largest |d| down, so a fraction f of the way along
  // the bucket is 1 − f of the way up in |d|.
  const side = readInBucket(h.bounds, h.faster, h.centre - k, 1 - fraction);
  return { bucket: k, value: -side.value, margin: side.margin };
}

function lowerEdge(h: SignedHistogram, k: number): number {
  if (k === h.centre) return -h.bounds[0]!;
  if (k > h.centre) return h.bounds[k - h.centre - 1]!;
  return k === 0 ? Number.NEGATIVE_INFINITY : -h.bounds[h.centre - k]!;
}

function upperEdge(h: SignedHistogram, k: number): number {
  if (k === h.centre) return h.bounds[0]!;
  if (k < h.centre) return -h.bounds[h.centre - k - 1]!;
  return k === h.counts.length - 1 ? Number.POSITIVE_INFINITY : h.bounds[k - h.centre]!;
}

// An interval end, as in quantile-interval.ts: the sampling spread and the resolution margin
// in quadrature, never past the edge of the end's bucket, and that edge where the bucket's
// shape is unknown. When the end and the estimate are on the same side of 0 both are in
// ln |d| (exactly quantileInterval's ends, mirrored on the faster side); when the interval
// crosses 0, in milliseconds, the margin taken as |x|·(e^m − 1).
function lowerEnd(h: SignedHistogram, estimate: number, low: RankReading | undefined): number {
  if (low === undefined) return Number.NEGATIVE_INFINITY;
  const edge = lowerEdge(h, low.bucket);
  if (low.margin === undefined) return edge;
  const x = low.value;
  let end: number;
  if (estimate > 0 && x > 0) end = estimate * Math.exp(-Math.hypot(Math.log(estimate / x), low.margin));
  else if (estimate < 0 && x < 0) end = estimate * Math.exp(Math.hypot(Math.log(x / estimate), low.margin));
  else end = estimate - Math.hypot(estimate - x, Math.abs(x) * Math.expm1(low.margin));
  return Math.max(edge, end);
}

function upperEnd(h: SignedHistogram, estimate: number, high: RankReading | undefined): number {
  if (high === undefined) return Number.POSITIVE_INFINITY;
  const edge = upperEdge(h, high.bucket);
  if (high.margin === undefined) return edge;
  const x = high.value;
  let end: number;
  if (estimate > 0 && x > 0) end = estimate * Math.exp(Math.hypot(Math.log(x / estimate), high.margin));
  else if (estimate < 0 && x < 0) end = estimate * Math.exp(-Math.hypot(Math.log(estimate / x), high.margin));
  else end = estimate + Math.hypot(x - estimate, Math.abs(x) * Math.expm1(high.margin));
  return Math.min(edge, end);
}
