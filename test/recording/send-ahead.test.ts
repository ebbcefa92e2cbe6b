// Sending full batches ahead to a store that reports its queue of writes (the SQLite store's
// thread): during a synchronous stretch of the application, each batch goes as it fills while
// those waiting would be written within half the deadline at the store's pace, so the store's
// thread writes while the application's runs on. What must still hold: every event stored once, through failures of several writes at once; no write
// timed out for waiting; room left at the memory bound; other stores get one write at a time.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { TrackSet, close, configure, flush, stats } from '../../src/index.js';
import type { RecordedEvent } from '../../src/index.js';
import { EventBuffer } from '../../src/recording/event-buffer.js';
import { threadStore } from '../support/thread-store.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-send-ahead-'));
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => close());

class AheadTracks extends TrackSet {
  static override id = 'ahead';
  static a_track() {}
  static b_track() {}
}

const units = (n: number) => Array.from({ length: n }, (_, i) => `u${String(i).padStart(5, '0')}`);

test('a store that reports its queue of writes gets each full batch as it fills, during a synchronous loop; every event is stored once, in order', async () => {
  const { store, written, counts } = threadStore({ ms: () => 0 });
  configure({ store, batchSize: 100, maxBuffered: 10_000, outbox: false, handleSignals: false });
  for (const unit of units(1_000)) new AheadTracks({ key: unit }).run();
  const sentDuringLoop = counts.calls;
  await flush();
  assert.ok(sentDuringLoop >= 9, `${sentDuringLoop} writes sent during the loop, of 10 full batches`);
  assert.ok(counts.mostInFlight > 1);
  assert.deepEqual(written, units(1_000));
  assert.equal(stats().dropped, 0);
});

test('behind slow writes, only as many are sent ahead to wait in the store\'s queue as its pace allows: no write times out', async () => {
  // 60 ms a write, a deadline of 200 ms: one more may wait (with the pump's next, 180 ms); a
  // write waiting behind three others would end at 240 ms.
  const { store, written, counts } = threadStore({ ms: () => 60 });
  const errors: Error[] = [];
  configure({ store, batchSize: 100, maxBuffered: 10_000, writeTimeout: 200, outbox: false, handleSignals: false, onError: (error) => errors.push(error) });
  for (const unit of units(1_000)) new AheadTracks({ key: unit }).run();
  const sentDuringLoop = counts.calls;
  await flush();
  assert.ok(sentDuringLoop >= 1 && sentDuringLoop <= 2, `${sentDuringLoop} writes sent during the loop`);
  assert.deepEqual(errors, []);
  assert.equal(stats().retried, 0);
  assert.deepEqual(written, units(1_000));
});

test('a store that does not report its queue of writes gets one write at a time', async () => {
  const { store, written, counts } = threadStore({ ms: () => 1, reportsQueue: false });
  configure({ store, batchSize: 100, maxBuffered: 10_000, outbox: false, handleSignals: false });
  for (const unit of units(1_000)) new AheadTracks({ key: unit }).run();
  assert.equal(counts.calls, 0, 'nothing is sent before the loop ends');
  await flush();
  assert.equal(counts.mostInFlight, 1);
  assert.deepEqual(written, units(1_000));
});

test('writes sent ahead that fail together are tried again: each event stored once', async () => {
  const { store, written } = threadStore({ ms: () => 1, fails: (call) => call < 6 });
  const errors: Error[] = [];
  configure({ store, batchSize: 100, maxBuffered: 10_000, outbox: false, handleSignals: false, retryDelay: 5, onError: (error) => errors.push(error) });
  for (const unit of units(1_000)) new AheadTracks({ key: unit }).run();
  await flush();
  const s = stats();
  assert.ok(s.retried >= 600, JSON.stringify(s));
  assert.equal(s.dropped, 0);
  // The batches sent behind the failed ones may be written first (as two processes' may be).
  assert.deepEqual([...written].sort(), units(1_000));
  assert.ok(errors.length > 0 && errors.every((e) => /busy/.test(e.message)));
});

test('sending ahead leaves room at the memory bound: a synchronous burst past it spills, and none is dropped', async () => {
  const { store, written } = threadStore({ ms: () => 1 });
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
  for (const unit of units(20_000)) new AheadTracks({ key: unit }).run();
  await flush();
  assert.equal(stats().dropped, 0);
  await close();
  const db = new BetterSqlite3(path, { readonly: true });
  const row = db.prepare("SELECT count(*) AS n, count(DISTINCT unit) AS d FROM tracks_exposures WHERE track_set_id = 'ahead'").get() as { n: number; d: number };
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
