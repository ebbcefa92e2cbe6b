/**
 * The PostgreSQL store's summary rows: a few grouped queries over the schema, the heavy joins
 * read from the trigger-kept summary tables (tracks_exposure_counts, tracks_unit_totals) where
 * they can. The memory and SQLite stores build the same rows (summary-rows.ts) their own way.
 */
import type { QueryResultRow } from 'pg';
import { longestWindowOf, noMetricSums } from '../model/sums.js';
import type { SummarizeOptions } from '../model/sums.js';
import { assertDimension } from './dimension-option.js';
import { controlFromRow } from './control-rows.js';
import type { ControlRow } from './control-rows.js';
import { controlsSql, guardrailsSql, healthSql, histogramSql, phaseStartsSql, postgresDialect } from './summary-sql.js';
import { appliedCaps, percentileCapsOf, segmentOf, utcDay } from './summary-rows.js';
import type { ExposureCell, MetricCell, PercentileCapRow, ProductCell, SummaryRows } from './summary-rows.js';
import { phaseMinutes, phaseWindows, startOf } from './phase-windows.js';
import type { PhaseStart } from './phase-windows.js';
import { definitionRow } from './definition-rows.js';
import type { DefinitionSqlRow } from './definition-rows.js';

/** How the summary queries reach the server: the store's connections, under its deadlines. */
export interface PostgresSummaryReader {
  /** The rows of a plain read. */
  rows<T extends QueryResultRow>(sql: string, params: unknown[]): Promise<T[]>;
  /** The rows of one analysis query (read-only, JIT off, room for the join's hash table). */
  analysisRows<T extends QueryResultRow>(sql: string, params: unknown[], plan?: AnalysisPlan): Promise<T[]>;
}

/** A hint for the planner of one analysis query. */
export interface AnalysisPlan {
  /**
   * Group by hashing rather than sorting (`enable_sort` off for the query): for a query of
   * few groups whose row estimate is far too low.
   */
  readonly hashAggregate?: boolean | undefined;
}

