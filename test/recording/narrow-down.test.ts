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
  // One event in 16 is found in log2(16) + 1 failed writes, plus a written half at each level,
  // then tried alone once more, after the others were written.
  assert.equal(log.writes, 1 + 2 * 4 + 1);
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

test('a store refusing every event for a reason retrying cannot fix (a trigger or CHECK of the user\'s) is waited for: nothing is quarantined', async () => {
  // An audit saw 1,101 of 5,900 good events quarantined while a trigger refused every row for 3 s.
  const refusals = new RefusalNarrowing();
  const batch = events(8);
  const { steps, log } = stepsOver(() => new StoreError('new row violates check constraint', { transient: false, code: '23514' }));
  const waiting = await narrowDown(batch, steps, refusals);
  assert.deepEqual(log.quarantined, []);
  assert.deepEqual(log.written, []);
  assert.deepEqual(waiting.flat().map((e) => e.eventId), batch.map((e) => e.eventId), 'every event waits, in order');
  assert.equal(log.writes, 2 * 8 - 1);
  // The store takes writes again: every event is written, none set aside.
  const after = stepsOver(() => undefined);
  assert.deepEqual(await narrowDown(waiting.flat(), after.steps, refusals), []);
  assert.equal(after.log.written.length, 8);
  assert.deepEqual(after.log.quarantined, []);
});

test('an event refused alone waits until the store takes others: then, refused again, it is quarantined', async () => {
  const refusals = new RefusalNarrowing();
  const poison = (b: readonly RecordedEvent[]) => (b.some((e) => e.eventId === 'e0') ? new StoreError('value too long', { transient: false, code: '22001' }) : undefined);
  const [lone] = events(1);
  const first = stepsOver(poison);
  const waiting = await narrowDown([lone!], first.steps, refusals);
  assert.deepEqual(first.log.quarantined, [], 'alone, nothing says it is the event and not the store');
  assert.deepEqual(waiting, [[lone]]);
  // Refused alone again with no write taken between: it still waits.
  assert.deepEqual(await narrowDown([lone!], stepsOver(poison).steps, refusals), [[lone]]);
  // Another path's write of the same kind of event goes through (as delivery tells the narrowing after every write).
  refusals.wrote(undefined, events(3).slice(1));
  const again = stepsOver(poison);
  assert.deepEqual(await narrowDown([lone!], again.steps, refusals), []);
  assert.deepEqual(again.log.quarantined, [{ id: 'e0', message: 'value too long' }]);
});

test('a batch of refused events only waits; tried again beside events the store takes, the refused ones are quarantined', async () => {
  const refusals = new RefusalNarrowing();
  const all = events(6);
  const bad = new Set(['e0', 'e1']);
  const answer = (b: readonly RecordedEvent[]) => (b.some((e) => bad.has(e.eventId)) ? new StoreError('refused by a trigger', { transient: false, code: 'P0001' }) : undefined);
  const first = stepsOver(answer);
  const waiting = await narrowDown(all.slice(0, 2), first.steps, refusals);
  assert.deepEqual(first.log.quarantined, []);
  // Put back in front of the events recorded since, as the buffer does.
  const next = stepsOver(answer);
  assert.deepEqual(await narrowDown([...waiting.flat(), ...all.slice(2)], next.steps, refusals), []);
  assert.deepEqual(next.log.quarantined.map((q) => q.id), ['e0', 'e1']);
  assert.deepEqual([...next.log.written].sort(), ['e2', 'e3', 'e4', 'e5']);
});

test('a store that refused every row for good and takes them again while a batch is narrowed down: the events refused before are written, none quarantined', async () => {
  // A review saw 431 good events quarantined when a 3 s refusal ended part-way through a narrowing.
  const batch = events(8);
  let refusing = 6; // the first six writes are refused, then the store takes everything
  const { steps, log } = stepsOver(() => (refusing-- > 0 ? new StoreError('refused by a trigger', { transient: false, code: 'P0001' }) : undefined));
  assert.deepEqual(await narrowDown(batch, steps, new RefusalNarrowing()), []);
  assert.deepEqual(log.quarantined, []);
  assert.deepEqual([...log.written].sort(), batch.map((e) => e.eventId).sort());
});

test('what waits is returned in batch order, refusals that may pass and refusals for good alike (a flush waits for the oldest)', async () => {
  const batch = events(4);
  const mayPass = new StoreError('internal error', { transient: true, code: 'XX000' });
  const forGood = new StoreError('refused by a trigger', { transient: false, code: 'P0001' });
  const refusals = new RefusalNarrowing();
  for (let i = 0; i < 3; i++) refusals.wrote(mayPass);
  // e0 and e2 refused with an error that may pass, e1 and e3 for good: every part is refused.
  const { steps, log } = stepsOver((b) => (b.some((e) => e.eventId === 'e0' || e.eventId === 'e2') ? mayPass : forGood));
  const waiting = await narrowDown(batch, steps, refusals);
  assert.deepEqual(log.quarantined, []);
  assert.deepEqual(waiting.flat().map((e) => e.eventId), ['e0', 'e1', 'e2', 'e3']);
});

