// Issue 4's speed check: the report over 250k, 1M and 4M users, 2 track sets and 10 recorded
// runs per user, beside bare GROUP BY counts over the same tables in the same store; the
// report without and with CUPED, latency quantiles and one segment dimension.
//
// The data: each user is exposed once (half to each set), carries a `country` dimension (5
// values, unevenly spread), 30% are returning users with a purchase and a revenue conversion
// 1 to 13 days before their exposure (CUPED's covariates), 20% buy after it (a purchase and a
// revenue each). Health rows: one per track and minute for a day, runs = 10 per user in all,
// each with a latency histogram spread over 11 buckets. The metrics are declared (rows in
// tracks_metrics: purchase a conversion metric, revenue a sum), as configure({ metrics })
// publishes them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildReport, LATENCY_BUCKET_BOUNDS_MS, postgresStore, readAnalysis, sqliteStore } from '../dist/index.js';
import type { Store } from '../dist/index.js';
import { printTable, verdict } from './harness.js';

/** The sizes (users); TRACKS_BENCH_USERS=10000,40000 tries smaller ones (then the 1M verdict uses the middle one). */
const SIZES: readonly number[] = process.env.TRACKS_BENCH_USERS?.split(',').map(Number) ?? [250_000, 1_000_000, 4_000_000];
const RUNS_PER_USER = 10;
/** Health rows cover one day: one row per track and minute (as one process writes them). */
const MINUTES = 1440;
/** Timing rounds per size (the median is printed); TRACKS_BENCH_ROUNDS_4M=1 shortens the largest size. */
const ROUNDS = (users: number) => (users >= 4_000_000 ? Number(process.env.TRACKS_BENCH_ROUNDS_4M ?? 3) : 3);
const SETS = [
  { id: 'delay', tracks: ['control', 'short', 'long'] },
  { id: 'pricing', tracks: Array.from({ length: 11 }, (_, i) => `price_adjusted_by_${i - 5}`) },
];
const CELLS = SETS.flatMap((s) => s.tracks.map((track, i) => ({ set: s.id, track, i })));
/** A segment per user: u % 20 picks one of these 20 slots (us 40%, de 20%, fr 15%, gb 15%, jp 10%). */
const COUNTRIES = ['us', 'us', 'us', 'us', 'us', 'us', 'us', 'us', 'de', 'de', 'de', 'de', 'fr', 'fr', 'fr', 'gb', 'gb', 'gb', 'jp', 'jp'];
const METRICS = [
  { name: 'purchase', kind: 'conversion' },
  { name: 'revenue', kind: 'sum' },
];
const DAY0 = Date.UTC(2026, 10, 1);
const DAY_MS = 86_400_000;

// Per user u (SQL expressions over an integer u, the same in both dialects; units are 'u' and u in 8 digits):
//   set: u % 2; track: (u / 2) % tracks; exposed at DAY0 + (u % 14) days + u ms;
//   returning (u % 10 < 3): purchase 1 and revenue 5 + u % 13, (1 + u % 13) days and u % 3600 s before the exposure;
//   buyers (u % 10 in (0, 7)): purchase 1 and revenue 10 + u % 7 (+ 2 on the set's last track), u % 86400 s after it.
const EXPOSED_AT = `${DAY0} + (u % 14) * ${DAY_MS} + u`;
const PRE_AT = `${EXPOSED_AT} - (1 + u % 13) * ${DAY_MS} - (u % 3600) * 1000`;
const POST_AT = `${EXPOSED_AT} + 1000 + (u % 86400) * 1000`;
const RETURNING = 'u % 10 < 3';
const BUYER = 'u % 10 IN (0, 7)';
const trackCase = `CASE WHEN u % 2 = 0 THEN ${caseOf(SETS[0]!.tracks)} ELSE ${caseOf(SETS[1]!.tracks)} END`;
const lastTrack = `CASE WHEN u % 2 = 0 THEN (u / 2) % ${SETS[0]!.tracks.length} = ${SETS[0]!.tracks.length - 1} ELSE (u / 2) % ${SETS[1]!.tracks.length} = ${SETS[1]!.tracks.length - 1} END`;
const countryCase = `CASE u % 20 ${COUNTRIES.map((c, i) => `WHEN ${i} THEN '{"country":"${c}"}'`).join(' ')} END`;

