/**
 * The contract between recording (which writes events) and analysis (which reads sufficient
 * statistics). Every store (SQLite, PostgreSQL, memory, callback) implements it.
 */

/** A user's first exposure to a track set while in the test. One row per (trackSetId, unit). */
export interface ExposureEvent {
  readonly kind: 'exposure';
  /** Unique id of the event; writing it twice stores it once. */
  readonly eventId: string;
  readonly trackSetId: string;
  readonly track: string;
  /** The serialized key (hashed when `hashKeys` is on), or `run:<runId>` for runs without a key. */
  readonly unit: string;
  /** Epoch milliseconds. */
  readonly at: number;
}

/** An outcome for a unit: a purchase, revenue. Attributed to tracks the unit was exposed to before `at`. */
export interface ConversionEvent {
  readonly kind: 'conversion';
  readonly eventId: string;
  readonly unit: string;
  readonly metric: string;
  /** 1 for a plain conversion; the amount for continuous metrics. */
  readonly value: number;
  readonly at: number;
}

/** Per-track health of one process for one minute: run count, errors and latency histogram. */
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
  /** Counts per latency bucket; see recording/latency-histogram.ts for the bucket bounds. */
  readonly histogram: readonly number[];
}

/** A track set's definition as the process that exposed users saw it (for sample-ratio checks). */
export interface DefinitionEvent {
  readonly kind: 'definition';
  readonly eventId: string;
  readonly trackSetId: string;
  /** Track name to weight. */
  readonly weights: Readonly<Record<string, number>>;
  readonly coverage: number;
  readonly at: number;
}

/** A guardrail switched a track off in some process. */
export interface GuardrailEvent {
  readonly kind: 'guardrail';
  readonly eventId: string;
  readonly trackSetId: string;
  readonly track: string;
  /** Human-readable cause, e.g. "error rate 12% vs control 1% over 60 s". */
  readonly cause: string;
  readonly at: number;
}

export type RecordedEvent = ExposureEvent | ConversionEvent | HealthEvent | DefinitionEvent | GuardrailEvent;

/** Whether a track set is stopped, and what it serves to everyone while stopped. */
export interface ControlState {
  readonly trackSetId: string;
  readonly stopped: boolean;
  /** The track served to everyone while stopped. */
  readonly serve: string | null;
  readonly at: number;
}

/** Sufficient statistics of one metric for the users of one track. */
export interface MetricSums {
  /** Users with at least one conversion of the metric after their exposure. */
  readonly converted: number;
  /** Sum over users of each user's total value (conversions after exposure). */
  readonly sum: number;
  /** Sum over users of the square of each user's total value. */
  readonly sumSquares: number;
}

/** Aggregated health of one track's code path. */
export interface HealthSums {
  readonly runs: number;
  readonly errors: number;
  readonly totalMs: number;
  readonly histogram: readonly number[];
}

export interface TrackSums {
  readonly track: string;
  /** Units exposed to the track. */
  readonly users: number;
  /** By metric name. Metrics nobody on this track converted on are absent (read as zeros). */
  readonly metrics: Readonly<Record<string, MetricSums>>;
  readonly health: HealthSums;
}

export interface DailySums {
  /** UTC day, YYYY-MM-DD, of exposure. Users are counted on their exposure day. */
  readonly day: string;
  readonly tracks: readonly Omit<TrackSums, 'health'>[];
}

export interface TrackSetSums {
  readonly trackSetId: string;
  /** The latest recorded definition, or null when none was recorded. */
  readonly definition: { readonly weights: Readonly<Record<string, number>>; readonly coverage: number } | null;
  readonly control: ControlState | null;
  readonly guardrails: readonly Omit<GuardrailEvent, 'kind' | 'eventId' | 'trackSetId'>[];
  readonly firstExposureAt: number | null;
  readonly lastExposureAt: number | null;
  readonly tracks: readonly TrackSums[];
  /** Per exposure day, for lift over time; cumulative sums are built by the caller. */
  readonly daily: readonly DailySums[];
}

export interface SummarizeOptions {
  /** Only this track set. */
  readonly trackSetId?: string;
  /** Include per-day sums (costs one more grouped query). Default true. */
  readonly daily?: boolean;
}

/** A place events are written to and summaries read from. */
export interface Store {
  /** A short description for messages, e.g. `sqlite:/srv/tracks.db`. */
  readonly description: string;
  /** Writes events idempotently: an eventId already stored is skipped. Throws when the store cannot be reached. */
  write(events: readonly RecordedEvent[]): Promise<void>;
  /** Every track set's control state. */
  readControls(): Promise<ControlState[]>;
  /** Stops or resumes a track set for every process using the store. */
  writeControl(state: ControlState): Promise<void>;
  /** Earlier tracks of units in a sticky set, by unit. */
  readAssignments(trackSetId: string, units: readonly string[]): Promise<Map<string, string>>;
  /**
   * The earlier track of one unit, read synchronously, for stores that can (memory, SQLite):
   * a sticky set then keeps its track even on a process's very first run for the key.
   */
  readAssignmentSync?(trackSetId: string, unit: string): string | undefined;
  /** Sufficient statistics per track set and track, computed in the store (GROUP BY). */
  summarize(options?: SummarizeOptions): Promise<TrackSetSums[]>;
  close(): Promise<void>;
}
