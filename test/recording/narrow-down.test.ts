// narrowDown, the halving both of delivery's paths (memory batches and outbox batches) share:
// what it writes, sets aside and leaves waiting, counted write by write, with a store of the
// test's own that refuses chosen events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreError } from '../../src/index.js';
import type { RecordedEvent } from '../../src/index.js';
import { narrowDown } from '../../src/recording/narrow-down.js';
import type { NarrowingSteps } from '../../src/recording/narrow-down.js';
import { RefusalNarrowing } from '../../src/recording/refusal-narrowing.js';

const events = (n: number): RecordedEvent[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'conversion', eventId: `e${i}`, unit: `u${i}`, metric: 'buy', value: 1, at: 1_700_000_000_000 + i }));

/** Steps over plain arrays whose store answers each write with `answer` (undefined: written). */
function stepsOver(answer: (batch: readonly RecordedEvent[]) => unknown) {
  const log = { writes: 0, written: [] as string[], quarantined: [] as { id: string; message: string }[], stopped: false };
  const steps: NarrowingSteps<readonly RecordedEvent[]> = {
    events: (part) => part,
    write: async (batch) => {
      log.writes++;
      return answer(batch);
    },
    halves: (part) => [part.slice(0, Math.ceil(part.length / 2)), part.slice(Math.ceil(part.length / 2))],
    written: (part) => log.written.push(...part.map((e) => e.eventId)),
    quarantine: async (part, failure) => {
      log.quarantined.push({ id: part[0]!.eventId, message: (failure as Error).message });
    },
    stopped: () => log.stopped,
  };
  return { steps, log };
}

test('a permanent failure is narrowed down to the one event at fault; every other event is written, none twice', async () => {
  const batch = events(16);
  const { steps, log } = stepsOver((b) => (b.some((e) => e.eventId === 'e11') ? new StoreError('value too long', { transient: false }) : undefined));
  const waiting = await narrowDown(batch, steps, new RefusalNarrowing());
  assert.deepEqual(waiting, []);
  assert.deepEqual(log.quarantined, [{ id: 'e11', message: 'value too long' }]);
  assert.deepEqual([...log.written].sort(), batch.map((e) => e.eventId).filter((id) => id !== 'e11').sort());
  // One event in 16 is found in log2(16) + 1 failed writes, plus a written half at each level.
  assert.equal(log.writes, 1 + 2 * 4);
});

test('a transient failure that waiting fixes leaves the whole batch waiting, untouched', async () => {
  const batch = events(8);
  const { steps, log } = stepsOver(() => new StoreError('connection reset', { transient: true, code: 'ECONNRESET' }));
  const waiting = await narrowDown(batch, steps, new RefusalNarrowing());
  assert.deepEqual(waiting, [batch]);
  assert.equal(log.writes, 1);
  assert.deepEqual(log.written, []);
  assert.deepEqual(log.quarantined, []);
});

test('a refusal repeated past the threshold is narrowed: the refused event is set aside only because the others were written', async () => {
  const refusals = new RefusalNarrowing();
  const refused = new StoreError('trigger said no', { transient: true, code: 'P0001' });
  const batch = events(8);
  const { steps, log } = stepsOver((b) => (b.some((e) => e.eventId === 'e3') ? refused : undefined));
  // As delivery's writes do, each write tells the narrowing how it went.
  const told: typeof steps = {
    ...steps,
    write: async (b) => {
      const failure = await steps.write(b);
      refusals.wrote(failure);
      return failure;
    },
  };
  // The first refusals wait, as any transient failure does; the third is narrowed down.
  assert.deepEqual(await narrowDown(batch, told, refusals), [batch]);
  assert.deepEqual(await narrowDown(batch, told, refusals), [batch]);
  assert.deepEqual(log.written, []);
  assert.deepEqual(await narrowDown(batch, told, refusals), []);
  assert.equal(log.quarantined.length, 1);
  assert.equal(log.quarantined[0]!.id, 'e3');
  assert.match(log.quarantined[0]!.message, /trigger said no \(refused alone on every try/);
  assert.deepEqual([...log.written].sort(), ['e0', 'e1', 'e2', 'e4', 'e5', 'e6', 'e7']);
});

test('a store refusing every part leaves every event waiting: nothing is quarantined', async () => {
  const refusals = new RefusalNarrowing();
  const refused = new StoreError('read-only policy', { transient: true, code: '42501' });
  for (let i = 0; i < 3; i++) refusals.wrote(refused);
  const batch = events(4);
  const { steps, log } = stepsOver(() => refused);
  const waiting = await narrowDown(batch, steps, refusals);
  assert.deepEqual(log.quarantined, []);
  assert.deepEqual(log.written, []);
  assert.deepEqual(waiting.flat().map((e) => e.eventId).sort(), ['e0', 'e1', 'e2', 'e3']);
});

test('stopped during a write: nothing more is written, set aside or left waiting', async () => {
  const batch = events(8);
  const { steps, log } = stepsOver((b) => {
    log.stopped = true;
    return b.length > 1 ? new StoreError('bad', { transient: false }) : undefined;
  });
  assert.deepEqual(await narrowDown(batch, steps, new RefusalNarrowing()), []);
  assert.equal(log.writes, 1);
  assert.deepEqual(log.quarantined, []);
});

test('a suspect tried alone that now meets a failure waiting fixes: it and the suspects after it wait, untried', async () => {
  const refusals = new RefusalNarrowing();
  const refused = new StoreError('trigger said no', { transient: true, code: 'P0001' });
  const down = new StoreError('connection reset', { transient: true, code: 'ECONNRESET' });
  for (let i = 0; i < 3; i++) refusals.wrote(refused);
  const batch = events(8);
  let storeDown = false;
  const { steps, log } = stepsOver((b) => {
    if (storeDown) return down;
    if (b.length === 1 && b[0]!.eventId === 'e1' && log.writes > 6) storeDown = true; // e1's try alone: the store goes down
    return b.some((e) => e.eventId === 'e1' || e.eventId === 'e5' || e.eventId === 'e6') ? refused : undefined;
  });
  const waiting = await narrowDown(batch, steps, refusals);
  assert.deepEqual(log.quarantined, []);
  assert.deepEqual(waiting.flat().map((e) => e.eventId), ['e1', 'e5', 'e6'], 'the suspects, in order, none tried after the store went down');
  assert.deepEqual([...log.written].sort(), ['e0', 'e2', 'e3', 'e4', 'e7']);
  // Halving down to its three suspects, then e1 alone until the store is down: 15 writes; e5
  // and e6 tried alone too would have been 2 more, to a store that is down.
  assert.equal(log.writes, 15);
});
