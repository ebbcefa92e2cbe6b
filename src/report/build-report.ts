import { isObjectArgument, optionsError } from '../core/arguments.js';
import { quoted, shown } from '../text.js';
import { TracksError } from '../errors.js';
import { LATENCY_BUCKET_BOUNDS_MS } from '../model/latency-histogram.js';
import { formatLatency, latencyResults } from './latency.js';
import { segmentsResult } from './segments.js';
import { isShadowTrip } from '../model/shadow.js';
import type { ShadowSums } from '../model/shadow.js';
import { shadowResult, shadowWarnings } from './shadow-section.js';
import type { MetricDeclaration, MetricDeclarations } from '../model/metrics.js';
import { adjustPValues } from '../stats/multiple-testing.js';
import { normalQuantile } from '../stats/distributions.js';
import { addMetric, DEFAULT_PRE_EXPOSURE_MS } from '../model/sums.js';
import type { CupedOption } from './read-analysis.js';
import type { DailySums, HealthSums, MutableMetricSums, PhaseSums, TrackSetSums, TrackSums } from '../model/sums.js';
import { comparePhases, verdictOf } from './compare.js';
import type { PendingComparison } from './compare.js';
import { armEstimate, familyOf, metricSpecs, metricSums, poolArms as poolPhases, valueOf } from './metric-spec.js';
import type { ArmSums, MetricSpec } from './metric-spec.js';
import { leftOut, phasedSrm, phaseSrm, trippedBefore, trippedBy } from './phase-srm.js';
import type {
  Comparison,
  Interval,
  MetricResult,
  PhaseResult,
  Report,
  ReportWarning,
  ShadowResult,
  TimelinePoint,
  TrackResult,
  TrackSetResult,
} from './report-model.js';

/**
 * How to analyse: significance level, sequential testing, correction, baselines, metrics, phases.
 *
 * @example
 * ```ts
 * const options: ReportOptions = { alpha: 0.01, sequential: true, baselines: { pricing: 'price_adjusted_by_0' } };
 * const report = buildReport(await store.summarize(), options);
 * ```
 */
export interface ReportOptions {
  /** Describes the store in the report, e.g. `sqlite:tracks.db`. */
  readonly store?: string | undefined;
  /** Significance level (default 0.05). */
  readonly alpha?: number | undefined;
  /** Always-valid confidence sequences, for teams that look every day (default false). */
  readonly sequential?: boolean | undefined;
  /** Tuning parameter of the confidence sequence: the sample size it is tightest at (default 5000). */
  readonly tuningParameter?: number | undefined;
  /** Multiple-testing correction across the tracks and metrics of a set (default Holm). */
  readonly correction?: 'holm' | 'benjamini-hochberg' | undefined;
  /**
   * Baselines by track set id, overriding what each class declares (`static control`); a Map,
   * or an object of own properties. Every one must name a recorded set and one of its tracks.
   */
  readonly baselines?: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined;
  /**
   * How each metric is analysed (`store.readMetrics()`, what `configure({ metrics })`
   * published); metrics not declared are inferred.
   */
  readonly metrics?: ReadonlyMap<string, MetricDeclaration> | MetricDeclarations | undefined;
  /** Analyse this phase alone (1 is the first), instead of every phase combined. */
  readonly phase?: number | undefined;
  /** Also analyse each phase alone (`phases[].results`). */
  readonly allPhases?: boolean | undefined;
  /** Fewer users than this in a track raises a warning (default 100). */
  readonly minUsers?: number | undefined;
  /**
   * CUPED (default on, 14 days): compare each metric adjusted for its users' value of it in the
   * window before their exposure, where they have one (the store must have been summarized with
   * the same window: {@link readAnalysis} does). `false` turns it off.
   */
  readonly cuped?: CupedOption | undefined;
  /** Include the cumulative lift by day (the dashboard's chart). */
  readonly timeline?: boolean | undefined;
  /** Shadow runs (`store.readShadow()`; {@link readAnalysis} reads them): each shadow set gets its `shadow` section. */
  readonly shadow?: ShadowSums | undefined;
  /** The report's clock, for tests. */
  readonly now?: Date | undefined;
}

