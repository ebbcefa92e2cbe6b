// close() of a PostgreSQL store whose server stopped answering: it ends, and the script that
// awaits it goes on. A probe of issue 9 saw `tracks stop` against a blackholed server end after
// 30 s with no word and exit code 13 (a top-level await that never settled): the read timed out,
// then close() waited for a connection still connecting, on a socket that does not hold the
// process open, so Node ran out of work mid-await.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { postgresStore } from '../../src/index.js';
import type { RecordedEvent } from '../../src/index.js';
import { POSTGRES_MIGRATIONS } from '../../src/stores/schema.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor, sql } from '../support/postgres.js';
import { runScript } from '../support/run-script.js';

const script = fileURLToPath(new URL('./fixtures/close-after-timeout.ts', import.meta.url));
const schemaFor = schemasFor('pgclose');
let blackhole: Server;
const held: Socket[] = [];

before(async () => {
  // Accepts, reads, never answers.
  blackhole = createServer((socket) => {
    held.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
});
after(() => {
  for (const socket of held) socket.destroy();
  blackhole.close();
});

function closeAfterTimeout(env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const port = (blackhole.address() as { port: number }).port;
  return runScript(script, { BLACKHOLE_PORT: String(port), ...env }, 30_000).then(({ code, stdout, stderr }) => ({ code, out: stdout, err: stderr }));
}

test('a read that timed out connecting (its deadline 300 ms), then close(): close() resolves and the script ends normally', async () => {
  const ran = await closeAfterTimeout({ TIMEOUT_MS: '300' });
  assert.deepEqual(ran.out.trim().split('\n'), [`rejected: tracks: postgres://postgres@127.0.0.1:${(blackhole.address() as { port: number }).port}/test did not answer in time`, 'closed'], ran.err);
  assert.equal(ran.code, 0, ran.err);
});

// The review of that change: close() destroyed, after its grace second, the connection of a
// write still under way within its own deadline (a lock held 3 s): "Connection terminated
// unexpectedly", and the caller could not tell whether the row was stored. pool.end() had let
// calls under way end; close() does again.
test('close() while a write waits for a lock: the write ends as it would have (stored), then the store closes', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const schema = schemaFor('inflight');
  const store = postgresStore(postgresUrl!, { schema });
  const exposure = (unit: string): RecordedEvent => ({ kind: 'exposure', eventId: `e-${unit}`, trackSetId: 'close-inflight', track: 'a', unit, at: Date.UTC(2026, 11, 1) });
  await store.write([exposure('first')]);
  const locker = new pg.Client({ connectionString: postgresUrl! });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${schema}".tracks_exposures IN ACCESS EXCLUSIVE MODE`);
    const writing = store.write([exposure('second')], { deadline: Date.now() + 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closing = store.close();
    await new Promise((resolve) => setTimeout(resolve, 1_800)); // past close()'s grace second
    await locker.query('COMMIT');
    await writing;
    await closing;
  } finally {
    await locker.end();
  }
  const rows = await sql<{ n: number }>(`SELECT COUNT(*)::int AS n FROM "${schema}".tracks_exposures WHERE unit = 'second'`);
  assert.equal(rows[0]!.n, 1);
});

// The review of the mend above: close() waited for reads under way too, up to their deadline
// (30 s by default): Ctrl-C in `tracks dashboard` during a slow summary took that long. A read
// is cut after close()'s grace, as before; only writes, whose outcome must be known, are waited for.
test('close() while a read waits for a lock: the read is cut after the grace, close() does not wait for its deadline', { skip: postgresUrl === undefined && POSTGRES_SKIP, timeout: 30_000 }, async () => {
  const schema = schemaFor('readcut');
  const store = postgresStore(postgresUrl!, { schema, timeoutMs: 120_000 });
  await store.write([{ kind: 'exposure', eventId: 'e-1', trackSetId: 'close-read', track: 'a', unit: 'u1', at: Date.UTC(2026, 11, 1) }]);
  const locker = new pg.Client({ connectionString: postgresUrl! });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${schema}".tracks_exposures IN ACCESS EXCLUSIVE MODE`);
    const reading = store.summarize({ daily: false }).then(
      () => 'read',
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await store.close(); // resolves while the lock is still held
    assert.notEqual(await reading, 'read');
  } finally {
    await locker.query('COMMIT');
    await locker.end();
  }
});

test('a store read at schema version 9 sees what migration 10 records once another process upgrades it', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const schema = schemaFor('upgraded');
  const s = `"${schema}"`;
  await sql(`CREATE SCHEMA ${s}`);
  await sql(`CREATE TABLE ${s}.tracks_schema_version (version integer NOT NULL)`);
  for (let i = 0; i < 9; i++) {
    await sql(POSTGRES_MIGRATIONS[i]!.replaceAll('{s}', s));
    await sql(`INSERT INTO ${s}.tracks_schema_version (version) VALUES (${i + 1})`);
  }
  const reader = postgresStore(postgresUrl!, { schema });
  const writer = postgresStore(postgresUrl!, { schema });
  try {
    const at = Date.UTC(2026, 11, 1);
    assert.deepEqual(await reader.summarize({ daily: false }), []);
    await writer.write([
      { kind: 'definition', eventId: 'd-1', trackSetId: 'upgraded', weights: { old: 1, new: 1 }, coverage: 1, control: 'old', phase: 'p1', sticky: false, stopped: false, shadow: true, at },
      { kind: 'exposure', eventId: 'e-1', trackSetId: 'upgraded', track: 'old', unit: 'u1', at: at + 1, phase: 'p1' },
    ]);
    const [set] = await reader.summarize({ daily: false });
    assert.equal(set!.phases[0]!.definition?.shadow, true, 'read with the column once it is there');
  } finally {
    await reader.close();
    await writer.close();
  }
});
