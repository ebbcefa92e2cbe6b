/**
 * The rules every stored event follows, checked the same way by every store (and by the
 * outbox when it reads events back), so an event one store takes every store takes. Recording
 * builds events that follow them; these checks catch everything else (an event from an older
 * version, a hand-written one) before it reaches a database that would refuse the whole batch.
 */
import { nameProblem } from '../core/names.js';
import { escapeControl, hasControlCharacter, hasLoneSurrogate, shown } from '../text.js';
import { MAX_SAMPLE_TEXT } from './shadow.js';
import type { RecordedEvent } from './events.js';
import { StoreError } from './store-error.js';
import { LATENCY_BUCKETS } from './latency-histogram.js';
import { unitProblem } from './unit.js';
import { analysisProblemOf } from './metrics.js';
import { dimensionsProblem } from './dimensions.js';
import type { MetricDeclarationKind } from './metrics.js';

/** The latest time a stored event may carry: the end of the JavaScript Date range, in epoch ms. */
const MAX_EPOCH_MS = 8.64e15;

/** The largest magnitude of a conversion's value (sums of squares of many stay finite). */
export const MAX_VALUE = 1e15;

/** The longest event id. */
const MAX_EVENT_ID_LENGTH = 128;

/** The longest guardrail cause. */
const MAX_CAUSE_LENGTH = 2000;

/**
 * Why `event` cannot be stored, naming the field, or undefined when it can.
 *
 * @example
 * ```ts
 * eventProblem({ kind: 'conversion', eventId: 'c1', unit: 'u1', metric: 'buy', value: NaN, at: 1 });
 * // 'conversion c1: value is NaN; use a finite number of magnitude at most 1000000000000000'
 * ```
 */
export function eventProblem(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return `event is ${event === null ? 'null' : typeof event}, not an object`;
  const e = event as Partial<Record<string, unknown>>;
  const kind = e.kind;
  const problem = eventIdProblem(e.eventId) ?? kindProblem(kind, e);
  if (problem === undefined) return undefined;
  // Escaped: the message reaches onError, the quarantine's reasons and terminals.
  const what = `${typeof kind === 'string' ? escapeControl(kind.slice(0, 20)) : 'event'} ${typeof e.eventId === 'string' ? escapeControl(e.eventId.slice(0, 40)) : ''}`.trim();
  return `${what}: ${problem}`;
}

function kindProblem(kind: unknown, e: Partial<Record<string, unknown>>): string | undefined {
  switch (kind) {
    case 'exposure':
      return (
        name('trackSetId', e.trackSetId) ??
        name('track', e.track) ??
        unit(e.unit) ??
        time('at', e.at, MAX_EPOCH_MS) ??
        phaseProblem(e.phase) ??
        (e.dimensions === undefined ? undefined : dimensionsProblem(e.dimensions))
      );
    case 'conversion':
      return unit(e.unit) ?? name('metric', e.metric) ?? valueProblem(e.value) ?? time('at', e.at, MAX_EPOCH_MS);
    case 'health':
      return (
        name('trackSetId', e.trackSetId) ??
        name('track', e.track) ??
        time('minute', e.minute, Math.floor(MAX_EPOCH_MS / 60_000)) ??
        count('runs', e.runs) ??
        count('errors', e.errors) ??
        (Number(e.errors) > Number(e.runs) ? 'errors exceed runs' : undefined) ??
        finiteAtLeastZero('totalMs', e.totalMs) ??
        histogramProblem(e.histogram)
      );
    case 'definition':
      return (
        name('trackSetId', e.trackSetId) ??
        weightsProblem(e.weights) ??
        shareProblem(e.coverage) ??
        time('at', e.at, MAX_EPOCH_MS) ??
        (e.control === undefined || e.control === null ? undefined : name('control', e.control)) ??
        phaseProblem(e.phase) ??
        (e.sticky === undefined || typeof e.sticky === 'boolean' ? undefined : 'sticky must be true or false') ??
        (e.stopped === undefined || typeof e.stopped === 'boolean' ? undefined : 'stopped must be true or false') ??
        (e.shadow === undefined || typeof e.shadow === 'boolean' ? undefined : 'shadow must be true or false') ??
        (e.holdout === undefined || typeof e.holdout === 'boolean' ? undefined : 'holdout must be true or false')
      );
    case 'guardrail':
      return name('trackSetId', e.trackSetId) ?? name('track', e.track) ?? causeProblem(e.cause) ?? time('at', e.at, MAX_EPOCH_MS);
    case 'metric':
      return name('name', e.name) ?? metricKindProblem(e) ?? (e.higherIsBetter === null ? undefined : flag('higherIsBetter', e.higherIsBetter)) ?? flag('guardrail', e.guardrail) ?? time('at', e.at, MAX_EPOCH_MS);
    case 'shadow':
      return (
        name('trackSetId', e.trackSetId) ??
        name('track', e.track) ??
        time('minute', e.minute, Math.floor(MAX_EPOCH_MS / 60_000)) ??
        count('matches', e.matches) ??
        count('mismatches', e.mismatches) ??
        count('ignored', e.ignored) ??
        count('errors', e.errors) ??
        count('timeouts', e.timeouts) ??
        count('skippedConcurrency', e.skippedConcurrency) ??
        count('skippedGuardrail', e.skippedGuardrail) ??
        histogramProblem(e.baselineHistogram) ??
        histogramProblem(e.candidateHistogram) ??
        histogramProblem(e.slowerHistogram) ??
        histogramProblem(e.fasterHistogram)
      );
    case 'shadow_sample':
      return (
        name('trackSetId', e.trackSetId) ??
        name('track', e.track) ??
        time('at', e.at, MAX_EPOCH_MS) ??
        sampleText('input', e.input) ??
        sampleText('baseline', e.baseline) ??
        sampleText('candidate', e.candidate)
      );
    default:
      return `kind is ${shown(kind)}; use exposure, conversion, health, definition, guardrail, metric, shadow or shadow_sample`;
  }
}

