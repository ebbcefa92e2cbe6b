import { TracksError } from '../errors.js';
import { normalCdf, normalQuantile } from './distributions.js';
import { assertFiniteNumber, assertObject, assertOpenUnitInterval, assertPositive } from './validate.js';

/**
 * Cohen's effect size h for two proportions, 2·asin(√p1) − 2·asin(√p2): the difference on
 * the variance-stabilizing arcsine scale, on which a proportion's variance is 1/n whatever
 * its value. Same as statsmodels' `proportion_effectsize` and R pwr's `ES.h`.
 *
 * @example
 * ```ts
 * cohenH(0.5, 0.4); // 0.20135792079033088
 * ```
 */
export function cohenH(p1: number, p2: number): number {
  for (const [name, p] of [['p1', p1], ['p2', p2]] as const) {
    assertFiniteNumber(name, p);
    if (p < 0 || p > 1) throw new TracksError(`${name} must be a proportion between 0 and 1, got ${p}`);
  }
  return 2 * Math.asin(Math.sqrt(p1)) - 2 * Math.asin(Math.sqrt(p2));
}

/**
 * Power of the two-sided two-proportion test with `usersPerTrack` users in each of two
 * tracks, for effect size h (see {@link cohenH}), counting both rejection tails:
 *
 *   power = Φ(|h|·√(n/2) − z₁₋α/₂) + Φ(−|h|·√(n/2) − z₁₋α/₂)
 *
 * Same as R's `pwr.2p.test` and statsmodels' `NormalIndPower` with ratio 1.
 *
 * @example
 * ```ts
 * proportionPower({ effectSize: 0.3, usersPerTrack: 80, alpha: 0.05 }); // 0.475100870572638
 * ```
 */
export function proportionPower(input: {
  readonly effectSize: number;
  readonly usersPerTrack: number;
  readonly alpha?: number | undefined;
}): number {
  assertObject('proportionPower: the input', input, '{ effectSize: 0.3, usersPerTrack: 80 }');
  const alpha = input.alpha ?? 0.05;
  assertOpenUnitInterval('alpha', alpha);
  assertFiniteNumber('effectSize', input.effectSize);
  assertPositive('usersPerTrack', input.usersPerTrack);
  const shift = Math.abs(input.effectSize) * Math.sqrt(input.usersPerTrack / 2);
  // The upper quantile as minus the lower one: 1 - alpha / 2 rounds away the digits of a tiny alpha.
  const critical = -normalQuantile(alpha / 2);
  return normalCdf(shift - critical) + normalCdf(-shift - critical);
}

/**
 * Users per track (not rounded) at which {@link proportionPower} reaches `power`: the
 * closed form 2·((z₁₋α/₂ + z_power)/h)² ignores the far tail and is an upper bound, so the
 * exact root is found by bisection below it.
 *
 * @example
 * ```ts
 * requiredUsersPerTrack({ effectSize: 0.3, power: 0.475100870572638 }); // ≈ 80
 * ```
 */
export function requiredUsersPerTrack(input: {
  readonly effectSize: number;
  readonly power?: number | undefined;
  readonly alpha?: number | undefined;
}): number {
  assertObject('requiredUsersPerTrack: the input', input, '{ effectSize: 0.3, power: 0.8 }');
  const alpha = input.alpha ?? 0.05;
  const power = input.power ?? 0.8;
  assertOpenUnitInterval('alpha', alpha);
  assertOpenUnitInterval('power', power);
  assertFiniteNumber('effectSize', input.effectSize);
  if (input.effectSize === 0) throw new TracksError('effectSize must not be 0: no sample size detects no effect');
  if (power <= alpha) throw new TracksError(`power (${power}) must be greater than alpha (${alpha})`);
  const h = Math.abs(input.effectSize);
  const upperBound = 2 * ((-normalQuantile(alpha / 2) + normalQuantile(power)) / h) ** 2;
  let low = 0;
  let high = upperBound;
  for (let i = 0; i < 200 && high - low > 1e-12 * upperBound; i++) {
    const mid = (low + high) / 2;
    if (mid > 0 && proportionPower({ effectSize: h, usersPerTrack: mid, alpha }) >= power) high = mid;
    else low = mid;
  }
  return high;
}

/**
 * Input of {@link sampleSize}, the math of `tracks plan`.
 *
 * @example
 * ```ts
 * const plan: SampleSizeInput = { baseline: 0.05, relativeMde: 0.1, tracks: 3, dailyUsers: 20_000 };
 * ```
 */
export interface SampleSizeInput {
  /** Control conversion rate, strictly between 0 and 1. */
  readonly baseline: number;
  /** Smallest relative lift worth detecting, e.g. 0.1 for +10% (negative for a drop). */
  readonly relativeMde: number;
  /** Family-wise significance level before correction; 0.05 by default. */
  readonly alpha?: number | undefined;
  /** Probability of detecting an effect of exactly the MDE; 0.8 by default. */
  readonly power?: number | undefined;
  /** Number of tracks including control, split evenly; 2 by default. */
  readonly tracks?: number | undefined;
  /** Users entering the experiment per day, all tracks together; gives `days` when set. */
  readonly dailyUsers?: number | undefined;
  /**
   * Correlation ρ between the metric and its pre-exposure value, when the test will be
   * analysed with CUPED (`cupedLift`); 0 (no adjustment) by default, below 1. The
   * adjustment leaves a share 1 − ρ² of the variance, so the plan needs 1 − ρ² of the users.
   */
  readonly cupedCorrelation?: number | undefined;
}

