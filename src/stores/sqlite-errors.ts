import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError, storeErrorOf } from '../model/store-error.js';
import { codeOf } from '../errors.js';

/**
 * SQLite result codes that say the data itself is refused: retrying the same rows cannot
 * work. Everything else (busy, locked, I/O, a missing directory, a full disk, a read-only
 * file) may be fixed by waiting or by an operator, so it is transient: events wait or spill
 * (one that repeats is narrowed down, and an event refused alone while the rest is written is
 * quarantined: see isRefusal in model/store-error.ts).
 */
const PERMANENT = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/;

/** A SQLite failure as a StoreError that says whether trying again may work. */
export function sqliteStoreError(what: string, error: unknown): StoreError {
  return storeErrorOf(what, error, (code) => (code !== undefined && PERMANENT.test(code)) || isBindingError(error));
}

/**
 * Why SQLite cannot open or write a file that is there, to add to its bare "unable to open
 * database file" or "attempt to write a readonly database": the file or its directory cannot
 * be written (a writer needs the -wal and -shm files beside it; a reader that may not write
 * reads a copy, see ReadCopy). '' for other errors, and when both can be written.
 */
export function readOnlyHint(path: string, error: unknown): string {
  const sqliteCode = codeOf(error) ?? '';
  if (sqliteCode !== 'SQLITE_CANTOPEN' && !sqliteCode.startsWith('SQLITE_READONLY')) return '';
  for (const [what, target] of [['the file', path], ['its directory', dirname(path)]] as const) {
    try {
      accessSync(target, constants.W_OK);
    } catch (denied) {
      const code = codeOf(denied);
      if (code === 'EROFS') return ` (${what} is on a read-only file system: SQLite writes the file, and the -wal and -shm files beside it, to record or change anything; run as the store's owner)`;
      if (code === 'EACCES' || code === 'EPERM') return ` (${what} is read-only to this process: SQLite writes the file, and the -wal and -shm files beside it, to record or change anything; run as the store's owner)`;
    }
  }
  return '';
}

/**
 * A value better-sqlite3 cannot bind (a Date, an object, too many values): the data again. Its
 * other TypeErrors (a missing directory, a closed connection) are not about the data.
 */
function isBindingError(error: unknown): boolean {
  return (error instanceof TypeError || error instanceof RangeError) && /can only bind|parameter values|bind/i.test(error.message);
}
