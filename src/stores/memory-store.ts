import type { ControlState, ExposureEvent, HealthEvent, MetricEvent, RecordedEvent } from '../model/events.js';
import { declarationOf } from '../model/metrics.js';
import { NO_SEGMENT } from '../model/dimensions.js';
import type { MetricDeclaration } from '../model/metrics.js';
import { assertStorable } from '../model/check-event.js';
import { EVENT_TABLES, comesFirst, uniqueKeyOf } from '../model/event-tables.js';
import type { EventTable } from '../model/event-tables.js';
import type { StickyAssignment, StickyFilter, Store } from '../model/store.js';
import { percentileRank } from '../model/caps.js';
import type { CapRequest } from '../model/caps.js';
import { addUser, noMetricSums } from '../model/sums.js';
import type { SummarizeOptions, TrackSetSums } from '../model/sums.js';
import { noTracksData } from './migrations.js';
import { SHADOW_COUNTS, SHADOW_SAMPLES_READ, zeroShadowCounts } from '../model/shadow.js';
import type { ShadowSums } from '../model/shadow.js';
import { shadowSumsOf } from './shadow-rows.js';
import type { ShadowBucketRow, ShadowCountRow, ShadowSampleRow } from './shadow-rows.js';
import { assertDimension } from './dimension-option.js';
import { appliedCaps, buildSummary, utcDay } from './summary-rows.js';
import { phaseMinutes, phaseStartsOf, phaseWindows } from './phase-windows.js';
import type { DefinitionRow, ExposureCell, MetricCell, PercentileCapRow, ProductCell, SummaryRows } from './summary-rows.js';

/**
 * A store in this process's memory, for tests: {@link memoryStore}.
 *
 * @example
 * ```ts
 * const store: MemoryStore = memoryStore();
 * configure({ store });
 * convert({ key: 'u1', metric: 'purchase' });
 * await flush();
 * assert.equal(store.events.filter((e) => e.kind === 'conversion').length, 1);
 * ```
 */
