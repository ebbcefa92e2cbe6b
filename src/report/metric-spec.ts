import type { MetricCap, MetricDeclaration } from '../model/metrics.js';
import { addMetric, noMetricSums, productKey } from '../model/sums.js';
import type { MutableMetricSums } from '../model/sums.js';
import type { MetricSums, TrackSums } from '../model/sums.js';
import { armOf, ratioArm } from '../stats/stratified-lift.js';
import type { ArmEstimate } from '../stats/stratified-lift.js';
import { cannotCompute } from '../stats/result.js';
import type { StatResult } from '../stats/result.js';
import type { SufficientStatistics } from '../stats/summary.js';
import type { CupedStatistics } from '../stats/cuped-lift.js';
import type { MetricType } from './report-model.js';

/** How the report analyses one metric: its type and direction, declared or inferred. */
export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly declared: boolean;
  /** True unless declared false; null for a guardrail declared without a direction (any significant move warns). */
  readonly higherIsBetter: boolean | null;
  readonly guardrail: boolean;
  /** A ratio's numerator and denominator metrics. */
  readonly numerator?: string | undefined;
  readonly denominator?: string | undefined;
  /** The declared cap (winsorization) of each unit's value. */
  readonly cap?: MetricCap | undefined;
}

/** A track's sums in some phases, as the report reads them. */
export type ArmSums = Omit<TrackSums, 'health'>;

const NO_METRIC: MetricSums = noMetricSums();

/**
 * The metrics of a set, sorted: every metric with data, and every declared one. A declared
 * metric is analysed as declared; the others as tracks 0.1 did (a conversion while every
 * converting user's total is exactly 1, else a sum).
 */
export function metricSpecs(tracks: readonly ArmSums[], declared: ReadonlyMap<string, MetricDeclaration>): MetricSpec[] {
  // A metric seen only before exposures (CUPED's history) is not an outcome of the test.
  const outcomes = tracks.flatMap((t) => [...t.metrics].filter(([, m]) => m.converted > 0).map(([name]) => name));
  const names = new Set([...outcomes, ...declared.keys()]);
  return [...names].sort().map((name) => {
    const d = declared.get(name);
    if (d === undefined) return { name, type: inferredType(tracks, name), declared: false, higherIsBetter: true, guardrail: false };
    return {
      name,
      type: d.kind,
      declared: true,
      higherIsBetter: d.higherIsBetter ?? (d.guardrail ? null : true),
      guardrail: d.guardrail ?? false,
      ...(d.kind === 'ratio' ? { numerator: d.numerator, denominator: d.denominator } : {}),
      ...(d.cap !== undefined && d.kind !== 'ratio' && d.kind !== 'conversion' ? { cap: d.cap } : {}),
    };
  });
}

function inferredType(tracks: readonly ArmSums[], metric: string): MetricType {
  return tracks.every((t) => {
    const m = t.metrics.get(metric);
    return m === undefined || (m.sum === m.converted && m.sumSquares === m.converted);
  })
    ? 'conversion'
    : 'sum';
}

/** The test family of a metric type. */
export function familyOf(type: MetricType): 'proportion' | 'mean' | 'ratio' {
  return type === 'conversion' ? 'proportion' : type === 'ratio' ? 'ratio' : 'mean';
}

/** A metric's sums on an arm (zeros when nobody on it converted). */
export function metricSums(arm: ArmSums, metric: string): MetricSums {
  return arm.metrics.get(metric) ?? NO_METRIC;
}

/**
 * The sufficient statistics of a non-ratio metric on an arm: over every user for conversion
 * (converted or not), sum and count; over the converting users for mean.
 */
export function statisticsOf(arm: ArmSums, spec: MetricSpec): SufficientStatistics {
  const m = metricSums(arm, spec.name);
  switch (spec.type) {
    case 'conversion':
      return { n: arm.users, sum: m.converted, sumSquares: m.converted };
    case 'count':
      return { n: arm.users, sum: m.count, sumSquares: m.countSquares };
    case 'mean':
      return { n: m.converted, sum: m.meanSum, sumSquares: m.meanSquares };
    default:
      return { n: arm.users, sum: m.sum, sumSquares: m.sumSquares };
  }
}

