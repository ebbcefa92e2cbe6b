import { TracksError } from '../errors.js';
import { shown } from '../text.js';

/**
 * Whether `value` can be an object argument of the public API (options, a function's input, a
 * ramp): an object, not null and not an array. A plain boolean, not a type guard: the argument
 * keeps its declared type.
 *
 * @example
 * ```ts
 * isObjectArgument({ force: true }); // true
 * isObjectArgument([1, 2]);          // false
 * ```
 */
export function isObjectArgument(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The error for options of the wrong kind, the same from every call that takes them:
 * `<fn>: the options are <what was given>; give an object such as <example>, or leave them out`.
 *
 * @example
 * ```ts
 * if (options !== undefined && !isObjectArgument(options)) throw optionsError('renderReport', options, '{ latency: false }');
 * ```
 */
export function optionsError(fn: string, options: unknown, example: string): TracksError {
  return new TracksError(`${fn}: the options are ${shown(options)}; give an object such as ${example}, or leave them out`);
}