export interface MemoryStore extends Store {
  /** Every event stored, in the order written (exposures only the first per set and unit). */
  readonly events: readonly RecordedEvent[];
  readMetrics(): Promise<ReadonlyMap<string, MetricDeclaration>>;
  readDimensions(trackSetId: string): Promise<string[]>;
  readShadow(trackSetId?: string): Promise<ShadowSums>;
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
 * store.events; // [{ kind: 'definition', trackSetId: 'delay', ... }, { kind: 'exposure', trackSetId: 'delay', unit: 'u1', ... }]
 * ```
 */
export function memoryStore(): MemoryStore {
  const events: RecordedEvent[] = [];
  const stored = new Set<string>();
  const exposures = new Map<string, ExposureEvent>();
  /** Where each event of a table that keeps the earliest of a key is in `events`, by its unique key. */
  const earliestAt = new Map<string, number>();
  const controls = new Map<string, ControlState>();
  let created = false;
  const exposureKey = (trackSetId: string, unit: string) => `${trackSetId}\u0000${unit}`;
  const writeNow = (batch: readonly RecordedEvent[]): void => {
    assertStorable('the memory store', batch);
    created = true;
    for (const event of batch) {
      const key = uniqueKeyOf(event);
      const table = EVENT_TABLES[event.kind] as EventTable;
      if (stored.has(key)) {
        // The earlier of two rows of one key is kept where the table says so (exposures), as the SQL stores keep it.
        const at = earliestAt.get(key);
        if (at === undefined || !comesFirst(table, event, events[at]!)) continue;
        events[at] = event;
      } else {
        stored.add(key);
        if (table.earliest !== undefined) earliestAt.set(key, events.length);
        events.push(event);
      }
      if (event.kind === 'exposure') exposures.set(exposureKey(event.trackSetId, event.unit), event);
    }
  };

  /** Units' first tracks in the sets whose latest definition is sticky (of `filter`'s, exposed since), each set its share of `limit`. */
  const stickyRows = (limit: number, filter?: StickyFilter): StickyAssignment[] => {
    // The sets whose latest definition is sticky, each with its share of the limit.
    const latest = new Map<string, { at: number; sticky: boolean }>();
    for (const e of events) {
      if (e.kind !== 'definition') continue;
      const before = latest.get(e.trackSetId);
      if (before === undefined || e.at >= before.at) latest.set(e.trackSetId, { at: e.at, sticky: e.sticky === true });
    }
    const sticky = [...latest].filter(([id, d]) => d.sticky && (filter === undefined || filter.trackSetIds.includes(id))).map(([id]) => id);
    const each = Math.floor(limit / Math.max(1, sticky.length));
    const taken = new Map<string, number>();
    const found: StickyAssignment[] = [];
    // Read again (a filter): the latest first, those the bound must not leave out.
    const candidates = filter === undefined ? [...exposures.values()] : [...exposures.values()].filter((e) => e.at >= filter.since).sort((a, b) => b.at - a.at);
    for (const e of candidates) {
      if (!sticky.includes(e.trackSetId) || (taken.get(e.trackSetId) ?? 0) >= each) continue;
      taken.set(e.trackSetId, (taken.get(e.trackSetId) ?? 0) + 1);
      found.push({ trackSetId: e.trackSetId, unit: e.unit, track: e.track });
    }
    return found;
  };

  const store: MemoryStore = {
    description: 'memory',
    events,
    async write(batch) {
      writeNow(batch);
    },
    async readDimensions(trackSetId: string) {
      const names = new Set<string>();
      for (const e of exposures.values()) if (e.trackSetId === trackSetId && e.dimensions) for (const name of Object.keys(e.dimensions)) names.add(name);
      return [...names].sort();
    },
    async readMetrics() {
      const latest = new Map<string, MetricEvent>();
      for (const e of events) {
        if (e.kind !== 'metric') continue;
        const before = latest.get(e.name);
        if (before === undefined || e.at > before.at || (e.at === before.at && e.eventId > before.eventId)) latest.set(e.name, e);
      }
      return new Map([...latest].map(([name, e]) => [name, declarationOf(e)] as const));
    },
    async readControls() {
      return [...controls.values()];
    },
    readControlsNow() {
      return [...controls.values()];
    },
    async writeControl(state, options) {
      if (options?.ifEpoch !== undefined && (controls.get(state.trackSetId)?.epoch ?? 0) !== options.ifEpoch) return false;
      created = true;
      // As the SQL stores hold it: every field, absent ones as null or 0.
      controls.set(state.trackSetId, { ...state, coverage: state.coverage ?? null, weights: state.weights ?? null, epoch: state.epoch ?? 0, promoted: state.promoted ?? false });
      return true;
    },
    async readShadow(trackSetId?: string) {
      return shadowSumsOfEvents(events, trackSetId);
    },
    readStickyAssignmentsNow(limit) {
      return stickyRows(limit);
    },
    async readStickyAssignments(limit, _options, filter) {
      return stickyRows(limit, filter);
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
      if (options?.by !== undefined) assertDimension(options.by);
      if (!created) throw noTracksData('the memory store');
      const summed = options?.metrics === false ? events.filter((e) => e.kind !== 'conversion') : events;
      return buildSummary(summaryRowsOf(summed, [...controls.values()], options?.daily ?? true, options?.ratios, options?.preExposure, options?.caps, options?.by), options?.trackSetId, options?.caps, options?.by);
    },
    async close() {},
  };
  // Not enumerable: a store that spreads this one and replaces write (to fail, hang or forward)
  // must not inherit a writeNow that stores at the memory bound behind its write's back.
  Object.defineProperty(store, 'writeNow', { value: writeNow, enumerable: false, writable: true, configurable: true });
  return store;
}

/** Adds up shadow events the way the SQL stores' shadow queries do. */
function shadowSumsOfEvents(events: readonly RecordedEvent[], trackSetId: string | undefined): ShadowSums {
  const counts = new Map<string, { -readonly [K in keyof ShadowCountRow]: ShadowCountRow[K] }>();
  const buckets = new Map<string, ShadowBucketRow & { count: number }>();
  const samples: { row: ShadowSampleRow; eventId: string }[] = [];
  for (const e of events) {
    if (trackSetId !== undefined && 'trackSetId' in e && e.trackSetId !== trackSetId) continue;
    if (e.kind === 'shadow_sample') samples.push({ row: { trackSetId: e.trackSetId, track: e.track, at: e.at, input: e.input, baseline: e.baseline, candidate: e.candidate }, eventId: e.eventId });
    if (e.kind !== 'shadow') continue;
    const key = `${e.trackSetId}\u0000${e.track}`;
    let c = counts.get(key);
    if (c === undefined) counts.set(key, (c = { trackSetId: e.trackSetId, track: e.track, firstMinute: e.minute, lastMinute: e.minute, ...zeroShadowCounts() }));
    c.firstMinute = Math.min(c.firstMinute, e.minute);
    c.lastMinute = Math.max(c.lastMinute, e.minute);
    for (const field of SHADOW_COUNTS) c[field] += e[field];
    const histograms = { baseline: e.baselineHistogram, candidate: e.candidateHistogram, slower: e.slowerHistogram, faster: e.fasterHistogram };
    for (const [which, histogram] of Object.entries(histograms) as [ShadowBucketRow['which'], readonly number[]][]) {
      histogram.forEach((count, bucket) => {
        if (count === 0) return;
        const at = `${key}\u0000${which}\u0000${bucket}`;
        const row = buckets.get(at) ?? { trackSetId: e.trackSetId, track: e.track, which, bucket, count: 0 };
        row.count += count;
        buckets.set(at, row);
      });
    }
  }
  // Newest first per set, as the SQL stores order them (ties by event id, descending).
  const latest = new Map<string, ShadowSampleRow[]>();
  samples.sort((a, b) => b.row.at - a.row.at || (b.eventId > a.eventId ? 1 : -1));
  for (const { row } of samples) {
    let list = latest.get(row.trackSetId);
    if (list === undefined) latest.set(row.trackSetId, (list = []));
    if (list.length < SHADOW_SAMPLES_READ) list.push(row);
  }
  const ordered = [...latest.keys()].sort().flatMap((id) => latest.get(id)!);
  return shadowSumsOf([...counts.values()], [...buckets.values()], ordered);
}

/** Groups events the way the SQL stores' summary queries do. */
function summaryRowsOf(
  events: readonly RecordedEvent[],
  controls: ControlState[],
  daily: boolean,
  ratios?: SummarizeOptions['ratios'],
  preExposure?: SummarizeOptions['preExposure'],
  caps?: SummarizeOptions['caps'],
  by?: string,
): SummaryRows {
  // The unit's value of the dimension asked for ('' without one); own properties only, so a dimension named constructor is just a name.
  const segmentOf = (e: ExposureEvent): string | undefined =>
    by === undefined ? undefined : e.dimensions !== undefined && Object.hasOwn(e.dimensions, by) ? e.dimensions[by]! : NO_SEGMENT;
  const rows: SummaryRows = { exposures: [], metrics: [], health: [], histogram: [], phases: [], starts: [], definitions: [], controls, guardrails: [] };
  const definitionTimes: Array<{ trackSetId: string; phase: string; at: number; eventId: string; holdoutShare?: number }> = [];
  const group = <T>(map: Map<string, T>, key: string, make: () => T): T => {
    let value = map.get(key);
    if (value === undefined) map.set(key, (value = make()));
    return value;
  };
  const exposuresByUnit = new Map<string, ExposureEvent[]>();
  const exposureCells = new Map<string, ExposureCell>();
  const healthGroups = new Map<string, SummaryRows['health'][number]>();
  const histogramGroups = new Map<string, SummaryRows['histogram'][number]>();
  const healthEvents: HealthEvent[] = [];
  const latest = new Map<string, DefinitionRow>();
  const firstOfPhase = new Map<string, DefinitionRow>();
  for (const e of events) {
    if (e.kind === 'exposure') {
      group(exposuresByUnit, e.unit, () => []).push(e);
      const phase = e.phase ?? '';
      const day = daily ? utcDay(e.at) : null;
      const segment = segmentOf(e);
      const c = group(exposureCells, `${e.trackSetId}\u0000${phase}\u0000${day}\u0000${e.track}\u0000${segment}`, () => ({
        trackSetId: e.trackSetId,
        phase,
        day,
        track: e.track,
        ...(segment === undefined ? {} : { segment }),
        users: 0,
        first: e.at,
        last: e.at,
      }));
      c.users++;
      c.first = Math.min(c.first, e.at);
      c.last = Math.max(c.last, e.at);
    } else if (e.kind === 'health') {
      healthEvents.push(e);
    } else if (e.kind === 'definition') {
      const row: DefinitionRow = {
        trackSetId: e.trackSetId,
        phase: e.phase ?? '',
        at: e.at,
        weights: new Map(Object.entries(e.weights)),
        coverage: e.coverage,
        control: e.control ?? null,
        sticky: e.sticky ?? null,
        stopped: e.stopped ?? null,
        holdout: e.holdout ?? null,
        shadow: e.shadow ?? null,
      };
      const last = latest.get(e.trackSetId);
      if (last === undefined || e.at >= last.at) latest.set(e.trackSetId, row);
      definitionTimes.push({ trackSetId: e.trackSetId, phase: row.phase, at: e.at, eventId: e.eventId, ...(e.holdout === true ? { holdoutShare: e.weights.holdout ?? 0 } : {}) });
      const key = `${e.trackSetId}\u0000${row.phase}`;
      const first = firstOfPhase.get(key);
      if (first === undefined || e.at < first.at) firstOfPhase.set(key, row);
    } else if (e.kind === 'guardrail') {
      rows.guardrails.push({ trackSetId: e.trackSetId, track: e.track, cause: e.cause, at: e.at });
    }
  }
  rows.phases = [...firstOfPhase.values()];
  rows.definitions = [...latest.values()];
  rows.starts = phaseStartsOf(definitionTimes);
  const windows = phaseWindows(rows.starts);
  // Health rows count to the phase in effect at their minute's start ('' for a set without starts).
  const minutes = phaseMinutes(rows.starts);
  for (const e of healthEvents) {
    const phase = minutes.find((m) => m.trackSetId === e.trackSetId && e.minute >= m.from && e.minute < m.to)?.phase ?? '';
    const h = group(healthGroups, `${e.trackSetId}\u0000${e.track}\u0000${phase}`, () => ({ trackSetId: e.trackSetId, track: e.track, phase, runs: 0, errors: 0, totalMs: 0 }));
    h.runs += e.runs;
    h.errors += e.errors;
    h.totalMs += e.totalMs;
    e.histogram.forEach((count, bucket) => {
      if (count === 0) return;
      group(histogramGroups, `${e.trackSetId}\u0000${e.track}\u0000${phase}\u0000${bucket}`, () => ({ trackSetId: e.trackSetId, track: e.track, phase, bucket, count: 0 })).count += count;
    });
  }
  const endOf = (e: ExposureEvent): number | null => {
    const phase = e.phase ?? '';
    return windows.find((w) => w.trackSetId === e.trackSetId && w.phase === phase && e.at >= w.from && e.at < w.to)?.ended ?? null;
  };
  // Per user and metric: the total of conversions at or after the user's exposure, before the
  // end of its phase, and (CUPED's covariate) the total in the window before the exposure.
  const perUser = new Map<string, { e: ExposureEvent; metric: string; total: number; n: number; preTotal: number; preN: number }>();
  for (const c of events) {
    if (c.kind !== 'conversion') continue;
    const window = preExposure?.byMetric?.get(c.metric) ?? preExposure?.ms ?? 0;
    for (const e of exposuresByUnit.get(c.unit) ?? []) {
      const end = endOf(e);
      const before = c.at < e.at;
      if (before ? c.at < e.at - window : end !== null && c.at >= end) continue;
      const user = group(perUser, `${e.trackSetId}\u0000${e.unit}\u0000${c.metric}`, () => ({ e, metric: c.metric, total: 0, n: 0, preTotal: 0, preN: 0 }));
      if (before) {
        user.preTotal += c.value;
        user.preN++;
      } else {
        user.total += c.value;
        user.n++;
      }
    }
  }
  const cellKey = (e: ExposureEvent) => `${e.trackSetId}\u0000${e.phase ?? ''}\u0000${daily ? utcDay(e.at) : null}\u0000${e.track}\u0000${segmentOf(e)}`;
  const cellOf = (e: ExposureEvent) => {
    const segment = segmentOf(e);
    return { trackSetId: e.trackSetId, phase: e.phase ?? '', day: daily ? utcDay(e.at) : null, track: e.track, ...(segment === undefined ? {} : { segment }) };
  };
  rows.percentileCaps = percentileCapsOf(caps ?? [], perUser.values(), exposureCells.values());
  const applied = appliedCaps(caps ?? [], rows.percentileCaps);
  const capOf = (e: ExposureEvent, metric: string) => applied.find((c) => c.metric === metric && (c.trackSetId === null || (c.trackSetId === e.trackSetId && c.phase === (e.phase ?? ''))));
  const metricCells = new Map<string, MetricCell>();
  for (const user of perUser.values()) {
    const { e, metric } = user;
    addUser(group(metricCells, `${cellKey(e)}\u0000${metric}`, () => ({ ...cellOf(e), metric, ...noMetricSums() })), user, capOf(e, metric));
  }
  if (ratios !== undefined) {
    const productCells = new Map<string, ProductCell>();
    for (const { numerator, denominator } of ratios) {
      for (const x of perUser.values()) {
        if (x.metric !== numerator || x.n === 0) continue;
        const y = perUser.get(`${x.e.trackSetId}\u0000${x.e.unit}\u0000${denominator}`);
        if (y === undefined || y.n === 0) continue;
        group(productCells, `${cellKey(x.e)}\u0000${numerator}\u0000${denominator}`, () => ({ ...cellOf(x.e), numerator, denominator, sum: 0 })).sum += x.total * y.total;
      }
    }
    rows.products = [...productCells.values()];
  }
  rows.exposures = [...exposureCells.values()];
  rows.metrics = [...metricCells.values()];
  rows.health = [...healthGroups.values()];
  rows.histogram = [...histogramGroups.values()];
  return rows;
}

/**
 * The value each percentile cap comes to per set and phase: the unit ranked
 * {@link percentileRank} from the top among the phase's units (every exposed unit for sum and
 * count, whose units without a conversion count as 0; the converted units for mean). None
 * when it comes to 0 or less for a sum or count (see percentileCapsOf in summary-rows.ts).
 */
function percentileCapsOf(
  caps: readonly CapRequest[],
  users: Iterable<{ e: ExposureEvent; metric: string; total: number; n: number }>,
  exposureCells: Iterable<ExposureCell>,
): PercentileCapRow[] {
  const wanted = caps.filter((c) => c.percentile !== undefined);
  if (wanted.length === 0) return [];
  const units = new Map<string, number>();
  for (const c of exposureCells) units.set(`${c.trackSetId}\u0000${c.phase}`, (units.get(`${c.trackSetId}\u0000${c.phase}`) ?? 0) + c.users);
  const values = new Map<string, { trackSetId: string; phase: string; metric: string; values: number[] }>();
  for (const { e, metric, total, n } of users) {
    const cap = wanted.find((c) => c.metric === metric);
    if (cap === undefined || n === 0) continue;
    const phase = e.phase ?? '';
    const key = `${e.trackSetId}\u0000${phase}\u0000${metric}`;
    let entry = values.get(key);
    if (entry === undefined) values.set(key, (entry = { trackSetId: e.trackSetId, phase, metric, values: [] }));
    entry.values.push(cap.kind === 'count' ? n : cap.kind === 'mean' ? total / n : total);
  }
  const rows: PercentileCapRow[] = [];
  for (const entry of values.values()) {
    const cap = wanted.find((c) => c.metric === entry.metric)!;
    const sorted = entry.values.sort((a, b) => b - a);
    const count = cap.kind === 'mean' ? sorted.length : (units.get(`${entry.trackSetId}\u0000${entry.phase}`) ?? sorted.length);
    const rank = percentileRank(cap.percentile!, count);
    const value = sorted[rank - 1];
    if (value !== undefined && (cap.kind === 'mean' || value > 0)) rows.push({ trackSetId: entry.trackSetId, phase: entry.phase, metric: entry.metric, value });
  }
  return rows;
}
