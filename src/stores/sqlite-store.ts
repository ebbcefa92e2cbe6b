import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { sparseHistogram } from '../recording/latency-histogram.js';
import type { ControlState, RecordedEvent, Store, SummarizeOptions, TrackSetSums } from './store.js';
import { SQLITE_MIGRATIONS } from './schema.js';
import { buildSummary, totalsFromDaily, utcDay } from './summary-rows.js';
import type { SummaryRows } from './summary-rows.js';

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** How long a writer waits for another process's write lock, in ms (default 30,000). */
  readonly busyTimeoutMs?: number;
}

// Rows per multi-row exposure INSERT: fewer statement steps per batch (999-variable safe).
const EXPOSURE_CHUNK = 100;

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

/**
 * The embedded store: one SQLite file, shared safely by several processes (WAL journal,
 * busy timeout, one IMMEDIATE transaction per batch). The file and its tables are created on
 * first use; `better-sqlite3` is loaded only then, so importing tracks never loads it.
 *
 * @example
 * ```ts
 * configure({ store: sqliteStore('/var/lib/app/tracks.db', { busyTimeoutMs: 10_000 }) });
 * // the same as configure({ store: '/var/lib/app/tracks.db' })
 * ```
 */
export function sqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  return new SqliteStore(path, options);
}

class SqliteStore implements Store {
  readonly description: string;
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  #db: Database | undefined;
  #statements: Statements | undefined;
  #closed = false;

  constructor(path: string, options: SqliteStoreOptions) {
    this.#path = path;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 30_000;
    // The absolute path: it names the store in messages and keys its default outbox file.
    this.description = `sqlite:${resolve(path)}`;
  }

