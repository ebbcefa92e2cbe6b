import { resolve } from 'node:path';
import type { ShadowSums } from '../model/shadow.js';
import type { MetricDeclaration } from '../model/metrics.js';
import type { ControlState, RecordedEvent } from '../model/events.js';
import type { CallOptions, StickyAssignment, StickyFilter, Store, WriteControlOptions } from '../model/store.js';
import type { SummarizeOptions, TrackSetSums } from '../model/sums.js';
import { StoreError } from '../model/store-error.js';
import { SqliteDatabase } from './sqlite-database.js';
import type { SummaryPart, UnitKey } from './sqlite-summary.js';
import { buildSummary } from './summary-rows.js';
import type { SummaryRows } from './summary-rows.js';
import { WorkerClient } from './worker-client.js';
import { packEvents } from './packed-events.js';
import { assertSqliteDriver } from './sqlite-driver.js';
import { checkFileArguments } from './sqlite-arguments.js';
import { dimensionError } from './dimension-option.js';

/**
 * Options of {@link sqliteStore}.
 *
 * @example
 * ```ts
 * const options: SqliteStoreOptions = { busyTimeoutMs: 60_000 };
 * const report = buildReport(await sqliteStore('/var/lib/app/tracks.db', options).summarize());
 * ```
 */
export interface SqliteStoreOptions {
  /**
   * How long a call without its own deadline (a report, `tracks stop`) waits for another
   * process's write lock, in ms (default 30,000). Recording passes its `writeTimeout` instead.
   */
  readonly busyTimeoutMs?: number | undefined;
}

/**
 * The embedded store: one SQLite file, shared safely by several processes (WAL journal, one
 * IMMEDIATE transaction per batch). Every statement runs on a worker thread, so a file locked
 * by another process, a slow disk or a big batch never blocks your event loop. The file and its
 * tables are created by the first write; reads create nothing.
 *
 * @example
 * ```ts
 * configure({ store: sqliteStore('/var/lib/app/tracks.db') });
 * // the same as configure({ store: '/var/lib/app/tracks.db' })
 * ```
 */
export function sqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  return new SqliteStore(path, options);
}

/**
 * Exposed units from which a summary is summed in two halves on two threads: below it the
 * second thread (a few hundred ms to start, the first time) and the extra calls cost about
 * as much as its half of the work saves.
 */
const SPLIT_SUMMARY_UNITS = 200_000;

/**
 * A SQLite file, worked on by a worker thread; see {@link sqliteStore}.
 *
 * @example
 * ```ts
 * const store = new SqliteStore('tracks.db');
 * const sums = await store.summarize();
 * await store.close();
 * ```
 */
