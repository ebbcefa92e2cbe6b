import type { RecordedEvent } from '../model/events.js';

/**
 * Events taken from the buffer to be written or spilled, with their sequence numbers. It
 * still counts towards the buffer's bounds until it is settled or put back.
 */
export interface Batch {
  readonly events: readonly RecordedEvent[];
  /** Each event's sequence number (the order it was recorded in). */
  readonly seqs: readonly number[];
  readonly bytes: number;
}

/**
 * Everything recording holds in memory: events waiting to be written, and batches taken out
 * (being written, narrowed down or spilled) until they are settled. Bounded both in events and
 * in bytes: a push past either bound is refused, so memory stays bounded whatever the store
 * does. Events keep the order they were recorded in; a batch put back goes to the front.
 */
export class EventBuffer {
  readonly maxEvents: number;
  readonly maxBytes: number;
  #queue: RecordedEvent[] = [];
  #queueSeqs: number[] = [];
  #queueSizes: number[] = [];
  #head = 0;
  #queuedBytes = 0;
  #out = new Set<Batch>();
  #outEvents = 0;
  #outBytes = 0;
  #nextSeq = 0;

  constructor(maxEvents: number, maxBytes: number) {
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
  }

  /** Adds an event at the back; false (and nothing added) when a bound would be passed. */
  push(event: RecordedEvent): boolean {
    const size = eventBytes(event);
    if (this.total >= this.maxEvents || this.bytes + size > this.maxBytes) return false;
    this.#queue.push(event);
    this.#queueSeqs.push(this.#nextSeq++);
    this.#queueSizes.push(size);
    this.#queuedBytes += size;
    return true;
  }

  /** Events waiting in the queue (not taken out). */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Bytes of the events waiting in the queue. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Every event held: queued and taken out. */
  get total(): number {
    return this.queued + this.#outEvents;
  }

  /** Estimated bytes of every event held. */
  get bytes(): number {
    return this.#queuedBytes + this.#outBytes;
  }

