import type { RecordedEvent } from '../model/events.js';
import { isTransient } from '../model/store-error.js';
import { messageOf } from '../errors.js';
import { probeWrote, refusedAlone, triedAlone } from './refusal-narrowing.js';
import type { RefusalNarrowing, RefusalProbe } from './refusal-narrowing.js';

/**
 * What narrowing a failed write down does with the parts of its batch: a batch taken from the
 * memory buffer, or events read from the outbox, each kept its own way.
 */
export interface NarrowingSteps<Part> {
  /** The part's events. */
  events(part: Part): readonly RecordedEvent[];
  /** One write under the deadline: the failure, or undefined when the store confirmed it. */
  write(events: readonly RecordedEvent[]): Promise<unknown>;
  /** The part's two halves, in order. */
  halves(part: Part): [Part, Part];
  /** The store took the part. */
  written(part: Part): void;
  /** The part's one event is at fault: it is set aside with the failure. */
  quarantine(part: Part, failure: unknown): Promise<void>;
  /** Whether to stop at once (the recorder is closing: what is not written goes to its last spill). */
  stopped(): boolean;
}

/**
 * Writes `batch`, narrowing it down by halving when a write fails for a reason retrying cannot
 * fix (or when `refusals` says a transient one may be about one event) until the events at
 * fault are found and quarantined; every other event is written. Returns the parts that wait
 * for the store (a transient failure), in the order to try them again: none when every event
 * was written or set aside, or when it stopped.
 *
 * @example
 * ```ts
 * const waiting = await narrowDown(batch, steps, refusals);
 * if (waiting.length > 0) buffer.putBack(waiting); // tried again after a backoff
 * ```
 */
export async function narrowDown<Part>(batch: Part, steps: NarrowingSteps<Part>, refusals: RefusalNarrowing): Promise<Part[]> {
  const parts: Part[] = [batch];
  let probe: RefusalProbe<Part> | undefined;
  while (parts.length > 0) {
    const part = parts.shift()!;
    const events = steps.events(part);
    const failure = await steps.write(events);
    // Written is written, stopped or not: the recorder's last spill must not take these too.
    if (failure === undefined) steps.written(part);
    if (steps.stopped()) return [];
    if (failure === undefined) {
      probeWrote(probe);
      continue;
    }
    if (isTransient(failure)) {
      probe ??= refusals.start(failure, steps.events(batch).length);
      if (!refusals.goesOn(probe, failure)) return [...(probe?.suspects.map((s) => s.part) ?? []), part, ...parts];
    }
    if (events.length > 1) parts.unshift(...steps.halves(part));
    else if (isTransient(failure)) probe!.suspects.push({ part, failure });
    else await steps.quarantine(part, failure);
  }
  if (probe === undefined) return [];
  refusals.end(probe);
  // Every part of the batch refused: nothing says these events are at fault. They wait.
  if (!probe.succeeded) return probe.suspects.map((s) => s.part);
  const suspects = probe.suspects;
  for (let i = 0; i < suspects.length; i++) {
    const { part, failure } = suspects[i]!;
    const verdict = await triedAlone(steps.write, steps.events(part));
    if (verdict === 'written') steps.written(part);
    if (steps.stopped()) return [];
    if (verdict === 'written') continue;
    // The store now fails for a reason waiting fixes: the suspects left wait with this one,
    // untried (each try would cost a write, up to writeTimeout, against a store that is down).
    if (verdict === 'waits') return suspects.slice(i).map((s) => s.part);
    else await steps.quarantine(part, refusedAlone(messageOf(failure)));
  }
  return [];
}
