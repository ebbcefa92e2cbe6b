import type { RecordedEvent } from '../model/events.js';
import { isTransient } from '../model/store-error.js';
import { messageOf } from '../errors.js';
import { kindsOf, probeWrote, refusedAlone, triedAlone } from './refusal-narrowing.js';
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
 * fault are found and quarantined (when the store takes others); every other event is
 * written. Returns the parts that wait for the store (a transient failure, or events refused
 * while it took nothing), in the order to try them again: none when every event was written
 * or set aside, or when it stopped.
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
  // The events refused alone, in batch order (what waits is put back in that order): for a
  // reason retrying cannot fix, or (the probe's suspects) a refusal that may pass.
  // `writesBefore`: the parts holding its kind of event written before it was refused.
  const alone: { part: Part; failure: unknown; forGood: boolean; writesBefore: number }[] = [];
  let writes = 0;
  // By kind of event: the parts written that held one.
  const writesOf = new Map<RecordedEvent['kind'], number>();
  while (parts.length > 0) {
    const part = parts.shift()!;
    const events = steps.events(part);
    const failure = await steps.write(events);
    // Written is written, stopped or not: the recorder's last spill must not take these too.
    if (failure === undefined) steps.written(part);
    if (steps.stopped()) return [];
    if (failure === undefined) {
      writes++;
      for (const kind of kindsOf(events)) writesOf.set(kind, (writesOf.get(kind) ?? 0) + 1);
      probeWrote(probe);
      continue;
    }
    if (isTransient(failure)) {
      probe ??= refusals.start(failure, steps.events(batch).length);
      if (!refusals.goesOn(probe, failure)) return [...alone.map((a) => a.part), part, ...parts];
    }
    if (events.length > 1) parts.unshift(...steps.halves(part));
    else alone.push({ part, failure, forGood: !isTransient(failure), writesBefore: writesOf.get(events[0]!.kind) ?? 0 });
  }
  if (probe !== undefined) refusals.end(probe);
  // Each event refused alone, in order. One refused for good is the event's fault only if the
  // store takes events of its kind after refusing it (a trigger or CHECK of yours may refuse
  // every row of a table for a while, even from part-way through this narrowing): when a part
  // holding its kind was written after its refusal, it is tried alone once more and
  // quarantined if refused again; else it waits, unless RefusalNarrowing finds it at fault.
  // (Not a written part written again as a test: a store that skips duplicates before what
  // refuses, a callback deduplicating on eventId or an AFTER trigger, would take it whatever.)
  // A refusal that may pass (a suspect) is tried alone a few times when any part was written,
  // else it waits.
  const waiting: Part[] = [];
  for (let i = 0; i < alone.length; i++) {
    const { part, failure, forGood, writesBefore } = alone[i]!;
    const event = steps.events(part)[0]!;
    const evidence = forGood ? (writesOf.get(event.kind) ?? 0) > writesBefore : writes > 0;
    if (!evidence) {
      if (!forGood || !refusals.refusedForGood(event, failure)) waiting.push(part);
      else {
        await steps.quarantine(part, failure);
        if (steps.stopped()) return [];
      }
      continue;
    }
    const verdict = await triedAlone(steps.write, steps.events(part), forGood ? 1 : undefined);
    if (verdict === 'written') steps.written(part);
    if (steps.stopped()) return [];
    if (verdict === 'written') continue;
    // The store now fails for a reason waiting fixes: the events left wait with this one,
    // untried (each try would cost a write, up to writeTimeout, against a store that is down).
    if (verdict === 'waits') return [...waiting, ...alone.slice(i).map((a) => a.part)];
    await steps.quarantine(part, forGood ? failure : refusedAlone(messageOf(failure)));
  }
  return waiting;
}
