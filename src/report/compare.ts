import { posteriorOf } from '../stats/bayes.js';
import { alwaysValid } from '../stats/confidence-sequence.js';
import { proportionTest } from '../stats/proportion-test.js';
import { stratifiedLift } from '../stats/stratified-lift.js';
import type { Stratum } from '../stats/stratified-lift.js';
import { cupedLift } from '../stats/cuped-lift.js';
import { relativeLift } from '../stats/lift.js';
import type { LiftResult } from '../stats/lift.js';
import { cannotCompute } from '../stats/result.js';
import type { Summary } from '../stats/summary.js';
import { armEstimate, cupedStatisticsOf, statisticsOf } from './metric-spec.js';
import type { ArmSums, MetricSpec } from './metric-spec.js';
import type { Comparison } from './report-model.js';

/** How to compare: significance level, sequential testing, CUPED. */
export interface CompareOptions {
  readonly alpha: number;
  readonly sequential?: boolean | undefined;
  readonly tuningParameter?: number | undefined;
  /** Adjust for each user's pre-exposure value of the metric where there is one (default false here; the report turns it on). */
  readonly cuped?: boolean | undefined;
}

/** A comparison before the set's multiple-testing correction. */
export type PendingComparison = Omit<Comparison, 'adjustedPValue' | 'significant' | 'verdict'>;

/**
 * The comparison of a track with the baseline on one metric, phase-aware: each pair is the
 * baseline's and the track's users of one phase, and the phases are combined by the
 * post-stratified estimator ({@link stratifiedLift}), so a change of weights or coverage between
 * phases cannot bias it. With one phase this is the plain comparison (Welch's lift, and the
 * pooled two-proportion z-test's p-value for conversions; for conversions at 0% and 100%,
 * where Welch has no spread to work with, the z-test with Newcombe's interval).
 *
 * With `cuped`, a metric whose users have history (a value before their exposure) is compared
 * with CUPED ({@link cupedLift}, θ pooled over the two tracks of each phase) and the
 * unadjusted comparison is kept beside it. Returns why, when it cannot compute.
 */
export function comparePhases(pairs: readonly { readonly base: ArmSums; readonly track: ArmSums }[], spec: MetricSpec, options: CompareOptions): PendingComparison | string {
  const plain = fixedLift(pairs, spec, options.alpha);
  if (typeof plain === 'string') return plain;
  const unadjusted = finish(plain, pairs, spec, options, true);
  // Rates at 0% and 100% have no spread for the adjustment to reduce.
  if (typeof unadjusted === 'string' || !options.cuped || plain.separated === true || !hasHistory(pairs, spec)) return unadjusted;
  const adjusted = cupedFixedLift(pairs, spec, options.alpha);
  // The adjustment cannot compute where the plain comparison can only when it removes every
  // bit of variance, or has none to work with; the plain answer then stands, and says why.
  if (typeof adjusted === 'string') return { ...unadjusted, cupedNotApplied: adjusted };
  const result = finish(adjusted, pairs, spec, options, false);
  if (typeof result === 'string') return { ...unadjusted, cupedNotApplied: result };
  const ratio = (adjusted.fixed.absolute.standardError / plain.fixed.absolute.standardError) ** 2;
  return {
    ...result,
    cuped: {
      varianceReduction: 1 - ratio,
      unadjusted: { absolute: unadjusted.absolute, relative: unadjusted.relative, pValue: unadjusted.pValue },
    },
  };
}

