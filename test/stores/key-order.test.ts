// Stores write a batch's rows in key order (model/event-tables.ts inKeyOrder): exposures sorted
// by set and unit, so a b-tree takes them leaf after leaf, and nothing else reordered where the
// order decides which row a store keeps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordedEvent } from '../../src/index.js';
import { inKeyOrder } from '../../src/model/event-tables.js';

const exposure = (trackSetId: string, unit: string, track: string): RecordedEvent => ({ kind: 'exposure', eventId: `e-${trackSetId}-${unit}-${track}`, trackSetId, track, unit, at: 1 });
const conversion = (eventId: string): RecordedEvent => ({ kind: 'conversion', eventId, unit: 'u', metric: 'm', value: 1, at: 1 });

test('exposures come out sorted by set, then unit; two of one unit keep their order, so the first is still kept', () => {
  const batch = [exposure('b', 'u2', 'x'), exposure('a', 'u9', 'x'), exposure('b', 'u1', 'late'), exposure('a', 'u10', 'x'), exposure('b', 'u1', 'later'), exposure('b', 'u1', 'latest')];
  const sorted = inKeyOrder(batch) as Extract<RecordedEvent, { kind: 'exposure' }>[];
  assert.deepEqual(
    sorted.map((e) => `${e.trackSetId}/${e.unit}/${e.track}`),
    ['a/u10/x', 'a/u9/x', 'b/u1/late', 'b/u1/later', 'b/u1/latest', 'b/u2/x'],
  );
});

test('kinds are grouped in the order stores write them; other kinds keep the order given; the batch itself is untouched', () => {
  const batch = [conversion('c3'), exposure('s', 'u2', 'x'), conversion('c1'), exposure('s', 'u1', 'x'), conversion('c2')];
  const before = [...batch];
  const sorted = inKeyOrder(batch);
  assert.deepEqual(
    sorted.map((e) => (e.kind === 'exposure' ? e.unit : e.eventId)),
    ['u1', 'u2', 'c3', 'c1', 'c2'],
  );
  assert.deepEqual(batch, before);
});
