// Sending full batches ahead to a store that reports its queue of writes, under faults and at the edges of
// its bounds: every event recorded is counted once (written, spilled, quarantined or dropped)
// and stored once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { TrackSet, close, configure, flush, stats } from '../../src/index.js';
import { threadStore } from '../support/thread-store.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-send-ahead-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => close());

class AheadFaultTracks extends TrackSet {
  static override id = 'ahead-faults';
  static a_track() {}
  static b_track() {}
}

/** Exposures of the set in a SQLite file: rows, and distinct units. */
function exposures(path: string): { n: number; d: number } {
  const db = new BetterSqlite3(path, { readonly: true });
  const row = db.prepare("SELECT count(*) AS n, count(DISTINCT unit) AS d FROM tracks_exposures WHERE track_set_id = 'ahead-faults'").get() as { n: number; d: number };
  db.close();
  return row;
}

test('maxBuffered at four batches (the least allowed): a synchronous burst past it spills to the outbox, none dropped, every event stored once', async () => {
  const path = join(dir, 'four-batches.db');
  configure({ store: path, batchSize: 50, maxBuffered: 200, outbox: join(dir, 'four-batches.outbox'), handleSignals: false });
  const n = 5_000;
  for (let i = 0; i < n; i++) new AheadFaultTracks({ key: `k${i}` }).run();
  const during = stats();
  await flush();
  await flush(); // the outbox, too
  const s = stats();
  await close();
  assert.ok(during.spilled > 0, JSON.stringify(during));
  assert.equal(s.dropped, 0, JSON.stringify(s));
  assert.deepEqual(exposures(path), { n, d: n });
});

test('a store slow to answer its first write (a worker starting, tables created): no write sent behind it times out', async () => {
  // The first write takes 150 ms, each after it 5 ms; the deadline is 200 ms.
  const { store, written } = threadStore({ ms: (call) => (call === 0 ? 150 : 5) });
  const errors: string[] = [];
  configure({ store, batchSize: 100, maxBuffered: 10_000, writeTimeout: 200, outbox: false, handleSignals: false, onError: (e) => errors.push(e.message) });
  const n = 6_000;
  for (let i = 0; i < n; i++) new AheadFaultTracks({ key: `k${i}` }).run();
  await flush();

  const s = stats();
  assert.deepEqual(errors, []);
  assert.equal(s.retried, 0, JSON.stringify(s));
  assert.equal(s.dropped, 0);
  assert.equal(written.length, n);
  assert.equal(new Set(written).size, n);
});

test('a store on its own thread at a steady pace, its answers read together after each synchronous stretch: no write sent ahead times out', async () => {
  // Each batch in 5 ms, one after another; the deadline is 150 ms.
  const { store, written } = threadStore({ ms: () => 5 });
  const errors: string[] = [];
  configure({ store, batchSize: 100, maxBuffered: 100_000, writeTimeout: 150, outbox: false, handleSignals: false, onError: (e) => errors.push(e.message) });
  let k = 0;
  for (let loop = 0; loop < 3; loop++) {
    for (let i = 0; i < 4_000; i++, k++) new AheadFaultTracks({ key: `k${k}` }).run();
    // The application's own work, synchronous too: the answers wait, and are read together.
    const until = Date.now() + 200;
    while (Date.now() < until);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await flush();
  const s = stats();
  assert.deepEqual(errors, []);
  assert.equal(s.retried, 0, JSON.stringify(s));
  assert.equal(new Set(written).size, k);
});

test('a write held up (another process holding the lock) during synchronous loops: few batches wait behind it to time out, and every event is written once', async () => {
  // Writes take 1 ms, but the 30th is held for 600 ms, three deadlines: the writes queued
  // behind it wait as long. Each failed write is retried (the model store keeps nothing of it).
  let heldFrom = -1;
  const { store, written } = threadStore({
    ms: (call) => (call === 30 ? 600 : 1),
    fails: (call) => {
      if (call === 30) heldFrom = performance.now();
      return heldFrom >= 0 && performance.now() < heldFrom + 600 + 5;
    },
  });
  configure({ store, batchSize: 100, maxBuffered: 200_000, writeTimeout: 200, outbox: false, handleSignals: false, onError: () => {} });
  let k = 0;
  for (let loop = 0; loop < 5; loop++) {
    // 10,000 events over a synchronous stretch of 300 ms.
    const start = Date.now();
    for (let j = 0; j < 10_000; j++) {
      new AheadFaultTracks({ key: `k${k++}` }).run();
      while (Date.now() < start + (j * 300) / 10_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await flush();
  const s = stats();
  // Sent ahead behind the held write, sixteen batches at a time timed out with it, and again
  // after each backoff (over 2,000 events retried); one at a time, a batch per deadline.
  assert.ok(s.retried <= 1_000, JSON.stringify(s));
  assert.equal(s.dropped, 0);
  assert.equal(new Set(written).size, k);
});

test("a store of the user's whose writeQueue() answers nothing, or a getter that throws: batches go one at a time, no error reported, every event written once", async () => {
  for (const broken of [() => undefined, () => ({ get waiting(): number { throw new Error('no queue'); }, msPerWrite: 1 })]) {
    const { store, written } = threadStore({ ms: () => 1 });
    store.writeQueue = broken as never;
    const errors: string[] = [];
    configure({ store, batchSize: 100, maxBuffered: 100_000, outbox: false, handleSignals: false, onError: (e) => errors.push(e.message) });
    for (let i = 0; i < 2_000; i++) new AheadFaultTracks({ key: `k${i}` }).run();
    await flush();
    const s = stats();
    await close();
    assert.deepEqual(errors, []);
    assert.equal(s.dropped, 0);
    assert.equal(new Set(written).size, 2_000);
  }
});
