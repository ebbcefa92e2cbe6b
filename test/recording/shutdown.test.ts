// Shutdown and drains lose nothing: an application that keeps serving for 3 s after SIGTERM,
// then exits (process.exit() or a loop that runs dry), has every event it recorded stored or
// spilled; a process without a SIGTERM handler still ends on SIGTERM. After close(), events are
// counted as dropped and reported once, and stats() keeps the final counts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { TrackSet, callbackStore, close, configure, convert, flush, memoryStore, stats } from '../../src/index.js';
import { outboxRows } from '../support/outbox-rows.js';
import { postgresUrl, schemasFor, sql } from '../support/postgres.js';

const url = postgresUrl;
const dir = mkdtempSync(join(tmpdir(), 'tracks-shutdown-'));
const schemaFor = schemasFor('s');


after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

/** Runs the draining app, sends SIGTERM once it serves, and resolves with the units it recorded. */
function drainApp(env: Record<string, string>): Promise<{ units: number; code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const countFile = env.COUNT_FILE;
  const app = fileURLToPath(new URL('./fixtures/draining-app.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', app], { env: { ...process.env, DRAIN_MS: '3000', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('ready') && !child.killed) child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const match = countFile === undefined ? /recorded (\d+)/.exec(stdout) : /(\d+)/.exec(readFileSync(countFile, 'utf8'));
      if (!match) return reject(new Error(`the app printed no count (code ${code}, signal ${signal}): ${stderr}`));
      resolve({ units: Number(match[1]), code, signal, stderr });
    });
  });
}

/** Every unit the app recorded is in the SQLite store: one exposure and one conversion each. */
function assertStored(store: string, units: number): void {
  const db = new BetterSqlite3(store, { readonly: true });
  try {
    assert.equal((db.prepare("SELECT COUNT(*) AS n FROM tracks_exposures WHERE track_set_id = 'drain'").get() as { n: number }).n, units);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM tracks_conversions').get() as { n: number }).n, units);
  } finally {
    db.close();
  }
}

/** Writes what a previous process left in the outbox, as the next process of the service would. */
async function drainOutbox(options: Parameters<typeof configure>[0]): Promise<void> {
  configure(options);
  await flush();
  await close();
}

for (const end of ['exit', 'natural'] as const) {
  test(`SQLite: an application draining 3 s after SIGTERM, then ending (${end}), loses nothing`, async () => {
    const store = join(dir, `drain-${end}.db`);
    const outbox = join(dir, `drain-${end}.outbox`);
    const result = await drainApp({ STORE: store, OUTBOX: outbox, END: end });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.units > 1000, `it served through the drain (${result.units} units)`);
    await drainOutbox({ store, outbox });
    assertStored(store, result.units);
  });
}

test('SQLite: an application with no SIGTERM handler, serving until the signal ends it, loses nothing recorded while tracks flushed', async () => {
  const store = join(dir, 'no-handler.db');
  const outbox = join(dir, 'no-handler.outbox');
  const result = await drainApp({ STORE: store, OUTBOX: outbox, END: 'none', NO_HANDLER: '1', COUNT_FILE: join(dir, 'no-handler.count') });
  assert.equal(result.signal, 'SIGTERM', `it still ends by the signal (code ${result.code}): ${result.stderr}`);
  assert.ok(!/recording was closed|dropped/.test(result.stderr), result.stderr);
  await drainOutbox({ store, outbox });
  assertStored(store, result.units);
});

test('SQLite: an application whose drain handler is registered with process.once loses nothing either', async () => {
  const store = join(dir, 'drain-once.db');
  const outbox = join(dir, 'drain-once.outbox');
  const result = await drainApp({ STORE: store, OUTBOX: outbox, END: 'exit', ONCE: '1' });
  assert.equal(result.code, 0, `the app ended itself after its drain, not by the signal: ${result.stderr}`);
  assert.ok(!/recording was closed/.test(result.stderr), result.stderr);
  await drainOutbox({ store, outbox });
  assertStored(store, result.units);
});

