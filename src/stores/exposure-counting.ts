/**
 * How the SQLite store's writer counts the exposures it stores (schema migration 9): in its
 * own tally where a statement stored every row, else by the table's trigger.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Cell, EventTable } from '../model/event-tables.js';

/** One group of tracks_exposure_counts, as this transaction adds to it. */
interface TalliedCell {
  readonly trackSetId: string;
  readonly phase: string;
  readonly track: string;
  readonly dimensions: string;
  readonly day: number;
  users: number;
  firstAt: number;
  lastAt: number;
}

const DAY_MS = 86_400_000;
const RECENT_CELLS = 8;

/**
 * The users a SQLite writer adds to tracks_exposure_counts for the exposures it inserted in
 * the current transaction, by set, phase, track, dimensions and day: what the table's trigger
 * adds for a row (schema.ts, COUNT_NEW_EXPOSURE), added up per group and upserted once per
 * group when the batch ends (for the rows ExposureCounting inserts marked, which the trigger
 * skips).
 */
class ExposureTally {
  readonly #cells = new Map<string, TalliedCell>();
  /** The groups found last, looked at before the map. */
  readonly #recent: TalliedCell[] = [];
  readonly #upsert: BetterSqlite3.Statement;
  readonly #set: number;
  readonly #phase: number;
  readonly #track: number;
  readonly #dimensions: number;
  readonly #at: number;

