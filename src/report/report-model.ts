/**
 * The report model: what `tracks report --json` prints and the dashboard draws. Stable:
 * fields are only ever added (and `version` raised when one changes meaning).
 * Documented field by field in docs/report-json.md.
 */

/** `[lower, upper]` of a confidence interval. */
export type Interval = readonly [number, number];

/**
 * A comparison of one track with the baseline on one metric.
 *
 * @example
 * ```ts
 * const comparison: Comparison | null | undefined = track.metrics.find((m) => m.metric === 'purchase')?.comparison;
 * if (comparison?.verdict === 'better') console.log(comparison.relative?.estimate, comparison.adjustedPValue);
 * ```
 */
export interface Comparison {
  /**
   * Treatment minus baseline, in the metric's unit (rate or mean per user), with its interval
   * and the fixed-horizon standard error of the estimate.
   */
  readonly absolute: { readonly estimate: number; readonly interval: Interval; readonly standardError: number };
  /** (Treatment - baseline) / |baseline| (its sign the difference's), or null when it cannot be computed (see `relativeCannotCompute`). */
  readonly relative: { readonly estimate: number; readonly interval: Interval } | null;
  /**
   * Why `relative` is null (and with it `chanceToBeatControl` and `risk`, which are on the
   * relative lift): "the control mean is 0, so a relative lift is undefined", say; null when
   * there is a relative lift.
   */
  readonly relativeCannotCompute: string | null;
  /** Two-sided p-value (always-valid when the report is sequential). */
  readonly pValue: number;
  /** p-value adjusted for every comparison in the track set (Holm or Benjamini-Hochberg). */
  readonly adjustedPValue: number;
  /** Whether adjustedPValue < alpha. */
  readonly significant: boolean;
  /**
   * Posterior probability that the track is better than the baseline (normal approximation):
   * higher when the metric's higherIsBetter, lower otherwise; null for a metric declared
   * without a direction (`higherIsBetter: null`), where neither side is better.
   */
  readonly chanceToBeatControl: number | null;
  /** Expected loss in relative lift of choosing the track over the baseline (in the "worse" direction); null without a direction. */
  readonly risk: number | null;
  /**
   * `better` or `worse` than the baseline (significant after adjustment, in the metric's
   * direction); `changed` when significant and the direction is not declared (a guardrail
   * metric without higherIsBetter); else `inconclusive`.
   */
  readonly verdict: 'better' | 'worse' | 'changed' | 'inconclusive';
  /** How many phases the comparison combined (phases with users in both tracks). */
  readonly phases: number;
  /**
   * When the comparison above is adjusted with CUPED (users had history of the metric before
   * their exposure): the share of the absolute lift's variance it removed, and the unadjusted
   * comparison. Null when unadjusted (`--no-cuped`, a ratio, or no history).
   */
  readonly cuped: CupedComparison | null;
  /**
   * Why CUPED was not applied although users had history of the metric (a covariate with no
   * spread: every user the same, or a spread lost to rounding next to a large mean, 1e7 ± 1);
   * null otherwise. The comparison is then the unadjusted one.
   */
  readonly cupedNotApplied: string | null;
}

/**
 * The cap of a metric, as declared and as applied per analysed phase.
 *
 * @example
 * ```ts
 * const cap: MetricCapResult | null | undefined = track.metrics.find((m) => m.metric === 'revenue')?.cap;
 * if (cap) console.log(cap.percentile ?? cap.value, cap.applied);
 * ```
 */
export interface MetricCapResult {
  readonly value?: number | undefined;
  readonly percentile?: number | undefined;
  /** The cap in each analysed phase, in the order of `analysedPhases`. */
  readonly applied: readonly (number | null)[];
}

/**
 * What CUPED changed in a comparison.
 *
 * @example
 * ```ts
 * const cuped: CupedComparison | null | undefined = revenue.comparison?.cuped;
 * if (cuped) console.log(`CUPED removed ${Math.round(cuped.varianceReduction * 100)}% of the variance`);
 * ```
 */
export interface CupedComparison {
  /** 1 - adjusted variance / unadjusted variance of the absolute lift (0.49: the same answer with about half the users). */
  readonly varianceReduction: number;
  /** The comparison without the adjustment (p-value before the set's correction). */
  readonly unadjusted: {
    readonly absolute: { readonly estimate: number; readonly interval: Interval };
    readonly relative: { readonly estimate: number; readonly interval: Interval } | null;
    readonly pValue: number;
  };
}

