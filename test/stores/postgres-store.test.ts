import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { TrackSet, TracksError, close, configure, convert, flush, memoryStore, postgresStore, stats } from '../../src/index.js';
import type { RecordedEvent } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { POSTGRES_MIGRATIONS } from '../../src/stores/schema.js';
import { killWriterAfter, runWriter } from './fixtures/processes.js';
import { sampleEvents } from './fixtures/sample-events.js';
import { sql as query } from '../support/postgres.js';

const url = process.env.TRACKS_TEST_POSTGRES_URL;
const SKIP = 'TRACKS_TEST_POSTGRES_URL is not set';
const run = `t${process.pid}_${Date.now().toString(36)}`;
const schemas: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tracks-pg-test-'));
const execFileAsync = promisify(execFile);

/** A fresh schema for one test, dropped when the file ends, so parallel runs never clash. */
function schemaFor(name: string): string {
  const schema = `tracks_${run}_${name}`;
  schemas.push(schema);
  return schema;
}


after(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (url === undefined) return;
  await waitForPostgres();
  for (const schema of schemas) await query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});

async function waitForPostgres(): Promise<void> {
  for (let i = 0; i < 120; i++) {
    try {
      await query('SELECT 1');
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error('PostgreSQL did not come back');
}

/**
 * The trigger-kept summary tables hold what recomputing them from the event tables gives: the
 * users of each group exactly (summed over shards; a group whose shards sum to 0 is no group),
 * its first and last exposure as bounds (an exposure moved out of a group leaves them, as
 * docs/recording.md says), and the units' totals exactly.
 */
async function assertSummaryTablesMatch(schema: string): Promise<void> {
  const s = `"${schema}"`;
  const [diff] = await query<{ counts: string; totals: string }>(`SELECT
    (WITH c AS (SELECT track_set_id, track, phase, dimensions, day, SUM(users) AS users, MIN(first_at) AS first_at, MAX(last_at) AS last_at
        FROM ${s}.tracks_exposure_counts GROUP BY 1, 2, 3, 4, 5 HAVING SUM(users) <> 0),
      e AS (SELECT track_set_id, track, COALESCE(phase, '') AS phase, COALESCE(dimensions, '') AS dimensions, (at / 86400000)::integer AS day,
          COUNT(*) AS users, MIN(at) AS first_at, MAX(at) AS last_at
        FROM ${s}.tracks_exposures GROUP BY 1, 2, 3, 4, 5)
      SELECT COUNT(*) FROM c FULL JOIN e USING (track_set_id, track, phase, dimensions, day)
      WHERE c.users IS DISTINCT FROM e.users OR c.first_at > e.first_at OR c.last_at < e.last_at) AS counts,
    (SELECT COUNT(*) FROM (
      (SELECT unit, metric, total, first_at, last_at FROM ${s}.tracks_unit_totals
       EXCEPT SELECT unit, metric, SUM(value), MIN(at), MAX(at) FROM ${s}.tracks_conversions GROUP BY 1, 2)
      UNION ALL
      (SELECT unit, metric, SUM(value), MIN(at), MAX(at) FROM ${s}.tracks_conversions GROUP BY 1, 2
       EXCEPT SELECT unit, metric, total, first_at, last_at FROM ${s}.tracks_unit_totals)) d) AS totals`);
  assert.deepEqual({ counts: Number(diff!.counts), totals: Number(diff!.totals) }, { counts: 0, totals: 0 }, 'rows that differ');
}

class PgTracks extends TrackSet {
  static override id = 'pg-delay';
  static short_track() {}
  static long_track() {}
}

test('PostgreSQL summarize() matches the memory store on the same events, written twice', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const store = postgresStore(url, { schema: schemaFor('compare') });
  const memory = memoryStore();
  const events = sampleEvents();
  for (const s of [store, memory]) {
    await s.write(events);
    await s.write(events);
    await s.writeControl({ trackSetId: 'cmp', stopped: true, serve: 'a', at: 5 });
  }
  assert.deepEqual(await store.summarize(), await memory.summarize());
  assert.deepEqual(await store.readAssignments('cmp', ['u1', 'u2', 'nobody']), new Map([['u1', 'a'], ['u2', 'b']]));
  await store.close();
});

test('a version-1 schema is upgraded with its rows, and the summary tables follow deletes, updates and truncates by other tools', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('upgrade');
  const s = `"${schema}"`;
  // A database written by tracks before the summary tables existed.
  await query(`CREATE SCHEMA ${s}; CREATE TABLE ${s}.tracks_schema_version (version integer NOT NULL);
    INSERT INTO ${s}.tracks_schema_version VALUES (1); ${POSTGRES_MIGRATIONS[0]!.replaceAll('{s}', s)}`);
  const day = Date.UTC(2026, 2, 1);
  const events: RecordedEvent[] = [];
  for (let u = 0; u < 30; u++) {
    const at = day + u * 7_200_000; // 30 users over three days
    for (const set of ['one', 'two']) events.push({ kind: 'exposure', eventId: `${set}${u}`, trackSetId: set, track: u % 3 ? 'a' : 'b', unit: `u${u}`, at });
    events.push({ kind: 'conversion', eventId: `p${u}`, unit: `u${u}`, metric: 'purchase', value: 1, at: at + 10 });
    events.push({ kind: 'conversion', eventId: `r${u}`, unit: `u${u}`, metric: 'revenue', value: u, at: at + (u % 2 ? 10 : -10) });
  }
  const old = events.slice(0, 40);
  // Exposures written after the upgrade carry dimensions (version 6), counted per dimensions (version 9).
  const later = events.slice(40).map((e) => (e.kind === 'exposure' ? { ...e, dimensions: { country: Number(e.unit.slice(1)) % 2 ? 'de' : 'us' } } : e));
  await query(`INSERT INTO ${s}.tracks_exposures SELECT * FROM json_populate_recordset(NULL::${s}.tracks_exposures, $1)`, [
    JSON.stringify(old.filter((e) => e.kind === 'exposure').map((e) => ({ track_set_id: e.trackSetId, unit: e.unit, track: e.track, at: e.at, event_id: e.eventId }))),
  ]);
  await query(`INSERT INTO ${s}.tracks_conversions SELECT * FROM json_populate_recordset(NULL::${s}.tracks_conversions, $1)`, [
    JSON.stringify(old.filter((e) => e.kind === 'conversion').map((e) => ({ event_id: e.eventId, unit: e.unit, metric: e.metric, value: e.value, at: e.at }))),
  ]);
  const store = postgresStore(url, { schema });
  await store.write(later);
  const memory = memoryStore();
  await memory.write([...old, ...later]);
  assert.deepEqual(await store.summarize(), await memory.summarize(), 'after the upgrade');
  assert.deepEqual(await store.summarize({ by: 'country' }), await memory.summarize({ by: 'country' }), 'by segment, after the upgrade');
  assert.deepEqual(await store.readDimensions?.('one'), ['country']);
  await assertSummaryTablesMatch(schema);

  // Another tool deletes and edits rows: the summaries follow.
  await query(`DELETE FROM ${s}.tracks_exposures WHERE track_set_id = 'two' AND unit IN ('u1', 'u2')`);
  await query(`DELETE FROM ${s}.tracks_conversions WHERE event_id IN ('r5', 'p6')`);
  await query(`UPDATE ${s}.tracks_conversions SET value = value * 2, at = at - 100000000 WHERE event_id = 'r9'`);
  await query(`UPDATE ${s}.tracks_exposures SET track = 'b' WHERE unit = 'u4'`);
  await query(`UPDATE ${s}.tracks_exposures SET dimensions = '{"country":"fr"}' WHERE unit = 'u25'`);
  await assertSummaryTablesMatch(schema);
  const edited = [...old, ...later]
    .filter((e) => !(e.kind === 'exposure' && e.trackSetId === 'two' && (e.unit === 'u1' || e.unit === 'u2')))
    .filter((e) => e.eventId !== 'r5' && e.eventId !== 'p6')
    .map((e) => (e.eventId === 'r9' && e.kind === 'conversion' ? { ...e, value: e.value * 2, at: e.at - 100_000_000 } : e))
    .map((e) => (e.kind === 'exposure' && e.unit === 'u4' ? { ...e, track: 'b' } : e))
    .map((e) => (e.kind === 'exposure' && e.unit === 'u25' ? { ...e, dimensions: { country: 'fr' } } : e));
  const memoryEdited = memoryStore();
  await memoryEdited.write(edited);
  assert.deepEqual(await store.summarize(), await memoryEdited.summarize(), 'after deletes and updates');
  assert.deepEqual(await store.summarize({ by: 'country' }), await memoryEdited.summarize({ by: 'country' }), 'by segment, after deletes and updates');

  await query(`TRUNCATE ${s}.tracks_exposures, ${s}.tracks_conversions`);
  await assertSummaryTablesMatch(schema);
  const [left] = await query<{ n: string }>(`SELECT (SELECT COUNT(*) FROM ${s}.tracks_exposure_counts) + (SELECT COUNT(*) FROM ${s}.tracks_unit_totals) AS n`);
  assert.equal(Number(left!.n), 0);
  await store.close();
});

