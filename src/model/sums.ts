/**
 * What a store's `summarize()` returns: sufficient statistics per track set and track, grouped
 * in the store. Shared by the stores (which compute them) and the report (which reads them).
 * Everything keyed by a name from your code is a `Map`, so any name works, `constructor` and
 * `__proto__` included.
 */

import type { AppliedCap, CapKind, CapRequest } from './caps.js';
import type { ControlState, GuardrailEvent } from './events.js';

/**
 * Sufficient statistics of one metric for the users of one track.
 *
 * @example
 * ```ts
 * const purchase: MetricSums | undefined = track.metrics.get('purchase');
 * const rate = purchase === undefined ? 0 : purchase.converted / track.users;
 * ```
 */
export interface MetricSums {
  /** Users with at least one conversion of the metric after their exposure. */
  readonly converted: number;
  /** Sum over users of each user's total value (conversions after exposure). */
  readonly sum: number;
  /** Sum over users of the square of each user's total value. */
  readonly sumSquares: number;
  /** Number of conversions after exposure, over users (`count` metrics). */
  readonly count: number;
  /** Sum over users of the square of each user's number of conversions. */
  readonly countSquares: number;
  /** Sum over converted users of each user's average conversion value (`mean` metrics). */
  readonly meanSum: number;
  /** Sum over converted users of the square of each user's average conversion value. */
  readonly meanSquares: number;
  // CUPED's covariates: each user's value of the same metric in the window before their
  // exposure (SummarizeOptions.preExposure), 0 for users with no history. For each kind of
  // metric, the covariate's sum, its sum of squares and its sum of products with the outcome,
  // over the same users as the outcome (every user; the converted users for `mean`).
  /** Users who converted in the pre-exposure window (the covariate of `conversion`, 0/1). */
  readonly preConverted: number;
  /** Users who converted both before (in the window) and after their exposure. */
  readonly crossConverted: number;
  /** Sum over users of their pre-exposure total. */
  readonly preSum: number;
  readonly preSumSquares: number;
  /** Sum over users of (total after exposure) x (total before). */
  readonly crossSum: number;
  /** Sum over users of their number of pre-exposure conversions. */
  readonly preCount: number;
  readonly preCountSquares: number;
  readonly crossCount: number;
  /** Sum over converted users of their pre-exposure average value (0 without history). */
  readonly preMeanSum: number;
  readonly preMeanSquares: number;
  readonly crossMean: number;
}

/** Metric sums while they are being added up. */
export type MutableMetricSums = { -readonly [K in keyof MetricSums]: MetricSums[K] };

/** The fields of MetricSums, in one place: cells, accumulators and the report add them all. */
const METRIC_SUM_FIELDS = [
  'converted', 'sum', 'sumSquares', 'count', 'countSquares', 'meanSum', 'meanSquares',
  'preConverted', 'crossConverted', 'preSum', 'preSumSquares', 'crossSum', 'preCount', 'preCountSquares', 'crossCount', 'preMeanSum', 'preMeanSquares', 'crossMean',
] as const satisfies ReadonlyArray<keyof MetricSums>;

/** Sums of no user at all. */
export function noMetricSums(): MutableMetricSums {
  const sums = {} as MutableMetricSums;
  for (const field of METRIC_SUM_FIELDS) sums[field] = 0;
  return sums;
}

/** One user's totals of one metric: after the exposure (`total` over `n` conversions, n = 0 when none) and in the pre-exposure window. */
interface UserTotals {
  readonly total: number;
  readonly n: number;
  readonly preTotal: number;
  readonly preN: number;
}

/**
 * Adds one user's totals of a metric into `sums`, capped when the metric has a cap (its
 * kind's value: the total for `sum`, the number of conversions for `count`, the average value
 * for `mean`; the same cap for the pre-exposure value). The rule the SQL stores' summary
 * queries restate; the memory store uses it as is.
 */