/**
 * What a metric measures per unit: declared in `configure({ metrics })`, or inferred.
 *
 * @example
 * ```ts
 * const type: MetricType = revenue.type; // 'sum'
 * const value = type === 'conversion' ? revenue.rate : revenue.mean;
 * ```
 */
export type MetricType = 'conversion' | 'sum' | 'count' | 'mean' | 'ratio';

/**
 * One metric of one track: its value (rate or mean per user), and its comparison with the
 * set's baseline (null for the baseline itself, or when it cannot be computed: see `cannotCompute`).
 *
 * @example
 * ```ts
 * const purchase = track.metrics.find((m: MetricResult) => m.metric === 'purchase');
 * if (purchase?.comparison?.significant) console.log(purchase.comparison.relative);
 * ```
 */
export interface MetricResult {
  readonly metric: string;
  /**
   * The test family: `proportion` (conversion metrics), `mean` (sum, count and mean metrics),
   * `ratio` (ratio metrics, delta method).
   */
  readonly kind: 'proportion' | 'mean' | 'ratio';
  /** The metric's type, as declared or (when `declared` is false) inferred from the data. */
  readonly type: MetricType;
  /** Whether the type comes from `configure({ metrics })`; false: inferred (a conversion while every user's total is 1, else a sum). */
  readonly declared: boolean;
  /**
   * Whether a higher value is better: as declared; true when not declared, but null for a
   * guardrail metric declared without it (then any significant move is flagged).
   */
  readonly higherIsBetter: boolean | null;
  /** A guardrail metric: shown apart, and warned about when it moves the wrong way significantly. */
  readonly guardrail: boolean;
  /**
   * The track's value of the metric, every analysed phase together: the conversion rate, the
   * mean per user (sum, count), the mean of converting users' average values (mean), or the ratio.
   */
  readonly value: number | null;
  /** Users with at least one conversion after their exposure. */
  readonly conversions: number;
  /** Sum of values (conversions count 1 each). */
  readonly total: number;
  /** conversions / users. */
  readonly rate: number | null;
  /** total / users. */
  readonly mean: number | null;
  /** Confidence interval of the track's own value (every analysed phase together), at 1 - alpha. */
  readonly interval: Interval | null;
  /**
   * The cap (winsorization) each unit's value was limited to, when the metric declares one:
   * as declared, and the value it came to in each analysed phase (a percentile is computed
   * over every unit of the set in the phase; null where it came to 0 or less for a sum or count,
   * on units without a value or on negative totals, and the phase was not capped).
   */
  readonly cap: MetricCapResult | null;
  /** Null on the baseline track. */
  readonly comparison: Comparison | null;
  /** Why no comparison could be computed, when it could not. */
  readonly cannotCompute: string | null;
}

/**
 * A track's code-path health: runs, errors, mean latency, its p50/p95/p99 with intervals, and
 * each quantile against the baseline's (`comparison`).
 *
 * @example
 * ```ts
 * const p95 = track.latency.quantiles.find((q: LatencyQuantile) => q.q === 0.95);
 * ```
 */
export interface LatencyResult {
  readonly runs: number;
  readonly errors: number;
  readonly errorRate: number | null;
  readonly meanMs: number | null;
  /** The quantiles' estimates (as `quantiles[].estimateMs`), interpolated within their histogram bucket. */
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
  /** p50, p95 and p99 with their confidence intervals (empty without runs). */
  readonly quantiles: readonly LatencyQuantile[];
  /** p50, p95 and p99 against the baseline's (null on the baseline, or without one). */
  readonly comparison: readonly LatencyComparison[] | null;
  /** Counts per latency bucket (see `latencyBucketBoundsMs` at the top level). */
  readonly histogram: readonly number[];
}

/**
 * One latency quantile of a track, from its histogram.
 *
 * @example
 * ```ts
 * const p99: LatencyQuantile | undefined = track.latency.quantiles.find((q) => q.q === 0.99);
 * if (p99 && !p99.aboveRange) console.log(`p99 ${p99.estimateMs} ms, at most ${p99.interval[1]} ms`);
 * ```
 */
