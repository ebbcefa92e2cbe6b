/**
 * The statistics layer of tracks: pure functions (no I/O, no store) from per-track
 * sufficient statistics `{ n, sum, sumSquares }` to p-values, lifts with confidence
 * intervals, multiple-testing corrections, Bayesian chance to win, always-valid sequential
 * intervals, the sample-ratio-mismatch check and sample sizes.
 *
 * Results that cannot be computed from well-formed data come back as
 * `{ ok: false, reason }` (see {@link StatResult}); bad arguments throw `TracksError`.
 * Every formula and its reference values are in `docs/statistics.md`.
 *
 * @example
 * ```ts
 * import { proportionTest, lift, holm } from 'tracks';
 *
 * const control = { n: 10_000, sum: 500, sumSquares: 500 };
 * const slow = { n: 10_000, sum: 410, sumSquares: 410 };
 * const test = proportionTest(control, slow);
 * const change = lift(control, slow, { kind: 'proportion' });
 * if (test.ok && change.ok && change.relative.ok) {
 *   console.log(change.relative.estimate, change.relative.confidenceInterval, test.pValue);
 * }
 * ```
 *
 * @module
 */
export type { StatResult, CannotCompute } from './result.js';
export type { SufficientStatistics, MetricKind, Summary } from './summary.js';
export { summarize } from './summary.js';
export type { Alternative, Interval, Estimate } from './inference.js';
export {
  SMALLEST_PROBABILITY,
  normalCdf,
  normalSf,
  normalPdf,
  normalQuantile,
  studentTCdf,
  studentTSf,
  studentTQuantile,
  chiSquareSf,
  twoSidedNormalPValue,
  twoSidedTPValue,
  upperTailPValue,
} from './distributions.js';
export type { ProportionTestResult } from './proportion-test.js';
export { proportionTest } from './proportion-test.js';
export type { WelchTestOptions, WelchTestResult } from './welch-test.js';
export { welchTest, welchDegreesOfFreedom } from './welch-test.js';
export type { LiftOptions, LiftResult } from './lift.js';
export { lift } from './lift.js';
export type { CupedStatistics, CupedLiftResult } from './cuped-lift.js';
export { cupedLift } from './cuped-lift.js';
export type { LatencyHistogram, QuantileIntervalOptions, QuantileIntervalResult } from './quantile-interval.js';
export { quantileInterval } from './quantile-interval.js';
export type { QuantileDifferenceOptions, QuantileDifferenceResult, QuantileRatio } from './quantile-difference.js';
export { quantileDifference } from './quantile-difference.js';
export type { GroupEstimate, HeterogeneityResult } from './heterogeneity.js';
export { heterogeneityTest } from './heterogeneity.js';
export type { ArmEstimate, Stratum, RatioStatistics } from './stratified-lift.js';
export { armOf, ratioArm, stratifiedLift } from './stratified-lift.js';
export type { CorrectionMethod } from './multiple-testing.js';
export { holm, benjaminiHochberg, adjustPValues } from './multiple-testing.js';
export type { GaussianPrior, BayesOptions, BayesResult } from './bayes.js';
export { bayesianComparison, posteriorOf } from './bayes.js';
export type {
  ConfidenceSequenceOptions,
  ConfidenceSequenceResult,
  SequentialLiftOptions,
} from './confidence-sequence.js';
export { alwaysValid, confidenceSequence, sequentialLift } from './confidence-sequence.js';
export type { SrmCheckOptions, SrmCheckResult } from './srm-check.js';
export { srmCheck } from './srm-check.js';
export type { SampleSizeInput, SampleSizeResult } from './sample-size.js';
export { cohenH, proportionPower, requiredUsersPerTrack, sampleSize } from './sample-size.js';
export type { RateIntervalOptions, RateIntervalResult } from './rate-interval.js';
export { rateInterval } from './rate-interval.js';
export type { PairedHistogram, PairedQuantileOptions, PairedQuantileResult } from './paired-quantile.js';
export { pairedQuantileInterval } from './paired-quantile.js';
