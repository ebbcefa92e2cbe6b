// Batches cross to the SQLite worker packed as columns (stores/packed-events.ts): what arrives
// must be the batch that was sent, event for event and field for field, whatever the events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordedEvent } from '../../src/index.js';
import { packAnswer, packEvents, unpackAnswer, unpackEvents } from '../../src/stores/packed-events.js';
import type { PackedEvents } from '../../src/stores/packed-events.js';

/** Packs, copies as a message to a worker is copied, unpacks. */
const crossed = (events: readonly unknown[]): unknown => unpackEvents(structuredClone(packEvents(events as RecordedEvent[])));

// As recorded: no prototype, and a dimension named __proto__ is an ordinary key.
const dimensions = Object.assign(Object.create(null) as Record<string, string>, JSON.parse('{"country":"de","__proto__":"x"}') as Record<string, string>);
const batch: unknown[] = [
  { kind: 'exposure', eventId: 'e1', trackSetId: 'delay', track: 'long', unit: 'user-1', at: 1_700_000_000_000, phase: 'a1b2' },
  { kind: 'conversion', eventId: 'c1', unit: 'user-1', metric: 'purchase', value: 12.5, at: 1_700_000_000_001 },
  { kind: 'health', eventId: 'h1', trackSetId: 'delay', track: 'long', minute: 28_333_333, runs: 3, errors: 0, totalMs: 1.5, histogram: [0, 3] },
  { kind: 'exposure', eventId: 'e2', trackSetId: 'delay', track: 'short', unit: 'user-2', at: 1_700_000_000_002 },
  { kind: 'exposure', eventId: 'e3', trackSetId: 'pricing', track: 'p0', unit: 'k:\ud800 lone', at: 1, phase: 'c3', dimensions },
  { kind: 'definition', eventId: 'd1', trackSetId: 'delay', weights: { long: 1, short: 1 }, coverage: 1, at: 5 },
  { kind: 'exposure', eventId: '', trackSetId: '', track: '', unit: '', at: 0 },
  { kind: 'conversion', eventId: 'c2', unit: 'üñï€😀', metric: 'revenue', value: -0, at: 2 },
];

test('a mixed batch arrives as it was sent: every field, absent ones absent, in order', () => {
  const arrived = crossed(batch) as Record<string, unknown>[];
  assert.deepEqual(arrived, structuredClone(batch));
  assert.equal('phase' in arrived[3]!, false);
  assert.equal('dimensions' in arrived[0]!, false);
  assert.equal(arrived[4]!.unit, 'k:\ud800 lone');
  assert.deepEqual(Object.entries(arrived[4]!.dimensions as object), [
    ['country', 'de'],
    ['__proto__', 'x'],
  ]);
  assert.ok(Object.is(arrived[7]!.value, -0));
});

test('exposures and conversions travel as columns; other kinds as they are', () => {
  const packed = packEvents(batch as RecordedEvent[]) as PackedEvents;
  assert.deepEqual([...packed.tags], [0, 1, 2, 0, 0, 2, 0, 1]);
  // Repeated names once each; the objects are the one dimensions and the two other events.
  assert.deepEqual(packed.names, ['delay', 'long', 'a1b2', 'purchase', 'short', 'pricing', 'p0', 'c3', '', 'revenue']);
  assert.equal(packed.objects.length, 3);
});

test('an event of any other shape travels whole, to be judged by the store as before', () => {
  const odd: unknown[] = [
    { kind: 'exposure', eventId: 'e1', trackSetId: 'delay', track: 'long', unit: 'u', at: 1, extra: true },
    { kind: 'exposure', eventId: 'e2', trackSetId: 'delay', track: 'long', unit: 'u', at: 1, phase: undefined },
    { kind: 'exposure', eventId: 'e3', trackSetId: 'delay', track: 'long', unit: 'u', at: '1' },
    { kind: 'exposure', eventId: 'e4', trackSetId: 'delay', track: 'long', unit: 7, at: 1 },
    { kind: 'exposure', eventId: 'e5', trackSetId: 'delay', track: 'long', unit: 'u', at: 1, dimensions: null },
    { kind: 'conversion', eventId: 'c1', unit: 'u', metric: 'm', value: '1', at: 1 },
    { kind: 'conversion', eventId: 'c2', unit: 'u', metric: 'm', at: 1 },
    Object.assign(Object.create({ inherited: 1 }) as object, { kind: 'conversion', eventId: 'c3', unit: 'u', metric: 'm', value: 1, at: 1 }),
    null,
    'exposure',
  ];
  const packed = packEvents(odd as RecordedEvent[]) as PackedEvents;
  assert.deepEqual([...packed.tags], new Array(odd.length).fill(2));
  assert.deepEqual(crossed(odd.slice(0, 7)), structuredClone(odd.slice(0, 7)));
  const arrived = crossed(odd) as unknown[];
  assert.equal(arrived.length, odd.length);
  assert.equal(arrived[8], null);
  assert.equal(arrived[9], 'exposure');
});

test('an empty batch, and values that were never packed, pass through', () => {
  assert.deepEqual(crossed([]), []);
  for (const value of [undefined, null, 'delay', 42, [1, 2], { trackSetId: 'delay' }]) assert.deepEqual(unpackEvents(value), value);
});

test('a big batch of exposures and conversions arrives whole', () => {
  const events: RecordedEvent[] = [];
  for (let i = 0; i < 10_000; i++) {
    events.push(
      i % 10 === 0
        ? { kind: 'conversion', eventId: `c-${i}`, unit: `user-${i}`, metric: i % 20 === 0 ? 'purchase' : 'revenue', value: i / 7, at: 1_700_000_000_000 + i }
        : { kind: 'exposure', eventId: `e-${i}`, trackSetId: `set-${i % 3}`, track: `t${i % 5}`, unit: `user-${i}`, at: 1_700_000_000_000 + i, phase: `ph${i % 2}` },
    );
  }
  assert.deepEqual(crossed(events), events);
});

test("a worker's answer carrying events (an outbox's peek) comes back packed, the same batch; other answers as they are", () => {
  const peeked = { events: batch, upTo: 42, quarantinedNow: 1 };
  const sent = packAnswer(peeked) as { events: unknown };
  assert.equal(Array.isArray(sent.events), false, 'the events travel as columns');
  const arrived = unpackAnswer(structuredClone(sent)) as typeof peeked;
  assert.deepEqual(arrived, structuredClone(peeked));
  assert.equal('phase' in (arrived.events[3] as object), false);
  for (const other of [undefined, null, 7, 'x', [1, 2], { waiting: 3, quarantined: 0 }, { events: 'not a batch' }]) {
    assert.deepEqual(unpackAnswer(structuredClone(packAnswer(other))), other);
  }
});