export interface LatencyQuantile {
  /** 0.5, 0.95 or 0.99. */
  readonly q: number;
  readonly estimateMs: number;
  /** At 1 - alpha; the upper end is Infinity with too few runs to bound it. */
  readonly interval: Interval;
  /** The quantile lies in the first bucket (under 0.05 ms): shown as "< 0.05 ms". */
  readonly belowResolution: boolean;
  /** The quantile lies in the open last bucket (over about 2 minutes): shown as "> ...". */
  readonly aboveRange: boolean;
}

/**
 * One latency quantile of a track against the baseline's.
 *
 * @example
 * ```ts
 * const p95: LatencyComparison | undefined = track.latency.comparison?.find((c) => c.q === 0.95);
 * if (p95?.slower) console.warn(`${track.name} is ${p95.differenceMs.estimate} ms slower at p95`);
 * ```
 */
export interface LatencyComparison {
  readonly q: number;
  /** Track minus baseline, in ms, with its interval. */
  readonly differenceMs: { readonly estimate: number; readonly interval: Interval };
  /** Track over baseline (1.2: 20% slower), or null when either is below resolution. */
  readonly ratio: { readonly estimate: number; readonly interval: Interval } | null;
  /** Two-sided p-value of "no difference": the smallest level at which the difference's interval excludes 0 (at least 1e-12). */
  readonly pValue: number;
  /** p95 only: significantly slower than the baseline, after the set's correction across its tracks. */
  readonly slower: boolean;
}

/**
 * One track of a set: its users, expected share, metrics and latency.
 *
 * @example
 * ```ts
 * for (const track of set.tracks as TrackResult[]) console.log(track.name, track.users);
 * ```
 */
export interface TrackResult {
  readonly name: string;
  readonly isBaseline: boolean;
  readonly users: number;
  /** The track's configured share of the test, from its weight. */
  readonly expectedShare: number | null;
  readonly metrics: readonly MetricResult[];
  readonly latency: LatencyResult;
}

/**
 * What a warning is about, for code that filters them (`warning.kind === 'sample-ratio-mismatch'`).
 *
 * @example
 * ```ts
 * const blocking: WarningKind[] = ['sample-ratio-mismatch', 'guardrail'];
 * const blocked = set.warnings.some((w) => blocking.includes(w.kind));
 * ```
 */
export type WarningKind = 'sample-ratio-mismatch' | 'too-few-users' | 'peeking' | 'guardrail' | 'guardrail-metric' | 'no-baseline' | 'latency' | 'shadow' | 'holdout-intake' | 'unknown-serve' | 'no-health';

/**
 * Something that makes a set's numbers less trustworthy, or calls for action, with its text.
 *
 * @example
 * ```ts
 * const srm = set.warnings.some((w: ReportWarning) => w.kind === 'sample-ratio-mismatch');
 * ```
 */
export interface ReportWarning {
  readonly kind: WarningKind;
  readonly message: string;
}

/**
 * One point of the lift-over-time chart: cumulative up to the end of `day`.
 *
 * @example
 * ```ts
 * const report = buildReport(await store.summarize(), { timeline: true });
 * const points: readonly TimelinePoint[] = report.trackSets[0]?.timeline ?? [];
 * const purchase = points.filter((p) => p.metric === 'purchase' && p.track === 'long');
 * ```
 */
export interface TimelinePoint {
  readonly day: string;
  readonly track: string;
  readonly metric: string;
  readonly users: number;
  readonly relative: { readonly estimate: number; readonly interval: Interval } | null;
}

/**
 * One phase of a track set: the users first exposed while one configuration held.
 *
 * @example
 * ```ts
 * const current: PhaseResult | undefined = set.phases.at(-1);
 * console.log(current?.index, current?.startedAt, current?.configuration?.weights);
 * ```
 */