/**
 * The sufficient statistics of a non-ratio metric on an arm with CUPED's covariate: the same
 * users as {@link statisticsOf}, each with their value of the metric before exposure.
 */
export function cupedStatisticsOf(arm: ArmSums, spec: MetricSpec): CupedStatistics {
  const m = metricSums(arm, spec.name);
  const y = statisticsOf(arm, spec);
  switch (spec.type) {
    case 'conversion':
      return { ...y, covariateSum: m.preConverted, covariateSumSquares: m.preConverted, crossSum: m.crossConverted };
    case 'count':
      return { ...y, covariateSum: m.preCount, covariateSumSquares: m.preCountSquares, crossSum: m.crossCount };
    case 'mean':
      return { ...y, covariateSum: m.preMeanSum, covariateSumSquares: m.preMeanSquares, crossSum: m.crossMean };
    default:
      return { ...y, covariateSum: m.preSum, covariateSumSquares: m.preSumSquares, crossSum: m.crossSum };
  }
}

/** An arm's estimate of the metric (its value and the variance of it), or why there is none. */
export function armEstimate(arm: ArmSums, spec: MetricSpec, name: string): StatResult<ArmEstimate> {
  if (spec.type === 'mean') {
    // A mean is over the users with a value: "zero users" beside the track's users would contradict them.
    const withValue = statisticsOf(arm, spec).n;
    if (withValue === 0) return cannotCompute(`${name} has no users with a value of this metric yet`);
    if (withValue === 1) return cannotCompute(`${name} has 1 user with a value of this metric; a mean's variance needs 2`);
  }
  if (spec.type !== 'ratio') return armOf(statisticsOf(arm, spec), spec.type === 'conversion' ? 'proportion' : 'mean', name);
  const x = metricSums(arm, spec.numerator!);
  const y = metricSums(arm, spec.denominator!);
  return ratioArm(
    {
      n: arm.users,
      sumX: x.sum,
      sumY: y.sum,
      sumSquaresX: x.sumSquares,
      sumSquaresY: y.sumSquares,
      sumProducts: arm.products?.get(productKey(spec.numerator!, spec.denominator!)) ?? 0,
    },
    name,
  );
}

/** The arm's value of the metric, or null when it has none (no users, no denominator). */
export function valueOf(arm: ArmSums, spec: MetricSpec): number | null {
  if (spec.type === 'ratio') {
    const y = metricSums(arm, spec.denominator!).sum;
    return y === 0 ? null : metricSums(arm, spec.numerator!).sum / y;
  }
  const s = statisticsOf(arm, spec);
  return s.n > 0 ? s.sum / s.n : null;
}

/** Groups of tracks added up by track (the phases of a set, a segment's values): each user once, with the conversions of their own group. */
export function poolArms(groups: readonly { readonly tracks: readonly ArmSums[] }[]): ArmSums[] {
  const pooled = new Map<string, { users: number; metrics: Map<string, MutableMetricSums>; products: Map<string, number> | undefined }>();
  for (const group of groups) {
    for (const t of group.tracks) {
      let acc = pooled.get(t.track);
      if (acc === undefined) pooled.set(t.track, (acc = { users: 0, metrics: new Map(), products: t.products ? new Map() : undefined }));
      acc.users += t.users;
      for (const [metric, sums] of t.metrics) addMetric(acc.metrics, metric, sums);
      for (const [key, sum] of t.products ?? []) acc.products?.set(key, (acc.products.get(key) ?? 0) + sum);
    }
  }
  return [...pooled].map(([track, acc]) => ({ track, users: acc.users, metrics: acc.metrics, ...(acc.products ? { products: acc.products } : {}) }));
}
