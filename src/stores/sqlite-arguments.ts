import { shown } from '../core/names.js';
import { TracksError } from '../errors.js';

/**
 * The arguments of a SQLite file's factory (`sqliteStore`, `sqliteOutbox`): a non-empty path,
 * then an options object or nothing. Checked before the path is resolved, which would throw
 * Node's own TypeError for a path that is not a string.
 */
export function checkFileArguments(fn: string, path: unknown, options: unknown, example: string): void {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new TracksError(`${fn}: the path is ${shown(path)}; give the SQLite file to use, e.g. ${example}`);
  }
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new TracksError(`${fn}: the options are ${shown(options)}; give an object, or leave them out`);
  }
}
