import { TracksError } from '../errors.js';
import { chiSquareSf } from './distributions.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import { assertFiniteNumber, assertPositive } from './validate.js';

/**
 * One group's estimate of an effect and its standard error, for {@link heterogeneityTest}: in
 * tracks, a track's lift over the baseline in one segment (country, platform, plan).
 *
 * @example
 * ```ts
 * const germany: GroupEstimate = { estimate: 0.012, standardError: 0.004 };
 * ```
 */
export interface GroupEstimate {
  readonly estimate: number;
  readonly standardError: number;
}

/**
 * Result of {@link heterogeneityTest}: Cochran's Q, its degrees of freedom (groups − 1), the
 * p-value of "the effect is the same in every group", I² (the share of the variation between
 * groups beyond chance, 0 to 1) and the inverse-variance pooled effect.
 *
 * @example
 * ```ts
 * const result = heterogeneityTest(groups);
 * if (result.ok && result.pValue < 0.05) console.log(`the effect differs between segments (I² = ${result.iSquared})`);
 * ```
 */
export interface HeterogeneityResult {
  readonly q: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  readonly iSquared: number;
  readonly pooled: number;
}

/**
 * Cochran's Q test of whether an effect differs between independent groups (Cochran, "The
 * combination of estimates from different experiments", Biometrics 1954; Higgins and
 * Thompson, "Quantifying heterogeneity in a meta-analysis", Statistics in Medicine 2002, for
 * I²). With weights wᵢ = 1/seᵢ² and the pooled effect θ̄ = Σwᵢθᵢ / Σwᵢ:
 *
 *   Q = Σ wᵢ (θᵢ − θ̄)²,  Q ~ χ²(k − 1) when every group has the same effect,  I² = max(0, (Q − (k − 1)) / Q)
 *
 * Assumes the groups' estimates are independent (segments partition the users) and roughly
 * normal (enough users per segment). Needs at least 2 groups.
 *
 * @example
 * ```ts
 * // scipy: chi2.sf(Q, 2) for these three groups
 * const result = heterogeneityTest([
 *   { estimate: 0.10, standardError: 0.02 },
 *   { estimate: 0.02, standardError: 0.03 },
 *   { estimate: 0.05, standardError: 0.025 },
 * ]);
 * if (result.ok) result.pValue; // 0.0597 (Q = 5.64 on 2 degrees of freedom)
 * ```
 */
export function heterogeneityTest(groups: readonly GroupEstimate[]): StatResult<HeterogeneityResult> {
  if (!Array.isArray(groups)) throw new TracksError('groups must be an array of { estimate, standardError }');
  groups.forEach((g, i) => {
    if (g === null || typeof g !== 'object') throw new TracksError(`groups[${i}] must be an object { estimate, standardError }`);
    assertFiniteNumber(`groups[${i}].estimate`, g.estimate);
    assertPositive(`groups[${i}].standardError`, g.standardError);
  });
  if (groups.length < 2) return cannotCompute('fewer than 2 groups to compare');
  let weights = 0;
  let weighted = 0;
  for (const g of groups) {
    const w = 1 / (g.standardError * g.standardError);
    weights += w;
    weighted += w * g.estimate;
  }
  const pooled = weighted / weights;
  let q = 0;
  for (const g of groups) q += ((g.estimate - pooled) / g.standardError) ** 2;
  const df = groups.length - 1;
  return computed({ q, degreesOfFreedom: df, pValue: chiSquareSf(q, df), iSquared: q > df ? (q - df) / q : 0, pooled });
}
