/**
 * Latency histogram buckets shared by recording (which counts runs into them) and analysis
 * (which reads quantiles back). Buckets grow by 2^(1/3) (about 26%), so a quantile read from
 * the histogram is within 13% of the true value, from 0.05 ms to 2 minutes in 66 buckets.
 */
import { TracksError } from '../errors.js';

/** Upper bound of the first bucket, in milliseconds. */
const FIRST_BOUND_MS = 0.05;
/** Buckets per doubling. */
const PER_DOUBLING = 3;
/** Number of buckets; the last one also takes everything slower than its bound. */
export const LATENCY_BUCKETS = 66;

/**
 * The upper bound (inclusive) of each bucket in milliseconds: bucket `i` holds durations in
 * (bound[i-1], bound[i]]; bucket 0 holds everything up to 0.05 ms.
 *
 * @example
 * ```ts
 * LATENCY_BUCKET_BOUNDS_MS[latencyBucket(12.5)]; // 12.8: the upper bound of 12.5 ms's bucket
 * ```
 */
export const LATENCY_BUCKET_BOUNDS_MS: readonly number[] = Array.from(
  { length: LATENCY_BUCKETS },
  (_, i) => FIRST_BOUND_MS * 2 ** (i / PER_DOUBLING),
);

/**
 * The bucket a duration in milliseconds falls into.
 *
 * @example
 * ```ts
 * latencyBucket(0.01); // 0 (everything up to 0.05 ms)
 * latencyBucket(12.5); // 24
 * ```
 */
export function latencyBucket(ms: number): number {
  if (typeof ms !== 'number') throw new TracksError(`latencyBucket: the duration is ${ms === null || ms === undefined ? String(ms) : typeof ms === 'object' ? 'an object' : `a ${typeof ms}`}; give milliseconds as a number`);
  if (!(ms > FIRST_BOUND_MS)) return 0;
  const i = Math.ceil(Math.log2(ms / FIRST_BOUND_MS) * PER_DOUBLING - 1e-9);
  return i < LATENCY_BUCKETS ? i : LATENCY_BUCKETS - 1;
}

/** A new histogram of zeros. */
export function emptyHistogram(): number[] {
  return new Array<number>(LATENCY_BUCKETS).fill(0);
}

/** Adds `from` into `into`, bucket by bucket. */
export function addHistogram(into: number[], from: readonly number[]): void {
  for (let i = 0; i < from.length && i < into.length; i++) into[i]! += from[i]!;
}

/**
 * The `q` quantile (0..1) of the durations in a histogram, in milliseconds: the upper bound of
 * the bucket where the cumulative count reaches q, or NaN for an empty histogram.
 *
 * @example
 * ```ts
 * latencyQuantile(sums.health.histogram, 0.99); // p99 in ms
 * ```
 */
export function latencyQuantile(histogram: readonly number[], q: number): number {
  if (!Array.isArray(histogram) && !ArrayBuffer.isView(histogram)) throw new TracksError(`latencyQuantile: the histogram must be an array of counts per bucket (a track's health.histogram), got ${histogram === null ? 'null' : typeof histogram}`);
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) throw new TracksError(`latencyQuantile: q is ${String(q)}; give a quantile from 0 to 1, e.g. 0.99 for p99`);
  let total = 0;
  for (const count of histogram) total += count;
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return LATENCY_BUCKET_BOUNDS_MS[Math.min(i, LATENCY_BUCKETS - 1)]!;
  }
  return LATENCY_BUCKET_BOUNDS_MS[LATENCY_BUCKETS - 1]!;
}

/** A histogram as a sparse object of bucket index to count, the way stores keep it. */
export function sparseHistogram(histogram: readonly number[]): Record<string, number> {
  const sparse: Record<string, number> = {};
  for (let i = 0; i < histogram.length; i++) if (histogram[i]! > 0) sparse[i] = histogram[i]!;
  return sparse;
}