/** The rows for buildSummary from the tables of schema `s` (quoted), in a few grouped queries. */
export async function postgresSummaryRows(
  reader: PostgresSummaryReader,
  s: string,
  options: SummarizeOptions | undefined,
  /** Whether the definitions have migration 10's shadow column (a store of version 9 is read as it is). */
  schema: { readonly shadowColumn: boolean } = { shadowColumn: true },
): Promise<SummaryRows> {
  const dialect = postgresDialect(s);
  const id = options?.trackSetId;
  const params: unknown[] = id === undefined ? [] : [id];
  const where = (alias: string) => (id === undefined ? '' : `WHERE ${alias}track_set_id = $1`);
  const and = (alias: string) => (id === undefined ? '' : `AND ${alias}track_set_id = $1`);
  const q = <T extends QueryResultRow>(sql: string) => reader.rows<T>(sql, params);
  const daily = options?.daily !== false;
  const definition = `track_set_id AS "trackSetId", COALESCE(phase, '') AS phase, at::float8 AS at, weights, coverage, control, sticky, stopped, holdout, ${schema.shadowColumn ? 'shadow' : 'NULL::integer AS shadow'}`;
  const [phaseRows, latestRows, starts] = await Promise.all([
    q<DefinitionSqlRow & QueryResultRow>(`SELECT DISTINCT ON (track_set_id, COALESCE(phase, '')) ${definition}
      FROM ${s}.tracks_definitions ${where('')} ORDER BY track_set_id, COALESCE(phase, ''), at, event_id`),
    q<DefinitionSqlRow & QueryResultRow>(`SELECT DISTINCT ON (track_set_id) ${definition}
      FROM ${s}.tracks_definitions ${where('')} ORDER BY track_set_id, at DESC, event_id DESC`),
    q<PhaseStart & { holdoutShare: number | null } & QueryResultRow>(phaseStartsSql(dialect, id === undefined ? '' : 'WHERE track_set_id = $1 OR holdout = 1')).then((rows) =>
      rows.map(startOf),
    ),
  ]);
  const phases = phaseRows.map(definitionRow);
  // Conversions count until the first start of another phase after the exposure: the windows,
  // as arrays the analysis queries join (none at all for sets that never changed).
  const ended = phaseWindows(starts);
  const endParams = [...params, ...(['trackSetId', 'phase', 'from', 'to', 'ended'] as const).map((field) => ended.map((w) => w[field]))];
  const n = params.length;
  const ends = ended.length === 0 ? '' : `LEFT JOIN unnest($${n + 1}::text[], $${n + 2}::text[], $${n + 3}::int8[], $${n + 4}::int8[], $${n + 5}::int8[]) AS x(track_set_id, phase, from_at, to_at, ended)
    ON x.track_set_id = e.track_set_id AND x.phase = COALESCE(e.phase, '') AND e.at >= x.from_at AND e.at < x.to_at`;
  // Health rows count to the phase in effect at their minute's start: the phases' minutes, as arrays.
  const spans = phaseMinutes(starts);
  const minutes = spans.length === 0 ? null : `SELECT * FROM unnest($${n + 1}::text[], $${n + 2}::text[], $${n + 3}::int8[], $${n + 4}::int8[]) AS m(track_set_id, phase, from_minute, to_minute)`;
  const minuteParams = [...params, ...(spans.length === 0 ? [] : (['trackSetId', 'phase', 'from', 'to'] as const).map((field) => spans.map((m) => m[field])))];
  const open = (at: string) => (ended.length === 0 ? 'true' : `(x.ended IS NULL OR ${at} < x.ended)`);
  const day = daily ? '(e.at / 86400000)::integer::text' : 'NULL';
  // A user's total is the unit's pre-added total when every conversion came at or after the
  // exposure and before the end of its phase ("settled"), which the join checks per row
  // without a sub-select, so the server can split it over its cores.
  const settledIf = `t.first_at >= e.at AND ${open('t.last_at')}`;
  // CUPED's covariate: each user's conversions in the window before the exposure (the join
  // reaches back far enough to find them). The window of each metric is joined as a small table.
  const base = ended.length > 0 ? endParams : params;
  const preExposure = options?.preExposure;
  const longest = longestWindowOf(preExposure);
  const windowed = longest > 0;
  const windows = preExposure?.byMetric === undefined ? [] : [...preExposure.byMetric];
  const k = base.length;
  const back = windowed ? `$${k + 1}::int8` : '0';
  const windowOf = windows.length === 0 ? `$${k + 2}::int8` : `COALESCE(wm.ms, $${k + 2}::int8)`;
  const windowsJoin = windows.length === 0 ? '' : `LEFT JOIN unnest($${k + 3}::text[], $${k + 4}::int8[]) AS wm(metric, ms) ON wm.metric = t.metric`;
  const windowParams = windowed ? [longest, preExposure?.ms ?? 0, ...(windows.length > 0 ? [windows.map(([m]) => m), windows.map(([, ms]) => ms)] : [])] : [];
  // A user whose conversions of a metric all came before the exposure and inside the metric's
  // window ("settled before") has the unit's total as its covariate and nothing after: read
  // from the pre-added row too. Returning users are mostly these; the re-adding query is left
  // with the users who converted both before and after their exposure.
  const settledBeforeIf = windowed ? `t.last_at < e.at AND t.first_at >= e.at - ${windowOf}` : 'false';
  // Caps (winsorization): a percentile cap's value per set and phase first, then every
  // user's value limited in the summing passes (the rule of addUser in model/sums.ts).
  const caps = options?.caps ?? [];
  // metrics: false (a list of sets): none of the joins of exposures with conversions.
  const withMetrics = options?.metrics !== false;
  const wanted = withMetrics ? caps.filter((c) => c.percentile !== undefined) : [];
  const percentileCaps =
    wanted.length === 0
      ? []
      : percentileCapsOf(
          await reader.analysisRows<PercentileCapRow & { kind: string }>(
            `WITH u AS (
              SELECT e.track_set_id, COALESCE(e.phase, '') AS phase, e.unit, c.metric, SUM(c.value) AS total, COUNT(*) AS n
              FROM ${s}.tracks_exposures e JOIN ${s}.tracks_conversions c ON c.unit = e.unit AND c.at >= e.at
              ${ends}
              WHERE c.metric = ANY($${k + 1}::text[]) AND ${open('c.at')} ${and('e.')}
              GROUP BY 1, 2, 3, 4),
            k AS (SELECT * FROM unnest($${k + 1}::text[], $${k + 2}::text[], $${k + 3}::float8[]) AS k(metric, kind, q)),
            n AS (SELECT track_set_id, phase, SUM(users) AS users FROM ${s}.tracks_exposure_counts ${where('')} GROUP BY 1, 2),
            v AS (SELECT u.track_set_id, u.phase, u.metric, k.kind, k.q,
                CASE k.kind WHEN 'count' THEN u.n::float8 WHEN 'mean' THEN u.total / u.n ELSE u.total END AS value
              FROM u JOIN k ON k.metric = u.metric),
            r AS (SELECT v.*, ROW_NUMBER() OVER (PARTITION BY v.track_set_id, v.phase, v.metric ORDER BY v.value DESC) AS rank,
                COUNT(*) OVER (PARTITION BY v.track_set_id, v.phase, v.metric) AS c FROM v),
            m AS (SELECT r.*, CASE WHEN r.kind = 'mean' THEN r.c ELSE n.users END AS units FROM r JOIN n ON n.track_set_id = r.track_set_id AND n.phase = r.phase)
            SELECT track_set_id AS "trackSetId", phase, metric, value::float8 AS value, kind FROM m WHERE rank = units - ceil(q * units - 1e-9) + 1`,
            [...base, wanted.map((c) => c.metric), wanted.map((c) => c.kind), wanted.map((c) => c.percentile)],
          )
        );
  const applied = appliedCaps(caps, percentileCaps);
  /** The join of the caps, as arrays from parameter `from` on, and its parameters. */
  const capsJoin = (from: number) =>
    applied.length === 0
      ? { sql: '', params: [] as unknown[] }
      : {
          sql: `LEFT JOIN unnest($${from}::text[], $${from + 1}::text[], $${from + 2}::text[], $${from + 3}::text[], $${from + 4}::float8[]) AS kc(track_set_id, phase, metric, kind, value)
            ON kc.metric = t.metric AND (kc.track_set_id IS NULL OR (kc.track_set_id = e.track_set_id AND kc.phase = COALESCE(e.phase, '')))`,
          params: [applied.map((c) => c.trackSetId), applied.map((c) => c.phase), applied.map((c) => c.metric), applied.map((c) => c.kind), applied.map((c) => c.value)],
        };
  // Not LEAST(): it skips NULLs, and would give a user with no conversion after the exposure
  // (total NULL, not summed) the cap as its total.
  const capped = (expression: string, kind: string) =>
    applied.length === 0 ? expression : `(CASE WHEN kc.kind = '${kind}' AND ${expression} > kc.value THEN kc.value ELSE ${expression} END)`;
  const settledParams = windowed ? [...base, ...windowParams] : base;
  const settledCaps = capsJoin(settledParams.length + 1);
  const total = capped('t.total', 'sum');
  const count = capped('t.conversions::float8', 'count');
  const mean = capped('t.total / t.conversions', 'mean');
  // Segments: the unit's value of one dimension, kept with its exposure as JSON; the
  // dimension's name is the last parameter of each query that reads it.
  const by = options?.by;
  if (by !== undefined) assertDimension(by);
  // Rows are grouped by the dimensions as stored (a few distinct texts) and the segment named
  // from them in JS (segmentOf): parsing the JSON once per joined row cost ~0.2 s a million.
  const segment = () => (by === undefined ? '' : ", COALESCE(e.dimensions, '') AS segment");
  const bySegment = by === undefined ? '' : ', segment';
  const [exposures, settled, health, histogram, guardrails, controls] = await Promise.all([
    // Exposure counts come from the trigger-kept table (per set, phase, track, dimensions and
    // day): a few rows, not a scan; by segment, grouped by the dimensions as stored.
    q<ExposureCell>(`SELECT track_set_id AS "trackSetId", phase, ${daily ? 'day::text' : 'NULL'} AS day, track,
      SUM(users)::float8 AS users, MIN(first_at)::float8 AS first, MAX(last_at)::float8 AS last ${by === undefined ? '' : ', dimensions AS segment'}
      FROM ${s}.tracks_exposure_counts ${where('')} GROUP BY 1, 2, 3, 4 ${by === undefined ? '' : ', dimensions'}
      HAVING SUM(users) <> 0`),
    !withMetrics
      ? Promise.resolve([])
      : reader.analysisRows<MetricCell & { unsettled: number }>(
      `SELECT e.track_set_id AS "trackSetId", COALESCE(e.phase, '') AS phase, ${day} AS day, e.track, t.metric
          ${segment()},
        (COUNT(*) FILTER (WHERE ${settledIf}))::float8 AS converted,
        COALESCE(SUM(${total}) FILTER (WHERE ${settledIf}), 0)::float8 AS sum,
        COALESCE(SUM(${total} * ${total}) FILTER (WHERE ${settledIf}), 0)::float8 AS "sumSquares",
        COALESCE(SUM(${count}) FILTER (WHERE ${settledIf}), 0)::float8 AS count,
        COALESCE(SUM(${count} * ${count}) FILTER (WHERE ${settledIf}), 0)::float8 AS "countSquares",
        COALESCE(SUM(${mean}) FILTER (WHERE ${settledIf}), 0)::float8 AS "meanSum",
        COALESCE(SUM(${mean} * ${mean}) FILTER (WHERE ${settledIf}), 0)::float8 AS "meanSquares",
        ${
          windowed
            ? `(COUNT(*) FILTER (WHERE ${settledBeforeIf}))::float8 AS "preConverted",
        COALESCE(SUM(${total}) FILTER (WHERE ${settledBeforeIf}), 0)::float8 AS "preSum",
        COALESCE(SUM(${total} * ${total}) FILTER (WHERE ${settledBeforeIf}), 0)::float8 AS "preSumSquares",
        COALESCE(SUM(${count}) FILTER (WHERE ${settledBeforeIf}), 0)::float8 AS "preCount",
        COALESCE(SUM(${count} * ${count}) FILTER (WHERE ${settledBeforeIf}), 0)::float8 AS "preCountSquares",`
            : ''
        }
        (COUNT(*) FILTER (WHERE NOT (${settledIf}) AND NOT (${settledBeforeIf})))::float8 AS unsettled
      FROM ${s}.tracks_exposures e JOIN ${s}.tracks_unit_totals t ON t.unit = e.unit AND t.last_at >= e.at - ${back}
      ${ends}
      ${windowed ? windowsJoin : ''}
      ${settledCaps.sql}
      WHERE ${open('t.first_at')} ${and('e.')} GROUP BY 1, 2, 3, 4, 5 ${bySegment}`,
      [...settledParams, ...settledCaps.params],
    ),
    reader.rows<SummaryRows['health'][number]>(healthSql(dialect, where('h.'), minutes), minuteParams),
    reader.rows<SummaryRows['histogram'][number]>(histogramSql(dialect, where('h.'), minutes), minuteParams),
    q<SummaryRows['guardrails'][number]>(guardrailsSql(dialect, where(''))),
    q<ControlRow & QueryResultRow>(controlsSql(dialect, where(''))),
  ]);
  // Users who converted before their exposure, or after their phase ended: their totals count
  // only the conversions inside the window, re-added from the conversions of those units alone.
  // Such a unit's conversions of the metric span some time (first_at < last_at: a unit whose
  // conversions all share one instant is settled, settled before, or adds nothing), which
  // PostgreSQL checks on the unit totals before joining them with the exposures.
  const unsettledParams = [...base, ...windowParams];
  const unsettledCaps = capsJoin(unsettledParams.length + 1);
  // Each user's values as the sums read them, capped where the metric has a cap.
  const y = capped('w.total', 'sum');
  const yn = capped('w.n::float8', 'count');
  const ym = capped('w.total / NULLIF(w.n, 0)', 'mean');
  const x = capped('w.pre_total', 'sum');
  const xn = capped('w.pre_n::float8', 'count');
  const xm = capped('CASE WHEN w.pre_n > 0 THEN w.pre_total / w.pre_n ELSE 0 END', 'mean');
  const unsettled = settled.some((r) => r.unsettled > 0)
    ? await reader.analysisRows<MetricCell>(
        `SELECT e.track_set_id AS "trackSetId", COALESCE(e.phase, '') AS phase, ${day} AS day, e.track, t.metric
            ${segment()},
          (COUNT(*) FILTER (WHERE w.n > 0))::float8 AS converted,
          COALESCE(SUM(${y}), 0)::float8 AS sum, COALESCE(SUM(${y} * ${y}), 0)::float8 AS "sumSquares",
          SUM(${yn})::float8 AS count, SUM(${yn} * ${yn})::float8 AS "countSquares",
          COALESCE(SUM(${ym}), 0)::float8 AS "meanSum",
          COALESCE(SUM(${ym} * ${ym}), 0)::float8 AS "meanSquares",
          (COUNT(*) FILTER (WHERE w.pre_n > 0))::float8 AS "preConverted",
          (COUNT(*) FILTER (WHERE w.n > 0 AND w.pre_n > 0))::float8 AS "crossConverted",
          SUM(${x})::float8 AS "preSum", SUM(${x} * ${x})::float8 AS "preSumSquares",
          COALESCE(SUM(${y} * ${x}), 0)::float8 AS "crossSum",
          SUM(${xn})::float8 AS "preCount", SUM(${xn} * ${xn})::float8 AS "preCountSquares", SUM(${yn} * ${xn})::float8 AS "crossCount",
          COALESCE(SUM(${xm}) FILTER (WHERE w.n > 0), 0)::float8 AS "preMeanSum",
          COALESCE(SUM(${xm} * ${xm}) FILTER (WHERE w.n > 0), 0)::float8 AS "preMeanSquares",
          COALESCE(SUM(${ym} * ${xm}), 0)::float8 AS "crossMean"
        FROM ${s}.tracks_unit_totals t
        JOIN ${s}.tracks_exposures e ON e.unit = t.unit AND t.last_at >= e.at - ${back}
        ${ends}
        ${windowed ? windowsJoin : ''}
        CROSS JOIN LATERAL (SELECT SUM(c.value) FILTER (WHERE c.at >= e.at) AS total, COUNT(*) FILTER (WHERE c.at >= e.at) AS n,
                              COALESCE(SUM(c.value) FILTER (WHERE c.at < e.at), 0) AS pre_total, COUNT(*) FILTER (WHERE c.at < e.at) AS pre_n
                            FROM ${s}.tracks_conversions c
                            WHERE c.unit = t.unit AND c.metric = t.metric AND ${open('c.at')}
                              AND c.at >= e.at - ${windowed ? windowOf : '0'}) w
        ${unsettledCaps.sql}
        WHERE NOT (${settledIf}) AND NOT (${settledBeforeIf}) AND ${open('t.first_at')} AND (w.n > 0 OR w.pre_n > 0)
          AND t.first_at < t.last_at ${and('e.')} GROUP BY 1, 2, 3, 4, 5 ${bySegment}`,
        [...unsettledParams, ...unsettledCaps.params],
        // The planner guesses a few thousand such rows (the join's filters look selective) and
        // sorts every joined row for a GroupAggregate of a few dozen groups. Hashing the groups
        // skips the sort and its Gather Merge: on bench/report.ts's 1M users, 200,000 of them
        // unsettled, this query went from 985 to 657 ms (EXPLAIN ANALYZE), the report from
        // 1.39-1.49 to 1.09-1.12 s.
        { hashAggregate: true },
      )
    : [];
  const metrics = [...settled.map(({ unsettled: _, ...cell }) => ({ ...noMetricSums(), ...cell })), ...unsettled].filter(
    (cell) => cell.converted > 0 || cell.preConverted > 0,
  );
  const ratios = options?.ratios;
  let products: ProductCell[] | undefined;
  if (ratios !== undefined) {
    // Ratio metrics join two totals per user: computed from the conversions of those metrics alone.
    const k = base.length;
    products =
      ratios.length === 0 || !withMetrics
        ? []
        : await reader.analysisRows<ProductCell>(
            `WITH u AS (
              SELECT e.track_set_id, COALESCE(e.phase, '') AS phase, ${day} AS day, e.track, e.unit, c.metric ${segment()}, SUM(c.value) AS total
              FROM ${s}.tracks_exposures e JOIN ${s}.tracks_conversions c ON c.unit = e.unit AND c.at >= e.at
              ${ends}
              WHERE c.metric = ANY($${k + 1}::text[] || $${k + 2}::text[]) AND ${open('c.at')} ${and('e.')}
              GROUP BY 1, 2, 3, 4, 5, 6 ${bySegment})
            SELECT a.track_set_id AS "trackSetId", a.phase, a.day, a.track, r.numerator, r.denominator ${by === undefined ? '' : ', a.segment'}, SUM(a.total * b.total)::float8 AS sum
            FROM unnest($${k + 1}::text[], $${k + 2}::text[]) AS r(numerator, denominator)
            JOIN u a ON a.metric = r.numerator
            JOIN u b ON b.track_set_id = a.track_set_id AND b.unit = a.unit AND b.metric = r.denominator
            GROUP BY 1, 2, 3, 4, 5, 6 ${by === undefined ? '' : ', 7'}`,
            [...base, ratios.map((r) => r.numerator), ratios.map((r) => r.denominator)],
          );
  }
  // Days are kept as day numbers and named here, on the few grouped rows.
  for (const cell of [...exposures, ...metrics, ...(products ?? [])]) {
    cell.day = cell.day === null ? null : utcDay(Number(cell.day) * 86_400_000);
    if (by !== undefined) cell.segment = segmentOf(cell.segment, by);
  }
  return {
    exposures,
    metrics,
    ...(products === undefined ? {} : { products }),
    health,
    histogram,
    phases,
    starts,
    definitions: latestRows.map(definitionRow),
    controls: controls.map(controlFromRow),
    guardrails,
    percentileCaps,
  };
}
