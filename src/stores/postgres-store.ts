import { createRequire } from 'node:module';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { TracksError } from '../errors.js';
import { sparseHistogram } from '../recording/latency-histogram.js';
import type { ControlState, RecordedEvent, Store, SummarizeOptions, TrackSetSums } from './store.js';
import { POSTGRES_MIGRATIONS } from './schema.js';
import { storeError } from './sqlite-store.js';
import { buildSummary, totalsFromDaily, utcDay } from './summary-rows.js';
import type { SummaryRows } from './summary-rows.js';

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /**
   * The schema holding the tracks_ tables, created when missing (default `public`). A URL can
   * name it too, as `?schema=analytics`, which is how the `tracks` commands reach it.
   */
  readonly schema?: string;
  /** Connections of the pool tracks creates from a URL (default 4). */
  readonly maxConnections?: number;
}

/** Fewest rows per COPY when a batch is split over connections. */
const CHUNK_ROWS = 2_500;

/**
 * Connections one table's batch is split over. Measured on a 2-core server: two parallel COPYs
 * beat four (more backends than cores only adds switching), and beat one.
 */
const PARALLEL_WRITES = 2;

type ColumnType = 'text' | 'int8' | 'float8';

const EXPOSURE_COLUMNS = [['track_set_id', 'text'], ['unit', 'text'], ['track', 'text'], ['at', 'int8'], ['event_id', 'text']] as const;
const CONVERSION_COLUMNS = [['event_id', 'text'], ['unit', 'text'], ['metric', 'text'], ['value', 'float8'], ['at', 'int8']] as const;
const HEALTH_COLUMNS = [
  ['event_id', 'text'],
  ['track_set_id', 'text'],
  ['track', 'text'],
  ['minute', 'int8'],
  ['runs', 'int8'],
  ['errors', 'int8'],
  ['total_ms', 'float8'],
  ['histogram', 'text'],
] as const;
const DEFINITION_COLUMNS = [['event_id', 'text'], ['track_set_id', 'text'], ['weights', 'text'], ['coverage', 'float8'], ['at', 'int8']] as const;
const GUARDRAIL_COLUMNS = [['event_id', 'text'], ['track_set_id', 'text'], ['track', 'text'], ['cause', 'text'], ['at', 'int8']] as const;

/** Memory for an analysis query's hash join of exposures with per-unit totals (a transaction setting). */
const ANALYSIS_WORK_MEM = '64MB';

/** Staging tables already created, per connection (a new connection after a restart starts empty). */
const stagedTables = new WeakMap<object, Set<string>>();

/** What tracks uses of `pg-copy-streams` (loaded with `pg`, on first write). */
interface CopyFromStream extends NodeJS.WritableStream {
  on(event: 'finish', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

/** Sends `text` (COPY text format) through a COPY ... FROM STDIN statement on `client`. */
async function copyText(client: PoolClient, sql: string, text: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const { from } = require('pg-copy-streams') as { from: (sql: string) => unknown };
  const stream = client.query(from(sql) as never) as unknown as CopyFromStream;
  await new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.end(text);
  });
}

/** Rows [from, to) of column-wise `values` in COPY text format (tab-separated, escaped). */
function copyRows(columns: readonly (readonly [string, ColumnType])[], values: unknown[][], from: number, to: number): string {
  const last = columns.length - 1;
  let text = '';
  for (let r = from; r < to; r++) {
    for (let c = 0; c <= last; c++) {
      const v = values[c]![r];
      text += typeof v === 'string' ? copyEscape(v) : String(v);
      text += c === last ? '\n' : '\t';
    }
  }
  return text;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function copyEscape(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]!) : value;
}

/** What tracks needs of a `pg.Pool` (yours, or one it creates from a URL). */
export type PgPool = Pick<Pool, 'query' | 'connect' | 'end' | 'on'>;

