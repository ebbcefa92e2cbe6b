/**
 * The one error type of every store, and the one fact recording needs about a failure:
 * whether trying again may work. A transient failure (the server is unreachable, restarting,
 * busy or silent; a file is locked; a call timed out) is retried and, past the bounds,
 * spilled to the outbox. A permanent one (the batch holds something this store cannot take)
 * is narrowed down to the events that cause it, which are quarantined, so one bad event never
 * blocks the others.
 */

import { codeOf, messageOf } from '../errors.js';

/**
 * Codes tracks itself gives a StoreError. Drivers' own codes (`ECONNRESET`, `SQLITE_BUSY`, `22021`) pass through.
 *
 * @example
 * ```ts
 * try {
 *   await store.summarize();
 * } catch (error) {
 *   const noData: TracksStoreErrorCode = 'TRACKS_NO_DATA';
 *   if (error instanceof StoreError && error.code === noData) console.log('nothing recorded yet');
 * }
 * ```
 */
export type TracksStoreErrorCode =
  | 'TRACKS_TIMEOUT'
  | 'TRACKS_NO_DATA'
  | 'TRACKS_SCHEMA'
  | 'TRACKS_BAD_EVENT'
  | 'TRACKS_CLOSED'
  | 'TRACKS_FILE_REPLACED'
  /** Not a failed call: this process's clock and the store server's differ by seconds (reported, never thrown). */
  | 'TRACKS_CLOCK_SKEW';

/**
 * What {@link StoreError} takes besides its message.
 *
 * @example
 * ```ts
 * const options: StoreErrorOptions = { transient: true, code: 'ECONNREFUSED', cause: error };
 * throw new StoreError('events API: connection refused', options);
 * ```
 */
export interface StoreErrorOptions {
  /** Whether trying the same call again may work. */
  readonly transient: boolean;
  /** The driver's code, or one of {@link TracksStoreErrorCode}. */
  readonly code?: string | undefined;
  readonly cause?: unknown;
}

/**
 * A store call that failed, saying whether trying again may work.
 *
 * @example
 * ```ts
 * try {
 *   await store.write(events);
 * } catch (error) {
 *   if (error instanceof StoreError && error.transient) retryLater(events);
 * }
 * ```
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  /** Whether trying again may work (unreachable, busy, timed out) or not (the batch holds an event the store refuses). */
  readonly transient: boolean;
  /** The driver's code (`ECONNREFUSED`, `SQLITE_BUSY`, a PostgreSQL SQLSTATE) or a `TRACKS_` code. */
  readonly code: string | undefined;

  constructor(message: string, options: StoreErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.transient = options.transient;
    this.code = options.code;
  }
}

/**
 * A driver's failure as the StoreError every store throws: the message says what was being
 * done, `permanent` (the store's own rule, from the driver's code) says whether retrying the
 * same events can never work. A StoreError passes as it is.
 *
 * @example
 * ```ts
 * storeErrorOf('writing to the SQLite store tracks.db', error, (code) => code === 'SQLITE_CONSTRAINT');
 * ```
 */
export function storeErrorOf(what: string, error: unknown, permanent: (code: string | undefined, error: unknown) => boolean): StoreError {
  if (error instanceof StoreError) return error;
  const code = codeOf(error);
  return new StoreError(`tracks: ${what}: ${messageOf(error)}`, { transient: !permanent(code, error), ...(code === undefined ? {} : { code }), cause: error });
}

/**
 * Whether a failure may go away by itself. A StoreError says so; any other error (a callback
 * store's, say) counts as transient unless it carries `transient: false`, so a pipeline that
 * is down is retried rather than quarantined.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof StoreError) return error.transient;
  return (error as { transient?: unknown } | null)?.transient !== false;
}

/**
 * Codes of failures that waiting fixes, whatever the events: a lost or refused connection,
 * a timeout, a lock or busy file, a deadlock or serialization failure, a shutdown or failover,
 * missing resources, a file or schema being replaced. PostgreSQL SQLSTATE classes 08
 * (connection), 25 (a read-only transaction: a failover), 40 (rollback: deadlock,
 * serialization), 53 (resources), 57 (shutdown, cancel: a statement timeout), 58 (I/O), and
 * the codes 55P03 (lock not available), 42P01 and 3F000 (tables or schema gone: migrated again).
 */
const WAITING_FIXES = /^(E[A-Z]|TRACKS_|SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOMEM|INTERRUPT|CORRUPT|NOTADB)|(08|25|40|53|57|58)[0-9A-Z]{3}$|55P03$|42P01$|3F000$)/;

/**
 * Whether a transient failure may be the store refusing something in the batch rather than
 * failing to take writes at all: the store answered with an error that is none of the kinds
 * waiting fixes (an internal error raised by a trigger, a row-level security refusal, a
 * callback store's own error). Recording retries such a failure like any transient one; when
 * it repeats, it narrows the batch down, and sets an event aside only when the events beside
 * it are written, so a store that refuses every write is waited for, never emptied into the
 * quarantine.
 *
 * @example
 * ```ts
 * isRefusal(new StoreError('bad row', { transient: true, code: 'XX000' })); // true
 * isRefusal(new StoreError('reset', { transient: true, code: 'ECONNRESET' })); // false
 * ```
 */
export function isRefusal(error: unknown): boolean {
  if (!isTransient(error)) return false;
  const code = codeOf(error);
  // A store's own error without a code lost its connection (the PostgreSQL driver's
  // "Connection terminated"): an answer carries a SQLSTATE or a SQLite code. A callback's error
  // without one is the pipeline's own answer.
  if (code === undefined) return !(error instanceof StoreError);
  return !WAITING_FIXES.test(code);
}
