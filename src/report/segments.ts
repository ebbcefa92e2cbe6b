import { NO_SEGMENT, OTHER_SEGMENT } from '../model/dimensions.js';
import type { PhaseSums, SegmentSums, TrackSums } from '../model/sums.js';
import { heterogeneityTest } from '../stats/heterogeneity.js';
import { adjustPValues } from '../stats/multiple-testing.js';
import { verdictOf } from './compare.js';
import { poolArms } from './metric-spec.js';
import type { ArmSums, MetricSpec } from './metric-spec.js';
import { phasedSrm } from './phase-srm.js';
import type { Comparison, SegmentResult, SegmentsResult, TrackResult } from './report-model.js';

/** The report shows at most this many segments per dimension (with "(none)" and 'other'), the largest; the rest are added up as 'other'. */
const MAX_REPORTED_SEGMENTS = 10;

/** How the report analyses a group of users: the analysis of build-report, passed in (it lives there). */
export type Analyse = (tracks: readonly TrackSums[], phases: readonly PhaseSums[], sequential: boolean) => TrackResult[];

/**
 * The set's results by segment (`tracks report --by country`): each of the largest
 * {@link MAX_REPORTED_SEGMENTS} values of the dimension (users without it always their own
 * row, "(none)"; the rest and the values recorded as 'other' added up as 'other'), analysed like the set (phase-aware, CUPED,
 * caps) on its users alone; p-values corrected across every segment's comparisons together;
 * each segment's sample-ratio check (leaving out the tracks a guardrail tripped, as the set's); and, per track and metric, Cochran's Q test of whether the
 * effect differs between segments.
 */
export function segmentsResult(
  segments: SegmentSums,
  analysedPhases: readonly PhaseSums[],
  specs: readonly MetricSpec[],
  options: { readonly alpha: number; readonly correction: 'holm' | 'benjamini-hochberg'; readonly sequential?: boolean },
  analyse: Analyse,
  weightsOf: (phase: string) => ReadonlyMap<string, number>,
  trippedOf: (phase: string) => ReadonlySet<string>,
): SegmentsResult {
  const analysed = new Set(analysedPhases.map((p) => p.phase));
  const groups = groupSegments(segments, analysed);
  const results = groups.map(({ value, phases }) => {
    const sums: PhaseSums[] = phases.map((p) => {
      const source = analysedPhases.find((a) => a.phase === p.phase)!;
      return { ...source, tracks: p.tracks };
    });
    const tracks = poolArms(sums).map((t): TrackSums => ({ ...t, health: NO_HEALTH }));
    return {
      value,
      phases: sums,
      tracks: analyse(tracks, sums, options.sequential ?? false),
      fixed: options.sequential ? analyse(tracks, sums, false) : undefined,
    };
  });
  // One correction across every segment's comparisons: more segments, more chances to be fooled.
  const all = results.flatMap((r) => r.tracks.flatMap((t) => t.metrics.map((m) => m.comparison).filter((c): c is Comparison => c !== null)));
  const adjusted = adjustPValues(all.map((c) => c.pValue), options.correction);
  const corrected = new Map(all.map((c, i) => [c, adjusted[i]!] as const));
  const higherIsBetter = new Map(specs.map((s) => [s.name, s.higherIsBetter] as const));
  const values: SegmentResult[] = results.map((r) => ({
    value: r.value,
    users: r.tracks.reduce((n, t) => n + t.users, 0),
    srm: phasedSrm(r.phases.map((p) => ({ tracks: p.tracks, weights: weightsOf(p.phase), tripped: trippedOf(p.phase) }))),
    tracks: r.tracks.map((t) => ({
      name: t.name,
      isBaseline: t.isBaseline,
      users: t.users,
      metrics: t.metrics.map((m) => {
        const c = m.comparison;
        if (c === null) return { metric: m.metric, value: m.value, comparison: null, cannotCompute: m.cannotCompute };
        const adjustedPValue = corrected.get(c)!;
        const significant = adjustedPValue < options.alpha;
        return { metric: m.metric, value: m.value, comparison: { ...c, adjustedPValue, significant, verdict: verdictOf(c.absolute.estimate, significant, higherIsBetter.has(m.metric) ? higherIsBetter.get(m.metric)! : true) }, cannotCompute: null };
      }),
    })),
  }));
  // Cochran's Q on the fixed-horizon estimates and their standard errors (always-valid intervals are wider by design).
  const heterogeneity = specs.flatMap((spec) => {
    const names = results[0]?.tracks.filter((t) => !t.isBaseline).map((t) => t.name) ?? [];
    return names.map((track) => {
      const groups = results.flatMap((r) => {
        const c = (r.fixed ?? r.tracks).find((t) => t.name === track)?.metrics.find((m) => m.metric === spec.name)?.comparison;
        if (!c) return [];
        const se = c.absolute.standardError;
        return se > 0 && Number.isFinite(se) ? [{ estimate: c.absolute.estimate, standardError: se }] : [];
      });
      const test = heterogeneityTest(groups);
      return test.ok
        ? { track, metric: spec.name, segments: groups.length, q: test.q, degreesOfFreedom: test.degreesOfFreedom, pValue: test.pValue, iSquared: test.iSquared }
        : { track, metric: spec.name, segments: groups.length, q: null, degreesOfFreedom: null, pValue: null, iSquared: null };
    });
  });
  return { dimension: segments.dimension, values, heterogeneity };
}

