import type { ConversionEvent, RecordedEvent } from '../model/events.js';
import { quoted } from '../text.js';

/**
 * Warns once per process when conversions keep arriving just before their unit's first
 * exposure: the usual sign of code that records a conversion before it reads the track it
 * leads to (`new DelayTracks({ key })`, `convert(...)`, then `.run()`). Such a conversion is
 * the user's history, not an outcome of the test, so the report then reads every track as
 * converting less than it did, and unevenly (a newcomer's store flagged a track "worse" at
 * p = 0.019 with every user converting). Nothing is refused: a user who really converted a
 * moment before seeing a test is counted correctly; the warning only says what to check.
 *
 * Keeps the latest {@link RECENT} conversions by unit (their events, already made), and
 * forgets them all once it has warned.
 *
 * @example
 * ```ts
 * const order = new ConversionOrder();
 * order.saw(conversion); // false: nothing to say yet
 * order.saw(exposure);   // true once it warned: the recorder stops showing it events
 * ```
 */
export class ConversionOrder {
  readonly #recent = new Map<string, ConversionEvent>();
  #seen = 0;

  /** Looks at an event on its way to the buffer; true once it has warned (it needs no more). */
  saw(event: RecordedEvent): boolean {
    if (event.kind === 'conversion') {
      const recent = this.#recent;
      recent.delete(event.unit); // the latest last, so the oldest goes first
      recent.set(event.unit, event);
      if (recent.size > RECENT) recent.delete(recent.keys().next().value!);
      return false;
    }
    if (event.kind !== 'exposure' || this.#recent.size === 0) return false;
    const conversion = this.#recent.get(event.unit);
    // Same millisecond: counted as after the exposure (see README, "What it records").
    if (conversion === undefined || conversion.at >= event.at || event.at - conversion.at > WINDOW_MS) return false;
    if (++this.#seen < EVIDENCE) return false;
    process.emitWarning(
      `tracks: ${EVIDENCE} conversions in this process came less than a second before their user's first exposure ` +
        `(the latest: ${quoted(conversion.metric)}, ${event.at - conversion.at} ms before the exposure to ${quoted(event.trackSetId)}). ` +
        'A conversion recorded before the exposure is the user\'s history, not an outcome of the test. The exposure is the run\'s first use ' +
        '(its name, run() and the like), not new: if your code records conversions between new and that first use, read the track first. ' +
        'If these users really converted before they saw the test, nothing is wrong (this is said once per process)',
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
/** How long before an exposure a conversion looks like one recorded before the track was read. */
const WINDOW_MS = 1_000;
/** Such conversions seen before the warning: one could be a real customer's. */
const EVIDENCE = 10;