/**
 * Result of {@link sampleSize}.
 *
 * @example
 * ```ts
 * const plan = sampleSize({ baseline: 0.05, relativeMde: 0.1, tracks: 3, dailyUsers: 20_000 });
 * console.log(plan.usersPerTrack, plan.totalUsers, plan.days);
 * ```
 */
export interface SampleSizeResult {
  readonly usersPerTrack: number;
  readonly totalUsers: number;
  /** Treatment-vs-control comparisons, tracks − 1. */
  readonly comparisons: number;
  /** alpha / comparisons: the Bonferroni-corrected level each comparison is planned at. */
  readonly adjustedAlpha: number;
  readonly treatmentRate: number;
  /** Cohen's h between treatment and baseline rates. */
  readonly effectSize: number;
  /** Days to reach `totalUsers` at `dailyUsers`; absent without `dailyUsers`. */
  readonly days?: number | undefined;
}

/**
 * Users needed per track to detect a relative lift of `relativeMde` on a conversion rate
 * `baseline` with the given power, for the two-sided two-proportion test on the arcsine
 * scale (R `pwr.2p.test`). With more than two tracks each treatment is compared with control
 * at alpha / (tracks − 1), a Bonferroni correction, which is conservative for the Holm
 * correction the report applies. Assumes an even split.
 *
 * With `cupedCorrelation` ρ the variance is multiplied by 1 − ρ², the share CUPED leaves
 * (Deng et al., WSDM 2013): the same power is reached with 1 − ρ² of the users, computed as
 * the effect size h/√(1 − ρ²) on the arcsine scale. ρ is a guess from past data, and
 * θ estimated from the test itself costs a little, so treat the saving as an estimate.
 *
 * @example
 * ```ts
 * sampleSize({ baseline: 0.05, relativeMde: 0.1, tracks: 3, dailyUsers: 20_000 });
 * // { usersPerTrack: 37_805, totalUsers: 113_415, days: 6, adjustedAlpha: 0.025, ... }
 * sampleSize({ baseline: 0.05, relativeMde: 0.1, cupedCorrelation: 0.7 }).usersPerTrack;
 * // 15_921, 51% of the 31_218 needed without CUPED
 * ```
 */
export function sampleSize(input: SampleSizeInput): SampleSizeResult {
  assertObject('sampleSize: the input', input, '{ baseline: 0.05, relativeMde: 0.1 }');
  const alpha = input.alpha ?? 0.05;
  const power = input.power ?? 0.8;
  const tracks = input.tracks ?? 2;
  const rho = input.cupedCorrelation ?? 0;
  assertOpenUnitInterval('baseline', input.baseline);
  assertFiniteNumber('relativeMde', input.relativeMde);
  if (input.relativeMde === 0) throw new TracksError('relativeMde must not be 0');
  assertOpenUnitInterval('alpha', alpha);
  assertOpenUnitInterval('power', power);
  if (!Number.isInteger(tracks) || tracks < 2) {
    throw new TracksError(`tracks must be a whole number of at least 2 (control included), got ${tracks}`);
  }
  const treatmentRate = input.baseline * (1 + input.relativeMde);
  if (treatmentRate <= 0 || treatmentRate >= 1) {
    throw new TracksError(
      `relativeMde ${input.relativeMde} moves the baseline ${input.baseline} to ${treatmentRate}, outside (0, 1)`,
    );
  }
  assertFiniteNumber('cupedCorrelation', rho);
  if (rho < 0 || rho >= 1) {
    throw new TracksError(
      `cupedCorrelation must be at least 0 and below 1, got ${rho}` +
        (rho < 0 && rho > -1 ? ` (a negative correlation helps as much: give ${-rho})` : ''),
    );
  }
  const comparisons = tracks - 1;
  const adjustedAlpha = alpha / comparisons;
  const effectSize = cohenH(treatmentRate, input.baseline);
  // Power depends on h·√n only, so multiplying the variance by 1 − ρ² is dividing h by
  // √(1 − ρ²): n then comes out exactly 1 − ρ² times the unadjusted n, before rounding up.
  const cupedEffectSize = effectSize / Math.sqrt(1 - rho * rho);
  const usersPerTrack = Math.ceil(requiredUsersPerTrack({ effectSize: cupedEffectSize, power, alpha: adjustedAlpha }));
  const totalUsers = usersPerTrack * tracks;
  const result: SampleSizeResult = {
    usersPerTrack,
    totalUsers,
    comparisons,
    adjustedAlpha,
    treatmentRate,
    effectSize,
  };
  if (input.dailyUsers === undefined) return result;
  assertPositive('dailyUsers', input.dailyUsers);
  return { ...result, days: Math.ceil(totalUsers / input.dailyUsers) };
}
