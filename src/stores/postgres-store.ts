import { createRequire } from 'node:module';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { sparseHistogram } from '../recording/latency-histogram.js';
import type { ControlState, RecordedEvent, Store, SummarizeOptions, TrackSetSums } from './store.js';
import { POSTGRES_MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { storeError } from './sqlite-store.js';
import { buildSummary } from './summary-rows.js';
import type { SummaryRows } from './summary-rows.js';

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /** The schema holding the tracks_ tables, created when missing (default `public`). */
  readonly schema?: string;
  /** Connections of the pool tracks creates from a URL (default 4). */
  readonly maxConnections?: number;
}

/** Fewest rows per INSERT when a batch is split over connections. */
const CHUNK_ROWS = 2_500;

/** What tracks needs of a `pg.Pool` (yours, or one it creates from a URL). */
export type PgPool = Pick<Pool, 'query' | 'connect' | 'end' | 'on'>;

/**
 * The shared store: a PostgreSQL database (by URL, or your `pg.Pool`). Batches are written
 * with one `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING` per table, so a batch
 * of any size is a handful of statements. Tables are created on first use; `pg` is loaded only
 * then.
 *
 * @example
 * ```ts
 * configure({ store: postgresStore(process.env.DATABASE_URL!, { schema: 'analytics' }) });
 * // or: configure({ store: 'postgres://app@db/app' }), configure({ store: pool })
 * ```
 */
export function postgresStore(urlOrPool: string | PgPool, options: PostgresStoreOptions = {}): Store {
  return new PostgresStore(urlOrPool, options);
}

class PostgresStore implements Store {
  readonly description: string;
  readonly #schema: string;
  readonly #s: string;
  readonly #ownPool: boolean;
  readonly #source: string | PgPool;
  readonly #maxConnections: number;
  #pool: PgPool | undefined;
  #ready: Promise<void> | undefined;

  constructor(source: string | PgPool, options: PostgresStoreOptions) {
    this.#source = source;
    this.#ownPool = typeof source === 'string';
    this.#schema = options.schema ?? 'public';
    this.#s = quoteIdent(this.#schema);
    this.#maxConnections = options.maxConnections ?? 4;
    this.description = typeof source === 'string' ? `${redact(source)}${options.schema ? `#${options.schema}` : ''}` : `postgres:pool#${this.#schema}`;
  }

