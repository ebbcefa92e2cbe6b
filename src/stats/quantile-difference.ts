import { normalQuantile, normalSf, SMALLEST_PROBABILITY } from './distributions.js';
import {
  readAlpha,
  readAlternative,
  type Alternative,
  type Estimate,
  type InferenceOptions,
  type Interval,
} from './inference.js';
import {
  quantileInterval,
  quantileShapeKnown,
  type LatencyHistogram,
  type QuantileIntervalResult,
} from './quantile-interval.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import { assertOptions } from './validate.js';

/**
 * Options of {@link quantileDifference}: significance level (default 0.05) and alternative
 * (default two-sided; `'greater'` asks whether the treatment is slower).
 *
 * @example
 * ```ts
 * const options: QuantileDifferenceOptions = { alpha: 0.05, alternative: 'greater' };
 * ```
 */
export type QuantileDifferenceOptions = InferenceOptions;

/**
 * The ratio of two quantiles, treatment / control, with its confidence interval and p-value
 * against "no change" (a ratio of 1). The interval is built on the log scale, and
 * `logStandardError` is the standard error of the log of the ratio on the interval's side
 * facing 1.
 *
 * @example
 * ```ts
 * const slower: QuantileRatio = {
 *   estimate: 1.2, logStandardError: 0.02, confidenceInterval: [1.154, 1.248], pValue: 1e-12,
 * };
 * ```
 */
export interface QuantileRatio {
  readonly estimate: number;
  readonly logStandardError: number;
  readonly confidenceInterval: Interval;
  readonly pValue: number;
}

/**
 * Result of {@link quantileDifference}: both tracks' quantiles, the difference treatment −
 * control in milliseconds, and the ratio treatment / control, which cannot be computed when
 * either quantile, or either interval's lower end, is below the histogram's resolution.
 * The difference's `standardError` (the ratio's `logStandardError`) is that of the interval's
 * side facing "no change" (its distance / z).
 *
 * @example
 * ```ts
 * const result = quantileDifference(control, treatment, 0.95);
 * if (result.ok && result.difference.pValue < 0.05 && result.difference.estimate > 0) {
 *   console.warn('p95 is slower than the baseline');
 * }
 * ```
 */
export interface QuantileDifferenceResult {
  readonly q: number;
  readonly control: QuantileIntervalResult;
  readonly treatment: QuantileIntervalResult;
  readonly difference: Estimate;
  readonly ratio: StatResult<QuantileRatio>;
}

/**
 * Compares the `q` quantile of two independent tracks' latency histograms. Each quantile and
 * its interval come from {@link quantileInterval}, sampling error and bucket resolution
 * together. The difference t − c is built from the two intervals end by end (MOVER, Zou and
 * Donner 2008): its lower bound is d − √((t − t_lower)² + (c_upper − c)²) and its upper bound
 * d + √((t_upper − t)² + (c − c_lower)²), so each end's distance from its estimate counts as
 * a standard error (distance / z); except that where the shape of a quantile's bucket is
 * unknown (the quantile may lie anywhere in it), an end's distance up to the bucket's edge is a
 * bound and adds linearly, so a side whose end is that edge gives t_lower − c_upper exactly
 * (open, the next number inward, where t_lower is a bucket's lower edge).
 * The ratio t/c is built the same way on the log scale. The
 * p-value is the smallest level whose interval excludes "no change" (the intervals inverted):
 * it does not depend on `alpha`, p < alpha exactly when the interval at alpha excludes it, and
 * when the two tracks' own intervals do not overlap, it does. At least 1e-12. Intervals use
 * the normal law.
 *
 * Cannot compute when a histogram is empty, when a track has too few runs to bound its
 * quantile on both sides (about 3.84·q/(1 − q) runs: 73 for p95, 381 for p99), or when a
 * quantile falls in the open last bucket.
 *
 * @example
 * ```ts
 * const bounds = LATENCY_BUCKET_BOUNDS_MS;
 * const control = new Array(66).fill(0);
 * control[24] = 600; control[25] = 400;
 * const treatment = new Array(66).fill(0);
 * treatment[25] = 600; treatment[26] = 400; // every run one bucket slower
 * const result = quantileDifference({ bounds, counts: control }, { bounds, counts: treatment }, 0.5);
 * // Each median is only known to lie in its bucket, [10.16, 12.8] and [12.8, 16.13] ms:
 * if (result.ok) result.difference.estimate; // 3.20 ms (12.32 → 15.52), interval (0, 5.97]
 * if (result.ok && result.ratio.ok) result.ratio.estimate; // 1.26 (2^(1/3)), (1, 1.59]
 * // p = 2.5e-10: the medians lie in different buckets unless ~100 of 1,000 ranks move
 * ```
 */
