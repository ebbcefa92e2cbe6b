import type { ConversionEvent, ExposureEvent, RecordedEvent } from '../model/events.js';

/**
 * A batch of events as it crosses to a worker thread. Copying a message costs the sending
 * thread about half a microsecond per event object (V8 copies each property's name and value
 * one by one), on the application's event loop, several milliseconds at a time under load.
 * Exposures and conversions, nearly every event, travel as columns instead: their unique
 * strings (event ids, units) concatenated into one string with their lengths, their repeated
 * ones (set, track, phase, metric) as indexes into a table of names, their numbers in a typed
 * array. About a quarter of the cost; the other kinds, and any event not of the exact shape,
 * travel as they are.
 *
 * @example
 * ```ts
 * const packed = packEvents(events); // on the main thread
 * unpackEvents(packed); // on the worker: the same events, in the same order
 * ```
 */
export interface PackedEvents {
  /** Per event: EXPOSURE, CONVERSION or OTHER, in the batch's order. */
  readonly tags: Uint8Array;
  /** Event ids and units, one after the other. */
  readonly text: string;
  /** The length of each string in `text`, in order. */
  readonly lengths: Int32Array;
  /** Repeated strings, by index into `names` (-1: the field is absent). */
  readonly refs: Int32Array;
  readonly names: readonly string[];
  /** `at` of each packed event; a conversion's value after it. */
  readonly numbers: Float64Array;
  /** Exposures' dimensions, by ref; events of other kinds or shapes, whole. */
  readonly objects: readonly unknown[];
}

const EXPOSURE = 0;
const CONVERSION = 1;
const OTHER = 2;

/**
 * Packs `events` for {@link unpackEvents} on the other side of a thread boundary; a batch too
 * big for one string (V8's limit, hundreds of millions of characters) goes as it is.
 */
export function packEvents(events: readonly RecordedEvent[]): PackedEvents | readonly RecordedEvent[] {
  try {
    return packed(events);
  } catch (error) {
    if (error instanceof RangeError) return events;
    throw error;
  }
}

function packed(events: readonly RecordedEvent[]): PackedEvents {
  const n = events.length;
  const tags = new Uint8Array(n);
  const lengths = new Int32Array(2 * n);
  const refs = new Int32Array(4 * n);
  const numbers = new Float64Array(2 * n);
  const names: string[] = [];
  const index = new Map<string, number>();
  const objects: unknown[] = [];
  const name = (value: string): number => {
    let at = index.get(value);
    if (at === undefined) index.set(value, (at = names.push(value) - 1));
    return at;
  };
  let text = '';
  let strings = 0;
  let ref = 0;
  let number = 0;
  const idAndUnit = (event: ExposureEvent | ConversionEvent): void => {
    text += event.eventId;
    text += event.unit;
    lengths[strings++] = event.eventId.length;
    lengths[strings++] = event.unit.length;
  };
  for (let i = 0; i < n; i++) {
    const event = events[i]!;
    if (isPlainExposure(event)) {
      tags[i] = EXPOSURE;
      idAndUnit(event);
      refs[ref++] = name(event.trackSetId);
      refs[ref++] = name(event.track);
      refs[ref++] = event.phase === undefined ? -1 : name(event.phase);
      refs[ref++] = event.dimensions === undefined ? -1 : objects.push(event.dimensions) - 1;
      numbers[number++] = event.at;
    } else if (isPlainConversion(event)) {
      tags[i] = CONVERSION;
      idAndUnit(event);
      refs[ref++] = name(event.metric);
      numbers[number++] = event.at;
      numbers[number++] = event.value;
    } else {
      tags[i] = OTHER;
      objects.push(event);
    }
  }
  return { tags, text, lengths: lengths.subarray(0, strings), refs: refs.subarray(0, ref), names, numbers: numbers.subarray(0, number), objects };
}