/**
 * Turns the sufficient statistics a store summarized into the report: per track set and
 * track, each metric as declared (or inferred), lift with intervals, p-values adjusted across
 * the set, chance to beat control, latency and error rate, phases, and warnings. Comparisons
 * are phase-aware: each phase's users are compared within the phase and the phases combined
 * (post-stratification), so a ramp or a change of weights cannot bias them. Pure: no I/O.
 *
 * @example
 * ```ts
 * const report = buildReport(await store.summarize(), { alpha: 0.05, metrics: await store.readMetrics?.() });
 * ```
 */
export function buildReport(sums: readonly TrackSetSums[], options: ReportOptions = {}): Report {
  if (!Array.isArray(sums)) {
    throw new TracksError(`buildReport: the sums are ${shown(sums)}; pass the sums readAnalysis(store) returns, e.g. buildReport((await readAnalysis(store)).sums)`);
  }
  if (!isObjectArgument(options)) throw optionsError('buildReport', options, '{ alpha: 0.05 }');
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new TracksError(`alpha is ${alpha}; use a number between 0 and 1, like 0.05`);
  if (options.phase !== undefined && !(Number.isInteger(options.phase) && options.phase >= 1)) {
    throw new TracksError(`phase is ${options.phase}; phases are numbered from 1 (see the phases of 'tracks report --json')`);
  }
  const correction = options.correction ?? 'holm';
  const baselines = options.baselines instanceof Map ? options.baselines : new Map(Object.entries(options.baselines ?? {}));
  const metrics = options.metrics instanceof Map ? options.metrics : new Map(Object.entries(options.metrics ?? {}));
  checkBaselines(sums, baselines);
  return {
    version: 1,
    generatedAt: (options.now ?? new Date()).toISOString(),
    store: options.store ?? '',
    alpha,
    sequential: options.sequential ?? false,
    correction,
    cuped: options.cuped === false ? null : { windowDays: options.cuped?.windowDays ?? DEFAULT_PRE_EXPOSURE_MS / 86_400_000 },
    latencyBucketBoundsMs: LATENCY_BUCKET_BOUNDS_MS,
    trackSets: sums.map((set) => trackSetResult(set, { ...options, cuped: options.cuped !== false, alpha, correction, baselines, metrics })),
  };
}

type Resolved = Omit<ReportOptions, 'baselines' | 'metrics' | 'cuped'> & {
  readonly cuped: boolean;
  readonly alpha: number;
  readonly correction: 'holm' | 'benjamini-hochberg';
  readonly baselines: ReadonlyMap<string, string>;
  readonly metrics: ReadonlyMap<string, MetricDeclaration>;
};

const NO_WEIGHTS: ReadonlyMap<string, number> = new Map();

/** The phases of a set, numbered; a set summarized without phases (an older store) is one phase. */
function phasesOf(set: TrackSetSums): PhaseSums[] {
  if (set.phases.length > 0) return [...set.phases];
  return [{ phase: '', startedAt: set.firstExposureAt, endedAt: null, definition: set.definition, tracks: set.tracks, health: new Map(set.tracks.map((t) => [t.track, t.health])) }];
}

