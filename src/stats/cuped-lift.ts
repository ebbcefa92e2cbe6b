import { TracksError } from '../errors.js';
import { waldEstimate, type Estimate } from './inference.js';
import { lift, type LiftOptions, type LiftResult } from './lift.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import type { MetricKind, Summary, SufficientStatistics } from './summary.js';
import { assertConversions, assertFiniteNumber, assertNonNegative, assertOptions, assertPossibleSquares, assertStatistics, readKind } from './validate.js';
import { welchDegreesOfFreedom } from './welch-test.js';

/**
 * Per-track sufficient statistics of a metric Y and of its covariate X, the same metric
 * measured on the same users before they were exposed: {@link SufficientStatistics} of Y plus
 * the sum and sum of squares of X and the sum of the products Y·X. A user without history
 * has X = 0, which is just data. For a binary metric (`kind: 'proportion'`), X is binary too
 * and each sum of squares equals its sum.
 *
 * @example
 * ```ts
 * // three users with (Y, X) = (1, 2), (0, 0), (3, 1)
 * const track: CupedStatistics = {
 *   n: 3, sum: 4, sumSquares: 10, covariateSum: 3, covariateSumSquares: 5, crossSum: 5,
 * };
 * ```
 */
export interface CupedStatistics extends SufficientStatistics {
  /** Sum of the covariate X (the pre-exposure value) over the track's users. */
  readonly covariateSum: number;
  /** Sum of X². */
  readonly covariateSumSquares: number;
  /** Sum of Y·X, user by user. */
  readonly crossSum: number;
}

/**
 * Result of {@link cupedLift}: the shape of {@link LiftResult}, with `control` and
 * `treatment` summarizing the adjusted values Y − θX, plus the pooled `theta`, the share of
 * the absolute lift's variance the adjustment removed (`varianceReduction`, 1 − adjusted /
 * unadjusted; negative if the adjustment added variance) and the plain {@link lift} of the
 * same data (`unadjusted`), so that a report can show both.
 *
 * @example
 * ```ts
 * const result = cupedLift(control, treatment);
 * if (result.ok) console.log(result.theta, result.varianceReduction, result.absolute.pValue);
 * ```
 */
export interface CupedLiftResult extends LiftResult {
  readonly theta: number;
  readonly varianceReduction: number;
  readonly unadjusted: StatResult<LiftResult>;
}

/**
 * Absolute and relative lift of treatment over control with CUPED, the regression
 * adjustment on a pre-exposure covariate of Deng, Xu, Kohavi and Walker ("Improving the
 * Sensitivity of Online Controlled Experiments by Utilizing Pre-Experiment Data", WSDM 2013),
 * in the form of GrowthBook's gbstats (`RegressionAdjustedStatistic`, `compute_theta`,
 * `frequentist_variance_relative_cuped`):
 *
 *   θ = cov(X, Y) / var(X)   pooled over both tracks (their sums added, not centred per track)
 *   per track: mean Ȳ − θX̄, variance var(Y) + θ²var(X) − 2θ·cov(X, Y)   (divisor n − 1)
 *   absolute lift: difference of adjusted means, Student t on Welch–Satterthwaite df
 *   relative lift: (adjusted treatment − adjusted control) / |Ȳ꜀|, delta method with the
 *     covariate terms, same df, its own p-value
 *
 * θ is 0 when the pooled variance of X or of Y is 0 (say, no user has history); the result
 * is then {@link lift}'s, to rounding (the relative lift divides by |Ȳ꜀|, which only differs from
 * {@link lift} for a negative control mean). The covariate must be measured before exposure,
 * so that assignment cannot move it; then the adjusted lift is unbiased whatever θ is.
 *
 * @example
 * ```ts
 * // gbstats' test_gbstats.py, test_analyze_metric_df_ra
 * const result = cupedLift(
 *   { n: 3001, sum: 300, sumSquares: 600, covariateSum: 210, covariateSumSquares: 415, crossSum: -20 },
 *   { n: 3000, sum: 222, sumSquares: 555, covariateSum: 120, covariateSumSquares: 405, crossSum: -10 },
 * );
 * if (result.ok && result.relative.ok) result.relative.pValue; // 0.003732549
 * ```
 */
