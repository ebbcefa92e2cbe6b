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
 * group when the batch ends. The writer's rows are inserted with counted = 1, which the
 * trigger skips (migration 9).
 *
 * @example
 * ```ts
 * const tally = new ExposureTally(db, EVENT_TABLES.exposure);
 * tally.add(row, 0); // a row the writer's INSERT just stored
 * tally.write(); // in the same transaction, before it commits
 * ```
 */
export class ExposureTally {
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
