import type { RecordedEvent } from '../model/events.js';
import { isRefusal, isTransient } from '../model/store-error.js';
import { Backoff } from './backoff.js';

/** Refusals in a row (see isRefusal) after which a failing batch is narrowed down. */
const REFUSALS_BEFORE_NARROWING = 3;
/** After a narrowing found the store refusing every part: the least wait before another (doubling up to the most). */
const PAUSE_MS = 30_000;
const MAX_PAUSE_MS = 600_000;
/** Tries of a suspect alone before it is quarantined: a store failing now and then writes it on one. */
const SUSPECT_TRIES = 3;

/**
 * A batch being narrowed down after repeated refusals: events refused alone wait as suspects,
 * set aside only if some part of the batch was written (else the store refuses everything,
 * and the whole batch waits). Gives up after more failed writes in a row than halving needs.
 */
export interface RefusalProbe<Part> {
  succeeded: boolean;
  failedInARow: number;
  readonly limit: number;
  readonly suspects: { readonly part: Part; readonly failure: unknown }[];
}

/**
 * When a transient failure that may be about one event (a refusal, see isRefusal) is narrowed
 * down like a permanent one: after {@link REFUSALS_BEFORE_NARROWING} in a row, unless a
 * narrowing lately found the store refusing every part (then it pauses, doubling). Delivery
 * tells it every write's outcome and asks it whether to narrow.
 *
 * @example
 * ```ts
 * narrowing.wrote(error); // after each write: undefined when it went through
 * probe ??= narrowing.start(error, batch.length); // a probe, or undefined: the batch waits
 * ```
 */
export class RefusalNarrowing {
  #refusals = 0;
  /** After a probe that found no part written: 30 s, doubling up to 10 minutes. */
  readonly #pause = new Backoff(PAUSE_MS, MAX_PAUSE_MS);

  /** Notes a write's outcome: its failure, or undefined when it went through. */
  wrote(failure: unknown): void {
    this.#refusals = failure !== undefined && isRefusal(failure) ? this.#refusals + 1 : 0;
  }

  /** A probe for a batch of `events` whose write just failed so, or undefined: it waits, as after any transient failure. */
  start<Part>(failure: unknown, events: number): RefusalProbe<Part> | undefined {
    if (!isRefusal(failure) || this.#refusals < REFUSALS_BEFORE_NARROWING || this.#pause.waiting()) return undefined;
    // Halving finds one event in log2(n) + 1 writes: a few more failures in a row than that
    // mean every part is refused.
    return { succeeded: false, failedInARow: 0, limit: Math.ceil(Math.log2(Math.max(1, events))) + 4, suspects: [] };
  }

  /** Whether `probe` narrows on after this transient failure: a refusal, within its limit (else it ends). */
  goesOn<Part>(probe: RefusalProbe<Part> | undefined, failure: unknown): boolean {
    if (probe === undefined) return false;
    if (isRefusal(failure) && ++probe.failedInARow <= probe.limit) return true;
    this.end(probe);
    return false;
  }

  /** A probe that found no part written pauses the next one (doubling); one that did resets the pause. */
  end<Part>(probe: RefusalProbe<Part>): void {
    if (probe.succeeded) this.#pause.succeed();
    else this.#pause.fail();
  }
}

/** A write went through during a probe: the batch is not refused as a whole. */
export function probeWrote<Part>(probe: RefusalProbe<Part> | undefined): void {
  if (probe === undefined) return;
  probe.succeeded = true;
  probe.failedInARow = 0;
}

/**
 * A suspect tried alone again, up to {@link SUSPECT_TRIES} times: 'written' on a try that goes
 * through, 'waits' on a failure waiting fixes, 'refused' when every try is refused.
 */
export async function triedAlone(write: (events: readonly RecordedEvent[]) => Promise<unknown>, events: readonly RecordedEvent[]): Promise<'written' | 'waits' | 'refused'> {
  for (let attempt = 0; attempt < SUSPECT_TRIES; attempt++) {
    const failure = await write(events);
    if (failure === undefined) return 'written';
    if (!isRefusal(failure)) return isTransient(failure) ? 'waits' : 'refused';
  }
  return 'refused';
}

/** The reason an event refused alone is quarantined with: the store's, and why it is the event's. */
export function refusedAlone(message: string): Error {
  return new Error(`${message} (refused alone on every try, while the events written beside it were taken)`);
}
