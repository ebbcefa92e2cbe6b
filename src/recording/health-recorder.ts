import type { ChosenRun } from '../core/run-hooks.js';
import { definitionOf } from '../core/track-set.js';
import type { TrackSetClass } from '../core/track-set.js';
import type { GuardrailEvent, RecordedEvent } from '../model/events.js';
import type { ErrorReporter } from './error-reporter.js';
import { Guardrails } from './guardrails.js';
import type { GuardrailOptions } from './guardrails.js';
import { HealthAggregator, healthEvents } from './health-aggregator.js';
import { eventTime } from '../model/event-time.js';

/**
 * Per-track health of the runs in the test (duration, errors, latency histogram, counted per
 * minute in memory) and the guardrails judged from it. The minute comes from a clock read
 * every 250 ms: health needs only the minute, and the hot path skips a clock read.
 */
export class HealthRecorder {
  readonly #health = new HealthAggregator();
  readonly #guardrails: Guardrails | undefined;
  readonly #onGuardrail: ((event: Omit<GuardrailEvent, 'kind' | 'eventId'>) => void) | undefined;
  readonly #errors: ErrorReporter;
  readonly #clock: NodeJS.Timeout;
  #now = Date.now();

  constructor(
    guardrails: GuardrailOptions | undefined,
    onGuardrail: ((event: Omit<GuardrailEvent, 'kind' | 'eventId'>) => void) | undefined,
    errors: ErrorReporter,
  ) {
    this.#guardrails = guardrails ? new Guardrails(guardrails) : undefined;
    this.#onGuardrail = onGuardrail;
    this.#errors = errors;
    this.#clock = setInterval(() => (this.#now = Date.now()), 250);
    this.#clock.unref();
  }

  /** Counts one run's duration; only runs in the test, so control's health describes the same users. */
  ran(run: ChosenRun, durationMs: number, failed: boolean): void {
    if (run.reason !== 'assigned') return;
    this.#health.record(run.id, run.name, durationMs, failed, this.#now);
    // Guardrails judge tracks against the set's baseline, which need not be named 'control'.
    if (this.#guardrails !== undefined && !this.#guardrails.knowsBaseline(run.id)) {
      this.#guardrails.setBaseline(run.id, definitionOf((run as object).constructor as TrackSetClass).control.name);
    }
  }

  /** The guardrail check the hot path asks, or undefined when guardrails are off. */
  get tripped(): ((trackSetId: string, track: string) => boolean) | undefined {
    const guardrails = this.#guardrails;
    return guardrails ? (trackSetId, track) => guardrails.isTripped(trackSetId, track) : undefined;
  }

  /** Whether any run was counted since the last collection. */
  get pending(): boolean {
    return this.#health.pending;
  }

  /** Emits the health events counted so far, and the trips they cause. */
  collect(emit: (event: RecordedEvent) => void): void {
    this.#now = Date.now();
    const cells = this.#health.drain();
    if (cells.length === 0) return;
    for (const event of healthEvents(cells)) emit(event);
    if (this.#guardrails === undefined) return;
    for (const trip of this.#guardrails.observe(cells, eventTime())) {
      emit(trip);
      try {
        this.#onGuardrail?.({ trackSetId: trip.trackSetId, track: trip.track, cause: trip.cause, at: trip.at });
      } catch (error) {
        this.#errors.report('guardrail', error);
      }
    }
  }

  stop(): void {
    clearInterval(this.#clock);
  }
}
