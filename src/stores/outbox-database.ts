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
import { eventTime } from '../model/event-time.js';
import type { RecordedEvent } from '../model/events.js';
import type { OutboxBatch, OutboxCounts, QuarantinedEvent } from '../model/outbox.js';
import { StoreError } from '../model/store-error.js';
import { readOnlyHint, sqliteStoreError } from './sqlite-errors.js';
import { untilDeadline } from './sqlite-lock-wait.js';
import { FILE_REPLACED, FileIdentity } from './file-identity.js';
import { abandoned, always } from './request-state.js';

/**
 * The outbox's options (plain values: they cross to the worker thread).
 *
 * @example
 * ```ts
 * const options: OutboxDatabaseOptions = { maxEvents: 1_000_000 };
 * const outbox = sqliteOutbox('/var/lib/app/tracks.outbox', options);
 * ```
 */
export interface OutboxDatabaseOptions {
  /** Most events waiting in the file; a spill past it is refused (default 5,000,000). */
  readonly maxEvents?: number | undefined;
  /**
   * Whether a missing directory of the file is created (default true). configure() gives false
   * for the outbox beside a SQLite store: its directory is the store's, and a mistyped store
   * path is then reported on every write rather than made by the first spill.
   */
  readonly createDirectory?: boolean | undefined;
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
  readonly #createDirectory: boolean;
  #db: Database | undefined;
  /** The file the connection opened, to tell when it is removed or replaced at the path (see FileIdentity). */
  #identity: FileIdentity | undefined;
  /** How many times the file was opened, and at which opening the last peek read: a remove applies only to that file. */
  #openings = 0;
  #peekedAt = 0;

  constructor(path: string, options: OutboxDatabaseOptions = {}) {
    this.#path = path;
    this.#maxEvents = options.maxEvents ?? 5_000_000;
    this.#createDirectory = options.createDirectory ?? true;
  }

  open(deadline: number): void {
    this.#open(deadline);
  }

