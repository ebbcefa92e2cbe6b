import { StoreError } from '../model/store-error.js';
import type { Store } from '../model/store.js';
import { withDeadline } from './deadline.js';
import type { ErrorReporter } from './error-reporter.js';

/** A difference past this (beyond the round trip's uncertainty) is reported. */
const CLOCK_SKEW_TOLERANCE_MS = 2_000;
/** How often the clocks are compared again after the first time. */
const CHECK_EVERY_MS = 15 * 60_000;

/**
 * Compares this process's clock with the store server's (stores on another machine:
 * `Store.serverTime`), at start and every 15 minutes, and reports a difference of seconds
 * through onError (`code: 'TRACKS_CLOCK_SKEW'`). Every event time comes from the clock of the
 * process that recorded it, so a pod seconds ahead of the others makes conversions recorded
 * elsewhere fall before their users' exposures (uncredited) and dates its phases wrongly; the
 * report cannot tell. Nothing is corrected: the fix is the machine's clock (NTP).
 *
 * @example
 * ```ts
 * const check = new ClockCheck(store, errors, { writeTimeout: 5_000 });
 * check.stop(); // when recording closes
 * ```
 */
export class ClockCheck {
  readonly #store: Store;
  readonly #errors: ErrorReporter;
  readonly #writeTimeout: number;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #first: Promise<void>;

  constructor(store: Store, errors: ErrorReporter, options: { writeTimeout: number }) {
    this.#store = store;
    this.#errors = errors;
    this.#writeTimeout = options.writeTimeout;
    if (store.serverTime === undefined) {
      this.#first = Promise.resolve();
      return;
    }
    this.#first = this.check();
    this.#timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.#timer.unref();
  }

  /** Resolves when the first comparison is done (or could not be made: a store outage is reported by the writes). */
  checked(): Promise<void> {
    return this.#first;
  }

  /** Compares the clocks once; reports a difference past the tolerance. */
  async check(): Promise<void> {
    const store = this.#store;
    if (store.serverTime === undefined) return;
    let server: number;
    const sent = Date.now();
    try {
      server = await withDeadline(this.#writeTimeout, `reading the clock of ${store.description}`, (call) => store.serverTime!(call));
    } catch {
      return;
    }
    const received = Date.now();
    // The server read its clock somewhere within the round trip: the middle, give or take half of it.
    const skew = (sent + received) / 2 - server;
    if (!Number.isFinite(skew) || Math.abs(skew) <= CLOCK_SKEW_TOLERANCE_MS + (received - sent) / 2) return;
    const seconds = (Math.abs(skew) / 1000).toFixed(1);
    this.#errors.report(
      'clock',
      new StoreError(
        `tracks: this process's clock is ${seconds} s ${skew > 0 ? 'ahead of' : 'behind'} the clock of ${store.description}; ` +
          "event times come from each process's clock, so conversions recorded by another process may fall before their users' exposures " +
          '(and not count), and phases are dated wrongly: sync this machine\'s clock (NTP)',
        { transient: true, code: 'TRACKS_CLOCK_SKEW' },
      ),
    );
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }
}