export interface PhaseResult {
  /** 1 for the first phase; what `tracks report --phase N` takes. */
  readonly index: number;
  /** The phase's id (a hash of its configuration; '' for data recorded before phases existed). */
  readonly id: string;
  readonly startedAt: string | null;
  /** When the next phase began (conversions of this phase's users count until then); null for the current one. */
  readonly endedAt: string | null;
  /**
   * Each stretch of time the phase was in force, in order: one, unless the set came back to
   * this configuration after another (a rollback deploy, or a process of the older version
   * starting during a rolling deploy). Its users of every stretch are analysed together.
   */
  readonly stretches: readonly { readonly from: string | null; readonly to: string | null }[];
  /** Whether the phase is a stop: everyone served one track, no one assigned. */
  readonly stopped: boolean;
  /**
   * The track a stopped phase serves everyone: known for the set's current stop only (the store
   * keeps its latest stop), as the set's `serving`; null for an earlier stop and a phase not stopped.
   */
  readonly serving: string | null;
  /**
   * Whether the phase ran in shadow mode (everyone served the baseline, candidates run beside
   * it), as its definition records it; for phases recorded before tracks recorded it, inferred: true for every phase of a set still in shadow, and
   * for a promoted set's phases without users that began before its latest change and its last
   * shadow run; false for phases with users, the phase of the latest change, and sets that never
   * ran in shadow; null when it cannot be told.
   */
  readonly shadow: boolean | null;
  readonly users: number;
  /** The configuration the phase ran with, or null when it was not recorded. */
  readonly configuration: {
    readonly weights: Readonly<Record<string, number>>;
    readonly coverage: number;
    readonly baseline: string | null;
    readonly sticky: boolean | null;
  } | null;
  /**
   * This phase's users against this phase's weights; tracks a guardrail switched off during the
   * phase are left out ({@link PhaseResult.srmExcluded}), the others checked against
   * their own weights renormalized. Null when it cannot run: no users, or fewer than 2 weighted
   * tracks (left).
   */
  readonly srm: { readonly pValue: number; readonly mismatch: boolean } | null;
  /**
   * Tracks of the phase's weights left out of `srm` because a guardrail switched them off during
   * the phase: from the trip on such a track gains no users in the process that tripped it (its
   * keys are served the baseline and record no exposure), so its share no longer follows its
   * weight. Empty without a trip.
   */
  readonly srmExcluded: readonly string[];
  /** Users per track in the phase, and each track's configured share then. */
  readonly tracks: readonly { readonly name: string; readonly users: number; readonly expectedShare: number | null }[];
  /** The phase analysed alone (`tracks report --all-phases`). */
  readonly results?: readonly TrackResult[] | undefined;
}

/**
 * One track set's results: status, baseline, sample-ratio check, tracks, phases, warnings, and
 * its segments with `by`.
 *
 * @example
 * ```ts
 * const delay = report.trackSets.find((s: TrackSetResult) => s.id === 'delay');
 * ```
 */
export interface TrackSetResult {
  readonly id: string;
  /** A holdout's pseudo set (`configure({ holdout })`): `general` users against `holdout` users, shown apart. */
  readonly holdout: boolean;
  readonly status: 'running' | 'stopped' | 'guardrail';
  /** The track served to everyone while stopped. */
  readonly serving: string | null;
  readonly baseline: string | null;
  readonly users: number;
  readonly firstExposureAt: string | null;
  readonly lastExposureAt: string | null;
  /**
   * Sample-ratio check of every analysed phase against its own weights: the sum of the phases'
   * chi-square statistics and degrees of freedom (so a ramp or a sticky set raises no false alarm).
   * Each phase leaves out the tracks a guardrail switched off during it ({@link TrackSetResult.srmExcluded}).
   */
  readonly srm: { readonly pValue: number; readonly mismatch: boolean } | null;
  /**
   * Tracks left out of `srm` in at least one analysed phase because a guardrail switched them
   * off ({@link PhaseResult.srmExcluded}); empty without a trip.
   */
  readonly srmExcluded: readonly string[];
  /** Every phase of the set, oldest first. */
  readonly phases: readonly PhaseResult[];
  /** The phases the comparisons combine (indexes): all of them, or the one of `--phase N`. */
  readonly analysedPhases: readonly number[];
  /** Metrics whose type was inferred from the data, not declared. */
  readonly inferredMetrics: readonly string[];
  readonly warnings: readonly ReportWarning[];
  readonly tracks: readonly TrackResult[];
  readonly guardrails: readonly { readonly track: string; readonly cause: string; readonly at: string }[];
  /** Present when the report was built with `timeline: true` (the dashboard). */
  readonly timeline?: readonly TimelinePoint[] | undefined;
  /** Present with `by` (`tracks report --by country`): the results by segment. */
  readonly segments?: SegmentsResult | undefined;
  /**
   * A shadow set's comparison of each candidate with the baseline (`static shadow`), kept
   * after `tracks promote` made it a live test; null for a set that never ran in shadow.
   */
  readonly shadow: ShadowResult | null;
}

