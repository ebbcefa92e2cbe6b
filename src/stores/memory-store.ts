import type { ControlState, ExposureEvent, RecordedEvent } from '../model/events.js';
import { firstBadEvent } from '../model/check-event.js';
import { uniqueKeyOf } from '../model/event-tables.js';
import type { Store } from '../model/store.js';
import { StoreError } from '../model/store-error.js';
import type { SummarizeOptions, TrackSetSums } from '../model/sums.js';
import { noTracksData } from './migrations.js';
import { buildSummary, utcDay } from './summary-rows.js';
import type { MutableMetricSums, SummaryRows } from './summary-rows.js';

/** A store in this process's memory, for tests: {@link memoryStore}. */
export interface MemoryStore extends Store {
  /** Every event stored, in the order written (exposures only the first per set and unit). */
  readonly events: readonly RecordedEvent[];
}

/**
 * A store that keeps everything in memory: for tests and examples. It follows the same rules
 * as the database stores (the same checks refuse the same events, an event is stored once,
 * one exposure per track set and unit, reads before the first write find no tracks data), so
 * what a test sees is what SQLite or PostgreSQL would hold.
 *
 * @example
 * ```ts
 * const store = memoryStore();
 * configure({ store });
 * new DelayTracks({ key: 'u1' }).name;
 * await flush();
 * store.events; // [{ kind: 'exposure', trackSetId: 'delay', unit: 'u1', ... }]
 * ```
 */
export function memoryStore(): MemoryStore {
  const events: RecordedEvent[] = [];
  const stored = new Set<string>();
  const exposures = new Map<string, ExposureEvent>();
  const controls = new Map<string, ControlState>();
  let created = false;
  const exposureKey = (trackSetId: string, unit: string) => `${trackSetId}\u0000${unit}`;

  return {
    description: 'memory',
    events,
    async write(batch) {
      const bad = firstBadEvent(batch);
      if (bad !== undefined) throw new StoreError(`tracks: the memory store refuses ${bad.problem}`, { transient: false, code: 'TRACKS_BAD_EVENT' });
      created = true;
      for (const event of batch) {
        const key = uniqueKeyOf(event);
        if (stored.has(key)) continue;
        stored.add(key);
        if (event.kind === 'exposure') exposures.set(exposureKey(event.trackSetId, event.unit), event);
        events.push(event);
      }
    },
    async readControls() {
      return [...controls.values()];
    },
    async writeControl(state) {
      created = true;
      controls.set(state.trackSetId, state);
    },
    async readAssignments(trackSetId, units) {
      const found = new Map<string, string>();
      for (const unit of units) {
        const exposure = exposures.get(exposureKey(trackSetId, unit));
        if (exposure) found.set(unit, exposure.track);
      }
      return found;
    },
    async summarize(options?: SummarizeOptions): Promise<TrackSetSums[]> {
      if (!created) throw noTracksData('the memory store');
      return buildSummary(summaryRowsOf(events, [...controls.values()], options?.daily ?? true), options?.trackSetId);
    },
    async close() {},
  };
}

