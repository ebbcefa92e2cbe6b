import { shown } from '../text.js';
import { TracksError } from '../errors.js';
import type { MetricDeclaration } from '../model/metrics.js';
import { ratiosOf } from '../model/metrics.js';
import type { Store } from '../model/store.js';
import type { ShadowSums } from '../model/shadow.js';
import { DEFAULT_PRE_EXPOSURE_MS } from '../model/sums.js';
import type { CapRequest } from '../model/caps.js';
import type { PreExposureWindow, SummarizeOptions, TrackSetSums } from '../model/sums.js';
import { isObjectArgument, optionsError } from '../core/arguments.js';

/**
 * What a report is built from: the store's sums and the metric declarations published to it.
 *
 * @example
 * ```ts
 * const analysis: Analysis = await readAnalysis(store);
 * const report = buildReport(analysis.sums, { metrics: analysis.metrics, shadow: analysis.shadow });
 * ```
 */
export interface Analysis {
  readonly sums: TrackSetSums[];
  readonly metrics: ReadonlyMap<string, MetricDeclaration>;
  /** Shadow runs of shadow sets (`static shadow`); empty from a store without `readShadow`. */
  readonly shadow: ShadowSums;
}

/**
 * Reads what `buildReport` needs from a store: the declarations first (so the sums include the
 * products of declared ratios), then the sums. A store without `readMetrics` has none. With
 * `by`, a set that records no such dimension gets no breakdown (one segment "(none)" would say
 * nothing); a store without `readDimensions` is taken at its word.
 *
 * @example
 * ```ts
 * const { sums, metrics, shadow } = await readAnalysis(store, { daily: false });
 * const report = buildReport(sums, { metrics, shadow });
 * ```
 */
export async function readAnalysis(store: Store, options: AnalysisOptions = {}): Promise<Analysis> {
  if (typeof store !== 'object' || store === null || typeof (store as Partial<Store>).summarize !== 'function') {
    throw new TracksError(`readAnalysis: the store is ${shown(store)}; pass a store, e.g. readAnalysis(sqliteStore('tracks.db'))`);
  }
  if (!isObjectArgument(options)) throw optionsError('readAnalysis', options, '{ daily: false }');
  const { cuped, ...summarize } = options;
  const metrics = (await store.readMetrics?.()) ?? new Map<string, MetricDeclaration>();
  const ratios = ratiosOf(metrics);
  const preExposure = preExposureOf(metrics, cuped);
  const caps = capsOf(metrics);
  const sums = await store.summarize({
    ...summarize,
    ...(ratios.length > 0 ? { ratios } : {}),
    ...(preExposure === undefined ? {} : { preExposure }),
    ...(caps.length > 0 ? { caps } : {}),
  });
  const shadow = (await store.readShadow?.(summarize.trackSetId)) ?? { tracks: [], samples: [] };
  const by = summarize.by;
  if (by === undefined || store.readDimensions === undefined) return { sums, metrics, shadow };
  const broken: TrackSetSums[] = [];
  for (const set of sums) broken.push((await store.readDimensions(set.trackSetId)).includes(by) ? set : withoutSegments(set));
  return { sums: broken, metrics, shadow };
}

/** The set's sums without a breakdown by segment. */
function withoutSegments(set: TrackSetSums): TrackSetSums {
  const { segments: _, ...rest } = set;
  return rest;
}

/**
 * What {@link readAnalysis} takes: what to summarize, and CUPED's window (default 14 days; false: none).
 *
 * @example
 * ```ts
 * const options: AnalysisOptions = { trackSetId: 'pricing', by: 'country', cuped: { windowDays: 28 } };
 * const { sums, metrics } = await readAnalysis(store, options);
 * ```
 */
export type AnalysisOptions = Omit<SummarizeOptions, 'ratios' | 'preExposure' | 'caps'> & { readonly cuped?: CupedOption };

/**
 * The report's CUPED setting: on with a window (days; default 14), or off.
 *
 * @example
 * ```ts
 * const cuped: CupedOption = { windowDays: 28 }; // or false: no adjustment
 * const { sums, metrics } = await readAnalysis(store, { cuped });
 * const report = buildReport(sums, { metrics, cuped });
 * ```
 */
export type CupedOption = false | { readonly windowDays?: number };

/**
 * The pre-exposure windows to sum covariates over: the report's for every metric, a metric's
 * own where it declares one, none for a metric declared `cuped: false`. Undefined when off.
 */
function preExposureOf(metrics: ReadonlyMap<string, MetricDeclaration>, cuped: CupedOption | undefined): PreExposureWindow | undefined {
  if (cuped === false) return undefined;
  const ms = (cuped?.windowDays ?? DEFAULT_PRE_EXPOSURE_MS / DAY_MS) * DAY_MS;
  const byMetric = new Map<string, number>();
  for (const [name, d] of metrics) {
    if (d.cuped === false) byMetric.set(name, 0);
    else if (d.cuped !== undefined) byMetric.set(name, d.cuped.windowDays * DAY_MS);
  }
  return byMetric.size > 0 ? { ms, byMetric } : { ms };
}

const DAY_MS = 86_400_000;

/** The caps declared on metrics (`cap: { value }` or `{ percentile }`), for `summarize({ caps })`. */
export function capsOf(metrics: ReadonlyMap<string, MetricDeclaration>): CapRequest[] {
  const caps: CapRequest[] = [];
  for (const [metric, d] of metrics) {
    if (d.cap === undefined || d.kind === 'ratio' || d.kind === 'conversion') continue;
    caps.push({ metric, kind: d.kind, ...('value' in d.cap ? { value: d.cap.value } : { percentile: d.cap.percentile }) });
  }
  return caps;
}
