import { quoted } from '../core/names.js';
import { TracksError } from '../errors.js';
import { LATENCY_BUCKET_BOUNDS_MS, latencyQuantile } from '../model/latency-histogram.js';
import { bayesianComparison } from '../stats/bayes.js';
import { sequentialLift } from '../stats/confidence-sequence.js';
import { lift } from '../stats/lift.js';
import { adjustPValues } from '../stats/multiple-testing.js';
import { proportionTest } from '../stats/proportion-test.js';
import { srmCheck } from '../stats/srm-check.js';
import { normalQuantile } from '../stats/distributions.js';
import { summarize } from '../stats/summary.js';
import type { MetricKind, SufficientStatistics } from '../stats/summary.js';
import type { DailySums, HealthSums, MetricSums, TrackSetSums, TrackSums } from '../model/sums.js';
import type {
  Comparison,
  Interval,
  LatencyResult,
  MetricResult,
  Report,
  ReportWarning,
  TimelinePoint,
  TrackResult,
  TrackSetResult,
} from './report-model.js';

/** How to analyse: significance level, sequential testing, correction, baselines. */
export interface ReportOptions {
  /** Describes the store in the report, e.g. `sqlite:tracks.db`. */
  readonly store?: string;
  /** Significance level (default 0.05). */
  readonly alpha?: number;
  /** Always-valid confidence sequences, for teams that look every day (default false). */
  readonly sequential?: boolean;
  /** Tuning parameter of the confidence sequence: the sample size it is tightest at (default 5000). */
  readonly tuningParameter?: number;
  /** Multiple-testing correction across the tracks and metrics of a set (default Holm). */
  readonly correction?: 'holm' | 'benjamini-hochberg';
  /**
   * Baselines by track set id, overriding what each class declares (`static control`); a Map,
   * or an object of own properties. Every one must name a recorded set and one of its tracks.
   */
  readonly baselines?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** Fewer users than this in a track raises a warning (default 100). */
  readonly minUsers?: number;
  /** Include the cumulative lift by day (the dashboard's chart). */
  readonly timeline?: boolean;
  /** The report's clock, for tests. */
  readonly now?: Date;
}

const NO_METRIC: MetricSums = { converted: 0, sum: 0, sumSquares: 0 };

/**
 * Turns the sufficient statistics a store summarized into the report: per track set and
 * track, rates and means, lift with intervals, p-values adjusted across the set, chance to
 * beat control, latency and error rate, and warnings. Pure: no I/O.
 *
 * @example
 * ```ts
 * const report = buildReport(await store.summarize(), { alpha: 0.05, sequential: true });
 * ```
 */
export function buildReport(sums: readonly TrackSetSums[], options: ReportOptions = {}): Report {
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new TracksError(`alpha is ${alpha}; use a number between 0 and 1, like 0.05`);
  const correction = options.correction ?? 'holm';
  const baselines = options.baselines instanceof Map ? options.baselines : new Map(Object.entries(options.baselines ?? {}));
  checkBaselines(sums, baselines);
  return {
    version: 1,
    generatedAt: (options.now ?? new Date()).toISOString(),
    store: options.store ?? '',
    alpha,
    sequential: options.sequential ?? false,
    correction,
    latencyBucketBoundsMs: LATENCY_BUCKET_BOUNDS_MS,
    trackSets: sums.map((set) => trackSetResult(set, { ...options, alpha, correction, baselines })),
  };
}

type Resolved = Omit<ReportOptions, 'baselines'> & {
  readonly alpha: number;
  readonly correction: 'holm' | 'benjamini-hochberg';
  readonly baselines: ReadonlyMap<string, string>;
};

const NO_WEIGHTS: ReadonlyMap<string, number> = new Map();

