import type { RecordedEvent } from '../model/events.js';
import { isRefusal, isTransient } from '../model/store-error.js';
import { Backoff } from './backoff.js';
import { monotonicNow } from './clock.js';

/** Refusals in a row (see isRefusal) after which a failing batch is narrowed down. */
const REFUSALS_BEFORE_NARROWING = 3;
/** After a narrowing found the store refusing every part: the least wait before another (doubling up to the most). */
const PAUSE_MS = 30_000;
const MAX_PAUSE_MS = 600_000;
/** Refused events remembered as waiting (see RefusalNarrowing.refusedForGood). */
const MAX_REFUSED_WAITING = 10_000;
/**
 * The longest an event refused for good waits while the store takes nothing after its refusal
 * (a trigger or CHECK refusing every row for a while): then it is quarantined.
 */
export const REFUSED_WAIT_MS = 10_000;
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
  /**
   * Writes the store has taken, by the kinds of event they held: a refused event waiting is
   * the event's fault once the count of its kind grows (a store refusing one table, a trigger
   * on conversions, takes exposures all the while).
   */
  readonly #taken = new Map<RecordedEvent['kind'], number>();
  /** Events refused alone for a reason retrying cannot fix, waiting: the writes of their kind taken and the time when they were first. */
  readonly #refusedWaiting = new Map<string, { readonly taken: number; readonly since: number }>();
  /** The failure of the last batch whose events refused for good wait, until the delivery takes it. */
  #waitingFor: unknown;
  readonly #refusedWaitMs: number;

  /** `refusedWaitMs`: see {@link REFUSED_WAIT_MS} (tests shorten it). */
  constructor(refusedWaitMs = REFUSED_WAIT_MS) {
    this.#refusedWaitMs = refusedWaitMs;
  }

  /** Notes a write's outcome: its failure, or undefined when it went through (with the events it wrote). */
  wrote(failure: unknown, events: readonly RecordedEvent[] = []): void {
    this.#refusals = failure !== undefined && isRefusal(failure) ? this.#refusals + 1 : 0;
    if (failure === undefined) for (const kind of kindsOf(events)) this.#taken.set(kind, (this.#taken.get(kind) ?? 0) + 1);
  }

  /**
   * Whether `event`, refused alone for a reason retrying cannot fix with no write of its kind
   * taken after it, is the event's fault: it was refused so on an earlier try too and the store
   * has taken other events of its kind since (a store refusing every event takes none), or it has been refused so
   * for {@link REFUSED_WAIT_MS} (so refused events at the head cannot block the events behind
   * them for longer). Else it waits, remembered.
   */
  refusedForGood(event: RecordedEvent, failure: unknown): boolean {
    const now = monotonicNow();
    const { eventId } = event;
    const taken = this.#taken.get(event.kind) ?? 0;
    const first = this.#refusedWaiting.get(eventId);
    if (first !== undefined && (taken > first.taken || now - first.since >= this.#refusedWaitMs)) {
      this.#refusedWaiting.delete(eventId);
      return true;
    }
    this.#refusedWaiting.delete(eventId);
    this.#refusedWaiting.set(eventId, { taken, since: first?.since ?? now });
    // Bounded: an event spilled, dropped or written elsewhere would stay here for good.
    if (this.#refusedWaiting.size > MAX_REFUSED_WAITING) this.#refusedWaiting.delete(this.#refusedWaiting.keys().next().value!);
    this.#waitingFor = failure;
    return false;
  }

  /**
   * The failure that made events refused for good wait in the last narrowing, once (undefined
   * when none did): the delivery backs off as after a transient failure, and reports it.
   */
  takeWaiting(): unknown {
    const failure = this.#waitingFor;
    this.#waitingFor = undefined;
    return failure;
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
 * A suspect tried alone again, up to {@link SUSPECT_TRIES} times (or `tries`): 'written' on a
 * try that goes through, 'waits' on a failure waiting fixes, 'refused' when every try is refused
 * (at once for a failure retrying cannot fix).
 */
export async function triedAlone(write: (events: readonly RecordedEvent[]) => Promise<unknown>, events: readonly RecordedEvent[], tries = SUSPECT_TRIES): Promise<'written' | 'waits' | 'refused'> {
  for (let attempt = 0; attempt < tries; attempt++) {
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

/** The kinds of event among `events`. */
export function kindsOf(events: readonly RecordedEvent[]): Set<RecordedEvent['kind']> {
  const kinds = new Set<RecordedEvent['kind']>();
  let last: RecordedEvent['kind'] | undefined;
  for (const event of events) {
    if (event.kind === last) continue;
    last = event.kind;
    kinds.add(last);
  }
  return kinds;
}
