import type { MetricDeclaration } from '../model/metrics.js';
import { ratiosOf } from '../model/metrics.js';
import type { Store } from '../model/store.js';
import type { SummarizeOptions, TrackSetSums } from '../model/sums.js';

/** What a report is built from: the store's sums and the metric declarations published to it. */
export interface Analysis {
  readonly sums: TrackSetSums[];
  readonly metrics: ReadonlyMap<string, MetricDeclaration>;
}

/**
 * Reads what `buildReport` needs from a store: the declarations first (so the sums include the
 * products of declared ratios), then the sums. A store without `readMetrics` has none.
 *
 * @example
 * ```ts
 * const { sums, metrics } = await readAnalysis(store, { daily: false });
 * const report = buildReport(sums, { metrics });
 * ```
 */
export async function readAnalysis(store: Store, options: SummarizeOptions = {}): Promise<Analysis> {
  const metrics = (await store.readMetrics?.()) ?? new Map<string, MetricDeclaration>();
  const ratios = ratiosOf(metrics);
  const sums = await store.summarize(ratios.length > 0 ? { ...options, ratios } : options);
  return { sums, metrics };
}