/** The fixed-horizon lift over the phases, unadjusted. */
function fixedLift(pairs: readonly { readonly base: ArmSums; readonly track: ArmSums }[], spec: MetricSpec, alpha: number): Fixed | string {
  const strata: Stratum[] = [];
  let reason: string | undefined;
  for (const { base, track } of pairs) {
    const control = armEstimate(base, spec, 'control');
    const treatment = armEstimate(track, spec, 'treatment');
    if (control.ok && treatment.ok) strata.push({ control, treatment });
    else reason ??= control.ok ? (treatment as { reason: string }).reason : control.reason;
  }
  if (strata.length === 0) return pairs.length > 1 ? `no phase can compare the two tracks (${reason ?? 'no users'})` : (reason ?? 'no users');
  const fixed = stratifiedLift(strata, { alpha });
  if (fixed.ok) return { fixed, phases: strata.length };
  // One phase only: with several, each phase's rates would need combining (a stratified
  // score interval), which is not implemented; such a metric stays "n/a" after a ramp.
  return (spec.type === 'conversion' && pairs.length === 1 ? separatedRates(pairs[0]!, spec, alpha) : undefined) ?? fixed.reason;
}

/**
 * One phase's conversion rates where each track is at 0% or 100% (0 of 28 against 32 of 32, a
 * code path that always fails): no spread within either track, so Welch's lift cannot compute,
 * yet the rates plainly differ. The comparison is then the two-proportion z-test's, with
 * Newcombe's interval (see proportionTest) and the test's pooled standard error.
 */
function separatedRates(pair: { readonly base: ArmSums; readonly track: ArmSums }, spec: MetricSpec, alpha: number): Fixed | undefined {
  const control = statisticsOf(pair.base, spec);
  const treatment = statisticsOf(pair.track, spec);
  // Two users at least in each track, as everywhere else: one user is no evidence of a rate.
  if (control.n < 2 || treatment.n < 2) return undefined;
  const test = proportionTest(control, treatment, { alpha });
  if (!test.ok || test.standardError > 0) return undefined;
  const c: Summary = { n: control.n, mean: test.controlRate, variance: 0, standardError: 0 };
  const t: Summary = { n: treatment.n, mean: test.treatmentRate, variance: 0, standardError: 0 };
  const { estimate, confidenceInterval, pValue } = test;
  const absolute = { estimate, standardError: test.pooledStandardError, degreesOfFreedom: Number.POSITIVE_INFINITY, confidenceInterval, pValue };
  const relative =
    c.mean === 0
      ? relativeLift(c, t, 0, 0, Number.POSITIVE_INFINITY, { alpha })
      : cannotCompute('each track is at 0% or 100%, with no spread for a relative interval: see the absolute difference');
  return { fixed: { control: c, treatment: t, absolute, relative }, phases: 1, separated: true };
}

/** A fixed-horizon lift and the number of phases it combined. */
interface Fixed {
  readonly fixed: LiftResult;
  readonly phases: number;
  /** Rates at 0% and 100% (see separatedRates). */
  readonly separated?: boolean | undefined;
}

/**
 * The fixed-horizon lift with CUPED: one phase is exactly {@link cupedLift} (gbstats' estimator);
 * several are each adjusted with their own θ and combined as {@link stratifiedLift} combines
 * them, each arm's adjusted mean centred on the phase's pooled covariate mean (Y − θ(X − X̄)) so
 * that it stays on the metric's scale and the relative lift divides by a mean of Y.
 */
function cupedFixedLift(pairs: readonly { readonly base: ArmSums; readonly track: ArmSums }[], spec: MetricSpec, alpha: number): Fixed | string {
  const kind = spec.type === 'conversion' ? 'proportion' : 'mean';
  const strata: Stratum[] = [];
  let only: LiftResult | undefined;
  let reason: string | undefined;
  let adjusted = false;
  for (const { base, track } of pairs) {
    const c = cupedStatisticsOf(base, spec);
    const t = cupedStatisticsOf(track, spec);
    const result = cupedLift(c, t, { alpha, kind });
    if (!result.ok) {
      // A phase the plain comparison uses must be in the adjusted one too, or the two would
      // compare different users: then no adjustment.
      if (armEstimate(base, spec, 'control').ok && armEstimate(track, spec, 'treatment').ok && c.n >= 2 && t.n >= 2) return result.reason;
      reason ??= result.reason;
      continue;
    }
    only = result;
    adjusted ||= result.theta !== 0;
    const centre = (result.theta * (c.covariateSum + t.covariateSum)) / (c.n + t.n);
    const arm = (s: Summary) => ({ n: s.n, mean: s.mean + centre, squaredError: s.standardError * s.standardError });
    strata.push({ control: arm(result.control), treatment: arm(result.treatment) });
  }
  if (strata.length === 0) return reason ?? 'no users';
  // No spread in the history (everyone or no one had some): nothing to adjust with.
  if (!adjusted) return "the users' history of the metric does not vary (every user the same, or a spread lost to rounding next to a large mean)";
  if (pairs.length === 1 && only !== undefined) return { fixed: only, phases: 1 };
  const fixed = stratifiedLift(strata, { alpha });
  return fixed.ok ? { fixed, phases: strata.length } : fixed.reason;
}

