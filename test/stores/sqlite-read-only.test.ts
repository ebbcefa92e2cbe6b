// Reading a SQLite store this process may not write: `tracks report` by another user (an
// analyst reading a service's store), or a copy on a read-only mount. SQLite reads a WAL store
// through a -shm file beside it, which such a reader cannot create (in a read-only folder) or
// leaves behind for the store's owner, who then cannot write (in a shared one). Run as the
// unprivileged user `nobody` when the tests run as root (root may write anything), else with
// the files made read-only to this user.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sqliteStore } from '../../src/index.js';
import { writeFixedData } from '../report/fixed-data.js';
import { ReadCopy } from '../../src/stores/sqlite-read-copy.js';

const root = process.getuid?.() === 0;
const NOBODY = 65534;
const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
  }
});

/** A store with data in a folder of its own, closed (no -wal or -shm beside it). */
async function storeIn(name: string): Promise<{ dir: string; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), `tracks-ro-${name}-`));
  dirs.push(dir);
  chmodSync(dir, 0o755); // mkdtemp's folder is its creator's alone
  const path = join(dir, 'tracks.db');
  const store = sqliteStore(path);
  await writeFixedData(store);
  await store.close();
  assert.deepEqual(readdirSync(dir), ['tracks.db']);
  return { dir, path };
}

/** `tracks report --json` on `path`, as another user when this one is root. */
function reportAsReader(path: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [main, 'report', '--json', '--store', path], {
    encoding: 'utf8',
    ...(root ? { uid: NOBODY, gid: NOBODY } : {}),
    env: { ...process.env, HOME: tmpdir() },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function reportedSets(stdout: string): string[] {
  return (JSON.parse(stdout) as { trackSets: { id: string }[] }).trackSets.map((set) => set.id).sort();
}

test('a store in a folder its reader may not write (a read-only mount): tracks report reads it, and nothing is created beside it', async () => {
  const { dir, path } = await storeIn('folder');
  const expected = reportAsReader(path);
  chmodSync(path, 0o444);
  chmodSync(dir, 0o555);
  const read = reportAsReader(path);
  chmodSync(dir, 0o755);
  assert.equal(read.status, 0, read.stderr);
  assert.deepEqual(reportedSets(read.stdout), reportedSets(expected.stdout));
  assert.ok(reportedSets(read.stdout).length > 0);
  assert.deepEqual(readdirSync(dir), ['tracks.db']);
});

test('a store its reader may not write, in a folder it may (shared): tracks report leaves no -wal or -shm behind, and the owner still writes', async () => {
  const { dir, path } = await storeIn('shared');
  chmodSync(dir, 0o1777);
  // Another user's file (as root: root's, read by nobody), or one read-only to this user.
  chmodSync(path, root ? 0o644 : 0o444);
  const read = reportAsReader(path);
  assert.equal(read.status, 0, read.stderr);
  assert.ok(reportedSets(read.stdout).length > 0);
  assert.deepEqual(readdirSync(dir), ['tracks.db'], 'the reader left no files its owner could not use');
  chmodSync(path, 0o644);
  const owner = sqliteStore(path);
  try {
    await owner.write([{ kind: 'conversion', eventId: 'after-the-report', unit: 'u1', metric: 'purchase', value: 1, at: Date.UTC(2026, 5, 2) }]);
  } finally {
    await owner.close();
  }
});

test('ReadCopy: a copy is needed only for a store this process may not write with no writer on it, and is stale once the store changes or a writer opens it', async () => {
  const { dir, path } = await storeIn('copy');
  assert.equal(ReadCopy.neededFor(path), false, 'a store this process may write is read in place');
  assert.equal(ReadCopy.neededFor(join(dir, 'missing.db')), false);
  const copy = ReadCopy.of(path);
  try {
    // The same rows, in one file in rollback-journal mode (nothing beside it to read it).
    // (The store through a connection that may write: it leaves no -wal or -shm when it closes.)
    const rows = (file: string) => {
      const db = new BetterSqlite3(file, { readonly: file === copy.path, fileMustExist: true });
      try {
        return { mode: db.pragma('journal_mode', { simple: true }), definitions: db.prepare('SELECT * FROM tracks_definitions ORDER BY event_id').all() };
      } finally {
        db.close();
      }
    };
    assert.deepEqual(rows(copy.path), { ...rows(path), mode: 'delete' });
    assert.equal(copy.stale(), false);
    const writer = sqliteStore(path);
    await writer.write([{ kind: 'definition', eventId: 'late-set', trackSetId: 'late-set', weights: { control: 1, fast: 1 }, coverage: 1, at: Date.UTC(2026, 5, 3) }]);
    assert.equal(copy.stale(), true, 'a writer has the store open (its -wal is there)');
    assert.equal(ReadCopy.neededFor(path), false, 'with a writer on it, the store is read in place, through its files');
    await writer.close();
    assert.equal(copy.stale(), true, 'the store changed since the copy');
  } finally {
    copy.remove();
  }
  assert.equal(existsSync(dirname(copy.path)), false, 'remove() deletes the copy and its folder');
});

test('a snapshot of a store taken while it was written (its -wal, no -shm) in a read-only folder: tracks report reads the rows only its log holds', async () => {
  const { dir, path } = await storeIn('snapshot');
  // A writer open: its last rows are in the -wal, not yet in the file.
  const writer = sqliteStore(path);
  await writer.write([{ kind: 'definition', eventId: 'in-the-log', trackSetId: 'only-in-the-log', weights: { control: 1, fast: 1 }, coverage: 1, at: Date.UTC(2026, 5, 3) }]);
  const snapshot = join(dir, 'snapshot');
  mkdirSync(snapshot);
  copyFileSync(path, join(snapshot, 'tracks.db'));
  copyFileSync(`${path}-wal`, join(snapshot, 'tracks.db-wal'));
  await writer.close();
  chmodSync(join(snapshot, 'tracks.db'), 0o444);
  chmodSync(join(snapshot, 'tracks.db-wal'), 0o444);
  chmodSync(snapshot, 0o555);
  const read = reportAsReader(join(snapshot, 'tracks.db'));
  chmodSync(snapshot, 0o755);
  assert.equal(read.status, 0, read.stderr);
  assert.ok(reportedSets(read.stdout).includes('only-in-the-log'), reportedSets(read.stdout).join(', '));
  assert.deepEqual(readdirSync(snapshot).sort(), ['tracks.db', 'tracks.db-wal']);
});

test('a store with a -shm but no -wal (a writer ended between deleting the two) is no writer: read through a copy, in a read-only folder and in a shared one, nothing left beside it', async () => {
  for (const folder of ['read-only', 'shared'] as const) {
    const { dir, path } = await storeIn(`lone-shm-${folder}`);
    writeFileSync(`${path}-shm`, '');
    chmodSync(path, folder === 'read-only' ? 0o444 : root ? 0o644 : 0o444);
    chmodSync(dir, folder === 'read-only' ? 0o555 : 0o1777);
    const read = reportAsReader(path);
    chmodSync(dir, 0o755);
    assert.equal(read.status, 0, `${folder}: ${read.stderr}`);
    assert.ok(reportedSets(read.stdout).length > 0);
    assert.deepEqual(readdirSync(dir).sort(), ['tracks.db', 'tracks.db-shm'], `${folder}: nothing new beside the store`);
  }
});
