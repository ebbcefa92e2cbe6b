// A running service: `tracks stop --serve` and `tracks resume` from
// another process while a writer records; then SIGTERM (the writer has no handler of its own).
// Keys are recorded in order, so what is stored must be exactly: every unit recorded has its
// conversion, every unit served while in the test its exposure, no unit served while stopped an
// exposure, nothing twice; the outbox's share is drained by the next process.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { close, configure, flush, stats, storeFrom } from '../../src/index.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor } from '../support/postgres.js';

const writer = fileURLToPath(new URL('./fixtures/burst-writer.ts', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
// PostgreSQL parts run when TRACKS_TEST_POSTGRES_URL is set (README, Development).
const PG = postgresUrl ?? '';
const dir = mkdtempSync(join(tmpdir(), 'g3-rt-'));
/** Schemas of this file's own, dropped when it ends (test/support/postgres.ts). */
const schemaFor = schemasFor('stopresume');
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

const tracks = (args: string[], env: Record<string, string>) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', cli, ...args], { env: { ...process.env, ...env }, timeout: 20_000 });

interface Outcome {
  stoppedAt: number;
  servedTrack: string;
  resumedAt: number;
  recorded: number;
  signal: string | null;
}

function watchWriter(env: Record<string, string>, store: string): Promise<Outcome> {
  const countFile = join(dir, `count-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer], {
      env: { ...process.env, ...env, MODE: 'watch', COUNT_FILE: countFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    let out = '';
    let err = '';
    const o: Partial<Outcome> = {};
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.stdout.on('data', async (d: Buffer) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        try {
          if (line === 'ready') await tracks(['stop', 'g2-workers', '--serve', 'b', '--store', store], env);
          const stopped = /^stopped (\S+) (\d+)$/.exec(line);
          if (stopped) {
            o.servedTrack = stopped[1]!;
            o.stoppedAt = Number(stopped[2]);
            await tracks(['resume', 'g2-workers', '--store', store], env);
          }
          const resumed = /^resumed (\d+)$/.exec(line);
          if (resumed) {
            o.resumedAt = Number(resumed[1]);
            setTimeout(() => child.kill('SIGTERM'), 300);
          }
        } catch (error) {
          child.kill('SIGKILL');
          reject(error);
        }
      }
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(killer);
      if (o.resumedAt === undefined) return reject(new Error(`writer ended early (${signal}): ${err}`));
      o.recorded = Number(readFileSync(countFile, 'utf8'));
      o.signal = signal;
      resolve(o as Outcome);
    });
  });
}

async function check(storeSpec: string, outbox: string, schema: string | undefined, o: Outcome, read: (q: string) => Promise<number[]>) {
  assert.equal(o.signal, 'SIGTERM', 'the process ends as SIGTERM would have ended it');
  assert.equal(o.servedTrack, 'b');
  assert.ok(o.stoppedAt > 0 && o.resumedAt > o.stoppedAt && o.recorded > o.resumedAt, JSON.stringify(o));
  // The next process drains what the SIGTERM spilled.
  configure({ store: storeSpec, ...(schema ? { schema } : {}), outbox, handleSignals: false });
  await flush();
  await close();
  assert.equal(stats().dropped, 0);
  const exposed = new Set(await read("SELECT unit FROM tracks_exposures WHERE track_set_id = 'g2-workers'").then((r) => r.map(String)));
  const converted = await read('SELECT unit FROM tracks_conversions').then((r) => r.map(String));
  assert.equal(converted.length, o.recorded, 'one conversion per unit recorded, none lost, none twice');
  assert.equal(new Set(converted).size, o.recorded);
  let missing = 0;
  let unexpected = 0;
  for (let i = 0; i < o.recorded; i++) {
    const stopped = i >= o.stoppedAt && i < o.resumedAt;
    const has = exposed.has(`k-0-${i}`);
    // Between the last run in the test and the first stopped one the switch may fall anywhere
    // inside one slice of 5 runs; the same at resume.
    const nearSwitch = Math.abs(i - o.stoppedAt) < 5 || Math.abs(i - o.resumedAt) < 5;
    if (!stopped && !has && !nearSwitch) missing++;
    if (stopped && has && !nearSwitch) unexpected++;
  }
  assert.equal(missing, 0, `${missing} units served in the test have no exposure`);
  assert.equal(unexpected, 0, `${unexpected} units served while stopped have an exposure`);
  const health = await read("SELECT SUM(runs) FROM tracks_health WHERE track_set_id = 'g2-workers'");
  // health is recorded for runs in the test only
  assert.ok(Number(health[0]) <= o.recorded && Number(health[0]) >= o.recorded - (o.resumedAt - o.stoppedAt) - 10, `health ${health[0]} of ${o.recorded}`);
}

test('SQLite: tracks stop --serve b and tracks resume from another process while recording, then SIGTERM: exactly what was served', async () => {
  const file = join(dir, 'rt.db');
  const o = await watchWriter({ STORE: file, WORKER: '0' }, file);
  const Database = (await import('better-sqlite3')).default;
  await check(file, `${file}.outbox`, undefined, o, async (q) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(q).raw().all().map((r) => (r as unknown[])[0] as number);
    } finally {
      db.close();
    }
  });
});

test('PostgreSQL: tracks stop --serve b and tracks resume from another process while recording, then SIGTERM', { skip: postgresUrl === undefined && POSTGRES_SKIP }, async () => {
  const schema = schemaFor('writer');
  const url = `${PG}?schema=${schema}`;
  const outbox = join(dir, 'pg.outbox');
  const o = await watchWriter({ STORE: PG, SCHEMA: schema, OUTBOX: outbox, WORKER: '0' }, url);
  await check(PG, outbox, schema, o, async (q) => {
    const client = new pg.Client({ connectionString: PG });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${schema}"`);
      return (await client.query({ text: q, rowMode: 'array' })).rows.map((r) => r[0]);
    } finally {
      await client.end();
    }
  });
  void storeFrom;
});
