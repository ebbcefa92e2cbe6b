// Events left in the outbox beside a SQLite store (a process that exited with process.exit())
// are not in the store until a process records to it again: the report says so, reading the
// outbox without creating or changing anything.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sqliteStore } from '../../src/index.js';
import type { RecordedEvent } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import BetterSqlite3 from 'better-sqlite3';
import { OutboxDatabase } from '../../src/stores/outbox-database.js';
import { writeFixedData } from '../report/fixed-data.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const exposures = (n: number): RecordedEvent[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'exposure', eventId: `e-${i}`, trackSetId: 'exitnow', track: 'control', unit: `u${i}`, at: 1_700_000_000_000 + i }));

/** An outbox holding `n` events, closed as an exiting process leaves it (no -wal or -shm beside it). */
function spilled(path: string, n: number): void {
  const outbox = new OutboxDatabase(path);
  outbox.spill(exposures(n), Date.now() + 10_000);
  outbox.close();
}

/** The outbox's files and a hash of their bytes, to show a report changed nothing of it. */
function snapshot(dir: string): Map<string, string> {
  const outboxFiles = readdirSync(dir).filter((name) => name.includes('.outbox'));
  return new Map(outboxFiles.map((name) => [name, createHash('sha256').update(readFileSync(join(dir, name))).digest('hex')]));
}

test('tracks report names the events waiting in the outbox beside the store, and creates nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-outbox-note-'));
  const path = join(dir, 'nc.db');
  const store = sqliteStore(path);
  await writeFixedData(store);
  await store.close();
  spilled(`${path}.outbox`, 1000);
  const before = snapshot(dir);

  const unknown = await cli('report', '--store', path, '--trackset', 'exitnow');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown track set 'exitnow'; recorded sets are 'delay'; 1,000 events wait in the outbox .*nc\.db\.outbox, not yet in the store: they are written to it when a process records to it again \(configure\(\{ store: /);

  const text = await cli('report', '--store', path);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /\(1,000 events wait in the outbox .*nc\.db\.outbox/);
  // --json keeps stdout JSON: the note goes to stderr.
  const json = await cli('report', '--store', path, '--json');
  assert.equal(json.code, 0, json.err);
  JSON.parse(json.out);
  assert.match(json.err, /1,000 events wait in the outbox/);
  assert.deepEqual(snapshot(dir), before, 'the report created or changed nothing of the outbox');

  // Held open by a recording process (its -wal and -shm exist): read through them.
  const holder = new OutboxDatabase(`${path}.outbox`);
  holder.spill(exposures(1), Date.now() + 10_000);
  try {
    assert.match((await cli('report', '--store', path)).out, /1,001 events wait in the outbox/);
  } finally {
    holder.close();
  }
});

test('the outbox is named when the store itself does not exist yet; a corrupt or empty one adds nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-outbox-note-'));
  const path = join(dir, 'first.db');
  spilled(`${path}.outbox`, 1);
  const missing = await cli('report', '--store', path);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no store at .*first\.db; check the path, or record some runs first .*; 1 event waits in the outbox .*first\.db\.outbox/);
  assert.deepEqual(readdirSync(dir), ['first.db.outbox']);

  const recorded = join(dir, 'recorded.db');
  const store = sqliteStore(recorded);
  await writeFixedData(store);
  await store.close();
  for (const content of ['not a database at all, but long enough to be read as one '.repeat(20), '']) {
    writeFileSync(`${recorded}.outbox`, content);
    const report = await cli('report', '--store', recorded);
    assert.equal(report.code, 0, report.err);
    assert.doesNotMatch(report.out, /outbox/);
  }
  // An outbox whose events were all written to the store says nothing either.
  const drained = new OutboxDatabase(`${recorded}.drained`);
  drained.spill(exposures(3), Date.now() + 10_000);
  drained.remove(drained.peek(10, Date.now() + 10_000)!.upTo, Date.now() + 10_000);
  drained.close();
  writeFileSync(`${recorded}.outbox`, readFileSync(`${recorded}.drained`));
  assert.doesNotMatch((await cli('report', '--store', recorded)).out, /outbox/);
});

test('an outbox too large to read in memory is named by its size (a drained file does not shrink); past 100,000 ids the count is "about"', async () => {
  const { eventsWaitingIn } = await import('../../src/stores/outbox-waiting.js');
  const dir = mkdtempSync(join(tmpdir(), 'tracks-outbox-note-'));
  const path = join(dir, 'big.db.outbox');
  spilled(path, 10);
  const before = snapshot(dir);
  const size = readFileSync(path).length;
  assert.deepEqual(eventsWaitingIn(path, size - 1), { events: undefined, bytes: size });
  assert.deepEqual(eventsWaitingIn(path), { events: 10, exact: true });
  assert.deepEqual(snapshot(dir), before, 'nothing created or changed');
  // Ids 1 to 200,000 with rows at both ends (the rest drained): an upper bound, said as one.
  const sparse = join(dir, 'sparse.db.outbox');
  spilled(sparse, 1);
  const db = new BetterSqlite3(sparse);
  db.prepare('INSERT INTO tracks_outbox (id, event) SELECT 200000, event FROM tracks_outbox').run();
  db.close();
  assert.deepEqual(eventsWaitingIn(sparse), { events: 200_000, exact: false });
});