test('PostgreSQL: an application draining 3 s after SIGTERM, then calling process.exit(), loses nothing', async (t) => {
  if (url === undefined) return t.skip('TRACKS_TEST_POSTGRES_URL is not set');
  const schema = schemaFor('drain');
  const outbox = join(dir, 'drain-pg.outbox');
  const result = await drainApp({ STORE: url, SCHEMA: schema, OUTBOX: outbox, END: 'exit' });
  assert.equal(result.code, 0, result.stderr);
  await drainOutbox({ store: url, schema, outbox });
  const [row] = await sql<{ e: string; c: string }>(
    `SELECT (SELECT COUNT(*) FROM "${schema}".tracks_exposures) AS e, (SELECT COUNT(*) FROM "${schema}".tracks_conversions) AS c`,
  );
  assert.equal(Number(row!.e), result.units);
  assert.equal(Number(row!.c), result.units);
});

class ClosedTracks extends TrackSet {
  static override id = 'closed';
  static a_track() {}
}

test('after close(), events are counted as dropped and reported once; stats() keeps the final counts', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, onError: (e) => errors.push(e) });
  for (let i = 0; i < 10; i++) new ClosedTracks({ key: `c${i}` }).run();
  await close();
  const closed = stats();
  assert.equal(closed.written, store.events.length);
  assert.ok(closed.written >= 11, 'the final counts, not zeros');
  for (let i = 0; i < 5; i++) {
    new ClosedTracks({ key: `late${i}` }).run();
    convert({ key: `late${i}`, metric: 'buy' });
  }
  const late = stats();
  assert.equal(late.dropped, 10);
  assert.equal(late.written, closed.written);
  assert.equal(errors.filter((e) => /recording was closed/.test(e.message)).length, 1, 'reported once');
  configure({});
  assert.equal(stats().dropped, 0, 'a new configuration starts its own counts');
});

