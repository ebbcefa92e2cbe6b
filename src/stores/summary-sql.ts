import { CONTROL_COLUMNS } from './control-rows.js';

/**
 * The summary queries that read the same in both SQL dialects but for a few spellings: each
 * set's phase starts, its health and latency histogram (per phase), its guardrail trips and its controls.
 * The stores run them with their own parameters (`where` is '' or a `WHERE` on the set's id);
 * the memory store builds the same rows from its events.
 */

/** What differs between SQLite and PostgreSQL in these queries. */
interface SummaryDialect {
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
  /**
   * A small table of parameters joined with every row, kept once: SQLite reruns json_each for
   * each joined row otherwise (the health query 9 times slower on 500,000 rows); PostgreSQL
   * keeps a function's rows anyway.
   */
  readonly keptOnce: string;
}

/** SQLite's spellings. */
export const SQLITE_DIALECT: SummaryDialect = {
  table: (name) => name,
  number: (expression) => expression,
  jsonEntries: (column) => `json_each(${column}) j`,
  integerKey: (expression) => `CAST(${expression} AS INTEGER)`,
  holdoutShare: (weights) => `json_extract(${weights}, '$.holdout')`,
  keptOnce: 'MATERIALIZED',
};

/** PostgreSQL's spellings, for tables in `schema` (quoted). */
export function postgresDialect(schema: string): SummaryDialect {
  return {
    table: (name) => `${schema}.${name}`,
    number: (expression) => `${expression}::float8`,
    jsonEntries: (column) => `json_each_text(${column}::json) j`,
    integerKey: (expression) => `${expression}::int`,
    holdoutShare: (weights) => `(${weights}::json ->> 'holdout')::float8`,
    keptOnce: '',
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

/**
 * Runs, errors and total latency per set, track and phase; `where` filters on `h.`. `minutes`
 * selects the phases' minutes (phaseMinutes) from the store's parameters, as columns
 * track_set_id, phase, from_minute, to_minute; null when no set has phase starts: then every
 * row is phase ''.
 */
export function healthSql(d: SummaryDialect, where: string, minutes: string | null): string {
  return `${withPhases(d, minutes)} SELECT h.track_set_id AS "trackSetId", h.track, ${phaseOf(minutes)} AS phase, ${d.number('SUM(h.runs)')} AS runs, ${d.number('SUM(h.errors)')} AS errors,
      ${d.number('SUM(h.total_ms)')} AS "totalMs"
    FROM ${d.table('tracks_health')} h ${joinPhases(minutes)} ${where} GROUP BY 1, 2, 3`;
}

/** The latency histogram per set, track and phase, bucket by bucket; `where` and `minutes` as for healthSql. */
export function histogramSql(d: SummaryDialect, where: string, minutes: string | null): string {
  return `${withPhases(d, minutes)} SELECT h.track_set_id AS "trackSetId", h.track, ${phaseOf(minutes)} AS phase, ${d.integerKey('j.key')} AS bucket, ${d.number(`SUM(${d.number('j.value')})`)} AS count
    FROM ${d.table('tracks_health')} h ${joinPhases(minutes)} CROSS JOIN ${d.jsonEntries('h.histogram')} ${where} GROUP BY h.track_set_id, h.track, 3, j.key`;
}

function withPhases(d: SummaryDialect, minutes: string | null): string {
  return minutes === null ? '' : `WITH p AS ${d.keptOnce} (${minutes})`;
}

function phaseOf(minutes: string | null): string {
  return minutes === null ? "''" : "COALESCE(p.phase, '')";
}

function joinPhases(minutes: string | null): string {
  return minutes === null ? '' : `LEFT JOIN p ON p.track_set_id = h.track_set_id AND h.minute >= p.from_minute AND h.minute < p.to_minute`;
}

/** Every guardrail trip. */
export function guardrailsSql(d: SummaryDialect, where: string): string {
  return `SELECT track_set_id AS "trackSetId", track, cause, ${d.number('at')} AS at FROM ${d.table('tracks_guardrails')} ${where}`;
}

/** Every set's control state, as control-rows.ts reads it. */
export function controlsSql(d: SummaryDialect, where: string): string {
  return `SELECT ${CONTROL_COLUMNS.join(', ')} FROM ${d.table('tracks_controls')} ${where}`;
}