  #poolNow(): PgPool {
    if (this.#pool) return this.#pool;
    let pool: PgPool;
    if (typeof this.#source === 'string') {
      const require = createRequire(import.meta.url);
      const pg = require('pg') as typeof import('pg');
      // allowExitOnIdle: an idle pool must not keep the host process alive.
      pool = new pg.Pool({ connectionString: this.#source, max: this.#maxConnections, allowExitOnIdle: true });
    } else {
      pool = this.#source;
    }
    // An idle connection dropped by a server restart emits 'error' on the pool; without a
    // listener that would crash the host. The next query reconnects.
    pool.on('error', () => {});
    this.#pool = pool;
    return pool;
  }

  /** Connects and migrates once; a failure is retried on the next call. */
  async #open(): Promise<PgPool> {
    const pool = this.#poolNow();
    this.#ready ??= this.#migrate(pool).catch((error: unknown) => {
      this.#ready = undefined;
      throw storeError(`cannot open the PostgreSQL store ${this.description}`, error);
    });
    await this.#ready;
    return pool;
  }

  async #migrate(pool: PgPool): Promise<void> {
    const client: PoolClient = await pool.connect();
    try {
      await client.query('BEGIN');
      // One migrator at a time across processes; the lock ends with the transaction.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('tracks:migrate'))");
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#s}.tracks_schema_version (version integer NOT NULL)`);
      const { rows } = await client.query<{ version: number | null }>(`SELECT MAX(version) AS version FROM ${this.#s}.tracks_schema_version`);
      const current = rows[0]?.version ?? 0;
      if (current > SCHEMA_VERSION) {
        throw new Error(`the schema has version ${current}, newer than this tracks (${SCHEMA_VERSION}); upgrade tracks`);
      }
      for (let v = current; v < SCHEMA_VERSION; v++) {
        await client.query(POSTGRES_MIGRATIONS[v]!.replaceAll('{s}', this.#s));
        await client.query(`INSERT INTO ${this.#s}.tracks_schema_version (version) VALUES ($1)`, [v + 1]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async write(events: readonly RecordedEvent[]): Promise<void> {
    const pool = await this.#open();
    const s = this.#s;
    const exposures: unknown[][] = [[], [], [], [], []];
    const conversions: unknown[][] = [[], [], [], [], []];
    const health: unknown[][] = [[], [], [], [], [], [], [], []];
    const definitions: unknown[][] = [[], [], [], [], []];
    const guardrails: unknown[][] = [[], [], [], [], []];
    const add = (columns: unknown[][], ...values: unknown[]) => values.forEach((v, i) => columns[i]!.push(v));
    for (const e of events) {
      switch (e.kind) {
        case 'exposure':
          add(exposures, e.trackSetId, e.unit, e.track, e.at, e.eventId);
          break;
        case 'conversion':
          add(conversions, e.eventId, e.unit, e.metric, e.value, e.at);
          break;
        case 'health':
          add(health, e.eventId, e.trackSetId, e.track, e.minute, e.runs, e.errors, e.totalMs, JSON.stringify(sparseHistogram(e.histogram)));
          break;
        case 'definition':
          add(definitions, e.eventId, e.trackSetId, JSON.stringify(e.weights), e.coverage, e.at);
          break;
        case 'guardrail':
          add(guardrails, e.eventId, e.trackSetId, e.track, e.cause, e.at);
          break;
      }
    }
    // Each statement is idempotent, so a batch cut short by a failure is simply written again.
    // Large batches are cut into chunks written over several connections at once, so the
    // server's cores share the index work.
    const insert = async (table: string, columns: string, types: string[], values: unknown[][]) => {
      const rows = values[0]!.length;
      if (rows === 0) return;
      const unnest = types.map((t, i) => `$${i + 1}::${t}[]`).join(', ');
      const sql = `INSERT INTO ${s}.${table} (${columns}) SELECT * FROM unnest(${unnest}) ON CONFLICT DO NOTHING`;
      const chunk = Math.max(CHUNK_ROWS, Math.ceil(rows / this.#maxConnections));
      const writes: Promise<unknown>[] = [];
      for (let from = 0; from < rows; from += chunk) {
        writes.push(pool.query(sql, rows <= chunk ? values : values.map((column) => column.slice(from, from + chunk))));
      }
      const results = await Promise.allSettled(writes);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    };
    try {
      await insert('tracks_exposures', 'track_set_id, unit, track, at, event_id', ['text', 'text', 'text', 'int8', 'text'], exposures);
      await insert('tracks_conversions', 'event_id, unit, metric, value, at', ['text', 'text', 'text', 'float8', 'int8'], conversions);
      await insert(
        'tracks_health',
        'event_id, track_set_id, track, minute, runs, errors, total_ms, histogram',
        ['text', 'text', 'text', 'int8', 'int8', 'int8', 'float8', 'text'],
        health,
      );
      await insert('tracks_definitions', 'event_id, track_set_id, weights, coverage, at', ['text', 'text', 'text', 'float8', 'int8'], definitions);
      await insert('tracks_guardrails', 'event_id, track_set_id, track, cause, at', ['text', 'text', 'text', 'text', 'int8'], guardrails);
    } catch (error) {
      throw storeError(`cannot write to the PostgreSQL store ${this.description}`, error);
    }
  }

  async #rows<T extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const pool = await this.#open();
    return (await pool.query<T>(sql, params)).rows;
  }

  async readControls(): Promise<ControlState[]> {
    const rows = await this.#rows<{ track_set_id: string; stopped: boolean; serve: string | null; at: string }>(
      `SELECT track_set_id, stopped, serve, at FROM ${this.#s}.tracks_controls`,
    );
    return rows.map((r) => ({ trackSetId: r.track_set_id, stopped: r.stopped, serve: r.serve, at: Number(r.at) }));
  }

  async writeControl(state: ControlState): Promise<void> {
    await this.#rows(
      `INSERT INTO ${this.#s}.tracks_controls (track_set_id, stopped, serve, at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (track_set_id) DO UPDATE SET stopped = excluded.stopped, serve = excluded.serve, at = excluded.at`,
      [state.trackSetId, state.stopped, state.serve, state.at],
    );
  }

  async readAssignments(trackSetId: string, units: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.#rows<{ unit: string; track: string }>(
      `SELECT unit, track FROM ${this.#s}.tracks_exposures WHERE track_set_id = $1 AND unit = ANY($2::text[])`,
      [trackSetId, units],
    );
    return new Map(rows.map((r) => [r.unit, r.track]));
  }

  async summarize(options?: SummarizeOptions): Promise<TrackSetSums[]> {
    const s = this.#s;
    const id = options?.trackSetId;
    const params = id === undefined ? [] : [id];
    const where = (alias: string) => (id === undefined ? '' : `WHERE ${alias}track_set_id = $1`);
    const day = (column: string) => `to_char(to_timestamp(${column} / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
    const perUser = (withDay: boolean) => `
      SELECT e.track_set_id, e.track, ${withDay ? `${day('e.at')} AS day,` : ''} c.metric, SUM(c.value) AS total
      FROM ${s}.tracks_exposures e JOIN ${s}.tracks_conversions c ON c.unit = e.unit AND c.at >= e.at
      ${where('e.')}
      GROUP BY e.track_set_id, e.track, e.unit, e.at, c.metric`;
    const metricColumns = 'COUNT(*)::float8 AS converted, SUM(total)::float8 AS sum, SUM(total * total)::float8 AS "sumSquares"';
    const q = <T extends QueryResultRow>(sql: string) => this.#rows<T>(sql, params);
    const daily = options?.daily !== false;
    const [exposures, metrics, health, histogram, dailyExposures, dailyMetrics, definitions, guardrails, controls] = await Promise.all([
      q<SummaryRows['exposures'][number]>(`SELECT track_set_id AS "trackSetId", track, COUNT(*)::float8 AS users,
        MIN(at)::float8 AS first, MAX(at)::float8 AS last FROM ${s}.tracks_exposures ${where('')} GROUP BY track_set_id, track`),
      q<SummaryRows['metrics'][number]>(`SELECT track_set_id AS "trackSetId", track, metric, ${metricColumns}
        FROM (${perUser(false)}) u GROUP BY track_set_id, track, metric`),
      q<SummaryRows['health'][number]>(`SELECT track_set_id AS "trackSetId", track, SUM(runs)::float8 AS runs,
        SUM(errors)::float8 AS errors, SUM(total_ms)::float8 AS "totalMs" FROM ${s}.tracks_health ${where('')} GROUP BY track_set_id, track`),
      q<SummaryRows['histogram'][number]>(`SELECT h.track_set_id AS "trackSetId", h.track, j.key::int AS bucket, SUM(j.value::float8)::float8 AS count
        FROM ${s}.tracks_health h, json_each_text(h.histogram::json) j ${where('h.')} GROUP BY h.track_set_id, h.track, j.key`),
      daily
        ? q<SummaryRows['dailyExposures'][number]>(`SELECT track_set_id AS "trackSetId", ${day('at')} AS day, track, COUNT(*)::float8 AS users
          FROM ${s}.tracks_exposures ${where('')} GROUP BY 1, 2, 3`)
        : Promise.resolve([]),
      daily
        ? q<SummaryRows['dailyMetrics'][number]>(`SELECT track_set_id AS "trackSetId", day, track, metric, ${metricColumns}
          FROM (${perUser(true)}) u GROUP BY track_set_id, day, track, metric`)
        : Promise.resolve([]),
      q<{ trackSetId: string; weights: string; coverage: number }>(`SELECT DISTINCT ON (track_set_id) track_set_id AS "trackSetId", weights, coverage
        FROM ${s}.tracks_definitions ${where('')} ORDER BY track_set_id, at DESC, event_id DESC`),
      q<SummaryRows['guardrails'][number]>(`SELECT track_set_id AS "trackSetId", track, cause, at::float8 AS at FROM ${s}.tracks_guardrails ${where('')}`),
      this.readControls(),
    ]);
    const rows: SummaryRows = {
      exposures,
      metrics,
      health,
      histogram,
      dailyExposures,
      dailyMetrics,
      definitions: definitions.map((d) => ({ ...d, weights: JSON.parse(d.weights) as Record<string, number> })),
      controls,
      guardrails,
    };
    return buildSummary(rows, id);
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#ready = undefined;
    if (pool && this.#ownPool) await pool.end();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