export function quantileDifference(
  control: LatencyHistogram,
  treatment: LatencyHistogram,
  q: number,
  options: QuantileDifferenceOptions = {},
): StatResult<QuantileDifferenceResult> {
  assertOptions('quantileDifference', options);
  const alpha = readAlpha(options.alpha, 'quantileDifference');
  const alternative = readAlternative(options.alternative);
  const at = compareAt(control, treatment, q, alpha, alternative);
  if (!at.ok) return at;
  // The p-values: the smallest level whose interval excludes "no change" (see invertedPValue).
  // One-sided intervals are open on the far side: 'greater' excludes by its lower end only.
  const excluded = (pick: (r: Comparison) => Interval | undefined, none: number) => (level: number) => {
    const r = compareAt(control, treatment, q, level, alternative);
    const interval = r.ok ? pick(r) : undefined; // not computable at this level: nothing excluded
    return interval !== undefined && ((alternative !== 'less' && interval[0] > none) || (alternative !== 'greater' && interval[1] < none));
  };
  const difference = { ...at.difference, pValue: invertedPValue(excluded((r) => r.difference.confidenceInterval, 0)) };
  const ratio: StatResult<QuantileRatio> = at.ratio.ok
    ? computed({ ...withoutOk(at.ratio), pValue: invertedPValue(excluded((r) => (r.ratio.ok ? r.ratio.confidenceInterval : undefined), 1)) })
    : at.ratio;
  return computed({ q, control: at.control, treatment: at.treatment, difference, ratio });
}

/** One level's comparison, with normal-law p-values that hold at that level only (quantileDifference replaces them). */
interface Comparison {
  readonly control: QuantileIntervalResult;
  readonly treatment: QuantileIntervalResult;
  readonly difference: Estimate;
  readonly ratio: StatResult<QuantileRatio>;
}

/** A flag per end of an interval: [lower, upper]. */
type Ends = readonly [boolean, boolean];

/**
 * A track's quantile with, per end of its interval, how much of that end's distance is a bound
 * rather than a distance: when the shape of the quantile's bucket is unknown, the quantile may
 * lie anywhere in its bucket, so the distance to the bucket's edge is a bound (it adds up
 * linearly); what lies beyond the edge is the sampling's (in quadrature). The shape is a
 * property of the histogram, not of the level asked for, so the intervals stay nested.
 */
interface Reading extends QuantileIntervalResult {
  /** Per end [lower, upper]: the part of its distance from the estimate that is a bound. */
  readonly bound: readonly [number, number];
  /** Whether each end is its own bucket's edge. */
  readonly atEdge: Ends;
}

function reading(result: QuantileIntervalResult, shapeKnown: boolean): Reading {
  const [lower, upper] = result.confidenceInterval;
  const [bucketLow, bucketHigh] = result.bucket;
  const below = result.estimate - lower;
  const above = upper - result.estimate;
  return {
    ...result,
    bound: shapeKnown ? [0, 0] : [Math.min(below, result.estimate - bucketLow), Math.min(above, bucketHigh - result.estimate)],
    atEdge: [lower === bucketLow, upper === bucketHigh],
  };
}

/**
 * How far one side of a comparison's interval reaches from its estimate, from the two track
 * ends it is made of (one of each track's): the bound parts added up (both quantiles may sit
 * at the far edges of their buckets at once), the rest (sampling error and resolution margin)
 * in quadrature, as MOVER does.
 */
function reach(parts: ReadonlyArray<readonly [distance: number, bound: number]>): number {
  let bounds = 0;
  let squares = 0;
  for (const [distance, bound] of parts) {
    bounds += bound;
    squares += (distance - bound) ** 2;
  }
  return bounds + Math.sqrt(squares);
}

/**
 * The p-value of "no change": the smallest level alpha at which the comparison's interval
 * excludes it. A histogram's interval has a part from bucket resolution that does not shrink
 * as the level grows, so the normal-law p-value read off one level's interval is a p-value at
 * that level only (p = 0.306 at alpha 0.05 and 0.149 at 0.3 for the same data); inverting the
 * family of intervals gives one that does not depend on the alpha asked for, and is below
 * alpha exactly when the interval at alpha excludes "no change". The intervals narrow as the
 * level grows, so bisection on log(alpha) finds it, to 1e-9 relative; 1 when no level up to
 * 0.999 excludes it, and {@link SMALLEST_P} when even that level does.
 */
