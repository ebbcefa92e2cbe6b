/**
 * tracks: simple, deterministic A/B testing of backend code paths.
 *
 * @example
 * ```ts
 * import { TrackSet } from 'tracks';
 *
 * class DelayTracks extends TrackSet {
 *   static id = 'delay';
 *   static short_track() { return sleep(500); }
 *   static long_track() { return sleep(2000); }
 * }
 *
 * using track = new DelayTracks({ key: userId });
 * await track.run();
 * ```
 *
 * @module
 */
export { TracksError } from './errors.js';
export { TrackSet } from './core/track-set.js';
export type { Track, TrackSetClass, TrackSetOptions, TrackSetStaticSide } from './core/track-set.js';
export { ParamTrackSet } from './core/param-track-set.js';
export { MultiTrackSet } from './core/multi-track-set.js';
export type { MultiTrackSetOptions } from './core/multi-track-set.js';
export { forceTracks } from './core/forcing.js';
export { scopeTracks, withTracksScope } from './core/request-scope.js';
export type { TracksScope } from './core/request-scope.js';
export { forEachTrack } from './core/for-each-track.js';
export type { ForcedTracks } from './core/forcing.js';
export { serializeKey } from './core/key.js';
export { murmur3 } from './core/murmur3.js';
export { bucketOf } from './core/bucket-of.js';
export { inHoldout } from './core/holdout.js';
export type { HoldoutOptions } from './core/holdout.js';
export type { Reason } from './core/run-hooks.js';
export type { ShadowOptions } from './core/shadow-definition.js';
export type { ShadowContext } from './core/shadow-context.js';
export { shadowContext } from './core/shadow-context.js';
export { assertReadOnlyShadow } from './core/read-only-shadow.js';
export type { ClassTrackName, RunTrackName, TrackMethodNames } from './core/track-names.js';

// recording
export { configure, convert, flush, close, ready, stats } from './setup/configure.js';
export type { RecordingOptions } from './setup/configure.js';
export { Recorder } from './recording/recorder.js';
export type { FlushResult, RecordingStats } from './recording/recorder.js';
export type { HashKeys, RecorderOptions, UnsaltedHashKeys } from './recording/recorder-options.js';
export type { Conversion } from './recording/conversion-event.js';
export type { GuardrailOptions } from './recording/guardrails.js';

// the data model shared by recording, the stores and the report
export type { ControlState, ConversionEvent, DefinitionEvent, ExposureEvent, GuardrailEvent, HealthEvent, MetricEvent, RecordedEvent } from './model/events.js';
export type { CapKind, CapRequest } from './model/caps.js';
export type {
  DailySums,
  HealthSums,
  MetricSums,
  PhaseSums,
  PreExposureWindow,
  RecordedDefinition,
  SegmentSums,
  SummarizeOptions,
  TrackSetSums,
  TrackSums,
} from './model/sums.js';
export type { ShadowCounts, ShadowEvent, ShadowSampleEvent, ShadowSums, ShadowTrackSums } from './model/shadow.js';
export type { CallOptions, StickyAssignment, StickyFilter, Store, WriteControlOptions } from './model/store.js';
export type { Outbox, OutboxBatch, OutboxCounts, QuarantinedEvent } from './model/outbox.js';
export { StoreError } from './model/store-error.js';
export type { StoreErrorOptions, TracksStoreErrorCode } from './model/store-error.js';
export { UnitOfKey } from './model/unit.js';
export { eventProblem } from './model/check-event.js';
export type { MetricAnalysis, MetricCap, MetricDeclaration, MetricDeclarationKind, MetricDeclarations, MetricName, TracksRegister } from './model/metrics.js';
export { defineMetrics } from './model/metrics.js';
export { LATENCY_BUCKET_BOUNDS_MS, latencyBucket, latencyQuantile } from './model/latency-histogram.js';