/**
 * A shadow set: every user served the baseline, candidates run beside it on a sample of runs.
 *
 * @example
 * ```ts
 * const shadow: ShadowResult | null = set.shadow;
 * if (shadow?.mode === 'shadow') console.log(shadow.candidates.map((c) => c.mismatchRate?.estimate));
 * ```
 */
export interface ShadowResult {
  /**
   * `shadow` while candidates run beside the baseline; `promoted` once `tracks promote` made the
   * set a live A/B test; `ended` once a deploy did (the set's code no longer declares
   * `static shadow`: a live phase with users came after the shadow runs).
   */
  readonly mode: 'shadow' | 'promoted' | 'ended';
  /** The track every user is served in shadow mode, whose results candidates are compared with. */
  readonly baseline: string;
  /** The first and last minute with shadow runs (ISO 8601), null without any. */
  readonly firstAt: string | null;
  readonly lastAt: string | null;
  readonly candidates: readonly ShadowCandidateResult[];
  /** The latest recorded mismatches (newest first, at most 20), after the set's `clean`. */
  readonly samples: readonly ShadowSampleResult[];
}

/**
 * A share of runs (mismatches, errors, timeouts) with its intervals.
 *
 * @example
 * ```ts
 * const mismatches: RateEstimate | null = candidate.mismatchRate;
 * if (mismatches) console.log(`${mismatches.count} of ${mismatches.of} runs differ`, mismatches.sequentialInterval);
 * ```
 */
export interface RateEstimate {
  /** Runs counted, and the runs it is a share of. */
  readonly count: number;
  readonly of: number;
  readonly estimate: number;
  /** Wilson score interval at 1 - alpha: valid for one look. */
  readonly interval: Interval;
  /** Always-valid interval (a confidence sequence): valid however often it is watched. */
  readonly sequentialInterval: Interval;
}

/**
 * A quantile of the per-run latency difference, candidate minus baseline on the same run, in ms (negative: faster).
 *
 * @example
 * ```ts
 * const p95: PairedLatencyQuantile | undefined = candidate.latency.difference.find((d) => d.q === 0.95);
 * if (p95?.verdict === 'slower') console.warn(`the candidate adds ${p95.estimateMs} ms to a run at p95`);
 * ```
 */
export interface PairedLatencyQuantile {
  /** 0.5 or 0.95. */
  readonly q: number;
  readonly estimateMs: number;
  readonly interval: Interval;
  /** `slower` or `faster` when the interval excludes 0, else `no difference`. */
  readonly verdict: 'slower' | 'faster' | 'no difference';
}

/**
 * One candidate track of a shadow set against the baseline.
 *
 * @example
 * ```ts
 * const candidate: ShadowCandidateResult | undefined = set.shadow?.candidates.find((c) => c.track === 'new');
 * console.log(candidate?.runs, candidate?.mismatches, candidate?.errors, candidate?.timeouts);
 * ```
 */
export interface ShadowCandidateResult {
  readonly track: string;
  /** Candidate runs that ended: matches + mismatches + ignored + errors + timeouts. */
  readonly runs: number;
  readonly matches: number;
  readonly mismatches: number;
  /** Differences the set's `ignore` accepted. */
  readonly ignored: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Sampled runs the candidate did not run: the concurrency cap was reached, or a guardrail had stopped it. */
  readonly skipped: { readonly concurrency: number; readonly guardrail: number };
  /** Mismatches among compared runs (matches + mismatches + ignored); null before any. */
  readonly mismatchRate: RateEstimate | null;
  /** Errors and timeouts among all runs; null before any. */
  readonly errorRate: RateEstimate | null;
  readonly timeoutRate: RateEstimate | null;
  /** Latency of both paths on the same runs (runs that returned a result). */
  readonly latency: {
    readonly pairs: number;
    readonly baseline: { readonly p50Ms: number | null; readonly p95Ms: number | null };
    readonly candidate: { readonly p50Ms: number | null; readonly p95Ms: number | null };
    /** p50 and p95 of the per-run difference (empty without pairs). */
    readonly difference: readonly PairedLatencyQuantile[];
  };
  /** Set when a guardrail stopped the candidate in some process. */
  readonly guardrail: { readonly cause: string; readonly at: string } | null;
}

