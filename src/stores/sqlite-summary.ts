/**
 * The SQLite store's summary rows: a few grouped queries over the file, run on the store's
 * worker thread (or its reading thread, for half of the units of a big store). The memory and
 * PostgreSQL stores build the same rows (summary-rows.ts) their own way.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../model/store-error.js';
import { longestWindowOf } from '../model/sums.js';
import type { SummarizeOptions } from '../model/sums.js';
import { assertDimension } from './dimension-option.js';
import { controlFromRow } from './control-rows.js';
import type { ControlRow } from './control-rows.js';
import { controlsSql, guardrailsSql, healthSql, histogramSql, phaseStartsSql, SQLITE_DIALECT } from './summary-sql.js';
import { appliedCaps, percentileCapsOf, utcDay } from './summary-rows.js';
import type { ExposureCell, MetricCell, PercentileCapRow, ProductCell, SummaryRows } from './summary-rows.js';
import { phaseMinutes, phaseWindows, startOf } from './phase-windows.js';
import type { PhaseStart } from './phase-windows.js';
import { definitionRow } from './definition-rows.js';
import type { DefinitionSqlRow } from './definition-rows.js';

/** An exposure's key in tracks_exposures: its set and unit. */
export type UnitKey = readonly [trackSetId: string, unit: string];

/**
 * The parts of a summary one call reads. A unit's sums need only its own rows, so the units
 * can be summed in ranges of keys (`from` inclusive, `to` exclusive, either end open) apart,
 * and the rows concatenated (buildSummary adds rows of one cell). SqliteStore reads the
 * exposure counts (`sets`) only once both halves' conversions are summed: in a snapshot no
 * older than theirs, so every unit whose conversions are summed is among the users
 * (exposures are only added by recording; a tool that deletes exposures meanwhile could undo
 * that). Percentile caps rank every unit: a range cannot have them.
 */
export interface SummaryPart {
  /** Sum the conversions of these exposed units; absent: of none. */
  readonly units?: ({ readonly from?: UnitKey; readonly to?: UnitKey }) | undefined;
  /** Read the health rows: runs, errors and latency histograms. */
  readonly health?: boolean | undefined;
  /** Read the exposure counts and what is kept per set: definitions, phases, controls, guardrails. */
  readonly sets?: boolean | undefined;
}

/** Every part: a summary in one pass. */
export const WHOLE_SUMMARY: SummaryPart = { units: {}, health: true, sets: true };

/** Every part but the conversions: a summary with `metrics: false`. */
export const WITHOUT_METRICS: SummaryPart = { health: true, sets: true };

