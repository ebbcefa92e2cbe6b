import { accessSync, chmodSync, constants, copyFileSync, existsSync as exists, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { messageOf } from '../errors.js';
import { loadSqliteDriver } from './sqlite-driver.js';

/**
 * A private copy of a SQLite store, for reading it where reading it in place would leave files
 * beside it. SQLite reads a database in WAL mode through a shared-memory file (`-shm`) beside
 * it, which a reader creates when no writer has: in a folder this process may not write (a
 * read-only mount, a service's folder) it cannot, and the read fails; in one it may, it leaves
 * `-shm` and `-wal` files it cannot remove from a store it may not write, and which the store's
 * owner then cannot write either (its service fails until they are deleted). Where that would
 * happen, and no writer has the store open (not both `-wal` and `-shm` beside it), reads go to a copy in the
 * temporary folder instead: the file and its log (a backup's `-wal`), folded into one file in
 * rollback-journal mode, which a read-only connection reads with no file beside it. The copy is
 * deleted as soon as the reader has opened it (the open connection keeps reading it), so
 * nothing is left behind whatever ends the process; it is made again when the store changes.
 *
 * @example
 * ```ts
 * const copy = ReadCopy.neededFor(path) ? ReadCopy.of(path) : undefined;
 * const db = new Database(copy?.path ?? path, { readonly: true });
 * db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get(); // opened for real
 * copy?.remove();
 * ```
 */
export class ReadCopy {
  /** The copy's path, in a folder of its own. */
  readonly path: string;
  readonly #source: string;
  readonly #copied: Snapshot;

  private constructor(source: string) {
    this.#source = source;
    this.#copied = snapshot(source);
    const folder = mkdtempSync(join(tmpdir(), 'tracks-read-'));
    this.path = join(folder, basename(source));
    try {
      copyFileSync(source, this.path);
      if (this.#copied.log !== undefined) copyFileSync(`${source}-wal`, `${this.path}-wal`);
      // Copies keep the store's mode (0444, say): this process's own, to fold the log in.
      chmodSync(this.path, 0o600);
      if (this.#copied.log !== undefined) chmodSync(`${this.path}-wal`, 0o600);
      // One file in rollback-journal mode: the log checkpointed into it, and nothing a
      // read-only connection must create beside it.
      const db = new (loadSqliteDriver())(this.path, { fileMustExist: true });
      try {
        db.pragma('journal_mode = DELETE');
      } finally {
        db.close();
      }
    } catch (error) {
      rmSync(folder, { recursive: true, force: true });
      const mb = Math.ceil((this.#copied.file.size + (this.#copied.log?.size ?? 0)) / 1e6);
      throw new Error(
        `cannot copy it (${mb} MB) into ${tmpdir()} to read it, as this process may not write the store or its folder (SQLite would leave files beside it): ${messageOf(error)}; ` +
          'free space there or set TMPDIR to a folder with room, or read it as its owner',
        { cause: error },
      );
    }
  }

  /**
   * Whether reading `path` in place would create files beside it that this process may not
   * create or remove: it exists, no writer has it open (see writerFiles), and the file or its
   * folder is read-only to this process.
   */
  static neededFor(path: string): boolean {
    if (!exists(path) || writerFiles(path)) return false;
    return !writable(path) || !writable(dirname(path));
  }

  /** Copies `path`, with its log if it has one. */
  static of(path: string): ReadCopy {
    return new ReadCopy(path);
  }

  /** Whether the store changed since it was copied (written, replaced, or opened by a writer). */
  stale(): boolean {
    if (writerFiles(this.#source)) return true;
    try {
      const now = snapshot(this.#source);
      return !sameFile(now.file, this.#copied.file) || (now.log === undefined) !== (this.#copied.log === undefined) || (now.log !== undefined && !sameFile(now.log, this.#copied.log!));
    } catch {
      return true;
    }
  }

  /** Deletes the copy and its folder (a connection that has it open goes on reading it). */
  remove(): void {
    rmSync(dirname(this.path), { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Whether a writer has the store open (or crashed with it open): its log and shared memory are
 * both beside it, and a reader reads through them. A `-shm` alone is left by a writer ended
 * between deleting its log and its shared memory, a `-wal` alone by a snapshot: no writer.
 */
function writerFiles(path: string): boolean {
  return exists(`${path}-wal`) && exists(`${path}-shm`);
}

interface Snapshot {
  readonly file: Stats;
  readonly log: Stats | undefined;
}

function snapshot(path: string): Snapshot {
  const file = statSync(path);
  let log: Stats | undefined;
  try {
    log = statSync(`${path}-wal`);
  } catch {
    log = undefined;
  }
  return { file, log };
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
