import { TracksError } from '../errors.js';
import {
  SMALLEST_PROBABILITY,
  studentTQuantile,
  twoSidedTPValue,
  upperTailPValue,
} from './distributions.js';
import { assertOpenUnitInterval } from './validate.js';

/**
 * Which difference the test looks for: any (`'two-sided'`, the default), treatment above
 * control (`'greater'`) or treatment below control (`'less'`).
 *
 * @example
 * ```ts
 * welchTest(control, treatment, { alternative: 'greater' });
 * ```
 */
export type Alternative = 'two-sided' | 'greater' | 'less';

/**
 * A confidence interval `[lower, upper]`; one-sided tests give an infinite bound.
 *
 * @example
 * ```ts
 * const [lower, upper]: Interval = [0.045, 0.535];
 * ```
 */
export type Interval = readonly [lower: number, upper: number];

/**
 * An estimate with its standard error, degrees of freedom, confidence interval and p-value
 * against "no difference".
 *
 * @example
 * ```ts
 * const lift: Estimate = {
 *   estimate: 0.29, standardError: 0.1248, degreesOfFreedom: 6001,
 *   confidenceInterval: [0.0454, 0.5346], pValue: 0.0202,
 * };
 * ```
 */
export interface Estimate {
  readonly estimate: number;
  readonly standardError: number;
  /** `Infinity` when the reference distribution is the normal law. */
  readonly degreesOfFreedom: number;
  readonly confidenceInterval: Interval;
  readonly pValue: number;
}

export interface InferenceOptions {
  readonly alpha?: number | undefined;
  readonly alternative?: Alternative | undefined;
}

export function readAlpha(alpha: number | undefined, fn?: string): number {
  const value = alpha ?? 0.05;
  assertOpenUnitInterval(fn === undefined ? 'alpha' : `${fn}: alpha`, value);
  return value;
}

export function readAlternative(alternative: Alternative | undefined): Alternative {
  const value = alternative ?? 'two-sided';
  if (value !== 'two-sided' && value !== 'greater' && value !== 'less') {
    throw new TracksError(`alternative must be 'two-sided', 'greater' or 'less', got ${String(value)}`);
  }
  return value;
}

/**
 * Wald-type inference for an estimate whose sampling distribution is t with `df` degrees of
 * freedom (normal when df is Infinity). Internal: the tests build on it.
 */
export function waldEstimate(
  estimate: number,
  standardError: number,
  df: number,
  options: InferenceOptions,
): Estimate {
  const alpha = readAlpha(options.alpha);
  const alternative = readAlternative(options.alternative);
  const t = estimate / standardError;
  let pValue: number;
  let confidenceInterval: Interval;
  if (alternative === 'two-sided') {
    const margin = studentTQuantile(1 - alpha / 2, df) * standardError;
    pValue = twoSidedTPValue(t, df);
    confidenceInterval = [estimate - margin, estimate + margin];
  } else {
    const margin = studentTQuantile(1 - alpha, df) * standardError;
    if (alternative === 'greater') {
      pValue = upperTailPValue(t, df);
      confidenceInterval = [estimate - margin, Number.POSITIVE_INFINITY];
    } else {
      pValue = upperTailPValue(-t, df);
      confidenceInterval = [Number.NEGATIVE_INFINITY, estimate + margin];
    }
  }
  return {
    estimate,
    standardError,
    degreesOfFreedom: df,
    confidenceInterval,
    pValue: Math.max(pValue, SMALLEST_PROBABILITY),
  };
}