/** The rows for buildSummary, in a few grouped queries over the file. */
export function summaryRowsSqlite(db: BetterSqlite3.Database, options: SummarizeOptions | undefined, part: SummaryPart): SummaryRows {
  const id = options?.trackSetId;
  const daily = options?.daily !== false;
  const params = id === undefined ? {} : { id };
  const where = (alias: string) => (id === undefined ? '' : `WHERE ${alias}track_set_id = @id`);
  const and = (alias: string) => (id === undefined ? '' : `AND ${alias}track_set_id = @id`);
  const all = <T>(sql: string, extra: Record<string, unknown> = {}) => db.prepare(sql).all({ ...params, ...extra }) as T[];
  // A store of version 8 or 9 is read as it is (reads never migrate): its phases' shadow mode is not recorded.
  const shadow = db.prepare("SELECT 1 FROM pragma_table_info('tracks_definitions') WHERE name = 'shadow'").get() === undefined ? 'NULL AS shadow' : 'd.shadow';
  const definition = `d.track_set_id AS trackSetId, COALESCE(d.phase, '') AS phase, d.at, d.weights, d.coverage, d.control, d.sticky, d.stopped, d.holdout, ${shadow}`;
  const sets = part.sets === true;
  // Each phase's first definition (its start and configuration), and each set's latest.
  const phases = !sets
    ? []
    : all<DefinitionSqlRow>(`SELECT ${definition} FROM tracks_definitions d
    WHERE d.event_id = (SELECT x.event_id FROM tracks_definitions x WHERE x.track_set_id = d.track_set_id
      AND COALESCE(x.phase, '') = COALESCE(d.phase, '') ORDER BY x.at, x.event_id LIMIT 1) ${and('d.')}`).map(definitionRow);
  const definitions = !sets
    ? []
    : all<DefinitionSqlRow>(`SELECT ${definition} FROM tracks_definitions d
    WHERE d.event_id = (SELECT x.event_id FROM tracks_definitions x WHERE x.track_set_id = d.track_set_id ORDER BY x.at DESC, x.event_id DESC LIMIT 1)
    ${and('d.')}`).map(definitionRow);
  const starts = all<PhaseStart & { holdoutShare: number | null }>(phaseStartsSql(SQLITE_DIALECT, id === undefined ? '' : 'WHERE track_set_id = @id OR holdout = 1')).map(startOf);
  // Conversions count until the first start of another phase after the exposure: the windows, as a small table.
  const ended = phaseWindows(starts).map((w) => [w.trackSetId, w.phase, w.from, w.to, w.ended]);
  const day = (column: string) => (daily ? `${column} / 86400000` : 'NULL');
  // Segments: the unit's value of one dimension, kept with its exposure as JSON.
  const by = options?.by;
  if (by !== undefined) assertDimension(by);
  const segment = (alias: string) => (by === undefined ? '' : `, COALESCE(json_extract(${alias}dimensions, @segmentPath), '') AS segment`);
  const segmentParams = by === undefined ? {} : { segmentPath: `$."${by}"` };
  // The units summed: the exposures' primary key read from one key to another.
  const range = part.units;
  const unitsIn = [range?.from && 'AND (e.track_set_id, e.unit) >= (@fromSet, @fromUnit)', range?.to && 'AND (e.track_set_id, e.unit) < (@toSet, @toUnit)'].filter(Boolean).join(' ');
  const rangeParams = {
    ...(range?.from === undefined ? {} : { fromSet: range.from[0], fromUnit: range.from[1] }),
    ...(range?.to === undefined ? {} : { toSet: range.to[0], toUnit: range.to[1] }),
  };
  // Exposures are counted from the trigger-kept tracks_exposure_counts (a row per set, phase,
  // track, dimensions and day: a few rows, not a scan), the segment read once per distinct
  // dimensions rather than once per unit ('' is "no dimensions" there).
  const exposures = !sets
    ? []
    : all<ExposureCell>(
        `SELECT track_set_id AS trackSetId, phase, ${daily ? 'day' : 'NULL'} AS day, track, SUM(users) AS users, MIN(first_at) AS first, MAX(last_at) AS last
          ${by === undefined ? '' : ", COALESCE(json_extract(NULLIF(dimensions, ''), @segmentPath), '') AS segment"}
        FROM tracks_exposure_counts ${where('')} GROUP BY 1, 2, 3, 4 ${by === undefined ? '' : ', segment'}`,
        segmentParams,
      );
  // Per user and metric: the total and number of conversions at or after the exposure and
  // before the end of the user's phase, and (CUPED's covariate) the total and number in the
  // pre-exposure window. Without a window the join is the plain "at or after the exposure".
  const endsTable = ended.length > 0
    ? `ends AS (SELECT json_extract(value, '$[0]') AS track_set_id, json_extract(value, '$[1]') AS phase, json_extract(value, '$[2]') AS from_at,
        json_extract(value, '$[3]') AS to_at, json_extract(value, '$[4]') AS ended FROM json_each(@ends)),`
    : '';
  const window = options?.preExposure;
  const back = longestWindowOf(window);
  const windows = window?.byMetric === undefined ? [] : [...window.byMetric];
  const windowsTable = windows.length > 0 ? `w AS (SELECT json_extract(value, '$[0]') AS metric, json_extract(value, '$[1]') AS ms FROM json_each(@windows)),` : '';
  const after = ended.length > 0 ? 'c.at >= e.at AND (x.ended IS NULL OR c.at < x.ended)' : 'c.at >= e.at';
  const inWindow = back === 0 ? after : `(${after}) OR (c.at < e.at AND c.at >= e.at - ${windows.length > 0 ? 'COALESCE(w.ms, @window)' : '@window'})`;
  const perUser = `${endsTable} ${windowsTable} u AS (
      SELECT e.track_set_id AS trackSetId, COALESCE(e.phase, '') AS phase, ${day('e.at')} AS day, e.track, e.unit, c.metric ${segment('e.')},
        SUM(CASE WHEN c.at >= e.at THEN c.value END) AS total, SUM(c.at >= e.at) AS n,
        COALESCE(SUM(CASE WHEN c.at < e.at THEN c.value END), 0.0) AS preTotal, SUM(c.at < e.at) AS preN
      FROM tracks_exposures e JOIN tracks_conversions c ON c.unit = e.unit AND c.at >= e.at - @back
      ${ended.length > 0 ? "LEFT JOIN ends x ON x.track_set_id = e.track_set_id AND x.phase = COALESCE(e.phase, '') AND e.at >= x.from_at AND e.at < x.to_at" : ''}
      ${windows.length > 0 ? 'LEFT JOIN w ON w.metric = c.metric' : ''}
      WHERE (${inWindow}) ${and('e.')} ${unitsIn}
      GROUP BY e.track_set_id, e.unit, c.metric)`;
  const endParams = {
    ...segmentParams,
    ...rangeParams,
    back,
    ...(back > 0 ? { window: window?.ms ?? 0 } : {}),
    ...(windows.length > 0 ? { windows: JSON.stringify(windows) } : {}),
    ...(ended.length > 0 ? { ends: JSON.stringify(ended) } : {}),
  };
  // Caps (winsorization): a percentile cap's value per set and phase first (the unit ranked
  // percentileRank from the top; units without a conversion count as 0 for sum and count),
  // then every user's value limited in the summing pass.
  const caps = options?.caps ?? [];
  const ranksUnits = range !== undefined && caps.some((c) => c.percentile !== undefined);
  if (ranksUnits && unitsIn !== '') {
    throw new StoreError('tracks: a percentile cap ranks every unit: a summary with one cannot be summed over a range of units', { transient: false, code: 'TRACKS_SUMMARY_PART' });
  }
  // percentileRank in SQL: units count as 0 for sum and count metrics (every exposed unit), not for mean; ceil(x) as int(x) + (x > int(x)).
  const units = "(CASE WHEN r.kind = 'mean' THEN r.c ELSE n.users END)";
  const percentileCaps = ranksUnits
    ? percentileCapsOf(
        all<PercentileCapRow & { kind: string }>(
          `WITH ${perUser},
          k AS (SELECT json_extract(value, '$[0]') AS metric, json_extract(value, '$[1]') AS kind, json_extract(value, '$[2]') AS q FROM json_each(@percentiles)),
          n AS (SELECT track_set_id AS trackSetId, phase, SUM(users) AS users FROM tracks_exposure_counts ${where('')} GROUP BY 1, 2),
          v AS (SELECT u.trackSetId, u.phase, u.metric, k.kind, k.q,
              CASE k.kind WHEN 'count' THEN u.n WHEN 'mean' THEN u.total / u.n ELSE u.total END AS value
            FROM u JOIN k ON k.metric = u.metric WHERE u.n > 0),
          r AS (SELECT v.*, ROW_NUMBER() OVER (PARTITION BY v.trackSetId, v.phase, v.metric ORDER BY v.value DESC) AS rank,
              COUNT(*) OVER (PARTITION BY v.trackSetId, v.phase, v.metric) AS c FROM v)
          SELECT r.trackSetId, r.phase, r.metric, r.value, r.kind FROM r JOIN n ON n.trackSetId = r.trackSetId AND n.phase = r.phase
          WHERE r.rank = ${units} - (CAST(r.q * ${units} - 1e-9 AS INTEGER) + (r.q * ${units} - 1e-9 > CAST(r.q * ${units} - 1e-9 AS INTEGER))) + 1`,
          { ...endParams, percentiles: JSON.stringify(caps.filter((c) => c.percentile !== undefined).map((c) => [c.metric, c.kind, c.percentile])) },
        )
      )
    : [];
  const applied = appliedCaps(caps, percentileCaps);
  const capped = (expression: string, kind: string) =>
    applied.length === 0 ? expression : `CASE WHEN kc.kind = '${kind}' THEN MIN(${expression}, kc.value) ELSE ${expression} END`;
  const capsTable = applied.length === 0 ? '' : `,
    kc AS (SELECT json_extract(value, '$[0]') AS trackSetId, json_extract(value, '$[1]') AS phase, json_extract(value, '$[2]') AS metric,
      json_extract(value, '$[3]') AS kind, json_extract(value, '$[4]') AS value FROM json_each(@caps))`;
  const capsJoin = applied.length === 0 ? '' : 'LEFT JOIN kc ON kc.metric = u.metric AND (kc.trackSetId IS NULL OR (kc.trackSetId = u.trackSetId AND kc.phase = u.phase))';
  // Each user's values as the sums read them, capped where the metric has a cap.
  const perUserCapped = `${perUser}${capsTable},
    uc AS (SELECT u.trackSetId, u.phase, u.day, u.track, u.metric ${by === undefined ? '' : ', u.segment'}, u.n AS converted, u.preN AS preConverted,
        ${capped('u.total', 'sum')} AS total, ${capped('u.n', 'count')} AS n, ${capped('u.total / u.n', 'mean')} AS mean,
        ${capped('u.preTotal', 'sum')} AS preTotal, ${capped('u.preN', 'count')} AS preN,
        ${capped('CASE WHEN u.preN > 0 THEN u.preTotal / u.preN ELSE 0.0 END', 'mean')} AS preMean
      FROM u ${capsJoin})`;
  // Grouped by one key (a JSON array of the cell's names): SQLite sorts the users' rows to group
  // them, and one text key sorts and compares at a fraction of the cost of five or six.
  const metrics = range === undefined ? [] : all<MetricCell & { cell?: string }>(
    `WITH ${perUserCapped}
    SELECT json_array(trackSetId, phase, day, track, metric ${by === undefined ? '' : ', segment'}) AS cell, SUM(converted > 0) AS converted, COALESCE(SUM(total), 0) AS sum, COALESCE(SUM(total * total), 0) AS sumSquares,
      SUM(n) AS count, SUM(n * n) AS countSquares, COALESCE(SUM(mean), 0) AS meanSum, COALESCE(SUM(mean * mean), 0) AS meanSquares,
      SUM(preConverted > 0) AS preConverted, SUM(converted > 0 AND preConverted > 0) AS crossConverted,
      SUM(preTotal) AS preSum, SUM(preTotal * preTotal) AS preSumSquares, COALESCE(SUM(total * preTotal), 0) AS crossSum,
      SUM(preN) AS preCount, SUM(preN * preN) AS preCountSquares, SUM(n * preN) AS crossCount,
      COALESCE(SUM(CASE WHEN converted > 0 THEN preMean END), 0) AS preMeanSum,
      COALESCE(SUM(CASE WHEN converted > 0 THEN preMean * preMean END), 0) AS preMeanSquares,
      COALESCE(SUM(mean * preMean), 0) AS crossMean
    FROM uc GROUP BY 1`,
    { ...endParams, ...(applied.length > 0 ? { caps: JSON.stringify(applied.map((c) => [c.trackSetId, c.phase, c.metric, c.kind, c.value])) } : {}) },
  ).map(({ cell, ...sums }) => {
    const [trackSetId, phase, day, track, metric, segment] = JSON.parse(cell!) as [string, string, string | null, string, string, string?];
    return { ...sums, trackSetId, phase, day, track, metric, ...(by === undefined ? {} : { segment: segment! }) };
  });
  const ratios = options?.ratios;
  const products =
    ratios === undefined
      ? undefined
      : ratios.length === 0 || range === undefined
        ? []
        : all<ProductCell>(
            `WITH ${perUser},
            r AS (SELECT json_extract(value, '$[0]') AS numerator, json_extract(value, '$[1]') AS denominator FROM json_each(@ratios))
            SELECT a.trackSetId, a.phase, a.day, a.track, r.numerator, r.denominator, COALESCE(SUM(a.total * b.total), 0) AS sum ${by === undefined ? '' : ', a.segment AS segment'}
            FROM r JOIN u a ON a.metric = r.numerator JOIN u b ON b.trackSetId = a.trackSetId AND b.unit = a.unit AND b.metric = r.denominator
            -- Totals after the exposure only (u also holds users with nothing but CUPED's history).
            WHERE a.n > 0 AND b.n > 0
            GROUP BY 1, 2, 3, 4, 5, 6 ${by === undefined ? '' : ', 8'}`,
            { ...endParams, ratios: JSON.stringify(ratios.map((r) => [r.numerator, r.denominator])) },
          );
  // Days are grouped as day numbers (integer division is much cheaper than strftime per row)
  // and named here, on the few grouped rows.
  for (const cell of [...exposures, ...metrics, ...(products ?? [])]) cell.day = cell.day === null ? null : utcDay(Number(cell.day) * 86_400_000);
  const health = part.health === true;
  // Health rows count to the phase in effect at their minute's start: the phases' minutes, as a small table.
  const minuteSpans = health ? phaseMinutes(starts).map((m) => [m.trackSetId, m.phase, m.from, m.to]) : [];
  const minutes = minuteSpans.length === 0
    ? null
    : `SELECT json_extract(value, '$[0]') AS track_set_id, json_extract(value, '$[1]') AS phase, json_extract(value, '$[2]') AS from_minute,
        json_extract(value, '$[3]') AS to_minute FROM json_each(@minutes)`;
  const minuteParams = minutes === null ? {} : { minutes: JSON.stringify(minuteSpans) };
  return {
    exposures,
    metrics,
    ...(products === undefined ? {} : { products }),
    health: !health
      ? []
      : all(healthSql(SQLITE_DIALECT, where('h.'), minutes), minuteParams),
    histogram: !health
      ? []
      : all(histogramSql(SQLITE_DIALECT, where('h.'), minutes), minuteParams),
    phases,
    starts: sets ? starts : [],
    definitions,
    percentileCaps,
    controls: sets ? all<ControlRow>(controlsSql(SQLITE_DIALECT, where(''))).map(controlFromRow) : [],
    guardrails: sets ? all(guardrailsSql(SQLITE_DIALECT, where(''))) : [],
  };
}
