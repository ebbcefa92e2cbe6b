/**
 * The outbox file: events waiting for the store, and the quarantine of events no store takes.
 * One SQLite file (WAL), which several processes may share. It runs on the outbox's worker
 * thread, except for the last spill of a process that is exiting (see `Outbox.spillNow`).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { loadSqliteDriver, nativeModuleHint } from './sqlite-driver.js';
import { eventProblem } from '../model/check-event.js';
import type { RecordedEvent } from '../model/events.js';
import type { OutboxBatch, OutboxCounts, QuarantinedEvent } from '../model/outbox.js';
import { StoreError } from '../model/store-error.js';
import { sqliteStoreError, untilDeadline } from './sqlite-errors.js';
import { abandoned, always } from './request-state.js';

/** The outbox's options, as numbers (they cross to the worker thread). */
export interface OutboxDatabaseOptions {
  /** Most events waiting in the file; a spill past it is refused (default 5,000,000). */
  readonly maxEvents?: number;
}

type Database = BetterSqlite3.Database;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS tracks_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS tracks_quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    error TEXT NOT NULL,
    at INTEGER NOT NULL
  );`;

/** The outbox file; see the module comment. */
export class OutboxDatabase {
  readonly #path: string;
  readonly #maxEvents: number;
  #db: Database | undefined;

  constructor(path: string, options: OutboxDatabaseOptions = {}) {
    this.#path = path;
    this.#maxEvents = options.maxEvents ?? 5_000_000;
  }

  open(deadline: number): void {
    this.#open(deadline);
  }

  /** Adds `events` in one transaction; commits only if `mayCommit()` says the caller still waits (see RequestState). */
  spill(events: readonly RecordedEvent[], deadline: number, mayCommit: () => boolean = always): void {
    if (events.length === 0) return;
    const db = this.#open(deadline);
    this.#run('spill to', deadline, () => {
      db.transaction(() => {
        const waiting = approximateWaiting(db);
        if (waiting + events.length > this.#maxEvents) {
          throw new StoreError(
            `tracks: the outbox ${this.#path} is full (${waiting} events wait, at most ${this.#maxEvents}); the store has been unreachable or slow for long`,
            { transient: true, code: 'TRACKS_OUTBOX_FULL' },
          );
        }
        const insert = db.prepare('INSERT INTO tracks_outbox (event) VALUES (?)');
        for (const event of events) insert.run(JSON.stringify(event));
        if (!mayCommit()) throw abandoned(this.#path);
      }).immediate();
    });
  }

  peek(limit: number, deadline: number): (OutboxBatch & { quarantinedNow: number }) | undefined {
    const db = this.#open(deadline);
    const rows = this.#run('read', deadline, () =>
      db.prepare('SELECT id, event FROM tracks_outbox ORDER BY id LIMIT ?').all(limit),
    ) as Array<{ id: number; event: string }>;
    if (rows.length === 0) return undefined;
    const events: RecordedEvent[] = [];
    const unreadable: Array<{ id: number; text: string; error: string }> = [];
    for (const row of rows) {
      const parsed = parseEvent(row.event);
      if (typeof parsed === 'string') unreadable.push({ id: row.id, text: row.event, error: parsed });
      else events.push(parsed);
    }
    if (unreadable.length > 0) {
      // Set aside now, so a row no version can read never blocks the rows behind it.
      this.#run('quarantine in', deadline, () => {
        db.transaction(() => {
          const move = db.prepare('INSERT INTO tracks_quarantine (event, error, at) VALUES (?, ?, ?)');
          const remove = db.prepare('DELETE FROM tracks_outbox WHERE id = ?');
          for (const row of unreadable) {
            move.run(row.text, row.error, Date.now());
            remove.run(row.id);
          }
        }).immediate();
      });
    }
    return { events, upTo: rows[rows.length - 1]!.id, quarantinedNow: unreadable.length };
  }

  remove(upTo: number, deadline: number): void {
    const db = this.#open(deadline);
    this.#run('remove from', deadline, () => db.prepare('DELETE FROM tracks_outbox WHERE id <= ?').run(upTo));
  }

  quarantine(items: readonly QuarantinedEvent[], deadline: number, mayCommit: () => boolean = always): void {
    if (items.length === 0) return;
    const db = this.#open(deadline);
    this.#run('quarantine in', deadline, () => {
      db.transaction(() => {
        const insert = db.prepare('INSERT INTO tracks_quarantine (event, error, at) VALUES (?, ?, ?)');
        for (const item of items) insert.run(safeJson(item.event), item.error, item.at);
        if (!mayCommit()) throw abandoned(this.#path);
      }).immediate();
    });
  }

  counts(deadline: number): OutboxCounts {
    const db = this.#open(deadline);
    return this.#run('count', deadline, () => {
      const waiting = (db.prepare('SELECT COUNT(*) AS n FROM tracks_outbox').get() as { n: number }).n;
      const quarantined = (db.prepare('SELECT COUNT(*) AS n FROM tracks_quarantine').get() as { n: number }).n;
      return { waiting, quarantined };
    });
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }

  #open(deadline: number): Database {
    if (this.#db) return this.#db;
    let db: Database | undefined;
    try {
      mkdirSync(dirname(this.#path), { recursive: true });
      const Sqlite = loadSqliteDriver();
      db = new Sqlite(this.#path, { timeout: 20 });
      const opened = db;
      untilDeadline(() => opened.pragma('journal_mode = WAL'), deadline);
      opened.pragma('synchronous = NORMAL');
      opened.pragma('temp_store = MEMORY');
      untilDeadline(() => opened.exec(SCHEMA), deadline);
      this.#db = opened;
      return opened;
    } catch (error) {
      db?.close();
      throw sqliteStoreError(`cannot open the outbox ${this.#path}${nativeModuleHint(error)}`, error);
    }
  }

  #run<T>(what: string, deadline: number, fn: () => T): T {
    try {
      return untilDeadline(fn, deadline);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      // Anything the outbox file fails with may pass (a lock, a full disk): never permanent.
      const failure = sqliteStoreError(`cannot ${what} the outbox ${this.#path}`, error);
      throw new StoreError(failure.message, { transient: true, ...(failure.code === undefined ? {} : { code: failure.code }), cause: error });
    }
  }
}

/** Rows waiting, from the ids (cheap, never less than the truth: ids only grow). */
function approximateWaiting(db: Database): number {
  const row = db.prepare('SELECT MIN(id) AS low, MAX(id) AS high FROM tracks_outbox').get() as { low: number | null; high: number | null };
  return row.low === null || row.high === null ? 0 : row.high - row.low + 1;
}

/** An outbox row's event, or why it cannot be stored. */
function parseEvent(text: string): RecordedEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `the outbox row is not JSON: ${(error as Error).message}`;
  }
  const problem = eventProblem(value);
  if (problem !== undefined) return problem;
  const event = value as RecordedEvent;
  if (event.kind !== 'definition') return event;
  // Weights keyed by track name, rebuilt without a prototype (see DefinitionEvent).
  const weights = Object.assign(Object.create(null) as Record<string, number>, event.weights);
  return { ...event, weights };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
