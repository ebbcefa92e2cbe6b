/**
 * The SQLite store's database, as its worker thread runs it: opening and migrating the file,
 * writing batches, reading controls, sticky assignments and summaries. Everything here is
 * synchronous and may block (on another process's lock, a slow disk): it runs only on the
 * worker thread, never on the application's event loop.
 */
import { statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import { loadSqliteDriver, nativeModuleHint } from './sqlite-driver.js';
import type { ControlState, RecordedEvent } from '../model/events.js';
import { EVENT_KINDS, EVENT_TABLES, inKeyOrder, onConflict } from '../model/event-tables.js';
import type { Cell, EventTable } from '../model/event-tables.js';
import { assertStorable } from '../model/check-event.js';
import { StoreError } from '../model/store-error.js';
import { TracksError, codeOf } from '../errors.js';
import type { StickyAssignment, StickyFilter } from '../model/store.js';
import type { SummarizeOptions, TrackSetSums } from '../model/sums.js';
import { WHOLE_SUMMARY, WITHOUT_METRICS, summaryRowsSqlite } from './sqlite-summary.js';
import type { SummaryPart, UnitKey } from './sqlite-summary.js';
import { controlFromRow, controlParams, upsertControlSql } from './control-rows.js';
import { controlsSql, SQLITE_DIALECT } from './summary-sql.js';
import type { ControlRow } from './control-rows.js';
import { migrate, noTracksData, readableVersion } from './migrations.js';
import type { MigrationTarget } from './migrations.js';
import { SQLITE_MIGRATIONS, SQLITE_OLDEST_READABLE } from './schema.js';
import { readOnlyHint, sqliteStoreError } from './sqlite-errors.js';
import { ReadCopy } from './sqlite-read-copy.js';
import { untilDeadline } from './sqlite-lock-wait.js';
import { FILE_REPLACED, FileIdentity } from './file-identity.js';
import { ExposureCounting } from './exposure-counting.js';
import { abandoned, always } from './request-state.js';
import { buildSummary } from './summary-rows.js';
import { METRIC_COLUMNS, declarationsOf } from './metric-rows.js';
import type { MetricRow } from './metric-rows.js';
import type { MetricDeclaration } from '../model/metrics.js';
import { shadowBucketSql, shadowCountSql, shadowSampleSql, shadowSumsOf } from './shadow-rows.js';
import type { ShadowBucketRow, ShadowCountRow, ShadowSampleRow } from './shadow-rows.js';
import type { ShadowSums } from '../model/shadow.js';
import type { SummaryRows } from './summary-rows.js';

type Database = BetterSqlite3.Database;

/** Rows per multi-row INSERT: fewer statement steps per batch, well under SQLite's 32,766 variables. */
const ROWS_PER_STATEMENT = 100;
/** Pages of write-ahead log between automatic checkpoints (SQLite's default is 1,000). */
const WAL_CHECKPOINT_PAGES = 10_000;
/** The log's size after a checkpoint, at most. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** How long one attempt waits on another process's lock before the deadline is checked again. */
const BUSY_SLICE_MS = 20;

/** The SQLite file behind a SqliteStore; see the module comment. */
export class SqliteDatabase {
  readonly #path: string;
  #writer: Writer | undefined;
  #reader: Database | undefined;
  /** The copy the reader reads (deleted once open), where reading the store in place would leave files beside it (see ReadCopy). */
  #readCopy: ReadCopy | undefined;

  constructor(path: string, _options: Readonly<Record<string, number | boolean>> = {}) {
    this.#path = path;
  }

  /** Writes `events` in one transaction; commits only if `mayCommit()` says the caller still waits (see RequestState). */
  async write(events: readonly RecordedEvent[], deadline: number, mayCommit: () => boolean = always): Promise<void> {
    assertStorable(`the SQLite store ${this.#path}`, events);
    const writer = await this.#openWriter(deadline);
    try {
      writer.checkIdentity();
      try {
        untilDeadline(() => writer.writeBatch.immediate(events, mayCommit), deadline);
      } catch (error) {
        throw sqliteStoreError(`cannot write to the SQLite store ${this.#path}`, error);
      }
      // Written into a file that is no longer at the path (removed or replaced mid-run): those
      // rows are gone with it, so the batch does not count as written and is tried again.
      writer.checkIdentity();
    } catch (error) {
      if ((error as StoreError).code !== FILE_REPLACED) throw error;
      if (this.#closeMovedWriter(Math.min(deadline, Date.now() + CHECKPOINT_WAIT_MS))) throw error;
      throw heldBack((error as Error).message);
    }
  }

  /**
   * The writer, on the file at the path: one whose file was moved away is closed first (its log
   * copied into it), or, while a reader holds that back, the call fails (a control state written
   * into the moved file would be lost to every process once the path is opened again).
   */
  async #writerAtPath(deadline: number): Promise<Writer> {
    const writer = await this.#openWriter(deadline);
    if (!writer.moved()) return writer;
    if (!this.#closeMovedWriter(Math.min(deadline, Date.now() + CHECKPOINT_WAIT_MS))) {
      throw heldBack(`tracks: the SQLite store ${this.#path} was moved away or removed while open`);
    }
    return this.#openWriter(deadline);
  }

  /**
   * Drops the writing connection to a file no longer at the path; the next write opens the path
   * again (creating the file). First its log is copied into it: SQLite neither checkpoints a
   * moved file when it closes nor deletes its log, which is named for the path, so the file
   * made at the path next would find it and, being empty, delete it. A store renamed by hand
   * (`mv tracks.db old.db`, its -wal left behind) then lost every row written since the last
   * checkpoint (up to 40 MB of log), rows that had counted as written; now they are in the
   * moved file, and the log left at the path is empty.
   *
   * Another connection reading an older snapshot (a report, a dashboard, a backup tool) holds
   * the copy back: it does not throw, it says busy or copies part of the log. The connection is
   * then kept, and the path not opened, until a later write's try succeeds: a file opened at the
   * path meanwhile would delete the log, or share it with that other connection (every write
   * then failed with SQLITE_IOERR_SHORT_READ, even after the reader ended). False while held back.
   */
  #closeMovedWriter(deadline: number): boolean {
    const writer = this.#writer;
    if (writer === undefined) return true;
    if (!checkpointed(writer.db, deadline)) return false;
    this.#writer = undefined;
    writer.db.close();
    return true;
  }

  /**
   * At close, a moved file whose log a reader still holds back: the whole database as this
   * connection sees it is saved beside the path (VACUUM INTO), since closing without it would
   * leave the log for the next file at the path to delete. What was done, to say.
   */
  #rescueMoved(writer: Writer): string {
    const rescue = `${this.#path}.moved-${process.pid}-${new Date().toISOString().replace(/[:.]/g, '-')}.db`;
    try {
      writer.db.prepare('VACUUM INTO ?').run(rescue);
      return `another connection held back copying its log into the moved file, so the whole database as this process saw it is saved in ${rescue}`;
    } catch (error) {
      return `another connection held back copying its log into the moved file, and saving it to ${rescue} failed (${(error as Error).message}): rows written since its last checkpoint may be lost`;
    }
  }

  readControls(deadline: number): ControlState[] {
    const db = this.#readable(deadline, 'controls');
    if (db === undefined) return [];
    const rows = this.#naming(() => untilDeadline(() => db.prepare(controlsSql(SQLITE_DIALECT, '')).all(), deadline)) as ControlRow[];
    return rows.map(controlFromRow);
  }

  readMetrics(deadline: number): Map<string, MetricDeclaration> {
    const db = this.#readable(deadline);
    if (db === undefined) return new Map();
    const rows = untilDeadline(
      () =>
        db.prepare(`SELECT ${METRIC_COLUMNS} FROM tracks_metrics m
          WHERE m.event_id = (SELECT x.event_id FROM tracks_metrics x WHERE x.name = m.name ORDER BY x.at DESC, x.event_id DESC LIMIT 1)`).all(),
      deadline,
    ) as MetricRow[];
    return declarationsOf(rows);
  }

  readDimensions(trackSetId: string, deadline: number): string[] {
    const db = this.#readable(deadline);
    if (db === undefined) return [];
    // Every distinct dimensions the set's exposures carry is a row of the counts (per track and day).
    const rows = untilDeadline(
      () =>
        db.prepare(`SELECT DISTINCT j.key AS name FROM tracks_exposure_counts e, json_each(e.dimensions) j
          WHERE e.track_set_id = ? AND e.dimensions <> '' ORDER BY 1`).all(trackSetId),
      deadline,
    ) as { name: string }[];
    return rows.map((r) => r.name);
  }

  /** Writes the state; with `ifEpoch`, only over that stored epoch (false when another was stored). */
  async writeControl(state: ControlState, ifEpoch: number | undefined, deadline: number, mayCommit: () => boolean = always): Promise<boolean> {
    const writer = await this.#writerAtPath(deadline);
    try {
      return untilDeadline(
        () =>
          writer.db.transaction(() => {
            const { changes } = ifEpoch === undefined ? writer.writeControl.run(controlParams(state)) : writer.writeControlIf.run([...controlParams(state), ifEpoch]);
            if (!mayCommit()) throw abandoned(this.#path);
            return changes > 0;
          }).immediate(),
        deadline,
      );
    } catch (error) {
      throw sqliteStoreError(`cannot write to the SQLite store ${this.#path}`, error);
    }
  }

  readShadow(trackSetId: string | undefined, deadline: number): ShadowSums {
    const db = this.#readable(deadline);
    if (db === undefined) return { tracks: [], samples: [] };
    const where = (prefix: string) => (trackSetId === undefined ? '' : `WHERE ${prefix}track_set_id = @trackSetId`);
    const params = trackSetId === undefined ? {} : { trackSetId };
    return untilDeadline(
      () =>
        shadowSumsOf(
          db.prepare(shadowCountSql('tracks_shadow', where(''))).all(params) as ShadowCountRow[],
          db.prepare(shadowBucketSql('tracks_shadow', where('s.'), (column) => `json_each(${column})`, 'CAST(j.key AS INTEGER)', 'j.value')).all(params) as ShadowBucketRow[],
          db.prepare(shadowSampleSql('tracks_shadow_samples', where(''))).all(params) as ShadowSampleRow[],
        ),
      deadline,
    );
  }

  readAssignments(trackSetId: string, units: readonly string[], deadline: number): Map<string, string> {
    const db = this.#readable(deadline);
    const found = new Map<string, string>();
    if (db === undefined || units.length === 0) return found;
    const rows = untilDeadline(
      () =>
        db
          .prepare('SELECT unit, track FROM tracks_exposures WHERE track_set_id = ? AND unit IN (SELECT value FROM json_each(?))')
          .all(trackSetId, JSON.stringify(units)),
      deadline,
    ) as Array<{ unit: string; track: string }>;
    for (const r of rows) found.set(r.unit, r.track);
    return found;
  }

  /** Units' tracks in the sets recorded sticky now, up to `limit` shared evenly between them (see Store.readStickyAssignments). */
  readStickyAssignments(limit: number, filter: StickyFilter | null, deadline: number): StickyAssignment[] {
    const db = this.#readable(deadline);
    if (db === undefined || limit <= 0) return [];
    return untilDeadline(() => {
      const sets = (db.prepare(STICKY_SETS_SQL).all() as { id: string }[]).map((row) => row.id).filter((id) => filter === null || filter.trackSetIds.includes(id));
      const each = Math.floor(limit / Math.max(1, sets.length));
      // Read again (a filter): the latest first, those the bound must not leave out.
      const rows = db.prepare(
        `SELECT track_set_id AS trackSetId, unit, track FROM tracks_exposures WHERE track_set_id = ? AND at >= ?${filter === null ? '' : ' ORDER BY at DESC'} LIMIT ?`,
      );
      return sets.flatMap((id) => rows.all(id, filter?.since ?? 0, each) as StickyAssignment[]);
    }, deadline);
  }

  summarize(options: SummarizeOptions | undefined, deadline: number): TrackSetSums[] {
    const rows = this.summaryRows(options, options?.metrics === false ? WITHOUT_METRICS : WHOLE_SUMMARY, deadline);
    return buildSummary(rows, options?.trackSetId, options?.caps, options?.by);
  }

  /**
   * A summary of a small store (or one with a percentile cap, which ranks every unit), or the
   * key that splits a big store's exposed units in two halves, to be summed apart (see
   * SqliteStore): one call either way, so a small store's summary costs no extra round trip.
   */
  planSummary(options: SummarizeOptions | undefined, splitFrom: number, deadline: number): { readonly sums: TrackSetSums[] } | { readonly split: UnitKey } {
    const ranksUnits = options?.caps?.some((c) => c.percentile !== undefined) === true;
    // Without metrics there is no join of exposures with conversions to share between threads.
    const split = ranksUnits || options?.metrics === false ? null : this.#unitSplit(options?.trackSetId, splitFrom, deadline);
    return split === null ? { sums: this.summarize(options, deadline) } : { split };
  }

  /** The rows of the parts of a summary `part` asks for, in one read transaction (see SummaryPart). */
  summaryRows(options: SummarizeOptions | undefined, part: SummaryPart, deadline: number): SummaryRows {
    const db = this.#readable(deadline);
    if (db === undefined) throw noTracksData(`the SQLite store ${this.#path}`);
    // One snapshot of the file for every query of the call: a unit recorded meanwhile is in
    // all of them or none.
    return this.#naming(() => untilDeadline(() => db.transaction(() => summaryRowsSqlite(db, options, part))(), deadline));
  }

  /** Runs a read; a failure of SQLite's own (a table dropped by hand) names the store, as a write's does. */
  #naming<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof StoreError || error instanceof TracksError) throw error;
      throw sqliteStoreError(`cannot read the SQLite store ${this.#path}`, error);
    }
  }

  /** The exposure that splits the exposed units (of one set, or all) in two halves by key; null under `atLeast` units. */
  #unitSplit(trackSetId: string | undefined, atLeast: number, deadline: number): UnitKey | null {
    const db = this.#readable(deadline);
    if (db === undefined) return null;
    const params = trackSetId === undefined ? {} : { id: trackSetId };
    const where = trackSetId === undefined ? '' : 'WHERE track_set_id = @id';
    return untilDeadline(() => {
      const { units } = db.prepare(`SELECT COALESCE(SUM(users), 0) AS units FROM tracks_exposure_counts ${where}`).get(params) as { units: number };
      if (units < atLeast) return null;
      const middle = db
        .prepare(`SELECT track_set_id AS trackSetId, unit FROM tracks_exposures ${where} ORDER BY track_set_id, unit LIMIT 1 OFFSET @half`)
        .get({ ...params, half: Math.floor(units / 2) }) as { trackSetId: string; unit: string } | undefined;
      return middle === undefined ? null : [middle.trackSetId, middle.unit];
    }, deadline);
  }

  close(): void {
    // A file moved away while open: its log copied into it first, as a write would, else saved.
    const writer = this.#writer;
    const rescued = writer !== undefined && writer.moved() && !this.#closeMovedWriter(Date.now() + CHECKPOINT_WAIT_MS) ? this.#rescueMoved(writer) : undefined;
    this.#writer?.db.close();
    const read = this.#reader !== undefined && this.#readCopy === undefined;
    this.#closeReader();
    this.#writer = undefined;
    if (read) tidyAfterReading(this.#path);
    if (rescued !== undefined) {
      throw new StoreError(`tracks: the SQLite store ${this.#path} was moved away or removed while open; ${rescued}`, { transient: true, code: FILE_REPLACED });
    }
  }

  /** The writing connection: opened (creating the file), set to WAL and migrated on first use. */
  async #openWriter(deadline: number): Promise<Writer> {
    if (this.#writer) return this.#writer;
    let db: Database | undefined;
    try {
      db = openDatabase(this.#path, { timeout: BUSY_SLICE_MS });
      const opened = db;
      untilDeadline(() => opened.pragma('journal_mode = WAL'), deadline);
      opened.pragma('synchronous = NORMAL');
      // Checkpoints every 10,000 pages (about 40 MB of log) rather than SQLite's 1,000: a page
      // that many commits changed is copied into the file once per checkpoint, not once per
      // thousand pages logged (exposures/s +18% in key order, +20% scattered, measured). The
      // log is cut back to 64 MB after a checkpoint, so the file beside the store stays bounded.
      opened.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      opened.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      // Statement journals and sorts in memory: nothing of the store's lands in the temp directory.
      opened.pragma('temp_store = MEMORY');
      await migrate(migrationTarget(opened, this.#path, deadline), SQLITE_MIGRATIONS);
      this.#writer = new Writer(opened, this.#path);
      // A reader opened before the file had tables is replaced by the writer from now on.
      this.#closeReader();
      return this.#writer;
    } catch (error) {
      db?.close();
      throw sqliteStoreError(`cannot open the SQLite store ${this.#path}${nativeModuleHint(error)}${readOnlyHint(this.#path, error)}`, error);
    }
  }

  /**
   * A connection for reading that creates nothing: the writer when it is open, else a
   * read-only one; undefined when there is no file or no tracks tables in it.
   */
  #readable(deadline: number, read: 'data' | 'controls' = 'data'): Database | undefined {
    if (this.#writer) return this.#writer.db;
    if (this.#readCopy?.stale()) this.#closeReader();
    if (this.#reader === undefined) {
      try {
        if (ReadCopy.neededFor(this.#path)) this.#readCopy = ReadCopy.of(this.#path);
        this.#reader = openDatabase(this.#readCopy?.path ?? this.#path, { timeout: BUSY_SLICE_MS, readonly: true, fileMustExist: true });
        this.#reader.pragma('temp_store = MEMORY');
      } catch (error) {
        this.#closeReader();
        if ((error as { code?: string }).code === 'SQLITE_CANTOPEN' && !exists(this.#path)) return undefined;
        throw sqliteStoreError(`cannot open the SQLite store ${this.#path}${nativeModuleHint(error)}${readOnlyHint(this.#path, error)}`, error);
      }
    }
    const reader = this.#reader;
    let version: number;
    try {
      // The first statement opens the file for real (SQLite opens lazily): its failure names the store.
      version = untilDeadline(() => installedVersion(reader), deadline);
      // The connection has the copy open now, and goes on reading it: deleted at once, it is
      // left behind by nothing that ends this process.
      this.#readCopy?.remove();
    } catch (error) {
      if (this.#readCopy !== undefined) this.#closeReader();
      throw sqliteStoreError(`cannot read the SQLite store ${this.#path}${readOnlyHint(this.#path, error)}`, error);
    }
    return readableVersion(`the SQLite store ${this.#path}`, version, SQLITE_MIGRATIONS.length, SQLITE_OLDEST_READABLE, read) === 'empty' ? undefined : reader;
  }

  /** Closes the read-only connection, and deletes the copy it read, if any. */
  #closeReader(): void {
    this.#reader?.close();
    this.#reader = undefined;
    this.#readCopy?.remove();
    this.#readCopy = undefined;
  }
}

/** The writing connection's prepared statements, and the file it wrote to. */
class Writer {
  readonly db: Database;
  readonly writeBatch: BetterSqlite3.Transaction<(events: readonly RecordedEvent[], mayCommit: () => boolean) => void>;
  #writeControl: BetterSqlite3.Statement | undefined;
  #writeControlIf: BetterSqlite3.Statement | undefined;
  readonly #path: string;
  readonly #identity: FileIdentity;

  constructor(db: Database, path: string) {
    this.db = db;
    this.#path = path;
    this.#identity = new FileIdentity(path);
    const inserts = new Map(
      EVENT_KINDS.map((kind) => [kind, new TableInsert(db, EVENT_TABLES[kind] as EventTable, kind === 'exposure' ? new ExposureCounting(db, EVENT_TABLES.exposure) : undefined)] as const),
    );
    this.writeBatch = db.transaction((events: readonly RecordedEvent[], mayCommit: () => boolean) => {
      // A batch that failed half-way left rows pending: they must not leak into this one.
      for (const insert of inserts.values()) insert.reset();
      for (const event of inKeyOrder(events)) inserts.get(event.kind)!.add(event);
      for (const insert of inserts.values()) insert.finish();
      if (!mayCommit()) throw abandoned(path);
    });
  }

  // Prepared when first used, not with the writer: preparing names its tables, and a store whose
  // tracks_controls was dropped by hand would otherwise refuse every event, not just the
  // control changes (as PostgreSQL's store does).
  get writeControl(): BetterSqlite3.Statement {
    return (this.#writeControl ??= this.db.prepare(upsertControlSql('tracks_controls', () => '?')));
  }

  get writeControlIf(): BetterSqlite3.Statement {
    return (this.#writeControlIf ??= this.db.prepare(upsertControlSql('tracks_controls', () => '?', '', true)));
  }

  /** Whether the file at the path is no longer the one this connection opened. */
  moved(): boolean {
    return this.#identity.change() !== undefined;
  }

  /** Throws when the file at the path is not the one this connection opened (removed or replaced). */
  checkIdentity(): void {
    this.#identity.check(
      `the SQLite store ${this.#path}`,
      'rows written since are not counted, and are written again once it is reopened at that path; rows written before stay in the file that was moved away (if it was moved, not deleted)',
    );
  }
}

/** A checkpoint another connection holds back: waited out like a lock (untilDeadline retries SQLITE_BUSY). */
const CHECKPOINT_BLOCKED = Object.assign(new Error('tracks: the checkpoint of a moved SQLite file is held back by a reader'), { code: 'SQLITE_BUSY' });
/** The error of a write to a moved file whose log a reader holds back (`what`: what happened). */
function heldBack(what: string): StoreError {
  return new StoreError(
    `${what}; another connection (a report, a dashboard, a backup tool) reads an older snapshot of it, which holds back copying its log into it: ` +
      'the path is opened again once that connection lets go (opened before, the new file would delete the log and the rows in it, or share it); meanwhile events wait in the outbox',
    { transient: true, code: FILE_REPLACED },
  );
}

/** How long a moved file's checkpoint waits for a reader to let go, in ms. */
const CHECKPOINT_WAIT_MS = 500;

/**
 * Copies the whole log into the database, waiting (within `deadline`) for readers of older
 * snapshots and for locks; false while they hold it back (or the process is exiting, which
 * stops the wait). Another failure (an I/O error on a removed file) is true: nothing better can
 * be done with that log, and keeping the connection would only hold the store back for good.
 */
function checkpointed(db: Database, deadline: number): boolean {
  try {
    untilDeadline(() => {
      const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
      if (result !== undefined && (result.busy !== 0 || result.log !== result.checkpointed)) throw CHECKPOINT_BLOCKED;
    }, deadline);
    return true;
  } catch (error) {
    const code = codeOf(error);
    return !(error === CHECKPOINT_BLOCKED || code === 'TRACKS_CLOSED' || code?.startsWith('SQLITE_BUSY') === true || code?.startsWith('SQLITE_LOCKED') === true);
  }
}

/**
 * Inserts one kind of event, in multi-row statements built from the kind's table description.
 * Exposures' statements go through their counting (exposure-counting.ts), in a marked and an
 * unmarked form.
 */
class TableInsert {
  readonly #table: EventTable;
  readonly #db: Database;
  /** Statements of 2^i rows (i <= 6) and of ROWS_PER_STATEMENT (index 7), prepared when first needed; marked counted at 8 + i. */
  readonly #statements: (BetterSqlite3.Statement | undefined)[] = [];
  readonly #params: Cell[];
  readonly #counting: ExposureCounting | undefined;
  #pending = 0;

  constructor(db: Database, table: EventTable, counting?: ExposureCounting) {
    this.#table = table;
    this.#db = db;
    this.#counting = counting;
    this.#params = new Array<Cell>(table.columns.length * ROWS_PER_STATEMENT);
  }

  /** The INSERT of 2^size rows (size 7: ROWS_PER_STATEMENT); `counted`: its rows marked counted = 1, which the trigger skips. */
  #statement(size: number, counted = false): BetterSqlite3.Statement {
    const at = size + (counted ? 8 : 0);
    const cached = this.#statements[at];
    if (cached !== undefined) return cached;
    const table = this.#table;
    const rows = size === 7 ? ROWS_PER_STATEMENT : 1 << size;
    const names = table.columns.map((c) => c.name);
    const marks = new Array<string>(table.columns.length).fill('?');
    if (counted) {
      names.push('counted');
      marks.push('1');
    }
    // Marked rows are counted by the writer only where the statement inserted all of them or
    // none (ExposureCounting), so it skips a stored key; the unmarked one replaces a stored
    // exposure with an earlier one (the table's triggers move its count).
    const conflict = counted ? 'ON CONFLICT DO NOTHING' : onConflict(table, table.table);
    const sql = `INSERT INTO ${table.table} (${names.join(', ')}) VALUES ${new Array<string>(rows).fill(`(${marks.join(', ')})`).join(', ')} ${conflict}`;
    return (this.#statements[at] = this.#db.prepare(sql));
  }

  #run(size: number, params: Cell[], rows: number): void {
    if (this.#counting === undefined) this.#statement(size).run(params);
    else this.#counting.run(() => this.#statement(size, true), () => this.#statement(size), params, rows, this.#table.columns.length);
  }

  add(event: RecordedEvent): void {
    const row = this.#table.row(event as never);
    const offset = this.#pending * row.length;
    for (let i = 0; i < row.length; i++) this.#params[offset + i] = row[i]!;
    if (++this.#pending === ROWS_PER_STATEMENT) {
      this.#run(7, this.#params, ROWS_PER_STATEMENT);
      this.#pending = 0;
    }
  }

  /** Forgets rows not yet written, and what was tallied of a batch that failed. */
  reset(): void {
    this.#pending = 0;
    this.#counting?.reset();
  }

  /**
   * Writes the rows short of a full statement, in order, in statements of 64, 32, ... 1 rows:
   * at most seven statements. (One statement a row cost 1.5-2 µs more per row, measured in
   * batches of a few hundred, as a busy service's flushes are.) Then the tally's counts.
   */
  finish(): void {
    const width = this.#table.columns.length;
    let done = 0;
    // Fewer than 128 rows: each size once at most (the binary digits of the count).
    for (let i = 6; i >= 0; i--) {
      const rows = 1 << i;
      if (this.#pending - done < rows) continue;
      this.#run(i, this.#params.slice(done * width, (done + rows) * width), rows);
      done += rows;
    }
    this.#pending = 0;
    this.#counting?.write();
  }
}

/**
 * A read-only connection leaves the write-ahead log and shared-memory files it made beside a
 * closed store (it may not checkpoint, so SQLite keeps them): `tracks report` would leave
 * `tracks.db-wal` and `tracks.db-shm` behind. A connection that may write removes them when it
 * closes as the last one open, and keeps them while another process has the store open, as it
 * must; it writes nothing but a checkpoint of what the log holds. Where it cannot open (a
 * read-only file or folder, a lock), the files stay.
 */
function tidyAfterReading(path: string): void {
  if (!exists(`${path}-wal`)) return;
  try {
    const db = openDatabase(path, { fileMustExist: true, timeout: 0 });
    try {
      // SQLite opens the file, and its log, on the first statement.
      db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
    } finally {
      db.close();
    }
  } catch {
    // The files stay: harmless, and the next writer uses them.
  }
}

function openDatabase(path: string, options: BetterSqlite3.Options): Database {
  const Sqlite = loadSqliteDriver();
  return new Sqlite(path, options);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function installedVersion(db: Database): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tracks_schema_version'").get();
  if (table === undefined) return 0;
  return (db.prepare('SELECT MAX(version) AS version FROM tracks_schema_version').get() as { version: number | null }).version ?? 0;
}

/** The migration runner's view of a SQLite file: an IMMEDIATE transaction is the lock. */
function migrationTarget(db: Database, path: string, deadline: number): MigrationTarget {
  return {
    description: `the SQLite store ${path}`,
    installedVersion: async () => untilDeadline(() => installedVersion(db), deadline),
    locked: async (fn) => {
      untilDeadline(() => db.exec('BEGIN IMMEDIATE'), deadline);
      try {
        await fn();
        db.exec('COMMIT');
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
    prepare: async () => {
      db.exec('CREATE TABLE IF NOT EXISTS tracks_schema_version (version INTEGER NOT NULL)');
    },
    apply: async (steps) => {
      const recordVersion = db.prepare('INSERT INTO tracks_schema_version (version) VALUES (?)');
      for (const { sql, version } of steps) {
        db.exec(sql);
        recordVersion.run(version);
      }
    },
  };
}

/** The sets whose latest definition is sticky (sets of this process's code that are no longer sticky never ask). */
const STICKY_SETS_SQL = `SELECT d.track_set_id AS id FROM tracks_definitions d
  WHERE d.sticky = 1 AND d.at = (SELECT MAX(at) FROM tracks_definitions l WHERE l.track_set_id = d.track_set_id)
  GROUP BY d.track_set_id ORDER BY d.track_set_id`;
