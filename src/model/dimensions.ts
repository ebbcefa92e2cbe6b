import { nameProblem, utf8Length } from '../core/names.js';
import { quoted, shown } from '../text.js';

/**
 * Segments: the few low-cardinality attributes a track set records with each exposure
 * (`static dimensions(context)`, say country, platform and plan), so a report can break its
 * results down by one of them (`tracks report --by country`). Shared by recording, which
 * checks and bounds them, the stores, which keep them with the exposure, and the report.
 */

/** At most this many dimensions per exposure; more is a mistake (a dimension per request attribute). */
export const MAX_DIMENSIONS = 8;

/** A dimension's value is at most this many characters (longer values are cut by the recorder). */
export const MAX_DIMENSION_VALUE_LENGTH = 64;

/**
 * The stored dimensions (their JSON text, as every store keeps it) are at most this many bytes
 * of UTF-8. On PostgreSQL they are part of the exposure counts' key (set id, track, phase,
 * dimensions, day), which must stay under 2,704 bytes: with names of at most MAX_NAME_BYTES
 * (400) it stays under 2,500. Eight dimensions of 40-character names and 64-character ASCII
 * values fit, even all quotes (1,393 bytes); eight of 64 CJK characters (1,900) do not.
 */
export const MAX_DIMENSIONS_BYTES = 1600;

/** The bytes a dimension's name or value adds to the stored JSON, quoted and escaped. */
export function jsonBytes(text: string): number {
  return utf8Length(JSON.stringify(text));
}

/**
 * Each process records at most this many distinct values per set and dimension; later new
 * values are recorded as {@link OTHER_SEGMENT}, so a dimension fed by mistake with user ids
 * cannot flood the store or the report.
 */
export const MAX_VALUES_PER_DIMENSION = 50;

/** The value that stands for every value beyond the bounds. */
export const OTHER_SEGMENT = 'other';

/** The segment of users whose exposure has no value for the dimension (recorded before it existed, or the function returned none). */
export const NO_SEGMENT = '';

/** Dimension names are identifiers: they appear in `--by`, in JSON paths and in column headers. */
const DIMENSION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

/**
 * What is wrong with a dimension's name, or undefined.
 *
 * @example
 * ```ts
 * dimensionNameProblem('country'); // undefined
 * dimensionNameProblem('user id'); // "is 'user id'; ..."
 * ```
 */
export function dimensionNameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && DIMENSION_NAME.test(name)) return undefined;
  return `is ${typeof name === 'string' ? quoted(name) : shown(name)}; a dimension is named like an identifier: letters, digits and _, at most 40, not starting with a digit (country, platform, plan)`;
}

/**
 * What is wrong with an exposure's stored dimensions, or undefined: an object of at most
 * {@link MAX_DIMENSIONS} identifier names to non-empty printable strings of at most
 * {@link MAX_DIMENSION_VALUE_LENGTH} characters, {@link MAX_DIMENSIONS_BYTES} bytes in all as stored.
 */
export function dimensionsProblem(dimensions: unknown): string | undefined {
  if (typeof dimensions !== 'object' || dimensions === null || Array.isArray(dimensions)) return 'dimensions must be an object of names to strings';
  const entries = Object.entries(dimensions);
  if (entries.length > MAX_DIMENSIONS) return `dimensions has ${entries.length} entries; at most ${MAX_DIMENSIONS}`;
  for (const [name, value] of entries) {
    const bad = dimensionNameProblem(name);
    if (bad !== undefined) return `dimensions: the name ${bad}`;
    const problem = nameProblem(value);
    if (problem !== undefined) return `dimensions.${name} ${problem}`;
    if ((value as string).length > MAX_DIMENSION_VALUE_LENGTH) return `dimensions.${name} is ${(value as string).length} characters long; at most ${MAX_DIMENSION_VALUE_LENGTH}`;
  }
  // No code unit takes more than 3 bytes quoted (a quote or backslash 2, anything else in a
  // name or value at most 3): most dimensions are under the bound without being serialized.
  let most = 2;
  for (const [name, value] of entries) most += name.length + 3 * (value as string).length + 6;
  if (most <= MAX_DIMENSIONS_BYTES) return undefined;
  const bytes = utf8Length(JSON.stringify(dimensions));
  if (bytes > MAX_DIMENSIONS_BYTES) return `dimensions take ${bytes} bytes as stored (JSON, UTF-8); at most ${MAX_DIMENSIONS_BYTES}`;
  return undefined;
}
