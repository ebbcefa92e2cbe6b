/**
 * How many events wait in an outbox file, read without creating or changing anything, for the
 * report to say why recorded runs are missing (a process that exited with `process.exit()`
 * leaves its last events there until a process records to the store again).
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { approximateWaiting } from './outbox-database.js';
import { loadSqliteDriver } from './sqlite-driver.js';

/** Largest outbox file read into memory when no process holds it open (about 200,000 events). */
const MAX_READ_BYTES = 64 * 1024 * 1024;

/** Rows counted one by one; past them the count comes from the ids (never fewer than wait: ids only grow). */
const MAX_COUNTED = 100_000;

/**
 * What the report can tell of an outbox's waiting events: their number (`exact` false past
 * {@link MAX_COUNTED}: counted from the ids, an upper bound), or, for a file past
 * {@link MAX_READ_BYTES} that no process holds, only its size: an outbox's file does not shrink
 * when it is drained, so a large one may hold anything from none to all of them.
 */
export type OutboxWaiting = { readonly events: number; readonly exact: boolean } | { readonly events: undefined; readonly bytes: number };

/**
 * The events waiting in the outbox at `path`, or undefined when none do or it cannot tell:
 * no file, no driver, a file that is not an outbox, or locked. Never throws, and waits at most
 * a few milliseconds on a lock. `maxReadBytes` is for tests.
 *
 * The outbox is a WAL file, and SQLite opens one read-only only by creating its `-wal` and
 * `-shm` files when they are missing. So it opens the file only while both exist (a process
 * holds it, or one crashed); otherwise everything is in the main file, which is read into
 * memory and opened there, marked as not WAL, and nothing is created beside it.
 *
 * @example
 * ```ts
 * eventsWaitingIn('/srv/app/tracks.db.outbox'); // { events: 1003, exact: true }
 * ```
 */
export function eventsWaitingIn(path: string, maxReadBytes = MAX_READ_BYTES): OutboxWaiting | undefined {
  let db: BetterSqlite3.Database | undefined;
  try {
    if (!statSync(path).isFile()) return undefined;
    const Sqlite = loadSqliteDriver();
    if (existsSync(`${path}-wal`) && existsSync(`${path}-shm`)) {
      db = new Sqlite(path, { readonly: true, fileMustExist: true, timeout: 20 });
    } else {
      const size = statSync(path).size;
      if (size > maxReadBytes) return { events: undefined, bytes: size };
      const image = readWhole(path, maxReadBytes);
      if (image === undefined) return undefined;
      // Header bytes 18 and 19: 2 marks a WAL file, which SQLite cannot open in memory; 1 is the rollback journal.
      if (image[18] === 2 && image[19] === 2) image[18] = image[19] = 1;
      db = new Sqlite(image, { readonly: true });
    }
    const span = approximateWaiting(db);
    if (span === 0) return undefined;
    if (span > MAX_COUNTED) return { events: span, exact: false };
    const waiting = (db.prepare('SELECT COUNT(*) AS n FROM tracks_outbox').get() as { n: number }).n;
    return waiting > 0 ? { events: waiting, exact: true } : undefined;
  } catch {
    // A note the report can do without: a missing, locked or corrupt file says nothing.
    return undefined;
  } finally {
    try {
      db?.close();
    } catch {
      // closing a read-only connection has nothing to lose
    }
  }
}

/** The file's bytes, or undefined past the bound. */
function readWhole(path: string, maxReadBytes: number): Buffer | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = Math.min(fstatSync(fd).size, maxReadBytes + 1);
    if (size > maxReadBytes || size < 100) return undefined;
    const image = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, image, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return read === size ? image : undefined;
  } finally {
    closeSync(fd);
  }
}