function trackSetResult(set: TrackSetSums, options: Resolved): TrackSetResult {
  const phases = phasesOf(set);
  if (options.phase !== undefined && options.phase > phases.length) {
    throw new TracksError(`${quoted(set.trackSetId)} has ${phases.length} phase${phases.length === 1 ? '' : 's'}; --phase ${options.phase} is not one of them (give 1 to ${phases.length})`);
  }
  const analysed = options.phase === undefined ? phases.map((_, i) => i) : [options.phase - 1];
  const one = options.phase === undefined ? undefined : phases[options.phase - 1]!;
  const weights = (one ? one.definition?.weights : set.definition?.weights) ?? set.definition?.weights ?? NO_WEIGHTS;
  const pooled = one ? one.tracks : analysed.length === phases.length && set.phases.length > 0 ? poolPhases(phases) : set.tracks;
  // One phase alone: its own minutes' health, not the whole test's.
  const tracks = orderTracks(pooled, weights, one ? healthTracks(one) : set.tracks);
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
  const specs = metricSpecs(tracks, options.metrics);
  const analysedPhases = analysed.map((i) => phases[i]!);
  const results = analyse(tracks, analysedPhases, baseline, specs, weights, options);
  for (const r of results) {
    for (const m of r.metrics) {
      const verdict = m.comparison?.verdict;
      if (m.guardrail && (verdict === 'worse' || verdict === 'changed')) {
        warnings.push({
          kind: 'guardrail-metric',
          message:
            verdict === 'worse'
              ? `guardrail metric '${m.metric}' is significantly worse on '${r.name}' than on '${baseline}' (${describeChange(m)}, ${pText(m.comparison!.adjustedPValue, 'p adj')})`
              : `guardrail metric '${m.metric}' moved significantly on '${r.name}' against '${baseline}' (${describeChange(m)}, ${pText(m.comparison!.adjustedPValue, 'p adj')}); declare higherIsBetter to say which way is wrong`,
        });
      }
    }
  }

  for (const r of results) {
    const p95 = r.latency.comparison?.find((c) => c.q === 0.95);
    if (p95?.slower) {
      const ratio = p95.ratio ? ` (${((p95.ratio.estimate - 1) * 100).toFixed(0)}% slower, CI ${((p95.ratio.interval[0] - 1) * 100).toFixed(0)}% to ${((p95.ratio.interval[1] - 1) * 100).toFixed(0)}%)` : '';
      warnings.push({
        kind: 'latency',
        // As the tables print them: a p95 below the histogram's resolution is "< 0.05 ms", not a number.
        message: `'${r.name}' is significantly slower than '${baseline}' at p95: ${p95Text(r)} vs ${p95Text(results.find((t) => t.name === baseline)!)}${ratio}, ${pText(p95.pValue)}`,
      });
    }
  }
  // Tracks a guardrail switched off gain no users from the trip on (in the process that tripped
  // them): each phase's check leaves out those tripped during it and tests the others against
  // their own weights.
  const splits = analysedPhases.map((p) => ({ tracks: p.tracks, weights: p.definition?.weights ?? weights, tripped: trippedBy(set.guardrails, p) }));
  const srm = phasedSrm(splits);
  // Tracks tripped before a phase began: not left out of it (the process that tripped them may
  // have restarted), but named in its warning, as the likelier cause.
  // (A phase that came back counts from its last return.)
  const earlierTrips = [...new Set(analysedPhases.flatMap((p) => trippedBefore(set.guardrails, p.stretches?.at(-1)?.from ?? p.startedAt)))];
  const srmExcluded = [...new Set(splits.flatMap(leftOut))];
  if (srm?.mismatch) {
    warnings.push({
      kind: 'sample-ratio-mismatch',
      message:
        `sample-ratio mismatch (${pText(srm.pValue)}): users are not split as ${analysedPhases.length > 1 ? "each phase's" : 'the'} weights say; ` +
        (earlierTrips.length > 0
          ? `a guardrail tripped ${earlierTrips.map((t) => `'${t}'`).join(', ')} in an earlier phase, and a process that tripped a track serves the baseline instead until it restarts; else check for assignment or logging bugs before trusting results`
          : 'check for assignment or logging bugs before trusting results'),
    });
  }
  if (one && !tracks.some((t) => t.health.runs > 0) && set.tracks.some((t) => t.health.runs > 0)) {
    warnings.push({
      kind: 'no-health',
      message: `phase ${options.phase} has no health rows (no runs recorded in its minutes): no runs, errors or latency to show for it alone; the report without --phase has the whole test's`,
    });
  }
  const minUsers = options.minUsers ?? 100;
  const small = tracks.filter((t) => t.users < minUsers);
  const shadow = shadowResult(set, options.shadow, options);
  warnings.push(...shadowWarnings(shadow));
  // A set still in shadow mode assigns no one: its answers are the shadow section's.
  if (small.length > 0 && !(shadow?.mode === 'shadow' && tracks.every((t) => t.users === 0))) {
    warnings.push({
      kind: 'too-few-users',
      message: `too few users to conclude (${small.map((t) => `${t.track}: ${t.users}`).join(', ')}; want at least ${minUsers} per track, see 'tracks plan')`,
    });
  }
  const users = tracks.reduce((n, t) => n + t.users, 0);
  const stopped = set.control?.stopped ?? false;
  if (!stopped && !options.sequential && users > 0) {
    warnings.push({
      kind: 'peeking',
      message: 'still running: fixed-horizon p-values are valid for one look at a planned sample size; if you check repeatedly, use --sequential',
    });
  }
  // A holdout that took keys in cut every earlier user's conversions there, though the set's
  // phase went on: without this line the report would read as if nothing had changed.
  for (const intake of set.holdoutIntakes ?? []) {
    warnings.push({
      kind: 'holdout-intake',
      message:
        `the holdout '${intake.holdout}' took users in at ${new Date(intake.at).toISOString()} (share ${+(intake.share * 100).toPrecision(6)}%): ` +
        'users exposed before then count conversions only until then (one it moved is never credited to a track it no longer saw); users exposed since count in full',
    });
  }
  // A shadow guardrail stopped a candidate's shadow runs: the shadow section reports it, not the live test.
  const trips = set.guardrails.filter((g) => !isShadowTrip(g.cause));
  for (const trip of trips) {
    warnings.push({ kind: 'guardrail', message: `guardrail switched '${trip.track}' off: ${trip.cause}` });
  }

  // A stop written with --force before the set was recorded may name a track it lacks: its
  // processes serve the baseline (and say so), and so does the report.
  const served = set.control?.serve ?? null;
  const recordedTracks = set.definition === null || set.definition === undefined ? [] : [...set.definition.weights.keys()];
  const unknownServe = stopped && served !== null && recordedTracks.length > 0 && !recordedTracks.includes(served);
  if (unknownServe) {
    warnings.push({
      kind: 'unknown-serve',
      message: `stopped serving '${served}', which it has no track of (its tracks are ${recordedTracks.map((t) => `'${t}'`).join(', ')}): its baseline is served instead; stop it again naming one of its tracks`,
    });
  }
  const serving = stopped ? ((unknownServe ? null : served) ?? baseline ?? 'control') : null;
  return {
    id: set.trackSetId,
    holdout: set.definition?.holdout === true,
    status: stopped ? 'stopped' : trips.length > 0 ? 'guardrail' : 'running',
    serving,
    baseline,
    users,
    firstExposureAt: isoOrNull(set.firstExposureAt),
    lastExposureAt: isoOrNull(set.lastExposureAt),
    srm,
    srmExcluded,
    phases: phases.map((p, i) => phaseResult(p, i, set, baseline, specs, options, {
      // The store keeps the latest stop's track only: it is known for the current phase alone
      // (the one not ended; by first start, a phase that came back need not be the last).
      serving: p.definition?.stopped === true && p.endedAt === null ? serving : null,
      shadow: shadowPhase(p, set, shadow, options.shadow !== undefined),
    })),
    analysedPhases: analysed.map((i) => i + 1),
    inferredMetrics: specs.filter((m) => !m.declared).map((m) => m.name),
    warnings,
    tracks: results,
    guardrails: trips.map((g) => ({ track: g.track, cause: g.cause, at: new Date(g.at).toISOString() })),
    ...(options.timeline ? { timeline: timelineOf(set.daily, baseline, specs, options, analysed.length === 1 && one ? one.phase : undefined) } : {}),
    shadow,
    ...(set.segments
      ? {
          segments: segmentsResult(
            set.segments,
            analysedPhases,
            specs,
            options,
            (segmentTracks, segmentPhases, sequential) => analyse(orderTracks(segmentTracks, weights, []), segmentPhases, baseline, specs, weights, { ...options, sequential }),
            (phase) => phases.find((p) => p.phase === phase)?.definition?.weights ?? weights,
            (phase) => trippedBy(set.guardrails, phases.find((p) => p.phase === phase) ?? { startedAt: null, endedAt: null }),
          ),
        }
      : {}),
  };
}

