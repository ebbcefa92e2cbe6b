import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import pg from 'pg';
import { TrackSet, close, configure, convert, flush, memoryStore, postgresStore, stats } from '../../src/index.js';
import type { RecordedEvent } from '../../src/index.js';
import { killWriterAfter, runWriter } from './fixtures/processes.js';

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

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
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

class PgTracks extends TrackSet {
  static override id = 'pg-delay';
  static short_track() {}
  static long_track() {}
}

test('PostgreSQL summarize() matches the memory store on the same events, written twice', async (t) => {
  if (url === undefined) return t.skip(SKIP);
  const store = postgresStore(url, { schema: schemaFor('compare') });
  const memory = memoryStore();
  const day = Date.UTC(2026, 0, 10);
  const events: RecordedEvent[] = [];
  for (let u = 0; u < 40; u++) {
    const at = day + u * 3_600_000;
    events.push({ kind: 'exposure', eventId: `x${u}`, trackSetId: 'cmp', track: u % 2 ? 'a' : 'b', unit: `u${u}`, at });
    events.push({ kind: 'conversion', eventId: `early${u}`, unit: `u${u}`, metric: 'buy', value: 100, at: at - 1 });
    if (u % 3 === 0) events.push({ kind: 'conversion', eventId: `c${u}`, unit: `u${u}`, metric: 'buy', value: u, at: at + 5 });
  }
  events.push({ kind: 'health', eventId: 'h1', trackSetId: 'cmp', track: 'a', minute: 1, runs: 3, errors: 1, totalMs: 6, histogram: [1, 0, 2] });
  events.push({ kind: 'definition', eventId: 'def1', trackSetId: 'cmp', weights: { a: 1, b: 3 }, coverage: 0.5, at: day });
  events.push({ kind: 'guardrail', eventId: 'g1', trackSetId: 'cmp', track: 'a', cause: 'error rate', at: day + 2 });
  for (const s of [store, memory]) {
    await s.write(events);
    await s.write(events);
    await s.writeControl({ trackSetId: 'cmp', stopped: true, serve: 'a', at: 5 });
  }
  assert.deepEqual(await store.summarize(), await memory.summarize());
  assert.deepEqual(await store.readAssignments('cmp', ['u1', 'u2', 'nobody']), new Map([['u1', 'a'], ['u2', 'b']]));
  await store.close();
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
    if (i % 1000 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
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
  assert.equal(Number(counts!.exposures), total / 2);
  assert.equal(Number(counts!.conversions), total / 2);
  assert.equal(Number(counts!.distinct_ids), total / 2);
  assert.equal(final.dropped, 0);
  assert.equal(final.buffered, 0);
  t.diagnostic(`restart: ${errors.length} errors through onError (first: ${errors[0]?.message}); retried ${final.retried}, spilled ${final.spilled}`);
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
  assert.equal(Number(row!.v), 1);
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
  assert.match(errors[0]!.message, /cannot open the PostgreSQL store postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/);
  assert.ok(stats().spilled >= 20);
  await close();
});
