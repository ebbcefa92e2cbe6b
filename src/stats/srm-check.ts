import { TracksError } from '../errors.js';
import { chiSquareSf } from './distributions.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import { assertArray, assertNonNegative, assertOpenUnitInterval, assertOptions } from './validate.js';

/**
 * Options of {@link srmCheck}. `threshold` is the p-value below which the split is flagged
 * as a mismatch; 0.001 by default, the usual convention (a healthy experiment is flagged
 * once in a thousand checks).
 *
 * @example
 * ```ts
 * srmCheck([5030, 4970], [1, 1], { threshold: 0.0005 });
 * ```
 */
export interface SrmCheckOptions {
  readonly threshold?: number | undefined;
}

/**
 * Result of {@link srmCheck}.
 *
 * @example
 * ```ts
 * const result = srmCheck([5200, 4800], [50, 50]);
 * if (result.ok && result.mismatch) console.warn(`sample ratio mismatch, p = ${result.pValue}`);
 * ```
 */
export interface SrmCheckResult {
  /** Pearson's chi-square statistic. */
  readonly statistic: number;
  /** Number of tracks with a positive weight, minus one (0 for an impossible split with one weighted track). */
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  /** Users expected per track under the configured weights, in input order. */
  readonly expected: readonly number[];
  /** True when `pValue < threshold`. */
  readonly mismatch: boolean;
}

/**
 * Sample-ratio-mismatch check: Pearson's chi-square goodness-of-fit test of the observed
 * users per track against the configured weights (any positive scale: `[1, 1]`,
 * `[50, 50]` and `[0.5, 0.5]` are the same split). A mismatch means assignment or recording
 * is broken, and no lift from this experiment can be trusted.
 *
 * Tracks with weight 0 and no users are ignored; users in a track with weight 0 are an
 * impossible split, reported with statistic `Infinity` and p-value 0, also when only one track
 * has a positive weight. One positive weight and no users elsewhere is "cannot compute".
 *
 * @example
 * ```ts
 * const result = srmCheck([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]);
 * if (result.ok) result.pValue; // ≈ 0.6234
 * ```
 */
export function srmCheck(
  observed: readonly number[],
  weights: readonly number[],
  options: SrmCheckOptions = {},
): StatResult<SrmCheckResult> {
  assertArray('srmCheck: observed', observed, '[16, 18, 16] (users per track)');
  assertArray('srmCheck: weights', weights, '[1, 1, 1] (the tracks\' weights)');
  assertOptions('srmCheck', options);
  const threshold = options.threshold ?? 0.001;
  assertOpenUnitInterval('srmCheck: threshold', threshold);
  if (observed.length !== weights.length) {
    throw new TracksError(
      `srmCheck: observed and weights must have the same length (one entry per track), got ${observed.length} and ${weights.length}`,
    );
  }
  observed.forEach((count, i) => {
    assertNonNegative(`srmCheck: observed[${i}]`, count);
    if (!Number.isInteger(count)) throw new TracksError(`srmCheck: observed[${i}] must be a whole number (users), got ${count}`);
  });
  weights.forEach((weight, i) => assertNonNegative(`srmCheck: weights[${i}]`, weight));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  if (totalWeight === 0) throw new TracksError('srmCheck: weights must not all be 0; give each track its weight, e.g. [1, 1, 1]');

  const total = observed.reduce((a, b) => a + b, 0);
  if (total === 0) return cannotCompute('no users have been assigned yet');
  const cells = weights.filter((weight) => weight > 0).length;
  if (cells < 2) {
    // Users in a weight-0 track are an impossible split however many tracks are weighted;
    // without such users one weighted track leaves nothing to test.
    if (!observed.some((count, i) => count > 0 && weights[i] === 0)) return cannotCompute('fewer than 2 tracks have a positive weight');
    const expected = weights.map((weight) => (weight > 0 ? total : 0));
    return computed({ statistic: Number.POSITIVE_INFINITY, degreesOfFreedom: 0, pValue: 0, expected, mismatch: true });
  }

  // Shares from weights scaled by the largest first: weights near the largest double (1e308)
  // would overflow total * weight.
  const largest = Math.max(...weights);
  const scaled = weights.map((weight) => weight / largest);
  const scaledTotal = scaled.reduce((a, b) => a + b, 0);
  const expected = scaled.map((share) => (total * share) / scaledTotal);
  let statistic = 0;
  observed.forEach((count, i) => {
    const e = expected[i] ?? 0;
    if (e > 0) statistic += ((count - e) * (count - e)) / e;
    else if (count > 0) statistic = Number.POSITIVE_INFINITY;
  });
  const degreesOfFreedom = cells - 1;
  // A user where a share rounds to nothing is as far from the split as it gets.
  const pValue = Number.isFinite(statistic) ? chiSquareSf(statistic, degreesOfFreedom) : 0;
  return computed({ statistic, degreesOfFreedom, pValue, expected, mismatch: pValue < threshold });
}
