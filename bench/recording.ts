// Recording benchmark, every figure beside its floor or peer measured in the same run:
//   1. the cost recording adds to a request, amortized (1M runs, 100k keys, SQLite);
//   2. event-loop delay (p99, max) at 20,000 runs/s with recording against without, with the
//      SQLite file locked by another process for 5 s in the middle;
//   3. exposures/s into SQLite and PostgreSQL beside a bare multi-row INSERT / bare COPY of the
//      same rows into an unindexed table (the physical floor; issue 9), and beside plain
//      one-row-per-statement inserts with issue 3's absolute targets (500,000/s and 200,000/s).
// `npm run build && node --import tsx bench/recording.ts` (part of `npm run bench`). It measures the
// compiled library (dist/), as the other benches do and as applications run it: from sources newer
// than dist/, the store's worker thread compiles its modules with tsx when it starts (about 0.4 s).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { TrackSet, close, configure, convert, flush, postgresStore, sqliteStore } from '../dist/index.js';
import type { ExposureEvent, Store } from '../dist/index.js';
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
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

// ---- 1. cost added to a request, amortized ----
{
  const runs = 1_000_000;
  const keys = 100_000; // every key visits 10 times: 100,000 exposures, 1,000,000 health counts
  requestLoop(200_000, keys); // warm-up
  // The base rounds come first, before any configure(): after close(), runs are still counted
  // (as dropped, about 90 ns each), so a base measured between rounds would not be "no recording".
  const base = [0, 1, 2].map(() => requestLoop(runs, keys) / runs);
  const hot: number[] = [];
  const amortized: number[] = [];
  for (let round = 0; round < 3; round++) {
    configure({ store: join(dir, `request-${round}.db`), outbox: false, handleSignals: false, maxBuffered: 250_000 });
    const start = process.hrtime.bigint();
    const loop = requestLoop(runs, keys);
    await flush();
    amortized.push(Number(process.hrtime.bigint() - start) / runs);
    hot.push(loop / runs);
    await close();
  }
  const [b, h, a] = [median(base), median(hot), median(amortized)];
  rows.push(['request without recording (new + name + run)', formatNs(b), 'per run']);
  rows.push(['request with recording, hot path only', formatNs(h), 'per run']);
  rows.push(['request with recording, incl. writing to SQLite', formatNs(a), 'per run']);
  rows.push(['added by recording, amortized', formatNs(a - b), 'per run']);
  lines.push(verdict('µs added per run, amortized (1M runs, 100k keys, SQLite)', (a - b) / 1000, 1, 'at most'));
}

// ---- 2. event-loop delay at 20,000 runs/s, SQLite locked for 5 s in the middle ----

/** Serves `perSecond` runs (10% converting) for `seconds`, as requests arriving every millisecond; returns p99 and max delay. */
async function serve(perSecond: number, seconds: number, during: (elapsedMs: number) => void): Promise<{ p99: number; max: number; runs: number }> {
  const monitor = monitorEventLoopDelay({ resolution: 1 });
  monitor.enable();
  const start = Date.now();
  let runs = 0;
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * perSecond);
    for (; runs < due; runs++) {
      const key = `user-${runs % 200_000}`;
      new DelayTracks({ key }).run();
      if (runs % 10 === 0) convert({ key, metric: 'purchase' });
    }
    during(Date.now() - start);
    await sleep(1);
  }
  monitor.disable();
  return { p99: monitor.percentile(99) / 1e6, max: monitor.max / 1e6, runs };
}

/** Starts a process that will hold the file's write lock for `ms` when told to (started ahead, so its start costs nothing measured). */
async function lockHolder(path: string, ms: number): Promise<() => void> {
  const script = fileURLToPath(new URL('../test/faults/fixtures/hold-lock.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, STORE: path, HOLD_MS: String(ms), ON_SIGNAL: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  return () => child.kill('SIGUSR2');
}

{
  const perSecond = 20_000;
  const seconds = 10;
  configure({});
  const without = await serve(perSecond, seconds, () => {});
  const path = join(dir, 'event-loop.db');
  configure({ store: path, handleSignals: false });
  convert({ key: 'first', metric: 'purchase' }); // the file exists before another process locks it
  await flush();
  const lock = await lockHolder(path, 5_000);
  let locked = false;
  const withRecording = await serve(perSecond, seconds, (elapsed) => {
    if (!locked && elapsed >= 2_500) {
      locked = true;
      lock();
    }
  });
  await flush();
  await close();
  rows.push(['event-loop delay p99, 20,000 runs/s, no recording', `${without.p99.toFixed(2)} ms`, '']);
  rows.push(['event-loop delay p99, recording to SQLite, locked 5 s', `${withRecording.p99.toFixed(2)} ms`, '']);
  rows.push(['event-loop delay max, no recording', `${without.max.toFixed(2)} ms`, '']);
  rows.push(['event-loop delay max, recording to SQLite, locked 5 s', `${withRecording.max.toFixed(2)} ms`, '']);
  lines.push(verdict('event-loop delay p99 added by recording (ms), SQLite locked 5 s', withRecording.p99 - without.p99, 2, 'at most'));
  lines.push(verdict('event-loop delay max with recording (ms), SQLite locked 5 s', withRecording.max, 20, 'at most'));
}

// ---- 3. exposures/s into SQLite and PostgreSQL beside the physical floor ----
// Two arrival orders: keys that arrive in key order (sequential ids), and keys scattered as
// real users arrive. Two floors: the (the same rows into an unindexed table), and the
// same rows into a table with tracks' unique key (what any store that keeps one row per user
// pays), so the gap between the two shows what the unique key itself costs.

function exposures(n: number, prefix: string, scattered: boolean): ExposureEvent[] {
  const at = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    kind: 'exposure',
    eventId: `${prefix}.${i.toString(36)}`,
    trackSetId: 'bench',
    track: i % 2 ? 'short' : 'long',
    unit: `${prefix}-user-${scattered ? (i * 7919) % n : i}`,
    at: at + i,
  }));
}

