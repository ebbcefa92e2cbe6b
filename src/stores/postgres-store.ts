import { Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { TracksError } from '../errors.js';
import { quoted } from '../text.js';
import { assertStorable } from '../model/check-event.js';
import type { ControlState, RecordedEvent } from '../model/events.js';
import { EVENT_KINDS, EVENT_TABLES, earliestOrder, onConflict } from '../model/event-tables.js';
import type { Cell, Column, EventTable } from '../model/event-tables.js';
import type { CallOptions, CallTiming, StickyAssignment, StickyFilter, Store, WriteControlOptions } from '../model/store.js';
import { keepingAlive } from '../model/keep-alive.js';
import { StoreError } from '../model/store-error.js';
import { codeOf, messageOf } from '../errors.js';
import { assertDimension } from './dimension-option.js';
import type { SummarizeOptions, TrackSetSums } from '../model/sums.js';
import { postgresSummaryRows } from './postgres-summary.js';
import type { AnalysisPlan, PostgresSummaryReader } from './postgres-summary.js';
import { controlFromRow, controlParams, upsertControlSql } from './control-rows.js';
import { controlsSql, postgresDialect } from './summary-sql.js';
import type { ControlRow } from './control-rows.js';
import { migrate, noTracksData, readableVersion } from './migrations.js';
import { MISSING_TABLES, postgresStoreError } from './postgres-errors.js';
import { POSTGRES_MIGRATIONS, POSTGRES_OLDEST_READABLE } from './schema.js';
import { buildSummary } from './summary-rows.js';
import { METRIC_COLUMNS, declarationsOf } from './metric-rows.js';
import type { MetricRow } from './metric-rows.js';
import type { ShadowSums } from '../model/shadow.js';
import { shadowBucketSql, shadowCountSql, shadowSampleSql, shadowSumsOf } from './shadow-rows.js';
import type { ShadowBucketRow, ShadowCountRow, ShadowSampleRow } from './shadow-rows.js';
import type { MetricDeclaration } from '../model/metrics.js';
import { isObjectArgument, optionsError } from '../core/arguments.js';

/**
 * Options of {@link postgresStore}.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { schema: 'analytics', maxConnections: 8, timeoutMs: 10_000 };
 * configure({ store: postgresStore(process.env.DATABASE_URL!, options) });
 * ```
 */
export interface PostgresStoreOptions {
  /**
   * The schema holding the tracks_ tables, created by the first write when missing (default
   * `public`). A URL can name it too, as `?schema=analytics`, which is how the `tracks`
   * commands reach it.
   */
  readonly schema?: string | undefined;
  /** Connections of the pool tracks creates from a URL (default 4). */
  readonly maxConnections?: number | undefined;
  /**
   * The longest a call without its own deadline (a report, `tracks stop`) may take, in ms, and
   * the longest a connection attempt of the pool tracks creates may take (default 30,000).
   * Recording passes its `writeTimeout` as each call's deadline instead.
   */
  readonly timeoutMs?: number | undefined;
}

/**
 * A call's timing as this store's work carries it: with its deadline on the monotonic clock
 * too, for the server-side timeouts. Taken from the wall clock (the deadline's epoch ms) at
 * each statement, a step of the clock (an NTP correction, a resumed VM) shrank them to 1 ms and
 * the server cancelled writes under way (57014), which were then retried or spilled.
 */
type TimedCall = CallTiming & { readonly until: number };

/** The longest the schemas hint of a no-tracks-data error may take, in ms. */
const HINT_MS = 2_000;

/** Fewest rows per COPY when a batch is split over connections. */
const CHUNK_ROWS = 2_500;

/**
 * Connections one table's batch is split over. Measured on a 2-core server: two parallel COPYs
 * beat four (more backends than cores only adds switching), and beat one.
 */
const PARALLEL_WRITES = 2;

/** The longest server-side timeout tracks sets, in ms (PostgreSQL takes at most 2^31 - 1). */
const MAX_TIMEOUT_MS = 2_147_483_647 - 1_000;

/** SQLSTATE unique_violation: a COPY straight into a table met a row already stored. */
const UNIQUE_VIOLATION = '23505';

/** Memory for an analysis query's hash join of exposures with per-unit totals (a transaction setting). */
const ANALYSIS_WORK_MEM = '64MB';

/** Staging tables already created, per connection (a new connection after a restart starts empty). */
const stagedTables = new WeakMap<object, Set<string>>();

/**
 * A checked-out connection dropped by the server emits 'error' on the client; without a
 * listener that would crash the host (the pending query rejects as well). Once per connection,
 * which also starts its record of staging tables.
 */
function listenForErrors(client: PoolClient): void {
  if (stagedTables.has(client)) return;
  client.on('error', () => {});
  stagedTables.set(client, new Set());
}

/** What tracks uses of `pg-copy-streams` (loaded with `pg`, on first write). */
interface CopyFromStream extends NodeJS.WritableStream {
  on(event: 'finish', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

/**
 * What tracks needs of a `pg.Pool` (yours, or one it creates from a URL).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const pool: PgPool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * configure({ store: postgresStore(pool, { schema: 'analytics' }) });
 * ```
 */
export interface PgPool {
  // Declared here, not picked from pg's types, so that tracks' declarations need no @types/pg
  // in a user's project; a pg.Pool satisfies it.
  query(...args: never[]): unknown;
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The pool as tracks drives it: pg's own types, inside this file only. */
type DrivenPool = Pick<Pool, 'query' | 'connect' | 'end' | 'on'> & { removeListener?: Pool['removeListener'] };

/** Text compared byte by byte (a tie-break of the earliest exposure), as SQLite and the memory store compare it. */
const BYTE_ORDER = ' COLLATE "C"';

/**
 * The shared store: a PostgreSQL database (by URL, or your `pg.Pool`). Batches are COPYed
 * straight into the tables, or, when a row is already there, through a per-connection
 * temporary table and `INSERT ... SELECT ... ON CONFLICT`: a batch of any size is a handful
 * of statements, writing it twice stores it once, and a unit's earliest exposure is kept. Every call honours its caller's deadline: a connection that times out (silent,
 * blackholed, stuck) is destroyed, never reused; the pool tracks creates uses TCP keepalive,
 * and each transaction sets `statement_timeout` and `idle_in_transaction_session_timeout` to
 * the time left. Tables are created by the first write; reads create nothing. `pg` and
 * `pg-copy-streams` are loaded only on first use.
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

/**
 * A PostgreSQL database; see {@link postgresStore}.
 *
 * @example
 * ```ts
 * const store = new PostgresStore(process.env.DATABASE_URL!, { schema: 'analytics' });
 * const sums = await store.summarize({ trackSetId: 'delay' });
 * await store.close();
 * ```
 */
export class PostgresStore implements Store {
  readonly description: string;
  readonly identity?: string | undefined;
  readonly #schema: string;
  readonly #s: string;
  readonly #ownPool: boolean;
  readonly #source: string | PgPool;
  readonly #maxConnections: number;
  readonly #timeoutMs: number;
  #pool: DrivenPool | undefined;
  /** The sockets of the pool this store made, open or opening (close() ends what is left). */
  readonly #sockets = new Set<Socket>();
  /** Of those, the ones whose connection is not made yet. */
  readonly #connecting = new Set<Socket>();
  /**
   * Writes under way: close() lets them end, each within its own deadline, before it ends the
   * pool (cut, a write's outcome could not be told). Reads under way are cut after its grace.
   */
  readonly #writes = new Set<Promise<unknown>>();
  /** This store's own listener for the pool's 'error' (so close() can take it off a user's pool). */
  readonly #ignorePoolError = (): void => {};
  #migrated: Promise<void> | undefined;
  /** Whether the tables were seen at a version this one reads (reads then skip the check). */
  #tablesSeen = false;
  /** The schema version seen (reads of a store one version behind leave out what it lacks). */
  #version = 0;
  /** A replacement for a connection discarded after a timeout, connecting in the background (see #replace). */
  #replacing = false;
  /** Per table: chunks to write the careful way before trying the fast way again, and the next rest. */
  readonly #direct = new Map<string, { skip: number; rest: number }>();

  constructor(source: string | PgPool, options: PostgresStoreOptions = {}) {
    checkSource(source);
    checkOptions(options);
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
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    // As a URL the tracks commands take back (`--store`), the schema included, the password not.
    this.description = fromUrl.url !== undefined ? withSchema(redact(fromUrl.url), schema) : `postgres:pool?schema=${this.#schema}`;
    if (fromUrl.url !== undefined) this.identity = databaseOf(fromUrl.url, this.#schema);
  }

  write(events: readonly RecordedEvent[], options: CallOptions = {}): Promise<void> {
    return this.#writing(this.#write(events, options));
  }

  async #write(events: readonly RecordedEvent[], options: CallOptions): Promise<void> {
    assertStorable(`the PostgreSQL store ${this.description}`, events);
    const call = this.#timing(options);
    try {
      await this.#migrate(call);
      const rows = new Map<RecordedEvent['kind'], Cell[][]>();
      for (const event of events) {
        let list = rows.get(event.kind);
        if (list === undefined) rows.set(event.kind, (list = []));
        list.push(EVENT_TABLES[event.kind].row(event as never));
      }
      for (const kind of EVENT_KINDS) {
        const list = rows.get(kind);
        if (list !== undefined) await this.#insert(EVENT_TABLES[kind] as EventTable, list, call);
      }
    } catch (error) {
      throw this.#failure(`cannot write to the PostgreSQL store ${this.description}`, error);
    }
  }

  async serverTime(options: CallOptions = {}): Promise<number> {
    const call = this.#timing(options);
    try {
      return await this.#withClient(call, async (client) => {
        const { rows } = await client.query<{ now: number }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now');
        return Number(rows[0]!.now);
      });
    } catch (error) {
      throw this.#failure(`cannot read the clock of the PostgreSQL store ${this.description}`, error);
    }
  }

  async readControls(options: CallOptions = {}): Promise<ControlState[]> {
    const rows = await this.#read<ControlRow & QueryResultRow>(controlsSql(postgresDialect(this.#s), ''), [], options, 'controls');
    return (rows ?? []).map(controlFromRow);
  }

  async readDimensions(trackSetId: string, options: CallOptions = {}): Promise<string[]> {
    try {
      const rows = await this.#read<{ name: string } & QueryResultRow>(
        // Every distinct dimensions the set's exposures carry is a row of the counts (per track and day).
        `SELECT DISTINCT k AS name FROM (SELECT dimensions FROM ${this.#s}.tracks_exposure_counts WHERE track_set_id = $1 AND dimensions <> '' GROUP BY dimensions HAVING SUM(users) <> 0) e,
          jsonb_object_keys(e.dimensions::jsonb) k ORDER BY 1`,
        [trackSetId],
        options,
      );
      return (rows ?? []).map((r) => r.name);
    } catch (error) {
      // The tables were dropped since they were seen (42P01): nothing to list.
      if (error instanceof StoreError && error.code === '42P01') return [];
      throw error;
    }
  }

  async readShadow(trackSetId?: string, options: CallOptions = {}): Promise<ShadowSums> {
    const table = (name: string) => `${this.#s}.${name}`;
    const where = (prefix: string) => (trackSetId === undefined ? '' : `WHERE ${prefix}track_set_id = $1`);
    const params = trackSetId === undefined ? [] : [trackSetId];
    try {
      const [counts, buckets, samples] = await Promise.all([
        this.#read<ShadowCountRow & QueryResultRow>(shadowCountSql(table('tracks_shadow'), where(''), '::float8'), params, options),
        this.#read<ShadowBucketRow & QueryResultRow>(
          shadowBucketSql(table('tracks_shadow'), where('s.'), (column) => `json_each_text(${column}::json)`, 'j.key::int', 'j.value::float8'),
          params,
          options,
        ),
        this.#read<ShadowSampleRow & QueryResultRow>(shadowSampleSql(table('tracks_shadow_samples'), where(''), 'at::float8'), params, options),
      ]);
      return shadowSumsOf(counts ?? [], buckets ?? [], samples ?? []);
    } catch (error) {
      // The tables were dropped since they were seen (42P01): no shadow runs.
      if (error instanceof StoreError && error.code === '42P01') return { tracks: [], samples: [] };
      throw error;
    }
  }

  async readMetrics(options: CallOptions = {}): Promise<ReadonlyMap<string, MetricDeclaration>> {
    try {
      const rows = await this.#read<MetricRow & QueryResultRow>(
        `SELECT DISTINCT ON (name) ${METRIC_COLUMNS} FROM ${this.#s}.tracks_metrics ORDER BY name, at DESC, event_id DESC`,
        [],
        options,
      );
      return declarationsOf(rows ?? []);
    } catch (error) {
      // The tables were dropped since they were seen (42P01): no declarations.
      if (error instanceof StoreError && error.code === '42P01') return new Map();
      throw error;
    }
  }

  writeControl(state: ControlState, options: WriteControlOptions = {}): Promise<boolean> {
    return this.#writing(this.#writeControl(state, options));
  }

  async #writeControl(state: ControlState, options: WriteControlOptions): Promise<boolean> {
    const call = this.#timing(options);
    const ifEpoch = options.ifEpoch;
    try {
      await this.#migrate(call);
      const sql = upsertControlSql(`${this.#s}.tracks_controls`, (i) => `$${i + 1}`, 'int::boolean', ifEpoch !== undefined);
      const result = await this.#withClient(call, (client) => client.query(sql, ifEpoch === undefined ? controlParams(state) : [...controlParams(state), ifEpoch]));
      return (result.rowCount ?? 0) > 0;
    } catch (error) {
      throw this.#failure(`cannot write to the PostgreSQL store ${this.description}`, error);
    }
  }

  async readAssignments(trackSetId: string, units: readonly string[], options: CallOptions = {}): Promise<Map<string, string>> {
    if (units.length === 0) return new Map();
    const rows = await this.#read<{ unit: string; track: string }>(
      `SELECT unit, track FROM ${this.#s}.tracks_exposures WHERE track_set_id = $1 AND unit = ANY($2::text[])`,
      [trackSetId, units],
      options,
    );
    return new Map((rows ?? []).map((r) => [r.unit, r.track]));
  }

  async readStickyAssignments(limit: number, options: CallOptions = {}, filter?: StickyFilter): Promise<StickyAssignment[]> {
    // The sets whose latest definition is sticky (of the filter's), then each one's share of the limit.
    const rows = await this.#read<StickyAssignment & QueryResultRow>(
      `WITH sets AS (
         SELECT DISTINCT ON (track_set_id) track_set_id, sticky FROM ${this.#s}.tracks_definitions ORDER BY track_set_id, at DESC, event_id DESC),
       sticky AS (SELECT track_set_id FROM sets WHERE sticky = 1 AND ($2::text[] IS NULL OR track_set_id = ANY($2::text[]))),
       each AS (SELECT ($1::int / GREATEST(1, (SELECT COUNT(*) FROM sticky)))::int AS n)
       SELECT s.track_set_id AS "trackSetId", e.unit, e.track FROM sticky s
       CROSS JOIN LATERAL (SELECT unit, track FROM ${this.#s}.tracks_exposures x WHERE x.track_set_id = s.track_set_id AND x.at >= $3${filter === undefined ? '' : ' ORDER BY x.at DESC'} LIMIT (SELECT n FROM each)) e`,
      [limit, filter === undefined ? null : [...filter.trackSetIds], filter?.since ?? 0],
      options,
    );
    return rows ?? [];
  }

  async summarize(options?: SummarizeOptions): Promise<TrackSetSums[]> {
    if (options?.by !== undefined) assertDimension(options.by);
    const call = this.#timing({});
    try {
      if (!(await this.#hasTables(call))) throw noTracksData(`the PostgreSQL store ${this.description}`, await this.#otherSchemas(call));
      return await this.#summarize(options, call);
    } catch (error) {
      throw this.#failure(`cannot read the PostgreSQL store ${this.description}`, error);
    }
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#migrated = undefined;
    if (pool && this.#ownPool) await this.#end(pool);
    else if (pool) {
      // The user's pool lives on: take this store's listeners off it, or each store made over
      // it (a configure() and close() per test, say) would leave two behind.
      pool.removeListener?.('error', this.#ignorePoolError);
      pool.removeListener?.('acquire', listenForErrors);
    }
  }

  /**
   * Ends the pool this store made: once the writes under way have ended (each within its own
   * deadline), within 2 x CLOSE_GRACE_MS. pool.end() waits for a connection
   * still connecting to a server that does not answer (until its connect timeout) and for one to
   * a server gone silent to close its side; their sockets do not hold the process open (see
   * #poolNow), so a script awaiting close() would end mid-await (exit code 13, no word). The
   * connecting ones are of no use: destroyed at once; the others may end cleanly for the grace
   * time, then are destroyed. The wait holds the process open.
   */
  async #end(pool: DrivenPool): Promise<void> {
    // Writes under way end first, as pool.end() let them: each within its deadline.
    await keepingAlive(Promise.allSettled([...this.#writes]));
    for (const socket of this.#connecting) socket.destroy();
    const ended = pool.end().catch(() => {});
    const within = () => keepingAlive(Promise.race([ended, new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]));
    await within();
    for (const socket of this.#sockets) socket.destroy();
    await within();
  }

  // ---- connections and deadlines ----

  #poolNow(): DrivenPool {
    if (this.#pool) return this.#pool;
    let pool: DrivenPool;
    if (typeof this.#source === 'string') {
      const require = createRequire(import.meta.url);
      const pg = require('pg') as typeof import('pg');
      const connectTimeoutMs = this.#timeoutMs;
      pool = new pg.Pool({
        connectionString: this.#source,
        max: this.#maxConnections,
        // An idle pool must not keep the host process alive.
        allowExitOnIdle: true,
        // Neither may a connection in use: recording's calls run in the background, and their
        // connections must not keep a process that has nothing else to do alive while the server
        // is unreachable (retries would start new ones for ever, and beforeExit never come).
        // Callers that wait keep the process alive themselves (#withClient). So no socket is
        // referenced, and the connect timeout is the socket's (an unreferenced timer), not the
        // pool's (a referenced one): a socket silent for that long while connecting is destroyed.
        stream: () => {
          const socket = unreferencedSocket(connectTimeoutMs);
          this.#sockets.add(socket);
          this.#connecting.add(socket);
          socket.once('close', () => {
            this.#sockets.delete(socket);
            this.#connecting.delete(socket);
          });
          return socket;
        },
        // TCP keepalive finds a peer that vanished without a word (a pulled cable, a dead NAT entry).
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        idleTimeoutMillis: 30_000,
      });
    } else {
      pool = this.#source as unknown as DrivenPool; // the user's pg.Pool, checked as a PgPool
    }
    // An idle connection dropped by a server restart emits 'error' on the pool; without a
    // listener that would crash the host. The next call connects again.
    pool.on('error', this.#ignorePoolError);
    // pg-pool takes its own listener off a connection as it hands it over, in the tick in which
    // the connection became ready: a FATAL that came in the same packet (a backend terminated
    // as it started) is emitted before #withClient runs. Listen from the handover on.
    pool.on('acquire', listenForErrors);
    if (typeof this.#source === 'string') {
      // Connected: from now on the deadlines of the calls bound the connection, not the connect timeout.
      pool.on('connect', (client: PoolClient) => {
        const socket = connectedInTime(client);
        if (socket !== undefined) this.#connecting.delete(socket);
      });
      // pg-pool references an idle connection again as it hands it out (allowExitOnIdle): this
      // store's connections stay unreferenced in use too; a caller who waits holds the process.
      pool.on('acquire', unreferenced);
    }
    this.#pool = pool;
    return pool;
  }

  /** The call's deadline and signal, or this store's default deadline when the caller gave none. */
  #timing(options: CallOptions): TimedCall {
    const deadline = options.deadline ?? Date.now() + this.#timeoutMs;
    const left = deadline - Date.now();
    return {
      signal: options.signal ?? AbortSignal.timeout(Math.max(1, left)),
      deadline,
      background: options.background === true,
      until: performance.now() + left,
    };
  }

  /**
   * Runs `fn` on a connection of its own. When the caller's signal aborts first, the
   * connection's socket is destroyed (so a silent server cannot keep it) and the call fails
   * with a transient timeout; a connection that failed or timed out is never put back.
   */
  #withClient<T>(call: TimedCall, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    // The sockets of the pool this store makes do not hold the process open (see #poolNow): a
    // caller waiting for this call does, unless it is recording's own, in the background.
    return call.background ? this.#onClient(call, fn) : keepingAlive(this.#onClient(call, fn));
  }

  /** Tracks a write until it settles (see #writes). */
  #writing<T>(work: Promise<T>): Promise<T> {
    const done = () => this.#writes.delete(work);
    this.#writes.add(work);
    work.then(done, done);
    return work;
  }

  async #onClient<T>(call: TimedCall, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const timeout = () => new StoreError(`tracks: ${this.description} did not answer in time`, { transient: true, code: 'TRACKS_TIMEOUT' });
    if (call.signal.aborted) throw timeout();
    const pool = this.#poolNow();
    const connecting = pool.connect();
    let onAbort: (() => void) | undefined;
    const client = await new Promise<PoolClient>((resolve, reject) => {
      let settled = false;
      onAbort = () => {
        if (settled) return;
        settled = true;
        reject(timeout());
        // The connection may still arrive (within the pool's connect timeout): the server
        // answers, so it goes to the pool for the next call, which would otherwise connect
        // afresh and, with a deadline shorter than connecting plus a write, time out forever.
        // Once this store is closed it is of no use: destroyed, not ended (ending waits for
        // the server to close its side, and the socket would keep the process alive).
        connecting.then(
          (late) => {
            if (this.#pool === pool) return late.release();
            destroySocket(late);
            late.release(new Error('tracks: connected after the deadline'));
          },
          () => {},
        );
      };
      call.signal.addEventListener('abort', onAbort, { once: true });
      connecting.then(
        (connected) => {
          if (settled) return;
          settled = true;
          resolve(connected);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          reject(error);
        },
      );
    }).finally(() => call.signal.removeEventListener('abort', onAbort!));
    let broken: Error | undefined;
    let timedOut = false;
    const destroy = () => {
      broken = timeout();
      timedOut = true;
      destroySocket(client);
    };
    call.signal.addEventListener('abort', destroy, { once: true });
    listenForErrors(client);
    try {
      return await fn(client);
    } catch (error) {
      if (broken) throw broken;
      // A connection that failed for any reason but the data is not reused.
      if (postgresStoreError('', error).transient) broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      call.signal.removeEventListener('abort', destroy);
      // A broken connection is destroyed before the pool lets it go: the pool would end it,
      // which waits for a silent server, and its socket would keep the process alive.
      if (broken) destroySocket(client);
      client.release(broken);
      if (timedOut) this.#replace(pool);
    }
  }

  /**
   * After a connection that timed out is discarded, connects a replacement in the background,
   * for the next call to find in the pool: a call's deadline covers connecting too, so with a
   * deadline shorter than connecting plus a write (a short writeTimeout over a long round trip)
   * every call would connect afresh and time out, for ever. One at a time, bounded by the
   * connect timeout; of no use once this store is closed. Only in a pool this store made, with
   * slots to spare beyond its parallel writes and a read (controls, sticky lookups): a
   * replacement waiting on a silent server holds its slot until that timeout, which a small
   * pool (or your pool, whose connect timeout may be none) cannot give up.
   */
  #replace(pool: DrivenPool): void {
    if (this.#replacing || this.#pool !== pool || !this.#ownPool || this.#maxConnections <= PARALLEL_WRITES + 1) return;
    this.#replacing = true;
    pool.connect().then(
      (connected) => {
        this.#replacing = false;
        if (this.#pool === pool) return connected.release();
        destroySocket(connected);
        connected.release(new Error('tracks: the store closed while a connection was made'));
      },
      () => {
        this.#replacing = false;
      },
    );
  }

  /** BEGIN, with server-side timeouts set to the time left, so the server gives up by the deadline too. */
  async #begin(client: PoolClient, call: TimedCall, readOnly = false): Promise<void> {
    const left = Math.max(1, Math.min(MAX_TIMEOUT_MS, Math.floor(call.until - performance.now())));
    try {
      await client.query(
        `BEGIN${readOnly ? ' READ ONLY' : ''}; SET LOCAL statement_timeout = ${left}; SET LOCAL idle_in_transaction_session_timeout = ${left + 1000}`,
      );
    } catch (error) {
      // Not about the data, whatever its SQLSTATE: never a reason to quarantine an event.
      throw new StoreError(`tracks: cannot begin a transaction on ${this.description}: ${messageOf(error)}`, { transient: true, cause: error });
    }
  }

  /** Runs `fn` in one transaction on a connection of its own (see #withClient), committed, or rolled back when it throws. */
  #transaction<T>(call: TimedCall, fn: (client: PoolClient) => Promise<T>, readOnly = false): Promise<T> {
    return this.#withClient(call, async (client) => {
      await this.#begin(client, call, readOnly);
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
  }

  /** Errors as StoreErrors; a missing table or schema means migrating again on the next write. */
  #failure(what: string, error: unknown): StoreError {
    const failure = postgresStoreError(what, error);
    if (failure.code !== undefined && MISSING_TABLES.has(failure.code)) {
      this.#migrated = undefined;
      this.#tablesSeen = false;
    }
    return failure;
  }

  // ---- schema ----

  /** Creates or upgrades the tables once per store (again after a failure, or after they vanished). */
  async #migrate(call: TimedCall): Promise<void> {
    // A foreground call may wait for a migration a background one started: it keeps the process alive meanwhile.
    if (this.#migrated !== undefined && !call.background) await keepingAlive(this.#migrated);
    this.#migrated ??= this.#withClient(call, (client) =>
      migrate(
        {
          description: `the PostgreSQL store ${this.description}`,
          installedVersion: () => this.#installedVersion(client),
          locked: async (fn) => {
            await this.#begin(client, call);
            try {
              // The locks end with the transaction. The database-wide one of earlier versions,
              // shared: it keeps out a migrator of an earlier tracks (a rolling deploy), which
              // takes it exclusively, but not this version's migrators of other schemas.
              await client.query("SELECT pg_advisory_xact_lock_shared(hashtext('tracks:migrate'))");
              // Then one migrator of this schema at a time: a slow migration of one schema does
              // not hold the others' first writes back.
              await client.query("SELECT pg_advisory_xact_lock(hashtext('tracks:migrate:' || $1))", [this.#schema]);
              await fn();
              await client.query('COMMIT');
            } catch (error) {
              await client.query('ROLLBACK').catch(() => {});
              throw error;
            }
          },
          prepare: async () => {
            // PostgreSQL checks CREATE on the database before IF NOT EXISTS: a role that owns its
            // schema but may not create schemas (least privilege) would fail on every start.
            const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.#schema]);
            if (schema.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#s}`);
            await client.query(`CREATE TABLE IF NOT EXISTS ${this.#s}.tracks_schema_version (version integer NOT NULL)`);
          },
          // Every step and its version row in one simple query (the versions are integers of
          // ours, written inline): over a link of 300 ms a round trip, a fresh schema's dozens of
          // round trips outlasted writeTimeout, and the migration rolled back on every try.
          apply: async (steps) => {
            const script = steps.map(({ sql, version }) => `${sql.replaceAll('{s}', this.#s)};\nINSERT INTO ${this.#s}.tracks_schema_version (version) VALUES (${Math.trunc(version)})`).join(';\n');
            await client.query(script);
          },
        },
        POSTGRES_MIGRATIONS,
      ),
    ).then(
      () => {
        this.#tablesSeen = true;
        this.#version = POSTGRES_MIGRATIONS.length;
      },
      (error: unknown) => {
        this.#migrated = undefined;
        throw postgresStoreError(`cannot open the PostgreSQL store ${this.description}`, error);
      },
    );
    await this.#migrated;
  }

  /** The schema version recorded in the database, or 0 when tracks has no tables (or no schema) there. */
  async #installedVersion(db: Pick<PoolClient, 'query'>): Promise<number> {
    const { rows } = await db.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [`${this.#s}.tracks_schema_version`]);
    if (rows[0]?.exists !== true) return 0;
    const found = await db.query<{ version: number | null }>(`SELECT MAX(version) AS version FROM ${this.#s}.tracks_schema_version`);
    return found.rows[0]?.version ?? 0;
  }

  /** Whether the tracks tables exist at this version; creates nothing. */
  /**
   * What to do about a schema with no tracks tables: the schemas of this database that have
   * them, named with the URL option that picks one (a URL without ?schema= reads "public",
   * while the application may record elsewhere).
   */
  async #otherSchemas(call: TimedCall): Promise<string | undefined> {
    let schemas: string[];
    // Its own short deadline: a slow hint must not hold the error back for the whole call's.
    const hint = this.#timing({ deadline: Math.min(call.deadline, Date.now() + HINT_MS), background: call.background });
    try {
      const rows = await this.#withClient(hint, (client) =>
        client.query<{ schema: string }>(
          `SELECT DISTINCT table_schema AS schema FROM information_schema.tables WHERE table_name = 'tracks_exposures' AND table_schema <> $1 ORDER BY 1 LIMIT 6`,
          [this.#schema],
        ),
      );
      schemas = rows.rows.map((row) => row.schema);
    } catch {
      return undefined; // only a hint: the error stays "no tracks data", with its usual advice
    }
    const here = `it looked in the schema ${quoted(this.#schema)}`;
    if (schemas.length === 0) return `${here}, and no other schema of this database has tracks tables; check the database, or record some runs first`;
    const shown = schemas.slice(0, 5).map(quoted).join(', ') + (schemas.length > 5 ? ', ...' : '');
    return `${here}; tracks data is in the schema${schemas.length > 1 ? 's' : ''} ${shown} of this database: pick one with ?schema=${encodeURIComponent(schemas[0]!)} in the URL (or the schema option)`;
  }

  async #hasTables(call: TimedCall, read: 'data' | 'controls' = 'data'): Promise<boolean> {
    if (this.#tablesSeen) return true;
    const version = await this.#withClient(call, (client) => this.#installedVersion(client));
    const state = readableVersion(`the PostgreSQL store ${this.description}`, version, POSTGRES_MIGRATIONS.length, POSTGRES_OLDEST_READABLE, read);
    // A newer schema is readable for the controls alone: asked again on each read.
    // Only at this version: an older one readable as it is is asked again (another process may
    // upgrade it, and what a read leaves out must follow).
    this.#tablesSeen = state === 'current' && version === POSTGRES_MIGRATIONS.length;
    this.#version = version;
    return state === 'current';
  }

  /** Rows of a read, or undefined when the store holds no tracks tables (nothing is created). */
  async #read<T extends QueryResultRow>(sql: string, params: unknown[], options: CallOptions, read: 'data' | 'controls' = 'data'): Promise<T[] | undefined> {
    const call = this.#timing(options);
    try {
      if (!(await this.#hasTables(call, read))) return undefined;
      return await this.#transaction(call, async (client) => (await client.query<T>(sql, params)).rows, true);
    } catch (error) {
      throw this.#failure(`cannot read the PostgreSQL store ${this.description}`, error);
    }
  }

  // ---- writing ----

  /**
   * Rows into one table, cut into chunks written over a few connections at once (so the
   * server's cores share the index work). Each chunk is its own transaction and idempotent,
   * so a batch cut short by a failure is simply written again.
   */
  async #insert(table: EventTable, rows: Cell[][], call: TimedCall): Promise<void> {
    const chunk = Math.max(CHUNK_ROWS, Math.ceil(rows.length / Math.min(PARALLEL_WRITES, this.#maxConnections)));
    const writes: Promise<void>[] = [];
    for (let from = 0; from < rows.length; from += chunk) writes.push(this.#copyChunk(table, rows.slice(from, from + chunk), call));
    const results = await Promise.allSettled(writes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Writes one chunk in one transaction, idempotently. The fast way first: COPY straight into
   * the table, the cheapest way for the server to take rows in. A row already stored (a batch
   * written again after a timeout, or the same user exposed by two processes) makes that COPY
   * fail as a whole; the chunk is then written the careful way, COPY into a temporary staging
   * table of the connection and `INSERT ... SELECT ... ON CONFLICT` (a stored row is kept; a
   * stored exposure is replaced by an earlier one), and the fast way rests for a while
   * (doubling while conflicts go on), so a workload with many repeats does not pay for
   * failed attempts.
   */
  async #copyChunk(table: EventTable, rows: Cell[][], call: TimedCall): Promise<void> {
    const names = table.columns.map((c) => c.name).join(', ');
    const text = copyRows(table.columns, rows);
    const direct = this.#direct.get(table.table) ?? { skip: 0, rest: 1 };
    this.#direct.set(table.table, direct);
    if (direct.skip > 0) direct.skip--;
    else {
      try {
        await this.#transaction(call, (client) => copyText(client, `COPY ${this.#s}.${table.table} (${names}) FROM STDIN`, text));
        direct.rest = 1;
        return;
      } catch (error) {
        if (codeOf(error) !== UNIQUE_VIOLATION) throw error;
      }
      direct.skip = direct.rest;
      direct.rest = Math.min(direct.rest * 2, 64);
    }
    const staging = `pg_temp.tracks_staging_${table.table}`;
    await this.#transaction(call, async (client) => {
      // Temporary tables belong to a connection: made once on each, inside its transaction.
      const prepared = stagedTables.get(client)!;
      if (!prepared.has(staging)) {
        const defs = table.columns.map((c) => `${c.name} ${POSTGRES_TYPES[c.type]}`).join(', ');
        await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${staging} (${defs}) ON COMMIT DELETE ROWS`).catch((error: unknown) => {
          throw new StoreError(`tracks: cannot create a staging table on ${this.description}: ${messageOf(error)}`, { transient: true, cause: error });
        });
      }
      await copyText(client, `COPY ${staging} (${names}) FROM STDIN`, text);
      // A table that keeps the earliest row of a key takes one row of each key from the chunk
      // (PostgreSQL refuses to update a row twice in one statement), the earliest.
      const rowsOf =
        table.earliest === undefined
          ? `SELECT ${names} FROM ${staging}`
          : `SELECT DISTINCT ON (${table.key.join(', ')}) ${names} FROM ${staging} ORDER BY ${table.key.join(', ')}, ${earliestOrder(table, '', BYTE_ORDER)}`;
      await client.query(`INSERT INTO ${this.#s}.${table.table} AS t (${names}) ${rowsOf} ${onConflict(table, 't', BYTE_ORDER)}`);
      prepared.add(staging);
    });
  }

  // ---- reading summaries ----

  /**
   * Rows of one analysis query, in a read-only transaction with JIT off (compiling costs more
   * than these single-pass aggregates gain) and room for the join's hash table in memory.
   */
  #analysisRows<T extends QueryResultRow>(sql: string, params: unknown[], call: TimedCall, plan?: AnalysisPlan): Promise<T[]> {
    return this.#transaction(
      call,
      async (client) => {
        const hashOnly = plan?.hashAggregate === true ? ", set_config('enable_sort', 'off', true)" : '';
        await client.query(`SELECT set_config('jit', 'off', true), set_config('work_mem', '${ANALYSIS_WORK_MEM}', true)${hashOnly}`);
        return (await client.query<T>(sql, params)).rows;
      },
      true,
    );
  }

  /**
   * ANALYZEs a summary table that grew by a fifth since its last statistics (or never had any).
   * Autovacuum does this when it is on; when it is off or behind, the planner guesses 200
   * distinct units and hashes the million exposures instead of the unit totals, at twice the
   * cost. Without the right to ANALYZE (not the owner, or a read-only standby) the report goes on.
   */
  async #refreshPlannerStatistics(call: TimedCall): Promise<void> {
    const stale = await this.#withClient(call, async (client) =>
      (
        await client.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relname IN ('tracks_unit_totals', 'tracks_exposure_counts')
             AND (c.reltuples < 0 OR pg_relation_size(c.oid) / current_setting('block_size')::int > 1.2 * c.relpages + 8)`,
          [this.#schema],
        )
      ).rows,
    );
    for (const { name } of stale) {
      await this.#withClient(call, (client) => client.query(`ANALYZE ${this.#s}.${quoteIdent(name)}`)).catch(() => {});
    }
  }

  async #summarize(options: SummarizeOptions | undefined, call: TimedCall): Promise<TrackSetSums[]> {
    await this.#refreshPlannerStatistics(call);
    const reader: PostgresSummaryReader = {
      rows: (sql, params) => this.#withClient(call, async (client) => (await client.query(sql, params)).rows),
      analysisRows: (sql, params, plan) => this.#analysisRows(sql, params, call, plan),
    };
    const rows = await postgresSummaryRows(reader, this.#s, options, { shadowColumn: this.#version >= 10 });
    return buildSummary(rows, options?.trackSetId, options?.caps ?? [], options?.by);
  }
}

/** How long close() lets the pool's connections end cleanly before it destroys what is left (see #end). */
const CLOSE_GRACE_MS = 1_000;

const POSTGRES_TYPES: Readonly<Record<Column['type'], string>> = { text: 'text', integer: 'int8', real: 'float8' };

/** Ends a connection's socket at once (a silent peer would keep a graceful end waiting). */
/**
 * A socket for the pool's connections that never keeps the process alive, and is destroyed when
 * silent for `timeoutMs` (the connect timeout, until the connection is made: connectedInTime).
 */
function unreferencedSocket(timeoutMs: number): Socket {
  const socket = new Socket();
  socket.unref();
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`tracks: no answer from the server within ${timeoutMs} ms of connecting`)));
  return socket;
}

/**
 * A connection made: its socket's connect timeout ends (a long query is not a silent connect).
 * Over SSL the connection's stream is the TLS socket over ours (`_parent`): the timeout is ours.
 */
function connectedInTime(client: PoolClient): Socket | undefined {
  const stream = (client as unknown as { connection?: { stream?: Socket & { _parent?: Socket } } }).connection?.stream;
  const socket = stream?._parent ?? stream;
  socket?.setTimeout(0);
  return socket;
}

/** A connection handed out: unreferenced again (pg-pool referenced it), so that recording's calls never hold the process. */
function unreferenced(client: PoolClient): void {
  (client as unknown as { unref?: () => void }).unref?.();
}

function destroySocket(client: PoolClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
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

/** Rows in COPY text format (tab-separated, escaped). */
function copyRows(columns: readonly Column[], rows: readonly Cell[][]): string {
  const last = columns.length - 1;
  let text = '';
  for (const row of rows) {
    for (let c = 0; c <= last; c++) {
      const v = row[c]!;
      text += v === null ? '\\N' : typeof v === 'string' ? copyEscape(v) : String(v);
      text += c === last ? '\n' : '\t';
    }
  }
  return text;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function copyEscape(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]!) : value;
}

/** The URL without a `schema` query parameter (pg would pass it to the server), and that schema. */
/** A URL or a pool, said at once: an unset DATABASE_URL failed later as "reading 'on'" of undefined. */
function checkSource(source: unknown): void {
  if (typeof source === 'string') {
    if (source.trim() === '') throw new TracksError('postgresStore: the URL is empty; give a postgres:// URL (is DATABASE_URL set?) or a pg.Pool');
    return;
  }
  const pool = source as Partial<PgPool> | null;
  if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function' || typeof pool.connect !== 'function') {
    throw new TracksError(
      `postgresStore: the store is ${source === null ? 'null' : typeof source}; give a postgres:// URL (is DATABASE_URL set?) or a pg.Pool`,
    );
  }
}

function checkOptions(options: PostgresStoreOptions): void {
  if (!isObjectArgument(options)) throw optionsError('postgresStore', options, "{ schema: 'analytics' }");
  const { schema, maxConnections, timeoutMs } = options;
  if (schema !== undefined && (typeof schema !== 'string' || schema === '')) {
    throw new TracksError(`postgresStore: options.schema is ${JSON.stringify(schema)}; name a schema, or leave it out for public`);
  }
  if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && maxConnections >= 1)) {
    throw new TracksError(`postgresStore: options.maxConnections is ${String(maxConnections)}; use a whole number of at least 1 (default 4)`);
  }
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
    throw new TracksError(`postgresStore: options.timeoutMs is ${String(timeoutMs)}; use a positive number of ms (default 30,000)`);
  }
}