  /** Opens (and migrates) the file on first use; a failure is retried on the next call. */
  #open(): Statements {
    if (this.#statements) return this.#statements;
    if (this.#closed) throw new Error(`tracks: the SQLite store ${this.#path} is closed`);
    let db: Database | undefined;
    try {
      const require = createRequire(import.meta.url);
      const Sqlite = require('better-sqlite3') as typeof BetterSqlite3;
      db = new Sqlite(this.#path, { timeout: this.#busyTimeoutMs });
      const opened = db;
      retryBusy(() => opened.pragma('journal_mode = WAL'), this.#busyTimeoutMs);
      opened.pragma('synchronous = NORMAL');
      retryBusy(() => migrate(opened), this.#busyTimeoutMs);
      this.#statements = prepare(opened);
      this.#db = opened;
      return this.#statements;
    } catch (error) {
      db?.close();
      throw storeError(`cannot open the SQLite store ${this.#path}`, error);
    }
  }

  async write(events: readonly RecordedEvent[]): Promise<void> {
    const s = this.#open();
    try {
      retryBusy(() => s.writeBatch.immediate(events), this.#busyTimeoutMs);
    } catch (error) {
      throw storeError(`cannot write to the SQLite store ${this.#path}`, error);
    }
  }

  async readControls(): Promise<ControlState[]> {
    const rows = this.#open().readControls.all() as Array<{ track_set_id: string; stopped: number; serve: string | null; at: number }>;
    return rows.map((r) => ({ trackSetId: r.track_set_id, stopped: r.stopped === 1, serve: r.serve, at: r.at }));
  }

  async writeControl(state: ControlState): Promise<void> {
    const s = this.#open();
    retryBusy(() => s.writeControl.run(state.trackSetId, state.stopped ? 1 : 0, state.serve, state.at), this.#busyTimeoutMs);
  }

  async readAssignments(trackSetId: string, units: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const unit of units) {
      const track = this.readAssignmentSync(trackSetId, unit);
      if (track !== undefined) found.set(unit, track);
    }
    return found;
  }

  readAssignmentSync(trackSetId: string, unit: string): string | undefined {
    const row = this.#open().readAssignment.get(trackSetId, unit) as { track: string } | undefined;
    return row?.track;
  }

  async summarize(options?: SummarizeOptions): Promise<TrackSetSums[]> {
    const db = (this.#open(), this.#db!);
    const id = options?.trackSetId;
    const where = (alias: string) => (id === undefined ? '' : `WHERE ${alias}track_set_id = @id`);
    const params = id === undefined ? {} : { id };
    const all = <T>(sql: string) => db.prepare(sql).all(params) as T[];
    const perUser = (day: boolean) => `
      SELECT e.track_set_id, e.track, ${day ? 'e.at / 86400000 AS day,' : ''}
             c.metric, SUM(c.value) AS total
      FROM tracks_exposures e JOIN tracks_conversions c ON c.unit = e.unit AND c.at >= e.at
      ${where('e.')}
      GROUP BY e.track_set_id, e.unit, c.metric`;
    const metricColumns = 'COUNT(*) AS converted, SUM(total) AS sum, SUM(total * total) AS sumSquares';
    const daily = options?.daily !== false;
    // With per-day sums the totals are added up from them: one pass over the data, not two.
    const dailyExposures = daily
      ? all<Required<SummaryRows['dailyExposures'][number]>>(`SELECT track_set_id AS trackSetId, at / 86400000 AS day,
          track, COUNT(*) AS users, MIN(at) AS first, MAX(at) AS last
          FROM tracks_exposures ${where('')} GROUP BY track_set_id, day, track`)
      : [];
    const dailyMetrics = daily
      ? all<SummaryRows['dailyMetrics'][number]>(`SELECT track_set_id AS trackSetId, day, track, metric, ${metricColumns}
          FROM (${perUser(true)}) GROUP BY track_set_id, day, track, metric`)
      : [];
    // Days are grouped as day numbers (integer division is much cheaper than strftime per row)
    // and named here, on the few grouped rows.
    for (const row of [...dailyExposures, ...dailyMetrics]) row.day = utcDay(Number(row.day) * 86_400_000);
    const totals = daily
      ? totalsFromDaily(dailyExposures, dailyMetrics)
      : {
          exposures: all<SummaryRows['exposures'][number]>(`SELECT track_set_id AS trackSetId, track, COUNT(*) AS users, MIN(at) AS first, MAX(at) AS last
            FROM tracks_exposures ${where('')} GROUP BY track_set_id, track`),
          metrics: all<SummaryRows['metrics'][number]>(`SELECT track_set_id AS trackSetId, track, metric, ${metricColumns}
            FROM (${perUser(false)}) GROUP BY track_set_id, track, metric`),
        };
    const rows: SummaryRows = {
      ...totals,
      health: all(`SELECT track_set_id AS trackSetId, track, SUM(runs) AS runs, SUM(errors) AS errors, SUM(total_ms) AS totalMs
        FROM tracks_health ${where('')} GROUP BY track_set_id, track`),
      histogram: all(`SELECT h.track_set_id AS trackSetId, h.track, CAST(j.key AS INTEGER) AS bucket, SUM(j.value) AS count
        FROM tracks_health h, json_each(h.histogram) j ${where('h.')} GROUP BY h.track_set_id, h.track, j.key`),
      dailyExposures,
      dailyMetrics,
      definitions: all<{ trackSetId: string; weights: string; coverage: number }>(
        `SELECT d.track_set_id AS trackSetId, d.weights, d.coverage FROM tracks_definitions d
         WHERE d.event_id = (SELECT event_id FROM tracks_definitions x WHERE x.track_set_id = d.track_set_id ORDER BY at DESC, event_id DESC LIMIT 1)
         ${id === undefined ? '' : 'AND d.track_set_id = @id'}`,
      ).map((r) => ({ ...r, weights: JSON.parse(r.weights) as Record<string, number> })),
      controls: await this.readControls(),
      guardrails: all(`SELECT track_set_id AS trackSetId, track, cause, at FROM tracks_guardrails ${where('')}`),
    };
    return buildSummary(rows, id);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#statements = undefined;
    this.#db?.close();
    this.#db = undefined;
  }
}

interface Statements {
  writeBatch: BetterSqlite3.Transaction<(events: readonly RecordedEvent[]) => void>;
  readControls: Statement;
  writeControl: Statement;
  readAssignment: Statement;
}

function migrate(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS tracks_schema_version (version INTEGER NOT NULL)');
  db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS version FROM tracks_schema_version').get() as { version: number | null };
    const current = row.version ?? 0;
    if (current > SQLITE_MIGRATIONS.length) {
      throw new Error(`the file has schema version ${current}, newer than this tracks (${SQLITE_MIGRATIONS.length}); upgrade tracks`);
    }
    for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
      db.exec(SQLITE_MIGRATIONS[v]!);
      db.prepare('INSERT INTO tracks_schema_version (version) VALUES (?)').run(v + 1);
    }
  }).immediate();
}

function prepare(db: Database): Statements {
  const exposureRow = '(?, ?, ?, ?, ?)';
  const exposureSql = (rows: number) =>
    `INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id) VALUES ${new Array(rows).fill(exposureRow).join(', ')} ON CONFLICT DO NOTHING`;
  const exposureOne = db.prepare(exposureSql(1));
  const exposureMany = db.prepare(exposureSql(EXPOSURE_CHUNK));
  const conversion = db.prepare('INSERT INTO tracks_conversions (event_id, unit, metric, value, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const health = db.prepare(
    'INSERT INTO tracks_health (event_id, track_set_id, track, minute, runs, errors, total_ms, histogram) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const definition = db.prepare('INSERT INTO tracks_definitions (event_id, track_set_id, weights, coverage, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const guardrail = db.prepare('INSERT INTO tracks_guardrails (event_id, track_set_id, track, cause, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const params: unknown[] = new Array(EXPOSURE_CHUNK * 5);

  const writeBatch = db.transaction((events: readonly RecordedEvent[]) => {
    let pending = 0;
    for (const e of events) {
      switch (e.kind) {
        case 'exposure': {
          const o = pending * 5;
          params[o] = e.trackSetId;
          params[o + 1] = e.unit;
          params[o + 2] = e.track;
          params[o + 3] = e.at;
          params[o + 4] = e.eventId;
          if (++pending === EXPOSURE_CHUNK) {
            exposureMany.run(params);
            pending = 0;
          }
          break;
        }
        case 'conversion':
          conversion.run(e.eventId, e.unit, e.metric, e.value, e.at);
          break;
        case 'health':
          health.run(e.eventId, e.trackSetId, e.track, e.minute, e.runs, e.errors, e.totalMs, JSON.stringify(sparseHistogram(e.histogram)));
          break;
        case 'definition':
          definition.run(e.eventId, e.trackSetId, JSON.stringify(e.weights), e.coverage, e.at);
          break;
        case 'guardrail':
          guardrail.run(e.eventId, e.trackSetId, e.track, e.cause, e.at);
          break;
      }
    }
    for (let i = 0; i < pending; i++) exposureOne.run(params.slice(i * 5, i * 5 + 5));
  });
  return {
    writeBatch,
    readControls: db.prepare('SELECT track_set_id, stopped, serve, at FROM tracks_controls'),
    writeControl: db.prepare(
      'INSERT INTO tracks_controls (track_set_id, stopped, serve, at) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (track_set_id) DO UPDATE SET stopped = excluded.stopped, serve = excluded.serve, at = excluded.at',
    ),
    readAssignment: db.prepare('SELECT track FROM tracks_exposures WHERE track_set_id = ? AND unit = ?'),
  };
}

/**
 * Runs `fn`, retrying while SQLite reports the database busy. The busy timeout covers waiting
 * for a lock; this covers the few cases it does not (changing the journal mode, a lock
 * upgrade), so SQLITE_BUSY never reaches the caller before `timeoutMs`.
 */
function retryBusy<T>(fn: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      return fn();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if ((code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED') || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    }
  }
}

/** An error saying what failed and where, keeping the driver's error as its cause. */
export function storeError(what: string, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  const wrapped = new Error(`tracks: ${what}: ${reason}`, { cause: error });
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== undefined) Object.assign(wrapped, { code });
  return wrapped;
}
