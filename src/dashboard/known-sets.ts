import type { Report } from '../report/report-model.js';

/**
 * The track sets this dashboard has already shown a report of. A set's view asks for its
 * report and its dimensions at once, and stop, resume, ramp and promote act on a set the page
 * shows: each of those must answer 404 for a set the store holds nothing of, and finding that
 * out costs a summary of the whole set (on 1,000,000 users, as long as the report itself). A set
 * a report listed is known from then on; only the others are looked up.
 *
 * @example
 * ```ts
 * const known = new KnownSets();
 * known.note(report); // every set the report lists
 * if (!known.has('checkout-delay')) await lookUp('checkout-delay');
 * ```
 */
export class KnownSets {
  readonly #ids = new Set<string>();

  /** Remembers every set `report` lists. */
  note(report: Report): void {
    for (const set of report.trackSets) this.#ids.add(set.id);
  }

  /** Whether a report of this dashboard listed the set. */
  has(trackSetId: string): boolean {
    return this.#ids.has(trackSetId);
  }
}
