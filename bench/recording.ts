// Recording benchmark: the cost recording adds to a request, and the sustained rate of
// exposures into SQLite and PostgreSQL beside plain one-row-per-statement inserts of the
// same rows in the same run. `node --import tsx bench/recording.ts`
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { TrackSet, close, configure, flush, postgresStore, sqliteStore } from '../src/index.js';
import type { ExposureEvent, Store } from '../src/index.js';
import { formatNs, printTable, verdict } from './harness.js';

class DelayTracks extends TrackSet {
  static override id = 'bench-rec-delay';
  static short_track() {
    return 1;
  }
  static long_track() {
    return 2;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tracks-bench-'));
const pgUrl = process.env.TRACKS_TEST_POSTGRES_URL ?? process.env.TRACKS_BENCH_POSTGRES_URL;
const lines: string[] = [];
const rows: string[][] = [['case', 'figure', 'unit']];

function requestLoop(runs: number, keys: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) {
    const track = new DelayTracks({ key: i % keys });
    sink += track.name.length + (track.run() as number);
  }
  const ns = Number(process.hrtime.bigint() - start);
  if (sink === -1) console.log(sink);
  return ns;
}

// ---- 1. cost added to a request ----
{
  const runs = 1_000_000;
  const keys = 100_000; // every key visits 10 times: 100,000 exposures, 1,000,000 health counts
  requestLoop(200_000, keys); // warm-up
  const base: number[] = [];
  const hot: number[] = [];
  const amortized: number[] = [];
  for (let round = 0; round < 3; round++) {
    base.push(requestLoop(runs, keys) / runs);
    configure({ store: join(dir, `request-${round}.db`), outbox: false, handleSignals: false });
    const start = process.hrtime.bigint();
    const loop = requestLoop(runs, keys);
    await flush();
    amortized.push(Number(process.hrtime.bigint() - start) / runs);
    hot.push(loop / runs);
    await close();
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [b, h, a] = [median(base), median(hot), median(amortized)];
  rows.push(['request without recording (new + name + run)', formatNs(b), 'per run']);
  rows.push(['request with recording, hot path only', formatNs(h), 'per run']);
  rows.push(['request with recording, incl. writing to SQLite', formatNs(a), 'per run']);
  rows.push(['added by recording, amortized', formatNs(a - b), 'per run']);
  lines.push(verdict('µs added per run, amortized (1M runs, 100k keys, SQLite)', (a - b) / 1000, 1, 'at most'));
}

function exposures(n: number, prefix: string): ExposureEvent[] {
  const at = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    kind: 'exposure',
    eventId: `${prefix}-${i}`,
    trackSetId: 'bench',
    track: i % 2 ? 'short' : 'long',
    unit: `${prefix}-user-${i}`,
    at: at + i,
  }));
}

async function batchedRate(store: Store, n: number, prefix: string, batch = 10_000): Promise<number> {
  const events = exposures(n, prefix);
  await store.write(events.slice(0, 1)); // open and migrate outside the timing
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) await store.write(events.slice(i, i + batch));
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

// ---- 2. sustained exposures/s into SQLite ----
{
  const path = join(dir, 'rate.db');
  const store = sqliteStore(path);
  const tracks = await batchedRate(store, 1_000_000, 'sq');
  await store.close();
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE plain_runs (track_set_id TEXT, unit TEXT, track TEXT, at INTEGER, event_id TEXT)');
  const insert = db.prepare('INSERT INTO plain_runs VALUES (?, ?, ?, ?, ?)');
  const plainRows = exposures(20_000, 'plain');
  const start = process.hrtime.bigint();
  for (const e of plainRows) insert.run(e.trackSetId, e.unit, e.track, e.at, e.eventId);
  const plain = plainRows.length / (Number(process.hrtime.bigint() - start) / 1e9);
  db.close();
  rows.push(['SQLite: tracks batches (10,000 per transaction)', Math.round(tracks).toLocaleString('en-US'), 'exposures/s']);
  rows.push(['SQLite: plain one-row INSERT per statement', Math.round(plain).toLocaleString('en-US'), 'rows/s']);
  rows.push(['SQLite: ratio tracks / plain', `${(tracks / plain).toFixed(1)}x`, '']);
  lines.push(verdict('SQLite exposures/s (thousands)', tracks / 1000, 500, 'at least'));
}

// ---- 3. sustained exposures/s into PostgreSQL ----
if (pgUrl === undefined) {
  rows.push(['PostgreSQL', 'skipped', 'set TRACKS_TEST_POSTGRES_URL']);
} else {
  const schema = `tracks_bench_${process.pid}`;
  const pool = new pg.Pool({ connectionString: pgUrl, max: 4 });
  try {
    const store = postgresStore(pool, { schema });
    const tracks = await batchedRate(store, 500_000, 'pg', 20_000);
    await pool.query(`CREATE TABLE "${schema}".plain_runs (track_set_id text, unit text, track text, at bigint, event_id text)`);
    const plainRows = exposures(5_000, 'plain');
    const start = process.hrtime.bigint();
    for (const e of plainRows) {
      await pool.query(`INSERT INTO "${schema}".plain_runs VALUES ($1, $2, $3, $4, $5)`, [e.trackSetId, e.unit, e.track, e.at, e.eventId]);
    }
    const plain = plainRows.length / (Number(process.hrtime.bigint() - start) / 1e9);
    rows.push(['PostgreSQL: tracks batches (COPY + INSERT ... ON CONFLICT, 20,000 rows)', Math.round(tracks).toLocaleString('en-US'), 'exposures/s']);
    rows.push(['PostgreSQL: plain one-row INSERT per statement', Math.round(plain).toLocaleString('en-US'), 'rows/s']);
    rows.push(['PostgreSQL: ratio tracks / plain', `${(tracks / plain).toFixed(1)}x`, '']);
    lines.push(verdict('PostgreSQL exposures/s (thousands)', tracks / 1000, 200, 'at least'));
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
}

rmSync(dir, { recursive: true, force: true });
printTable('Recording', rows);
console.log('');
for (const line of lines) console.log(line);