async function storeRate(store: Store, events: readonly ExposureEvent[], batch: number): Promise<number> {
  await store.write([{ ...events[0]!, eventId: 'warm-up', unit: 'warm-up' }]); // open and migrate outside the timing
  const start = process.hrtime.bigint();
  for (let i = 0; i < events.length; i += batch) await store.write(events.slice(i, i + batch));
  return events.length / (Number(process.hrtime.bigint() - start) / 1e9);
}

const rate = (n: number) => Math.round(n).toLocaleString('en-US');

/** Multi-row INSERTs of 100 rows, 10,000 a transaction, into `ddl`'s table: SQLite's floor. */
function sqliteFloor(events: readonly ExposureEvent[], path: string, ddl: string): number {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(ddl);
  const insert = db.prepare(`INSERT INTO plain VALUES ${new Array(100).fill('(?, ?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`);
  const params: unknown[] = new Array(500);
  const start = process.hrtime.bigint();
  for (let b = 0; b < events.length; b += 10_000) {
    db.transaction(() => {
      for (let i = b; i < b + 10_000; i += 100) {
        for (let j = 0; j < 100; j++) {
          const e = events[i + j]!;
          params[j * 5] = e.trackSetId;
          params[j * 5 + 1] = e.unit;
          params[j * 5 + 2] = e.track;
          params[j * 5 + 3] = e.at;
          params[j * 5 + 4] = e.eventId;
        }
        insert.run(params);
      }
    }).immediate();
  }
  const perSecond = events.length / (Number(process.hrtime.bigint() - start) / 1e9);
  db.close();
  return perSecond;
}

const PLAIN = 'CREATE TABLE plain (track_set_id TEXT, unit TEXT, track TEXT, at INTEGER, event_id TEXT)';
const KEYED = 'CREATE TABLE plain (track_set_id TEXT, unit TEXT, track TEXT, at INTEGER, event_id TEXT, PRIMARY KEY (track_set_id, unit)) WITHOUT ROWID';

for (const scattered of [false, true]) {
  const order = scattered ? 'scattered keys' : 'keys in order';
  const events = exposures(1_000_000, scattered ? 'sqs' : 'sqo', scattered);
  const store = sqliteStore(join(dir, `rate-${order}.db`));
  const tracks = await storeRate(store, events, 10_000);
  await store.close();
  const floor = sqliteFloor(events, join(dir, `floor-${order}.db`), PLAIN);
  const keyed = sqliteFloor(events, join(dir, `keyed-${order}.db`), KEYED);
  rows.push([`SQLite, ${order}: tracks store (worker thread, 10,000 a batch)`, rate(tracks), 'exposures/s']);
  rows.push([`SQLite, ${order}: bare multi-row INSERT, unindexed (floor)`, rate(floor), 'rows/s']);
  rows.push([`SQLite, ${order}: bare multi-row INSERT, same unique key`, rate(keyed), 'rows/s']);
  lines.push(verdict(`SQLite exposures/s, ${order}, tracks / bare INSERT into an unindexed table`, tracks / floor, 0.5, 'at least'));
  lines.push(`      (tracks / bare INSERT into a table with the same unique key: ${(tracks / keyed).toFixed(3)})`);
  if (!scattered) {
    // Issue 3's figures: the sustained rate, beside plain one-row-per-statement inserts.
    const plain = oneRowSqlite(events.slice(0, 20_000), join(dir, 'one-row.db'));
    rows.push([`SQLite, ${order}: plain one-row INSERT per statement`, rate(plain), 'rows/s']);
    lines.push(verdict(`SQLite exposures/s (thousands), ${order} (issue 3; ${(tracks / plain).toFixed(1)}x plain one-row inserts)`, tracks / 1000, 500, 'at least'));
  }
}

