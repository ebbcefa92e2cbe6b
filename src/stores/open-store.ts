import { shown } from '../text.js';
import { TracksError } from '../errors.js';
import type { Store } from '../model/store.js';
import { postgresStore } from './postgres-store.js';
import type { PgPool, PostgresStoreOptions } from './postgres-store.js';
import { sqliteStore } from './sqlite-store.js';

/**
 * Where events go: a SQLite file path, a `postgres://` URL, a `pg.Pool`, or a {@link Store}.
 *
 * @example
 * ```ts
 * const spec: StoreSpec = process.env.DATABASE_URL ?? 'tracks.db'; // a postgres:// URL, or a SQLite file
 * configure({ store: spec });
 * ```
 */
export type StoreSpec = string | Store | PgPool;

/**
 * The store a spec names: a `postgres://` or `postgresql://` URL or a `pg.Pool` is PostgreSQL,
 * any other string a SQLite file path; a Store is used as it is. Nothing connects, and nothing
 * is created, until the store is first used: reads create nothing, the first write creates
 * the tables.
 *
 * @example
 * ```ts
 * const store = storeFrom(process.env.TRACKS_STORE ?? 'tracks.db');
 * const sums = await store.summarize();
 * ```
 */
export function storeFrom(spec: StoreSpec, options: PostgresStoreOptions = {}): Store {
  if (typeof spec === 'string') {
    if (spec.trim() === '') throw new TracksError("store is empty; give a SQLite file path ('tracks.db') or a postgres:// URL");
    if (isPostgresUrl(spec)) return postgresStore(spec, options);
    const path = sqlitePathOf(spec);
    if (path.trim() === '') throw new TracksError("store is 'sqlite:' with no path; give the SQLite file's path, e.g. store: 'tracks.db'");
    notAPath(path);
    return sqliteStore(path);
  }
  if (typeof spec !== 'object' || spec === null) {
    throw new TracksError(`store is ${shown(spec)}; give a SQLite file path, a postgres:// URL, a pg.Pool, memoryStore() or callbackStore(fn)`);
  }
  if (isStore(spec)) {
    // A store of your own: what recording calls, said at once rather than as a TypeError mid-write.
    const missing = REQUIRED_STORE_METHODS.filter((name) => typeof (spec as unknown as Record<string, unknown>)[name] !== 'function');
    if (typeof spec.description !== 'string' || missing.length > 0) {
      const needs = [...(typeof spec.description === 'string' ? [] : ['a description (a string naming it in messages)']), ...missing.map((name) => `${name}()`)];
      throw new TracksError(`store: a custom Store needs ${needs.join(', ')}; see the Store interface, or wrap your function in callbackStore(fn)`);
    }
    return spec;
  }
  if (isPool(spec)) return postgresStore(spec, options);
  throw new TracksError(`store is ${shown(spec)}; give a SQLite file path, a postgres:// URL, a pg.Pool, memoryStore() or callbackStore(fn)`);
}

/**
 * Refuses a string that is meant as something other than a SQLite path. Any string not a
 * PostgreSQL URL used to be opened as a path relative to the working directory, so
 * `store: process.env.DATABASE_URL` holding `mysql://app@db/app` recorded into a directory
 * named `mysql:` beside the application, `sqlite://tracks.db` into a directory `sqlite:`,
 * and `:memory:` into a file named `:memory:`, with no error.
 * The URL itself is not repeated: it may hold a password.
 */
function notAPath(spec: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(spec)?.[1]?.toLowerCase();
  if (spec.trim() === ':memory:') {
    throw new TracksError("store ':memory:' would be a file named ':memory:' (each SQLite worker has its own memory); use store: memoryStore() to record in memory");
  }
  if (scheme === undefined || scheme.length < 2) return; // a plain path (or a Windows drive, C:)
  if (scheme === 'sqlite' || scheme === 'file') {
    // A URL form (sqlite://, file:///...): its slashes mean different paths in different tools.
    throw new TracksError(`store starts with '${spec.slice(0, scheme.length + 3)}'; give the SQLite file's path alone (or as sqlite:<path>), e.g. store: 'tracks.db' or '/var/lib/app/tracks.db'`);
  }
  if (spec.slice(scheme.length + 1).startsWith('//')) {
    throw new TracksError(
      `store is a ${scheme}:// URL, which tracks cannot record to; give a postgres:// (or postgresql://) URL, a SQLite file path ('tracks.db'), a pg.Pool, or callbackStore(fn) for your own pipeline`,
    );
  }
}

/**
 * The SQLite path a store string names: the string itself, or what follows `sqlite:`, which is
 * how a SQLite store describes itself (the report's `store`, the dashboard's address line), so
 * that what tracks prints it takes back. (`sqlite://`, a URL form, is left for notAPath to refuse.)
 */
export function sqlitePathOf(spec: string): string {
  return /^sqlite:(?!\/\/)/i.test(spec) ? spec.slice('sqlite:'.length) : spec;
}

/** Whether a store spec string is a PostgreSQL URL (else it is a SQLite path). */
export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/** The methods of Store that are not optional. */
const REQUIRED_STORE_METHODS = ['write', 'readControls', 'writeControl', 'readAssignments', 'summarize', 'close'] as const;

function isStore(value: object): value is Store {
  const v = value as Partial<Store>;
  return typeof v.write === 'function' && typeof v.summarize === 'function' && typeof v.readControls === 'function';
}

function isPool(value: object): value is PgPool {
  const v = value as Partial<PgPool>;
  return typeof v.query === 'function' && typeof v.connect === 'function';
}
