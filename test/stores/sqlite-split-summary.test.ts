// A big SQLite store's summary is summed in two halves of its units on two threads
// (SqliteStore.#summarize). Each half reads only its units; built together they must make
// exactly the summary of the whole, whatever the options.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { sqliteStore } from '../../src/index.js';
import type { RecordedEvent, SummarizeOptions } from '../../src/index.js';
import { SqliteDatabase } from '../../src/stores/sqlite-database.js';
import type { UnitKey } from '../../src/stores/sqlite-summary.js';
import { buildSummary } from '../../src/stores/summary-rows.js';
import type { SummaryRows } from '../../src/stores/summary-rows.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-split-summary-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1);

/** A deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Two sets, two phases of one of them (a restart on day 5), units with conversions of two
 * metrics before, at and after their exposure and after their phase ended, dimensions on
 * most exposures, health rows and a guardrail.
 */
function events(units: number, seed: number): RecordedEvent[] {
  const next = random(seed);
  const out: RecordedEvent[] = [
    { kind: 'definition', eventId: 'd-a1', trackSetId: 'alpha', weights: { control: 1, fast: 1 }, coverage: 1, at: T0, phase: 'p1', control: 'control' },
    { kind: 'definition', eventId: 'd-a2', trackSetId: 'alpha', weights: { control: 1, fast: 1 }, coverage: 1, at: T0 + 5 * DAY, phase: 'p2', control: 'control' },
    { kind: 'definition', eventId: 'd-b1', trackSetId: 'beta', weights: { x: 1, y: 1, z: 1 }, coverage: 1, at: T0 },
    { kind: 'health', eventId: 'h1', trackSetId: 'alpha', track: 'fast', minute: T0 / 60_000, runs: 4, errors: 1, totalMs: 9, histogram: [0, 1, 3] },
    { kind: 'guardrail', eventId: 'g1', trackSetId: 'beta', track: 'z', cause: 'error rate', at: T0 + DAY },
  ];
  const countries = ['us', 'de', 'fr', 'jp'];
  for (let u = 0; u < units; u++) {
    const unit = `user-${Math.floor(next() * 1e9).toString(36)}-${u}`;
    const inAlpha = next() < 0.6;
    const at = T0 + Math.floor(next() * 10 * DAY);
    const country = countries[Math.floor(next() * countries.length)]!;
    out.push({
      kind: 'exposure',
      eventId: `x-${u}`,
      trackSetId: inAlpha ? 'alpha' : 'beta',
      track: inAlpha ? (next() < 0.5 ? 'control' : 'fast') : (['x', 'y', 'z'] as const)[u % 3]!,
      unit,
      at,
      ...(inAlpha ? { phase: at < T0 + 5 * DAY ? 'p1' : 'p2' } : {}),
      ...(next() < 0.8 ? { dimensions: { country, plan: next() < 0.5 ? 'free' : 'pro' } } : {}),
    });
    // Some units are in both sets: their conversions count in each.
    if (next() < 0.1) out.push({ kind: 'exposure', eventId: `x2-${u}`, trackSetId: inAlpha ? 'beta' : 'alpha', track: inAlpha ? 'x' : 'fast', unit, at: at + 1000, ...(inAlpha ? {} : { phase: at + 1000 < T0 + 5 * DAY ? 'p1' : 'p2' }) });
    const conversions = Math.floor(next() * 4);
    for (let c = 0; c < conversions; c++) {
      // From 20 days before the exposure to 12 after: pre-window history, outside-window history, after the phase ended.
      const when = at + Math.floor((next() * 32 - 20) * DAY);
      out.push({ kind: 'conversion', eventId: `c-${u}-${c}`, unit, metric: next() < 0.6 ? 'purchase' : 'revenue', value: Math.round(next() * 4000) / 100, at: when });
    }
    if (next() < 0.05) out.push({ kind: 'conversion', eventId: `at-${u}`, unit, metric: 'purchase', value: 1, at });
  }
  return out;
}