function schemaInUrl(url: string): { url: string; schema: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, schema: undefined }; // pg reports a malformed URL when it connects
  }
  // pg passes a parameter it does not know to the server, which ignores it: ?SCHEMA= would
  // write to public without a word.
  const variant = [...parsed.searchParams.keys()].find((key) => key !== 'schema' && key.toLowerCase() === 'schema');
  if (variant !== undefined) throw new TracksError(`postgresStore: the URL has ?${variant}=; write it ?schema= (lower case), or the store would use the default schema`);
  const schemas = parsed.searchParams.getAll('schema');
  if (schemas.length > 1) {
    throw new TracksError(`postgresStore: the URL names ?schema= ${schemas.length} times (${schemas.map((s) => JSON.stringify(s)).join(', ')}); name one schema`);
  }
  const schema = schemas[0] ?? null;
  if (schema === null) return { url, schema: undefined };
  if (schema === '') throw new TracksError('postgresStore: the URL has an empty ?schema=; name a schema or leave the parameter out');
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), schema };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The database a URL names, stably: host, port, database and schema, no user or options. */
function databaseOf(url: string, schema: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `postgres://${parsed.hostname}:${parsed.port || '5432'}/${decodeURIComponent(parsed.pathname.slice(1))}?schema=${schema}`;
  } catch {
    return undefined;
  }
}

