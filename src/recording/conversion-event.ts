import { serializeKey } from '../core/key.js';
import { currentScope } from '../core/request-scope.js';
import { nameProblem } from '../core/names.js';
import { quoted, shown } from '../text.js';
import { TracksError } from '../errors.js';
import { MAX_VALUE } from '../model/check-event.js';
import type { ConversionEvent } from '../model/events.js';
import { unitOfRun } from '../model/unit.js';
import type { UnitOfKey } from '../model/unit.js';
import { newEventId } from './event-id.js';
import type { MetricName } from '../model/metrics.js';

/**
 * What {@link convert} takes: who converted (key or runId), on which metric, and how much.
 *
 * @example
 * ```ts
 * const order: Conversion = { key: userId, metric: 'revenue', value: 12.5 };
 * convert(order);
 * convert({ key: userId, metric: 'purchase' }); // value 1, now
 * ```
 */
export interface Conversion {
  /** The key the runs were given; inside a request scope with a key, that key when neither key nor runId is given. */
  readonly key?: unknown;
  /** The `runId` of a run without a key. */
  readonly runId?: string | undefined;
  /** The outcome's name, e.g. 'purchase': at most 200 characters and 400 bytes of UTF-8, no control characters. */
  /** A metric name: checked by the compiler once you register your declarations (`TracksRegister`). */
  readonly metric: MetricName;
  /** The amount, for continuous metrics such as revenue (default 1); finite, magnitude at most 1e15. */
  readonly value?: number | undefined;
  /**
   * When it happened (default now): epoch milliseconds or a Date, rounded to the millisecond,
   * from 2000-01-01T00:00:00Z to one day from now.
   */
  readonly at?: number | Date | undefined;
}

/** The earliest `at` a conversion may carry: 2000-01-01T00:00:00Z (earlier is nearly always seconds, not ms). */
const EARLIEST_AT = Date.UTC(2000, 0, 1);

/** How far in the future a conversion's `at` may be (clock skew between machines). */
const LATEST_AHEAD_MS = 86_400_000;

/**
 * The event a {@link Conversion} records, checked and normalised at the edge, before it
 * reaches a buffer: the same for every store. Throws a TracksError naming the field and the fix.
 */
export function conversionEventOf(conversion: Conversion, units: UnitOfKey, now: number): ConversionEvent {
  if (typeof conversion !== 'object' || conversion === null) {
    throw new TracksError(`convert: pass an object, e.g. convert({ key: userId, metric: 'purchase' }), not ${String(conversion)}`);
  }
  // A misspelt field (`vaule: 12.5`, `runID`) would record the wrong conversion, silently.
  for (const name in conversion) {
    if (name !== 'key' && name !== 'metric' && name !== 'value' && name !== 'runId' && name !== 'at') {
      throw new TracksError(`convert: unknown field ${quoted(name)}; the fields are key, runId, metric, value and at, e.g. convert({ key: userId, metric: 'revenue', value: 12.5 })`);
    }
  }
  const { key, runId, metric } = conversion;
  const problem = nameProblem(metric);
  if (problem !== undefined) {
    throw new TracksError(`convert: metric ${typeof metric === 'string' ? `${quoted(metric)} ` : ''}${problem}; name the outcome, e.g. convert({ key, metric: 'purchase' })`);
  }
  // Only a value left out means 1: a null (an order total that was missing) is refused, not
  // recorded as a conversion worth 1.
  const value = conversion.value === undefined ? 1 : conversion.value;
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_VALUE) {
    throw new TracksError(`convert: value is ${shown(value)}; give a finite number of magnitude at most ${MAX_VALUE} (or leave it out for 1)`);
  }
  const hasKey = key !== undefined && key !== null;
  if (hasKey && runId !== undefined) {
    throw new TracksError("convert: give either key (the runs' key) or runId (of a run without a key), not both");
  }
  let unit: string;
  if (hasKey) {
    unit = units.of(serializeKey(key));
  } else if (runId === undefined) {
    // Neither: the request scope's key (withTracksScope, or a framework adapter).
    const scoped = currentScope()?.key ?? null;
    if (scoped === null) {
      throw new TracksError(
        "convert: give key (the runs' key) or runId (of a run without a key); outside a request scope with a key (withTracksScope or a framework adapter) there is none to credit",
      );
    }
    unit = units.of(scoped);
  } else {
    const runProblem = nameProblem(runId);
    if (runProblem !== undefined) throw new TracksError(`convert: runId ${runProblem}; pass the runId of the run that converted`);
    unit = unitOfRun(runId!);
  }
  // -0 as 0: SQL stores keep no negative zero, and the memory store must hold what they hold.
  return { kind: 'conversion', eventId: newEventId(), unit, metric, value: value === 0 ? 0 : value, at: timeOf(conversion.at, now) };
}

/** The last epoch millisecond a Date can hold (ECMAScript's time value range). */
const MAX_DATE_MS = 8.64e15;

/** `at` as whole epoch milliseconds inside the accepted window, or a TracksError. */
function timeOf(at: unknown, now: number): number {
  if (at === undefined) return now;
  const ms = at instanceof Date ? at.getTime() : at;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new TracksError(`convert: at is ${shown(at)}; give epoch milliseconds (Date.now()) or a Date, or leave it out for now`);
  }
  const rounded = Math.round(ms);
  if (rounded < EARLIEST_AT) {
    const hint = rounded >= 1e9 && rounded < 1e10 ? ' (it looks like seconds: multiply by 1000)' : '';
    throw new TracksError(`convert: at is ${rounded}, before 2000-01-01${hint}; give epoch milliseconds`);
  }
  if (rounded > now + LATEST_AHEAD_MS) {
    // Past the last date a Date can hold (year 275760), the number as given.
    const when = rounded <= MAX_DATE_MS ? new Date(rounded).toISOString() : String(at instanceof Date ? ms : at);
    throw new TracksError(`convert: at is ${when}, more than a day ahead of now; give the time it happened`);
  }
  return rounded;
}