function trackSetResult(set: TrackSetSums, options: Resolved): TrackSetResult {
  const weights = set.definition?.weights ?? NO_WEIGHTS;
  const tracks = orderTracks(set.tracks, weights);
  const names = tracks.map((t) => t.track);
  // 'control' is the baseline when the set has one: in its weights, or with users. A 'control'
  // seen only in health rows (runs outside the test) is not a track to compare with.
  const hasControl = weights.has('control') || tracks.some((t) => t.track === 'control' && t.users > 0);
  const baseline = options.baselines.get(set.trackSetId) ?? set.definition?.control ?? (hasControl ? 'control' : null);
  const warnings: ReportWarning[] = [];
  if (baseline === null) {
    warnings.push({
      kind: 'no-baseline',
      message: `no baseline to compare with; declare one in the class (static control = '<track>'), or pass --control ${set.trackSetId}=<track>`,
    });
  } else if (!names.includes(baseline)) {
    warnings.push({ kind: 'no-baseline', message: `baseline track '${baseline}' has no users yet` });
  }
  const metrics = [...new Set(tracks.flatMap((t) => [...t.metrics.keys()]))].sort();
  const kinds = new Map(metrics.map((m) => [m, kindOf(tracks, m)] as const));
  const base = tracks.find((t) => t.track === baseline);

  // Every comparison of the set first, then one correction across all of them.
  const pending: { track: string; metric: string; comparison: Omit<Comparison, 'adjustedPValue' | 'significant'> }[] = [];
  const reasons = new Map<string, string>();
  for (const track of tracks) {
    if (base === undefined || track === base) continue;
    for (const metric of metrics) {
      const outcome = compare(base, track, metric, kinds.get(metric)!, options);
      if (typeof outcome === 'string') reasons.set(`${track.track}\0${metric}`, outcome);
      else pending.push({ track: track.track, metric, comparison: outcome });
    }
  }
  const adjusted = adjustPValues(pending.map((p) => p.comparison.pValue), options.correction);
  const comparisons = new Map<string, Comparison>(
    pending.map((p, i) => {
      const adjustedPValue = adjusted[i]!;
      return [`${p.track}\0${p.metric}`, { ...p.comparison, adjustedPValue, significant: adjustedPValue < options.alpha }] as const;
    }),
  );

  const totalWeight = [...weights.values()].reduce((a, b) => a + b, 0);
  const users = tracks.reduce((n, t) => n + t.users, 0);
  const trackResults: TrackResult[] = tracks.map((t) => ({
    name: t.track,
    isBaseline: t.track === baseline,
    users: t.users,
    expectedShare: totalWeight > 0 && weights.has(t.track) ? weights.get(t.track)! / totalWeight : null,
    metrics: metrics.map((metric): MetricResult => {
      const sums = t.metrics.get(metric) ?? NO_METRIC;
      const key: string = `${t.track}\0${metric}`;
      return {
        metric,
        kind: kinds.get(metric)!,
        conversions: sums.converted,
        total: sums.sum,
        rate: t.users > 0 ? sums.converted / t.users : null,
        mean: t.users > 0 ? sums.sum / t.users : null,
        interval: intervalOf(statisticsOf(t, metric, kinds.get(metric)!), kinds.get(metric)!, options.alpha),
        comparison: comparisons.get(key) ?? null,
        cannotCompute: reasons.get(key) ?? null,
      };
    }),
    latency: latencyOf(t.health),
  }));

  const srm = srmOf(tracks, weights);
  if (srm?.mismatch) {
    warnings.push({
      kind: 'sample-ratio-mismatch',
      message: `sample-ratio mismatch (p = ${formatP(srm.pValue)}): users are not split as the weights say; check for assignment or logging bugs before trusting results`,
    });
  }
  const minUsers = options.minUsers ?? 100;
  const small = tracks.filter((t) => t.users < minUsers);
  if (small.length > 0) {
    warnings.push({
      kind: 'too-few-users',
      message: `too few users to conclude (${small.map((t) => `${t.track}: ${t.users}`).join(', ')}; want at least ${minUsers} per track, see 'tracks plan')`,
    });
  }
  const stopped = set.control?.stopped ?? false;
  if (!stopped && !options.sequential && users > 0) {
    warnings.push({
      kind: 'peeking',
      message: 'still running: fixed-horizon p-values are valid for one look at a planned sample size; if you check repeatedly, use --sequential',
    });
  }
  for (const trip of set.guardrails) {
    warnings.push({ kind: 'guardrail', message: `guardrail switched '${trip.track}' off: ${trip.cause}` });
  }

  return {
    id: set.trackSetId,
    status: stopped ? 'stopped' : set.guardrails.length > 0 ? 'guardrail' : 'running',
    serving: stopped ? (set.control?.serve ?? baseline ?? 'control') : null,
    baseline,
    users,
    firstExposureAt: isoOrNull(set.firstExposureAt),
    lastExposureAt: isoOrNull(set.lastExposureAt),
    srm,
    warnings,
    tracks: trackResults,
    guardrails: set.guardrails.map((g) => ({ track: g.track, cause: g.cause, at: new Date(g.at).toISOString() })),
    ...(options.timeline ? { timeline: timelineOf(set.daily, baseline, metrics, kinds, options) } : {}),
  };
}

