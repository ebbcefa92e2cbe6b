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
export { forEachTrack } from './core/for-each-track.js';
export type { ForcedTracks } from './core/forcing.js';
export { serializeKey } from './core/key.js';
export { murmur3 } from './core/murmur3.js';
export { bucketOf } from './core/bucket-of.js';
export type { Reason } from './core/run-hooks.js';
export type { ClassTrackName, RunTrackName, TrackMethodNames } from './core/track-names.js';

// recording
export { configure, convert, flush, close, stats } from './recording/configure.js';
export type { RecordingOptions } from './recording/configure.js';
export { Recorder } from './recording/recorder.js';
export type { Conversion, RecorderOptions, RecordingStats } from './recording/recorder.js';
export type { GuardrailOptions } from './recording/guardrails.js';
export { LATENCY_BUCKET_BOUNDS_MS, latencyBucket, latencyQuantile } from './recording/latency-histogram.js';
export { memoryStore } from './stores/memory-store.js';
export type { MemoryStore } from './stores/memory-store.js';
export { callbackStore } from './stores/callback-store.js';
export { sqliteStore } from './stores/sqlite-store.js';
export type { SqliteStoreOptions } from './stores/sqlite-store.js';
export { postgresStore } from './stores/postgres-store.js';
export type { PgPool, PostgresStoreOptions } from './stores/postgres-store.js';
export { storeFrom } from './stores/open-store.js';
export type { StoreSpec } from './stores/open-store.js';
export type * from './stores/store.js';

// statistics: pure functions over per-track sufficient statistics
export {
  adjustPValues,
  bayesianComparison,
  benjaminiHochberg,
  confidenceSequence,
  holm,
  lift,
  proportionTest,
  sampleSize,
  sequentialLift,
  srmCheck,
  welchTest,
} from './stats/index.js';
export type {
  BayesResult,
  CannotCompute,
  Estimate,
  LiftResult,
  MetricKind,
  ProportionTestResult,
  SampleSizeInput,
  SampleSizeResult,
  SrmCheckResult,
  StatResult,
  SufficientStatistics,
  WelchTestResult,
} from './stats/index.js';

// report: the answer, as data and as text
export { buildReport } from './report/build-report.js';
export type { ReportOptions } from './report/build-report.js';
export { renderReport } from './report/render-report.js';
export type {
  Comparison,
  LatencyResult,
  MetricResult,
  Report,
  ReportWarning,
  TimelinePoint,
  TrackResult,
  TrackSetResult,
} from './report/report-model.js';
export { simulateSplit } from './report/simulate-split.js';
export type { ProposedChange, Simulation } from './report/simulate-split.js';
