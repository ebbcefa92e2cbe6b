import type { MetricAnalysis } from './metrics.js';
import type { ShadowEvent, ShadowSampleEvent } from './shadow.js';
/**
 * The events recording produces and every store holds. These types are the contract between
 * recording (which creates them) and the stores (which write them): both layers import them
 * from here, and neither imports the other.
 */

/**
 * A user's first exposure to a track set while in the test. One row per (trackSetId, unit).
 *
 * @example
 * ```ts
 * const exposures = store.events.filter((e): e is ExposureEvent => e.kind === 'exposure' && e.trackSetId === 'delay');
 * assert.equal(exposures[0]?.track, 'long');
 * ```
 */
export interface ExposureEvent {
  readonly kind: 'exposure';
  /** Unique id of the event; writing it twice stores it once. */
  readonly eventId: string;
  readonly trackSetId: string;
  readonly track: string;
  /** The unit: the key in its canonical stored form (see `UnitOfKey`), or `run:<runId>` for runs without a key. */
  readonly unit: string;
  /** Epoch milliseconds, a whole number. */
  readonly at: number;
  /**
   * The phase the unit was assigned in: a short hash of the set's configuration then (tracks
   * and weights, coverage, baseline, stickiness, and the control epoch). Absent in events of
   * tracks 0.1 (their phase is '').
   */
  readonly phase?: string | undefined;
  /**
   * The set's segments for this unit (`static dimensions(context)`): a few names to values
   * (see model/dimensions.ts for the bounds), stored as given, or hashed as keys are with
   * `hashKeys`. Absent when the set declares none. Recorded as an object without a prototype,
   * as a definition's weights: a dimension named `__proto__` is an ordinary key.
   */
  readonly dimensions?: Readonly<Record<string, string>> | undefined;
}

/**
 * An outcome for a unit: a purchase, revenue. Attributed to tracks the unit was exposed to at or before `at`.
 *
 * @example
 * ```ts
 * const revenue = store.events
 *   .filter((e): e is ConversionEvent => e.kind === 'conversion' && e.metric === 'revenue')
 *   .reduce((total, e) => total + e.value, 0);
 * ```
 */
export interface ConversionEvent {
  readonly kind: 'conversion';
  readonly eventId: string;
  readonly unit: string;
  readonly metric: string;
  /** 1 for a plain conversion; the amount for continuous metrics. */
  readonly value: number;
  readonly at: number;
}

/**
 * Per-track health of one process for one minute: run count, errors and latency histogram.
 *
 * @example
 * ```ts
 * const health = store.events.filter((e): e is HealthEvent => e.kind === 'health' && e.trackSetId === 'delay');
 * const errors = health.reduce((total, e) => total + e.errors, 0);
 * ```
 */
export interface HealthEvent {
  readonly kind: 'health';
  readonly eventId: string;
  readonly trackSetId: string;
  readonly track: string;
  /** Epoch minute (Math.floor(ms / 60000)). */
  readonly minute: number;
  readonly runs: number;
  readonly errors: number;
  readonly totalMs: number;
  /** Counts per latency bucket; see `LATENCY_BUCKET_BOUNDS_MS` for the bucket bounds. */
  readonly histogram: readonly number[];
}

/**
 * A track set's definition as the process that exposed users saw it (for sample-ratio checks).
 *
 * @example
 * ```ts
 * const definition = store.events.find((e): e is DefinitionEvent => e.kind === 'definition' && e.trackSetId === 'delay');
 * for (const [track, weight] of Object.entries(definition?.weights ?? {})) console.log(track, weight);
 * ```
 */