export function addUser(sums: MutableMetricSums, user: UserTotals, cap?: AppliedCap): void {
  const { n, preN } = user;
  const limit = (value: number, kind: CapKind) => (cap !== undefined && cap.kind === kind ? Math.min(value, cap.value) : value);
  const total = limit(user.total, 'sum');
  const preTotal = limit(user.preTotal, 'sum');
  const count = limit(n, 'count');
  const preCount = limit(preN, 'count');
  const was = preN > 0 ? 1 : 0;
  if (n > 0) {
    const mean = limit(user.total / n, 'mean');
    const preMean = preN > 0 ? limit(user.preTotal / preN, 'mean') : 0;
    sums.converted++;
    sums.sum += total;
    sums.sumSquares += total * total;
    sums.count += count;
    sums.countSquares += count * count;
    sums.meanSum += mean;
    sums.meanSquares += mean * mean;
    sums.crossConverted += was;
    sums.crossSum += total * preTotal;
    sums.crossCount += count * preCount;
    sums.preMeanSum += preMean;
    sums.preMeanSquares += preMean * preMean;
    sums.crossMean += mean * preMean;
  }
  sums.preConverted += was;
  sums.preSum += preTotal;
  sums.preSumSquares += preTotal * preTotal;
  sums.preCount += preCount;
  sums.preCountSquares += preCount * preCount;
}

/** Adds `sums` into the metric's entry of `metrics`. */
export function addMetric(metrics: Map<string, MutableMetricSums>, metric: string, sums: MetricSums): void {
  const acc = metrics.get(metric);
  if (acc === undefined) {
    const copy = {} as MutableMetricSums;
    for (const field of METRIC_SUM_FIELDS) copy[field] = sums[field];
    metrics.set(metric, copy);
  } else {
    for (const field of METRIC_SUM_FIELDS) acc[field] += sums[field];
  }
}

/** The key of a ratio's sum of products in {@link TrackSums.products}. */
export function productKey(numerator: string, denominator: string): string {
  return `${numerator}\u0000${denominator}`;
}

/**
 * Aggregated health of one track's code path.
 *
 * @example
 * ```ts
 * const { runs, errors, totalMs }: HealthSums = track.health;
 * console.log(`${track.track}: ${errors}/${runs} errors, ${runs > 0 ? totalMs / runs : 0} ms mean`);
 * ```
 */
export interface HealthSums {
  readonly runs: number;
  readonly errors: number;
  readonly totalMs: number;
  readonly histogram: readonly number[];
}

/**
 * One track's users, metrics and health.
 *
 * @example
 * ```ts
 * const [delay] = await store.summarize({ trackSetId: 'delay' });
 * const long: TrackSums | undefined = delay?.tracks.find((t) => t.track === 'long');
 * console.log(long?.users, long?.metrics.get('purchase')?.converted);
 * ```
 */
export interface TrackSums {
  readonly track: string;
  /** Units exposed to the track. */
  readonly users: number;
  /** By metric name. Metrics nobody on this track converted on are absent (read as zeros). */
  readonly metrics: ReadonlyMap<string, MetricSums>;
  /**
   * For each ratio asked for (`summarize({ ratios })`), by {@link productKey}: the sum over
   * users of the product of their numerator and denominator totals. Absent when none was asked.
   */
  readonly products?: ReadonlyMap<string, number> | undefined;
  readonly health: HealthSums;
}

/**
 * Users and metrics of the units first exposed on one UTC day.
 *
 * @example
 * ```ts
 * const [delay] = await store.summarize({ trackSetId: 'delay' });
 * const days: readonly DailySums[] = delay?.daily ?? [];
 * for (const { day, tracks } of days) console.log(day, tracks.map((t) => t.users));
 * ```
 */
export interface DailySums {
  /** UTC day, YYYY-MM-DD, of exposure. Users are counted on their exposure day. */
  readonly day: string;
  /** Every phase together. */
  readonly tracks: readonly Omit<TrackSums, 'health'>[];
  /** The same users by the phase they were assigned in (for a phase-aware lift over time). */
  readonly phases: readonly { readonly phase: string; readonly tracks: readonly Omit<TrackSums, 'health'>[] }[];
}

