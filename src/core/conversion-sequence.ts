/**
 * How many conversions this process has recorded, as a sequence number (modulo 2^30, so it
 * stays a small integer): a run notes it when it is made, and recording tells from it whether
 * a conversion of the run's user came between the run's `new` and its first use, which makes
 * that conversion history instead of an outcome (see recording/conversion-order.ts).
 *
 * @example
 * ```ts
 * const before = conversionSequence();
 * const after = nextConversion();
 * conversionCameAfter(after, before); // true
 * ```
 */
let sequence = 0;

const MASK = 2 ** 30 - 1;

/** The sequence number of the latest conversion recorded (0 before the first). */
export function conversionSequence(): number {
  return sequence;
}

/** Counts a conversion recorded; its sequence number. */
export function nextConversion(): number {
  sequence = (sequence + 1) & MASK;
  return sequence;
}

/** Whether the conversion numbered `conversion` was recorded after the sequence stood at `at` (within half the range). */
export function conversionCameAfter(conversion: number, at: number): boolean {
  const ahead = (conversion - at) & MASK;
  return ahead > 0 && ahead < 2 ** 29;
}