/** One INSERT per row, each its own transaction (autocommit), WAL: issue 3's peer. */
function oneRowSqlite(events: readonly ExposureEvent[], path: string): number {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(PLAIN);
  const insert = db.prepare('INSERT INTO plain VALUES (?, ?, ?, ?, ?)');
  const start = process.hrtime.bigint();
  for (const e of events) insert.run(e.trackSetId, e.unit, e.track, e.at, e.eventId);
  const perSecond = events.length / (Number(process.hrtime.bigint() - start) / 1e9);
  db.close();
  return perSecond;
}

if (pgUrl === undefined) {
  rows.push(['PostgreSQL', 'skipped', 'set TRACKS_TEST_POSTGRES_URL']);
} else {
  const pool = new pg.Pool({ connectionString: pgUrl, max: 4 });
  const require = createRequire(import.meta.url);
  const { from } = require('pg-copy-streams') as { from: (sql: string) => never };
  /** COPY of the same rows over two connections into `table`: PostgreSQL's floor. */
  const copyFloor = async (events: readonly ExposureEvent[], table: string): Promise<number> => {
    const copy = async (slice: readonly ExposureEvent[]) => {
      const client = await pool.connect();
      try {
        const stream = client.query(from(`COPY ${table} FROM STDIN`)) as unknown as NodeJS.WritableStream;
        let text = '';
        for (const e of slice) text += `${e.trackSetId}\t${e.unit}\t${e.track}\t${e.at}\t${e.eventId}\n`;
        await new Promise<void>((resolve, reject) => {
          stream.on('finish', resolve);
          stream.on('error', reject);
          stream.end(text);
        });
      } finally {
        client.release();
      }
    };
    const start = process.hrtime.bigint();
    for (let i = 0; i < events.length; i += 20_000) await Promise.all([copy(events.slice(i, i + 10_000)), copy(events.slice(i + 10_000, i + 20_000))]);
    return events.length / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  for (const scattered of [false, true]) {
    const order = scattered ? 'scattered keys' : 'keys in order';
    const schema = `tracks_bench_${process.pid}_${scattered ? 's' : 'o'}`;
    try {
      const events = exposures(500_000, scattered ? 'pgs' : 'pgo', scattered);
      const tracks = await storeRate(postgresStore(pool, { schema }), events, 20_000);
      await pool.query(`CREATE TABLE "${schema}".plain (track_set_id text, unit text, track text, at bigint, event_id text)`);
      await pool.query(`CREATE TABLE "${schema}".keyed (track_set_id text, unit text, track text, at bigint, event_id text, PRIMARY KEY (track_set_id, unit))`);
      await pool.query('CHECKPOINT');
      const floor = await copyFloor(events, `"${schema}".plain`);
      const keyed = await copyFloor(events, `"${schema}".keyed`);
      rows.push([`PostgreSQL, ${order}: tracks store (20,000 a batch, 2 connections)`, rate(tracks), 'exposures/s']);
      rows.push([`PostgreSQL, ${order}: bare COPY, unindexed (floor), 2 connections`, rate(floor), 'rows/s']);
      rows.push([`PostgreSQL, ${order}: bare COPY, same unique key, 2 connections`, rate(keyed), 'rows/s']);
      lines.push(verdict(`PostgreSQL exposures/s, ${order}, tracks / bare COPY into an unindexed table`, tracks / floor, 0.5, 'at least'));
      lines.push(`      (tracks / bare COPY into a table with the same unique key: ${(tracks / keyed).toFixed(3)})`);
      if (!scattered) {
        // Issue 3's figures: the sustained rate, beside plain one-row-per-statement inserts.
        await pool.query(`CREATE TABLE "${schema}".one_row (track_set_id text, unit text, track text, at bigint, event_id text)`);
        const some = events.slice(0, 5_000);
        const start = process.hrtime.bigint();
        for (const e of some) await pool.query(`INSERT INTO "${schema}".one_row VALUES ($1, $2, $3, $4, $5)`, [e.trackSetId, e.unit, e.track, e.at, e.eventId]);
        const plain = some.length / (Number(process.hrtime.bigint() - start) / 1e9);
        rows.push([`PostgreSQL, ${order}: plain one-row INSERT per statement`, rate(plain), 'rows/s']);
        lines.push(verdict(`PostgreSQL exposures/s (thousands), ${order} (issue 3; ${(tracks / plain).toFixed(1)}x plain one-row inserts)`, tracks / 1000, 200, 'at least'));
      }
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  }
  await pool.end();
}

rmSync(dir, { recursive: true, force: true });
printTable('Recording', rows);
console.log('');
for (const line of lines) console.log(line);