/**
 * A track set's definition as recorded: weights by track name, coverage, baseline and stickiness.
 *
 * @example
 * ```ts
 * const definition: RecordedDefinition | null = delay.definition;
 * if (definition !== null) console.log([...definition.weights], definition.coverage, definition.control);
 * ```
 */
export interface RecordedDefinition {
  readonly weights: ReadonlyMap<string, number>;
  readonly coverage: number;
  /** The baseline the class declares (`static control`, or its `control` track), or null when unknown or none. */
  readonly control: string | null;
  /** Whether the set is sticky; null when recorded by tracks 0.1. */
  readonly sticky: boolean | null;
  /** Whether this configuration is a stop (no one assigned); null when recorded by tracks 0.1. */
  readonly stopped: boolean | null;
  /** Whether the set is a holdout's pseudo set (`configure({ holdout })`); null when not recorded. */
  readonly holdout: boolean | null;
  /** Whether the phase ran in shadow mode (`static shadow`, not promoted); null when not recorded (tracks before it did). */
  readonly shadow: boolean | null;
}

/**
 * One phase of a track set: the users first exposed while one configuration held (tracks and
 * weights, coverage, baseline, stickiness, and the control epoch that each stop, resume and
 * ramp raises), with the conversions they made before the next phase began.
 *
 * @example
 * ```ts
 * const current: PhaseSums | undefined = delay.phases.at(-1);
 * console.log(current?.phase, current?.startedAt, current?.tracks.map((t) => t.users));
 * ```
 */
export interface PhaseSums {
  /** The phase's id ('' for data recorded before phases existed). */
  readonly phase: string;
  /** When the phase began (its first recorded definition, or else its first exposure), epoch ms. */
  readonly startedAt: number | null;
  /** When the next phase began, epoch ms; null for the current phase. Conversions count until then. */
  readonly endedAt: number | null;
  /**
   * When the phase came back after another (a rollback, or a process of an older version): each
   * stretch of time it was in force, in order, the first from `startedAt`, the last to `endedAt`.
   * Absent for a phase in force once.
   */
  readonly stretches?: readonly { readonly from: number; readonly to: number | null }[] | undefined;
  /** The configuration of the phase, or null when it was not recorded. */
  readonly definition: RecordedDefinition | null;
  readonly tracks: readonly Omit<TrackSums, 'health'>[];
  /**
   * The health of each track in the phase's minutes (a minute counts to the phase in effect at
   * its start; minutes before the set's first phase to its first), by track: the tracks with
   * health rows in it. Absent from a store that does not keep it (a phase alone then has none).
   */
  readonly health?: ReadonlyMap<string, HealthSums> | undefined;
  /**
   * The cap each capped metric came to in this phase (`summarize({ caps })`): a fixed cap's
   * value, or a percentile's over the phase's units; null when the percentile fell on units
   * without a value (then the metric is not capped in the phase).
   */
  readonly caps?: ReadonlyMap<string, number | null> | undefined;
}

/**
 * Everything a report needs of one track set.
 *
 * @example
 * ```ts
 * const sets: TrackSetSums[] = await store.summarize({ daily: false });
 * for (const set of sets) console.log(set.trackSetId, set.tracks.reduce((users, t) => users + t.users, 0));
 * ```
 */