/** `url` with `?schema=` (or `&schema=`) added when a schema is named. */
function withSchema(url: string, schema: string | undefined): string {
  if (schema === undefined) return url;
  return `${url}${url.includes('?') ? '&' : '?'}schema=${encodeURIComponent(schema)}`;
}

/**
 * Query parameters of a connection string that hold secrets: pg reads every parameter of the
 * URL as a connection option, so `?password=` is as much a password as the user part's. Names
 * are compared decoded, as pg reads them (`?pass%77ord=` is `password`).
 */
const SECRET_PARAMETERS = new Set(['password', 'sslpassword']);

/**
 * The URL without its passwords, for messages and for `description`, which the report's
 * `store`, `tracks dashboard`'s address line and its page show to whoever can read them. Both
 * places a password can go are masked: the user part (`postgres://app:secret@…`, also with no
 * user name, `postgres://:secret@…`) and the `password` and `sslpassword` parameters.
 *
 * The user part is where WHATWG URL (and so pg) finds it: up to the last `@` of the authority,
 * which ends at the first `/`, `?` or `#`; so `postgres://u@127.0.0.1:5432/my@db` keeps its host
 * and its database `my@db`. Where that reading could cut a password short, the user part is
 * taken to end at the last `@` before the query instead, which may lose the host but gives
 * nothing away: a URL that does not parse, and an `@` after the authority when a `:` before it
 * starts a password (`postgres://:p@ss/w0rd@db/x` means the password `p@ss/w0rd`, which pg
 * reads as `p`) or, with no user part, could have (`postgres://app:12/ss@db/x`).
 */