test('a reporting role that may only read (no ANALYZE, no writes) gets the same summary', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('reader');
  const role = `tracks_reader_${run}`;
  const owner = postgresStore(url, { schema });
  const events: RecordedEvent[] = [];
  for (let u = 0; u < 50; u++) {
    events.push({ kind: 'exposure', eventId: `x${u}`, trackSetId: 'read', track: u % 2 ? 'a' : 'b', unit: `u${u}`, at: 1_000 + u });
    if (u % 4 === 0) events.push({ kind: 'conversion', eventId: `c${u}`, unit: `u${u}`, metric: 'buy', value: u, at: 2_000 });
  }
  await owner.write(events);
  await query(`CREATE ROLE "${role}" LOGIN; GRANT USAGE ON SCHEMA "${schema}" TO "${role}";
    GRANT SELECT ON ALL TABLES IN SCHEMA "${schema}" TO "${role}"`);
  try {
    const readerUrl = new URL(url);
    readerUrl.username = role;
    readerUrl.password = '';
    const reader = postgresStore(readerUrl.toString(), { schema });
    // The summary tables have never been analyzed: the owner's report would ANALYZE them; the reader may not.
    assert.deepEqual(await reader.summarize(), await owner.summarize());
    await reader.close();
  } finally {
    await owner.close();
    await query(`DROP OWNED BY "${role}"; DROP ROLE "${role}"`);
  }
});

