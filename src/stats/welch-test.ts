import { waldEstimate, type Estimate, type InferenceOptions } from './inference.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import { summarize, type MetricKind, type Summary, type SufficientStatistics } from './summary.js';
import { assertNumber, assertOptions } from './validate.js';

/**
 * Options of {@link welchTest}: significance level (default 0.05), alternative (default
 * two-sided) and how variances are estimated (default `'mean'`, see {@link MetricKind}).
 *
 * @example
 * ```ts
 * const options: WelchTestOptions = { alpha: 0.01, kind: 'mean' };
 * ```
 */
export interface WelchTestOptions extends InferenceOptions {
  readonly kind?: MetricKind | undefined;
}

/**
 * Result of {@link welchTest}: the difference of means (treatment − control) as an
 * {@link Estimate}, plus the t statistic and both summaries.
 *
 * @example
 * ```ts
 * const result = welchTest(control, treatment);
 * if (result.ok) console.log(result.t, result.degreesOfFreedom, result.pValue);
 * ```
 */
export interface WelchTestResult extends Estimate {
  readonly t: number;
  readonly control: Summary;
  readonly treatment: Summary;
}

/**
 * Welch–Satterthwaite degrees of freedom for two independent means, given each mean's
 * squared standard error and group size.
 *
 * @example
 * ```ts
 * // control 1.1, 2.9, 4.2 (s² ≈ 2.4233); treatment 1, 2, 3 (s² = 1)
 * welchDegreesOfFreedom(2.4233 / 3, 3, 1 / 3, 3); // ≈ 3.41
 * ```
 */
export function welchDegreesOfFreedom(
  controlSquaredError: number,
  controlN: number,
  treatmentSquaredError: number,
  treatmentN: number,
): number {
  assertNumber('controlSquaredError', controlSquaredError);
  assertNumber('controlN', controlN);
  assertNumber('treatmentSquaredError', treatmentSquaredError);
  assertNumber('treatmentN', treatmentN);
  // Both errors over the larger one (the ratio does not change): squared again, errors of
  // values near 1e100 would pass the largest double, and Infinity / Infinity is NaN.
  const larger = Math.max(controlSquaredError, treatmentSquaredError);
  const c = controlSquaredError / larger;
  const t = treatmentSquaredError / larger;
  return ((c + t) * (c + t)) / ((c * c) / (controlN - 1) + (t * t) / (treatmentN - 1));
}

/** Both summaries, or the reason one of them cannot be computed. */
function summarizePair(
  control: SufficientStatistics,
  treatment: SufficientStatistics,
  kind: MetricKind,
): StatResult<{ control: Summary; treatment: Summary }> {
  const c = summarize(control, kind, 'control');
  const t = summarize(treatment, kind, 'treatment');
  if (!c.ok) return c;
  if (!t.ok) return t;
  if (c.n < 2 || t.n < 2) {
    // The Welch–Satterthwaite formula divides by n − 1.
    return cannotCompute(`${c.n < 2 ? 'control' : 'treatment'} has fewer than 2 users`);
  }
  if (c.variance === 0 && t.variance === 0) {
    return cannotCompute('both tracks have zero variance');
  }
  return computed({ control: withoutOk(c), treatment: withoutOk(t) });
}

// summarize's results carry `ok: true`; nested summaries read better without it.
function withoutOk({ ok: _ok, ...summary }: { readonly ok: true } & Summary): Summary {
  return summary;
}

/**
 * Welch's unequal-variances t-test of treatment − control from sufficient statistics, with
 * Welch–Satterthwaite degrees of freedom; the confidence interval is for the absolute
 * difference of means. Matches `scipy.stats.ttest_ind(..., equal_var=False)` and R's
 * `t.test(var.equal = FALSE)`.
 *
 * @example
 * ```ts
 * const result = welchTest(
 *   { n: 3, sum: 8.2, sumSquares: 27.26 }, // control: 1.1, 2.9, 4.2
 *   { n: 3, sum: 6, sumSquares: 14 },      // treatment: 1, 2, 3
 * );
 * if (result.ok) result.pValue; // 0.5361949075312673
 * ```
 */
export function welchTest(
  control: SufficientStatistics,
  treatment: SufficientStatistics,
  options: WelchTestOptions = {},
): StatResult<WelchTestResult> {
  assertOptions('welchTest', options);
  const pair = summarizePair(control, treatment, options.kind ?? 'mean');
  if (!pair.ok) return pair;
  const c = pair.control;
  const t = pair.treatment;
  const controlSquaredError = c.variance / c.n;
  const treatmentSquaredError = t.variance / t.n;
  const standardError = Math.sqrt(controlSquaredError + treatmentSquaredError);
  const df = welchDegreesOfFreedom(controlSquaredError, c.n, treatmentSquaredError, t.n);
  const difference = t.mean - c.mean;
  const estimate = waldEstimate(difference, standardError, df, options);
  return computed({ ...estimate, t: difference / standardError, control: c, treatment: t });
}
