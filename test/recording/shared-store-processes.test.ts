// Several processes and one store: four writers, each recording a
// burst in one plain synchronous loop, into one SQLite file and into one PostgreSQL schema.
// Every event stored exactly once: one exposure per set and key (keys shared by all writers
// too), every conversion, every run counted once in health; no SQLITE_BUSY, no error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { POSTGRES_SKIP, postgresUrl, schemasFor, sql } from '../support/postgres.js';
import { runScript } from '../support/run-script.js';

const writer = fileURLToPath(new URL('./fixtures/burst-writer.ts', import.meta.url));
// PostgreSQL parts run when TRACKS_TEST_POSTGRES_URL is set (README, Development).
const PG = postgresUrl ?? '';
const dir = mkdtempSync(join(tmpdir(), 'g3-proc-'));
/** Schemas of this file's own, dropped when it ends (test/support/postgres.ts). */
const schemaFor = schemasFor('processes');
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

interface Report {
  stats: { written: number; dropped: number; rejected: number; quarantined: number; buffered: number; spilled: number; drained: number };
  errors: string[];
  tracks: Record<string, string>;
}

async function run(env: Record<string, string>): Promise<Report> {
  const ran = await runScript(writer, env);
  if (ran.code !== 0) throw new Error(`writer exited ${ran.code}: ${ran.stderr}`);
  return JSON.parse(ran.stdout.trim().split('\n').at(-1)!) as Report;
}

async function pgRows(schema: string, q: string): Promise<Array<Record<string, unknown>>> {
  return sql(q.replaceAll('$S', `"${schema}"`));
}

/** What the processes spilled, they drained between them, each row counted once (by the process that removed it). */
function checkDrained(reports: Report[]): void {
  const sum = (field: 'spilled' | 'drained') => reports.reduce((n, r) => n + r.stats[field], 0);
  assert.equal(sum('drained'), sum('spilled'), JSON.stringify(reports.map((r) => r.stats)));
}

function checkReports(reports: Report[], perWorker: number): void {
  for (const r of reports) {
    assert.deepEqual(r.errors.filter((e) => /BUSY|locked/i.test(e)), []);
    if (r.errors.length) console.log('ERRORS', JSON.stringify(r.errors), JSON.stringify(r.stats));
    assert.equal(r.stats.dropped, 0);
    assert.equal(r.stats.rejected, 0);
    assert.equal(r.stats.quarantined, 0);
    assert.equal(r.stats.buffered, 0);
    // Each event of its own (2 per user, health, definitions) was written or spilled. Not less
    // what it drained: the processes share the outbox beside the store, and any of them may
    // drain events another spilled (drained counts those alone, not written).
    assert.ok(r.stats.written + r.stats.spilled >= 2 * perWorker, JSON.stringify(r.stats));
  }
  // Assignment is deterministic: the same key gets the same track in every process.
  for (const key of Object.keys(reports[0]!.tracks)) {
    for (const r of reports) if (key in r.tracks) assert.equal(r.tracks[key], reports[0]!.tracks[key], key);
  }
}

const PER_WORKER = 12_500;

test('four processes, one SQLite file, shared and own keys: every event stored exactly once', async () => {
  const file = join(dir, 'shared.db');
  const reports = await Promise.all([
    run({ STORE: file, WORKER: '0', COUNT: String(PER_WORKER), MODE: 'burst', SHARED: '1' }),
    run({ STORE: file, WORKER: '1', COUNT: String(PER_WORKER), MODE: 'burst', SHARED: '1' }),
    run({ STORE: file, WORKER: '2', COUNT: String(PER_WORKER), MODE: 'burst' }),
    run({ STORE: file, WORKER: '3', COUNT: String(PER_WORKER), MODE: 'burst' }),
  ]);
  checkReports(reports, PER_WORKER);
  // On a loaded machine a process may spill what the others' write locks kept it from writing
  // within its close() bound; the next process to start drains it, as a restarted service would.
  const next = await run({ STORE: file, WORKER: 'next', COUNT: '0', MODE: 'burst' });
  checkDrained([...reports, next]);
  const db = new Database(file, { readonly: true });
  try {
    const one = (q: string) => Object.values(db.prepare(q).get() as object)[0] as number;
    // shared keys: one exposure per key however many processes recorded it
    assert.equal(one("SELECT COUNT(*) FROM tracks_exposures WHERE track_set_id = 'g2-workers'"), 3 * PER_WORKER);
    assert.equal(one("SELECT COUNT(DISTINCT unit) FROM tracks_exposures WHERE track_set_id = 'g2-workers'"), 3 * PER_WORKER);
    assert.equal(one('SELECT COUNT(*) FROM tracks_conversions'), 4 * PER_WORKER);
    assert.equal(one('SELECT COUNT(DISTINCT event_id) FROM tracks_conversions'), 4 * PER_WORKER);
    assert.equal(one("SELECT SUM(runs) FROM tracks_health WHERE track_set_id = 'g2-workers'"), 4 * PER_WORKER);
    assert.equal(one("SELECT SUM(users) FROM tracks_exposure_counts WHERE track_set_id = 'g2-workers'"), 3 * PER_WORKER);
    // no events left waiting in an outbox
    const outbox = new Database(`${file}.outbox`, { readonly: true, fileMustExist: false });
    const tables = outbox.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    for (const { name } of tables) {
      if (name === 'tracks_schema_version' || name.startsWith('sqlite_')) continue;
      const n = Object.values(outbox.prepare(`SELECT COUNT(*) FROM "${name}"`).get() as object)[0];
      assert.equal(n, 0, `${name} in the outbox holds ${n} rows`);
    }
    outbox.close();
  } finally {
    db.close();
  }
});

test('four processes, one PostgreSQL schema, shared and own keys: every event stored exactly once', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const schema = schemaFor('burst');
  const outbox = join(dir, 'pg.outbox');
  const env = { STORE: PG, SCHEMA: schema, OUTBOX: outbox, COUNT: String(PER_WORKER), MODE: 'burst' };
  const reports = await Promise.all([
    run({ ...env, WORKER: '0', SHARED: '1' }),
    run({ ...env, WORKER: '1', SHARED: '1' }),
    run({ ...env, WORKER: '2' }),
    run({ ...env, WORKER: '3' }),
  ]);
  checkReports(reports, PER_WORKER);
  checkDrained([...reports, await run({ ...env, WORKER: 'next', COUNT: '0' })]);
  const n = async (q: string) => Number(Object.values((await pgRows(schema, q))[0]!)[0]);
  assert.equal(await n("SELECT COUNT(*) FROM $S.tracks_exposures WHERE track_set_id = 'g2-workers'"), 3 * PER_WORKER);
  assert.equal(await n('SELECT COUNT(*) FROM $S.tracks_conversions'), 4 * PER_WORKER);
  assert.equal(await n("SELECT SUM(runs) FROM $S.tracks_health WHERE track_set_id = 'g2-workers'"), 4 * PER_WORKER);
  assert.equal(await n("SELECT SUM(users) FROM $S.tracks_exposure_counts WHERE track_set_id = 'g2-workers'"), 3 * PER_WORKER);
  assert.equal(await n("SELECT SUM(conversions) FROM $S.tracks_unit_totals WHERE metric = 'purchase'"), 4 * PER_WORKER);
});