/**
 * Per track: users, each metric's value and its comparison with the baseline, combined over
 * `phases` (each phase's users compared within it), with one correction across the set.
 */
function analyse(
  tracks: readonly TrackSums[],
  phases: readonly PhaseSums[],
  baseline: string | null,
  specs: readonly MetricSpec[],
  weights: ReadonlyMap<string, number>,
  options: Resolved,
): TrackResult[] {
  const base = tracks.find((t) => t.track === baseline);
  const pending: { track: string; spec: MetricSpec; comparison: PendingComparison }[] = [];
  const reasons = new Map<string, string>();
  for (const track of tracks) {
    if (base === undefined || track === base) continue;
    const pairs = phases
      .map((p) => ({ base: p.tracks.find((t) => t.track === base.track), track: p.tracks.find((t) => t.track === track.track) }))
      .filter((pair): pair is { base: ArmSums; track: ArmSums } => pair.base !== undefined && pair.track !== undefined && pair.base.users > 0 && pair.track.users > 0);
    // No phase with users in both: compare the totals, so the reason says what is missing.
    const compared = pairs.length > 0 ? pairs : [{ base, track }];
    for (const spec of specs) {
      const outcome = comparePhases(compared, spec, options);
      if (typeof outcome === 'string') reasons.set(`${track.track}\0${spec.name}`, outcome);
      else pending.push({ track: track.track, spec, comparison: outcome });
    }
  }
  const adjusted = adjustPValues(pending.map((p) => p.comparison.pValue), options.correction);
  const comparisons = new Map<string, Comparison>(
    pending.map((p, i) => {
      const adjustedPValue = adjusted[i]!;
      const significant = adjustedPValue < options.alpha;
      const verdict = verdictOf(p.comparison.absolute.estimate, significant, p.spec.higherIsBetter);
      return [`${p.track}\0${p.spec.name}`, { ...p.comparison, adjustedPValue, significant, verdict }] as const;
    }),
  );
  const totalWeight = [...weights.values()].reduce((a, b) => a + b, 0);
  const latency = latencyResults(tracks, base === undefined ? null : base.track, options.alpha, options.correction);
  return tracks.map((t) => ({
    name: t.track,
    isBaseline: t.track === baseline,
    users: t.users,
    expectedShare: totalWeight > 0 && weights.has(t.track) ? weights.get(t.track)! / totalWeight : null,
    metrics: specs.map((spec): MetricResult => {
      // A ratio's conversions and total are its numerator's.
      const sums = metricSums(t, spec.type === 'ratio' ? spec.numerator! : spec.name);
      const key = `${t.track}\0${spec.name}`;
      return {
        metric: spec.name,
        kind: familyOf(spec.type),
        type: spec.type,
        declared: spec.declared,
        higherIsBetter: spec.higherIsBetter,
        guardrail: spec.guardrail,
        value: valueOf(t, spec),
        conversions: sums.converted,
        total: sums.sum,
        rate: t.users > 0 ? sums.converted / t.users : null,
        mean: t.users > 0 ? sums.sum / t.users : null,
        interval: intervalOf(t, spec, options.alpha),
        cap: spec.cap === undefined ? null : { ...spec.cap, applied: phases.map((p) => p.caps?.get(spec.name) ?? null) },
        comparison: comparisons.get(key) ?? null,
        cannotCompute: reasons.get(key) ?? null,
      };
    }),
    latency: latency.get(t.track)!,
  }));
}