/** The events {@link packEvents} packed, in their order; anything else is returned as it is. */
export function unpackEvents(packed: unknown): unknown {
  if (!isPacked(packed)) return packed;
  const { tags, text, lengths, refs, names, numbers, objects } = packed;
  const events: unknown[] = new Array(tags.length);
  let offset = 0;
  let strings = 0;
  let ref = 0;
  let number = 0;
  let object = 0;
  const nextString = () => text.slice(offset, (offset += lengths[strings++]!));
  for (let i = 0; i < tags.length; i++) {
    if (tags[i] === OTHER) {
      events[i] = objects[object++];
      continue;
    }
    const eventId = nextString();
    const unit = nextString();
    if (tags[i] === CONVERSION) {
      const metric = names[refs[ref++]!]!;
      const at = numbers[number++]!;
      events[i] = { kind: 'conversion', eventId, unit, metric, value: numbers[number++]!, at } satisfies ConversionEvent;
      continue;
    }
    const trackSetId = names[refs[ref++]!]!;
    const track = names[refs[ref++]!]!;
    const phase = refs[ref++]!;
    const dimensions = refs[ref++]!;
    // Dimensions are objects pushed in order before any later OTHER event: count them too.
    if (dimensions >= 0) object++;
    // Built field by field, not spread: a spread of optional parts is V8's slow path, per event.
    const exposure: { -readonly [K in keyof ExposureEvent]: ExposureEvent[K] } = { kind: 'exposure', eventId, trackSetId, track, unit, at: numbers[number++]! };
    if (phase >= 0) exposure.phase = names[phase]!;
    if (dimensions >= 0) exposure.dimensions = objects[dimensions] as ExposureEvent['dimensions'];
    events[i] = exposure;
  }
  return events;
}

/**
 * A worker's answer, with the events it carries (an outbox's peek, read back on the way to
 * the store) packed as a batch is on the way in: copying them as objects cost the application's
 * thread 1.5-2 µs per event, 3-4 ms per batch of 2,000 while a backlog drains. Any other answer
 * is returned as it is.
 *
 * @example
 * ```ts
 * parentPort.postMessage({ id, ok: true, value: packAnswer(outbox.peek(2_000, deadline)) }); // worker
 * const batch = unpackAnswer(response.value); // main thread: events as objects again
 * ```
 */
export function packAnswer(value: unknown): unknown {
  if (!carriesEvents(value) || !Array.isArray(value.events)) return value;
  return { ...value, events: packEvents(value.events as RecordedEvent[]) };
}

/** The answer {@link packAnswer} packed, its events as objects again; anything else as it is. */
export function unpackAnswer(value: unknown): unknown {
  if (!carriesEvents(value) || !isPacked(value.events)) return value;
  return { ...value, events: unpackEvents(value.events) };
}

function carriesEvents(value: unknown): value is { readonly events: unknown } {
  return value !== null && typeof value === 'object' && 'events' in value;
}

/** An exposure with exactly an exposure's fields, each of its type (anything else goes whole, to be judged by the store). */
function isPlainExposure(event: RecordedEvent): event is ExposureEvent {
  if (event === null || typeof event !== 'object' || event.kind !== 'exposure') return false;
  const e = event as ExposureEvent;
  if (typeof e.eventId !== 'string' || typeof e.unit !== 'string' || typeof e.trackSetId !== 'string' || typeof e.track !== 'string' || typeof e.at !== 'number') return false;
  let expected = 6;
  if (e.phase !== undefined) {
    if (typeof e.phase !== 'string') return false;
    expected++;
  }
  if (e.dimensions !== undefined) {
    if (e.dimensions === null || typeof e.dimensions !== 'object') return false;
    expected++;
  }
  return ownKeys(event) === expected;
}

function isPlainConversion(event: RecordedEvent): event is ConversionEvent {
  if (event === null || typeof event !== 'object' || event.kind !== 'conversion') return false;
  const e = event as ConversionEvent;
  return typeof e.eventId === 'string' && typeof e.unit === 'string' && typeof e.metric === 'string' && typeof e.value === 'number' && typeof e.at === 'number' && ownKeys(event) === 6;
}

/** Own enumerable keys, counted (no array made); a prototype's keys would count too, and fail the match. */
function ownKeys(event: object): number {
  let keys = 0;
  for (const _ in event) keys++;
  return keys;
}

function isPacked(value: unknown): value is PackedEvents {
  return value !== null && typeof value === 'object' && (value as PackedEvents).tags instanceof Uint8Array && typeof (value as PackedEvents).text === 'string';
}
