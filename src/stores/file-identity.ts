/**
 * Which file an open SQLite connection writes to. A connection keeps its file open by handle:
 * when the file (or its directory) is removed or replaced at the path, SQLite goes on writing
 * into the unlinked file without an error, and whatever it writes is gone with it. Both the
 * store and the outbox compare the file at the path with the one they opened before and after
 * each write, so such a write is reported and never counted.
 */
import { statSync } from 'node:fs';
import { StoreError } from '../model/store-error.js';

/** The code of the error thrown when the file at the path is no longer the one opened. */
export const FILE_REPLACED = 'TRACKS_FILE_REPLACED';

export class FileIdentity {
  readonly #path: string;
  readonly #dev: number;
  readonly #ino: number;

  /** The file now at `path` (which must exist: call it right after opening). */
  constructor(path: string) {
    this.#path = path;
    const stat = statSync(path);
    this.#dev = stat.dev;
    this.#ino = stat.ino;
  }

  /** 'removed' or 'replaced' when the file at the path is not the one this identity was taken of; undefined when it is. */
  change(): 'removed' | 'replaced' | undefined {
    let stat: { dev: number; ino: number };
    try {
      stat = statSync(this.#path);
    } catch {
      return 'removed';
    }
    return stat.dev === this.#dev && stat.ino === this.#ino ? undefined : 'replaced';
  }

  /**
   * Throws a transient StoreError (code {@link FILE_REPLACED}) when the file at the path is not
   * the one opened: `what` names the file ("the SQLite store /x.db"), `consequence` says what
   * becomes of the data.
   */
  check(what: string, consequence: string): void {
    const change = this.change();
    if (change === undefined) return;
    throw new StoreError(`tracks: ${what} was ${change} while open; ${consequence}`, { transient: true, code: FILE_REPLACED });
  }
}