function caseOf(tracks: readonly string[]): string {
  return `CASE (u / 2) % ${tracks.length} ${tracks.map((t, i) => `WHEN ${i} THEN '${t}'`).join(' ')} END`;
}

/** A health row's histogram: runs over 11 buckets around the track's typical latency, varied by minute. */
const SHAPE = [1, 3, 8, 15, 20, 18, 13, 10, 6, 4, 2];
function healthRow(cell: (typeof CELLS)[number], variant: number, perRow: number): { runs: number; totalMs: number; histogram: string } {
  // The delay set's tracks are slower by a bucket each; pricing tracks differ a little.
  const centre = (cell.set === 'delay' ? 22 + cell.i : 20 + (cell.i % 3)) + (variant === 3 ? 1 : 0);
  const weight = SHAPE.reduce((a, b) => a + b, 0);
  const histogram: Record<string, number> = {};
  let runs = 0;
  let totalMs = 0;
  SHAPE.forEach((w, k) => {
    const count = Math.max(1, Math.round((perRow * w) / weight));
    const bucket = centre - 4 + k;
    histogram[bucket] = count;
    runs += count;
    totalMs += count * LATENCY_BUCKET_BOUNDS_MS[bucket]! * 0.9;
  });
  return { runs, totalMs: Math.round(totalMs * 100) / 100, histogram: JSON.stringify(histogram) };
}
const VARIANTS = 4;

interface Timings {
  readonly users: number;
  readonly rounds: number;
  readonly seedMs: number;
  readonly bareMs: number;
  readonly plainMs: number;
  readonly featuresMs: number;
}