function invertedPValue(excludedAt: (alpha: number) => boolean): number {
  let low = Math.log(SMALLEST_P);
  let high = Math.log(0.999);
  if (excludedAt(SMALLEST_P)) return SMALLEST_P;
  if (!excludedAt(0.999)) return 1;
  while (high - low > 1e-9) {
    const middle = (low + high) / 2;
    if (excludedAt(Math.exp(middle))) high = middle;
    else low = middle;
  }
  return Math.exp(high);
}

/** The smallest p-value quantileDifference gives: beyond it, no level's interval includes "no change". */
const SMALLEST_P = 1e-12;

/** The comparison at one level. */
function compareAt(
  control: LatencyHistogram,
  treatment: LatencyHistogram,
  q: number,
  alpha: number,
  alternative: Alternative,
): StatResult<Comparison> {
  const cq = quantileInterval(control, q, { alpha }, 'control');
  const tq = quantileInterval(treatment, q, { alpha }, 'treatment');
  if (!cq.ok) return cq;
  if (!tq.ok) return tq;
  const [c, t] = [reading(cq, quantileShapeKnown(control, q)), reading(tq, quantileShapeKnown(treatment, q))];
  const label = quantileLabel(q);
  for (const [name, result] of [['control', c], ['treatment', t]] as const) {
    if (result.aboveRange) {
      return cannotCompute(`the ${label} of ${name} is above the histogram's range (> ${result.bucket[0]} ms)`);
    }
    if (!Number.isFinite(result.standardError)) {
      return cannotCompute(`${name} has too few runs (${result.n}) to bound its ${label}`);
    }
  }
  // Each track's interval, end by end: how far below and above its estimate the quantile may
  // lie, sampling error and resolution together; a side's reach over z is its standard error.
  const z = normalQuantile(1 - alpha / 2);
  // A side with an edge in it is exactly the two tracks' ends apart (a sure bound plus the
  // other end, or two bounds), lt − uc or ut − lc; open where the track end it subtracts from is
  // a bucket's lower edge (runs lie above it), so touching "no change" there excludes it.
  const exact: Ends = [t.atEdge[0] && t.bound[0] > 0 || c.atEdge[1] && c.bound[1] > 0, t.atEdge[1] && t.bound[1] > 0 || c.atEdge[0] && c.bound[0] > 0];
  const open: Ends = [exact[0] && isLowerEdge(t.confidenceInterval[0], treatment.bounds), exact[1] && isLowerEdge(c.confidenceInterval[0], control.bounds)];
  const estimate = t.estimate - c.estimate;
  const difference = withEdges(
    moverEstimate(
      estimate,
      reach([[t.estimate - t.confidenceInterval[0], t.bound[0]], [c.confidenceInterval[1] - c.estimate, c.bound[1]]]) / z,
      reach([[t.confidenceInterval[1] - t.estimate, t.bound[1]], [c.estimate - c.confidenceInterval[0], c.bound[0]]]) / z,
      alpha,
      alternative,
    ),
    alternative,
    exact,
    open,
    [t.confidenceInterval[0] - c.confidenceInterval[1], t.confidenceInterval[1] - c.confidenceInterval[0]],
  );
  return computed({
    control: withoutOk(cq),
    treatment: withoutOk(tq),
    difference,
    ratio: quantileRatio(c, t, label, z, alpha, alternative, exact, open),
  });
}

/**
 * A two-sided interval's side with a bucket edge in it is that side exactly (lt − uc, or
 * ut − lc), not the same number through a sum of distances and its rounding; an open one is
 * given as the next number inward: tracks a bucket apart give a lower end just above 0.
 */
function withEdges<T extends { readonly confidenceInterval: Interval }>(result: T, alternative: Alternative, exact: Ends, open: Ends, bounds: Interval): T {
  if (alternative !== 'two-sided' || !(exact[0] || exact[1])) return result;
  const [lower, upper] = result.confidenceInterval;
  const low = exact[0] ? (open[0] ? nextUp(bounds[0]) : bounds[0]) : lower;
  const high = exact[1] ? (open[1] ? -nextUp(-bounds[1]) : bounds[1]) : upper;
  return { ...result, confidenceInterval: [low, high] };
}