/** The summary of two halves' rows and the sets' rows, as SqliteStore builds it. */
function together(below: SummaryRows, above: SummaryRows, sets: SummaryRows, options: SummarizeOptions) {
  return buildSummary(
    {
      ...sets,
      metrics: [...below.metrics, ...above.metrics],
      health: above.health,
      histogram: above.histogram,
      ...(options.ratios === undefined ? {} : { products: [...below.products!, ...above.products!] }),
    },
    options.trackSetId,
    options.caps,
    options.by,
  );
}

/** The key a store's planSummary splits at (it must split). */
function splitOf(database: SqliteDatabase, options: SummarizeOptions, deadline: number): UnitKey {
  const plan = database.planSummary(options, 1, deadline);
  assert.ok('split' in plan, 'the store is split');
  return plan.split;
}

/** Deep equality with numbers equal to 1e-9 relative (two halves add floating sums in another order), Maps unordered. */
function assertClose(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${path}: ${actual} != ${expected}`);
    return;
  }
  if (expected instanceof Map) {
    assert.ok(actual instanceof Map, `${path}: not a Map`);
    // Unordered, as assert.deepEqual compares Maps (the report sorts metrics and segments by name).
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${path}: keys`);
    for (const [k, v] of expected) assertClose(actual.get(k), v, `${path}.${String(k)}`);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: not an array`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((v, i) => assertClose(actual[i], v, `${path}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${path}: not an object`);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: keys`);
    for (const [k, v] of Object.entries(expected)) assertClose((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    return;
  }
  assert.equal(actual, expected, path);
}

const OPTIONS: Record<string, SummarizeOptions> = {
  plain: {},
  'CUPED window, a segment, no days': { daily: false, by: 'country', preExposure: { ms: 14 * DAY, byMetric: new Map([['revenue', 3 * DAY]]) } },
  'ratios and fixed caps': { ratios: [{ numerator: 'revenue', denominator: 'purchase' }], caps: [{ metric: 'revenue', kind: 'sum', value: 30 }, { metric: 'purchase', kind: 'count', value: 2 }], preExposure: { ms: 7 * DAY } },
  'one set': { trackSetId: 'alpha', by: 'plan', preExposure: { ms: 14 * DAY } },
};

test('a summary summed in two halves of the units (each on its own, built together) equals the whole, for every kind of option', async () => {
  const path = join(dir, 'halves.db');
  const store = sqliteStore(path);
  await store.write(events(3_000, 7));
  await store.close();
  const database = new SqliteDatabase(path);
  const deadline = Date.now() + 60_000;
  try {
    for (const [name, options] of Object.entries(OPTIONS)) {
      const whole = database.summarize(options, deadline);
      const split = splitOf(database, options, deadline);
      const below = database.summaryRows(options, { units: { to: split } }, deadline);
      const above = database.summaryRows(options, { units: { from: split }, health: true }, deadline);
      const sets = database.summaryRows(options, { sets: true }, deadline);
      // The halves are real halves: each holds users with conversions, and only what it was asked for.
      assert.ok(below.metrics.length > 0 && above.metrics.length > 0, `${name}: both halves have conversions`);
      assert.deepEqual([below.exposures, below.health, below.definitions, above.exposures, above.definitions, above.controls, sets.metrics], [[], [], [], [], [], [], []], name);
      assertClose(together(below, above, sets, options), whole, name);
      assert.ok(whole.some((s) => s.tracks.some((t) => t.metrics.size > 0)), `${name}: the summary has metrics`);
    }
    // A percentile cap ranks every unit: no range may be summed with one, and no store is split.
    const ranked: SummarizeOptions = { caps: [{ metric: 'revenue', kind: 'sum', percentile: 0.99 }] };
    assert.throws(() => database.summaryRows(ranked, { units: { to: ['alpha', 'm'] } }, deadline), /percentile cap/);
    assertClose(database.planSummary(ranked, 1, deadline), { sums: database.summarize(ranked, deadline) });
    // Too few units: the summary itself, in the same call.
    assertClose(database.planSummary({}, 1_000_000, deadline), { sums: database.summarize({}, deadline) });
  } finally {
    database.close();
  }
});