/**
 * The shared store: a PostgreSQL database (by URL, or your `pg.Pool`). Batches are COPYed into a
 * per-connection temporary table and moved with `INSERT ... SELECT ... ON CONFLICT DO NOTHING`,
 * so a batch of any size is a handful of statements. Tables are created on first use; `pg` and
 * `pg-copy-streams` are loaded only then.
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
    const fromUrl = typeof source === 'string' ? schemaInUrl(source) : { url: undefined, schema: undefined };
    if (fromUrl.schema !== undefined && options.schema !== undefined && fromUrl.schema !== options.schema) {
      throw new TracksError(
        `postgresStore: the URL names schema '${fromUrl.schema}' and options.schema is '${options.schema}'; give the schema once`,
      );
    }
    const schema = options.schema ?? fromUrl.schema;
    this.#source = fromUrl.url ?? source;
    this.#ownPool = typeof source === 'string';
    this.#schema = schema ?? 'public';
    this.#s = quoteIdent(this.#schema);
    this.#maxConnections = options.maxConnections ?? 4;
    this.description = fromUrl.url !== undefined ? `${redact(fromUrl.url)}${schema ? `#${schema}` : ''}` : `postgres:pool#${this.#schema}`;
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

  /** The schema version recorded in the database, or 0 when tracks has not created its tables yet. */
  async #installedVersion(db: Pick<PgPool, 'query'>): Promise<number> {
    const { rows } = await db.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [`${this.#s}.tracks_schema_version`]);
    if (rows[0]?.exists !== true) return 0;
    const found = await db.query<{ version: number | null }>(`SELECT MAX(version) AS version FROM ${this.#s}.tracks_schema_version`);
    return found.rows[0]?.version ?? 0;
  }

  /** Whether `version` is this library's; throws when the database was migrated by a newer tracks. */
  #isCurrent(version: number): boolean {
    if (version > POSTGRES_MIGRATIONS.length) {
      throw new Error(`the schema has version ${version}, newer than this tracks (${POSTGRES_MIGRATIONS.length}); upgrade tracks`);
    }
    return version === POSTGRES_MIGRATIONS.length;
  }

  async #migrate(pool: PgPool): Promise<void> {
    // Up to date: nothing to lock or create, so a role that may only read can report.
    if (this.#isCurrent(await this.#installedVersion(pool))) return;
    const client: PoolClient = await pool.connect();
    try {
      await client.query('BEGIN');
      // One migrator at a time across processes; the lock ends with the transaction.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('tracks:migrate'))");
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#s}.tracks_schema_version (version integer NOT NULL)`);
      // Read again under the lock: another process may have migrated meanwhile.
      const current = await this.#installedVersion(client);
      this.#isCurrent(current);
      for (let v = current; v < POSTGRES_MIGRATIONS.length; v++) {
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
    // Each chunk is COPYed into a session-local staging table and moved with one
    // `INSERT ... SELECT ... ON CONFLICT DO NOTHING` in a single transaction, so it is idempotent:
    // a batch cut short by a failure is simply written again. Large batches are cut into chunks
    // written over a few connections at once, so the server's cores share the index work.
    const insert = async (table: string, columns: readonly (readonly [string, ColumnType])[], values: unknown[][]) => {
      const rows = values[0]!.length;
      if (rows === 0) return;
      const chunk = Math.max(CHUNK_ROWS, Math.ceil(rows / Math.min(PARALLEL_WRITES, this.#maxConnections)));
      const writes: Promise<void>[] = [];
      for (let from = 0; from < rows; from += chunk) {
        writes.push(this.#copyChunk(pool, table, columns, values, from, Math.min(rows, from + chunk)));
      }
      const results = await Promise.allSettled(writes);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    };
    try {
      await insert('tracks_exposures', EXPOSURE_COLUMNS, exposures);
      await insert('tracks_conversions', CONVERSION_COLUMNS, conversions);
      await insert('tracks_health', HEALTH_COLUMNS, health);
      await insert('tracks_definitions', DEFINITION_COLUMNS, definitions);
      await insert('tracks_guardrails', GUARDRAIL_COLUMNS, guardrails);
    } catch (error) {
      throw storeError(`cannot write to the PostgreSQL store ${this.description}`, error);
    }
  }

  /**
   * Rows [from, to) of `values` into `table`: COPY (text format) into a temporary staging table
   * of this connection (created once per connection, emptied at every commit), then moved with
   * `INSERT ... SELECT ... ON CONFLICT DO NOTHING`, in one transaction. COPY is the cheapest way
   * for the server to take rows in; ON CONFLICT keeps every write idempotent.
   */
  async #copyChunk(pool: PgPool, table: string, columns: readonly (readonly [string, ColumnType])[], values: unknown[][], from: number, to: number): Promise<void> {
    const client = await pool.connect();
    const staging = `pg_temp.tracks_staging_${table}`;
    let broken: Error | undefined;
    try {
      let prepared = stagedTables.get(client);
      if (prepared === undefined) {
        stagedTables.set(client, (prepared = new Set()));
        // A checked-out connection dropped by a server restart emits 'error' on the client;
        // without a listener that would crash the host. The pending query rejects as well.
        client.on('error', () => {});
      }
      if (!prepared.has(staging)) {
        const defs = columns.map(([name, type]) => `${name} ${type}`).join(', ');
        await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${staging} (${defs}) ON COMMIT DELETE ROWS`);
        prepared.add(staging);
      }
      const names = columns.map(([name]) => name).join(', ');
      await client.query('BEGIN');
      try {
        await copyText(client, `COPY ${staging} (${names}) FROM STDIN`, copyRows(columns, values, from, to));
        await client.query(`INSERT INTO ${this.#s}.${table} (${names}) SELECT ${names} FROM ${staging} ON CONFLICT DO NOTHING`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    } catch (error) {
      // A connection that failed mid-COPY or mid-transaction is not reused.
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
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

  /**
   * Rows of one analysis query, in a read-only transaction with JIT off (compiling costs more
   * than these single-pass aggregates gain) and room for the join's hash table in memory.
   */
  async #analysisRows<T extends QueryResultRow>(sql: string, params: unknown[]): Promise<T[]> {
    const pool = await this.#open();
    const client = await pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SELECT set_config('jit', 'off', true), set_config('work_mem', '${ANALYSIS_WORK_MEM}', true)`);
      const { rows } = await client.query<T>(sql, params);
      await client.query('COMMIT');
      return rows;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * ANALYZEs a summary table that grew by a fifth since its last statistics (or never had any).
   * Autovacuum does this when it is on; when it is off or behind, the planner guesses 200
   * distinct units and hashes the million exposures instead of the unit totals, at twice the
   * cost. Without the right to ANALYZE (not the owner, or a read-only standby) the report goes on.
   */
  async #refreshPlannerStatistics(): Promise<void> {
    const stale = await this.#rows<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname IN ('tracks_unit_totals', 'tracks_exposure_counts')
         AND (c.reltuples < 0 OR pg_relation_size(c.oid) / current_setting('block_size')::int > 1.2 * c.relpages + 8)`,
      [this.#schema],
    );
    for (const { name } of stale) {
      await this.#rows(`ANALYZE ${this.#s}.${quoteIdent(name)}`).catch(() => {});
    }
  }

  async summarize(options?: SummarizeOptions): Promise<TrackSetSums[]> {
    const s = this.#s;
    const id = options?.trackSetId;
    const params = id === undefined ? [] : [id];
    const where = (alias: string) => (id === undefined ? '' : `WHERE ${alias}track_set_id = $1`);
    const and = (alias: string) => (id === undefined ? '' : `AND ${alias}track_set_id = $1`);
    const q = <T extends QueryResultRow>(sql: string) => this.#rows<T>(sql, params);
    const daily = options?.daily !== false;
    const day = daily ? '(e.at / 86400000)::integer::text' : "''";
    await this.#refreshPlannerStatistics();
    // Exposure counts come from the trigger-kept per-day table: a few rows, not a scan. A user's
    // total of a metric is the pre-added total of the unit when every conversion came at or
    // after the exposure ("settled"), which the join checks per row without a sub-select, so
    // the server can split it over its cores.
    const [exposureRows, settled, health, histogram, definitions, guardrails, controls] = await Promise.all([
      q<Required<SummaryRows['dailyExposures'][number]>>(`SELECT track_set_id AS "trackSetId", day::text AS day, track,
        SUM(users)::float8 AS users, MIN(first_at)::float8 AS first, MAX(last_at)::float8 AS last
        FROM ${s}.tracks_exposure_counts ${where('')} GROUP BY track_set_id, day, track`),
      this.#analysisRows<SummaryRows['dailyMetrics'][number] & { unsettled: number }>(
        `SELECT e.track_set_id AS "trackSetId", ${day} AS day, e.track, t.metric,
          (COUNT(*) FILTER (WHERE t.first_at >= e.at))::float8 AS converted,
          COALESCE(SUM(t.total) FILTER (WHERE t.first_at >= e.at), 0)::float8 AS sum,
          COALESCE(SUM(t.total * t.total) FILTER (WHERE t.first_at >= e.at), 0)::float8 AS "sumSquares",
          (COUNT(*) FILTER (WHERE t.first_at < e.at))::float8 AS unsettled
        FROM ${s}.tracks_exposures e JOIN ${s}.tracks_unit_totals t ON t.unit = e.unit AND t.last_at >= e.at
        ${where('e.')} GROUP BY 1, 2, 3, 4`,
        params,
      ),
      q<SummaryRows['health'][number]>(`SELECT track_set_id AS "trackSetId", track, SUM(runs)::float8 AS runs,
        SUM(errors)::float8 AS errors, SUM(total_ms)::float8 AS "totalMs" FROM ${s}.tracks_health ${where('')} GROUP BY track_set_id, track`),
      q<SummaryRows['histogram'][number]>(`SELECT h.track_set_id AS "trackSetId", h.track, j.key::int AS bucket, SUM(j.value::float8)::float8 AS count
        FROM ${s}.tracks_health h, json_each_text(h.histogram::json) j ${where('h.')} GROUP BY h.track_set_id, h.track, j.key`),
      q<{ trackSetId: string; weights: string; coverage: number }>(`SELECT DISTINCT ON (track_set_id) track_set_id AS "trackSetId", weights, coverage
        FROM ${s}.tracks_definitions ${where('')} ORDER BY track_set_id, at DESC, event_id DESC`),
      q<SummaryRows['guardrails'][number]>(`SELECT track_set_id AS "trackSetId", track, cause, at::float8 AS at FROM ${s}.tracks_guardrails ${where('')}`),
      this.readControls(),
    ]);
    // Users who also converted before their exposure: their totals count only the conversions
    // at or after it, re-added from the conversions of those units alone.
    const unsettled = settled.some((r) => r.unsettled > 0)
      ? await this.#analysisRows<SummaryRows['dailyMetrics'][number]>(
          `SELECT e.track_set_id AS "trackSetId", ${day} AS day, e.track, t.metric, COUNT(*)::float8 AS converted,
            SUM(x.total)::float8 AS sum, SUM(x.total * x.total)::float8 AS "sumSquares"
          FROM ${s}.tracks_unit_totals t
          JOIN ${s}.tracks_exposures e ON e.unit = t.unit AND t.first_at < e.at AND t.last_at >= e.at
          CROSS JOIN LATERAL (SELECT SUM(c.value) AS total FROM ${s}.tracks_conversions c
                              WHERE c.unit = t.unit AND c.metric = t.metric AND c.at >= e.at) x
          WHERE t.first_at < t.last_at ${and('e.')} GROUP BY 1, 2, 3, 4`,
          params,
        )
      : [];
    const metricRows = addMetricRows(settled.map(({ unsettled: _, ...row }) => row), unsettled);
    // Days are kept as day numbers and named here, on the few grouped rows.
    for (const row of exposureRows) row.day = utcDay(Number(row.day) * 86_400_000);
    if (daily) for (const row of metricRows) row.day = utcDay(Number(row.day) * 86_400_000);
    const totals = totalsFromDaily(exposureRows, metricRows);
    const rows: SummaryRows = {
      exposures: totals.exposures,
      metrics: totals.metrics,
      health,
      histogram,
      dailyExposures: daily ? exposureRows : [],
      dailyMetrics: daily ? metricRows : [],
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

type MetricRow = SummaryRows['dailyMetrics'][number];

/** Rows of `a` and `b` added up per (track set, day, track, metric); rows nobody converted in are left out. */
function addMetricRows(a: readonly MetricRow[], b: readonly MetricRow[]): MetricRow[] {
  const byKey = new Map<string, MetricRow>();
  for (const row of [...a, ...b]) {
    const key = `${row.trackSetId}\u0000${row.day}\u0000${row.track}\u0000${row.metric}`;
    const acc = byKey.get(key);
    if (acc === undefined) byKey.set(key, { ...row });
    else {
      acc.converted += row.converted;
      acc.sum += row.sum;
      acc.sumSquares += row.sumSquares;
    }
  }
  return [...byKey.values()].filter((row) => row.converted > 0);
}

/** The URL without a `schema` query parameter (pg would pass it to the server), and that schema. */
function schemaInUrl(url: string): { url: string; schema: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, schema: undefined }; // pg reports a malformed URL when it connects
  }
  const schema = parsed.searchParams.get('schema');
  if (schema === null) return { url, schema: undefined };
  if (schema === '') throw new TracksError('postgresStore: the URL has an empty ?schema=; name a schema or leave the parameter out');
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), schema };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
