// Sending full batches ahead to a store that writes in order, under faults and at the edges of
// its bounds: every event recorded is counted once (written, spilled, quarantined or dropped)
// and stored once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { TrackSet, close, configure, flush, stats } from '../../src/index.js';

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