test('SqliteStore sums a store of 200,000 units in two halves on two threads, to the same summary as one pass', async () => {
  const path = join(dir, 'big.db');
  const store = sqliteStore(path);
  await store.write(events(50, 11)); // creates the schema, the definitions and a few conversions
  bulkLoad(path, 200_000); // 200,000 more units: writing them as events would take much longer
  const options: SummarizeOptions = { by: 'country', preExposure: { ms: 14 * DAY }, ratios: [{ numerator: 'revenue', denominator: 'purchase' }] };
  const split = await store.summarize(options);
  const database = new SqliteDatabase(path);
  try {
    const whole = database.summarize(options, Date.now() + 60_000);
    assert.ok('split' in database.planSummary(options, 200_000, Date.now() + 60_000), 'the store is big enough to be split');
    assertClose(split, whole);
    assert.equal(split.reduce((n, s) => n + s.tracks.reduce((m, t) => m + t.users, 0), 0) > 200_000, true);
  } finally {
    database.close();
    await store.close();
  }
});

test('users are counted after both halves are summed: a unit recorded in between is a user without conversions, never conversions without a user', async () => {
  const path = join(dir, 'moving.db');
  const store = sqliteStore(path);
  await store.write(events(2_000, 23));
  const database = new SqliteDatabase(path);
  const deadline = Date.now() + 60_000;
  try {
    const options: SummarizeOptions = { by: 'country', preExposure: { ms: 14 * DAY } };
    const before = database.summarize(options, deadline);
    const split = splitOf(database, options, deadline);
    // Both halves first ...
    const below = database.summaryRows(options, { units: { to: split } }, deadline);
    const above = database.summaryRows(options, { units: { from: split }, health: true }, deadline);
    // ... then another process records 500 new users of a new track, each converting ...
    const late: RecordedEvent[] = [];
    for (let i = 0; i < 500; i++) {
      const unit = `${i % 2 ? '~' : '!'}late-${i}`; // in both halves ('!' sorts first, '~' last)
      late.push({ kind: 'exposure', eventId: `late-x-${i}`, trackSetId: 'beta', track: 'late', unit, at: T0 + DAY, dimensions: { country: 'us', plan: 'pro' } });
      late.push({ kind: 'conversion', eventId: `late-c-${i}`, unit, metric: 'purchase', value: 1, at: T0 + 2 * DAY });
    }
    await store.write(late);
    // ... then the users are counted.
    const sets = database.summaryRows(options, { sets: true }, deadline);
    const built = together(below, above, sets, options);
    const lateTrack = built.find((s) => s.trackSetId === 'beta')!.tracks.find((t) => t.track === 'late')!;
    assert.equal(lateTrack.users, 500);
    assert.equal(lateTrack.metrics.get('purchase')?.converted ?? 0, 0);
    // Every other track as before the late users came.
    const others = (sums: typeof built) => sums.map((s) => ({ ...s, tracks: s.tracks.filter((t) => t.track !== 'late'), segments: undefined, phases: [], daily: [], lastExposureAt: null }));
    assertClose(others(built), others(before));
  } finally {
    database.close();
    await store.close();
  }
});

test('closing the store while a big summary is under way starts no reading thread after the close', async () => {
  const path = join(dir, 'closing.db');
  const seed = sqliteStore(path);
  await seed.write(events(50, 3));
  await seed.close();
  bulkLoad(path, 200_000);
  const threads = () => readdirSync('/proc/self/task').length;
  const round = async () => {
    const store = sqliteStore(path);
    // Answered or refused as closed, either is right; what the close must not leave is a thread.
    const summary = store.summarize({}).then(
      () => undefined,
      () => undefined,
    );
    await store.close();
    await summary;
  };
  await round(); // the first starts the thread pools a process keeps
  const first = threads();
  for (let i = 0; i < 5; i++) await round();
  await new Promise((resolve) => setTimeout(resolve, 200));
  // A leaked reading thread per round would add 5.
  assert.ok(threads() - first < 3, `threads: ${first} after the first round, ${threads()} after five more`);
});

