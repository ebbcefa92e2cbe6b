import { StoreError, storeErrorOf } from '../model/store-error.js';

/**
 * SQLSTATE classes that say the data itself is refused, so the same rows can never be
 * written: 22 data exception (a NUL byte, an invalid encoding, a number out of range), 23
 * integrity constraint violation, 54 program limit exceeded (a value too large for an index),
 * P0 PL/pgSQL errors (a trigger of the user's that refuses some rows with RAISE EXCEPTION or
 * ASSERT: the same rows fail again on every try; SQLite's RAISE(ABORT) is refused the same way).
 * Everything else (connection failures, shutdowns, timeouts, missing privileges or tables,
 * serialization failures) may be fixed by waiting or by an operator: transient, so events
 * wait or spill (one that repeats is narrowed down, and an event refused alone while the rest
 * is written is quarantined: see isRefusal in model/store-error.ts).
 */
const PERMANENT_CLASSES = new Set(['22', '23', '54', 'P0']);

/** SQLSTATEs saying the tracks tables or schema are gone: the store migrates again on the next write. */
export const MISSING_TABLES = new Set(['42P01', '3F000']);

/** A PostgreSQL failure as a StoreError that says whether trying again may work. */
export function postgresStoreError(what: string, error: unknown): StoreError {
  return storeErrorOf(what, error, (code) => code !== undefined && /^[0-9A-Z]{5}$/.test(code) && PERMANENT_CLASSES.has(code.slice(0, 2)));
}