function orderTracks(tracks: readonly TrackSums[], weights: ReadonlyMap<string, number>): TrackSums[] {
  const order = [...weights.keys()];
  const rank = (name: string): number => {
    const i = order.indexOf(name);
    return i < 0 ? order.length : i;
  };
  const known = new Set(tracks.map((t) => t.track));
  const empty: TrackSums[] = order
    .filter((name) => !known.has(name) && weights.get(name)! > 0)
    .map((track) => ({ track, users: 0, metrics: new Map(), health: { runs: 0, errors: 0, totalMs: 0, histogram: [] } }));
  return [...tracks, ...empty].sort((a, b) => rank(a.track) - rank(b.track) || a.track.localeCompare(b.track));
}

/** A metric is a proportion when every converting user's total is exactly 1. */
function kindOf(tracks: readonly TrackSums[], metric: string): MetricKind {
  return tracks.every((t) => {
    const m = t.metrics.get(metric);
    return m === undefined || (m.sum === m.converted && m.sumSquares === m.converted);
  })
    ? 'proportion'
    : 'mean';
}

function statisticsOf(track: TrackSums, metric: string, kind: MetricKind): SufficientStatistics {
  const m = track.metrics.get(metric) ?? NO_METRIC;
  return kind === 'proportion'
    ? { n: track.users, sum: m.converted, sumSquares: m.converted }
    : { n: track.users, sum: m.sum, sumSquares: m.sumSquares };
}

/** The comparison of `track` with `base` on `metric`, or why it cannot be computed. */
function compare(
  base: TrackSums,
  track: TrackSums,
  metric: string,
  kind: MetricKind,
  options: Resolved,
): Omit<Comparison, 'adjustedPValue' | 'significant'> | string {
  const control = statisticsOf(base, metric, kind);
  const treatment = statisticsOf(track, metric, kind);
  const alpha = options.alpha;
  const estimate = options.sequential
    ? sequentialLift(control, treatment, { kind, alpha, ...(options.tuningParameter ? { tuningParameter: options.tuningParameter } : {}) })
    : lift(control, treatment, { kind, alpha });
  if (!estimate.ok) return estimate.reason;
  let pValue = estimate.absolute.pValue;
  if (!options.sequential && kind === 'proportion') {
    // The two-proportion z-test (pooled standard error) is the convention for conversion rates.
    const test = proportionTest(control, treatment, { alpha });
    if (!test.ok) return test.reason;
    pValue = test.pValue;
  }
  const bayes = bayesianComparison(control, treatment, { kind, alpha });
  const relative = estimate.relative.ok
    ? { estimate: estimate.relative.estimate, interval: estimate.relative.confidenceInterval }
    : null;
  return {
    absolute: { estimate: estimate.absolute.estimate, interval: estimate.absolute.confidenceInterval },
    relative,
    pValue,
    chanceToBeatControl: bayes.ok ? bayes.chanceToBeatControl : null,
    risk: bayes.ok ? bayes.risk.treatment : null,
  };
}

/** The normal-approximation interval of one track's rate or mean, or null with fewer than 2 users. */
function intervalOf(stats: SufficientStatistics, kind: MetricKind, alpha: number): Interval | null {
  const summary = summarize(stats, kind);
  if (!summary.ok || stats.n < 2) return null;
  const margin = normalQuantile(1 - alpha / 2) * summary.standardError;
  return [summary.mean - margin, summary.mean + margin];
}

function srmOf(tracks: readonly TrackSums[], weights: ReadonlyMap<string, number>): TrackSetResult['srm'] {
  const names = [...weights.keys()];
  if (names.length < 2) return null;
  const observed = names.map((name) => tracks.find((t) => t.track === name)?.users ?? 0);
  const check = srmCheck(observed, names.map((name) => weights.get(name)!));
  return check.ok ? { pValue: check.pValue, mismatch: check.mismatch } : null;
}