const NO_HEALTH = { runs: 0, errors: 0, totalMs: 0, histogram: [] } as const;

/** The segments to show, largest first, each with its phases in the analysed phases only. */
function groupSegments(segments: SegmentSums, analysed: ReadonlySet<string>): Array<{ value: string; phases: Array<{ phase: string; tracks: ArmSums[] }> }> {
  const usersOf = (phases: readonly { readonly tracks: readonly ArmSums[] }[]) => phases.reduce((n, p) => n + p.tracks.reduce((m, t) => m + t.users, 0), 0);
  const entries = [...segments.values]
    .map(([value, phases]) => ({ value, phases: phases.filter((p) => analysed.has(p.phase)).map((p) => ({ phase: p.phase, tracks: [...p.tracks] })) }))
    .filter((e) => usersOf(e.phases) > 0)
    .sort((a, b) => usersOf(b.phases) - usersOf(a.phases) || (a.value < b.value ? -1 : 1));
  // Users recorded without the dimension are always their own row, "(none)", never in 'other';
  // a value recorded as "(none)" itself joins them (as one recorded as 'other' joins 'other'),
  // so that the report never shows two rows of one name.
  const isNone = (e: { value: string }) => e.value === NO_SEGMENT || e.value === NONE_SEGMENT_LABEL;
  const none = entries.filter(isNone);
  const named = entries.filter((e) => e.value !== OTHER_SEGMENT && !isNone(e));
  const room = MAX_REPORTED_SEGMENTS - Math.min(1, none.length);
  const top = named.slice(0, room - (named.length > room || entries.some((e) => e.value === OTHER_SEGMENT) ? 1 : 0));
  const rest = entries.filter((e) => !top.includes(e) && !none.includes(e));
  const groups: Array<{ value: string; phases: Array<{ phase: string; tracks: ArmSums[] }> }> = [];
  for (const e of entries) {
    if (top.includes(e)) groups.push(e);
    else if (e === none[0]) groups.push(none.length === 1 ? { value: NONE_SEGMENT_LABEL, phases: e.phases } : pooled(NONE_SEGMENT_LABEL, none));
  }
  // Largest first (the pooled (none) row by its total), ties by name.
  groups.sort((a, b) => usersOf(b.phases) - usersOf(a.phases) || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  // 'other': the values beyond the ones shown, and those the recorder already grouped.
  if (rest.length > 0) groups.push(pooled(OTHER_SEGMENT, rest));
  return groups;
}

/** How the report names the users recorded without the dimension. */
const NONE_SEGMENT_LABEL = '(none)';

/** Segments pooled into one row named `value`, phase by phase. */
function pooled(value: string, entries: readonly { readonly phases: readonly { readonly phase: string; readonly tracks: readonly ArmSums[] }[] }[]) {
  const byPhase = new Map<string, ArmSums[]>();
  for (const e of entries) for (const p of e.phases) byPhase.set(p.phase, [...(byPhase.get(p.phase) ?? []), ...p.tracks]);
  return { value, phases: [...byPhase].map(([phase, tracks]) => ({ phase, tracks: poolArms([{ tracks }]) })) };
}
