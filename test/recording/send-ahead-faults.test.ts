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