export function cupedLift(
  control: CupedStatistics,
  treatment: CupedStatistics,
  options: LiftOptions = {},
): StatResult<CupedLiftResult> {
  assertOptions('cupedLift', options);
  const kind = readKind(options.kind);
  const c = moments(control, kind, 'control');
  const t = moments(treatment, kind, 'treatment');
  // The plain lift checks the options and reports what cannot be computed at all (no users,
  // fewer than 2, no variance in either track); the adjustment cannot fix any of those.
  const unadjusted = lift(control, treatment, options);
  if (!unadjusted.ok) return unadjusted;

  const theta = pooledTheta(control, treatment, kind);
  const adjustedControl = adjust(c, theta);
  const adjustedTreatment = adjust(t, theta);
  const controlSquaredError = adjustedControl.variance / c.n;
  const treatmentSquaredError = adjustedTreatment.variance / t.n;
  if (controlSquaredError === 0 && treatmentSquaredError === 0) {
    return cannotCompute('both tracks have zero variance after the adjustment');
  }
  // Welch–Satterthwaite on the adjusted variances, as gbstats' TTest.dof; the relative lift
  // uses the same degrees of freedom.
  const df = welchDegreesOfFreedom(controlSquaredError, c.n, treatmentSquaredError, t.n);
  const difference = adjustedTreatment.mean - adjustedControl.mean;
  const absoluteSquaredError = controlSquaredError + treatmentSquaredError;
  const absolute: Estimate = waldEstimate(difference, Math.sqrt(absoluteSquaredError), df, options);
  // Summed as the adjusted one is, so that with θ = 0 the reduction is exactly 0.
  const unadjustedSquaredError =
    unadjusted.control.variance / unadjusted.control.n + unadjusted.treatment.variance / unadjusted.treatment.n;
  return computed({
    control: adjustedControl,
    treatment: adjustedTreatment,
    absolute,
    relative: relativeCupedLift(c, t, theta, difference, df, options),
    theta,
    varianceReduction: 1 - absoluteSquaredError / unadjustedSquaredError,
    unadjusted,
  });
}

/** One track's means, variances and covariance of Y and X, as gbstats estimates them. */
interface Moments {
  readonly n: number;
  readonly meanY: number;
  readonly meanX: number;
  readonly varianceY: number;
  readonly varianceX: number;
  readonly covariance: number;
}

/**
 * Validates one track and computes its moments. For `'proportion'` gbstats takes Y and X as
 * `ProportionStatistic`s: variances p(1 − p) and covariance ΣYX/n − ȲX̄, all with divisor n.
 * For `'mean'`, `SampleMeanStatistic`s: divisor n − 1. Tracks too small to have a variance
 * get zeros here; {@link lift} reports them as not computable.
 */
function moments(stats: CupedStatistics, kind: MetricKind, name: string): Moments {
  if (stats === null || typeof stats !== 'object') {
    throw new TracksError(
      `${name} must be an object { n, sum, sumSquares, covariateSum, covariateSumSquares, crossSum }`,
    );
  }
  if (kind === 'proportion') assertConversions(name, stats);
  else assertStatistics(name, stats);
  const { n, sum, sumSquares, covariateSum, covariateSumSquares, crossSum } = stats;
  assertFiniteNumber(`${name}.covariateSum`, covariateSum);
  assertNonNegative(`${name}.covariateSumSquares`, covariateSumSquares);
  assertFiniteNumber(`${name}.crossSum`, crossSum);
  if (kind === 'mean') {
    // Checked before the cross sum, so that an impossible sum of squares is named as such.
    assertPossibleSquares(name, 'sum', 'sumSquares', n, sum, sumSquares);
    assertPossibleSquares(name, 'covariateSum', 'covariateSumSquares', n, covariateSum, covariateSumSquares);
  }
  if (kind === 'proportion' && (covariateSum < 0 || covariateSum > n)) {
    throw new TracksError(
      `${name}.covariateSum counts users converted before exposure and must be between 0 and ${name}.n (${n}), got ${covariateSum}`,
    );
  }
  if (n === 0 || (kind === 'mean' && n < 2)) {
    return { n, meanY: 0, meanX: 0, varianceY: 0, varianceX: 0, covariance: 0 };
  }
  const m = momentsOf(n, sum, sumSquares, covariateSum, covariateSumSquares, crossSum, kind);
  // Cauchy–Schwarz: real data cannot have |cov| > sd(X)·sd(Y). Sums that break it are not a
  // sample (a typo, mixed-up columns); left alone, they would make a variance negative.
  // (For 0/1 data ΣYX is not checked against its narrower bounds: gbstats' own fixture has
  // a negative one, which its formulas, and these, accept.) Each moment is a difference of two
  // large sums, exact only to their rounding: with the covariate's mean far above its spread
  // (1e7 ± 1) a variance keeps a few digits, so the check allows for the rounding of each sum.
  const rounding = (a: number, b: number) => 1e-12 * (Math.abs(a) + Math.abs(b) / n) / n;
  const slack = 1e-9 * (Math.abs(crossSum) + Math.abs(sum * covariateSum) / n) / n;
  const bound = Math.sqrt((m.varianceX + rounding(covariateSumSquares, covariateSum * covariateSum)) * (m.varianceY + rounding(sumSquares, sum * sum)));
  if (Math.abs(m.covariance) > bound + slack) {
    throw new TracksError(
      `${name}.crossSum (${crossSum}) is inconsistent with the other sums: the covariance it gives, ${m.covariance}, ` +
        `exceeds sd(Y)·sd(X) = ${Math.sqrt(m.varianceX * m.varianceY)}`,
    );
  }
  return m;
}

