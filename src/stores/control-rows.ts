import type { ControlState } from '../model/events.js';
import { weightsFromJson, weightsJson } from '../model/event-tables.js';

/**
 * How a control state is a row of `tracks_controls`, for every SQL store: one row per track
 * set, its latest state (stopped or not, what it serves, a ramp's coverage and weights, the
 * epoch every change raises).
 */

/** The columns, in the order of {@link controlParams}. */
export const CONTROL_COLUMNS = ['track_set_id', 'stopped', 'serve', 'at', 'coverage', 'weights', 'epoch', 'promoted'] as const;

/** A row as the drivers return it (SQLite: stopped 0/1; PostgreSQL: bigint as text). */
export interface ControlRow {
  readonly track_set_id: string;
  readonly stopped: number | boolean;
  readonly serve: string | null;
  readonly at: number | string;
  readonly coverage: number | null;
  readonly weights: string | null;
  readonly epoch: number | string | null;
  readonly promoted: number | boolean | null;
}

/** The control state of a row. */
export function controlFromRow(row: ControlRow): ControlState {
  const weights = row.weights === null ? null : Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(weightsFromJson(row.weights)));
  return {
    trackSetId: row.track_set_id,
    stopped: row.stopped === true || row.stopped === 1,
    serve: row.serve,
    at: Number(row.at),
    coverage: row.coverage,
    weights,
    epoch: Number(row.epoch ?? 0),
    promoted: row.promoted === true || row.promoted === 1,
  };
}

/** The row's values for an INSERT of `state` (stopped and promoted as 1/0: the SQLite store binds them so; PostgreSQL casts). */
export function controlParams(state: ControlState): Array<string | number | null> {
  return [
    state.trackSetId,
    state.stopped ? 1 : 0,
    state.serve,
    state.at,
    state.coverage ?? null,
    state.weights ? weightsJson(state.weights) : null,
    state.epoch ?? 0,
    state.promoted === true ? 1 : 0,
  ];
}

/**
 * `INSERT ... ON CONFLICT (track_set_id) DO UPDATE` of a whole control state, with `?` or `$n`
 * placeholders. `ifEpoch`: the update applies only where the stored epoch equals one more
 * parameter, after the state's (a compare-and-set: a write that finds another epoch changes no row).
 */
export function upsertControlSql(table: string, placeholder: (i: number) => string, stoppedType = '', ifEpoch = false): string {
  const values = CONTROL_COLUMNS.map((column, i) => ((column === 'stopped' || column === 'promoted') && stoppedType ? `${placeholder(i)}::${stoppedType}` : placeholder(i))).join(', ');
  const updates = CONTROL_COLUMNS.filter((c) => c !== 'track_set_id').map((c) => `${c} = excluded.${c}`).join(', ');
  const condition = ifEpoch ? ` WHERE COALESCE(c.epoch, 0) = ${placeholder(CONTROL_COLUMNS.length)}` : '';
  return `INSERT INTO ${table} AS c (${CONTROL_COLUMNS.join(', ')}) VALUES (${values}) ON CONFLICT (track_set_id) DO UPDATE SET ${updates}${condition}`;
}
