import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RecordedEvent } from '../model/events.js';
import type { Outbox, OutboxBatch, OutboxCounts, QuarantinedEvent } from '../model/outbox.js';
import type { CallOptions } from '../model/store.js';
import { OutboxDatabase } from './outbox-database.js';
import type { OutboxDatabaseOptions } from './outbox-database.js';
import { WorkerClient } from './worker-client.js';
import { packEvents } from './packed-events.js';
import { assertSqliteDriver } from './sqlite-driver.js';
import { checkFileArguments } from './sqlite-arguments.js';

/**
 * The outbox as a local SQLite file, written on a worker thread. It holds events the store
 * could not take in time and the quarantine (table `tracks_quarantine`: the event as JSON,
 * the store's reason, and when). Inspect it with any SQLite client:
 *
 * @example
 * ```ts
 * const outbox = sqliteOutbox('/var/lib/app/tracks.outbox');
 * configure({ store: process.env.DATABASE_URL, outbox: '/var/lib/app/tracks.outbox' }); // the usual way
 * // sqlite3 /var/lib/app/tracks.outbox 'SELECT error, event FROM tracks_quarantine'
 * ```
 */
export function sqliteOutbox(path: string, options: OutboxDatabaseOptions = {}): Outbox {
  return new SqliteOutbox(path, options);
}

class SqliteOutbox implements Outbox {
  readonly path: string;
  readonly #options: OutboxDatabaseOptions;
  readonly #worker: WorkerClient;
  /** Whether this process has used the file (so it exists, or another process made it). */
  #used = false;

  constructor(path: string, options: OutboxDatabaseOptions) {
    checkFileArguments('sqliteOutbox', path, options, "sqliteOutbox('tracks.outbox')", '{ maxEvents: 1000000 }');
    this.path = resolve(path);
    assertSqliteDriver(`the outbox ${this.path}`, 'or configure({ outbox: false }) to go without one (events past the memory bound are then dropped while the store is down)');
    this.#options = options;
    this.#worker = new WorkerClient({ role: 'outbox', path: this.path, options: { ...options } });
  }

  open(options?: CallOptions): Promise<void> {
    this.#used = true;
    return this.#worker.call('open', [], options);
  }

  spill(events: readonly RecordedEvent[], options?: CallOptions): Promise<void> {
    this.#used = true;
    return this.#worker.call('spill', [packEvents(events)], options);
  }

  spillNow(events: readonly RecordedEvent[], waitMs: number): void {
    // The process is exiting: its own connection, on this thread, for one transaction.
    const db = new OutboxDatabase(this.path, this.#options);
    try {
      db.spill(events, Date.now() + waitMs);
    } finally {
      db.close();
    }
  }

  async peek(limit: number, options?: CallOptions): Promise<(OutboxBatch & { quarantinedNow: number }) | undefined> {
    // Nothing was ever spilled here: no file to read, and no thread to start for it.
    if (!this.#used && !existsSync(this.path)) return undefined;
    this.#used = true;
    return this.#worker.call('peek', [limit], options);
  }

  remove(upTo: number, options?: CallOptions): Promise<number | undefined> {
    return this.#worker.call('remove', [upTo], options);
  }

  quarantine(events: readonly QuarantinedEvent[], options?: CallOptions): Promise<void> {
    return this.#worker.call('quarantine', [events], options);
  }

  async counts(options?: CallOptions): Promise<OutboxCounts> {
    if (!this.#used && !existsSync(this.path)) return { waiting: 0, quarantined: 0 };
    this.#used = true;
    return this.#worker.call('counts', [], options);
  }

  close(): Promise<void> {
    return this.#worker.close();
  }
}
