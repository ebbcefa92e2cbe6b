import { TracksError } from '../errors.js';
import { waldEstimate, type Estimate, type InferenceOptions } from './inference.js';
import { relativeLift, type LiftResult } from './lift.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import { summarize, type MetricKind, type Summary, type SufficientStatistics } from './summary.js';
import { assertArray, assertNonNegative, assertObject, assertOptions } from './validate.js';

/**
 * One arm's estimate in one stratum: its users, its mean (a rate, a mean per user, or a ratio)
 * and the variance of that mean. What {@link stratifiedLift} combines.
 *
 * @example
 * ```ts
 * const arm: ArmEstimate = { n: 1000, mean: 0.052, squaredError: 0.052 * 0.948 / 1000 };
 * ```
 */
export interface ArmEstimate {
  readonly n: number;
  readonly mean: number;
  /** Variance of `mean` (the squared standard error). */
  readonly squaredError: number;
}

/**
 * One stratum of a stratified comparison: in tracks, one phase of a test (the users first
 * exposed while one configuration held), its baseline arm and its treatment arm.
 *
 * @example
 * ```ts
 * const control = armOf({ n: 500, sum: 25, sumSquares: 25 }, 'proportion');
 * const treatment = armOf({ n: 500, sum: 35, sumSquares: 35 }, 'proportion');
 * if (control.ok && treatment.ok) stratifiedLift([{ control, treatment } satisfies Stratum]);
 * ```
 */
export interface Stratum {
  readonly control: ArmEstimate;
  readonly treatment: ArmEstimate;
}

/**
 * Sufficient statistics of a ratio metric (sum of one value over the sum of another, across
 * units): per unit x (numerator) and y (denominator), their sums, sums of squares and the
 * sum of products, over every unit of the arm (zeros included).
 *
 * @example
 * ```ts
 * // orders per visit over 3 users with (orders, visits) = (1, 2), (0, 1), (2, 3)
 * const stats: RatioStatistics = { n: 3, sumX: 3, sumY: 6, sumSquaresX: 5, sumSquaresY: 14, sumProducts: 8 };
 * ```
 */
export interface RatioStatistics {
  readonly n: number;
  readonly sumX: number;
  readonly sumY: number;
  readonly sumSquaresX: number;
  readonly sumSquaresY: number;
  readonly sumProducts: number;
}

/**
 * The arm estimate of a rate or a mean per user: the mean and its squared standard error as
 * {@link summarize} computes them.
 *
 * @example
 * ```ts
 * const arm = armOf({ n: 3, sum: 6, sumSquares: 14 }, 'mean');
 * if (arm.ok) arm.squaredError; // 1 / 3
 * ```
 */
export function armOf(stats: SufficientStatistics, kind: MetricKind, name = 'stats'): StatResult<ArmEstimate> {
  const summary = summarize(stats, kind, name);
  if (!summary.ok) return summary;
  return computed({ n: summary.n, mean: summary.mean, squaredError: summary.variance / summary.n });
}

/**
 * The arm estimate of a ratio metric, R = Σx / Σy, with the delta-method variance of a ratio
 * of two correlated means (Deng, Knoblich and Lu, "Applying the Delta Method in Metric
 * Analytics", KDD 2018; GrowthBook's RatioStatistic):
 *
 *   Var(R) ≈ (1/n) · (s²ₓ/ȳ² − 2·x̄·sₓᵧ/ȳ³ + x̄²·s²ᵧ/ȳ⁴)
 *
 * with sample variances and covariance (divisor n − 1). The unit stays the randomized unit, so
 * a user with many visits does not count as many independent observations.
 *
 * @example
 * ```ts
 * const arm = ratioArm({ n: 3, sumX: 3, sumY: 6, sumSquaresX: 5, sumSquaresY: 14, sumProducts: 8 });
 * if (arm.ok) arm.mean; // 0.5 orders per visit
 * ```
 */
export function ratioArm(stats: RatioStatistics, name = 'stats'): StatResult<ArmEstimate> {
  if (typeof name !== 'string') throw new TracksError(`ratioArm: the name must be a string (how messages call the arm, 'control' say), got ${typeof name}`);
  assertObject(`ratioArm: ${name}`, stats, '{ n, sumX, sumY, sumSquaresX, sumSquaresY, sumProducts }');
  for (const key of ['n', 'sumSquaresX', 'sumSquaresY'] as const) assertNonNegative(`${name}.${key}`, stats[key]);
  const { n, sumX, sumY, sumSquaresX, sumSquaresY, sumProducts } = stats;
  if (n < 2) return cannotCompute(`${name} has fewer than 2 users, so its variance is unknown`);
  if (sumY === 0) return cannotCompute(`${name} has a denominator of 0, so the ratio is undefined`);
  const mx = sumX / n;
  const my = sumY / n;
  const varX = Math.max(0, (sumSquaresX - n * mx * mx) / (n - 1));
  const varY = Math.max(0, (sumSquaresY - n * my * my) / (n - 1));
  const covXY = (sumProducts - n * mx * my) / (n - 1);
  const variance = varX / (my * my) - (2 * mx * covXY) / (my * my * my) + (mx * mx * varY) / (my * my * my * my);
  return computed({ n, mean: mx / my, squaredError: Math.max(0, variance) / n });
}