  constructor(db: BetterSqlite3.Database, table: EventTable<'exposure'>) {
    const at = (name: string) => table.columns.findIndex((c) => c.name === name);
    [this.#set, this.#phase, this.#track, this.#dimensions, this.#at] = ['track_set_id', 'phase', 'track', 'dimensions', 'at'].map(at) as [number, number, number, number, number];
    this.#upsert = db.prepare(`INSERT INTO tracks_exposure_counts (track_set_id, phase, track, dimensions, day, users, first_at, last_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET users = users + excluded.users, first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at)`);
  }

  /** Counts the row at `offset` in `params` (laid out as the table's columns): one the writer just inserted. */
  add(params: readonly Cell[], offset: number): void {
    const trackSetId = params[offset + this.#set] as string;
    const phase = (params[offset + this.#phase] as string | null) ?? '';
    const track = params[offset + this.#track] as string;
    const dimensions = (params[offset + this.#dimensions] as string | null) ?? '';
    const at = params[offset + this.#at] as number;
    // SQLite's integer division (NEW.at / 86400000) truncates, as Math.trunc does.
    const day = Math.trunc(at / DAY_MS);
    // A batch touches a few groups (tracks x days): compared field by field (the names are the
    // same strings, so mostly by reference) before a key is built for the map.
    let cell: TalliedCell | undefined;
    for (const c of this.#recent) {
      if (c.trackSetId === trackSetId && c.track === track && c.day === day && c.phase === phase && c.dimensions === dimensions) {
        cell = c;
        break;
      }
    }
    if (cell === undefined) {
      // NUL never occurs in a stored name (checked at the edge and again by the worker) nor in
      // JSON text, so the joined key names one group.
      const key = `${trackSetId}\u0000${phase}\u0000${track}\u0000${dimensions}\u0000${day}`;
      cell = this.#cells.get(key);
      if (cell === undefined) this.#cells.set(key, (cell = { trackSetId, phase, track, dimensions, day, users: 0, firstAt: at, lastAt: at }));
      if (this.#recent.length === RECENT_CELLS) this.#recent.shift();
      this.#recent.push(cell);
    }
    cell.users++;
    if (at < cell.firstAt) cell.firstAt = at;
    if (at > cell.lastAt) cell.lastAt = at;
  }

  /** Adds the tallied users to tracks_exposure_counts (in the writer's transaction), and starts again. */
  write(): void {
    for (const c of this.#cells.values()) this.#upsert.run(c.trackSetId, c.phase, c.track, c.dimensions, c.day, c.users, c.firstAt, c.lastAt);
    this.#cells.clear();
    this.#recent.length = 0;
  }

  /** Forgets what was tallied (the transaction is rolled back). */
  reset(): void {
    this.#cells.clear();
    this.#recent.length = 0;
  }
}

/**
 * Statements left to the trigger after one that skipped rows: a service whose units come
 * back after a restart, or through several processes, meets stored exposures in nearly every
 * statement for a while, and a statement tried twice costs more than the trigger.
 */
const TRIGGER_COUNTED_AFTER_A_SKIP = 64;

/**
 * Runs the SQLite writer's multi-row INSERTs of exposures so that each row stored is counted
 * in tracks_exposure_counts exactly once.
 * A statement runs with its rows marked counted, inside a savepoint, and the tally counts it
 * whole when it stored every row, as nearly all do where units are new (a third cheaper than
 * the trigger's program per row). One that stored none (a replay, or units stored already) is
 * run again unmarked, which replaces a stored exposure with an earlier one (the trigger moves
 * its count). One that stored some of its rows (a unit's exposure already stored: another
 * process's copy, a returning unit, or the unit twice in one batch) is rolled back and run
 * unmarked, for the trigger to count the rows it stores; so are the next
 * TRIGGER_COUNTED_AFTER_A_SKIP statements, without the first try.
 *
 * @example
 * ```ts
 * const counting = new ExposureCounting(db, EVENT_TABLES.exposure);
 * counting.reset(); // a batch begins, in the writer's transaction
 * counting.run(() => markedInsert, () => plainInsert, params, rows, width); // per statement
 * counting.write(); // the batch's counts, before it commits
 * ```
 */
export class ExposureCounting {
  readonly #tally: ExposureTally;
  readonly #savepoint: BetterSqlite3.Statement;
  readonly #release: BetterSqlite3.Statement;
  readonly #rollback: BetterSqlite3.Statement;
  /** The row that tells the trigger to skip marked rows, inserted and deleted in the writer's transaction (migration 9). */
  readonly #begin: BetterSqlite3.Statement;
  readonly #end: BetterSqlite3.Statement;
  #triggerFor = 0;
  /** Whether this transaction inserted the row of tracks_writer_counting. */
  #counting = false;

  constructor(db: BetterSqlite3.Database, table: EventTable<'exposure'>) {
    this.#tally = new ExposureTally(db, table);
    this.#savepoint = db.prepare('SAVEPOINT tracks_counted_rows');
    this.#release = db.prepare('RELEASE tracks_counted_rows');
    this.#rollback = db.prepare('ROLLBACK TO tracks_counted_rows');
    this.#begin = db.prepare('INSERT INTO tracks_writer_counting (since) VALUES (?)');
    this.#end = db.prepare('DELETE FROM tracks_writer_counting');
  }

  /** Runs one INSERT of `rows` rows of `width` columns: `marked` inserts them counted = 1, `unmarked` for the trigger to count. */
  run(marked: () => BetterSqlite3.Statement, unmarked: () => BetterSqlite3.Statement, params: Cell[], rows: number, width: number): void {
    if (this.#triggerFor > 0) {
      this.#triggerFor--;
      this.#runUnmarked(unmarked, params);
      return;
    }
    if (!this.#counting) {
      this.#begin.run(Date.now());
      this.#counting = true;
    }
    this.#savepoint.run();
    const stored = marked().run(params).changes;
    if (stored === rows) {
      // All stored, counted here.
      this.#release.run();
      for (let r = 0; r < stored; r++) this.#tally.add(params, r * width);
      return;
    }
    if (stored === 0) {
      // None (every unit was stored already: a replay, or units another process exposed): the
      // unmarked statement replaces a stored exposure with an earlier one, for the trigger to recount.
      this.#release.run();
      this.#runUnmarked(unmarked, params);
      return;
    }
    this.#rollback.run();
    this.#release.run();
    this.#triggerFor = TRIGGER_COUNTED_AFTER_A_SKIP;
    this.#runUnmarked(unmarked, params);
  }

  /**
   * An unmarked statement, for the trigger to count. It may replace an exposure this
   * transaction inserted marked (an earlier one of the same unit): the tally is added first,
   * so that the trigger moves a count that is there.
   */
  #runUnmarked(unmarked: () => BetterSqlite3.Statement, params: Cell[]): void {
    this.#tally.write();
    unmarked().run(params);
  }

  /** A batch begins: a failed one's tally is forgotten (its transaction, and the row of tracks_writer_counting, were rolled back). */
  reset(): void {
    this.#tally.reset();
    this.#counting = false;
  }

  /** The batch's counts, then the row of tracks_writer_counting deleted, before the transaction commits. */
  write(): void {
    this.#tally.write();
    if (this.#counting) this.#end.run();
    this.#counting = false;
  }
}