test('a report of a big store while another process records new converting users never counts more converted users than users', async () => {
  const path = join(dir, 'busy.db');
  const store = sqliteStore(path);
  await store.write(events(50, 5));
  bulkLoad(path, 200_000);
  // The other process: new users of track 'busy' of beta, each converting at once, in transactions of 200.
  const writer = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import Database from 'better-sqlite3';
      const db = new Database(${JSON.stringify(path)}, { timeout: 5000 });
      const x = db.prepare("INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id) VALUES ('beta', ?, 'busy', ?, ?)");
      const c = db.prepare("INSERT INTO tracks_conversions (event_id, unit, metric, value, at) VALUES (?, ?, 'purchase', 1, ?)");
      let n = 0;
      const round = db.transaction(() => { for (let i = 0; i < 200; i++, n++) { const unit = String.fromCharCode(97 + (n % 26)) + '-busy-' + n; x.run(unit, ${T0 + DAY}, 'bx-' + n); c.run('bc-' + n, unit, ${T0 + 2 * DAY}); } });
      round();
      console.log('writing');
      for (;;) round();`,
    ],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      writer.stdout.once('data', () => resolve());
      writer.once('exit', (code) => reject(new Error(`the writer exited (${code})`)));
    });
    let seen = 0;
    for (let round = 0; round < 4; round++) {
      const sums = await store.summarize({ preExposure: { ms: 14 * DAY } });
      const busy = sums.find((s) => s.trackSetId === 'beta')!.tracks.find((t) => t.track === 'busy');
      if (busy === undefined) continue;
      seen = Math.max(seen, busy.users);
      const converted = busy.metrics.get('purchase')?.converted ?? 0;
      assert.ok(converted <= busy.users, `round ${round}: ${converted} converted of ${busy.users} users`);
    }
    assert.ok(seen > 0, 'the writer recorded during the reports');
  } finally {
    writer.kill('SIGKILL');
    await store.close();
  }
});

/** Adds `units` exposures and 0.6 conversions per unit, as a bulk load would (through the triggers that keep the exposure counts). */
function bulkLoad(path: string, units: number): void {
  const db = new BetterSqlite3(path);
  db.exec(`WITH RECURSIVE n(u) AS (SELECT 0 UNION ALL SELECT u + 1 FROM n WHERE u < ${units - 1})
    INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id, phase, dimensions)
    SELECT CASE WHEN u % 2 = 0 THEN 'alpha' ELSE 'beta' END, printf('bulk-%06d', u),
      CASE WHEN u % 2 = 0 THEN CASE WHEN u % 4 = 0 THEN 'control' ELSE 'fast' END ELSE 'y' END,
      ${T0} + (u % 9) * ${DAY} + u, 'bx' || u, CASE WHEN u % 2 = 0 THEN CASE WHEN u % 9 < 5 THEN 'p1' ELSE 'p2' END END,
      CASE WHEN u % 3 = 0 THEN '{"country":"de"}' END FROM n`);
  db.exec(`WITH RECURSIVE n(u) AS (SELECT 0 UNION ALL SELECT u + 1 FROM n WHERE u < ${Math.round(units * 0.6) - 1})
    INSERT INTO tracks_conversions (event_id, unit, metric, value, at)
    SELECT 'bc' || u, printf('bulk-%06d', (u * 7) % ${units}), CASE WHEN u % 2 = 0 THEN 'purchase' ELSE 'revenue' END, (u % 50) / 4.0,
      ${T0} + ((u * 7) % 9) * ${DAY} + (u % 11 - 5) * 3600000 FROM n`);
  db.close();
}
