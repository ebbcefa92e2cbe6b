import { escapeControl } from '../text.js';
import { isPostgresUrl, sqlitePathOf } from '../stores/open-store.js';
import { eventsWaitingIn } from '../stores/outbox-waiting.js';
import { StoreError } from '../model/store-error.js';
import { UsageError } from './command.js';

/**
 * What a read of a SQLite store cannot see: events waiting in the outbox beside it
 * (`tracks.db.outbox`), left by a process that could not write them in time (it exited with
 * `process.exit()`, or the store was locked). They reach the store only when a process records
 * to it again, so a report without this note says a set is unknown, or short of users, with no
 * hint why. Only the default place beside the store is looked at: an outbox configured
 * elsewhere, or a PostgreSQL store's in the service's state directory, is the service's to know.
 * Undefined when that file holds no events, or cannot be read at once.
 *
 * @example
 * ```ts
 * outboxNote('nc.db'); // "1,003 events wait in the outbox nc.db.outbox: they are written to ..."
 * ```
 */
export function outboxNote(spec: string | undefined): string | undefined {
  if (spec === undefined || spec === '' || isPostgresUrl(spec)) return undefined;
  const path = `${sqlitePathOf(spec)}.outbox`;
  const waiting = eventsWaitingIn(path);
  if (waiting === undefined) return undefined;
  const then = `they are written to it when a process records to it again (configure({ store: '${escapeControl(sqlitePathOf(spec))}' }))`;
  if (waiting.events === undefined) {
    const mb = Math.round(waiting.bytes / 1_048_576);
    return `the outbox ${escapeControl(path)} (${mb} MB, too large to count here without opening it for writing) may hold events not yet in the store: ${then}`;
  }
  const n = waiting.events;
  return `${waiting.exact ? '' : 'about '}${n.toLocaleString('en-US')} event${n === 1 ? '' : 's'} wait${n === 1 ? 's' : ''} in the outbox ${escapeControl(path)}, not yet in the store: ${then}`;
}

/**
 * `error` with the outbox's note added, when it says the store lacks what was asked (no store
 * file yet, no tracks data, an unknown set): the events may be waiting in the outbox. Other
 * errors, and stores whose outbox holds nothing, are returned as they are.
 */
export function withOutboxNote(error: unknown, spec: string | undefined): unknown {
  const missing = error instanceof UsageError || (error instanceof StoreError && error.code === 'TRACKS_NO_DATA');
  if (!missing) return error;
  const note = outboxNote(spec);
  return note === undefined ? error : new UsageError(`${error.message.replace(/^tracks: /, '')}; ${note}`);
}
