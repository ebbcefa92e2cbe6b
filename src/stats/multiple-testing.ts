import { TracksError } from '../errors.js';
import { quoted, shown } from '../text.js';
import { assertUnitInterval } from './validate.js';

/**
 * A multiple-testing correction: `'holm'` (Holm–Bonferroni, controls the family-wise error
 * rate; the default) or `'benjamini-hochberg'` (controls the false discovery rate; `'bh'`,
 * as `tracks report --correction bh` spells it, is the same).
 *
 * @example
 * ```ts
 * const method: CorrectionMethod = 'benjamini-hochberg';
 * ```
 */
export type CorrectionMethod = 'holm' | 'benjamini-hochberg' | 'bh';

function checkPValues(pValues: readonly number[]): void {
  if (!Array.isArray(pValues)) throw new TracksError('pValues must be an array of numbers');
  pValues.forEach((p, i) => assertUnitInterval(`pValues[${i}]`, p));
}

/** Indices of `pValues` sorted by ascending p-value (stable, so ties keep input order). */
function ascendingOrder(pValues: readonly number[]): number[] {
  return pValues.map((_, i) => i).sort((a, b) => (pValues[a] ?? 0) - (pValues[b] ?? 0));
}

/**
 * Holm–Bonferroni step-down adjusted p-values, in input order: the i-th smallest p-value is
 * multiplied by (m − i + 1), then a running maximum keeps the adjusted values monotone, and
 * values are capped at 1. Rejecting every hypothesis whose adjusted p-value is ≤ alpha
 * controls the family-wise error rate at alpha under any dependence. Same as R's
 * `p.adjust(p, "holm")`.
 *
 * @example
 * ```ts
 * holm([0.01, 0.04, 0.03]); // [0.03, 0.06, 0.06]
 * ```
 */
export function holm(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m).fill(1);
  let runningMax = 0;
  ascendingOrder(pValues).forEach((index, rank) => {
    runningMax = Math.max(runningMax, Math.min(1, (m - rank) * (pValues[index] ?? 1)));
    adjusted[index] = runningMax;
  });
  return adjusted;
}

/**
 * Benjamini–Hochberg step-up adjusted p-values ("q-values"), in input order: the i-th
 * smallest p-value is multiplied by m / i, then a running minimum from the largest down keeps
 * them monotone, capped at 1. Rejecting adjusted p-values ≤ q controls the false discovery
 * rate at q for independent or positively dependent tests. Same as R's
 * `p.adjust(p, "BH")`.
 *
 * @example
 * ```ts
 * benjaminiHochberg([0.01, 0.04, 0.03]); // [0.03, 0.04, 0.04]
 * ```
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const adjusted = new Array<number>(m).fill(1);
  const order = ascendingOrder(pValues);
  let runningMin = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const index = order[rank] ?? 0;
    runningMin = Math.min(runningMin, (m / (rank + 1)) * (pValues[index] ?? 1));
    adjusted[index] = runningMin;
  }
  return adjusted;
}

/**
 * Adjusts a family of p-values (all tracks × all metrics of one report) with the chosen
 * correction, Holm by default. Returns adjusted p-values in input order.
 *
 * @example
 * ```ts
 * adjustPValues([0.01, 0.04, 0.03]);                       // Holm
 * adjustPValues([0.01, 0.04, 0.03], 'benjamini-hochberg'); // BH
 * ```
 */
export function adjustPValues(
  pValues: readonly number[],
  method: CorrectionMethod = 'holm',
): number[] {
  if (method === 'holm') return holm(pValues);
  if (method === 'benjamini-hochberg' || method === 'bh') return benjaminiHochberg(pValues);
  throw new TracksError(`adjustPValues: method must be 'holm' or 'benjamini-hochberg' (or 'bh'), got ${typeof method === 'string' ? quoted(method) : shown(method)}`);
}