/** Median of `rounds` timings of `fn`, in milliseconds. */
async function time(fn: () => Promise<unknown>, rounds: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

/** The report without the new features: no CUPED window, no segments (quantiles are always computed). */
async function plainReport(store: Store): Promise<void> {
  const { sums, metrics } = await readAnalysis(store, { daily: false, cuped: false });
  buildReport(sums, { metrics, cuped: false });
}

/** The report with CUPED (14 days), quantiles and the country segment; checked to have all three. */
async function featuresReport(store: Store): Promise<void> {
  const { sums, metrics } = await readAnalysis(store, { daily: false, by: 'country' });
  const report = buildReport(sums, { metrics });
  const tracks = report.trackSets.flatMap((s) => s.tracks);
  const missing = [
    report.trackSets.some((s) => s.segments === undefined) && 'segments',
    !tracks.some((t) => t.metrics.some((m) => m.comparison?.cuped != null)) && 'CUPED',
    tracks.some((t) => t.latency.quantiles.length < 3) && 'p50/p95/p99',
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`bench: the report lacks ${missing.join(', ')}`);
}

async function measure(users: number, bare: () => Promise<unknown>, store: Store, seedMs: number): Promise<Timings> {
  const rounds = ROUNDS(users);
  await bare(); // warms the cache for both: the report is timed on data as warm as the counts'
  const bareMs = await time(bare, rounds);
  const plainMs = await time(() => plainReport(store), rounds);
  const featuresMs = await time(() => featuresReport(store), rounds);
  return { users, rounds, seedMs, bareMs, plainMs, featuresMs };
}

async function sqlite(users: number): Promise<Timings> {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-bench-report-'));
  const path = join(dir, 'tracks.db');
  const store = sqliteStore(path);
  try {
    await store.write([]); // creates the schema
    const db = new Database(path);
    const started = performance.now();
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -1000000');
    const n = `WITH RECURSIVE n(u) AS (SELECT 0 UNION ALL SELECT u + 1 FROM n WHERE u < ${users - 1})`;
    const unit = "printf('u%08d', u)";
    db.transaction(() => {
      db.exec(`INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id, dimensions)
        ${n} SELECT CASE WHEN u % 2 = 0 THEN 'delay' ELSE 'pricing' END, ${unit}, ${trackCase}, ${EXPOSED_AT}, 'x' || ${unit}, ${countryCase} FROM n`);
      for (const [prefix, where, at, purchase, revenue] of [
        ['a', RETURNING, PRE_AT, '1', '5 + u % 13'],
        ['b', BUYER, POST_AT, '1', `10 + u % 7 + CASE WHEN ${lastTrack} THEN 2 ELSE 0 END`],
      ] as const) {
        db.exec(`INSERT INTO tracks_conversions (event_id, unit, metric, value, at)
          ${n} SELECT '${prefix}' || m.k || ${unit}, ${unit}, m.metric, CASE m.k WHEN 'p' THEN ${purchase} ELSE ${revenue} END, ${at}
          FROM n, (SELECT 'p' AS k, 'purchase' AS metric UNION ALL SELECT 'r', 'revenue') m WHERE ${where}`);
      }
      const health = db.prepare('INSERT INTO tracks_health (event_id, track_set_id, track, minute, runs, errors, total_ms, histogram) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      const perRow = Math.round((users * RUNS_PER_USER) / (CELLS.length * MINUTES));
      const rows = CELLS.map((cell) => Array.from({ length: VARIANTS }, (_, v) => healthRow(cell, v, perRow)));
      for (let m = 0; m < MINUTES; m++) {
        CELLS.forEach((cell, c) => {
          const row = rows[c]![m % VARIANTS]!;
          health.run(`h${m}-${cell.set}-${cell.track}`, cell.set, cell.track, DAY0 / 60_000 + m, row.runs, m % 7 === 0 ? 1 : 0, row.totalMs, row.histogram);
        });
      }
      const definition = db.prepare('INSERT INTO tracks_definitions (event_id, track_set_id, weights, coverage, at, control) VALUES (?, ?, ?, ?, ?, ?)');
      for (const s of SETS) definition.run(`d-${s.id}`, s.id, JSON.stringify(Object.fromEntries(s.tracks.map((t) => [t, 1]))), 1, DAY0, s.tracks[0]!);
      const metric = db.prepare('INSERT INTO tracks_metrics (event_id, name, metric_kind, numerator, denominator, higher_is_better, guardrail, at) VALUES (?, ?, ?, NULL, NULL, 1, 0, ?)');
      for (const m of METRICS) metric.run(`m-${m.name}`, m.name, m.kind, DAY0);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('ANALYZE');
    db.close();
    const seedMs = performance.now() - started;
    // The counts on a connection of their own, with SQLite's defaults. (Not temp_store = MEMORY,
    // as the store sets: there each repeat of a sort of a million rows is slower than the last,
    // up to 2.5x, which would flatter the ratios.)
    const counting = new Database(path, { readonly: true });
    const counts = [
      counting.prepare('SELECT track_set_id, track, COUNT(*) FROM tracks_exposures GROUP BY track_set_id, track'),
      counting.prepare('SELECT metric, COUNT(*) FROM tracks_conversions GROUP BY metric'),
      counting.prepare('SELECT track_set_id, track, COUNT(*) FROM tracks_health GROUP BY track_set_id, track'),
    ];
    const bare = counting.transaction(() => counts.map((q) => q.all()));
    const timings = await measure(users, async () => bare(), store, seedMs);
    counting.close();
    return timings;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(url: string, users: number): Promise<Timings> {
  const schema = `bench_report_${process.pid}_${users}`;
  const s = `"${schema}"`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const store = postgresStore(url, { schema, timeoutMs: 600_000 });
  try {
    await store.write([]); // creates the schema
    const started = performance.now();
    await client.query('SET synchronous_commit = off');
    const n = `generate_series(0, ${users - 1}) u`;
    const unit = `'u' || lpad(u::text, 8, '0')`;
    await client.query(`INSERT INTO ${s}.tracks_exposures (track_set_id, unit, track, at, event_id, dimensions)
      SELECT CASE WHEN u % 2 = 0 THEN 'delay' ELSE 'pricing' END, ${unit}, ${trackCase}, ${EXPOSED_AT}, 'x' || ${unit}, ${countryCase} FROM ${n}`);
    await client.query(`INSERT INTO ${s}.tracks_conversions (event_id, unit, metric, value, at)
      SELECT c.prefix || m.k || ${unit}, ${unit}, m.metric,
        CASE WHEN m.k = 'p' THEN 1 WHEN c.prefix = 'a' THEN 5 + u % 13 ELSE 10 + u % 7 + CASE WHEN ${lastTrack} THEN 2 ELSE 0 END END,
        CASE c.prefix WHEN 'a' THEN ${PRE_AT} ELSE ${POST_AT} END
      FROM ${n}, (VALUES ('a'), ('b')) AS c(prefix), (VALUES ('p', 'purchase'), ('r', 'revenue')) AS m(k, metric)
      WHERE (c.prefix = 'a' AND ${RETURNING}) OR (c.prefix = 'b' AND ${BUYER})`);
    const perRow = Math.round((users * RUNS_PER_USER) / (CELLS.length * MINUTES));
    const variants = CELLS.flatMap((cell) =>
      Array.from({ length: VARIANTS }, (_, v) => {
        const row = healthRow(cell, v, perRow);
        return `('${cell.set}', '${cell.track}', ${v}, ${row.runs}, ${row.totalMs}, '${row.histogram}')`;
      }),
    );
    await client.query(`INSERT INTO ${s}.tracks_health (event_id, track_set_id, track, minute, runs, errors, total_ms, histogram)
      SELECT 'h' || m || '-' || c.set_id || '-' || c.track, c.set_id, c.track, ${DAY0 / 60_000} + m, c.runs, CASE WHEN m % 7 = 0 THEN 1 ELSE 0 END, c.total_ms, c.histogram
      FROM generate_series(0, ${MINUTES - 1}) m JOIN (VALUES ${variants.join(',')}) AS c(set_id, track, variant, runs, total_ms, histogram) ON c.variant = m % ${VARIANTS}`);
    for (const set of SETS) {
      await client.query(`INSERT INTO ${s}.tracks_definitions (event_id, track_set_id, weights, coverage, at, control) VALUES ($1, $2, $3, 1, ${DAY0}, $4)`, [
        `d-${set.id}`,
        set.id,
        JSON.stringify(Object.fromEntries(set.tracks.map((t) => [t, 1]))),
        set.tracks[0],
      ]);
    }
    for (const m of METRICS) {
      await client.query(`INSERT INTO ${s}.tracks_metrics (event_id, name, metric_kind, numerator, denominator, higher_is_better, guardrail, at) VALUES ($1, $2, $3, NULL, NULL, 1, 0, ${DAY0})`, [
        `m-${m.name}`,
        m.name,
        m.kind,
      ]);
    }
    // The tables as autovacuum leaves them: analyzed, and every page marked all-visible (index
    // lookups then skip the table). VACUUM marks a page only once the commits of its rows are
    // on disk, so the asynchronous ones are flushed first by a commit that waits, and the tables
    // are vacuumed twice (the first pass sets the rows' hint bits, which a page's mark needs;
    // seen: a first pass left the exposures unmarked).
    await client.query('SET synchronous_commit = on');
    await client.query('SELECT txid_current()');
    const tables = ['tracks_exposures', 'tracks_conversions', 'tracks_health', 'tracks_unit_totals', 'tracks_exposure_counts'];
    for (const table of tables) await client.query(`VACUUM ANALYZE ${s}.${table}`);
    for (const table of tables) await client.query(`VACUUM ${s}.${table}`);
    const { rows: marked } = await client.query<{ visible: number }>(
      `SELECT MIN(relallvisible::float8 / GREATEST(relpages, 1)) AS visible FROM pg_class WHERE relnamespace = $1::regnamespace AND relname = ANY($2)`,
      [schema, tables],
    );
    if (marked[0]!.visible < 0.99) console.log(`(PostgreSQL ${users}: only ${(marked[0]!.visible * 100).toFixed(0)}% of some table's pages are marked all-visible)`);
    const seedMs = performance.now() - started;
    const bare = async () => {
      await client.query(`SELECT track_set_id, track, COUNT(*) FROM ${s}.tracks_exposures GROUP BY track_set_id, track`);
      await client.query(`SELECT metric, COUNT(*) FROM ${s}.tracks_conversions GROUP BY metric`);
      await client.query(`SELECT track_set_id, track, COUNT(*) FROM ${s}.tracks_health GROUP BY track_set_id, track`);
    };
    return await measure(users, bare, store, seedMs);
  } finally {
    await store.close();
    await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const label = (users: number) => (users >= 1_000_000 ? `${users / 1_000_000}M` : `${users / 1_000}k`);

function printStore(name: string, rows: readonly Timings[]): void {
  const single = rows.filter((r) => r.rounds === 1).map((r) => label(r.users));
  printTable(`${name}: report over N users, 2 track sets, ${RUNS_PER_USER} runs per user (median of 3${single.length > 0 ? `; ${single.join(', ')}: 1 round` : ''})`, [
    ['users', 'runs', 'seed', 'bare GROUP BY', 'report (plain)', 'ratio', 'report (CUPED+quantiles+segment)', 'ratio'],
    ...rows.map((r) => [
      r.users.toLocaleString('en-US'),
      (r.users * RUNS_PER_USER).toLocaleString('en-US'),
      fmt(r.seedMs),
      fmt(r.bareMs),
      fmt(r.plainMs),
      ratio(r.plainMs, r.bareMs),
      fmt(r.featuresMs),
      ratio(r.featuresMs, r.bareMs),
    ]),
  ]);
  const first = rows[0]!;
  const last = rows.at(-1)!;
  console.log(
    `linearity (report with features, ms per 1,000 users): ${rows.map((r) => `${label(r.users)} ${((r.featuresMs / r.users) * 1000).toFixed(2)}`).join(', ')}; ` +
      `${label(last.users)}/${label(first.users)} cost ${(last.featuresMs / first.featuresMs).toFixed(1)}x for ${(last.users / first.users).toFixed(0)}x users ` +
      `(plain report ${(last.plainMs / first.plainMs).toFixed(1)}x, bare ${(last.bareMs / first.bareMs).toFixed(1)}x)`,
  );
}

const benchStarted = performance.now();
const results: [string, Timings[]][] = [];
const sqliteRows: Timings[] = [];
for (const users of SIZES) sqliteRows.push(await sqlite(users));
results.push(['SQLite', sqliteRows]);
printStore('SQLite', sqliteRows);

const url = process.env.TRACKS_BENCH_POSTGRES_URL ?? process.env.TRACKS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
try {
  const postgresRows: Timings[] = [];
  for (const users of SIZES) postgresRows.push(await postgres(url, users));
  results.push(['PostgreSQL', postgresRows]);
  printStore('PostgreSQL', postgresRows);
} catch (error) {
  console.log(`PostgreSQL part skipped: ${(error as Error).message} (set TRACKS_BENCH_POSTGRES_URL)`);
}

console.log('');
for (const [name, rows] of results) {
  const at1m = rows.find((r) => r.users === 1_000_000) ?? rows[Math.floor(rows.length / 2)]!;
  console.log(verdict(`${name}: ${label(at1m.users)} users, report with CUPED, quantiles and a segment / bare GROUP BY`, at1m.featuresMs / at1m.bareMs, 3, 'at most'));
  const first = rows[0]!;
  const last = rows.at(-1)!;
  // Linear: 16x the users cost about 16x (a quarter over that allowed for cache effects).
  const users = last.users / first.users;
  console.log(verdict(`${name}: report cost ${label(last.users)}/${label(first.users)} per ${users.toFixed(0)}x users (linear: ${users.toFixed(0)}, allowed ${(users * 1.25).toFixed(0)})`, last.featuresMs / first.featuresMs, users * 1.25, 'at most'));
}
console.log(`\n(bench took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s)`);