export interface DefinitionEvent {
  readonly kind: 'definition';
  readonly eventId: string;
  readonly trackSetId: string;
  /**
   * Track name to weight, as an object without a prototype: a track named `constructor` or
   * `__proto__` is an ordinary key. Read it with `Object.entries`, never by indexing.
   */
  readonly weights: Readonly<Record<string, number>>;
  readonly coverage: number;
  /** The baseline track (`static control`, or `control`), or null when the set has none; absent in events of tracks 0.1. */
  readonly control?: string | null | undefined;
  /** The phase this configuration is (see ExposureEvent.phase); absent in events of tracks 0.1. */
  readonly phase?: string | undefined;
  /** Whether the set is sticky; absent in events of tracks 0.1. */
  readonly sticky?: boolean | undefined;
  /** Whether the phase began with a stop (`tracks stop`): no one is assigned in it. Absent in events of tracks 0.1. */
  readonly stopped?: boolean | undefined;
  /** Whether this is a holdout's pseudo set (`configure({ holdout })`), not a test; absent for a set. */
  readonly holdout?: boolean | undefined;
  /**
   * Whether the phase runs in shadow mode (`static shadow`, not promoted: everyone served the
   * baseline, the candidates run beside it); absent before tracks recorded it, and for a set
   * that is not in shadow mode.
   */
  readonly shadow?: boolean | undefined;
  readonly at: number;
}

/**
 * A guardrail switched a track off in some process.
 *
 * @example
 * ```ts
 * const trips = store.events.filter((e): e is GuardrailEvent => e.kind === 'guardrail');
 * for (const trip of trips) alert(`${trip.trackSetId}/${trip.track} switched off: ${trip.cause}`);
 * ```
 */
export interface GuardrailEvent {
  readonly kind: 'guardrail';
  readonly eventId: string;
  readonly trackSetId: string;
  readonly track: string;
  /** Human-readable cause, e.g. "error rate 12% vs control 1% over 60 s" (the set's baseline by name). */
  readonly cause: string;
  readonly at: number;
}

/**
 * A metric's declaration (`configure({ metrics })`), published when a process first records
 * the metric, so reports analyse it as declared. The latest published wins.
 *
 * @example
 * ```ts
 * const declared = store.events.filter((e): e is MetricEvent => e.kind === 'metric');
 * declared.find((e) => e.name === 'revenue')?.metricKind; // 'sum'
 * ```
 */
export interface MetricEvent {
  readonly kind: 'metric';
  readonly eventId: string;
  /** The metric's name. */
  readonly name: string;
  readonly metricKind: 'conversion' | 'sum' | 'count' | 'mean' | 'ratio';
  /** A ratio's numerator and denominator metrics; null for other kinds. */
  readonly numerator: string | null;
  readonly denominator: string | null;
  /** Null for a guardrail declared without a direction (any significant move warns). */
  readonly higherIsBetter: boolean | null;
  readonly guardrail: boolean;
  /** The declaration's `cuped` and `cap`, when it says either (stored as JSON). */
  readonly analysis?: MetricAnalysis | undefined;
  readonly at: number;
}

/**
 * Every kind of event a store holds.
 *
 * @example
 * ```ts
 * const store = callbackStore(async (events: readonly RecordedEvent[]) => {
 *   await queue.send(events.filter((e) => e.kind === 'exposure' || e.kind === 'conversion'));
 * });
 * ```
 */
export type RecordedEvent = ExposureEvent | ConversionEvent | HealthEvent | DefinitionEvent | GuardrailEvent | MetricEvent | ShadowEvent | ShadowSampleEvent;

/**
 * A track set's live control: stopped or not (and what it serves then), and its ramp.
 *
 * @example
 * ```ts
 * const controls: ControlState[] = await store.readControls();
 * const stopped = controls.filter((c) => c.stopped).map((c) => c.trackSetId); // e.g. ['delay']
 * ```
 */
export interface ControlState {
  readonly trackSetId: string;
  readonly stopped: boolean;
  /** The track served to everyone while stopped; null: the set's baseline. */
  readonly serve: string | null;
  /** Coverage set live (`tracks ramp --coverage`), replacing the class's; null or absent: the class's. */
  readonly coverage?: number | null | undefined;
  /**
   * Weights set live (`tracks ramp --weights`), by track name, replacing the class's for the
   * tracks named (an object without a prototype); null or absent: the class's.
   */
  readonly weights?: Readonly<Record<string, number>> | null | undefined;
  /** Raised by every change (stop, resume, ramp, promote): a new epoch is a new phase. */
  readonly epoch?: number | undefined;
  /** A shadow set (`static shadow`) made a live A/B test by `tracks promote`; absent or false: still in shadow. */
  readonly promoted?: boolean | undefined;
  readonly at: number;
}
