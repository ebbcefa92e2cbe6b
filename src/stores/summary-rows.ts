import type { ControlState, GuardrailEvent } from '../model/events.js';
import { emptyHistogram } from '../model/latency-histogram.js';
import { addMetric, productKey } from '../model/sums.js';
import type { MutableMetricSums } from '../model/sums.js';
import { holdoutIntakes, phaseSpans } from './phase-windows.js';
import type { PhaseStart } from './phase-windows.js';
import type { CapKind, CapRequest } from '../model/caps.js';
import type { DailySums, PhaseSums, RecordedDefinition, TrackSetSums, TrackSums } from '../model/sums.js';

/**
 * The grouped rows every store's summary queries return, and how they become TrackSetSums.
 * Stores do the heavy grouping (SQL GROUP BY); this only arranges the few result rows.
 *
 * Exposures and metrics come as cells grouped by track set, phase, day (when asked for) and
 * track: every unit is counted once, in the phase and on the day of its exposure, so the cells
 * partition the users, and totals, phases and days are all added up from the same cells.
 */


/** Users of one track, phase and day (null: every day). */
export interface ExposureCell {
  trackSetId: string;
  phase: string;
  day: string | null;
  track: string;
  /** The unit's value of the dimension asked for (`summarize({ by })`; '' when it has none); absent otherwise. */
  segment?: string | undefined;
  users: number;
  first: number;
  last: number;
}

/** One metric's sums over the users of one track, phase and day (null: every day). */
export type MetricCell = { trackSetId: string; phase: string; day: string | null; track: string; metric: string; segment?: string } & MutableMetricSums;

/** The sum of products of one ratio's numerator and denominator totals, over the users of one track, phase and day. */
export interface ProductCell {
  trackSetId: string;
  phase: string;
  day: string | null;
  track: string;
  segment?: string | undefined;
  numerator: string;
  denominator: string;
  sum: number;
}

/** A recorded definition of one set, with the phase it is and when it was recorded. */
export type DefinitionRow = { trackSetId: string; phase: string; at: number } & RecordedDefinition;

export interface SummaryRows {
  exposures: ExposureCell[];
  metrics: MetricCell[];
  /** Present when ratios were asked for (possibly empty): then every track carries `products`. */
  products?: ProductCell[] | undefined;
  /** Per set, track and phase: the phase in effect at each health row's minute's start (phaseMinutes). */
  health: Array<{ trackSetId: string; track: string; phase: string; runs: number; errors: number; totalMs: number }>;
  histogram: Array<{ trackSetId: string; track: string; phase: string; bucket: number; count: number }>;
  /** Per set and phase, its first recorded definition. */
  phases: DefinitionRow[];
  /** Per set, every change of its phase, in time order. */
  starts: PhaseStart[];
  /** Per set, its latest recorded definition. */
  definitions: DefinitionRow[];
  controls: ControlState[];
  guardrails: Array<Omit<GuardrailEvent, 'kind' | 'eventId'>>;
  /** Per set, phase and metric with a percentile cap: the value it came to (absent: 0 or less for a sum or count, not applied). */
  percentileCaps?: PercentileCapRow[] | undefined;
}

/** The value a percentile cap came to in one set and phase. */
export interface PercentileCapRow {
  trackSetId: string;
  phase: string;
  metric: string;
  value: number;
}

/**
 * The percentile caps as the SQL stores' query returns them (with the metric's kind), kept
 * where they limit something: a cap of 0 or less on a sum or count would have to lower every
 * unit without a conversion (a 0) as well, erasing the metric (it means most units have
 * nothing, or the metric is negative there), so nothing is capped; a mean's cap is any value.
 * (Units are ranked from the top among those with a value: a rank past the positive ones falls
 * on a 0 or below, dropped here either way.)
 */
export function percentileCapsOf(rows: readonly (PercentileCapRow & { kind: string })[]): PercentileCapRow[] {
  return rows.filter((row) => row.kind === 'mean' || row.value > 0).map(({ trackSetId, phase, metric, value }) => ({ trackSetId, phase, metric, value }));
}

/**
 * The cap each set, phase and metric is limited to, for the summary queries: fixed caps apply
 * to every set and phase (`trackSetId` null), percentile caps to the set and phase they were
 * found in.
 */
