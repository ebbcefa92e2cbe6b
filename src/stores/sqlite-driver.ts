import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { TracksError, messageOf } from '../errors.js';

/**
 * better-sqlite3, the SQLite driver of the SQLite store and of the outbox, is an optional peer
 * dependency (as kysely and knex take their drivers): it builds a native module at install, and
 * npm asks each project to approve such a script itself (`allowScripts`), so a dependency of
 * tracks would warn on every `npm install tracks`, and not run at all where scripts are off.
 * Installed by the application, it is the application's own choice, approved once.
 */
const HOW_TO_INSTALL =
  'npm install better-sqlite3 (npm 11.16 or later: also npm install-scripts approve better-sqlite3, whose install script builds its native module)';

/**
 * Why the SQLite driver cannot be loaded, or undefined when it can. `resolve` is
 * `require.resolve` from this module (a parameter for tests).
 *
 * @example
 * ```ts
 * sqliteDriverProblem(); // undefined when better-sqlite3 is installed
 * ```
 */
export function sqliteDriverProblem(resolve: (id: string) => string = createRequire(import.meta.url).resolve): string | undefined {
  try {
    resolve('better-sqlite3');
    return undefined;
  } catch {
    return `better-sqlite3 is not installed; ${HOW_TO_INSTALL}`;
  }
}

/**
 * Throws a TracksError naming `what` (the SQLite store or the outbox) and the fix when the
 * driver is not installed: at `configure()` or `sqliteStore()`, not at the first write on a
 * worker thread, where it would be one more failed write.
 */
export function assertSqliteDriver(what: string, alternative: string, resolve?: (id: string) => string): void {
  const problem = sqliteDriverProblem(resolve);
  if (problem !== undefined) throw new TracksError(`${what} needs the SQLite driver, and ${problem}; ${alternative}`);
}

/** The driver's Database class (loaded on first use, on the thread that uses it). */
export function loadSqliteDriver(): typeof BetterSqlite3 {
  return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
}

/**
 * A hint for a driver that is installed but cannot load its native module (its install script
 * did not run, or ran for another Node version), to add to the error; '' for other errors.
 */
export function nativeModuleHint(error: unknown): string {
  const message = messageOf(error);
  if (!/bindings file|better_sqlite3\.node|NODE_MODULE_VERSION|was compiled against a different Node/i.test(message)) return '';
  return ` (better-sqlite3's native module did not load: its install script must run for this Node version; ${HOW_TO_INSTALL}, then npm rebuild better-sqlite3)`;
}