/** Whether `value` is a bucket's lower edge (a run in that bucket is longer than it). */
function isLowerEdge(value: number, bounds: readonly number[]): boolean {
  return value > 0 && bounds.includes(value);
}

/** The smallest double above x (x finite). */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const bits = new Float64Array([x]);
  const int = new BigInt64Array(bits.buffer);
  int[0] = int[0]! + (x > 0 ? 1n : -1n);
  return bits[0]!;
}

function quantileRatio(
  c: Reading,
  t: Reading,
  label: string,
  z: number,
  alpha: number,
  alternative: Alternative,
  exact: Ends,
  open: Ends,
): StatResult<QuantileRatio> {
  // Within the first bucket the estimate is a guess between 0 and its bound; a ratio to it
  // could be anything, and so could a ratio to a quantile whose interval reaches that bucket.
  for (const [name, result] of [['control', c], ['treatment', t]] as const) {
    if (result.belowResolution) {
      return cannotCompute(`the ${label} of ${name} is below the histogram's resolution (< ${result.bucket[1]} ms)`);
    }
    if (!(result.confidenceInterval[0] > 0)) {
      return cannotCompute(
        `the ${label} of ${name} may be below the histogram's resolution: its interval reaches 0`,
      );
    }
  }
  const log = moverEstimate(
    Math.log(t.estimate / c.estimate),
    reach([[Math.log(t.estimate / t.confidenceInterval[0]), logBound(t, 0)], [Math.log(c.confidenceInterval[1] / c.estimate), logBound(c, 1)]]) / z,
    reach([[Math.log(t.confidenceInterval[1] / t.estimate), logBound(t, 1)], [Math.log(c.estimate / c.confidenceInterval[0]), logBound(c, 0)]]) / z,
    alpha,
    alternative,
  );
  const interval: Interval = [Math.exp(log.confidenceInterval[0]), Math.exp(log.confidenceInterval[1])];
  return computed({
    estimate: t.estimate / c.estimate,
    logStandardError: log.standardError,
    confidenceInterval: withEdges({ confidenceInterval: interval }, alternative, exact, open, [
      t.confidenceInterval[0] / c.confidenceInterval[1],
      t.confidenceInterval[1] / c.confidenceInterval[0],
    ]).confidenceInterval,
    pValue: log.pValue,
  });
}

/**
 * Normal inference for an estimate whose error has a different standard error below it
 * (`seBelow`: how far the truth may lie under the estimate, which sets the lower bound) and
 * above it (`seAbove`). The p-value uses the side facing 0, so it is below alpha exactly when
 * the interval excludes 0; `standardError` is that side's.
 */
function moverEstimate(
  estimate: number,
  seBelow: number,
  seAbove: number,
  alpha: number,
  alternative: Alternative,
): Estimate {
  const infinity = Number.POSITIVE_INFINITY;
  const standardError =
    alternative === 'greater' || (alternative === 'two-sided' && estimate >= 0) ? seBelow : seAbove;
  const statistic = estimate === 0 ? 0 : estimate / standardError;
  let confidenceInterval: Interval;
  let pValue: number;
  if (alternative === 'two-sided') {
    const z = normalQuantile(1 - alpha / 2);
    confidenceInterval = [estimate - z * seBelow, estimate + z * seAbove];
    pValue = Math.min(1, 2 * normalSf(Math.abs(statistic)));
  } else {
    const z = normalQuantile(1 - alpha);
    confidenceInterval =
      alternative === 'greater' ? [estimate - z * seBelow, infinity] : [-infinity, estimate + z * seAbove];
    pValue = normalSf(alternative === 'greater' ? statistic : -statistic);
  }
  return {
    estimate,
    standardError,
    degreesOfFreedom: infinity,
    confidenceInterval,
    pValue: Math.max(pValue, SMALLEST_PROBABILITY),
  };
}

/** 0.95 → 'p95', 0.999 → 'p99.9'. */
function quantileLabel(q: number): string {
  return `p${Number((q * 100).toPrecision(10))}`;
}

// Results carry `ok: true`; nested results read better without it.
function withoutOk<T extends object>({ ok: _ok, ...result }: { readonly ok: true } & T): T {
  return result as unknown as T;
}

/** An end's bound part on the log scale (the ratio's): the log distance from the estimate to where the bound part ends. */
function logBound(r: Reading, end: 0 | 1): number {
  if (r.bound[end] === 0) return 0;
  return end === 0 ? Math.log(r.estimate / (r.estimate - r.bound[0])) : Math.log((r.estimate + r.bound[1]) / r.estimate);
}