function redact(url: string): string {
  const slashes = url.indexOf('//');
  if (slashes === -1) return maskParameters(url);
  const rest = url.slice(slashes + 2);
  const parses = URL.canParse(url);
  const query = parses ? rest.search(/[?#]|$/) : rest.length;
  const authority = rest.slice(0, rest.search(/[/?#]|$/));
  const atAfter = rest.indexOf('@', authority.length);
  const atAfterAuthority = atAfter !== -1 && atAfter < query;
  // A ':' in the user part, or in an authority with none (an IPv6 address's aside).
  const passwordLike = authority.includes('@') ? authority.slice(0, authority.lastIndexOf('@')).includes(':') : authority.replace(/\[[^\]]*\]/, '').includes(':');
  const at = parses && !(atAfterAuthority && passwordLike) ? authority.lastIndexOf('@') : rest.lastIndexOf('@', query - 1);
  if (at === -1) return url.slice(0, slashes + 2) + maskParameters(rest);
  const colon = rest.indexOf(':');
  const user = colon === -1 || colon > at ? rest.slice(0, at) : `${rest.slice(0, colon)}:***`;
  return `${url.slice(0, slashes + 2)}${user}@${maskParameters(rest.slice(at + 1))}`;
}

/** `text` with the values of its query's secret parameters masked. */
function maskParameters(text: string): string {
  const queryAt = text.indexOf('?');
  if (queryAt === -1) return text;
  const query = text.slice(queryAt).replace(/([?&])([^&#=]*)=([^&#]*)/g, (whole, separator: string, name: string) =>
    SECRET_PARAMETERS.has(decodedName(name).toLowerCase()) ? `${separator}${name}=***` : whole,
  );
  return text.slice(0, queryAt) + query;
}

/** A query parameter's name as URLSearchParams (and so pg) reads it. */
function decodedName(name: string): string {
  return new URLSearchParams(`${name}=`).keys().next().value ?? name;
}