function metricKindProblem(e: Partial<Record<string, unknown>>): string | undefined {
  if (!['conversion', 'sum', 'count', 'mean', 'ratio'].includes(e.metricKind as string)) return 'metricKind must be conversion, sum, count, mean or ratio';
  if (e.analysis !== undefined) {
    const problem = typeof e.analysis === 'object' && e.analysis !== null ? analysisProblemOf(e.metricKind as MetricDeclarationKind, e.analysis) : 'analysis must be an object';
    if (problem !== undefined) return `analysis.${problem}`;
  }
  if (e.metricKind === 'ratio') return name('numerator', e.numerator) ?? name('denominator', e.denominator);
  return e.numerator === null && e.denominator === null ? undefined : 'numerator and denominator must be null but for a ratio';
}

function flag(field: string, value: unknown): string | undefined {
  return typeof value === 'boolean' ? undefined : `${field} must be true or false`;
}

function eventIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || id === '') return 'eventId must be a non-empty string';
  if (id.length > MAX_EVENT_ID_LENGTH) return `eventId is ${id.length} characters long; use at most ${MAX_EVENT_ID_LENGTH}`;
  const problem = nameProblem(id);
  return problem === undefined ? undefined : `eventId ${problem}`;
}

// Names repeat in every batch (a few sets, tracks and metrics): remember the good ones.
const goodNames = new Set<string>();

function name(field: string, value: unknown): string | undefined {
  if (typeof value === 'string' && goodNames.has(value)) return undefined;
  const problem = nameProblem(value);
  if (problem === undefined) {
    if (goodNames.size >= 10_000) goodNames.clear();
    goodNames.add(value as string);
    return undefined;
  }
  return `${field} ${problem}`;
}

function unit(value: unknown): string | undefined {
  const problem = unitProblem(value);
  return problem === undefined ? undefined : `unit ${problem}`;
}

function time(field: string, value: unknown, max: number): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    return `${field} is ${shown(value)}; use a whole number of ${field === 'minute' ? 'minutes' : 'milliseconds'} since 1970 (0 to ${max})`;
  }
  return undefined;
}

function phaseProblem(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(value) ? undefined : 'phase must be a short id of letters, digits, _ and -';
}

function valueProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_VALUE) {
    return `value is ${shown(value)}; use a finite number of magnitude at most ${MAX_VALUE}`;
  }
  return undefined;
}

function count(field: string, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return `${field} is ${shown(value)}; use a whole number >= 0`;
  return undefined;
}

function finiteAtLeastZero(field: string, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return `${field} is ${shown(value)}; use a finite number >= 0`;
  return undefined;
}

function shareProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) return `coverage is ${shown(value)}; use a share from 0 to 1`;
  return undefined;
}

function histogramProblem(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length > LATENCY_BUCKETS) return `histogram must be an array of at most ${LATENCY_BUCKETS} counts`;
  for (const c of value as unknown[]) if (count('histogram count', c) !== undefined) return `histogram holds ${shown(c)}; counts are whole numbers >= 0`;
  return undefined;
}

function weightsProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'weights must be an object of track name to weight';
  for (const [track, weight] of Object.entries(value)) {
    const problem = name('weights track', track) ?? finiteAtLeastZero(`weight of a track`, weight);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function sampleText(field: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_SAMPLE_TEXT) return `${field} must be a string of at most ${MAX_SAMPLE_TEXT} characters`;
  // PostgreSQL's text refuses NUL, and a lone surrogate is not UTF-8: neither reaches a store.
  return value.includes('\u0000') || hasLoneSurrogate(value) ? `${field} holds a NUL or a lone surrogate` : undefined;
}

function causeProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_CAUSE_LENGTH) return `cause must be a string of at most ${MAX_CAUSE_LENGTH} characters`;
  return hasControlCharacter(value) ? 'cause contains a control character' : undefined;
}

/**
 * Refuses a batch holding an event no store can take, as every store does before writing: a
 * permanent StoreError (TRACKS_BAD_EVENT) naming the store (`what`, e.g. "the SQLite store
 * tracks.db") and the event's problem, which delivery narrows down to that event.
 *
 * @example
 * ```ts
 * assertStorable('the memory store', batch); // throws when an event of the batch is malformed
 * ```
 */
export function assertStorable(what: string, events: readonly RecordedEvent[]): void {
  const bad = firstBadEvent(events);
  if (bad !== undefined) throw new StoreError(`tracks: ${what} refuses ${bad.problem}`, { transient: false, code: 'TRACKS_BAD_EVENT' });
}

/** Whether every event of a batch can be stored; throws nothing, allocates nothing when they can. */
function firstBadEvent(events: readonly RecordedEvent[]): { index: number; problem: string } | undefined {
  for (let i = 0; i < events.length; i++) {
    const problem = eventProblem(events[i]);
    if (problem !== undefined) return { index: i, problem };
  }
  return undefined;
}
