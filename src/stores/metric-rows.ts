import type { MetricEvent } from '../model/events.js';
import { analysisProblemOf, declarationOf } from '../model/metrics.js';
import type { MetricAnalysis, MetricDeclaration } from '../model/metrics.js';

/**
 * How the SQL stores read `tracks_metrics`: the latest declaration published for each metric
 * name (processes publish theirs when they first record a metric; the newest deploy wins).
 */

/** The columns read, aliased as {@link MetricRow} names them. */
export const METRIC_COLUMNS = 'name, metric_kind AS "metricKind", numerator, denominator, higher_is_better AS "higherIsBetter", guardrail, analysis';

/** A row as the drivers return it (flags as 0/1). */
export interface MetricRow {
  readonly name: string;
  readonly metricKind: MetricEvent['metricKind'];
  readonly numerator: string | null;
  readonly denominator: string | null;
  readonly higherIsBetter: number | null;
  readonly guardrail: number;
  /** The declaration's cuped and cap as JSON, or null. */
  readonly analysis: string | null;
}

/** The declarations of rows, by metric name. */
export function declarationsOf(rows: readonly MetricRow[]): Map<string, MetricDeclaration> {
  return new Map(
    rows.map((r) => {
      const analysis = analysisIn(r);
      const { analysis: _stored, ...fields } = r;
      const event = { ...fields, higherIsBetter: r.higherIsBetter === null ? null : Number(r.higherIsBetter) === 1, guardrail: Number(r.guardrail) === 1 };
      return [r.name, declarationOf({ ...event, ...(analysis === undefined ? {} : { analysis }) })] as const;
    }),
  );
}

/** The stored analysis, when it is one this version can read (a newer one's extra fields are left out). */
function analysisIn(row: MetricRow): MetricAnalysis | undefined {
  if (row.analysis === null) return undefined;
  try {
    const parsed = JSON.parse(row.analysis) as MetricAnalysis;
    const usable = { ...(parsed.cuped === undefined ? {} : { cuped: parsed.cuped }), ...(parsed.cap === undefined ? {} : { cap: parsed.cap }) };
    return analysisProblemOf(row.metricKind, usable) === undefined ? usable : undefined;
  } catch {
    return undefined;
  }
}
