import { printable, quoted } from '../text.js';
import { TracksError, messageOf } from '../errors.js';
import { MAX_DIMENSION_VALUE_LENGTH, MAX_DIMENSIONS, MAX_DIMENSIONS_BYTES, MAX_VALUES_PER_DIMENSION, OTHER_SEGMENT, dimensionNameProblem, jsonBytes } from '../model/dimensions.js';
import type { UnitOfKey } from '../model/unit.js';

/** A set class as this part reads it: its id and its `static dimensions`, if any. */
interface WithDimensions {
  readonly name?: string | undefined;
  readonly dimensions?: ((context: never) => unknown) | undefined;
}


/**
 * The dimensions an exposure records (`static dimensions(context)` of its set): checked and
 * bounded here, so a set cannot flood the store or the report. Values become strings (numbers
 * and booleans as text, unprintable characters replaced by U+FFFD, cut to 64 characters),
 * hashed with the keys' secret under `hashKeys`, at most {@link MAX_DIMENSIONS_BYTES} bytes in
 * all as stored (JSON); each set and dimension keeps at most
 * {@link MAX_VALUES_PER_DIMENSION} distinct values per process and records later ones as
 * 'other'. A function that throws, or returns names or values that break the rules, is
 * reported (the exposure is recorded with the rest).
 */
export class SegmentValues {
  readonly #units: UnitOfKey;
  readonly #report: (error: Error) => void;
  /** Distinct values recorded so far, by set and dimension. */
  readonly #seen = new Map<string, Set<string>>();

  constructor(units: UnitOfKey, report: (error: Error) => void) {
    this.#units = units;
    this.#report = report;
  }

  /** The dimensions to record for a run of `set` with `context`, or undefined when the set declares none or gives none. */
  of(set: WithDimensions, trackSetId: string, context: unknown): Record<string, string> | undefined {
    const declared = set.dimensions;
    if (typeof declared !== 'function') return undefined;
    let given: unknown;
    try {
      given = (declared as (context: unknown) => unknown).call(set, context);
    } catch (error) {
      this.#report(new TracksError(`${set.name ?? trackSetId}.dimensions(context) threw, so the exposure is recorded without dimensions: ${messageOf(error)}`));
      return undefined;
    }
    if (given === undefined || given === null) return undefined;
    if (typeof given !== 'object' || Array.isArray(given)) {
      this.#report(new TracksError(`${set.name ?? trackSetId}.dimensions(context) returned ${Array.isArray(given) ? 'an array' : typeof given}; return an object such as { country: 'de', plan: 'pro' }`));
      return undefined;
    }
    // Without a prototype, as a definition's weights: a dimension named '__proto__' is an ordinary key.
    const dimensions = Object.create(null) as Record<string, string>;
    let count = 0;
    let bytes = 2; // the JSON's braces
    for (const [name, raw] of Object.entries(given)) {
      if (raw === undefined || raw === null) continue;
      const problem = dimensionNameProblem(name);
      if (problem !== undefined) {
        this.#report(new TracksError(`${set.name ?? trackSetId}.dimensions: the name ${problem}; it is left out`));
        continue;
      }
      if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
        this.#report(new TracksError(`${set.name ?? trackSetId}.dimensions: ${quoted(name)} is ${typeof raw}; give a string, number or boolean (it is left out)`));
        continue;
      }
      // Cut to the bound without splitting a surrogate pair: half an emoji is not valid text, and
      // the store would refuse the whole exposure for it.
      const text = printable(String(raw).trim()).slice(0, MAX_DIMENSION_VALUE_LENGTH).replace(/[\ud800-\udbff]$/, '');
      // A blank value is no value, as undefined is: it neither counts toward the bound nor is recorded.
      if (text === '') continue;
      if (count === MAX_DIMENSIONS) {
        this.#report(new TracksError(`${set.name ?? trackSetId}.dimensions gives more than ${MAX_DIMENSIONS} dimensions; the rest are left out (segments are a few low-cardinality attributes)`));
        break;
      }
      const value = this.#bounded(trackSetId, name, this.#units.hashed ? this.#units.of(text) : text);
      // "name":"value", after a comma but for the first: the stores refuse more in all (a key
      // PostgreSQL could not index), so the rest are left out here instead.
      const size = (count === 0 ? 0 : 1) + jsonBytes(name) + 1 + jsonBytes(value);
      if (bytes + size > MAX_DIMENSIONS_BYTES) {
        this.#report(new TracksError(`${set.name ?? trackSetId}.dimensions gives more than ${MAX_DIMENSIONS_BYTES} bytes of dimensions (as stored, JSON in UTF-8); ${quoted(name)} and the rest are left out`));
        break;
      }
      bytes += size;
      count++;
      dimensions[name] = value;
    }
    return count === 0 ? undefined : dimensions;
  }

  /** The value as recorded: itself while the set and dimension have room, else 'other'. */
  #bounded(trackSetId: string, name: string, value: string): string {
    const key = `${trackSetId}\u0000${name}`;
    let values = this.#seen.get(key);
    if (values === undefined) this.#seen.set(key, (values = new Set()));
    if (values.has(value)) return value;
    if (values.size >= MAX_VALUES_PER_DIMENSION) return OTHER_SEGMENT;
    values.add(value);
    return value;
  }
}
