import { SMALLEST_PROBABILITY } from './distributions.js';
import type { Estimate, Interval } from './inference.js';
import { lift, type LiftResult } from './lift.js';
import { computed, type StatResult } from './result.js';
import type { MetricKind, SufficientStatistics } from './summary.js';
import { assertFiniteNumber, assertOpenUnitInterval, assertOptions, assertPositive, checkLiftResult } from './validate.js';

/**
 * Options of the sequential (always-valid) methods.
 *
 * @example
 * ```ts
 * const options: ConfidenceSequenceOptions = { alpha: 0.05, tuningParameter: 20_000 };
 * ```
 */
export interface ConfidenceSequenceOptions {
  /** Probability that the interval ever misses the truth, over all looks; 0.05 by default. */
  readonly alpha?: number | undefined;
  /**
   * The total sample size (both tracks) at which the sequence is tightest, GrowthBook's
   * "sequential tuning parameter"; 5000 by default. Set it near the number of users you
   * expect at the end of the experiment. Any positive value keeps the guarantee; a poor
   * choice only widens the intervals.
   */
  readonly tuningParameter?: number | undefined;
}

/**
 * An always-valid interval and p-value for one look.
 *
 * @example
 * ```ts
 * const look: ConfidenceSequenceResult = {
 *   confidenceInterval: [-0.558, 1.565], halfWidth: 1.062, pValue: 1,
 * };
 * ```
 */
export interface ConfidenceSequenceResult {
  readonly confidenceInterval: Interval;
  readonly halfWidth: number;
  /**
   * Always-valid p-value: the smallest alpha (with the mixture fixed by the configured
   * alpha and tuning parameter) whose interval excludes 0; capped at 1.
   */
  readonly pValue: number;
}

/** ρ² of the normal mixture that makes the boundary tightest at `tuningParameter` users. */
function mixingVariance(alpha: number, tuningParameter: number): number {
  const twoLogInverseAlpha = -2 * Math.log(alpha);
  return (twoLogInverseAlpha + Math.log(twoLogInverseAlpha + 1)) / tuningParameter;
}

/**
 * Always-valid confidence sequence for an asymptotically normal estimate, from the
 * two-sided normal-mixture boundary of Howard, Ramdas, McAuliffe & Sekhon (2021,
 * "Time-uniform, nonparametric, nonasymptotic confidence sequences", eq. 14), in the
 * asymptotic form of Waudby-Smith et al. used by GrowthBook, Eppo and Statsig. With
 * N = `sampleSize`, σ = standardError·√N the per-user standard deviation and ρ² the mixing
 * variance tuned to N* = `tuningParameter`,
 *
 *   half-width = σ · sqrt( (Nρ² + 1) / (N²ρ²) · ln((Nρ² + 1) / α²) ).
 *
 * The probability that any of the intervals, at any number of looks, misses the true effect
 * is at most alpha, so a team can look every day.
 *
 * @example
 * ```ts
 * const look = confidenceSequence(0.5034, 0.3334, 6461, { tuningParameter: 1000 });
 * look.confidenceInterval; // ≈ [-0.5584, 1.5652]
 * ```
 */
export function confidenceSequence(
  estimate: number,
  standardError: number,
  sampleSize: number,
  options: ConfidenceSequenceOptions = {},
): ConfidenceSequenceResult {
  assertOptions('confidenceSequence', options);
  assertFiniteNumber('estimate', estimate);
  assertPositive('standardError', standardError);
  assertPositive('sampleSize', sampleSize);
  const alpha = options.alpha ?? 0.05;
  assertOpenUnitInterval('alpha', alpha);
  const tuningParameter = options.tuningParameter ?? 5000;
  assertPositive('tuningParameter', tuningParameter);

  const n = sampleSize;
  const rho2 = mixingVariance(alpha, tuningParameter);
  const spread = n * rho2 + 1;
  const perUserVariance = standardError * standardError * n;
  const scale = (perUserVariance * spread) / (n * n * rho2);
  const halfWidth = Math.sqrt(scale * Math.log(spread / (alpha * alpha)));
  // Solving |estimate| = half-width for alpha gives the always-valid p-value;
  // in log space so a huge effect gives a tiny positive number rather than 0.
  const logP = 0.5 * (Math.log(spread) - (estimate * estimate) / scale);
  const pValue = Math.min(1, Math.max(Math.exp(logP), SMALLEST_PROBABILITY));
  return { confidenceInterval: [estimate - halfWidth, estimate + halfWidth], halfWidth, pValue };
}

/**
 * Options of {@link sequentialLift}: those of the confidence sequence plus the metric kind.
 *
 * @example
 * ```ts
 * const options: SequentialLiftOptions = { kind: 'proportion', tuningParameter: 20_000 };
 * ```
 */
export interface SequentialLiftOptions extends ConfidenceSequenceOptions {
  readonly kind?: MetricKind | undefined;
}

/**
 * {@link lift} with always-valid intervals and p-values in place of fixed-horizon ones, for
 * teams that look at results before the planned end. N is the users in both tracks.
 * `degreesOfFreedom` is `Infinity`: the sequence is an asymptotic normal method.
 *
 * @example
 * ```ts
 * const result = sequentialLift(control, treatment, { kind: 'proportion' });
 * if (result.ok && result.relative.ok) console.log(result.relative.confidenceInterval);
 * ```
 */
export function sequentialLift(
  control: SufficientStatistics,
  treatment: SufficientStatistics,
  options: SequentialLiftOptions = {},
): StatResult<LiftResult> {
  assertOptions('sequentialLift', options);
  const fixed = lift(control, treatment, { kind: options.kind ?? 'mean' });
  if (!fixed.ok) return fixed;
  return computed(alwaysValid(fixed, options));
}

/**
 * The always-valid version of a fixed-horizon lift (from {@link lift} or a stratified lift):
 * each estimate keeps its standard error and gets the confidence sequence's interval and
 * p-value at the lift's total sample size.
 *
 * @example
 * ```ts
 * const fixed = lift(control, treatment, { kind: 'proportion' });
 * if (fixed.ok) alwaysValid(fixed, { alpha: 0.05 }).absolute.confidenceInterval;
 * ```
 */
export function alwaysValid(fixed: LiftResult, options: ConfidenceSequenceOptions = {}): LiftResult {
  checkLiftResult('alwaysValid', fixed);
  assertOptions('alwaysValid', options);
  const n = fixed.control.n + fixed.treatment.n;
  const always = (e: Estimate): Estimate => {
    const look = confidenceSequence(e.estimate, e.standardError, n, options);
    return {
      estimate: e.estimate,
      standardError: e.standardError,
      degreesOfFreedom: Number.POSITIVE_INFINITY,
      confidenceInterval: look.confidenceInterval,
      pValue: look.pValue,
    };
  };
  return {
    control: fixed.control,
    treatment: fixed.treatment,
    absolute: always(fixed.absolute),
    relative: fixed.relative.ok ? computed(always(fixed.relative)) : fixed.relative,
  };
}
