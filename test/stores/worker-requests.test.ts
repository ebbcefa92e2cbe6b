// A call to a SQLite worker that its caller gave up on is never carried out late: given up in
// the queue (a cold worker, a lock), it is skipped; given up while it ran, it rolls back; given
// up while it commits, its caller waits for the commit's answer. Otherwise a batch whose write
// timed out was committed anyway after the caller spilled or retried it, and stored twice.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { RecordedEvent } from '../../src/index.js';
import { StoreError, sqliteOutbox, sqliteStore } from '../../src/index.js';
import { markFinishing } from '../../src/model/finishing-call.js';
import { withDeadline } from '../../src/recording/deadline.js';
import { OutboxDatabase } from '../../src/stores/outbox-database.js';
import { RequestState } from '../../src/stores/request-state.js';
import { SqliteDatabase } from '../../src/stores/sqlite-database.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-worker-requests-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

const exposures = (prefix: string, n: number): RecordedEvent[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'exposure', eventId: `${prefix}-${i}`, trackSetId: 'delay', track: 'long', unit: `${prefix}-u${i}`, at: 1_700_000_000_000 + i }));

function rows(path: string, sql: string): number {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const givenUp = (ms: number) => ({ deadline: Date.now() + ms, signal: AbortSignal.timeout(ms) });
const isTimeout = (error: unknown) => error instanceof StoreError && error.transient && error.code === 'TRACKS_TIMEOUT';

test('RequestState: the caller gives up before the start (skipped) or while running (no commit), never during the commit', () => {
  const queued = new RequestState();
  assert.equal(queued.abandon(), true);
  assert.equal(new RequestState(queued.buffer).start(), false);

  const running = new RequestState();
  const worker = new RequestState(running.buffer);
  assert.equal(worker.start(), true);
  assert.equal(running.abandon(), true);
  assert.equal(worker.mayCommit(), false);

  const committing = new RequestState();
  const other = new RequestState(committing.buffer);
  assert.equal(other.start(), true);
  assert.equal(other.mayCommit(), true);
  assert.equal(committing.abandon(), false);
  assert.equal(other.mayCommit(), true, 'a retried commit of the same request may go on');
});

test('an outbox spill given up before the (cold) worker took it is never written', async () => {
  const outbox = sqliteOutbox(join(dir, 'cold.outbox'));
  try {
    // The worker starts and opens the file in far more than 1 ms: the spill waits in its queue.
    await assert.rejects(outbox.spill(exposures('late', 100), givenUp(1)), isTimeout);
    // Answered after the spill (calls are answered in order): the spill was skipped.
    assert.deepEqual(await outbox.counts({ deadline: Date.now() + 10_000 }), { waiting: 0, quarantined: 0 });
    await outbox.spill(exposures('kept', 10), { deadline: Date.now() + 10_000 });
    assert.equal((await outbox.counts({ deadline: Date.now() + 10_000 })).waiting, 10);
  } finally {
    await outbox.close();
  }
});

test('a store write given up before the worker took it is never written', async () => {
  const path = join(dir, 'cold.db');
  const store = sqliteStore(path);
  try {
    await assert.rejects(store.write(exposures('late', 100), givenUp(1)), isTimeout);
    await store.write(exposures('kept', 10), { deadline: Date.now() + 10_000 });
  } finally {
    await store.close();
  }
  assert.equal(rows(path, 'SELECT COUNT(*) AS n FROM tracks_exposures'), 10);
  assert.equal(rows(path, "SELECT COUNT(*) AS n FROM tracks_exposures WHERE event_id LIKE 'late-%'"), 0);
});

test('a write or a spill whose caller gave up while it ran rolls back instead of committing', async () => {
  const path = join(dir, 'rolled-back.db');
  const database = new SqliteDatabase(path);
  await database.write(exposures('first', 3), Date.now() + 10_000);
  await assert.rejects(database.write(exposures('late', 50), Date.now() + 10_000, () => false), isTimeout);
  // A stop written by `tracks stop` whose caller gave up is not in force either.
  await assert.rejects(database.writeControl({ trackSetId: 'delay', stopped: true, serve: null, epoch: 1, at: 1_700_000_000_000 }, undefined, Date.now() + 10_000, () => false), isTimeout);
  assert.deepEqual(database.readControls(Date.now() + 10_000), []);
  database.close();
  assert.equal(rows(path, 'SELECT COUNT(*) AS n FROM tracks_exposures'), 3);

  const outbox = new OutboxDatabase(join(dir, 'rolled-back.outbox'));
  outbox.spill(exposures('first', 3), Date.now() + 10_000);
  assert.throws(() => outbox.spill(exposures('late', 50), Date.now() + 10_000, () => false), isTimeout);
  assert.throws(
    () => outbox.quarantine([{ event: exposures('late', 1)[0]!, error: 'refused', at: 1 }], Date.now() + 10_000, () => false),
    isTimeout,
  );
  assert.deepEqual(outbox.counts(Date.now() + 10_000), { waiting: 3, quarantined: 0 });
  outbox.close();
});

test('withDeadline: a call committing at the deadline is waited for, and its outcome counts; any other call times out', async (t) => {
  // Recording's calls and their deadlines do not hold the process open (they run in the
  // background); the test waits for them as flush() does, holding it.
  const hold = setInterval(() => {}, 60_000);
  t.after(() => clearInterval(hold));
  const committing = withDeadline(20, 'a commit', ({ signal }) => {
    return new Promise<string>((resolve) => {
      signal.addEventListener('abort', () => {
        markFinishing(signal);
        setTimeout(() => resolve('committed'), 10);
      });
    });
  });
  assert.equal(await committing, 'committed');
  const silent = withDeadline(20, 'a silent call', () => new Promise<string>(() => {}));
  await assert.rejects(silent, (e: unknown) => isTimeout(e) && /a silent call did not finish within 20 ms/.test((e as Error).message));
  // A committing call is waited for up to the same time again, not forever.
  const stuck = withDeadline(20, 'a stuck commit', ({ signal }) => {
    return new Promise<string>(() => signal.addEventListener('abort', () => markFinishing(signal)));
  });
  await assert.rejects(stuck, isTimeout);
});

test('RequestState.settleNow, for the exit: gives up a request not yet committing; waits for one committing, and says whether it committed', async () => {
  const queued = new RequestState();
  assert.equal(queued.settleNow(1_000), false);
  assert.equal(new RequestState(queued.buffer).start(), false, 'given up: the worker skips it');

  const done = new RequestState();
  const worker = new RequestState(done.buffer);
  assert.ok(worker.start() && worker.mayCommit());
  worker.finish(true);
  assert.equal(done.settleNow(0), true, 'committed already');

  // Committing in another thread, which ends its commit 100 ms later: the caller waits for it.
  const committing = new RequestState();
  const mark = new RequestState(committing.buffer);
  assert.ok(mark.start() && mark.mayCommit());
  const { Worker } = await import('node:worker_threads');
  const thread = new Worker(
    `const { workerData } = require('node:worker_threads');
     const cell = new Int32Array(workerData);
     setTimeout(() => { Atomics.store(cell, 0, 4); Atomics.notify(cell, 0); }, 100);`,
    { eval: true, workerData: committing.buffer },
  );
  await new Promise((resolve) => thread.once('online', resolve));
  assert.equal(committing.settleNow(5_000), true, 'the commit was waited for');
  await new Promise((resolve) => thread.once('exit', resolve));

  const failed = new RequestState();
  const failing = new RequestState(failed.buffer);
  assert.ok(failing.start() && failing.mayCommit());
  failing.finish(false);
  assert.equal(failed.settleNow(0), false, 'a commit that failed stored nothing');
});

test('a SQLite store write hands its caller a settle-now probe: given up at once it is never written; after it committed the probe says so', async () => {
  const path = join(dir, 'settle-now.db');
  const store = sqliteStore(path);
  try {
    await store.write(exposures('warm', 1)); // the worker is started and the file migrated
    // The write lock held meanwhile, so the write cannot commit before the probe is used (on a
    // loaded machine the worker once committed it first, and the probe rightly said so).
    const holder = new BetterSqlite3(path, { timeout: 0 });
    holder.exec('BEGIN IMMEDIATE');
    let settle: ((waitMs: number) => boolean) | undefined;
    const given = store.write(exposures('given-up', 50), { settleNow: (s) => (settle = s) });
    assert.ok(settle !== undefined, 'the probe is handed over at once');
    assert.equal(settle(1_000), false, 'queued: given up');
    holder.exec('ROLLBACK');
    holder.close();
    await assert.rejects(given);
    let after: ((waitMs: number) => boolean) | undefined;
    await store.write(exposures('kept', 50), { settleNow: (s) => (after = s) });
    assert.equal(after!(0), true);
  } finally {
    await store.close();
  }
  assert.equal(rows(path, "SELECT COUNT(*) AS n FROM tracks_exposures WHERE event_id LIKE 'given-up-%'"), 0);
  assert.equal(rows(path, "SELECT COUNT(*) AS n FROM tracks_exposures WHERE event_id LIKE 'kept-%'"), 50);
});