export function appliedCaps(requests: readonly CapRequest[], percentiles: readonly PercentileCapRow[]): Array<{ trackSetId: string | null; phase: string | null; metric: string; kind: CapKind; value: number }> {
  const kinds = new Map(requests.map((r) => [r.metric, r.kind]));
  return [
    ...requests.filter((r) => r.value !== undefined).map((r) => ({ trackSetId: null, phase: null, metric: r.metric, kind: r.kind, value: r.value! })),
    ...percentiles.filter((p) => kinds.has(p.metric)).map((p) => ({ trackSetId: p.trackSetId, phase: p.phase, metric: p.metric, kind: kinds.get(p.metric)!, value: p.value })),
  ];
}

interface TrackAcc {
  users: number;
  metrics: Map<string, MutableMetricSums>;
  products: Map<string, number>;
}

interface HealthAcc {
  runs: number;
  errors: number;
  totalMs: number;
  histogram: number[];
}

interface SetAcc {
  tracks: Map<string, TrackAcc>;
  health: Map<string, HealthAcc>;
  phases: Map<string, { tracks: Map<string, TrackAcc>; health: Map<string, HealthAcc>; first: number | null }>;
  daily: Map<string, Map<string, TrackAcc>>;
  /** By day, then phase. */
  dailyPhases: Map<string, Map<string, Map<string, TrackAcc>>>;
  /** By segment, then phase (with `summarize({ by })`). */
  segments: Map<string, Map<string, Map<string, TrackAcc>>>;
  first: number | null;
  last: number | null;
}