export class SqliteStore implements Store {
  readonly description: string;
  readonly #worker: WorkerClient;
  /** A second thread for reading, started by the first summary big enough to split. */
  #reader: WorkerClient | undefined;
  #closed = false;
  readonly #waitMs: number;
  readonly #path: string;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    checkFileArguments('sqliteStore', path, options, "sqliteStore('tracks.db')", '{ busyTimeoutMs: 5000 }');
    // The absolute path: it names the store in messages and places its default outbox.
    const absolute = resolve(path);
    assertSqliteDriver(`the SQLite store ${absolute}`, 'or use another store (a postgres:// URL; in code, also memoryStore() or callbackStore(fn))');
    this.description = `sqlite:${absolute}`;
    this.#path = absolute;
    this.#waitMs = options.busyTimeoutMs ?? 30_000;
    this.#worker = new WorkerClient({ role: 'store', path: absolute, options: {} });
  }

  write(events: readonly RecordedEvent[], options?: CallOptions): Promise<void> {
    return this.#worker.call('write', [packEvents(events)], this.#timing(options));
  }

  readControls(options?: CallOptions): Promise<ControlState[]> {
    return this.#worker.call('readControls', [], this.#timing(options));
  }

  /**
   * Read on the main thread, once, when recording starts: a local file answers in about a
   * millisecond, and waits at most 100 ms for a lock, so a process started while a set is
   * stopped or ramped serves it so from its first run. Undefined when the file cannot answer.
   */
  readControlsNow(): ControlState[] | undefined {
    const database = new SqliteDatabase(this.#path);
    try {
      return database.readControls(Date.now() + 100);
    } catch {
      return undefined; // the worker's first read reports what is wrong, once
    } finally {
      database.close();
    }
  }

  /** Read on the main thread, once, when recording starts, as {@link readControlsNow} is (at most 100 ms for a lock). */
  readStickyAssignmentsNow(limit: number): StickyAssignment[] | undefined {
    const database = new SqliteDatabase(this.#path);
    try {
      return database.readStickyAssignments(limit, null, Date.now() + 100);
    } catch {
      return undefined; // the worker's read reports what is wrong
    } finally {
      database.close();
    }
  }

  readStickyAssignments(limit: number, options?: CallOptions, filter?: StickyFilter): Promise<StickyAssignment[]> {
    return this.#worker.call('readStickyAssignments', [limit, filter ?? null], this.#timing(options));
  }

  readDimensions(trackSetId: string, options?: CallOptions): Promise<string[]> {
    return this.#worker.call('readDimensions', [trackSetId], this.#timing(options));
  }

  readShadow(trackSetId?: string, options?: CallOptions): Promise<ShadowSums> {
    return this.#worker.call('readShadow', [trackSetId], this.#timing(options));
  }

  readMetrics(options?: CallOptions): Promise<ReadonlyMap<string, MetricDeclaration>> {
    return this.#worker.call('readMetrics', [], this.#timing(options));
  }

  writeControl(state: ControlState, options?: WriteControlOptions): Promise<boolean> {
    return this.#worker.call('writeControl', [state, options?.ifEpoch], this.#timing(options));
  }

  readAssignments(trackSetId: string, units: readonly string[], options?: CallOptions): Promise<Map<string, string>> {
    return this.#worker.call('readAssignments', [trackSetId, units], this.#timing(options));
  }

  summarize(options?: SummarizeOptions): Promise<TrackSetSums[]> {
    // Checked here: an error thrown in the worker would come back as a StoreError.
    const bad = options?.by === undefined ? undefined : dimensionError(options.by);
    if (bad !== undefined) return Promise.reject(bad);
    return this.#summarize(options, { deadline: Date.now() + this.#waitMs });
  }

  close(): Promise<void> {
    this.#closed = true; // a summary under way starts no reading thread after this
    const reader = this.#reader;
    this.#reader = undefined;
    return Promise.all([this.#worker.close(), reader?.close()]).then(() => undefined);
  }

  /**
   * A big store's summary is summed in two halves of its units at once, one on the store's
   * thread and one on a reading thread, and built here from both: its longest part, a join
   * of every exposure with the unit's conversions, then takes half as long on two cores. The
   * users are counted after both halves, on the store's thread (see SummaryPart).
   */
  async #summarize(options: SummarizeOptions | undefined, timing: CallOptions): Promise<TrackSetSums[]> {
    const plan = await this.#worker.call<{ sums: TrackSetSums[] } | { split: UnitKey }>('planSummary', [options, SPLIT_SUMMARY_UNITS], timing);
    if ('sums' in plan) return plan.sums;
    if (this.#closed) throw new StoreError(`tracks: the SQLite store ${this.#path} was closed`, { transient: true, code: 'TRACKS_CLOSED' });
    this.#reader ??= new WorkerClient({ role: 'store', path: this.#path, options: {} });
    const [below, above] = await Promise.all([
      this.#worker.call<SummaryRows>('summaryRows', [options, { units: { to: plan.split } } satisfies SummaryPart], timing),
      this.#reader.call<SummaryRows>('summaryRows', [options, { units: { from: plan.split }, health: true } satisfies SummaryPart], timing).catch(() => undefined),
    ]);
    // The reading thread could not: its file was deleted or replaced since the store's thread
    // opened it, say. The whole is then summed in one pass where the first half was.
    if (above === undefined) return this.#worker.call('summarize', [options], timing);
    const sets = await this.#worker.call<SummaryRows>('summaryRows', [options, { sets: true } satisfies SummaryPart], timing);
    return buildSummary(
      {
        ...sets,
        metrics: [...below.metrics, ...above.metrics],
        health: above.health,
        histogram: above.histogram,
        ...(options?.ratios === undefined ? {} : { products: [...(below.products ?? []), ...(above.products ?? [])] }),
      },
      options?.trackSetId,
      options?.caps,
      options?.by,
    );
  }

  #timing(options: CallOptions | undefined): CallOptions {
    return { ...options, deadline: options?.deadline ?? Date.now() + this.#waitMs };
  }
}