test('at exit, an outbox locked by another process holds the process for at most the write timeout; the events are counted as dropped', async () => {
  const outbox = join(dir, 'locked-at-exit.outbox');
  const holder = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../faults/fixtures/hold-lock.ts', import.meta.url))], {
    env: { ...process.env, STORE: outbox, HOLD_MS: '20000', ON_SIGNAL: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => holder.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  holder.kill('SIGUSR2');
  await new Promise<void>((resolve) => holder.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
  try {
    const started = Date.now();
    const app = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/exit-app.ts', import.meta.url))], {
      env: { ...process.env, OUTBOX: outbox, COUNT: '50' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    app.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => app.on('exit', (c) => resolve(c)));
    const tookMs = Date.now() - started;
    assert.equal(code, 0);
    const final = JSON.parse(out.trim().split('\n').pop()!) as { dropped: number; spilled: number };
    // 50 exposures, the set's definition and the health of its two tracks: counted, since the outbox could not take them.
    assert.equal(final.dropped, 53);
    assert.equal(final.spilled, 0);
    // The exit waits at most the write timeout (1 s here) on the lock; starting a process with tsx takes a few seconds more.
    assert.ok(tookMs < 10_000, `the process took ${tookMs} ms to end`);
  } finally {
    holder.kill('SIGKILL');
  }
});

for (const end of ['exit', 'sigterm', 'sigterm-serving'] as const) {
  test(`configure() again, then ${end === 'exit' ? 'process.exit()' : end === 'sigterm' ? 'SIGTERM' : 'SIGTERM while serving on'} while the first configuration is still closing: both configurations' events are spilled`, async () => {
    const outboxA = join(dir, `reconfigure-${end}-a.outbox`);
    const outboxB = join(dir, `reconfigure-${end}-b.outbox`);
    const countFile = join(dir, `reconfigure-${end}.count`);
    const app = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/reconfigure-app.ts', import.meta.url))], {
      env: { ...process.env, OUTBOX_A: outboxA, OUTBOX_B: outboxB, COUNT: '200', END: end, COUNT_FILE: countFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    app.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    app.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && app.kill('SIGTERM'));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => app.on('exit', (c, s) => resolve([c, s])));
    if (end === 'exit') assert.equal(code, 0, stderr);
    else assert.equal(signal, 'SIGTERM', `it still ends by the signal (code ${code}): ${stderr}`);
    for (const [outbox, prefix] of [
      [outboxA, 'a-'],
      [outboxB, 'b-'],
    ] as const) {
      const db = new BetterSqlite3(outbox, { readonly: true });
      try {
        const events = (db.prepare('SELECT event FROM tracks_outbox').all() as { event: string }[]).map((row) => JSON.parse(row.event) as { kind: string; unit?: string });
        const units = new Set(events.filter((e) => e.kind === 'exposure').map((e) => e.unit));
        // Serving on after the signal, the second configuration records more users until the end.
        const recorded = end === 'sigterm-serving' && prefix === 'b-' ? Number(readFileSync(countFile, 'utf8')) : 200;
        assert.equal(units.size, recorded, `${outbox} holds every exposure of its configuration`);
        assert.ok([...units].every((unit) => unit?.startsWith(prefix)), `${outbox} holds its own configuration's events only`);
      } finally {
        db.close();
      }
    }
  });
}

class OnErrorTracks extends TrackSet {
  static override id = 'onerror-at-exit';
  static a_track() {}
  static b_track() {}
}

/**
 * The exit path (Recorder.spillNow, run by the process's `exit` event) with a hung store:
 * `units` exposures, memory bounded at 100 events; onError records one conversion per call
 * when `recordFromOnError`. What stats() says right after, the onError calls, and the outbox's rows.
 */
async function exitWithHungStore(units: number, outbox: string | false, recordFromOnError: boolean) {
  let calls = 0;
  const recorder = configure({
    store: callbackStore(() => new Promise(() => {})),
    outbox,
    // Full after a few spills: past it, events are dropped and onError is called (at the memory
    // bound the oldest events spill to the outbox at once, so a roomy one would take them all).
    ...(outbox === false ? {} : { maxOutboxEvents: 40 }),
    handleSignals: false,
    maxBuffered: 100,
    batchSize: 10,
    flushInterval: 60_000,
    writeTimeout: 100,
    flushTimeout: 100,
    onError: () => {
      calls++;
      if (recordFromOnError) convert({ key: 'ops', metric: 'tracks_error' });
    },
  })!;
  for (let i = 0; i < units; i++) new OnErrorTracks({ key: `u${i}` }).run();
  recorder.spillNow();
  const final = stats();
  const callsThen = calls;
  await close();
  const rows = outbox === false ? 0 : outboxRows(outbox);
  return { final, calls: callsThen, rows };
}


test('at exit, events an onError handler records during the last spill are spilled too, or counted as dropped: none stay in memory', async () => {
  for (const where of ['none', 'outbox'] as const) {
    const outbox = (name: string) => (where === 'none' ? false : join(dir, `onerror-exit-${name}.outbox`));
    // The same run with an onError that records nothing: how many events the run itself makes
    // (its exposures, the set's definition, the tracks' health).
    const quiet = await exitWithHungStore(150, outbox('quiet'), false);
    assert.equal(quiet.final.buffered, 0);
    const made = quiet.final.spilled + quiet.final.dropped;
    const loud = await exitWithHungStore(150, outbox('loud'), true);
    assert.ok(loud.calls > 0, 'onError was called');
    // Before the fix, the conversion recorded by the last report of the exit path stayed in memory, neither stored nor counted.
    assert.equal(loud.final.buffered, 0, `${where}: ${JSON.stringify(loud)}`);
    assert.equal(loud.final.spilled + loud.final.dropped, made + loud.calls, `${where}: every event recorded, onError's ${loud.calls} included, is spilled or dropped: ${JSON.stringify(loud)}`);
    if (where === 'outbox') assert.equal(loud.rows, loud.final.spilled, 'what is counted as spilled is in the outbox');
  }
});
