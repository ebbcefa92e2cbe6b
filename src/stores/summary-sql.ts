import { CONTROL_COLUMNS } from './control-rows.js';

/**
 * The summary queries that read the same in both SQL dialects but for a few spellings: each
 * set's phase starts, its health and latency histogram, its guardrail trips and its controls.
 * The stores run them with their own parameters (`where` is '' or a `WHERE` on the set's id);
 * the memory store builds the same rows from its events.
 */

/** What differs between SQLite and PostgreSQL in these queries. */
export interface SummaryDialect {
  /** A tracks table as the store names it (PostgreSQL's within its schema). */
  table(name: string): string;
  /** A number as JavaScript should read it (PostgreSQL's bigint and numeric sums are cast to float8). */
  number(expression: string): string;
  /** The entries of a JSON object column as a table `j` of (key, value). */
  jsonEntries(column: string): string;
  /** A JSON object's key as an integer. */
  integerKey(expression: string): string;
  /** The share a holdout's definition gives its `holdout` pseudo-track, from the weights JSON. */
  holdoutShare(weights: string): string;
}

/** SQLite's spellings. */
export const SQLITE_DIALECT: SummaryDialect = {
  table: (name) => name,
  number: (expression) => expression,
  jsonEntries: (column) => `json_each(${column}) j`,
  integerKey: (expression) => `CAST(${expression} AS INTEGER)`,
  holdoutShare: (weights) => `json_extract(${weights}, '$.holdout')`,
};

/** PostgreSQL's spellings, for tables in `schema` (quoted). */
export function postgresDialect(schema: string): SummaryDialect {
  return {
    table: (name) => `${schema}.${name}`,
    number: (expression) => `${expression}::float8`,
    jsonEntries: (column) => `json_each_text(${column}::json) j`,
    integerKey: (expression) => `${expression}::int`,
    holdoutShare: (weights) => `(${weights}::json ->> 'holdout')::float8`,
  };
}

/**
 * Every change of each set's phase: the definitions whose phase differs from the one recorded
 * before them (the definitions are few: one per process and phase), with a holdout's share.
 * `filter` is '' or a `WHERE` that keeps the set asked for and every holdout (a holdout's
 * changes end every set's phases: phaseWindows).
 */
export function phaseStartsSql(d: SummaryDialect, filter: string): string {
  return `SELECT "trackSetId", phase, at, "holdoutShare" FROM (
      SELECT track_set_id AS "trackSetId", COALESCE(phase, '') AS phase, ${d.number('at')} AS at,
        CASE WHEN holdout = 1 THEN ${d.holdoutShare('weights')} END AS "holdoutShare",
        LAG(COALESCE(phase, '')) OVER (PARTITION BY track_set_id ORDER BY at, event_id) AS previous
      FROM ${d.table('tracks_definitions')} ${filter}) starts WHERE previous IS NULL OR previous <> phase`;
}

/** Runs, errors and total latency per set and track. */
export function healthSql(d: SummaryDialect, where: string): string {
  return `SELECT track_set_id AS "trackSetId", track, ${d.number('SUM(runs)')} AS runs, ${d.number('SUM(errors)')} AS errors,
      ${d.number('SUM(total_ms)')} AS "totalMs"
    FROM ${d.table('tracks_health')} ${where} GROUP BY track_set_id, track`;
}

/** The latency histogram per set and track, bucket by bucket; `where` filters on `h.`. */
export function histogramSql(d: SummaryDialect, where: string): string {
  return `SELECT h.track_set_id AS "trackSetId", h.track, ${d.integerKey('j.key')} AS bucket, ${d.number(`SUM(${d.number('j.value')})`)} AS count
    FROM ${d.table('tracks_health')} h, ${d.jsonEntries('h.histogram')} ${where} GROUP BY h.track_set_id, h.track, j.key`;
}

/** Every guardrail trip. */
export function guardrailsSql(d: SummaryDialect, where: string): string {
  return `SELECT track_set_id AS "trackSetId", track, cause, ${d.number('at')} AS at FROM ${d.table('tracks_guardrails')} ${where}`;
}

/** Every set's control state, as control-rows.ts reads it. */
export function controlsSql(d: SummaryDialect, where: string): string {
  return `SELECT ${CONTROL_COLUMNS.join(', ')} FROM ${d.table('tracks_controls')} ${where}`;
}