/**
 * Whether a phase ran in shadow mode (every user served the baseline, no one assigned): as its
 * definition records it; for phases recorded before that was recorded, inferred: every phase of a set still in shadow did. Of a promoted
 * set, a phase with users did not (shadow mode records no exposures), nor one that began with
 * the set's latest change (at or after the promotion; each change records its phase then); one
 * without users that began before both that change and the end of the last shadow run's minute
 * did (shadow runs stop at the promotion); of the rest it cannot tell (null). False for a set
 * that never ran in shadow; null for a phase without users when the shadow runs were not read
 * (`buildReport` without `shadow`, a store without `readShadow`).
 */
function shadowPhase(phase: PhaseSums, set: TrackSetSums, shadow: ShadowResult | null, runsRead: boolean): boolean | null {
  // Shadow mode assigns no one: a phase with users was live, whatever the set is now.
  if (phase.tracks.some((t) => t.users > 0)) return false;
  // Recorded with the phase (by the processes and the CLI, since tracks records it).
  const recorded = phase.definition?.shadow;
  if (recorded !== null && recorded !== undefined) return recorded;
  if (shadow === null) return runsRead ? false : null;
  if (shadow.mode === 'shadow') return true;
  const latestChange = set.control?.at ?? null;
  if (phase.startedAt !== null && latestChange !== null && phase.startedAt >= latestChange) return false;
  const lastRunEnded = shadow.lastAt === null ? null : Date.parse(shadow.lastAt) + 60_000;
  return phase.startedAt !== null && lastRunEnded !== null && phase.startedAt < lastRunEnded ? true : null;
}