function latencyOf(health: HealthSums): LatencyResult {
  const quantile = (q: number): number | null => (health.runs > 0 ? latencyQuantile(health.histogram, q) : null);
  return {
    runs: health.runs,
    errors: health.errors,
    errorRate: health.runs > 0 ? health.errors / health.runs : null,
    meanMs: health.runs > 0 ? health.totalMs / health.runs : null,
    p50Ms: quantile(0.5),
    p95Ms: quantile(0.95),
    p99Ms: quantile(0.99),
    histogram: health.histogram,
  };
}

function timelineOf(
  daily: readonly DailySums[],
  baseline: string | null,
  metrics: readonly string[],
  kinds: ReadonlyMap<string, MetricKind>,
  options: Resolved,
): TimelinePoint[] {
  const points: TimelinePoint[] = [];
  const cumulative = new Map<string, TrackSums>();
  for (const day of [...daily].sort((a, b) => a.day.localeCompare(b.day))) {
    for (const t of day.tracks) {
      const before = cumulative.get(t.track);
      cumulative.set(t.track, before === undefined ? { ...t, health: NO_HEALTH } : addSums(before, t));
    }
    const base = baseline === null ? undefined : cumulative.get(baseline);
    for (const track of cumulative.values()) {
      for (const metric of metrics) {
        let relative: TimelinePoint['relative'] = null;
        if (base !== undefined && track !== base) {
          const outcome = compare(base, track, metric, kinds.get(metric)!, options);
          if (typeof outcome !== 'string') relative = outcome.relative;
        }
        points.push({ day: day.day, track: track.track, metric, users: track.users, relative });
      }
    }
  }
  return points;
}

const NO_HEALTH: HealthSums = { runs: 0, errors: 0, totalMs: 0, histogram: [] };

function addSums(a: TrackSums, b: Omit<TrackSums, 'health'>): TrackSums {
  const metrics = new Map(a.metrics);
  for (const [name, m] of b.metrics) {
    const before = metrics.get(name) ?? NO_METRIC;
    metrics.set(name, { converted: before.converted + m.converted, sum: before.sum + m.sum, sumSquares: before.sumSquares + m.sumSquares });
  }
  return { track: a.track, users: a.users + b.users, metrics, health: NO_HEALTH };
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * Checks baselines given by id against the sums: a TracksError for a track the set does not
 * have (a typo must not silently compare against nothing). Sets not in `sums` are not checked
 * here (a report of one set); `checkBaselineSets` checks the ids against a whole store.
 */
function checkBaselines(sums: readonly TrackSetSums[], baselines: ReadonlyMap<string, string>): void {
  for (const [id, track] of baselines) {
    const set = sums.find((s) => s.trackSetId === id);
    if (set === undefined) continue;
    const tracks = [...new Set([...(set.definition?.weights.keys() ?? []), ...set.tracks.map((t) => t.track)])];
    if (!tracks.includes(track)) {
      throw new TracksError(`--control ${quoted(id)}=${quoted(track)}: ${quoted(id)} has no track ${quoted(track)}; its tracks are ${tracks.map(quoted).join(', ')}`);
    }
  }
}

/**
 * Throws a TracksError when a baseline names a track set the store does not hold.
 *
 * @example
 * ```ts
 * checkBaselineSets(await store.summarize({ daily: false }), new Map([['pricing', 'price_adjusted_by_0']]));
 * ```
 */
export function checkBaselineSets(sums: readonly TrackSetSums[], baselines: ReadonlyMap<string, string>): void {
  for (const id of baselines.keys()) {
    if (sums.some((s) => s.trackSetId === id)) continue;
    const known = sums.map((s) => quoted(s.trackSetId)).join(', ');
    throw new TracksError(`--control names the track set ${quoted(id)}, which is not recorded here; ${known ? `recorded sets are ${known}` : 'nothing is recorded'}`);
  }
  checkBaselines(sums, baselines);
}

/** A p-value for people: `< 0.001` below that, else three significant digits. */
export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toPrecision(2);
}