// stores
export { memoryStore } from './stores/memory-store.js';
export type { MemoryStore } from './stores/memory-store.js';
export { callbackStore } from './stores/callback-store.js';
export type { CallbackStoreCall } from './stores/callback-store.js';
export { SqliteStore, sqliteStore } from './stores/sqlite-store.js';
export type { SqliteStoreOptions } from './stores/sqlite-store.js';
export { PostgresStore, postgresStore } from './stores/postgres-store.js';
export type { PgPool, PostgresStoreOptions } from './stores/postgres-store.js';
export { sqliteOutbox } from './stores/sqlite-outbox.js';
export type { OutboxDatabaseOptions } from './stores/outbox-database.js';
export { storeFrom } from './stores/open-store.js';
export { promoteTrackSet, rampTrackSet, resumeTrackSet, stopTrackSet } from './stores/control-state.js';
export type { ControlChange, ControlOptions, Ramp } from './stores/control-state.js';
export type { StoreSpec } from './stores/open-store.js';

// statistics: pure functions over per-track sufficient statistics; all of src/stats (docs/statistics.md
// says so), the distributions and summarize included
export {
  adjustPValues,
  alwaysValid,
  armOf,
  bayesianComparison,
  benjaminiHochberg,
  confidenceSequence,
  holm,
  lift,
  posteriorOf,
  proportionTest,
  ratioArm,
  sampleSize,
  sequentialLift,
  srmCheck,
  stratifiedLift,
  welchTest,
  cupedLift,
  quantileDifference,
  quantileInterval,
  heterogeneityTest,
  rateInterval,
  pairedQuantileInterval,
  chiSquareSf,
  cohenH,
  proportionPower,
  requiredUsersPerTrack,
  SMALLEST_PROBABILITY,
  normalCdf,
  normalSf,
  normalPdf,
  normalQuantile,
  studentTCdf,
  studentTSf,
  studentTQuantile,
  twoSidedNormalPValue,
  twoSidedTPValue,
  upperTailPValue,
  summarize,
  welchDegreesOfFreedom,
} from './stats/index.js';
export type {
  Alternative,
  Interval,
  ArmEstimate,
  BayesOptions,
  BayesResult,
  ConfidenceSequenceOptions,
  ConfidenceSequenceResult,
  CorrectionMethod,
  GaussianPrior,
  LiftOptions,
  PairedQuantileOptions,
  QuantileDifferenceOptions,
  QuantileIntervalOptions,
  SequentialLiftOptions,
  SrmCheckOptions,
  WelchTestOptions,
  CannotCompute,
  CupedLiftResult,
  CupedStatistics,
  GroupEstimate,
  HeterogeneityResult,
  LatencyHistogram,
  QuantileDifferenceResult,
  QuantileIntervalResult,
  QuantileRatio,
  Estimate,
  LiftResult,
  MetricKind,
  ProportionTestResult,
  RatioStatistics,
  SampleSizeInput,
  SampleSizeResult,
  SrmCheckResult,
  StatResult,
  Stratum,
  SufficientStatistics,
  Summary,
  WelchTestResult,
  RateIntervalOptions,
  RateIntervalResult,
  PairedHistogram,
  PairedQuantileResult,
} from './stats/index.js';

// report: the answer, as data and as text
export { buildReport } from './report/build-report.js';
export type { ReportOptions } from './report/build-report.js';
export { renderReport } from './report/render-report.js';
export type { RenderOptions } from './report/render-report.js';
export { readAnalysis } from './report/read-analysis.js';
export type { Analysis, AnalysisOptions, CupedOption } from './report/read-analysis.js';
export type {
  Comparison,
  CupedComparison,
  LatencyComparison,
  LatencyQuantile,
  MetricCapResult,
  LatencyResult,
  MetricResult,
  MetricType,
  PhaseResult,
  Report,
  ReportWarning,
  TimelinePoint,
  TrackResult,
  TrackSetResult,
  ShadowResult,
  ShadowCandidateResult,
  ShadowSampleResult,
  RateEstimate,
  PairedLatencyQuantile,
  SegmentsResult,
  SegmentResult,
  Heterogeneity,
  WarningKind,
} from './report/report-model.js';
export { simulateSplit } from './report/simulate-split.js';
export type { ProposedChange, Simulation, SplitRow } from './report/simulate-split.js';
