import { posteriorOf } from '../stats/bayes.js';
import { alwaysValid } from '../stats/confidence-sequence.js';
import { proportionTest } from '../stats/proportion-test.js';
import { stratifiedLift } from '../stats/stratified-lift.js';
import type { Stratum } from '../stats/stratified-lift.js';
import { armEstimate, statisticsOf } from './metric-spec.js';
import type { ArmSums, MetricSpec } from './metric-spec.js';
import type { Comparison } from './report-model.js';

/** How to compare: significance level and sequential testing. */
export interface CompareOptions {
  readonly alpha: number;
  readonly sequential?: boolean;
  readonly tuningParameter?: number;
}

/** A comparison before the set's multiple-testing correction. */
export type PendingComparison = Omit<Comparison, 'adjustedPValue' | 'significant' | 'verdict'>;

/**
 * The comparison of a track with the baseline on one metric, phase-aware: each pair is the
 * baseline's and the track's users of one phase, and the phases are combined by the
 * post-stratified estimator ({@link stratifiedLift}), so a change of weights or coverage between
 * phases cannot bias it. With one phase this is the plain comparison (Welch's lift, and the
 * pooled two-proportion z-test's p-value for conversions). Returns why, when it cannot compute.
 */
export function comparePhases(pairs: readonly { readonly base: ArmSums; readonly track: ArmSums }[], spec: MetricSpec, options: CompareOptions): PendingComparison | string {
  const strata: Stratum[] = [];
  let reason: string | undefined;
  for (const { base, track } of pairs) {
    const control = armEstimate(base, spec, 'control');
    const treatment = armEstimate(track, spec, 'treatment');
    if (control.ok && treatment.ok) strata.push({ control, treatment });
    else reason ??= control.ok ? (treatment as { reason: string }).reason : control.reason;
  }
  if (strata.length === 0) return pairs.length > 1 ? `no phase can compare the two tracks (${reason ?? 'no users'})` : (reason ?? 'no users');
  const fixed = stratifiedLift(strata, { alpha: options.alpha });
  if (!fixed.ok) return fixed.reason;
  const estimate = options.sequential
    ? alwaysValid(fixed, { alpha: options.alpha, ...(options.tuningParameter ? { tuningParameter: options.tuningParameter } : {}) })
    : fixed;
  let pValue = estimate.absolute.pValue;
  if (!options.sequential && spec.type === 'conversion' && pairs.length === 1) {
    // The two-proportion z-test (pooled standard error) is the convention for one phase's conversion rates.
    const test = proportionTest(statisticsOf(pairs[0]!.base, spec), statisticsOf(pairs[0]!.track, spec), { alpha: options.alpha });
    if (!test.ok) return test.reason;
    pValue = test.pValue;
  }
  const bayes = posteriorOf(fixed, { alpha: options.alpha });
  const relative = estimate.relative.ok ? { estimate: estimate.relative.estimate, interval: estimate.relative.confidenceInterval } : null;
  return {
    absolute: { estimate: estimate.absolute.estimate, interval: estimate.absolute.confidenceInterval },
    relative,
    pValue,
    // "Better" follows the metric's direction: for a lower-is-better metric, a negative effect.
    chanceToBeatControl: bayes.ok ? (spec.higherIsBetter === false ? 1 - bayes.chanceToBeatControl : bayes.chanceToBeatControl) : null,
    risk: bayes.ok ? (spec.higherIsBetter === false ? bayes.risk.control : bayes.risk.treatment) : null,
    phases: strata.length,
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
