import { weightsFromJson } from '../model/event-tables.js';
import type { DefinitionRow } from './summary-rows.js';

/**
 * How the SQL stores read `tracks_definitions` rows: the same columns from SQLite and
 * PostgreSQL (flags stored as 0/1, weights as JSON text), into one DefinitionRow.
 */

/** A definition row as the drivers return it. */
export interface DefinitionSqlRow {
  readonly trackSetId: string;
  readonly phase: string;
  readonly at: number;
  readonly weights: string;
  readonly coverage: number;
  readonly control: string | null;
  readonly sticky: number | null;
  readonly stopped: number | null;
  readonly holdout: number | null;
  readonly shadow: number | null;
}

/** The DefinitionRow of a stored row (NULL flags: recorded by tracks 0.1). */
export function definitionRow(r: DefinitionSqlRow): DefinitionRow {
  return {
    trackSetId: r.trackSetId,
    phase: r.phase,
    at: r.at,
    weights: weightsFromJson(r.weights),
    coverage: r.coverage,
    control: r.control,
    sticky: flagOf(r.sticky),
    stopped: flagOf(r.stopped),
    holdout: flagOf(r.holdout),
    shadow: flagOf(r.shadow),
  };
}

function flagOf(value: number | null): boolean | null {
  return value === null ? null : Number(value) === 1;
}
