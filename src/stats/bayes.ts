import { normalCdf, normalPdf, normalQuantile } from './distributions.js';
import type { Estimate, Interval } from './inference.js';
import { lift, type LiftResult } from './lift.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import type { MetricKind, SufficientStatistics } from './summary.js';
import { assertFiniteNumber, assertOpenUnitInterval, assertOptions, assertPositive, checkLiftResult } from './validate.js';

/**
 * A normal prior on the effect, in the units of the effect (a relative lift of 0.05 is +5%).
 *
 * @example
 * ```ts
 * // "lifts are usually within ±30%": centred on no effect, standard deviation 0.3
 * const prior: GaussianPrior = { mean: 0, variance: 0.3 ** 2 };
 * ```
 */
export interface GaussianPrior {
  readonly mean: number;
  readonly variance: number;
}

/**
 * Options of {@link bayesianComparison}.
 *
 * @example
 * ```ts
 * const options: BayesOptions = { kind: 'proportion', difference: 'relative' };
 * ```
 */
export interface BayesOptions {
  /** How variances are estimated; `'mean'` by default. */
  readonly kind?: MetricKind | undefined;
  /** Whether the effect is the relative lift (default) or the absolute difference. */
  readonly difference?: 'relative' | 'absolute' | undefined;
  /** Normal prior on the effect; omitted means a flat (improper) prior. */
  readonly prior?: GaussianPrior | undefined;
  /** The credible interval has probability 1 − alpha; 0.05 by default. */
  readonly alpha?: number | undefined;
}

/**
 * Posterior summary of the effect of treatment over control.
 *
 * @example
 * ```ts
 * const result = bayesianComparison(control, treatment, { kind: 'proportion' });
 * if (result.ok) console.log(`${(100 * result.chanceToBeatControl).toFixed(1)}% chance to win`);
 * ```
 */
export interface BayesResult {
  readonly difference: 'relative' | 'absolute';
  /** Posterior mean of the effect. */
  readonly expected: number;
  /** Posterior standard deviation of the effect. */
  readonly standardDeviation: number;
  /** Central posterior interval with probability 1 − alpha. */
  readonly credibleInterval: Interval;
  /** Posterior probability that the effect is positive. */
  readonly chanceToBeatControl: number;
  /**
   * Expected loss, in the effect's units: `treatment` is E[max(−effect, 0)], what shipping
   * treatment costs on average if it is in fact worse; `control` is E[max(effect, 0)], what
   * keeping control costs if treatment is in fact better.
   */
  readonly risk: { readonly control: number; readonly treatment: number };
}

/**
 * Bayesian chance to beat control and expected loss (risk), with the model GrowthBook's
 * gbstats uses for its effect-based Bayesian engine: the estimated effect (relative lift by
 * the delta method, or absolute difference) is treated as normally distributed around the
 * true effect with its standard error, combined with a normal prior on the effect
 * (flat by default), giving a normal posterior N(μ, σ²). Then
 *
 * - chance to beat control = Φ(μ/σ)
 * - risk of shipping treatment = σ·φ(μ/σ) − μ·Φ(−μ/σ)
 * - risk of keeping control = σ·φ(μ/σ) + μ·Φ(μ/σ)
 *
 * The normal approximation needs enough users in each track for the central limit theorem
 * (a few hundred, and a few dozen conversions, per track).
 *
 * @example
 * ```ts
 * const result = bayesianComparison(
 *   { n: 100, sum: 49, sumSquares: 49 },
 *   { n: 100, sum: 51, sumSquares: 51 },
 *   { kind: 'proportion' },
 * );
 * if (result.ok) result.chanceToBeatControl; // ≈ 0.609
 * ```
 */
export function bayesianComparison(
  control: SufficientStatistics,
  treatment: SufficientStatistics,
  options: BayesOptions = {},
): StatResult<BayesResult> {
  assertOptions('bayesianComparison', options);
  checkOptions(options);
  const observed = lift(control, treatment, { kind: options.kind ?? 'mean' });
  if (!observed.ok) return observed;
  return posteriorOf(observed, options);
}

/**
 * The posterior of a lift already estimated (by {@link lift} or a stratified lift): a normal
 * likelihood from its estimate and standard error, with the prior of `options`.
 *
 * @example
 * ```ts
 * const fixed = lift(control, treatment, { kind: 'proportion' });
 * if (fixed.ok) posteriorOf(fixed); // chance to beat control, risk
 * ```
 */
export function posteriorOf(observed: LiftResult, options: Omit<BayesOptions, 'kind'> = {}): StatResult<BayesResult> {
  checkLiftResult('posteriorOf', observed);
  assertOptions('posteriorOf', options);
  checkOptions(options);
  const alpha = options.alpha ?? 0.05;
  const difference = options.difference ?? 'relative';
  let effect: Estimate = observed.absolute;
  if (difference === 'relative') {
    if (!observed.relative.ok) return cannotCompute(observed.relative.reason);
    effect = observed.relative;
  }

  const dataPrecision = 1 / (effect.standardError * effect.standardError);
  let precision = dataPrecision;
  let weighted = effect.estimate * dataPrecision;
  if (options.prior) {
    precision += 1 / options.prior.variance;
    weighted += options.prior.mean / options.prior.variance;
  }
  const mean = weighted / precision;
  const sd = Math.sqrt(1 / precision);
  const z = mean / sd;
  const margin = normalQuantile(1 - alpha / 2) * sd;
  const density = sd * normalPdf(z);
  return computed({
    difference,
    expected: mean,
    standardDeviation: sd,
    credibleInterval: [mean - margin, mean + margin] as const,
    chanceToBeatControl: normalCdf(z),
    risk: {
      control: density + mean * normalCdf(z),
      treatment: density - mean * normalCdf(-z),
    },
  });
}

function checkOptions(options: BayesOptions): void {
  assertOpenUnitInterval('alpha', options.alpha ?? 0.05);
  if (options.prior) {
    assertFiniteNumber('prior.mean', options.prior.mean);
    assertPositive('prior.variance', options.prior.variance);
  }
}
