import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { RecordedEvent } from '../stores/store.js';

/**
 * A local SQLite file that holds events the store could not take in time (an outage longer
 * than the in-memory bound, or a shutdown during one). They drain back into the store when
 * it returns, oldest first; several processes may share one outbox file.
 */
export class Outbox {
  readonly path: string;
  #db: BetterSqlite3.Database | undefined;
  #insert: BetterSqlite3.Transaction<(events: readonly RecordedEvent[]) => void> | undefined;
  /** Whether the file may hold events: checked once at open, then kept up to date. */
  #mayHoldEvents = true;

  constructor(path: string) {
    this.path = path;
  }

  #open(): BetterSqlite3.Database {
    if (this.#db) return this.#db;
    mkdirSync(dirname(this.path), { recursive: true });
    const require = createRequire(import.meta.url);
    const Sqlite = require('better-sqlite3') as typeof BetterSqlite3;
    const db = new Sqlite(this.path, { timeout: 30_000 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec('CREATE TABLE IF NOT EXISTS tracks_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)');
      const insert = db.prepare('INSERT INTO tracks_outbox (event) VALUES (?)');
      this.#insert = db.transaction((events: readonly RecordedEvent[]) => {
        for (const e of events) insert.run(JSON.stringify(e));
      });
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    return db;
  }

  /** Stores events durably; throws when the file cannot be written. */
  spill(events: readonly RecordedEvent[]): void {
    if (events.length === 0) return;
    this.#open();
    this.#insert!.immediate(events);
    this.#mayHoldEvents = true;
  }

  /** The oldest events, up to `limit`, with the id to pass to {@link remove} once written. */
  peek(limit: number): { events: RecordedEvent[]; upTo: number } | undefined {
    if (!this.#mayHoldEvents) return undefined;
    const rows = this.#open().prepare('SELECT id, event FROM tracks_outbox ORDER BY id LIMIT ?').all(limit) as Array<{ id: number; event: string }>;
    if (rows.length === 0) {
      this.#mayHoldEvents = false;
      return undefined;
    }
    return { events: rows.map((r) => JSON.parse(r.event) as RecordedEvent), upTo: rows[rows.length - 1]!.id };
  }

  /**
   * Removes the events up to and including `upTo`, once the store holds them. Ids only grow,
   * so every row up to `upTo` was in the batch peeked (or another process's, also written).
   */
  remove(upTo: number): void {
    this.#open().prepare('DELETE FROM tracks_outbox WHERE id <= ?').run(upTo);
  }

  /** How many events wait in the file. */
  count(): number {
    return (this.#open().prepare('SELECT COUNT(*) AS n FROM tracks_outbox').get() as { n: number }).n;
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }
}
