/**
 * Caps (winsorization) as the stores apply them: what `summarize()` is asked to cap, the cap a
 * set and phase's users were limited to, and where a percentile cap falls among the values.
 */

/**
 * Which per-user value a cap limits: the kind of the metric it is declared on.
 *
 * @example
 * ```ts
 * const kind: CapKind = 'sum'; // revenue: each user's total is capped
 * const sums = await store.summarize({ trackSetId: 'pricing', caps: [{ metric: 'revenue', kind, value: 1000 }] });
 * ```
 */
export type CapKind = 'sum' | 'count' | 'mean';

/**
 * A cap asked of `summarize()`: a metric, its kind, and a fixed value or a percentile.
 *
 * @example
 * ```ts
 * const cap: CapRequest = { metric: 'revenue', kind: 'sum', percentile: 0.99 };
 * const sums = await store.summarize({ trackSetId: 'pricing', caps: [cap] });
 * ```
 */
export interface CapRequest {
  readonly metric: string;
  readonly kind: CapKind;
  readonly value?: number | undefined;
  /** Over every unit of the set and phase (zeros included for sum and count; the converted units for mean). */
  readonly percentile?: number | undefined;
}

/** The cap one set and phase's users of a metric were limited to. */
export interface AppliedCap {
  readonly kind: CapKind;
  readonly value: number;
}

/**
 * Where a percentile cap sits among `units` values sorted in descending order (1 is the
 * largest): the value ranked ceil(q * units) in ascending order. A rank beyond the units
 * that have a value falls on a zero.
 */
export function percentileRank(q: number, units: number): number {
  // q·units in floating point can land just above a whole number (0.07 × 100 = 7.000000000000001).
  return units - Math.ceil(q * units - 1e-9) + 1;
}
