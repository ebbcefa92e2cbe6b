import { accessSync, constants, copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/**
 * A private copy of a SQLite store, for reading it where reading it in place would leave files
 * beside it. SQLite reads a database in WAL mode through a shared-memory file (`-shm`) beside
 * it, which a reader creates when no writer has: in a folder this process may not write (a
 * read-only mount, a service's folder) it cannot, and the read fails; in one it may, it leaves
 * `-shm` and `-wal` files it cannot remove from a store it may not write, and which the store's
 * owner then cannot write either (its service fails until they are deleted). Where that would
 * happen, and no writer has the store open (no `-wal` beside it: the file alone holds
 * everything), reads go to a copy in the temporary folder instead, made again when the store
 * changes (a writer starts: then it is read in place, through the writer's files).
 *
 * @example
 * ```ts
 * const copy = ReadCopy.neededFor('/srv/shop/tracks.db') ? ReadCopy.of('/srv/shop/tracks.db') : undefined;
 * open(copy?.path ?? '/srv/shop/tracks.db');
 * copy?.remove(); // when done
 * ```
 */
export class ReadCopy {
  /** The copy's path, in a folder of its own. */
  readonly path: string;
  readonly #source: string;
  readonly #copied: Stats;

  private constructor(source: string) {
    this.#source = source;
    const folder = mkdtempSync(join(tmpdir(), 'tracks-read-'));
    this.path = join(folder, basename(source));
    try {
      this.#copied = statSync(source);
      copyFileSync(source, this.path);
    } catch (error) {
      rmSync(folder, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * Whether reading `path` in place would create files beside it that this process may not
   * create or remove: it exists, no writer has it open, and the file or its folder is read-only
   * to this process.
   */
  static neededFor(path: string): boolean {
    if (!exists(path) || exists(`${path}-wal`)) return false;
    return !writable(path) || !writable(dirname(path));
  }

  /** Copies `path` (a file in WAL mode with no log beside it is whole on its own). */
  static of(path: string): ReadCopy {
    return new ReadCopy(path);
  }

  /** Whether the store changed since it was copied (written, replaced, or a writer opened it). */
  stale(): boolean {
    if (exists(`${this.#source}-wal`)) return true;
    try {
      const now = statSync(this.#source);
      return now.ino !== this.#copied.ino || now.size !== this.#copied.size || now.mtimeMs !== this.#copied.mtimeMs;
    } catch {
      return true;
    }
  }

  /** Deletes the copy and its folder. */
  remove(): void {
    rmSync(dirname(this.path), { recursive: true, force: true, maxRetries: 3 });
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