/** Arranges grouped rows into per-track-set sums, track sets and tracks sorted by name, phases by start. */
export function buildSummary(rows: SummaryRows, trackSetId?: string, caps: readonly CapRequest[] = [], by?: string): TrackSetSums[] {
  const sets = new Map<string, SetAcc>();
  const setOf = (id: string): SetAcc => {
    let set = sets.get(id);
    if (set === undefined) sets.set(id, (set = { tracks: new Map(), health: new Map(), phases: new Map(), daily: new Map(), dailyPhases: new Map(), segments: new Map(), first: null, last: null }));
    return set;
  };
  const phaseOf = (set: SetAcc, phase: string) => {
    let acc = set.phases.get(phase);
    if (acc === undefined) set.phases.set(phase, (acc = { tracks: new Map(), health: new Map(), first: null }));
    return acc;
  };
  for (const d of rows.definitions) for (const track of d.weights.keys()) trackIn(setOf(d.trackSetId).tracks, track);
  for (const d of rows.phases) {
    const phase = phaseOf(setOf(d.trackSetId), d.phase);
    for (const track of d.weights.keys()) trackIn(phase.tracks, track);
  }
  for (const c of rows.exposures) {
    const set = setOf(c.trackSetId);
    const phase = phaseOf(set, c.phase);
    for (const acc of accumulatorsOf(set, c.phase, phase.tracks, c.day, c.track, c.segment)) acc.users += c.users;
    set.first = set.first === null ? c.first : Math.min(set.first, c.first);
    set.last = set.last === null ? c.last : Math.max(set.last, c.last);
    phase.first = phase.first === null ? c.first : Math.min(phase.first, c.first);
  }
  for (const c of rows.metrics) {
    const set = setOf(c.trackSetId);
    for (const acc of accumulatorsOf(set, c.phase, phaseOf(set, c.phase).tracks, c.day, c.track, c.segment)) addMetric(acc.metrics, c.metric, c);
  }
  for (const c of rows.products ?? []) {
    const set = setOf(c.trackSetId);
    const key = productKey(c.numerator, c.denominator);
    for (const acc of accumulatorsOf(set, c.phase, phaseOf(set, c.phase).tracks, c.day, c.track, c.segment)) acc.products.set(key, (acc.products.get(key) ?? 0) + c.sum);
  }
  // Health adds to the set's totals, and to its phase's when the set has that phase (a set's
  // phases are those of its definitions and exposures: health alone makes none).
  const healthAccs = (r: { trackSetId: string; track: string; phase: string }): HealthAcc[] => {
    const set = setOf(r.trackSetId);
    const phase = set.phases.get(r.phase);
    return phase === undefined ? [healthOf(set.health, r.track)] : [healthOf(set.health, r.track), healthOf(phase.health, r.track)];
  };
  for (const r of rows.health) {
    for (const acc of healthAccs(r)) {
      acc.runs += r.runs;
      acc.errors += r.errors;
      acc.totalMs += r.totalMs;
    }
  }
  for (const r of rows.histogram) {
    for (const acc of healthAccs(r)) if (r.bucket >= 0 && r.bucket < acc.histogram.length) acc.histogram[r.bucket]! += r.count;
  }
  // A control state alone names a set while it does something: a forced stop of a set not yet
  // deployed shows (0 users, stopped); once resumed, a mistyped id leaves no set behind.
  for (const c of rows.controls) if (c.stopped || c.promoted === true || (c.coverage ?? null) !== null || (c.weights ?? null) !== null) setOf(c.trackSetId);
  for (const g of rows.guardrails) setOf(g.trackSetId);

  const withProducts = rows.products !== undefined;
  const sortedTracks = (tracks: Map<string, TrackAcc>) => sortTracks(tracks, withProducts);
  const definitions = new Map(rows.definitions.map((d) => [d.trackSetId, d]));
  const phaseDefinitions = new Map(rows.phases.map((d) => [`${d.trackSetId}\u0000${d.phase}`, d]));
  const controls = new Map(rows.controls.map((c) => [c.trackSetId, c]));
  const spans = phaseSpans(rows.starts);
  const intakes = holdoutIntakes(rows.starts);
  // Sets cut by a holdout's intake: those with phase starts (as phaseWindows cuts), not holdouts.
  const phased = new Set(rows.starts.filter((s) => s.holdoutShare === undefined).map((s) => s.trackSetId));
  const result: TrackSetSums[] = [];
  for (const id of [...sets.keys()].sort(byName)) {
    if (trackSetId !== undefined && id !== trackSetId) continue;
    const set = sets.get(id)!;
    for (const track of set.health.keys()) trackIn(set.tracks, track);
    const tracks: TrackSums[] = sortedTracks(set.tracks).map((t) => ({ ...t, health: healthSums(set.health.get(t.track)) }));
    const phases = [...set.phases.entries()]
      .map(([phase, acc]): PhaseSums => {
        const definition = phaseDefinitions.get(`${id}\u0000${phase}`);
        const span = spans.get(`${id}\u0000${phase}`);
        return {
          phase,
          startedAt: span?.startedAt ?? definition?.at ?? acc.first,
          endedAt: span === undefined ? null : span.endedAt,
          ...(span !== undefined && span.stretches.length > 1 ? { stretches: span.stretches } : {}),
          definition: definition ? recorded(definition) : null,
          tracks: sortedTracks(acc.tracks),
          health: new Map([...acc.health.entries()].sort(([a], [b]) => byName(a, b))),
          ...(caps.length > 0 ? { caps: capsOf(caps, rows.percentileCaps ?? [], id, phase) } : {}),
        };
      })
      .sort((a, b) => (a.startedAt ?? Infinity) - (b.startedAt ?? Infinity) || byName(a.phase, b.phase));
    const daily: DailySums[] = [...set.daily.entries()]
      .sort(([a], [b]) => byName(a, b))
      .map(([day, byTrack]) => ({
        day,
        tracks: sortedTracks(byTrack),
        phases: [...(set.dailyPhases.get(day) ?? new Map<string, Map<string, TrackAcc>>())].sort(([a], [b]) => byName(a, b)).map(([phase, tracks]) => ({ phase, tracks: sortedTracks(tracks) })),
      }));
    const definition = definitions.get(id);
    const cutBy = phased.has(id) && set.first !== null ? intakes.filter((intake) => intake.at > set.first!) : [];
    result.push({
      trackSetId: id,
      definition: definition ? recorded(definition) : null,
      control: controls.get(id) ?? null,
      guardrails: rows.guardrails
        .filter((g) => g.trackSetId === id)
        .sort((a, b) => a.at - b.at)
        .map(({ track, cause, at }) => ({ track, cause, at })),
      firstExposureAt: set.first,
      lastExposureAt: set.last,
      tracks,
      phases,
      ...(cutBy.length > 0 ? { holdoutIntakes: cutBy } : {}),
      daily,
      ...(by === undefined
        ? {}
        : {
            segments: {
              dimension: by,
              values: new Map(
                [...set.segments.entries()]
                  .sort(([a], [b]) => byName(a, b))
                  // Each segment's phases in the set's order of phases.
                  .map(([segment, byPhase]) => [segment, phases.filter((p) => byPhase.has(p.phase)).map((p) => ({ phase: p.phase, tracks: sortedTracks(byPhase.get(p.phase)!) }))] as const),
              ),
            },
          }),
    });
  }
  return result;
}

