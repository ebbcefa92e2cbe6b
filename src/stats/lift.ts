import { waldEstimate, type Estimate, type InferenceOptions } from './inference.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import type { MetricKind, Summary, SufficientStatistics } from './summary.js';
import { assertOptions } from './validate.js';
import { welchTest } from './welch-test.js';

/**
 * Options of {@link lift}: significance level (default 0.05), alternative (default
 * two-sided) and the metric kind (default `'mean'`; use `'proportion'` for conversions).
 *
 * @example
 * ```ts
 * const options: LiftOptions = { kind: 'proportion', alpha: 0.05 };
 * ```
 */
export interface LiftOptions extends InferenceOptions {
  readonly kind?: MetricKind | undefined;
}

/**
 * Result of {@link lift}. `absolute` is treatment mean − control mean; `relative` is that
 * difference over |control mean| (t/c − 1 for a positive control mean; for a negative one, a
 * loss or a net balance, its sign still follows the difference), which cannot be computed when
 * the control mean is 0.
 *
 * @example
 * ```ts
 * const result = lift(control, treatment, { kind: 'proportion' });
 * if (result.ok && result.relative.ok) console.log(result.relative.confidenceInterval);
 * ```
 */
export interface LiftResult {
  readonly control: Summary;
  readonly treatment: Summary;
  readonly absolute: Estimate;
  readonly relative: StatResult<Estimate>;
}

/**
 * Absolute and relative lift of treatment over control, each with a confidence interval
 * and p-value against "no lift". Both use Welch–Satterthwaite degrees of freedom. The
 * relative lift's standard error comes from the delta method on the ratio of two
 * independent means, r = (μt − μc)/|μc| (μt/μc − 1 when μc > 0):
 *
 *   Var(r) ≈ Var(x̄t)/μc² + μt²·Var(x̄c)/μc⁴
 *
 * as in GrowthBook's gbstats frequentist engine.
 *
 * @example
 * ```ts
 * const result = lift(
 *   { n: 3407, sum: 1396.87, sumSquares: 52377.9767 },
 *   { n: 3461, sum: 2422.7, sumSquares: 134698.29 },
 * );
 * if (result.ok && result.relative.ok) result.relative.estimate; // 0.7073 (+70.7%)
 * ```
 */
export function lift(
  control: SufficientStatistics,
  treatment: SufficientStatistics,
  options: LiftOptions = {},
): StatResult<LiftResult> {
  assertOptions('lift', options);
  // The absolute lift is exactly Welch's estimate: one implementation of it.
  const welch = welchTest(control, treatment, options);
  if (!welch.ok) return welch;
  const { control: c, treatment: t, estimate, standardError, degreesOfFreedom, confidenceInterval, pValue } = welch;
  const absolute: Estimate = { estimate, standardError, degreesOfFreedom, confidenceInterval, pValue };
  return computed({
    control: c,
    treatment: t,
    absolute,
    relative: relativeLift(c, t, c.variance / c.n, t.variance / t.n, degreesOfFreedom, options),
  });
}

/**
 * The relative lift (t − c)/|c| with its delta-method standard error (independent arms). Over
 * |c|, as gbstats divides: with a negative control mean, t/c − 1 would have the opposite sign
 * of the difference (a lower profit read as +6.5%, and P(better) as 99%).
 */
export function relativeLift(
  c: Summary,
  t: Summary,
  controlSquaredError: number,
  treatmentSquaredError: number,
  df: number,
  options: InferenceOptions,
): StatResult<Estimate> {
  if (c.mean === 0) return cannotCompute('the control mean is 0, so a relative lift is undefined');
  // var(t)/c² + t²·var(c)/c⁴, written with the ratio t/c so that no term passes the largest
  // double for means near 1e100 (c⁴ would, and Infinity / Infinity is NaN).
  const mc2 = c.mean * c.mean;
  const ratio = t.mean / c.mean;
  const variance = (treatmentSquaredError + ratio * ratio * controlSquaredError) / mc2;
  if (variance === 0) return cannotCompute('the relative lift has zero variance');
  return computed(waldEstimate((t.mean - c.mean) / Math.abs(c.mean), Math.sqrt(variance), df, options));
}
