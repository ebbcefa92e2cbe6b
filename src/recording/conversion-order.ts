import { conversionCameAfter } from '../core/conversion-sequence.js';
import type { ConversionEvent, ExposureEvent } from '../model/events.js';
import { quoted } from '../text.js';

/**
 * Warns once per process when conversions keep being recorded between a run's `new` and its
 * first use (`new DelayTracks({ key })`, `convert(...)`, then `.run()`): the exposure is the
 * first use, so such a conversion is the user's history, not an outcome of the test, and the
 * report reads every track as converting less than it did, and unevenly (a newcomer's store
 * flagged a track "worse" at p = 0.019 with every user converting). Nothing is refused; the
 * warning says what to check.
 *
 * A conversion counts only when it came after the run was made (by the conversion sequence,
 * core/conversion-sequence.ts), not merely before the exposure: a user who bought in one test
 * and then meets another on the thank-you page converted before that run was made. And only
 * when it came less than a second before the exposure. A run made at login and kept in the
 * session, first read on the thank-you page moments after a purchase, still counts (telling it
 * apart would need each run's age, a clock read on every `new`): the warning says so.
 *
 * Keeps the latest {@link RECENT} conversions by unit, and forgets them all once it has warned.
 *
 * @example
 * ```ts
 * const order = new ConversionOrder();
 * order.converted(conversion, nextConversion());
 * order.exposed(exposure, conversionsAtNewOf(run)); // true once it warned: no more calls needed
 * ```
 */
export class ConversionOrder {
  readonly #recent = new Map<string, { readonly metric: string; readonly sequence: number; readonly at: number }>();
  #seen = 0;

  /** A conversion recorded, with its sequence number. */
  converted(event: ConversionEvent, sequence: number): void {
    const recent = this.#recent;
    recent.delete(event.unit); // the latest last, so the oldest goes first
    recent.set(event.unit, { metric: event.metric, sequence, at: event.at });
    if (recent.size > RECENT) recent.delete(recent.keys().next().value!);
  }

  /** A unit's first exposure in this process, by a run made when the sequence stood at `atNew`; true once it has warned. */
  exposed(event: ExposureEvent, atNew: number | undefined): boolean {
    if (atNew === undefined || this.#recent.size === 0) return false;
    const conversion = this.#recent.get(event.unit);
    if (conversion === undefined || !conversionCameAfter(conversion.sequence, atNew) || event.at - conversion.at > WINDOW_MS) return false;
    if (++this.#seen < EVIDENCE) return false;
    process.emitWarning(
      `tracks: ${EVIDENCE} conversions in this process were recorded between a run's new and its first use, moments before it ` +
        `(the latest: ${quoted(conversion.metric)}, ${event.at - conversion.at} ms before the exposure to ${quoted(event.trackSetId)}). ` +
        "The exposure is the run's first use (its name, run() and the like), not new, so such a conversion is the user's " +
        'history, not an outcome of the test. If your code records the conversion before it reads the track it leads to, read the track first; ' +
        'if the run was made earlier on purpose (kept from an earlier request) and its user really converted before it was used, nothing is wrong ' +
        '(this is said once per process)',
      { type: 'TracksWarning', code: 'TRACKS_CONVERTED_BEFORE_EXPOSURE' },
    );
    this.#recent.clear();
    warned = true;
    return true;
  }
}

/** Whether this process has warned already: a configure() again does not warn again. */
let warned = false;

/** A check for the recorder being made, or undefined when this process has warned already. */
export function conversionOrderCheck(): ConversionOrder | undefined {
  return warned ? undefined : new ConversionOrder();
}

/** Conversions kept to compare with exposures: enough for a busy process's last few moments. */
const RECENT = 1_024;
/** How long before the exposure such a conversion came, at most, in ms: the same request. */
const WINDOW_MS = 1_000;
/** Such conversions seen before the warning: one could be a deliberate order. */
const EVIDENCE = 10;