/** What each capped metric came to in one set and phase. */
function capsOf(caps: readonly CapRequest[], percentiles: readonly PercentileCapRow[], trackSetId: string, phase: string): Map<string, number | null> {
  return new Map(
    caps.map((c) => [
      c.metric,
      c.value !== undefined ? c.value : (percentiles.find((p) => p.trackSetId === trackSetId && p.phase === phase && p.metric === c.metric)?.value ?? null),
    ]),
  );
}

/** The accumulators a cell adds to: the set's totals, its phase's, its day's (pooled and by phase) when it has one, and its segment's phase's. */
function accumulatorsOf(set: SetAcc, phaseId: string, phase: Map<string, TrackAcc>, day: string | null, track: string, segment: string | undefined): TrackAcc[] {
  const accs = [trackIn(set.tracks, track), trackIn(phase, track)];
  if (segment !== undefined) {
    let phases = set.segments.get(segment);
    if (phases === undefined) set.segments.set(segment, (phases = new Map()));
    let tracks = phases.get(phaseId);
    if (tracks === undefined) phases.set(phaseId, (tracks = new Map()));
    accs.push(trackIn(tracks, track));
  }
  if (day !== null) {
    let byTrack = set.daily.get(day);
    if (byTrack === undefined) set.daily.set(day, (byTrack = new Map()));
    let byPhase = set.dailyPhases.get(day);
    if (byPhase === undefined) set.dailyPhases.set(day, (byPhase = new Map()));
    let phaseTracks = byPhase.get(phaseId);
    if (phaseTracks === undefined) byPhase.set(phaseId, (phaseTracks = new Map()));
    accs.push(trackIn(byTrack, track), trackIn(phaseTracks, track));
  }
  return accs;
}

function trackIn(tracks: Map<string, TrackAcc>, track: string): TrackAcc {
  let acc = tracks.get(track);
  if (acc === undefined) tracks.set(track, (acc = { users: 0, metrics: new Map(), products: new Map() }));
  return acc;
}

function healthOf(health: Map<string, HealthAcc>, track: string): HealthAcc {
  let acc = health.get(track);
  if (acc === undefined) health.set(track, (acc = { runs: 0, errors: 0, totalMs: 0, histogram: emptyHistogram() }));
  return acc;
}

function healthSums(acc: HealthAcc | undefined): TrackSums['health'] {
  return acc ?? { runs: 0, errors: 0, totalMs: 0, histogram: emptyHistogram() };
}

function sortTracks(tracks: Map<string, TrackAcc>, withProducts: boolean): Array<Omit<TrackSums, 'health'>> {
  return [...tracks.entries()]
    .sort(([a], [b]) => byName(a, b))
    .map(([track, acc]) => ({ track, users: acc.users, metrics: acc.metrics, ...(withProducts ? { products: acc.products } : {}) }));
}

function recorded(d: DefinitionRow): RecordedDefinition {
  return { weights: d.weights, coverage: d.coverage, control: d.control, sticky: d.sticky, stopped: d.stopped, holdout: d.holdout, shadow: d.shadow };
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A unit's segment (`summarize({ by })`): the value of dimension `by` in its stored dimensions
 * (JSON), '' without one, as SQLite's json_extract reads it. PostgreSQL groups its rows by the
 * dimensions as stored, a handful of distinct texts, and names the segment here on the grouped
 * rows: parsing the JSON once per joined row cost it ~0.6 s of 3.4 at a million users. (SQLite
 * keeps json_extract, which caches the parse: grouping by the longer text cost it more.) A
 * dimension named `__proto__` is an ordinary key (JSON.parse makes it an own property).
 *
 * @example
 * ```ts
 * segmentOf('{"country":"de","plan":"pro"}', 'country'); // 'de'
 * segmentOf('', 'country'); // ''
 * ```
 */
export function segmentOf(dimensions: string | null | undefined, by: string): string {
  if (dimensions === null || dimensions === undefined || dimensions === '') return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(dimensions);
  } catch {
    return ''; // not written by tracks: no segment rather than no report
  }
  if (parsed === null || typeof parsed !== 'object') return '';
  const value = Object.getOwnPropertyDescriptor(parsed, by)?.value as unknown;
  return value === undefined || value === null ? '' : String(value);
}

/** UTC day (YYYY-MM-DD) of epoch milliseconds. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