/** Whether any user of the pairs has a value of the metric before exposure. */
function hasHistory(pairs: readonly { readonly base: ArmSums; readonly track: ArmSums }[], spec: MetricSpec): boolean {
  if (spec.type === 'ratio') return false;
  return pairs.some((p) => cupedStatisticsOf(p.base, spec).covariateSumSquares > 0 || cupedStatisticsOf(p.track, spec).covariateSumSquares > 0);
}

/** The comparison from a fixed-horizon lift: sequential when asked, the p-value, the Bayesian view. */
function finish(
  { fixed, phases }: Fixed,
  pairs: readonly { readonly base: ArmSums; readonly track: ArmSums }[],
  spec: MetricSpec,
  options: CompareOptions,
  pooledZ: boolean,
): PendingComparison | string {
  const estimate = options.sequential
    ? alwaysValid(fixed, { alpha: options.alpha, ...(options.tuningParameter ? { tuningParameter: options.tuningParameter } : {}) })
    : fixed;
  // A difference of two rates lies in [-1, 1], whatever a normal interval's ends say.
  const [low, high] = estimate.absolute.confidenceInterval;
  const interval: [number, number] = spec.type === 'conversion' ? [Math.max(-1, low), Math.min(1, high)] : [low, high];
  let pValue = estimate.absolute.pValue;
  if (pooledZ && !options.sequential && spec.type === 'conversion' && pairs.length === 1) {
    // The two-proportion z-test (pooled standard error) is the convention for one phase's conversion rates.
    const test = proportionTest(statisticsOf(pairs[0]!.base, spec), statisticsOf(pairs[0]!.track, spec), { alpha: options.alpha });
    if (!test.ok) return test.reason;
    pValue = test.pValue;
  }
  const bayes = posteriorOf(fixed, { alpha: options.alpha });
  const relative = estimate.relative.ok ? { estimate: estimate.relative.estimate, interval: estimate.relative.confidenceInterval } : null;
  return {
    absolute: { estimate: estimate.absolute.estimate, interval, standardError: fixed.absolute.standardError },
    relative,
    relativeCannotCompute: estimate.relative.ok ? null : estimate.relative.reason,
    pValue,
    // "Better" follows the metric's direction: for a lower-is-better metric, a negative effect;
    // a metric declared without one (a guardrail's `higherIsBetter: null`) has no better side.
    chanceToBeatControl: bayes.ok && spec.higherIsBetter !== null ? (spec.higherIsBetter === false ? 1 - bayes.chanceToBeatControl : bayes.chanceToBeatControl) : null,
    risk: bayes.ok && spec.higherIsBetter !== null ? (spec.higherIsBetter === false ? bayes.risk.control : bayes.risk.treatment) : null,
    phases,
    cuped: null,
    cupedNotApplied: null,
  };
}

/**
 * `better` or `worse` when significant (in the metric's direction), `changed` when significant
 * and the direction is not declared (a guardrail metric without higherIsBetter), else
 * `inconclusive`.
 */
export function verdictOf(estimate: number, significant: boolean, higherIsBetter: boolean | null): Comparison['verdict'] {
  if (!significant || estimate === 0) return 'inconclusive';
  if (higherIsBetter === null) return 'changed';
  return estimate > 0 === higherIsBetter ? 'better' : 'worse';
}