function momentsOf(
  n: number,
  sumY: number,
  sumSquaresY: number,
  sumX: number,
  sumSquaresX: number,
  crossSum: number,
  kind: MetricKind,
): Moments {
  const meanY = sumY / n;
  const meanX = sumX / n;
  if (kind === 'proportion') {
    return {
      n,
      meanY,
      meanX,
      varianceY: meanY * (1 - meanY),
      varianceX: meanX * (1 - meanX),
      covariance: crossSum / n - (sumY * sumX) / (n * n),
    };
  }
  return {
    n,
    meanY,
    meanX,
    varianceY: sampleVariance(n, sumY, sumSquaresY),
    varianceX: sampleVariance(n, sumX, sumSquaresX),
    covariance: (crossSum - (sumY * sumX) / n) / (n - 1),
  };
}

/**
 * Sample variance (divisor n − 1) from sums, clamped at 0 as `summarize` does, so that
 * with θ = 0 the adjusted summaries are exactly the unadjusted ones.
 */
function sampleVariance(n: number, sum: number, sumSquares: number): number {
  return Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1));
}

/**
 * Whether a variance computed from sums is 0 up to rounding. Σx² − (Σx)²/n cancels
 * catastrophically when the spread is tiny next to the mean, so a constant covariate (every
 * user 7.3) can leave a positive crumb; gbstats would divide by it, here θ is 0 instead.
 */
function zeroSpread(sum: number, sumSquares: number, n: number): boolean {
  return sumSquares - (sum * sum) / n <= 1e-12 * sumSquares;
}

/**
 * θ = cov(X, Y) / var(X) over both tracks pooled into one sample (gbstats' `compute_theta`
 * on its joint statistics): the sums are added, so a difference between the tracks' means
 * counts in the pooled moments. 0 when the pooled variance of X or of Y is 0, as in gbstats,
 * which then falls back to the unadjusted analysis.
 */
function pooledTheta(control: CupedStatistics, treatment: CupedStatistics, kind: MetricKind): number {
  const pooled = momentsOf(
    control.n + treatment.n,
    control.sum + treatment.sum,
    control.sumSquares + treatment.sumSquares,
    control.covariateSum + treatment.covariateSum,
    control.covariateSumSquares + treatment.covariateSumSquares,
    control.crossSum + treatment.crossSum,
    kind,
  );
  if (pooled.varianceX <= 0 || pooled.varianceY <= 0) return 0;
  if (kind === 'mean') {
    const n = control.n + treatment.n;
    const sumX = control.covariateSum + treatment.covariateSum;
    const sumY = control.sum + treatment.sum;
    if (zeroSpread(sumX, control.covariateSumSquares + treatment.covariateSumSquares, n)) return 0;
    if (zeroSpread(sumY, control.sumSquares + treatment.sumSquares, n)) return 0;
  }
  return pooled.covariance / pooled.varianceX;
}

/** The summary of one track's adjusted values Y − θX. */
function adjust(m: Moments, theta: number): Summary {
  // Once Cauchy–Schwarz holds the sum can only go below 0 by rounding; and when Y is exactly
  // linear in X, what is left is rounding too: either way the variance is 0.
  const terms = [m.varianceY, theta * theta * m.varianceX, -2 * theta * m.covariance];
  const sum = terms[0]! + terms[1]! + terms[2]!;
  const scale = Math.abs(terms[0]!) + Math.abs(terms[1]!) + Math.abs(terms[2]!);
  const variance = sum <= 1e-12 * scale ? 0 : sum;
  return { n: m.n, mean: m.meanY - theta * m.meanX, variance, standardError: Math.sqrt(variance / m.n) };
}

/**
 * The relative lift (adjusted treatment − adjusted control) / |Ȳ꜀| with gbstats' delta-method
 * variance (`frequentist_variance_relative_cuped`), which keeps the covariate terms:
 *
 *   Var = (var(Yₜ) + θ²var(Xₜ) − 2θ·cov(Xₜ, Yₜ)) / (nₜ·Ȳ꜀²)
 *       + (var(Y꜀)·Ȳₜ²/Ȳ꜀² − 2θ·cov(X꜀, Y꜀)·Ȳₜ/Ȳ꜀ + θ²var(X꜀)) / (n꜀·Ȳ꜀²)
 *
 * The control gradient uses the unadjusted treatment mean Ȳₜ, as gbstats does.
 */
function relativeCupedLift(
  c: Moments,
  t: Moments,
  theta: number,
  difference: number,
  df: number,
  options: LiftOptions,
): StatResult<Estimate> {
  if (c.meanY === 0) return cannotCompute('the control mean is 0, so a relative lift is undefined');
  const mc2 = c.meanY * c.meanY;
  const ratio = t.meanY / c.meanY;
  const treatmentPart =
    (t.varianceY + theta * theta * t.varianceX - 2 * theta * t.covariance) / (t.n * mc2);
  const controlPart =
    (c.varianceY * ratio * ratio - 2 * theta * c.covariance * ratio + theta * theta * c.varianceX) / (c.n * mc2);
  const variance = treatmentPart + controlPart;
  if (!(variance > 0)) return cannotCompute('the relative lift has zero variance');
  return computed(waldEstimate(difference / Math.abs(c.meanY), Math.sqrt(variance), df, options));
}