  /** Adds `events` in one transaction; commits only if `mayCommit()` says the caller still waits (see RequestState). */
  spill(events: readonly RecordedEvent[], deadline: number, mayCommit: () => boolean = always): void {
    if (events.length === 0) return;
    this.#checkFile();
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
        // A hundred rows a statement: a spill at the memory bound runs on the application's
        // thread (Delivery.overflow), where each microsecond a row counts.
        const full = events.length - (events.length % SPILL_ROWS);
        if (full > 0) {
          const insert = db.prepare(`INSERT INTO tracks_outbox (event) VALUES ${'(?), '.repeat(SPILL_ROWS - 1)}(?)`);
          const texts: string[] = new Array<string>(SPILL_ROWS);
          for (let from = 0; from < full; from += SPILL_ROWS) {
            for (let i = 0; i < SPILL_ROWS; i++) texts[i] = JSON.stringify(events[from + i]);
            insert.run(texts);
          }
        }
        const insertOne = db.prepare('INSERT INTO tracks_outbox (event) VALUES (?)');
        for (let i = full; i < events.length; i++) insertOne.run(JSON.stringify(events[i]));
        if (!mayCommit()) throw abandoned(this.#path);
      }).immediate();
    });
    // Committed into a file no longer at the path: gone with it, so not spilled (see #checkFile).
    this.#checkFile(events.length);
  }

  peek(limit: number, deadline: number): (OutboxBatch & { quarantinedNow: number }) | undefined {
    this.#checkFile();
    const db = this.#open(deadline);
    this.#peekedAt = this.#openings;
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
            move.run(row.text, row.error, eventTime());
            remove.run(row.id);
          }
        }).immediate();
      });
    }
    return { events, upTo: rows[rows.length - 1]!.id, quarantinedNow: unreadable.length };
  }

  /**
   * Deletes the rows up to `upTo` from the file the last peek read. When the connection was
   * reopened since (the file was removed or replaced), those rows are gone with that file, and
   * the ids name other rows in the new one: nothing is deleted. Returns how many rows it
   * deleted (another process draining the same file may have deleted them first), or
   * undefined when the file was replaced: what was read from it was written, and counts.
   */
  remove(upTo: number, deadline: number): number | undefined {
    const db = this.#db;
    if (db === undefined || this.#peekedAt !== this.#openings) return undefined;
    const { changes } = this.#run('remove from', deadline, () => db.prepare('DELETE FROM tracks_outbox WHERE id <= ?').run(upTo));
    shrinkWhenDrained(db);
    return changes;
  }

  quarantine(items: readonly QuarantinedEvent[], deadline: number, mayCommit: () => boolean = always): void {
    if (items.length === 0) return;
    this.#checkFile();
    const db = this.#open(deadline);
    this.#run('quarantine in', deadline, () => {
      db.transaction(() => {
        const insert = db.prepare('INSERT INTO tracks_quarantine (event, error, at) VALUES (?, ?, ?)');
        for (const item of items) insert.run(safeJson(item.event), item.error, item.at);
        if (!mayCommit()) throw abandoned(this.#path);
      }).immediate();
    });
    this.#checkFile();
  }

  counts(deadline: number): OutboxCounts {
    this.#checkFile();
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
    this.#identity = undefined;
  }

  /**
   * Throws (a transient StoreError) when the file at the path is no longer the one the connection
   * opened: removed (with its directory, perhaps) or replaced. SQLite would go on writing into
   * the unlinked file without an error, and every event spilled there would be lost while counted
   * as spilled. The connection is closed, so the next call opens (creates) the file at the path;
   * the events of a spill that fails so stay in memory and spill again, or are dropped, counted.
   * `writtenNow`: rows this call just committed (not counted among those lost before it).
   */
  #checkFile(writtenNow = 0): void {
    const db = this.#db;
    const change = this.#identity?.change();
    if (db === undefined || change === undefined) return;
    let waited = '';
    try {
      // The unlinked file is still readable through the connection: how much went with it.
      const lost = approximateWaiting(db) - writtenNow;
      if (lost > 0) waited = ` (about ${lost} events waited in it, and are gone with it)`;
    } catch {
      // Unreadable: the message does without the number.
    }
    this.close();
    throw new StoreError(
      `tracks: the outbox ${this.#path} was ${change} while open${waited}; ` +
        'nothing written to it since is counted as spilled, and the next spill goes to a new file at the path',
      { transient: true, code: FILE_REPLACED },
    );
  }

  #open(deadline: number): Database {
    if (this.#db) return this.#db;
    let db: Database | undefined;
    try {
      if (this.#createDirectory) mkdirSync(dirname(this.#path), { recursive: true });
      const Sqlite = loadSqliteDriver();
      db = new Sqlite(this.#path, { timeout: 20 });
      const opened = db;
      untilDeadline(() => opened.pragma('journal_mode = WAL'), deadline);
      opened.pragma('synchronous = NORMAL');
      opened.pragma('temp_store = MEMORY');
      // Once checkpointed, the write-ahead log is cut back to this, not kept at its largest.
      opened.pragma(`journal_size_limit = ${SHRINK_BYTES / 2}`);
      untilDeadline(() => opened.exec(SCHEMA), deadline);
      this.#identity = new FileIdentity(this.#path);
      this.#openings++;
      this.#db = opened;
      return opened;
    } catch (error) {
      db?.close();
      throw sqliteStoreError(`cannot open the outbox ${this.#path}${nativeModuleHint(error)}${readOnlyHint(this.#path, error)}`, error);
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

/**
 * Gives the disk back once the outbox has drained: SQLite keeps a deleted row's pages for reuse,
 * so after an outage the file would stay as large as its peak for good (over 100 bytes an
 * event: half a gigabyte or more at the default bound). Only an empty outbox with at least
 * {@link SHRINK_BYTES} free and at most {@link MAX_REWRITTEN_BYTES} in use (the quarantine) is
 * rewritten, so the VACUUM takes milliseconds on the outbox's worker thread; a large quarantine
 * (inspect it, then empty it) keeps the file as it is. A process reading the file meanwhile keeps the old pages alive
 * until it is done: they are given back at a later drain (nothing is lost either way), and a
 * failure here (busy, short of disk) is ignored.
 */
function shrinkWhenDrained(db: Database): void {
  try {
    if (db.prepare('SELECT 1 FROM tracks_outbox LIMIT 1').get() !== undefined) return;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const freePages = db.pragma('freelist_count', { simple: true }) as number;
    const usedBytes = ((db.pragma('page_count', { simple: true }) as number) - freePages) * pageSize;
    // The rewrite copies what is in use (the quarantine): done only while that is small, so it
    // takes milliseconds and never holds the file (and this thread) for long.
    if (freePages * pageSize >= SHRINK_BYTES && usedBytes <= MAX_REWRITTEN_BYTES) db.exec('VACUUM');
    // The write-ahead log too (the rewrite went through it, and a reader in another process
    // may have let it grow past journal_size_limit): copied back and cut to nothing.
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // Busy (another process reads or writes the file) or short of disk: the next drain tries again.
  }
}

/** Free bytes in a drained outbox past which it is rewritten smaller (see shrinkWhenDrained). */
const SHRINK_BYTES = 8 * 1024 * 1024;
/** The most bytes still in use (the quarantine) that a shrink rewrites: beyond, the file is left as it is. */
const MAX_REWRITTEN_BYTES = 4 * 1024 * 1024;

/** Rows of one spill statement. */
const SPILL_ROWS = 100;

/**
 * Rows waiting, from the ids (cheap, never less than the truth: ids only grow); 0 when none.
 * The connection is typed by what is used of it: a better-sqlite3 type in an exported
 * signature would make the package's declarations need @types/better-sqlite3 in users' projects.
 *
 * @example
 * ```ts
 * approximateWaiting(db); // 1003: ids 1 to 1003 (or 7 to 1009, after a drain)
 * ```
 */
export function approximateWaiting(db: { prepare(sql: string): { get(): unknown } }): number {
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
