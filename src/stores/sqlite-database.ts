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
import { EVENT_KINDS, EVENT_TABLES } from '../model/event-tables.js';
import type { Cell, EventTable } from '../model/event-tables.js';
import { assertStorable } from '../model/check-event.js';
import { StoreError } from '../model/store-error.js';
import type { StickyAssignment } from '../model/store.js';
import { longestWindowOf } from '../model/sums.js';
import { assertDimension } from './dimension-option.js';
import type { SummarizeOptions, TrackSetSums } from '../model/sums.js';
import { controlFromRow, controlParams, upsertControlSql } from './control-rows.js';
import { controlsSql, guardrailsSql, healthSql, histogramSql, phaseStartsSql, SQLITE_DIALECT } from './summary-sql.js';
import type { ControlRow } from './control-rows.js';
import { migrate, noTracksData, readableVersion } from './migrations.js';
import type { MigrationTarget } from './migrations.js';
import { SQLITE_MIGRATIONS } from './schema.js';
import { sqliteStoreError, untilDeadline } from './sqlite-errors.js';
import { FILE_REPLACED, FileIdentity } from './file-identity.js';
import { abandoned, always } from './request-state.js';
import { appliedCaps, buildSummary, percentileCapsOf, utcDay } from './summary-rows.js';
import { phaseWindows, startOf } from './phase-windows.js';
import type { PhaseStart } from './phase-windows.js';
import { definitionRow } from './definition-rows.js';
import type { DefinitionSqlRow } from './definition-rows.js';
import { METRIC_COLUMNS, declarationsOf } from './metric-rows.js';
import type { MetricRow } from './metric-rows.js';
import type { MetricDeclaration } from '../model/metrics.js';
import { shadowBucketSql, shadowCountSql, shadowSampleSql, shadowSumsOf } from './shadow-rows.js';
import type { ShadowBucketRow, ShadowCountRow, ShadowSampleRow } from './shadow-rows.js';
import type { ShadowSums } from '../model/shadow.js';
import type { ExposureCell, MetricCell, PercentileCapRow, ProductCell, SummaryRows } from './summary-rows.js';

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

  constructor(path: string, _options: Readonly<Record<string, number>> = {}) {
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
      if ((error as StoreError).code === FILE_REPLACED) this.#closeWriter();
      throw error;
    }
  }

  /** Drops the writing connection; the next write opens the path again (creating the file). */
  #closeWriter(): void {
    this.#writer?.db.close();
    this.#writer = undefined;
  }

  readControls(deadline: number): ControlState[] {
    const db = this.#readable(deadline);
    if (db === undefined) return [];
    const rows = untilDeadline(() => db.prepare(controlsSql(SQLITE_DIALECT, '')).all(), deadline) as ControlRow[];
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

  async writeControl(state: ControlState, deadline: number, mayCommit: () => boolean = always): Promise<void> {
    const writer = await this.#openWriter(deadline);
    try {
      untilDeadline(
        () =>
          writer.db.transaction(() => {
            writer.writeControl.run(controlParams(state));
            if (!mayCommit()) throw abandoned(this.#path);
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
  readStickyAssignments(limit: number, deadline: number): StickyAssignment[] {
    const db = this.#readable(deadline);
    if (db === undefined || limit <= 0) return [];
    return untilDeadline(() => {
      const sets = (db.prepare(STICKY_SETS_SQL).all() as { id: string }[]).map((row) => row.id);
      const each = Math.floor(limit / Math.max(1, sets.length));
      const rows = db.prepare('SELECT track_set_id AS trackSetId, unit, track FROM tracks_exposures WHERE track_set_id = ? LIMIT ?');
      return sets.flatMap((id) => rows.all(id, each) as StickyAssignment[]);
    }, deadline);
  }

  summarize(options: SummarizeOptions | undefined, deadline: number): TrackSetSums[] {
    const rows = this.summaryRows(options, WHOLE_SUMMARY, deadline);
    return buildSummary(rows, options?.trackSetId, options?.caps, options?.by);
  }

  /**
   * A summary of a small store (or one with a percentile cap, which ranks every unit), or the
   * key that splits a big store's exposed units in two halves, to be summed apart (see
   * SqliteStore): one call either way, so a small store's summary costs no extra round trip.
   */
  planSummary(options: SummarizeOptions | undefined, splitFrom: number, deadline: number): { readonly sums: TrackSetSums[] } | { readonly split: UnitKey } {
    const ranksUnits = options?.caps?.some((c) => c.percentile !== undefined) === true;
    const split = ranksUnits ? null : this.#unitSplit(options?.trackSetId, splitFrom, deadline);
    return split === null ? { sums: this.summarize(options, deadline) } : { split };
  }

  /** The rows of the parts of a summary `part` asks for, in one read transaction (see SummaryPart). */
  summaryRows(options: SummarizeOptions | undefined, part: SummaryPart, deadline: number): SummaryRows {
    const db = this.#readable(deadline);
    if (db === undefined) throw noTracksData(`the SQLite store ${this.#path}`);
    // One snapshot of the file for every query of the call: a unit recorded meanwhile is in
    // all of them or none.
    return untilDeadline(() => db.transaction(() => summaryRowsSqlite(db, options, part))(), deadline);
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
    this.#writer?.db.close();
    this.#reader?.close();
    this.#writer = undefined;
    this.#reader = undefined;
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
      this.#reader?.close();
      this.#reader = undefined;
      return this.#writer;
    } catch (error) {
      db?.close();
      throw sqliteStoreError(`cannot open the SQLite store ${this.#path}${nativeModuleHint(error)}`, error);
    }
  }

  /**
   * A connection for reading that creates nothing: the writer when it is open, else a
   * read-only one; undefined when there is no file or no tracks tables in it.
   */
  #readable(deadline: number): Database | undefined {
    if (this.#writer) return this.#writer.db;
    if (this.#reader === undefined) {
      try {
        this.#reader = openDatabase(this.#path, { timeout: BUSY_SLICE_MS, readonly: true, fileMustExist: true });
        this.#reader.pragma('temp_store = MEMORY');
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CANTOPEN' && !exists(this.#path)) return undefined;
        throw sqliteStoreError(`cannot open the SQLite store ${this.#path}${nativeModuleHint(error)}`, error);
      }
    }
    const reader = this.#reader;
    const version = untilDeadline(() => installedVersion(reader), deadline);
    return readableVersion(`the SQLite store ${this.#path}`, version, SQLITE_MIGRATIONS.length) === 'empty' ? undefined : reader;
  }
}

/** The writing connection's prepared statements, and the file it wrote to. */
class Writer {
  readonly db: Database;
  readonly writeBatch: BetterSqlite3.Transaction<(events: readonly RecordedEvent[], mayCommit: () => boolean) => void>;
  readonly writeControl: BetterSqlite3.Statement;
  readonly #path: string;
  readonly #identity: FileIdentity;

  constructor(db: Database, path: string) {
    this.db = db;
    this.#path = path;
    this.#identity = new FileIdentity(path);
    const inserts = new Map(EVENT_KINDS.map((kind) => [kind, new TableInsert(db, EVENT_TABLES[kind] as EventTable)] as const));
    this.writeBatch = db.transaction((events: readonly RecordedEvent[], mayCommit: () => boolean) => {
      // A batch that failed half-way left rows pending: they must not leak into this one.
      for (const insert of inserts.values()) insert.reset();
      for (const event of events) inserts.get(event.kind)!.add(event);
      for (const insert of inserts.values()) insert.finish();
      if (!mayCommit()) throw abandoned(path);
    });
    this.writeControl = db.prepare(upsertControlSql('tracks_controls', () => '?'));
  }

  /** Throws when the file at the path is not the one this connection opened (removed or replaced). */
  checkIdentity(): void {
    this.#identity.check(`the SQLite store ${this.#path}`, 'rows written since are not counted, and are written again once it is reopened');
  }
}

/** Inserts one kind of event, in multi-row statements built from the kind's table description. */
class TableInsert {
  readonly #table: EventTable;
  readonly #one: BetterSqlite3.Statement;
  readonly #many: BetterSqlite3.Statement;
  readonly #params: Cell[];
  #pending = 0;

  constructor(db: Database, table: EventTable) {
    this.#table = table;
    const width = table.columns.length;
    const row = `(${new Array<string>(width).fill('?').join(', ')})`;
    const sql = (rows: number) =>
      `INSERT INTO ${table.table} (${table.columns.map((c) => c.name).join(', ')}) VALUES ${new Array<string>(rows).fill(row).join(', ')} ON CONFLICT DO NOTHING`;
    this.#one = db.prepare(sql(1));
    this.#many = db.prepare(sql(ROWS_PER_STATEMENT));
    this.#params = new Array<Cell>(width * ROWS_PER_STATEMENT);
  }

  add(event: RecordedEvent): void {
    const row = this.#table.row(event as never);
    const offset = this.#pending * row.length;
    for (let i = 0; i < row.length; i++) this.#params[offset + i] = row[i]!;
    if (++this.#pending === ROWS_PER_STATEMENT) {
      this.#many.run(this.#params);
      this.#pending = 0;
    }
  }

  /** Forgets rows not yet written. */
  reset(): void {
    this.#pending = 0;
  }

  /** Writes the rows of an incomplete multi-row statement one by one. */
  finish(): void {
    const width = this.#table.columns.length;
    for (let i = 0; i < this.#pending; i++) this.#one.run(this.#params.slice(i * width, (i + 1) * width));
    this.#pending = 0;
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
    apply: async (sql, version) => {
      db.exec(sql);
      db.prepare('INSERT INTO tracks_schema_version (version) VALUES (?)').run(version);
    },
  };
}

/** An exposure's key in tracks_exposures: its set and unit. */
export type UnitKey = readonly [trackSetId: string, unit: string];

/**
 * The parts of a summary one call reads. A unit's sums need only its own rows, so the units
 * can be summed in ranges of keys (`from` inclusive, `to` exclusive, either end open) apart,
 * and the rows concatenated (buildSummary adds rows of one cell). SqliteStore reads the
 * exposure counts (`sets`) only once both halves' conversions are summed: in a snapshot no
 * older than theirs, so every unit whose conversions are summed is among the users
 * (exposures are only added by recording; a tool that deletes exposures meanwhile could undo
 * that). Percentile caps rank every unit: a range cannot have them.
 */
export interface SummaryPart {
  /** Sum the conversions of these exposed units; absent: of none. */
  readonly units?: { readonly from?: UnitKey; readonly to?: UnitKey };
  /** Read the health rows: runs, errors and latency histograms. */
  readonly health?: boolean;
  /** Read the exposure counts and what is kept per set: definitions, phases, controls, guardrails. */
  readonly sets?: boolean;
}

/** Every part: a summary in one pass. */
const WHOLE_SUMMARY: SummaryPart = { units: {}, health: true, sets: true };

/** The rows for buildSummary, in a few grouped queries over the file. */
function summaryRowsSqlite(db: Database, options: SummarizeOptions | undefined, part: SummaryPart): SummaryRows {
  const id = options?.trackSetId;
  const daily = options?.daily !== false;
  const params = id === undefined ? {} : { id };
  const where = (alias: string) => (id === undefined ? '' : `WHERE ${alias}track_set_id = @id`);
  const and = (alias: string) => (id === undefined ? '' : `AND ${alias}track_set_id = @id`);
  const all = <T>(sql: string, extra: Record<string, unknown> = {}) => db.prepare(sql).all({ ...params, ...extra }) as T[];
  const definition = `d.track_set_id AS trackSetId, COALESCE(d.phase, '') AS phase, d.at, d.weights, d.coverage, d.control, d.sticky, d.stopped, d.holdout`;
  const sets = part.sets === true;
  // Each phase's first definition (its start and configuration), and each set's latest.
  const phases = !sets
    ? []
    : all<DefinitionSqlRow>(`SELECT ${definition} FROM tracks_definitions d
    WHERE d.event_id = (SELECT x.event_id FROM tracks_definitions x WHERE x.track_set_id = d.track_set_id
      AND COALESCE(x.phase, '') = COALESCE(d.phase, '') ORDER BY x.at, x.event_id LIMIT 1) ${and('d.')}`).map(definitionRow);
  const definitions = !sets
    ? []
    : all<DefinitionSqlRow>(`SELECT ${definition} FROM tracks_definitions d
    WHERE d.event_id = (SELECT x.event_id FROM tracks_definitions x WHERE x.track_set_id = d.track_set_id ORDER BY x.at DESC, x.event_id DESC LIMIT 1)
    ${and('d.')}`).map(definitionRow);
  const starts = all<PhaseStart & { holdoutShare: number | null }>(phaseStartsSql(SQLITE_DIALECT, id === undefined ? '' : 'WHERE track_set_id = @id OR holdout = 1')).map(startOf);
  // Conversions count until the first start of another phase after the exposure: the windows, as a small table.
  const ended = phaseWindows(starts).map((w) => [w.trackSetId, w.phase, w.from, w.to, w.ended]);
  const day = (column: string) => (daily ? `${column} / 86400000` : 'NULL');
  // Segments: the unit's value of one dimension, kept with its exposure as JSON.
  const by = options?.by;
  if (by !== undefined) assertDimension(by);
  const segment = (alias: string) => (by === undefined ? '' : `, COALESCE(json_extract(${alias}dimensions, @segmentPath), '') AS segment`);
  const segmentParams = by === undefined ? {} : { segmentPath: `$."${by}"` };
  // The units summed: the exposures' primary key read from one key to another.
  const range = part.units;
  const unitsIn = [range?.from && 'AND (e.track_set_id, e.unit) >= (@fromSet, @fromUnit)', range?.to && 'AND (e.track_set_id, e.unit) < (@toSet, @toUnit)'].filter(Boolean).join(' ');
  const rangeParams = {
    ...(range?.from === undefined ? {} : { fromSet: range.from[0], fromUnit: range.from[1] }),
    ...(range?.to === undefined ? {} : { toSet: range.to[0], toUnit: range.to[1] }),
  };
  // Exposures are counted from the trigger-kept tracks_exposure_counts (a row per set, phase,
  // track, dimensions and day: a few rows, not a scan), the segment read once per distinct
  // dimensions rather than once per unit ('' is "no dimensions" there).
  const exposures = !sets
    ? []
    : all<ExposureCell>(
        `SELECT track_set_id AS trackSetId, phase, ${daily ? 'day' : 'NULL'} AS day, track, SUM(users) AS users, MIN(first_at) AS first, MAX(last_at) AS last
          ${by === undefined ? '' : ", COALESCE(json_extract(NULLIF(dimensions, ''), @segmentPath), '') AS segment"}
        FROM tracks_exposure_counts ${where('')} GROUP BY 1, 2, 3, 4 ${by === undefined ? '' : ', segment'}`,
        segmentParams,
      );
  // Per user and metric: the total and number of conversions at or after the exposure and
  // before the end of the user's phase, and (CUPED's covariate) the total and number in the
  // pre-exposure window. Without a window the join is the plain "at or after the exposure".
  const endsTable = ended.length > 0
    ? `ends AS (SELECT json_extract(value, '$[0]') AS track_set_id, json_extract(value, '$[1]') AS phase, json_extract(value, '$[2]') AS from_at,
        json_extract(value, '$[3]') AS to_at, json_extract(value, '$[4]') AS ended FROM json_each(@ends)),`
    : '';
  const window = options?.preExposure;
  const back = longestWindowOf(window);
  const windows = window?.byMetric === undefined ? [] : [...window.byMetric];
  const windowsTable = windows.length > 0 ? `w AS (SELECT json_extract(value, '$[0]') AS metric, json_extract(value, '$[1]') AS ms FROM json_each(@windows)),` : '';
  const after = ended.length > 0 ? 'c.at >= e.at AND (x.ended IS NULL OR c.at < x.ended)' : 'c.at >= e.at';
  const inWindow = back === 0 ? after : `(${after}) OR (c.at < e.at AND c.at >= e.at - ${windows.length > 0 ? 'COALESCE(w.ms, @window)' : '@window'})`;
  const perUser = `${endsTable} ${windowsTable} u AS (
      SELECT e.track_set_id AS trackSetId, COALESCE(e.phase, '') AS phase, ${day('e.at')} AS day, e.track, e.unit, c.metric ${segment('e.')},
        SUM(CASE WHEN c.at >= e.at THEN c.value END) AS total, SUM(c.at >= e.at) AS n,
        COALESCE(SUM(CASE WHEN c.at < e.at THEN c.value END), 0.0) AS preTotal, SUM(c.at < e.at) AS preN
      FROM tracks_exposures e JOIN tracks_conversions c ON c.unit = e.unit AND c.at >= e.at - @back
      ${ended.length > 0 ? "LEFT JOIN ends x ON x.track_set_id = e.track_set_id AND x.phase = COALESCE(e.phase, '') AND e.at >= x.from_at AND e.at < x.to_at" : ''}
      ${windows.length > 0 ? 'LEFT JOIN w ON w.metric = c.metric' : ''}
      WHERE (${inWindow}) ${and('e.')} ${unitsIn}
      GROUP BY e.track_set_id, e.unit, c.metric)`;
  const endParams = {
    ...segmentParams,
    ...rangeParams,
    back,
    ...(back > 0 ? { window: window?.ms ?? 0 } : {}),
    ...(windows.length > 0 ? { windows: JSON.stringify(windows) } : {}),
    ...(ended.length > 0 ? { ends: JSON.stringify(ended) } : {}),
  };
  // Caps (winsorization): a percentile cap's value per set and phase first (the unit ranked
  // percentileRank from the top; units without a conversion count as 0 for sum and count),
  // then every user's value limited in the summing pass.
  const caps = options?.caps ?? [];
  const ranksUnits = range !== undefined && caps.some((c) => c.percentile !== undefined);
  if (ranksUnits && unitsIn !== '') {
    throw new StoreError('tracks: a percentile cap ranks every unit: a summary with one cannot be summed over a range of units', { transient: false, code: 'TRACKS_SUMMARY_PART' });
  }
  // percentileRank in SQL: units count as 0 for sum and count metrics (every exposed unit), not for mean; ceil(x) as int(x) + (x > int(x)).
  const units = "(CASE WHEN r.kind = 'mean' THEN r.c ELSE n.users END)";
  const percentileCaps = ranksUnits
    ? percentileCapsOf(
        all<PercentileCapRow & { kind: string }>(
          `WITH ${perUser},
          k AS (SELECT json_extract(value, '$[0]') AS metric, json_extract(value, '$[1]') AS kind, json_extract(value, '$[2]') AS q FROM json_each(@percentiles)),
          n AS (SELECT track_set_id AS trackSetId, phase, SUM(users) AS users FROM tracks_exposure_counts ${where('')} GROUP BY 1, 2),
          v AS (SELECT u.trackSetId, u.phase, u.metric, k.kind, k.q,
              CASE k.kind WHEN 'count' THEN u.n WHEN 'mean' THEN u.total / u.n ELSE u.total END AS value
            FROM u JOIN k ON k.metric = u.metric WHERE u.n > 0),
          r AS (SELECT v.*, ROW_NUMBER() OVER (PARTITION BY v.trackSetId, v.phase, v.metric ORDER BY v.value DESC) AS rank,
              COUNT(*) OVER (PARTITION BY v.trackSetId, v.phase, v.metric) AS c FROM v)
          SELECT r.trackSetId, r.phase, r.metric, r.value, r.kind FROM r JOIN n ON n.trackSetId = r.trackSetId AND n.phase = r.phase
          WHERE r.rank = ${units} - (CAST(r.q * ${units} - 1e-9 AS INTEGER) + (r.q * ${units} - 1e-9 > CAST(r.q * ${units} - 1e-9 AS INTEGER))) + 1`,
          { ...endParams, percentiles: JSON.stringify(caps.filter((c) => c.percentile !== undefined).map((c) => [c.metric, c.kind, c.percentile])) },
        )
      )
    : [];
  const applied = appliedCaps(caps, percentileCaps);
  const capped = (expression: string, kind: string) =>
    applied.length === 0 ? expression : `CASE WHEN kc.kind = '${kind}' THEN MIN(${expression}, kc.value) ELSE ${expression} END`;
  const capsTable = applied.length === 0 ? '' : `,
    kc AS (SELECT json_extract(value, '$[0]') AS trackSetId, json_extract(value, '$[1]') AS phase, json_extract(value, '$[2]') AS metric,
      json_extract(value, '$[3]') AS kind, json_extract(value, '$[4]') AS value FROM json_each(@caps))`;
  const capsJoin = applied.length === 0 ? '' : 'LEFT JOIN kc ON kc.metric = u.metric AND (kc.trackSetId IS NULL OR (kc.trackSetId = u.trackSetId AND kc.phase = u.phase))';
  // Each user's values as the sums read them, capped where the metric has a cap.
  const perUserCapped = `${perUser}${capsTable},
    uc AS (SELECT u.trackSetId, u.phase, u.day, u.track, u.metric ${by === undefined ? '' : ', u.segment'}, u.n AS converted, u.preN AS preConverted,
        ${capped('u.total', 'sum')} AS total, ${capped('u.n', 'count')} AS n, ${capped('u.total / u.n', 'mean')} AS mean,
        ${capped('u.preTotal', 'sum')} AS preTotal, ${capped('u.preN', 'count')} AS preN,
        ${capped('CASE WHEN u.preN > 0 THEN u.preTotal / u.preN ELSE 0.0 END', 'mean')} AS preMean
      FROM u ${capsJoin})`;
  // Grouped by one key (a JSON array of the cell's names): SQLite sorts the users' rows to group
  // them, and one text key sorts and compares at a fraction of the cost of five or six.
  const metrics = range === undefined ? [] : all<MetricCell & { cell?: string }>(
    `WITH ${perUserCapped}
    SELECT json_array(trackSetId, phase, day, track, metric ${by === undefined ? '' : ', segment'}) AS cell, SUM(converted > 0) AS converted, COALESCE(SUM(total), 0) AS sum, COALESCE(SUM(total * total), 0) AS sumSquares,
      SUM(n) AS count, SUM(n * n) AS countSquares, COALESCE(SUM(mean), 0) AS meanSum, COALESCE(SUM(mean * mean), 0) AS meanSquares,
      SUM(preConverted > 0) AS preConverted, SUM(converted > 0 AND preConverted > 0) AS crossConverted,
      SUM(preTotal) AS preSum, SUM(preTotal * preTotal) AS preSumSquares, COALESCE(SUM(total * preTotal), 0) AS crossSum,
      SUM(preN) AS preCount, SUM(preN * preN) AS preCountSquares, SUM(n * preN) AS crossCount,
      COALESCE(SUM(CASE WHEN converted > 0 THEN preMean END), 0) AS preMeanSum,
      COALESCE(SUM(CASE WHEN converted > 0 THEN preMean * preMean END), 0) AS preMeanSquares,
      COALESCE(SUM(mean * preMean), 0) AS crossMean
    FROM uc GROUP BY 1`,
    { ...endParams, ...(applied.length > 0 ? { caps: JSON.stringify(applied.map((c) => [c.trackSetId, c.phase, c.metric, c.kind, c.value])) } : {}) },
  ).map(({ cell, ...sums }) => {
    const [trackSetId, phase, day, track, metric, segment] = JSON.parse(cell!) as [string, string, string | null, string, string, string?];
    return { ...sums, trackSetId, phase, day, track, metric, ...(by === undefined ? {} : { segment: segment! }) };
  });
  const ratios = options?.ratios;
  const products =
    ratios === undefined
      ? undefined
      : ratios.length === 0 || range === undefined
        ? []
        : all<ProductCell>(
            `WITH ${perUser},
            r AS (SELECT json_extract(value, '$[0]') AS numerator, json_extract(value, '$[1]') AS denominator FROM json_each(@ratios))
            SELECT a.trackSetId, a.phase, a.day, a.track, r.numerator, r.denominator, COALESCE(SUM(a.total * b.total), 0) AS sum ${by === undefined ? '' : ', a.segment AS segment'}
            FROM r JOIN u a ON a.metric = r.numerator JOIN u b ON b.trackSetId = a.trackSetId AND b.unit = a.unit AND b.metric = r.denominator
            -- Totals after the exposure only (u also holds users with nothing but CUPED's history).
            WHERE a.n > 0 AND b.n > 0
            GROUP BY 1, 2, 3, 4, 5, 6 ${by === undefined ? '' : ', 8'}`,
            { ...endParams, ratios: JSON.stringify(ratios.map((r) => [r.numerator, r.denominator])) },
          );
  // Days are grouped as day numbers (integer division is much cheaper than strftime per row)
  // and named here, on the few grouped rows.
  for (const cell of [...exposures, ...metrics, ...(products ?? [])]) cell.day = cell.day === null ? null : utcDay(Number(cell.day) * 86_400_000);
  const health = part.health === true;
  return {
    exposures,
    metrics,
    ...(products === undefined ? {} : { products }),
    health: !health
      ? []
      : all(healthSql(SQLITE_DIALECT, where(''))),
    histogram: !health
      ? []
      : all(histogramSql(SQLITE_DIALECT, where('h.'))),
    phases,
    starts: sets ? starts : [],
    definitions,
    percentileCaps,
    controls: sets ? all<ControlRow>(controlsSql(SQLITE_DIALECT, where(''))).map(controlFromRow) : [],
    guardrails: sets ? all(guardrailsSql(SQLITE_DIALECT, where(''))) : [],
  };
}

/** The sets whose latest definition is sticky (sets of this process's code that are no longer sticky never ask). */
const STICKY_SETS_SQL = `SELECT d.track_set_id AS id FROM tracks_definitions d
  WHERE d.sticky = 1 AND d.at = (SELECT MAX(at) FROM tracks_definitions l WHERE l.track_set_id = d.track_set_id)
  GROUP BY d.track_set_id ORDER BY d.track_set_id`;
