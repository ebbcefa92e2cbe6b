/**
 * The report model: what `tracks report --json` prints and the dashboard draws. Stable:
 * fields are only ever added (and `version` raised when one changes meaning).
 * Documented field by field in docs/report-json.md.
 */

/** `[lower, upper]` of a confidence interval. */
export type Interval = readonly [number, number];

/** A comparison of one track with the baseline on one metric. */
export interface Comparison {
  /** Treatment minus baseline, in the metric's unit (rate or mean per user). */
  readonly absolute: { readonly estimate: number; readonly interval: Interval };
  /** (Treatment - baseline) / baseline, or null when the baseline is 0. */
  readonly relative: { readonly estimate: number; readonly interval: Interval } | null;
  /** Two-sided p-value (always-valid when the report is sequential). */
  readonly pValue: number;
  /** p-value adjusted for every comparison in the track set (Holm or Benjamini-Hochberg). */
  readonly adjustedPValue: number;
  /** Whether adjustedPValue < alpha. */
  readonly significant: boolean;
  /** Posterior probability that the track beats the baseline (normal approximation). */
  readonly chanceToBeatControl: number | null;
  /** Expected loss in relative lift of choosing the track over the baseline. */
  readonly risk: number | null;
}

export interface MetricResult {
  readonly metric: string;
  /** `proportion` when every converting user's total is exactly 1, else `mean`. */
  readonly kind: 'proportion' | 'mean';
  /** Users with at least one conversion after their exposure. */
  readonly conversions: number;
  /** Sum of values (conversions count 1 each). */
  readonly total: number;
  /** conversions / users. */
  readonly rate: number | null;
  /** total / users. */
  readonly mean: number | null;
  /** Confidence interval of the track's own rate (proportions) or mean (means), at 1 - alpha. */
  readonly interval: Interval | null;
  /** Null on the baseline track. */
  readonly comparison: Comparison | null;
  /** Why no comparison could be computed, when it could not. */
  readonly cannotCompute: string | null;
}

export interface LatencyResult {
  readonly runs: number;
  readonly errors: number;
  readonly errorRate: number | null;
  readonly meanMs: number | null;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
  /** Counts per latency bucket (see `latencyBucketBoundsMs` at the top level). */
  readonly histogram: readonly number[];
}

export interface TrackResult {
  readonly name: string;
  readonly isBaseline: boolean;
  readonly users: number;
  /** The track's configured share of the test, from its weight. */
  readonly expectedShare: number | null;
  readonly metrics: readonly MetricResult[];
  readonly latency: LatencyResult;
}

export type WarningKind = 'sample-ratio-mismatch' | 'too-few-users' | 'peeking' | 'guardrail' | 'no-baseline';

export interface ReportWarning {
  readonly kind: WarningKind;
  readonly message: string;
}

/** One point of the lift-over-time chart: cumulative up to the end of `day`. */
export interface TimelinePoint {
  readonly day: string;
  readonly track: string;
  readonly metric: string;
  readonly users: number;
  readonly relative: { readonly estimate: number; readonly interval: Interval } | null;
}

export interface TrackSetResult {
  readonly id: string;
  readonly status: 'running' | 'stopped' | 'guardrail';
  /** The track served to everyone while stopped. */
  readonly serving: string | null;
  readonly baseline: string | null;
  readonly users: number;
  readonly firstExposureAt: string | null;
  readonly lastExposureAt: string | null;
  readonly srm: { readonly pValue: number; readonly mismatch: boolean } | null;
  readonly warnings: readonly ReportWarning[];
  readonly tracks: readonly TrackResult[];
  readonly guardrails: readonly { readonly track: string; readonly cause: string; readonly at: string }[];
  /** Present when the report was built with `timeline: true` (the dashboard). */
  readonly timeline?: readonly TimelinePoint[];
}

export interface Report {
  readonly version: 1;
  readonly generatedAt: string;
  readonly store: string;
  readonly alpha: number;
  readonly sequential: boolean;
  readonly correction: 'holm' | 'benjamini-hochberg';
  readonly latencyBucketBoundsMs: readonly number[];
  readonly trackSets: readonly TrackSetResult[];
}