/**
 * Lift of treatment over control combined across strata (in tracks, the phases of a test whose
 * weights or coverage changed), so that a change of split cannot bias it: the post-stratified
 * estimator of a stratified randomized experiment (Imbens and Rubin, "Causal Inference for
 * Statistics, Social, and Biomedical Sciences", 2015, chapter 9):
 *
 *   μ̂ = Σₚ wₚ·μ̂ₚ per arm,  Δ̂ = μ̂ₜ − μ̂꜀,  Var(Δ̂) = Σₚ wₚ²·(Var(μ̂ₜ,ₚ) + Var(μ̂꜀,ₚ)),  wₚ = Nₚ/N
 *
 * where Nₚ is the stratum's users in the two arms. Each arm's mean is thus the mean it would
 * have had with the strata mixed as the users were, whatever share of each stratum it got.
 * Degrees of freedom are Welch–Satterthwaite's over every cell; the relative lift uses the
 * delta method as {@link lift}. With one stratum of sufficient statistics this is exactly
 * {@link lift}. Strata where either arm has fewer than 2 users are left out.
 *
 * @example
 * ```ts
 * const result = stratifiedLift([
 *   { control: { n: 900, mean: 0.1, squaredError: 0.0001 }, treatment: { n: 100, mean: 0.1, squaredError: 0.0009 } },
 *   { control: { n: 100, mean: 0.2, squaredError: 0.0016 }, treatment: { n: 900, mean: 0.2, squaredError: 0.00018 } },
 * ]);
 * if (result.ok) result.absolute.estimate; // 0: no lift in either phase, none overall
 * ```
 */
export function stratifiedLift(strata: readonly Stratum[], options: InferenceOptions = {}): StatResult<LiftResult> {
  assertArray('stratifiedLift: strata', strata, '[{ control, treatment }] (one per phase)');
  strata.forEach((stratum, i) => {
    assertObject(`stratifiedLift: strata[${i}]`, stratum, '{ control: { n, sum, sumSquares }, treatment: { n, sum, sumSquares } }');
    assertObject(`stratifiedLift: strata[${i}].control`, stratum.control, '{ n, sum, sumSquares }');
    assertObject(`stratifiedLift: strata[${i}].treatment`, stratum.treatment, '{ n, sum, sumSquares }');
  });
  assertOptions('stratifiedLift', options);
  const used = strata.filter((s) => s.control.n >= 2 && s.treatment.n >= 2);
  if (used.length === 0) {
    const one = strata.length === 1 ? strata[0]! : undefined;
    return cannotCompute(one ? `${one.control.n < 2 ? 'control' : 'treatment'} has fewer than 2 users` : 'no phase has 2 users in both tracks');
  }
  const total = used.reduce((n, s) => n + s.control.n + s.treatment.n, 0);
  let meanC = 0;
  let meanT = 0;
  let errorC = 0;
  let errorT = 0;
  const cells: { c: number; t: number; cn: number; tn: number }[] = [];
  for (const s of used) {
    const w = (s.control.n + s.treatment.n) / total;
    meanC += w * s.control.mean;
    meanT += w * s.treatment.mean;
    const c = w * w * s.control.squaredError;
    const t = w * w * s.treatment.squaredError;
    errorC += c;
    errorT += t;
    cells.push({ c, t, cn: s.control.n, tn: s.treatment.n });
  }
  if (errorC === 0 && errorT === 0) return cannotCompute('both tracks have zero variance');
  // Welch–Satterthwaite: the denominator sums each cell's (w²·s²/n)² / (n − 1). Every error is
  // taken over the largest first (the ratio does not change), so squares of errors of values
  // near 1e100 do not pass the largest double.
  // (Summed as welchDegreesOfFreedom sums them: one stratum gives lift()'s figure to the last bit.)
  const largest = cells.reduce((m, x) => Math.max(m, x.c, x.t), 0);
  let scaledTotal = 0;
  let dfDenominator = 0;
  for (const x of cells) {
    const c = x.c / largest;
    const t = x.t / largest;
    scaledTotal += c + t;
    dfDenominator += (c * c) / (x.cn - 1) + (t * t) / (x.tn - 1);
  }
  const df = (scaledTotal * scaledTotal) / dfDenominator;
  const control = pooledSummary(used.map((s) => s.control), meanC, errorC);
  const treatment = pooledSummary(used.map((s) => s.treatment), meanT, errorT);
  const absolute: Estimate = waldEstimate(meanT - meanC, Math.sqrt(errorC + errorT), df, options);
  return computed({ control, treatment, absolute, relative: relativeLift(control, treatment, errorC, errorT, df, options) });
}

/** A Summary of a combined arm: its users, its standardized mean, and a variance consistent with its standard error. */
function pooledSummary(arms: readonly ArmEstimate[], mean: number, squaredError: number): Summary {
  const n = arms.reduce((sum, a) => sum + a.n, 0);
  return { n, mean, variance: squaredError * n, standardError: Math.sqrt(squaredError) };
}
