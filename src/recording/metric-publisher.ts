import { quoted } from '../text.js';
import { TracksError } from '../errors.js';
import type { RecordedEvent } from '../model/events.js';
import { metricEventOf } from '../model/metrics.js';
import type { MetricDeclaration } from '../model/metrics.js';
import { newEventId } from './event-id.js';
import { eventTime } from '../model/event-time.js';

/**
 * Publishes `configure({ metrics })` to the store: every declaration once per process, before
 * the first event the process records, so `tracks report` and the dashboard analyse each metric
 * as declared, with no flags. Also refuses conversions on a ratio (it is computed, not recorded).
 */
export class MetricPublisher {
  readonly #declared: ReadonlyMap<string, MetricDeclaration>;
  #published = false;

  constructor(declared: ReadonlyMap<string, MetricDeclaration>) {
    this.#declared = declared;
  }

  /** Emits the declarations, the first time only (nothing when none are declared). */
  publish(emit: (event: RecordedEvent) => void): void {
    if (this.#published) return;
    this.#published = true;
    const at = eventTime();
    for (const [name, declaration] of this.#declared) emit(metricEventOf(name, declaration, newEventId(), at));
  }

  /** A TracksError for a conversion recorded on a ratio metric. */
  checkRecorded(metric: string): void {
    const declaration = this.#declared.get(metric);
    if (declaration?.kind !== 'ratio') return;
    throw new TracksError(
      `convert: ${quoted(metric)} is declared as a ratio of ${quoted(declaration.numerator)} over ${quoted(declaration.denominator)}; ` +
        `record those two (convert({ key, metric: '${declaration.numerator}' })) and the report divides them`,
    );
  }
}