export interface TrackSetSums {
  readonly trackSetId: string;
  /** The latest recorded definition, or null when none was recorded. */
  readonly definition: RecordedDefinition | null;
  readonly control: ControlState | null;
  readonly guardrails: readonly Omit<GuardrailEvent, 'kind' | 'eventId' | 'trackSetId'>[];
  readonly firstExposureAt: number | null;
  readonly lastExposureAt: number | null;
  /** Every phase pooled: each user once, with the conversions of their own phase. */
  readonly tracks: readonly TrackSums[];
  /** The phases, oldest first. */
  readonly phases: readonly PhaseSums[];
  /**
   * When a holdout (configure({ holdout })) took keys in after this set's first exposure (turned
   * on, or its share raised), oldest first: users exposed before such a moment count conversions
   * only until it, as at a phase change, though the set's phase goes on. Absent when none did.
   */
  readonly holdoutIntakes?: readonly { readonly holdout: string; readonly share: number; readonly at: number }[] | undefined;
  /** Per exposure day, for lift over time; cumulative sums are built by the caller. */
  readonly daily: readonly DailySums[];
  /**
   * With `summarize({ by })`: the users of each value of the dimension (every value as
   * recorded; '' for units without one), by phase, with their conversions.
   */
  readonly segments?: SegmentSums | undefined;
}

/**
 * A set's users broken down by one dimension's values, each by phase.
 *
 * @example
 * ```ts
 * const [pricing] = await store.summarize({ trackSetId: 'pricing', by: 'country' });
 * const segments: SegmentSums | undefined = pricing?.segments;
 * for (const [country, phases] of segments?.values ?? []) console.log(country, phases.length);
 * ```
 */
export interface SegmentSums {
  readonly dimension: string;
  readonly values: ReadonlyMap<string, readonly { readonly phase: string; readonly tracks: readonly Omit<TrackSums, 'health'>[] }[]>;
}

/**
 * What `summarize()` takes.
 *
 * @example
 * ```ts
 * const options: SummarizeOptions = { trackSetId: 'pricing', daily: false, by: 'country' };
 * const [pricing] = await store.summarize(options);
 * ```
 */
export interface SummarizeOptions {
  /** Only this track set. */
  readonly trackSetId?: string | undefined;
  /** Include per-day sums (costs one more grouped query). Default true. */
  readonly daily?: boolean | undefined;
  /** Ratio metrics to sum the products of (numerator and denominator totals per user). */
  readonly ratios?: readonly { readonly numerator: string; readonly denominator: string }[] | undefined;
  /**
   * The pre-exposure window of CUPED's covariates, in ms before each user's exposure: `ms` for
   * every metric, `byMetric` for some. Absent or `ms: 0` without `byMetric`: the covariate sums
   * are 0 (no history read).
   */
  readonly preExposure?: PreExposureWindow | undefined;
  /** Break the users down by this dimension (`static dimensions(context)`): `TrackSetSums.segments`. */
  readonly by?: string | undefined;
  /** Metrics to cap (winsorize) per unit; `PhaseSums.caps` says what each phase's cap came to. */
  readonly caps?: readonly CapRequest[] | undefined;
  /**
   * Sum the conversions (every metric per track). Default true. `false`: users, runs, latency,
   * phases and controls only, with no metric sums: what a list of sets needs (the dashboard's
   * overview), without the join of every exposure with its unit's conversions, most of a big
   * store's summary. A store may sum them anyway.
   */
  readonly metrics?: boolean | undefined;
}

/**
 * How far before each user's exposure its history counts, per metric (CUPED's covariates).
 *
 * @example
 * ```ts
 * const preExposure: PreExposureWindow = { ms: 14 * 86_400_000, byMetric: new Map([['revenue', 28 * 86_400_000]]) };
 * const [pricing] = await store.summarize({ trackSetId: 'pricing', preExposure });
 * ```
 */
export interface PreExposureWindow {
  readonly ms: number;
  readonly byMetric?: ReadonlyMap<string, number> | undefined;
}

/** The longest window of {@link PreExposureWindow}: how far back the stores join conversions. */
export function longestWindowOf(window: PreExposureWindow | undefined): number {
  if (window === undefined) return 0;
  return Math.max(window.ms, ...(window.byMetric?.values() ?? []));
}

/** 14 days: CUPED's default pre-exposure window. */
export const DEFAULT_PRE_EXPOSURE_MS = 14 * 86_400_000;
