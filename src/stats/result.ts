/**
 * What every statistic returns when its inputs are well-formed but the number cannot be
 * computed: zero users, zero variance in both arms, a zero baseline for a relative lift.
 * Callers branch on `ok` instead of checking for `NaN` or catching exceptions, and can show
 * `reason` to a person as is.
 *
 * @example
 * ```ts
 * const result = welchTest(control, treatment);
 * if (!result.ok) console.warn(`cannot compute: ${result.reason}`);
 * else console.log(result.pValue);
 * ```
 */
export type StatResult<T extends object> = ({ readonly ok: true } & T) | CannotCompute;

/**
 * The "cannot compute" branch of {@link StatResult}: `reason` is one short, human-readable
 * sentence fragment such as `'control has zero users'`.
 *
 * @example
 * ```ts
 * const failure: CannotCompute = { ok: false, reason: 'control has zero users' };
 * ```
 */
export interface CannotCompute {
  readonly ok: false;
  readonly reason: string;
}

/** Builds the "cannot compute" branch. Internal helper, not exported from the barrel. */
export function cannotCompute(reason: string): CannotCompute {
  return { ok: false, reason };
}

/** Builds the success branch. Internal helper, not exported from the barrel. */
export function computed<T extends object>(value: T): { readonly ok: true } & T {
  return { ok: true, ...value };
}
