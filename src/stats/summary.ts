import { cannotCompute, computed, type StatResult } from './result.js';
import { assertConversions, assertPossibleSquares, assertStatistics, readKind } from './validate.js';

/**
 * Per-track sufficient statistics of one metric: the number of users `n`, the sum of their
 * values and the sum of their squared values. For a binary metric (converted or not) both
 * `sum` and `sumSquares` are the number of converted users. Every function in the statistics
 * layer works from these three numbers, so a report never needs per-user rows.
 *
 * @example
 * ```ts
 * const control: SufficientStatistics = { n: 1000, sum: 52, sumSquares: 52 }; // 5.2% conversion
 * const revenue: SufficientStatistics = { n: 3, sum: 6, sumSquares: 14 }; // values 1, 2, 3
 * ```
 */
export interface SufficientStatistics {
  readonly n: number;
  readonly sum: number;
  readonly sumSquares: number;
}

/**
 * How a metric's variance is estimated.
 * - `'mean'`: a continuous metric; the unbiased sample variance (divisor n − 1).
 * - `'proportion'`: a binary metric; the Bernoulli variance p(1 − p) (divisor n), the
 *   convention of the two-proportion z-test, statsmodels and GrowthBook.
 *
 * @example
 * ```ts
 * const kind: MetricKind = 'proportion';
 * ```
 */
export type MetricKind = 'mean' | 'proportion';

/**
 * Mean, variance of one observation and standard error of the mean for one track.
 *
 * @example
 * ```ts
 * const summary: Summary = { n: 3, mean: 2, variance: 1, standardError: 0.5773502691896258 };
 * ```
 */
export interface Summary {
  readonly n: number;
  readonly mean: number;
  /** Variance of a single observation (not of the mean). */
  readonly variance: number;
  /** Standard error of the mean, sqrt(variance / n). */
  readonly standardError: number;
}

/**
 * Mean and variance from sufficient statistics. Cannot compute with zero users, or, for
 * `'mean'`, fewer than two users (the sample variance is undefined).
 *
 * @example
 * ```ts
 * const result = summarize({ n: 3, sum: 6, sumSquares: 14 });
 * if (result.ok) console.log(result.mean, result.variance); // 2 1
 * ```
 */
export function summarize(
  stats: SufficientStatistics,
  kind: MetricKind = 'mean',
  name = 'stats',
): StatResult<Summary> {
  if (readKind(kind) === 'proportion') assertConversions(name, stats);
  else {
    assertStatistics(name, stats);
    assertPossibleSquares(name, 'sum', 'sumSquares', stats.n, stats.sum, stats.sumSquares);
  }
  const { n, sum, sumSquares } = stats;
  if (n === 0) return cannotCompute(`${name} has zero users`);
  const mean = sum / n;
  let variance: number;
  if (kind === 'proportion') {
    variance = mean * (1 - mean);
  } else {
    if (n < 2) return cannotCompute(`${name} has fewer than 2 users, so its variance is unknown`);
    // sumSquares - sum²/n cancels catastrophically when the spread is tiny next to the mean;
    // a slightly negative result is rounding noise, not a negative variance.
    variance = Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1));
  }
  return computed({ n, mean, variance, standardError: Math.sqrt(variance / n) });
}
