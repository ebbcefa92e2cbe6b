// Issue 4's speed check: the report over 1,000,000 users, 2 track sets and 10,000,000
// recorded runs, beside bare GROUP BY counts over the same tables in the same store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildReport, postgresStore, sqliteStore } from '../dist/index.js';
import type { Store } from '../dist/index.js';
import { printTable, verdict } from './harness.js';

const USERS = 1_000_000;
const RUNS = 10_000_000;
const MINUTES = 1440;
const SETS = [
  { id: 'delay', tracks: ['control', 'short', 'long'] },
  { id: 'pricing', tracks: Array.from({ length: 11 }, (_, i) => `price_adjusted_by_${i - 5}`) },
];
const DAY0 = Date.UTC(2026, 10, 1);

/** Median of `rounds` timings of `fn`, in milliseconds. */
async function time(fn: () => Promise<unknown>, rounds = 3): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

const report = async (store: Store) => buildReport(await store.summarize({ daily: false }));

async function sqlite(): Promise<[string, number, number]> {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-bench-report-'));
  const path = join(dir, 'tracks.db');
  const store = sqliteStore(path);
  await store.readControls(); // creates the schema
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  const seed = db.transaction(() => {
    const exposure = db.prepare('INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id) VALUES (?, ?, ?, ?, ?)');
    const conversion = db.prepare('INSERT INTO tracks_conversions (event_id, unit, metric, value, at) VALUES (?, ?, ?, ?, ?)');
    for (let u = 0; u < USERS; u++) {
      const set = SETS[u & 1]!;
      const track = set.tracks[(u >> 1) % set.tracks.length]!;
      const at = DAY0 + (u % 14) * 86_400_000 + u;
      exposure.run(set.id, `user-${u}`, track, at, `x${u}`);
      if (u % 10 === 0) {
        conversion.run(`p${u}`, `user-${u}`, 'purchase', 1, at + 1000);
        conversion.run(`r${u}`, `user-${u}`, 'revenue', 10 + (u % 7), at + 1000);
      }
    }
    const health = db.prepare('INSERT INTO tracks_health (event_id, track_set_id, track, minute, runs, errors, total_ms, histogram) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const cells = SETS.flatMap((s) => s.tracks.map((t) => [s.id, t] as const));
    const perRow = Math.round(RUNS / (cells.length * MINUTES));
    for (let m = 0; m < MINUTES; m++) {
      for (const [set, track] of cells) {
        health.run(`h${m}-${set}-${track}`, set, track, DAY0 / 60_000 + m, perRow, m % 50, perRow * 1.5, JSON.stringify({ 10: perRow - 20, 14: 15, 20: 5 }));
      }
    }
    const definition = db.prepare('INSERT INTO tracks_definitions (event_id, track_set_id, weights, coverage, at) VALUES (?, ?, ?, ?, ?)');
    for (const s of SETS) definition.run(`d-${s.id}`, s.id, JSON.stringify(Object.fromEntries(s.tracks.map((t) => [t, 1]))), 1, DAY0);
  });
  seed();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('ANALYZE');
  const bare = db.transaction(() => {
    db.prepare('SELECT track_set_id, track, COUNT(*) FROM tracks_exposures GROUP BY track_set_id, track').all();
    db.prepare('SELECT metric, COUNT(*) FROM tracks_conversions GROUP BY metric').all();
    db.prepare('SELECT track_set_id, track, COUNT(*) FROM tracks_health GROUP BY track_set_id, track').all();
  });
  const bareMs = await time(async () => bare());
  const reportMs = await time(() => report(store));
  db.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return ['SQLite', reportMs, bareMs];
}

async function postgres(url: string): Promise<[string, number, number]> {
  const schema = `bench_report_${process.pid}`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const store = postgresStore(pool, { schema });
  await store.readControls(); // creates the schema
  const s = `"${schema}"`;
  const trackOf = (set: (typeof SETS)[number], expr: string) => `(ARRAY[${set.tracks.map((t) => `'${t}'`).join(',')}])[(${expr}) % ${set.tracks.length} + 1]`;
  await pool.query(`
    INSERT INTO ${s}.tracks_exposures (track_set_id, unit, track, at, event_id)
    SELECT CASE WHEN u % 2 = 0 THEN 'delay' ELSE 'pricing' END, 'user-' || u,
           CASE WHEN u % 2 = 0 THEN ${trackOf(SETS[0]!, 'u / 2')} ELSE ${trackOf(SETS[1]!, 'u / 2')} END,
           ${DAY0} + (u % 14) * 86400000 + u, 'x' || u
    FROM generate_series(0, ${USERS - 1}) u`);
  await pool.query(`
    INSERT INTO ${s}.tracks_conversions (event_id, unit, metric, value, at)
    SELECT m || u, 'user-' || u, CASE m WHEN 'p' THEN 'purchase' ELSE 'revenue' END, CASE m WHEN 'p' THEN 1 ELSE 10 + u % 7 END,
           ${DAY0} + (u % 14) * 86400000 + u + 1000
    FROM generate_series(0, ${USERS - 1}, 10) u, (VALUES ('p'), ('r')) AS kinds(m)`);
  const cells = SETS.flatMap((set) => set.tracks.map((t) => `('${set.id}', '${t}')`)).join(',');
  const perRow = Math.round(RUNS / (SETS.reduce((n, x) => n + x.tracks.length, 0) * MINUTES));
  await pool.query(`
    INSERT INTO ${s}.tracks_health (event_id, track_set_id, track, minute, runs, errors, total_ms, histogram)
    SELECT 'h' || m || c.set_id || c.track, c.set_id, c.track, ${DAY0 / 60_000} + m, ${perRow}, m % 50, ${perRow * 1.5},
           '{"10": ${perRow - 20}, "14": 15, "20": 5}'
    FROM generate_series(0, ${MINUTES - 1}) m, (VALUES ${cells}) AS c(set_id, track)`);
  for (const set of SETS) {
    await pool.query(`INSERT INTO ${s}.tracks_definitions (event_id, track_set_id, weights, coverage, at) VALUES ($1, $2, $3, 1, ${DAY0})`, [
      `d-${set.id}`,
      set.id,
      JSON.stringify(Object.fromEntries(set.tracks.map((t) => [t, 1]))),
    ]);
  }
  await pool.query(`VACUUM ANALYZE ${s}.tracks_exposures`);
  await pool.query(`VACUUM ANALYZE ${s}.tracks_conversions`);
  await pool.query(`VACUUM ANALYZE ${s}.tracks_health`);
  const bareMs = await time(async () => {
    await pool.query(`SELECT track_set_id, track, COUNT(*) FROM ${s}.tracks_exposures GROUP BY track_set_id, track`);
    await pool.query(`SELECT metric, COUNT(*) FROM ${s}.tracks_conversions GROUP BY metric`);
    await pool.query(`SELECT track_set_id, track, COUNT(*) FROM ${s}.tracks_health GROUP BY track_set_id, track`);
  });
  const reportMs = await time(() => report(store));
  await pool.query(`DROP SCHEMA ${s} CASCADE`);
  await store.close();
  await pool.end().catch(() => undefined);
  return ['PostgreSQL', reportMs, bareMs];
}

const rows: [string, number, number][] = [await sqlite()];
const url = process.env.TRACKS_BENCH_POSTGRES_URL ?? process.env.TRACKS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
try {
  rows.push(await postgres(url));
} catch (error) {
  console.log(`PostgreSQL part skipped: ${(error as Error).message} (set TRACKS_BENCH_POSTGRES_URL)`);
}

printTable(`Report over ${USERS.toLocaleString('en-US')} users, 2 track sets, ${RUNS.toLocaleString('en-US')} runs (median of 3)`, [
  ['store', 'tracks report', 'bare GROUP BY counts', 'ratio'],
  ...rows.map(([name, r, b]) => [name, `${r.toFixed(0)} ms`, `${b.toFixed(0)} ms`, `${(r / b).toFixed(2)}x`]),
]);
console.log('');
for (const [name, r, b] of rows) console.log(verdict(`${name}: report / bare GROUP BY`, r / b, 3, 'at most'));
