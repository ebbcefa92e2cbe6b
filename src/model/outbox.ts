/**
 * The outbox: a local, durable queue for events the store could not take in time (an outage,
 * a slow or hung store, a shutdown during one), and the quarantine for events no store will
 * take. Recording uses this contract; the stores layer implements it (a SQLite file written
 * off the main thread), and the application's configuration connects the two.
 */
import type { RecordedEvent } from './events.js';
import type { CallOptions } from './store.js';

/**
 * Events read back from the outbox, oldest first, with the id to pass to `remove` once they are written.
 *
 * @example
 * ```ts
 * const batch: OutboxBatch | undefined = await outbox.peek(1_000);
 * if (batch !== undefined) {
 *   await store.write(batch.events);
 *   await outbox.remove(batch.upTo);
 * }
 * ```
 */
export interface OutboxBatch {
  readonly events: RecordedEvent[];
  /** The id of the last row read: `remove(upTo)` deletes every row up to it. */
  readonly upTo: number;
}

/**
 * One event no store will take, with the reason.
 *
 * @example
 * ```ts
 * const refused: QuarantinedEvent = { event, error: 'value is NaN', at: Date.now() };
 * await outbox.quarantine([refused]);
 * ```
 */
export interface QuarantinedEvent {
  /** The event as it was recorded (or the text read back from the outbox, when it no longer parses). */
  readonly event: unknown;
  /** Why the store refused it. */
  readonly error: string;
  /** When it was quarantined, epoch ms. */
  readonly at: number;
}

/**
 * How full the outbox is.
 *
 * @example
 * ```ts
 * const counts: OutboxCounts = await outbox.counts();
 * if (counts.quarantined > 0) log.warn(counts, 'events in the tracks quarantine');
 * ```
 */
export interface OutboxCounts {
  /** Events waiting to be written. */
  readonly waiting: number;
  /** Events set aside in quarantine. */
  readonly quarantined: number;
}

/**
 * A durable local queue of events, and the quarantine.
 *
 * @example
 * ```ts
 * const outbox: Outbox = sqliteOutbox('/var/lib/app/tracks.outbox');
 * const { waiting, quarantined } = await outbox.counts();
 * await outbox.close();
 * ```
 */
export interface Outbox {
  /** Where it lives, e.g. `/var/lib/app/tracks.db.outbox`, for messages. */
  readonly path: string;
  /**
   * Gets ready to take events (opens or creates the file, starts its thread), so the first
   * spill of an outage is quick. Recording calls it when the store first fails.
   */
  open(options?: CallOptions): Promise<void>;
  /** Stores events durably (they survive SIGKILL once this resolves); rejects when it cannot, or when it is full. */
  spill(events: readonly RecordedEvent[], options?: CallOptions): Promise<void>;
  /**
   * Stores events durably, blocking the thread for at most `waitMs` (another process's lock):
   * for the last moment of a process (its `exit` event), when nothing asynchronous runs any more.
   */
  spillNow(events: readonly RecordedEvent[], waitMs: number): void;
  /**
   * The oldest events, up to `limit`. Rows that no longer read as a storable event (written by
   * an older version, or damaged) are moved to the quarantine on the way, and counted in
   * `quarantinedNow`.
   */
  peek(limit: number, options?: CallOptions): Promise<(OutboxBatch & { readonly quarantinedNow: number }) | undefined>;
  /**
   * Deletes rows up to and including `upTo`, once the store holds them. Resolves to how many
   * rows it deleted: fewer than were read when another process sharing the outbox removed
   * them first (that process counts them as drained). Resolving nothing (the outbox cannot
   * tell: its file was replaced) counts them all.
   */
  remove(upTo: number, options?: CallOptions): Promise<number | undefined | void>;
  /** Sets events aside in the quarantine table, with the store's reason. */
  quarantine(events: readonly QuarantinedEvent[], options?: CallOptions): Promise<void>;
  /** How many events wait and how many are quarantined. */
  counts(options?: CallOptions): Promise<OutboxCounts>;
  close(): Promise<void>;
}