/** Groups events the way the SQL stores' summary queries do. */
export function summaryRowsOf(events: readonly RecordedEvent[], controls: ControlState[], daily: boolean): SummaryRows {
  const rows: SummaryRows = {
    exposures: [],
    metrics: [],
    health: [],
    histogram: [],
    dailyExposures: [],
    dailyMetrics: [],
    definitions: [],
    controls,
    guardrails: [],
  };
  const group = <T>(map: Map<string, T>, key: string, make: () => T): T => {
    let value = map.get(key);
    if (value === undefined) map.set(key, (value = make()));
    return value;
  };
  const exposuresByUnit = new Map<string, ExposureEvent[]>();
  const exposureGroups = new Map<string, SummaryRows['exposures'][number]>();
  const dailyGroups = new Map<string, SummaryRows['dailyExposures'][number]>();
  const healthGroups = new Map<string, SummaryRows['health'][number]>();
  const histogramGroups = new Map<string, SummaryRows['histogram'][number]>();
  const latestDefinition = new Map<string, { at: number; row: SummaryRows['definitions'][number] }>();
  for (const e of events) {
    if (e.kind === 'exposure') {
      group(exposuresByUnit, e.unit, () => []).push(e);
      const g = group(exposureGroups, `${e.trackSetId}\u0000${e.track}`, () => ({
        trackSetId: e.trackSetId,
        track: e.track,
        users: 0,
        first: e.at,
        last: e.at,
      }));
      g.users++;
      g.first = Math.min(g.first, e.at);
      g.last = Math.max(g.last, e.at);
      if (daily) {
        const day = utcDay(e.at);
        group(dailyGroups, `${e.trackSetId}\u0000${day}\u0000${e.track}`, () => ({ trackSetId: e.trackSetId, day, track: e.track, users: 0 }))
          .users++;
      }
    } else if (e.kind === 'health') {
      const h = group(healthGroups, `${e.trackSetId}\u0000${e.track}`, () => ({ trackSetId: e.trackSetId, track: e.track, runs: 0, errors: 0, totalMs: 0 }));
      h.runs += e.runs;
      h.errors += e.errors;
      h.totalMs += e.totalMs;
      e.histogram.forEach((count, bucket) => {
        if (count === 0) return;
        group(histogramGroups, `${e.trackSetId}\u0000${e.track}\u0000${bucket}`, () => ({ trackSetId: e.trackSetId, track: e.track, bucket, count: 0 }))
          .count += count;
      });
    } else if (e.kind === 'definition') {
      const latest = latestDefinition.get(e.trackSetId);
      if (latest === undefined || e.at >= latest.at) {
        latestDefinition.set(e.trackSetId, { at: e.at, row: { trackSetId: e.trackSetId, weights: new Map(Object.entries(e.weights)), coverage: e.coverage, control: e.control ?? null } });
      }
    } else if (e.kind === 'guardrail') {
      rows.guardrails.push({ trackSetId: e.trackSetId, track: e.track, cause: e.cause, at: e.at });
    }
  }
  // Per user and metric: the total of conversions at or after the user's exposure.
  const perUser = new Map<string, { trackSetId: string; track: string; metric: string; day: string; total: number }>();
  for (const c of events) {
    if (c.kind !== 'conversion') continue;
    for (const e of exposuresByUnit.get(c.unit) ?? []) {
      if (c.at < e.at) continue;
      group(perUser, `${e.trackSetId}\u0000${e.unit}\u0000${c.metric}`, () => ({
        trackSetId: e.trackSetId,
        track: e.track,
        metric: c.metric,
        day: utcDay(e.at),
        total: 0,
      })).total += c.value;
    }
  }
  const metricGroups = new Map<string, SummaryRows['metrics'][number]>();
  const dailyMetricGroups = new Map<string, SummaryRows['dailyMetrics'][number]>();
  for (const u of perUser.values()) {
    const m = group(metricGroups, `${u.trackSetId}\u0000${u.track}\u0000${u.metric}`, () => ({
      trackSetId: u.trackSetId,
      track: u.track,
      metric: u.metric,
      converted: 0,
      sum: 0,
      sumSquares: 0,
    }));
    addUserTotal(m, u.total);
    if (daily) {
      const d = group(dailyMetricGroups, `${u.trackSetId}\u0000${u.day}\u0000${u.track}\u0000${u.metric}`, () => ({
        trackSetId: u.trackSetId,
        day: u.day,
        track: u.track,
        metric: u.metric,
        converted: 0,
        sum: 0,
        sumSquares: 0,
      }));
      addUserTotal(d, u.total);
    }
  }
  rows.exposures = [...exposureGroups.values()];
  rows.dailyExposures = [...dailyGroups.values()];
  rows.health = [...healthGroups.values()];
  rows.histogram = [...histogramGroups.values()];
  rows.metrics = [...metricGroups.values()];
  rows.dailyMetrics = [...dailyMetricGroups.values()];
  rows.definitions = [...latestDefinition.values()].map((d) => d.row);
  return rows;
}

/** Adds one converting user's total to a metric's sufficient statistics. */
function addUserTotal(sums: MutableMetricSums, total: number): void {
  sums.converted++;
  sums.sum += total;
  sums.sumSquares += total * total;
}
