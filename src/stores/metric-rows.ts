import type { MetricEvent } from '../model/events.js';
import { declarationOf } from '../model/metrics.js';
import type { MetricDeclaration } from '../model/metrics.js';

/**
 * How the SQL stores read `tracks_metrics`: the latest declaration published for each metric
 * name (processes publish theirs when they first record a metric; the newest deploy wins).
 */

/** The columns read, aliased as {@link MetricRow} names them. */
export const METRIC_COLUMNS = 'name, metric_kind AS "metricKind", numerator, denominator, higher_is_better AS "higherIsBetter", guardrail';

/** A row as the drivers return it (flags as 0/1). */
export interface MetricRow {
  readonly name: string;
  readonly metricKind: MetricEvent['metricKind'];
  readonly numerator: string | null;
  readonly denominator: string | null;
  readonly higherIsBetter: number | null;
  readonly guardrail: number;
}

/** The declarations of rows, by metric name. */
export function declarationsOf(rows: readonly MetricRow[]): Map<string, MetricDeclaration> {
  return new Map(rows.map((r) => [r.name, declarationOf({ ...r, higherIsBetter: r.higherIsBetter === null ? null : Number(r.higherIsBetter) === 1, guardrail: Number(r.guardrail) === 1 })] as const));
}