test('a writing role that owns its schema but may not create schemas records, and its tables are created there', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('owned');
  const role = `tracks_writer_${run}`;
  // Least privilege: no CREATE on the database (PostgreSQL checks it even for CREATE SCHEMA IF NOT EXISTS).
  await query(`CREATE ROLE "${role}" LOGIN; CREATE SCHEMA "${schema}" AUTHORIZATION "${role}"`);
  try {
    const writerUrl = new URL(url);
    writerUrl.username = role;
    writerUrl.password = '';
    const store = postgresStore(writerUrl.toString(), { schema });
    const events: RecordedEvent[] = Array.from({ length: 40 }, (_, u) => ({ kind: 'exposure', eventId: `o${u}`, trackSetId: 'owned', track: u % 2 ? 'a' : 'b', unit: `u${u}`, at: 1_000 + u }));
    await store.write(events);
    await store.close();
    const [row] = await query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${schema}".tracks_exposures`);
    assert.equal(Number(row!.n), 40);
  } finally {
    await query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP OWNED BY "${role}"; DROP ROLE "${role}"`);
  }
});

test('postgresStore: a missing URL (an unset DATABASE_URL), a non-pool or bad options are TracksErrors naming the fix, at once', () => {
  const refused = (make: () => unknown, message: RegExp) => assert.throws(make, (e: unknown) => e instanceof TracksError && message.test(e.message));
  refused(() => postgresStore(undefined as never), /postgresStore: the store is undefined; give a postgres:\/\/ URL \(is DATABASE_URL set\?\) or a pg\.Pool/);
  refused(() => postgresStore(''), /the URL is empty/);
  refused(() => postgresStore({} as never), /the store is object; give a postgres:\/\/ URL/);
  refused(() => postgresStore('postgres://127.0.0.1/x', { schema: '' }), /options\.schema is ""; name a schema/);
  refused(() => postgresStore('postgres://127.0.0.1/x', { maxConnections: 0 }), /options\.maxConnections is 0; use a whole number of at least 1/);
  refused(() => postgresStore('postgres://127.0.0.1/x', { timeoutMs: -1 }), /options\.timeoutMs is -1; use a positive number of ms/);
});

test('tracks report reaches a schema named in the URL (?schema=), and a schema given twice differently is refused', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('urlschema');
  const store = postgresStore(url, { schema });
  await store.write([
    { kind: 'exposure', eventId: 'x1', trackSetId: 'in-schema', track: 'control', unit: 'u1', at: 1 },
    { kind: 'exposure', eventId: 'x2', trackSetId: 'in-schema', track: 'fast', unit: 'u2', at: 2 },
  ]);
  await store.close();
  const withSchema = new URL(url);
  withSchema.searchParams.set('schema', schema);
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['report', '--store', withSchema.toString(), '--json'], { stdout: (x) => out.push(x), stderr: (x) => err.push(x), env: {} });
  assert.equal(code, 0, err.join(''));
  const report = JSON.parse(out.join('')) as { trackSets: Array<{ id: string; tracks: Array<{ users: number }> }> };
  assert.deepEqual(report.trackSets.map((set) => [set.id, set.tracks.map((track) => track.users)]), [['in-schema', [1, 1]]]);
  assert.throws(() => postgresStore(withSchema.toString(), { schema: 'other' }), /names schema .* and options\.schema is 'other'/);
});

test('PostgreSQL restarted in the middle of 100,000 events: every event stored exactly once', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('restart');
  const errors: Error[] = [];
  configure({
    store: url,
    schema,
    outbox: join(dir, 'restart-outbox.db'),
    batchSize: 5000,
    flushInterval: 20,
    retryDelay: 50,
    maxRetryDelay: 500,
    flushTimeout: 60_000,
    onError: (e) => errors.push(e),
  });
  const total = 100_000;
  let restart: Promise<unknown> | undefined;
  for (let i = 0; i < total; i++) {
    if (i % 2 === 0) new PgTracks({ key: `r-${i}` }).name;
    else convert({ key: `r-${i - 1}`, metric: 'purchase', value: i });
    if (i === 30_000) restart = restartPostgres();
    // A busy service's pace (up to 100,000 events a second), not a loop's.
    if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await restart;
  await waitForPostgres();
  await flush();
  const final = stats();
  await close();
  const [counts] = await query<{ exposures: string; conversions: string; distinct_ids: string }>(
    `SELECT (SELECT COUNT(*) FROM "${schema}".tracks_exposures WHERE track_set_id = 'pg-delay') AS exposures,
            (SELECT COUNT(*) FROM "${schema}".tracks_conversions) AS conversions,
            (SELECT COUNT(DISTINCT event_id) FROM "${schema}".tracks_conversions) AS distinct_ids`,
  );
  t.diagnostic(`restart: ${errors.length} errors through onError (first: ${errors[0]?.message}); ${JSON.stringify(final)}; ${errors.filter((e) => /quarantin/.test(e.message)).map((e) => e.message).join(' | ')}`);
  assert.equal(Number(counts!.exposures), total / 2);
  assert.equal(Number(counts!.conversions), total / 2);
  assert.equal(Number(counts!.distinct_ids), total / 2);
  assert.equal(final.dropped, 0);
  assert.equal(final.buffered, 0);
  await assertSummaryTablesMatch(schema);
  t.diagnostic(`restart: ${errors.length} errors through onError (first: ${errors[0]?.message}); ${JSON.stringify(final)}; ${errors.filter((e) => /quarantin/.test(e.message)).map((e) => e.message).join(" | ")}`);
});

/** A real restart of the local cluster when we may (root, pg_ctlcluster), else kill our connections. */
async function restartPostgres(): Promise<void> {
  const clusters = process.platform === 'linux' ? safeList('/etc/postgresql') : [];
  if (process.getuid?.() === 0 && clusters.length === 1) {
    try {
      await execFileAsync('pg_ctlcluster', ['--skip-systemctl-redirect', clusters[0]!, 'main', 'restart'], { timeout: 60_000 });
      return;
    } catch {
      // fall through: make sure the server is up again, then cut connections instead
      await execFileAsync('pg_ctlcluster', ['--skip-systemctl-redirect', clusters[0]!, 'main', 'start']).catch(() => {});
      await waitForPostgres();
    }
  }
  await query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()");
}

function safeList(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

test('four processes writing one PostgreSQL database at once lose nothing', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('four');
  const count = 5000;
  const results = await Promise.all([0, 1, 2, 3].map((w) => runWriter({ STORE: url, SCHEMA: schema, WORKER: String(w), COUNT: String(count) })));
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { errors: [] });
  }
  const [row] = await query<{ e: string; c: string; v: string }>(
    `SELECT (SELECT COUNT(*) FROM "${schema}".tracks_exposures) AS e, (SELECT COUNT(*) FROM "${schema}".tracks_conversions) AS c,
            (SELECT COUNT(*) FROM "${schema}".tracks_schema_version) AS v`,
  );
  assert.equal(Number(row!.e), 4 * count);
  assert.equal(Number(row!.c), 4 * count);
  assert.equal(Number(row!.v), POSTGRES_MIGRATIONS.length, 'each migration applied once');
  await assertSummaryTablesMatch(schema);
});

test('a PostgreSQL writer killed with SIGKILL keeps everything it reported as flushed', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('killed');
  const flushed = await killWriterAfter({ STORE: url, SCHEMA: schema, WORKER: '7' }, 4);
  const rows = await query<{ unit: string }>(`SELECT unit FROM "${schema}".tracks_exposures`);
  const units = new Set(rows.map((r) => r.unit));
  for (let n = 0; n < flushed; n++) assert.ok(units.has(`k-7-${n}`), `k-7-${n} was flushed but is missing`);
});

test('an unreachable PostgreSQL server reaches onError, and events wait in the outbox', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const errors: Error[] = [];
  configure({
    store: 'postgres://postgres@127.0.0.1:1/nowhere',
    outbox: join(dir, 'unreachable-outbox.db'),
    flushTimeout: 100,
    retryDelay: 10,
    onError: (e) => errors.push(e),
  });
  for (let i = 0; i < 20; i++) new PgTracks({ key: `down-${i}` }).name;
  await flush();
  assert.match(errors[0]!.message, /cannot (open|read|write to) the PostgreSQL store postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/);
  assert.ok(stats().spilled >= 20);
  await close();
});

/**
 * Runs `fn` while another connection (another process's migrator) holds `locks`, advisory lock
 * statements, in a transaction; `release` ends it early. Ended in any case when `fn` is done.
 */
async function holdingLocks(locks: readonly [sql: string, params: unknown[]][], fn: (release: () => Promise<void>) => Promise<void>): Promise<void> {
  const pg = (await import('pg')).default;
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    for (const [sql, params] of locks) await holder.query(sql, params);
    await fn(async () => void (await holder.query('ROLLBACK')));
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    await holder.end();
  }
}

test('a migration of one schema under way does not hold a store of another schema back: the migration lock is per schema', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const busy = schemaFor('migrating-elsewhere');
  const free = schemaFor('migrates-now');
  // Another process of this version migrating another schema holds its locks (its schema's,
  // and the database-wide one shared, which keeps out earlier versions) as long as this test needs.
  const locks: [string, unknown[]][] = [
    ["SELECT pg_advisory_xact_lock_shared(hashtext('tracks:migrate'))", []],
    ["SELECT pg_advisory_xact_lock(hashtext('tracks:migrate:' || $1))", [busy]],
  ];
  await holdingLocks(locks, async () => {
    const store = postgresStore(url!, { schema: free, timeoutMs: 3_000 });
    try {
      await store.write(sampleEvents());
      assert.ok((await store.summarize()).length > 0, 'migrated and written while the other schema is locked');
    } finally {
      await store.close();
    }
  });
});

test('a migrator of an earlier tracks (the database-wide lock, exclusive) keeps this one waiting: a rolling deploy never migrates one schema twice at once', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const schema = schemaFor('behind-old-migrator');
  await holdingLocks([["SELECT pg_advisory_xact_lock(hashtext('tracks:migrate'))", []]], async (release) => {
    const store = postgresStore(url!, { schema, timeoutMs: 10_000 });
    try {
      const writing = store.write(sampleEvents());
      await new Promise((resolve) => setTimeout(resolve, 700));
      const [created] = await query<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_namespace WHERE nspname = '${schema}'`);
      assert.equal(created!.n, '0', 'nothing created while the earlier version migrates');
      await release();
      await writing;
      assert.ok((await store.summarize()).length > 0, 'migrated and written once it was done');
    } finally {
      await store.close();
    }
  });
});
