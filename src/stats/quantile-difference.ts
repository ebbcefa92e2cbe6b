import { waldEstimate, type Estimate, type InferenceOptions, type Interval } from './inference.js';
import {
  quantileInterval,
  type LatencyHistogram,
  type QuantileIntervalResult,
} from './quantile-interval.js';
import { cannotCompute, computed, type StatResult } from './result.js';

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
 * against "no change" (a ratio of 1). `logStandardError` is the standard error of the log
 * of the ratio, the scale the interval is built on.
 *
 * @example
 * ```ts
 * const slower: QuantileRatio = {
 *   estimate: 1.2, logStandardError: 0.02, confidenceInterval: [1.154, 1.248], pValue: 1e-19,
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
 * either quantile is below the histogram's resolution.
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
 * its sampling standard error come from {@link quantileInterval} (Woodruff); the difference
 * t − c has standard error √(se_t² + se_c²), and the ratio t/c is built on the log scale,
 * where the delta method gives se(log q̂) = se/q̂. Intervals and p-values use the normal law.
 * Both tracks are read through the same buckets, so with no difference between them the
 * interpolation error is the same in both and the test keeps its level; the difference's
 * interval does not add the resolution margin that each track's own interval has.
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
 * if (result.ok) result.difference.estimate; // 3.20 ms (12.32 → 15.52), interval [2.96, 3.44]
 * if (result.ok && result.ratio.ok) result.ratio.estimate; // 1.26 (2^(1/3)), p ≈ 1e-158
 * ```
 */
export function quantileDifference(
  control: LatencyHistogram,
  treatment: LatencyHistogram,
  q: number,
  options: QuantileDifferenceOptions = {},
): StatResult<QuantileDifferenceResult> {
  const c = quantileInterval(control, q, { alpha: options.alpha }, 'control');
  const t = quantileInterval(treatment, q, { alpha: options.alpha }, 'treatment');
  if (!c.ok) return c;
  if (!t.ok) return t;
  const label = quantileLabel(q);
  for (const [name, result] of [['control', c], ['treatment', t]] as const) {
    if (result.aboveRange) {
      return cannotCompute(`the ${label} of ${name} is above the histogram's range (> ${result.bucket[0]} ms)`);
    }
    if (!Number.isFinite(result.standardError)) {
      return cannotCompute(`${name} has too few runs (${result.n}) to bound its ${label}`);
    }
  }
  const standardError = Math.hypot(c.standardError, t.standardError);
  const difference = waldEstimate(t.estimate - c.estimate, standardError, Number.POSITIVE_INFINITY, options);
  return computed({
    q,
    control: withoutOk(c),
    treatment: withoutOk(t),
    difference,
    ratio: quantileRatio(c, t, label, options),
  });
}

function quantileRatio(
  c: QuantileIntervalResult,
  t: QuantileIntervalResult,
  label: string,
  options: QuantileDifferenceOptions,
): StatResult<QuantileRatio> {
  // Within the first bucket the estimate is a guess between 0 and its bound; a ratio to it
  // could be anything.
  for (const [name, result] of [['control', c], ['treatment', t]] as const) {
    if (result.belowResolution) {
      return cannotCompute(`the ${label} of ${name} is below the histogram's resolution (< ${result.bucket[1]} ms)`);
    }
  }
  const logStandardError = Math.hypot(c.standardError / c.estimate, t.standardError / t.estimate);
  const log = waldEstimate(Math.log(t.estimate / c.estimate), logStandardError, Number.POSITIVE_INFINITY, options);
  return computed({
    estimate: t.estimate / c.estimate,
    logStandardError,
    confidenceInterval: [Math.exp(log.confidenceInterval[0]), Math.exp(log.confidenceInterval[1])],
    pValue: log.pValue,
  });
}

/** 0.95 → 'p95', 0.999 → 'p99.9'. */
function quantileLabel(q: number): string {
  return `p${Number((q * 100).toPrecision(10))}`;
}

// quantileInterval's results carry `ok: true`; nested results read better without it.
function withoutOk({ ok: _ok, ...result }: { readonly ok: true } & QuantileIntervalResult): QuantileIntervalResult {
  return result;
}
