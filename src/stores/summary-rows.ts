import type { ControlState, GuardrailEvent } from '../model/events.js';
import { emptyHistogram } from '../model/latency-histogram.js';
import type { DailySums, MetricSums, TrackSetSums, TrackSums } from '../model/sums.js';

/**
 * The grouped rows every store's summary queries return, and how they become TrackSetSums.
 * Stores do the heavy grouping (SQL GROUP BY); this only arranges the few result rows.
 */
/** Metric sums while they are being added up. */
export type MutableMetricSums = { -readonly [K in keyof MetricSums]: MetricSums[K] };

export interface SummaryRows {
  exposures: Array<{ trackSetId: string; track: string; users: number; first: number; last: number }>;
  metrics: Array<{ trackSetId: string; track: string; metric: string } & MutableMetricSums>;
  health: Array<{ trackSetId: string; track: string; runs: number; errors: number; totalMs: number }>;
  histogram: Array<{ trackSetId: string; track: string; bucket: number; count: number }>;
  dailyExposures: Array<{ trackSetId: string; day: string; track: string; users: number; first?: number; last?: number }>;
  dailyMetrics: Array<{ trackSetId: string; day: string; track: string; metric: string } & MutableMetricSums>;
  definitions: Array<{ trackSetId: string; weights: ReadonlyMap<string, number>; coverage: number; control: string | null }>;
  controls: ControlState[];
  guardrails: Array<Omit<GuardrailEvent, 'kind' | 'eventId'>>;
}

/**
 * The all-time exposure and metric rows, added up from the per-day rows. Every unit is
 * counted on its one exposure day, so the days partition the users: a store asked for per-day
 * sums needs no second pass over the data for the totals.
 */
export function totalsFromDaily(
  dailyExposures: readonly Required<SummaryRows['dailyExposures'][number]>[],
  dailyMetrics: SummaryRows['dailyMetrics'],
): Pick<SummaryRows, 'exposures' | 'metrics'> {
  const exposures = new Map<string, SummaryRows['exposures'][number]>();
  for (const r of dailyExposures) {
    const key = `${r.trackSetId}\u0000${r.track}`;
    const acc = exposures.get(key);
    if (acc === undefined) exposures.set(key, { trackSetId: r.trackSetId, track: r.track, users: r.users, first: r.first, last: r.last });
    else {
      acc.users += r.users;
      acc.first = Math.min(acc.first, r.first);
      acc.last = Math.max(acc.last, r.last);
    }
  }
  const metrics = new Map<string, SummaryRows['metrics'][number]>();
  for (const r of dailyMetrics) {
    const key = `${r.trackSetId}\u0000${r.track}\u0000${r.metric}`;
    const acc = metrics.get(key);
    if (acc === undefined) metrics.set(key, { trackSetId: r.trackSetId, track: r.track, metric: r.metric, converted: r.converted, sum: r.sum, sumSquares: r.sumSquares });
    else {
      acc.converted += r.converted;
      acc.sum += r.sum;
      acc.sumSquares += r.sumSquares;
    }
  }
  return { exposures: [...exposures.values()], metrics: [...metrics.values()] };
}

interface TrackAcc {
  users: number;
  metrics: Map<string, MetricSums>;
  runs: number;
  errors: number;
  totalMs: number;
  histogram: number[];
}

interface SetAcc {
  tracks: Map<string, TrackAcc>;
  first: number | null;
  last: number | null;
  daily: Map<string, Map<string, { users: number; metrics: Map<string, MetricSums> }>>;
}