function phaseResult(
  phase: PhaseSums,
  index: number,
  set: TrackSetSums,
  baseline: string | null,
  specs: readonly MetricSpec[],
  options: Resolved,
  mode: { readonly serving: string | null; readonly shadow: boolean | null },
): PhaseResult {
  const d = phase.definition;
  const weights = d?.weights ?? set.definition?.weights ?? NO_WEIGHTS;
  const totalWeight = [...weights.values()].reduce((a, b) => a + b, 0);
  const tracks = orderTracks(phase.tracks, weights, []);
  const split = { tracks, weights, tripped: trippedBy(set.guardrails, phase) };
  const check = phaseSrm(split);
  return {
    index: index + 1,
    id: phase.phase,
    startedAt: isoOrNull(phase.startedAt),
    endedAt: isoOrNull(phase.endedAt),
    stretches: (phase.stretches ?? [{ from: phase.startedAt, to: phase.endedAt }]).map(({ from, to }) => ({ from: isoOrNull(from), to: isoOrNull(to) })),
    stopped: d?.stopped ?? false,
    serving: mode.serving,
    shadow: mode.shadow,
    users: tracks.reduce((n, t) => n + t.users, 0),
    configuration: d === null ? null : { weights: Object.fromEntries(d.weights), coverage: d.coverage, baseline: d.control, sticky: d.sticky },
    srm: check === null ? null : { pValue: check.pValue, mismatch: check.mismatch },
    srmExcluded: leftOut(split),
    tracks: tracks.map((t) => ({ name: t.track, users: t.users, expectedShare: totalWeight > 0 && weights.has(t.track) ? weights.get(t.track)! / totalWeight : null })),
    ...(options.allPhases ? { results: analyse(orderTracks(phase.tracks, weights, healthTracks(phase)), [phase], baseline, specs, weights, options) } : {}),
  };
}

/**
 * The tracks in the order of their weights, with health from `withHealth` (the set's totals, or
 * one phase's: healthTracks); tracks with a weight and no users yet are shown empty.
 */
function orderTracks(tracks: readonly ArmSums[], weights: ReadonlyMap<string, number>, withHealth: readonly TrackSums[]): TrackSums[] {
  const order = [...weights.keys()];
  const rank = (name: string): number => {
    const i = order.indexOf(name);
    return i < 0 ? order.length : i;
  };
  const health = (name: string): HealthSums => withHealth.find((t) => t.track === name)?.health ?? NO_HEALTH;
  const known = new Set(tracks.map((t) => t.track));
  const present: TrackSums[] = tracks.map((t) => ({ ...t, health: health(t.track) }));
  // A track seen only in health rows (runs outside the test) is still listed, as tracks 0.1 did.
  const healthOnly: TrackSums[] = withHealth.filter((t) => !known.has(t.track)).map((t) => ({ ...t, users: 0, metrics: new Map() }));
  for (const t of healthOnly) known.add(t.track);
  const empty: TrackSums[] = order
    .filter((name) => !known.has(name) && weights.get(name)! > 0)
    .map((track) => ({ track, users: 0, metrics: new Map(), health: { runs: 0, errors: 0, totalMs: 0, histogram: [] } }));
  return [...present, ...healthOnly, ...empty].sort((a, b) => rank(a.track) - rank(b.track) || a.track.localeCompare(b.track));
}

/** A phase's health as orderTracks takes it: the tracks with health rows in the phase's minutes. */
function healthTracks(phase: PhaseSums): TrackSums[] {
  return [...(phase.health ?? new Map<string, HealthSums>())].map(([track, health]) => ({ track, users: 0, metrics: new Map(), health }));
}

/** The normal-approximation interval of one track's value, or null with fewer than 2 users. */
function intervalOf(track: ArmSums, spec: MetricSpec, alpha: number): Interval | null {
  const arm = armEstimate(track, spec, 'track');
  if (!arm.ok || arm.n < 2) return null;
  const margin = normalQuantile(1 - alpha / 2) * Math.sqrt(arm.squaredError);
  return [arm.mean - margin, arm.mean + margin];
}

