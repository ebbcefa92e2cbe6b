import { shown } from '../text.js';
import { TracksError } from '../errors.js';
import type { GuardrailEvent } from '../model/events.js';
import { newEventId } from './event-id.js';
import type { HealthCell } from './health-aggregator.js';
import { addHistogram, emptyHistogram, latencyQuantile } from '../model/latency-histogram.js';

/**
 * Bounds that switch a track off in this process when it does much worse than the set's
 * baseline (control, unless the set names its own) over a recent window. A tripped track's
 * keys get the baseline with `reason: 'guardrail'`.
 *
 * @example
 * ```ts
 * const guardrails: GuardrailOptions = { maxErrorRateIncrease: 0.02, maxLatencyRatio: 3, minRuns: 200 };
 * configure({ store: 'tracks.db', guardrails });
 * ```
 */
export interface GuardrailOptions {
  /** The window judged, in milliseconds (default 60,000). */
  readonly windowMs?: number | undefined;
  /** Trip when the track's error rate exceeds control's by more than this (0.05 = 5 points; default 0.05). */
  readonly maxErrorRateIncrease?: number | undefined;
  /** Trip when the track's latency quantile exceeds control's times this (default 2). */
  readonly maxLatencyRatio?: number | undefined;
  /**
   * Latency below this many milliseconds never trips (default 50): a track that does real
   * work is always many times slower than the no-op control, and that is the point of most
   * tests; the guardrail is for a code path that got slow, not for one that does something.
   */
  readonly minLatencyMs?: number | undefined;
  /** The latency quantile compared (default 0.95). */
  readonly latencyQuantile?: number | undefined;
  /** Runs both the track and control need in the window before they are judged (default 100). */
  readonly minRuns?: number | undefined;
}

interface Slice {
  readonly at: number;
  runs: number;
  errors: number;
  readonly histogram: number[];
}

const DAY_MS = 86_400_000;

/** The options a guardrails object may hold (configure() refuses any other name, as it does its own). */
export const GUARDRAIL_OPTIONS = [
  'windowMs',
  'maxErrorRateIncrease',
  'maxLatencyRatio',
  'minLatencyMs',
  'latencyQuantile',
  'minRuns',
] as const satisfies readonly (keyof GuardrailOptions)[];

function option(options: GuardrailOptions, name: keyof GuardrailOptions, fallback: number, min: number, max: number, whole = false): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max || (whole && !Number.isInteger(value))) {
    const kind = whole ? 'a whole number' : 'a number';
    const range = max === Infinity ? `${kind} of at least ${min}` : `${kind} from ${min} to ${max.toLocaleString('en-US')}`;
    throw new TracksError(`configure: guardrails.${name} is ${shown(value)}; use ${range} (default ${fallback.toLocaleString('en-US')})`);
  }
  return value;
}

/** Judges each track against its set's baseline over a sliding window of drained health cells. */
export class Guardrails {
  readonly #windowMs: number;
  readonly #maxErrorIncrease: number;
  readonly #maxLatencyRatio: number;
  readonly #quantile: number;
  readonly #minRuns: number;
  readonly #minLatencyMs: number;
  // By set id, then track: the slices (one per drain) inside the window.
  readonly #slices = new Map<string, Map<string, Slice[]>>();
  readonly #tripped = new Map<string, Set<string>>();
  /** Each set's baseline, the track the others are judged against ('control' unless the set names its own). */
  readonly #baselines = new Map<string, string>();
  /** How many tracks are tripped: the hot path checks this before any lookup. */
  size = 0;

  constructor(options: GuardrailOptions) {
    // A window is a span of recent runs: a day at most (an infinite one would never forget a slice).
    this.#windowMs = option(options, 'windowMs', 60_000, 1, DAY_MS);
    this.#maxErrorIncrease = option(options, 'maxErrorRateIncrease', 0.05, 0, 1);
    this.#maxLatencyRatio = option(options, 'maxLatencyRatio', 2, 1, Infinity);
    this.#minLatencyMs = option(options, 'minLatencyMs', 50, 0, Infinity);
    this.#quantile = option(options, 'latencyQuantile', 0.95, 0.5, 1);
    this.#minRuns = option(options, 'minRuns', 100, 1, Number.MAX_SAFE_INTEGER, true);
  }

  /** Whether the set's baseline is known (set on its first run in the test). */
  knowsBaseline(trackSetId: string): boolean {
    return this.#baselines.has(trackSetId);
  }

  setBaseline(trackSetId: string, track: string): void {
    this.#baselines.set(trackSetId, track);
  }

  isTripped(trackSetId: string, track: string): boolean {
    return this.size > 0 && this.#tripped.get(trackSetId)?.has(track) === true;
  }

  /** Adds drained cells and returns the trips they cause. */
  observe(cells: readonly HealthCell[], now: number): GuardrailEvent[] {
    const touched = new Set<string>();
    for (const cell of cells) {
      let byTrack = this.#slices.get(cell.trackSetId);
      if (byTrack === undefined) this.#slices.set(cell.trackSetId, (byTrack = new Map()));
      let slices = byTrack.get(cell.track);
      if (slices === undefined) byTrack.set(cell.track, (slices = []));
      const histogram = emptyHistogram();
      addHistogram(histogram, cell.histogram);
      slices.push({ at: now, runs: cell.runs, errors: cell.errors, histogram });
      touched.add(cell.trackSetId);
    }
    const trips: GuardrailEvent[] = [];
    for (const trackSetId of touched) {
      const byTrack = this.#slices.get(trackSetId)!;
      for (const slices of byTrack.values()) {
        while (slices.length > 0 && slices[0]!.at < now - this.#windowMs) slices.shift();
      }
      const baseline = this.#baselines.get(trackSetId) ?? 'control';
      const control = windowOf(byTrack.get(baseline));
      if (control.runs < this.#minRuns) continue;
      const controlRate = control.errors / control.runs;
      const controlLatency = latencyQuantile(control.histogram, this.#quantile);
      for (const [track, slices] of byTrack) {
        if (track === baseline || this.isTripped(trackSetId, track)) continue;
        const window = windowOf(slices);
        if (window.runs < this.#minRuns) continue;
        const rate = window.errors / window.runs;
        const latency = latencyQuantile(window.histogram, this.#quantile);
        const seconds = Math.round(this.#windowMs / 1000);
        let cause: string | undefined;
        if (rate - controlRate > this.#maxErrorIncrease) {
          cause = `error rate ${percent(rate)} vs ${baseline} ${percent(controlRate)} over ${seconds} s`;
        } else if (latency > this.#minLatencyMs && latency > controlLatency * this.#maxLatencyRatio) {
          const p = `p${Math.round(this.#quantile * 100)}`;
          cause = `${p} latency ${latency.toFixed(2)} ms vs ${baseline} ${controlLatency.toFixed(2)} ms over ${seconds} s`;
        }
        if (cause === undefined) continue;
        let tripped = this.#tripped.get(trackSetId);
        if (tripped === undefined) this.#tripped.set(trackSetId, (tripped = new Set()));
        tripped.add(track);
        this.size++;
        trips.push({ kind: 'guardrail', eventId: newEventId(), trackSetId, track, cause, at: now });
      }
    }
    return trips;
  }
}

function windowOf(slices: readonly Slice[] | undefined): { runs: number; errors: number; histogram: number[] } {
  const histogram = emptyHistogram();
  let runs = 0;
  let errors = 0;
  for (const slice of slices ?? []) {
    runs += slice.runs;
    errors += slice.errors;
    addHistogram(histogram, slice.histogram);
  }
  return { runs, errors, histogram };
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}