/**
 * One recorded mismatch: the run's arguments and both results, as JSON text cut to the sample limit.
 *
 * @example
 * ```ts
 * const samples: readonly ShadowSampleResult[] = set.shadow?.samples ?? [];
 * for (const s of samples) console.log(s.track, s.input, s.baseline, s.candidate);
 * ```
 */
export interface ShadowSampleResult {
  readonly track: string;
  readonly at: string;
  readonly input: string;
  readonly baseline: string;
  readonly candidate: string;
}

/**
 * A set's results broken down by one dimension (`static dimensions(context)`).
 *
 * @example
 * ```ts
 * const report = buildReport((await readAnalysis(store, { by: 'country' })).sums);
 * const segments: SegmentsResult | undefined = report.trackSets[0]?.segments;
 * for (const segment of segments?.values ?? []) console.log(segment.value, segment.users);
 * ```
 */
export interface SegmentsResult {
  readonly dimension: string;
  /** The largest segments, 10 rows at most: `(none)` (users recorded without the dimension, always its own row), the largest values, and `other` (the rest). */
  readonly values: readonly SegmentResult[];
  /** Per track and metric: does the effect differ between segments? (Cochran's Q over the segments' fixed-horizon lifts.) */
  readonly heterogeneity: readonly Heterogeneity[];
}

/**
 * One segment's users, its sample-ratio check, and each track's metrics against the baseline within it.
 *
 * @example
 * ```ts
 * const germany: SegmentResult | undefined = set.segments?.values.find((s) => s.value === 'DE');
 * if (germany?.srm?.mismatch) console.warn('the split is off in DE');
 * ```
 */
export interface SegmentResult {
  readonly value: string;
  readonly users: number;
  /** The segment's users against each phase's weights, leaving out the tracks the set's check leaves out (`srmExcluded`). */
  readonly srm: { readonly pValue: number; readonly mismatch: boolean } | null;
  readonly tracks: readonly {
    readonly name: string;
    readonly isBaseline: boolean;
    readonly users: number;
    /** `comparison.adjustedPValue` is corrected across every segment's comparisons of the set. */
    readonly metrics: readonly { readonly metric: string; readonly value: number | null; readonly comparison: Comparison | null; readonly cannotCompute: string | null }[];
  }[];
}

/**
 * Whether a track's effect on a metric differs between segments.
 *
 * @example
 * ```ts
 * const differs = set.segments?.heterogeneity.filter((h: Heterogeneity) => h.pValue !== null && h.pValue < 0.05);
 * for (const h of differs ?? []) console.log(`${h.track} moves ${h.metric} differently by ${set.segments?.dimension}`);
 * ```
 */
export interface Heterogeneity {
  readonly track: string;
  readonly metric: string;
  /** Segments with a comparison. */
  readonly segments: number;
  /** Cochran's Q, its degrees of freedom (segments - 1), p-value and I²; null with fewer than 2 segments. */
  readonly q: number | null;
  readonly degreesOfFreedom: number | null;
  readonly pValue: number | null;
  readonly iSquared: number | null;
}

/**
 * The report, as `buildReport` returns it and `tracks report --json` prints it (documented in
 * docs/report-json.md): the options it was built with and every track set's results.
 *
 * @example
 * ```ts
 * const report: Report = buildReport(await store.summarize());
 * if (report.trackSets[0]?.srm?.mismatch) console.warn('check the split');
 * ```
 */
export interface Report {
  readonly version: 1;
  readonly generatedAt: string;
  readonly store: string;
  readonly alpha: number;
  readonly sequential: boolean;
  readonly correction: 'holm' | 'benjamini-hochberg';
  /** CUPED's default pre-exposure window, or null when the report was built without CUPED (`--no-cuped`). */
  readonly cuped: { readonly windowDays: number } | null;
  readonly latencyBucketBoundsMs: readonly number[];
  readonly trackSets: readonly TrackSetResult[];
}