function describeChange(m: MetricResult): string {
  const c = m.comparison!;
  if (c.relative) return `${c.relative.estimate >= 0 ? '+' : ''}${(c.relative.estimate * 100).toFixed(1)}%`;
  return `${c.absolute.estimate >= 0 ? '+' : ''}${c.absolute.estimate.toPrecision(3)}`;
}

/**
 * The cumulative lift by day of exposure, phase-aware as the report (each day adds its users to
 * their phase; phases are combined as in the comparisons); `onlyPhase` restricts it to one.
 */
function timelineOf(daily: readonly DailySums[], baseline: string | null, specs: readonly MetricSpec[], options: Resolved, onlyPhase: string | undefined): TimelinePoint[] {
  const points: TimelinePoint[] = [];
  const byPhase = new Map<string, Map<string, ArmSums>>();
  const pooled = new Map<string, ArmSums>();
  for (const day of [...daily].sort((a, b) => a.day.localeCompare(b.day))) {
    const phases = day.phases.length > 0 ? day.phases : [{ phase: '', tracks: day.tracks }];
    for (const { phase, tracks } of phases) {
      if (onlyPhase !== undefined && phase !== onlyPhase) continue;
      let cumulative = byPhase.get(phase);
      if (cumulative === undefined) byPhase.set(phase, (cumulative = new Map()));
      for (const t of tracks) {
        cumulative.set(t.track, addSums(cumulative.get(t.track), t));
        pooled.set(t.track, addSums(pooled.get(t.track), t));
      }
    }
    for (const track of pooled.values()) {
      for (const spec of specs) {
        let relative: TimelinePoint['relative'] = null;
        if (baseline !== null && track.track !== baseline && pooled.has(baseline)) {
          const pairs = [...byPhase.values()]
            .map((tracks) => ({ base: tracks.get(baseline), track: tracks.get(track.track) }))
            .filter((p): p is { base: ArmSums; track: ArmSums } => p.base !== undefined && p.track !== undefined);
          const outcome = pairs.length > 0 ? comparePhases(pairs, spec, options) : 'no phase with both tracks';
          if (typeof outcome !== 'string') relative = outcome.relative;
        }
        points.push({ day: day.day, track: track.track, metric: spec.name, users: track.users, relative });
      }
    }
  }
  return points;
}

const NO_HEALTH: HealthSums = { runs: 0, errors: 0, totalMs: 0, histogram: [] };

function addSums(a: ArmSums | undefined, b: ArmSums): ArmSums {
  const metrics = new Map<string, MutableMetricSums>();
  for (const [name, m] of a?.metrics ?? []) addMetric(metrics, name, m);
  for (const [name, m] of b.metrics) addMetric(metrics, name, m);
  const products = a?.products || b.products ? new Map(a?.products) : undefined;
  for (const [key, sum] of b.products ?? []) products!.set(key, (products!.get(key) ?? 0) + sum);
  return { track: b.track, users: (a?.users ?? 0) + b.users, metrics, ...(products ? { products } : {}) };
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
    // A holdout compares its held-out users with the general ones, whatever the baseline names.
    if (set.definition?.holdout === true) {
      throw new TracksError(`--control ${quoted(id)}=${quoted(track)}: ${quoted(id)} is a holdout, which always compares its held-out users with the general users; --control applies to tests`);
    }
    const tracks = [...new Set([...(set.definition?.weights.keys() ?? []), ...set.tracks.map((t) => t.track)])];
    if (!tracks.includes(track)) {
      throw new TracksError(
        `--control ${quoted(id)}=${quoted(track)}: ${quoted(id)} has no track ${quoted(track)}; ` +
          (tracks.length > 0 ? `its tracks are ${tracks.map(quoted).join(', ')}` : 'no process has recorded a run or a definition of it yet, so it has no track to compare with'),
      );
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

/** A p-value for people: `< 0.001` below that, else two significant digits. */
export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toPrecision(2);
}

/** "p = 0.012", or "p < 0.001" (not "p = < 0.001"), for sentences; `label` for "p adj". */
export function pText(p: number, label = 'p'): string {
  return p < 0.001 ? `${label} < 0.001` : `${label} = ${formatP(p)}`;
}

function p95Text(track: TrackResult): string {
  return formatLatency(track.latency.quantiles.find((q) => q.q === 0.95));
}