/** Arranges grouped rows into per-track-set sums, track sets and tracks sorted by name. */
export function buildSummary(rows: SummaryRows, trackSetId?: string): TrackSetSums[] {
  const sets = new Map<string, SetAcc>();
  const setOf = (id: string): SetAcc => {
    let set = sets.get(id);
    if (set === undefined) sets.set(id, (set = { tracks: new Map(), first: null, last: null, daily: new Map() }));
    return set;
  };
  const trackOf = (id: string, track: string): TrackAcc => {
    const set = setOf(id);
    let acc = set.tracks.get(track);
    if (acc === undefined) {
      set.tracks.set(track, (acc = { users: 0, metrics: new Map(), runs: 0, errors: 0, totalMs: 0, histogram: emptyHistogram() }));
    }
    return acc;
  };
  for (const d of rows.definitions) for (const track of d.weights.keys()) trackOf(d.trackSetId, track);
  for (const r of rows.exposures) {
    trackOf(r.trackSetId, r.track).users += r.users;
    const set = setOf(r.trackSetId);
    set.first = set.first === null ? r.first : Math.min(set.first, r.first);
    set.last = set.last === null ? r.last : Math.max(set.last, r.last);
  }
  for (const r of rows.metrics) {
    trackOf(r.trackSetId, r.track).metrics.set(r.metric, { converted: r.converted, sum: r.sum, sumSquares: r.sumSquares });
  }
  for (const r of rows.health) {
    const acc = trackOf(r.trackSetId, r.track);
    acc.runs += r.runs;
    acc.errors += r.errors;
    acc.totalMs += r.totalMs;
  }
  for (const r of rows.histogram) {
    const acc = trackOf(r.trackSetId, r.track);
    if (r.bucket >= 0 && r.bucket < acc.histogram.length) acc.histogram[r.bucket]! += r.count;
  }
  const dayTrack = (id: string, day: string, track: string) => {
    const set = setOf(id);
    let byTrack = set.daily.get(day);
    if (byTrack === undefined) set.daily.set(day, (byTrack = new Map()));
    let acc = byTrack.get(track);
    if (acc === undefined) byTrack.set(track, (acc = { users: 0, metrics: new Map() }));
    return acc;
  };
  for (const r of rows.dailyExposures) dayTrack(r.trackSetId, r.day, r.track).users += r.users;
  for (const r of rows.dailyMetrics) {
    dayTrack(r.trackSetId, r.day, r.track).metrics.set(r.metric, { converted: r.converted, sum: r.sum, sumSquares: r.sumSquares });
  }
  for (const c of rows.controls) setOf(c.trackSetId);
  for (const g of rows.guardrails) setOf(g.trackSetId);

  const definitions = new Map(rows.definitions.map((d) => [d.trackSetId, d]));
  const controls = new Map(rows.controls.map((c) => [c.trackSetId, c]));
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const result: TrackSetSums[] = [];
  for (const id of [...sets.keys()].sort(byName)) {
    if (trackSetId !== undefined && id !== trackSetId) continue;
    const set = sets.get(id)!;
    const definition = definitions.get(id);
    const tracks: TrackSums[] = [...set.tracks.entries()]
      .sort(([a], [b]) => byName(a, b))
      .map(([track, acc]) => ({
        track,
        users: acc.users,
        metrics: acc.metrics,
        health: { runs: acc.runs, errors: acc.errors, totalMs: acc.totalMs, histogram: acc.histogram },
      }));
    const daily: DailySums[] = [...set.daily.entries()]
      .sort(([a], [b]) => byName(a, b))
      .map(([day, byTrack]) => ({
        day,
        tracks: [...byTrack.entries()]
          .sort(([a], [b]) => byName(a, b))
          .map(([track, acc]) => ({ track, users: acc.users, metrics: acc.metrics })),
      }));
    result.push({
      trackSetId: id,
      definition: definition ? { weights: definition.weights, coverage: definition.coverage, control: definition.control } : null,
      control: controls.get(id) ?? null,
      guardrails: rows.guardrails
        .filter((g) => g.trackSetId === id)
        .sort((a, b) => a.at - b.at)
        .map(({ track, cause, at }) => ({ track, cause, at })),
      firstExposureAt: set.first,
      lastExposureAt: set.last,
      tracks,
      daily,
    });
  }
  return result;
}

/** UTC day (YYYY-MM-DD) of epoch milliseconds. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
