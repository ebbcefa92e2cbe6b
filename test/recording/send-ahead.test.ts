// Sending full batches ahead to a store that writes in order (the SQLite store's thread): during
// a synchronous stretch of the application, each batch goes as it fills, so the store's thread
// writes while the application's runs on. What must still hold: every event stored once, through
// failures of several writes at once; room left at the memory bound; other stores get one write
// at a time.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { StoreError, TrackSet, close, configure, flush, memoryStore, stats } from '../../src/index.js';
import type { RecordedEvent, Store } from '../../src/index.js';
import { EventBuffer } from '../../src/recording/event-buffer.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-send-ahead-'));
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => close());

class AheadTracks extends TrackSet {
  static override id = 'ahead';
  static a_track() {}
  static b_track() {}
}

/** A store answering its writes one at a time, in order, a millisecond each; it can fail the next `failing` writes. */
function orderedStore(writesInOrder: boolean) {
  const inner = memoryStore();
  const written: string[] = [];
  let queue: Promise<void> = Promise.resolve();
  const store = {
    ...inner,
    description: 'ordered',
    writesInOrder,
    failing: 0,
    calls: 0,
    inFlight: 0,
    mostInFlight: 0,
    write(events: readonly RecordedEvent[]): Promise<void> {
      store.calls++;
      store.mostInFlight = Math.max(store.mostInFlight, ++store.inFlight);
      const fail = store.failing > 0;
      if (fail) store.failing--;
      const done = queue.then(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        store.inFlight--;
        if (fail) throw new StoreError('busy', { transient: true });
        for (const event of events) if (event.kind === 'exposure') written.push(event.unit);
        await inner.write(events);
      });
      queue = done.catch(() => {});
      return done;
    },
  };
  return { store: store as Store & typeof store, written };
}

const units = (n: number) => Array.from({ length: n }, (_, i) => `u${String(i).padStart(5, '0')}`);

/** One write answered first: nothing is sent ahead before the store's pace is known. */
async function warmUp(): Promise<void> {
  new AheadTracks({ key: 'warm-up' }).run();
  await flush();
}

test('a store that writes in order gets each full batch as it fills, during a synchronous loop; every event is stored once, in order', async () => {
  const { store, written } = orderedStore(true);
  configure({ store, batchSize: 100, maxBuffered: 10_000, outbox: false, handleSignals: false });
  await warmUp();
  const before = store.calls;
  for (const unit of units(1_000)) new AheadTracks({ key: unit }).run();
  const sentDuringLoop = store.calls - before;
  await flush();
  assert.ok(sentDuringLoop >= 9, `${sentDuringLoop} writes sent during the loop, of 10 full batches`);
  assert.ok(store.mostInFlight > 1);
  assert.deepEqual(written.slice(1), units(1_000));
  assert.equal(stats().dropped, 0);
});

test('a store that does not say it writes in order gets one write at a time', async () => {
  const { store, written } = orderedStore(false);
  configure({ store, batchSize: 100, maxBuffered: 10_000, outbox: false, handleSignals: false });
  for (const unit of units(1_000)) new AheadTracks({ key: unit }).run();
  assert.equal(store.calls, 0, 'nothing is sent before the loop ends');
  await flush();
  assert.equal(store.mostInFlight, 1);
  assert.deepEqual(written, units(1_000));
});

test('writes sent ahead that fail together are tried again: each event stored once', async () => {
  const { store, written } = orderedStore(true);
  const errors: Error[] = [];
  configure({ store, batchSize: 100, maxBuffered: 10_000, outbox: false, handleSignals: false, retryDelay: 5, onError: (error) => errors.push(error) });
  await warmUp();
  written.length = 0;
  store.failing = 6;
  for (const unit of units(1_000)) new AheadTracks({ key: unit }).run();
  await flush();
  const s = stats();
  assert.equal(store.failing, 0);
  assert.ok(s.retried >= 600, JSON.stringify(s));
  assert.equal(s.dropped, 0);
  // The batches sent behind the failed ones were written first (as two processes' may be).
  assert.deepEqual([...written].sort(), units(1_000));
  assert.ok(errors.length > 0 && errors.every((e) => /busy/.test(e.message)));
});

test('sending ahead leaves room at the memory bound: a synchronous burst past it spills, and none is dropped', async () => {
  const { store, written } = orderedStore(true);
  configure({ store, batchSize: 50, maxBuffered: 500, outbox: join(dir, 'burst.outbox'), handleSignals: false });
  for (const unit of units(3_000)) new AheadTracks({ key: unit }).run();
  const during = stats();
  await flush();
  await flush(); // the outbox, too
  const s = stats();
  assert.ok(during.spilled > 0, JSON.stringify(during));
  assert.equal(s.dropped, 0, JSON.stringify(s));
  assert.deepEqual([...new Set(written)].sort(), units(3_000));
});

test('the SQLite store is sent batches ahead and stores every exposure of a synchronous loop once', async () => {
  const path = join(dir, 'ahead.db');
  configure({ store: path, batchSize: 500, outbox: false, handleSignals: false });
  await warmUp();
  for (const unit of units(20_000)) new AheadTracks({ key: unit }).run();
  await flush();
  assert.equal(stats().dropped, 0);
  await close();
  const db = new BetterSqlite3(path, { readonly: true });
  const row = db.prepare("SELECT count(*) AS n, count(DISTINCT unit) AS d FROM tracks_exposures WHERE track_set_id = 'ahead' AND unit <> 'warm-up'").get() as { n: number; d: number };
  db.close();
  assert.deepEqual(row, { n: 20_000, d: 20_000 });
});

test('a batch put back after a newer one (two writes failing together) goes back before it', () => {
  const buffer = new EventBuffer(100, 1_000_000);
  const event = (i: number): RecordedEvent => ({ kind: 'conversion', eventId: `e${i}`, unit: `u${i}`, metric: 'm', value: 1, at: i });
  for (let i = 0; i < 6; i++) buffer.push(event(i));
  const older = buffer.take(2)!;
  const newer = buffer.take(2)!;
  buffer.putBack([newer]);
  buffer.putBack([older]);
  assert.deepEqual(buffer.take()!.events.map((e) => e.eventId), ['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
  const first = buffer.take(1);
  assert.equal(first, undefined);
  for (let i = 6; i < 10; i++) buffer.push(event(i));
  const a = buffer.take(2)!;
  const b = buffer.take(2)!;
  buffer.putBack([a]);
  buffer.putBack([b]);
  assert.deepEqual(buffer.take()!.events.map((e) => e.eventId), ['e6', 'e7', 'e8', 'e9']);
});