test('events refused for good at the head wait at most refusedWaitMs while the store takes nothing, then are quarantined (they cannot block the events behind them)', async () => {
  const refusals = new RefusalNarrowing(50);
  const head = events(2);
  const forGood = () => new StoreError('refused by a trigger', { transient: false, code: 'P0001' });
  const first = stepsOver(forGood);
  assert.deepEqual((await narrowDown(head, first.steps, refusals)).flat().map((e) => e.eventId), ['e0', 'e1']);
  assert.ok(refusals.takeWaiting() instanceof StoreError, 'the delivery is told to back off and report');
  assert.equal(refusals.takeWaiting(), undefined, 'once');
  await new Promise((resolve) => setTimeout(resolve, 60));
  const again = stepsOver(forGood);
  assert.deepEqual(await narrowDown(head, again.steps, refusals), []);
  assert.deepEqual(again.log.quarantined.map((q) => q.id), ['e0', 'e1']);
});

test('a refusal of every row that starts part-way through a narrowing sets nothing aside: the events refused after the last write wait', async () => {
  // A review saw 498 good events of a batch of 500 quarantined when such a window began after its first written part.
  const batch = events(8);
  let n = 0;
  const refused = new StoreError('refused by a trigger', { transient: false, code: 'P0001' });
  // The batch is refused (e3 is bad), its first quarter written, then every row refused.
  const { steps, log } = stepsOver((b) => (++n === 3 && b.every((e) => e.eventId === 'e0' || e.eventId === 'e1') ? undefined : refused));
  const waiting = await narrowDown(batch, steps, new RefusalNarrowing());
  assert.deepEqual(log.written, ['e0', 'e1']);
  assert.deepEqual(log.quarantined, []);
  assert.deepEqual(waiting.flat().map((e) => e.eventId), ['e2', 'e3', 'e4', 'e5', 'e6', 'e7']);
});

test('the wait of an event refused for good is its own: an event refused for the first time waits, whatever waited before it', async () => {
  const refusals = new RefusalNarrowing(50);
  const refused = () => new StoreError('refused by a trigger', { transient: false, code: 'P0001' });
  const [first, later] = events(2);
  assert.deepEqual(await narrowDown([first!], stepsOver(refused).steps, refusals), [[first]]);
  await new Promise((resolve) => setTimeout(resolve, 60));
  const next = stepsOver(refused);
  assert.deepEqual(await narrowDown([later!], next.steps, refusals), [[later]], 'refused for the first time: it waits');
  assert.deepEqual(next.log.quarantined, []);
});

test('an event refused for good last in its batch waits: nothing of its kind was written after it (a written part written again proves nothing: a store may skip duplicates before it refuses)', async () => {
  // A review saw 498 good events quarantined by a callback deduplicating on eventId, which took
  // such a re-sent part while its downstream refused everything.
  const refusals = new RefusalNarrowing();
  const batch = events(6);
  const poison = (b: readonly RecordedEvent[]) => (b.some((e) => e.eventId === 'e5') ? new StoreError('value too long', { transient: false, code: '22001' }) : undefined);
  const { steps, log } = stepsOver(poison);
  assert.deepEqual((await narrowDown(batch, steps, refusals)).flat().map((e) => e.eventId), ['e5']);
  assert.deepEqual(log.quarantined, []);
  assert.equal(log.writes, 1 + 2 + 2, 'halving only: no written part written again');
  // A fresh conversion is taken (the next batch): refused again, e5 is quarantined.
  refusals.wrote(undefined, events(7).slice(6));
  const again = stepsOver(poison);
  assert.deepEqual(await narrowDown([batch[5]!], again.steps, refusals), []);
  assert.deepEqual(again.log.quarantined, [{ id: 'e5', message: 'value too long' }]);
});

test('a store refusing one kind of event (a trigger on conversions) while it takes the others: the refused kind waits, none quarantined', async () => {
  // A review saw 1,344 good conversions quarantined while a trigger refused conversions for 3 s and exposures were written.
  const exposures: RecordedEvent[] = Array.from({ length: 4 }, (_, i) => ({ kind: 'exposure', eventId: `x${i}`, trackSetId: 's', track: 'a', unit: `u${i}`, at: 1_700_000_000_000 + i }));
  const batch = [...events(4), ...exposures];
  const refusals = new RefusalNarrowing();
  const { steps, log } = stepsOver((b) => (b.some((e) => e.kind === 'conversion') ? new StoreError('conversions refused', { transient: false, code: 'P0001' }) : undefined));
  const waiting = await narrowDown(batch, steps, refusals);
  assert.deepEqual(log.quarantined, []);
  assert.deepEqual(log.written, ['x0', 'x1', 'x2', 'x3']);
  assert.deepEqual(waiting.flat().map((e) => e.eventId), ['e0', 'e1', 'e2', 'e3']);
  // Exposures written meanwhile by another batch say nothing about the conversions either.
  refusals.wrote(undefined, exposures);
  const again = stepsOver((b) => (b.some((e) => e.kind === 'conversion') ? new StoreError('conversions refused', { transient: false, code: 'P0001' }) : undefined));
  assert.equal((await narrowDown(waiting.flat(), again.steps, refusals)).flat().length, 4);
  assert.deepEqual(again.log.quarantined, []);
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
