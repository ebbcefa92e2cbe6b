import { shown } from '../text.js';
import { TracksError } from '../errors.js';
import { isObjectArgument, optionsError } from '../core/arguments.js';

/**
 * The arguments of a SQLite file's factory (`sqliteStore`, `sqliteOutbox`): a non-empty path,
 * then an options object or nothing. Checked before the path is resolved, which would throw
 * Node's own TypeError for a path that is not a string.
 */
export function checkFileArguments(fn: string, path: unknown, options: unknown, example: string, optionsExample: string): void {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new TracksError(`${fn}: the path is ${shown(path)}; give the SQLite file to use, e.g. ${example}`);
  }
  if (options !== undefined && !isObjectArgument(options)) throw optionsError(fn, options, optionsExample);
}