  /** The sequence number the next event will get: `flush()` waits until everything before it is settled. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** The lowest sequence number still held (queued or taken out), or Infinity when nothing is. */
  oldestSeq(): number {
    let oldest = this.#head < this.#queueSeqs.length ? this.#queueSeqs[this.#head]! : Infinity;
    for (const batch of this.#out) if (batch.seqs.length > 0 && batch.seqs[0]! < oldest) oldest = batch.seqs[0]!;
    return oldest;
  }

  /** How many events with a sequence number below `seq` are still held (queued or taken out): what a flush left undone. */
  heldBefore(seq: number): number {
    if (this.oldestSeq() >= seq) return 0; // a flush that did its job: no walk over what came since
    let held = 0;
    for (let i = this.#head; i < this.#queueSeqs.length; i++) if (this.#queueSeqs[i]! < seq) held++;
    for (const batch of this.#out) for (const s of batch.seqs) if (s < seq) held++;
    return held;
  }

  /** Takes up to `max` events from the front; they stay counted until settled or put back. */
  take(max: number = Infinity): Batch | undefined {
    const count = Math.min(max, this.queued);
    if (count === 0) return undefined;
    const from = this.#head;
    const to = from + count;
    const events = this.#queue.slice(from, to);
    const seqs = this.#queueSeqs.slice(from, to);
    let bytes = 0;
    for (let i = from; i < to; i++) bytes += this.#queueSizes[i]!;
    this.#head = to;
    this.#queuedBytes -= bytes;
    this.#compact();
    const batch: Batch = { events, seqs, bytes };
    this.#adopt(batch);
    return batch;
  }

  /** Replaces a taken batch by its two halves (for narrowing a failed write down). */
  split(batch: Batch): [Batch, Batch] {
    const half = Math.ceil(batch.events.length / 2);
    const parts = [sliceBatch(batch, 0, half), sliceBatch(batch, half, batch.events.length)] as [Batch, Batch];
    this.#release(batch);
    for (const part of parts) this.#adopt(part);
    return parts;
  }

  /** Whether `batch` is still taken out of this buffer (not settled, put back or cleared). */
  holds(batch: Batch): boolean {
    return this.#out.has(batch);
  }

  /**
   * Settles the taken-out batch holding exactly `events` (the array a write was given), as
   * `settle` would; how many events that was (0 when no batch holds them: an outbox batch's).
   */
  settleEvents(events: readonly RecordedEvent[]): number {
    for (const batch of this.#out) {
      if (batch.events !== events) continue;
      this.#release(batch);
      return events.length;
    }
    return 0;
  }

  /** The batch is written, spilled, quarantined or dropped: it no longer counts. */
  settle(batch: Batch): void {
    this.#release(batch);
  }

  /** Puts taken batches back at the front, in the order given (they are tried again first). */
  putBack(batches: readonly Batch[]): void {
    const events: RecordedEvent[] = [];
    const seqs: number[] = [];
    const sizes: number[] = [];
    for (const batch of batches) {
      this.#release(batch);
      for (let i = 0; i < batch.events.length; i++) {
        events.push(batch.events[i]!);
        seqs.push(batch.seqs[i]!);
        sizes.push(eventBytes(batch.events[i]!));
      }
      this.#queuedBytes += batch.bytes;
    }
    this.#queue = events.concat(this.#queue.slice(this.#head));
    this.#queueSeqs = seqs.concat(this.#queueSeqs.slice(this.#head));
    this.#queueSizes = sizes.concat(this.#queueSizes.slice(this.#head));
    this.#head = 0;
  }

  /** Every event held, queued or taken out, in no particular order: for the last spill at exit. */
  everything(): RecordedEvent[] {
    const all = this.#queue.slice(this.#head);
    for (const batch of this.#out) all.push(...batch.events);
    return all;
  }

  /** Forgets everything held (after the last spill at exit). */
  clear(): void {
    this.#queue = [];
    this.#queueSeqs = [];
    this.#queueSizes = [];
    this.#head = 0;
    this.#queuedBytes = 0;
    this.#out.clear();
    this.#outEvents = 0;
    this.#outBytes = 0;
  }

  #adopt(batch: Batch): void {
    this.#out.add(batch);
    this.#outEvents += batch.events.length;
    this.#outBytes += batch.bytes;
  }

  #release(batch: Batch): void {
    if (!this.#out.delete(batch)) return;
    this.#outEvents -= batch.events.length;
    this.#outBytes -= batch.bytes;
  }

  /** Drops the consumed front of the arrays once it is most of them (amortized O(1) per event). */
  #compact(): void {
    if (this.#head < 4096 || this.#head * 2 < this.#queue.length) return;
    this.#queue = this.#queue.slice(this.#head);
    this.#queueSeqs = this.#queueSeqs.slice(this.#head);
    this.#queueSizes = this.#queueSizes.slice(this.#head);
    this.#head = 0;
  }
}

function sliceBatch(batch: Batch, from: number, to: number): Batch {
  const events = batch.events.slice(from, to);
  let bytes = 0;
  for (const event of events) bytes += eventBytes(event);
  return { events, seqs: batch.seqs.slice(from, to), bytes };
}

/** The memory an event takes, roughly: an object, its strings (UTF-16) and a histogram's array. */
function eventBytes(event: RecordedEvent): number {
  switch (event.kind) {
    case 'exposure':
      return 120 + 2 * (event.eventId.length + event.trackSetId.length + event.track.length + event.unit.length);
    case 'conversion':
      return 120 + 2 * (event.eventId.length + event.unit.length + event.metric.length);
    case 'health':
      return 160 + 2 * (event.eventId.length + event.trackSetId.length + event.track.length) + 8 * event.histogram.length;
    case 'definition':
      return 160 + 2 * (event.eventId.length + event.trackSetId.length) + 48 * Object.keys(event.weights).length;
    case 'guardrail':
      return 120 + 2 * (event.eventId.length + event.trackSetId.length + event.track.length + event.cause.length);
    case 'metric':
      return 160 + 2 * (event.eventId.length + event.name.length + (event.numerator?.length ?? 0) + (event.denominator?.length ?? 0));
    case 'shadow':
      return 240 + 2 * (event.eventId.length + event.trackSetId.length + event.track.length) + 8 * 4 * event.baselineHistogram.length;
    case 'shadow_sample':
      return 160 + 2 * (event.eventId.length + event.trackSetId.length + event.track.length + event.input.length + event.baseline.length + event.candidate.length);
  }
}
