import {
  normalQuantile,
  SMALLEST_PROBABILITY,
  twoSidedNormalPValue,
  upperTailPValue,
} from './distributions.js';
import {
  readAlpha,
  readAlternative,
  type Estimate,
  type InferenceOptions,
  type Interval,
} from './inference.js';
import { wilsonScoreInterval } from './rate-interval.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import type { SufficientStatistics } from './summary.js';
import { assertConversions, assertOptions } from './validate.js';

/**
 * Result of {@link proportionTest}: the difference of conversion rates (treatment −
 * control) as an {@link Estimate} whose `standardError` and `confidenceInterval` are
 * unpooled (Wald), while `z` and `pValue` use the pooled standard error of the test.
 *
 * @example
 * ```ts
 * const result = proportionTest(control, treatment);
 * if (result.ok) console.log(result.z, result.pValue, result.confidenceInterval);
 * ```
 */
export interface ProportionTestResult extends Estimate {
  readonly z: number;
  /** Standard error under the null hypothesis of equal rates, from the pooled rate. */
  readonly pooledStandardError: number;
  readonly controlRate: number;
  readonly treatmentRate: number;
}

/**
 * Two-proportion z-test for a binary metric (`sum` = converted users). The test statistic
 * uses the pooled rate, as under the null hypothesis both tracks share one rate (this equals
 * R's `prop.test(correct = FALSE)` and statsmodels' `proportions_ztest`); the confidence
 * interval uses each track's own rate (unpooled Wald interval), as it describes the
 * difference when the rates differ. When each track is at 0% or 100% (0 of 28 against 32 of
 * 32), the Wald interval has zero width; the interval is then Newcombe's hybrid score interval
 * (Newcombe 1998, method 10: the tracks' Wilson intervals combined), which stays honest there.
 *
 * @example
 * ```ts
 * const result = proportionTest(
 *   { n: 99, sum: 12, sumSquares: 12 }, // control: 12 of 99 converted
 *   { n: 83, sum: 5, sumSquares: 5 },   // treatment: 5 of 83
 * );
 * if (result.ok) result.z; // -1.4078304151258787
 * ```
 */
export function proportionTest(
  control: SufficientStatistics,
  treatment: SufficientStatistics,
  options: InferenceOptions = {},
): StatResult<ProportionTestResult> {
  assertOptions('proportionTest', options);
  assertConversions('control', control);
  assertConversions('treatment', treatment);
  const alpha = readAlpha(options.alpha, 'proportionTest');
  const alternative = readAlternative(options.alternative);
  if (control.n === 0) return cannotCompute('control has zero users');
  if (treatment.n === 0) return cannotCompute('treatment has zero users');

  const controlRate = control.sum / control.n;
  const treatmentRate = treatment.sum / treatment.n;
  const pooledRate = (control.sum + treatment.sum) / (control.n + treatment.n);
  if (pooledRate === 0 || pooledRate === 1) {
    return cannotCompute(
      `both tracks have zero variance (every user ${pooledRate === 0 ? 'did not convert' : 'converted'})`,
    );
  }
  const estimate = treatmentRate - controlRate;
  const pooledStandardError = Math.sqrt(
    pooledRate * (1 - pooledRate) * (1 / control.n + 1 / treatment.n),
  );
  const standardError = Math.sqrt(
    (controlRate * (1 - controlRate)) / control.n +
      (treatmentRate * (1 - treatmentRate)) / treatment.n,
  );
  const z = estimate / pooledStandardError;

  let pValue: number;
  let confidenceInterval: Interval;
  // No spread within either track: the Wald interval would be the point itself.
  const interval = (zValue: number): Interval =>
    standardError > 0
      ? [estimate - zValue * standardError, estimate + zValue * standardError]
      : newcombeInterval(control, treatment, zValue);
  if (alternative === 'two-sided') {
    pValue = twoSidedNormalPValue(z);
    confidenceInterval = interval(normalQuantile(1 - alpha / 2));
  } else {
    const [low, high] = interval(normalQuantile(1 - alpha));
    const greater = alternative === 'greater';
    pValue = upperTailPValue(greater ? z : -z, Number.POSITIVE_INFINITY);
    confidenceInterval = greater ? [low, Number.POSITIVE_INFINITY] : [Number.NEGATIVE_INFINITY, high];
  }
  return computed({
    estimate,
    standardError,
    degreesOfFreedom: Number.POSITIVE_INFINITY,
    confidenceInterval,
    pValue: Math.max(pValue, SMALLEST_PROBABILITY),
    z,
    pooledStandardError,
    controlRate,
    treatmentRate,
  });
}

/** Newcombe's hybrid score interval for the difference of two rates (treatment − control). */
function newcombeInterval(control: SufficientStatistics, treatment: SufficientStatistics, z: number): Interval {
  const c = control.sum / control.n;
  const t = treatment.sum / treatment.n;
  const [lc, uc] = wilsonScoreInterval(control.sum, control.n, z);
  const [lt, ut] = wilsonScoreInterval(treatment.sum, treatment.n, z);
  const d = t - c;
  return [d - Math.hypot(t - lt, uc - c), d + Math.hypot(ut - t, c - lc)];
}
