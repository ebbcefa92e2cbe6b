import { messageOf } from '../errors.js';
import type { ShadowOutcome, ShadowSample } from '../core/shadow-runner.js';
import type { GuardrailEvent, RecordedEvent } from '../model/events.js';
import { emptyHistogram, latencyBucket } from '../model/latency-histogram.js';
import { SHADOW_TRIP_PREFIX, zeroShadowCounts } from '../model/shadow.js';
import type { ShadowCounts, ShadowEvent, ShadowSampleEvent } from '../model/shadow.js';
import type { ErrorReporter } from './error-reporter.js';
import { newEventId } from './event-id.js';
import { eventTime } from '../model/event-time.js';
import { wellFormed } from '../text.js';

/** One candidate's shadow runs in one minute, counted since the last drain. */
type ShadowCell = { -readonly [K in keyof Omit<ShadowEvent, 'kind' | 'eventId'>]: ShadowEvent[K] } & {
  readonly baselineHistogram: number[];
  readonly candidateHistogram: number[];
  readonly slowerHistogram: number[];
  readonly fasterHistogram: number[];
};

/** The count each ended run adds to (skips are counted, then judged apart). */
const COUNTED: Readonly<Record<ShadowOutcome['result'], keyof ShadowCounts>> = {
  match: 'matches',
  mismatch: 'mismatches',
  ignored: 'ignored',
  error: 'errors',
  timeout: 'timeouts',
  'skipped-concurrency': 'skippedConcurrency',
  'skipped-guardrail': 'skippedGuardrail',
};

/** A candidate's recent runs, as its shadow guardrail judges them. */
interface GuardrailWindow {
  runs: number;
  errors: number;
  timeouts: number;
  /** Of the timeouts, runs skipped while the candidate's earlier runs hung. */
  hung: number;
}

/**
 * Shadow runs (`static shadow`) counted per candidate and minute in memory, as health is: what
 * is stored grows with minutes, never with requests. Keeps a bounded sample of mismatches
 * (per candidate and minute, each cut to the set's byte limit, after its `clean`), and judges
 * each candidate's shadow guardrail: a candidate that errs or times out too often stops
 * running in this process, and the trip is recorded as a guardrail.
 */
export class ShadowRecorder {
  #open = new Map<string, ShadowCell>();
  #closed: ShadowCell[] = [];
  #samples: ShadowSampleEvent[] = [];
  /** Mismatch samples kept per candidate in its current minute (samples.perMinute), across collections. */
  readonly #kept = new Map<string, { minute: number; count: number }>();
  readonly #windows = new Map<string, GuardrailWindow>();
  readonly #stopped = new Set<string>();
  readonly #emit: (event: RecordedEvent) => void;
  readonly #errors: ErrorReporter;
  /** configure({ onGuardrail }): told of a shadow guardrail's trip as of a live one's. */
  readonly #onGuardrail: ((event: Omit<GuardrailEvent, 'kind' | 'eventId'>) => void) | undefined;

  constructor(emit: (event: RecordedEvent) => void, errors: ErrorReporter, onGuardrail?: (event: Omit<GuardrailEvent, 'kind' | 'eventId'>) => void) {
    this.#emit = emit;
    this.#errors = errors;
    this.#onGuardrail = onGuardrail;
  }

  /** Counts one candidate's shadow run. Runs off the request path (after the baseline's result was delivered). */
  record(outcome: ShadowOutcome, now = eventTime()): void {
    const { definition, track } = outcome;
    const minute = Math.floor(now / 60_000);
    const key = `${definition.id}\u0000${track}`;
    let cell = this.#open.get(key);
    if (cell === undefined || cell.minute !== minute) {
      if (cell !== undefined) this.#closed.push(cell);
      cell = newCell(definition.id, track, minute);
      this.#open.set(key, cell);
    }
    cell[COUNTED[outcome.result]]++;
    if (outcome.result === 'skipped-concurrency') {
      // Every slot held by a run that already timed out: the candidate hangs. Judged as a
      // timeout, so the guardrail stops a candidate whose hung runs would otherwise keep it
      // skipped (and unjudged) for good.
      if (outcome.stuck === true && definition.shadow!.guardrail !== null) this.#judge(key, definition.id, track, 'timeout', definition.shadow!.guardrail, now, true);
      return;
    }
    if (outcome.result === 'skipped-guardrail') return;
    if (outcome.hookError !== undefined) this.#errors.report('shadow', outcome.hookError);
    if (outcome.candidateMs !== null && outcome.result !== 'error') {
      // Paired latency: both paths on the same run, for runs that returned a result, and for
      // timeouts at the timeout (a lower bound), so a slow tail is not hidden by leaving it out.
      cell.baselineHistogram[latencyBucket(outcome.baselineMs)]!++;
      cell.candidateHistogram[latencyBucket(outcome.candidateMs)]!++;
      const difference = outcome.candidateMs - outcome.baselineMs;
      if (difference >= 0) cell.slowerHistogram[latencyBucket(difference)]!++;
      else cell.fasterHistogram[latencyBucket(-difference)]!++;
    }
    const shadow = definition.shadow!;
    if (outcome.result === 'mismatch' && outcome.sample !== null) {
      let kept = this.#kept.get(key);
      if (kept === undefined || kept.minute !== minute) this.#kept.set(key, (kept = { minute, count: 0 }));
      // A sample whose clean threw was not kept, so it takes no place of the minute's.
      if (kept.count < shadow.samplesPerMinute && this.#keepSample(definition.id, track, outcome.sample, shadow.sampleBytes, now)) kept.count++;
    }
    if (shadow.guardrail !== null) this.#judge(key, definition.id, track, outcome.result, shadow.guardrail, now);
  }

  /** Whether the shadow guardrail stopped the candidate in this process. */
  stopped(trackSetId: string, track: string): boolean {
    return this.#stopped.size > 0 && this.#stopped.has(`${trackSetId}\u0000${track}`);
  }

  /** Whether anything was counted since the last collection. */
  get pending(): boolean {
    return this.#open.size > 0 || this.#closed.length > 0 || this.#samples.length > 0;
  }

  /** Emits the shadow events and samples counted so far; counting starts afresh. */
  collect(emit: (event: RecordedEvent) => void): void {
    const cells = this.#closed;
    this.#closed = [];
    for (const cell of this.#open.values()) cells.push(cell);
    this.#open = new Map();
    for (const cell of cells) emit(shadowEvent(cell));
    const samples = this.#samples;
    this.#samples = [];
    for (const sample of samples) emit(sample);
  }

  /** Keeps the sample; false when the set's clean or cleanInput threw (reported). */
  #keepSample(trackSetId: string, track: string, sample: () => ShadowSample, maxBytes: number, now: number): boolean {
    try {
      const { input, baseline, candidate } = sample();
      this.#samples.push({
        kind: 'shadow_sample',
        eventId: newEventId(),
        trackSetId,
        track,
        at: now,
        input: sampleText(input, maxBytes),
        baseline: sampleText(baseline, maxBytes),
        candidate: sampleText(candidate, maxBytes),
      });
      return true;
    } catch (error) {
      // The set's clean or cleanInput threw: the run still counts, its sample is not kept.
      this.#errors.report('shadow', error);
      return false;
    }
  }

  /** `hung`: a run skipped while every slot of the candidate is held by a run that timed out, judged as a timeout. */
  #judge(
    key: string,
    trackSetId: string,
    track: string,
    result: ShadowOutcome['result'],
    limits: { errorRate: number; timeoutRate: number; minRuns: number },
    now: number,
    hung = false,
  ): void {
    if (this.#stopped.has(key)) return;
    let window = this.#windows.get(key);
    if (window === undefined) this.#windows.set(key, (window = { runs: 0, errors: 0, timeouts: 0, hung: 0 }));
    window.runs++;
    if (result === 'error') window.errors++;
    if (result === 'timeout') window.timeouts++;
    if (hung) window.hung++;
    if (window.runs < limits.minRuns) return;
    const errorRate = window.errors / window.runs;
    const timeoutRate = window.timeouts / window.runs;
    if (errorRate > limits.errorRate || timeoutRate > limits.timeoutRate) {
      this.#stopped.add(key);
      const cause =
        errorRate > limits.errorRate
          ? `${SHADOW_TRIP_PREFIX}failed in ${percent(errorRate)} of its last ${window.runs} runs (limit ${percent(limits.errorRate)})`
          : `${SHADOW_TRIP_PREFIX}timed out in ${percent(timeoutRate)} of its last ${window.runs} runs` +
            // Said apart, so the counts in the report (few runs, many skipped) read right.
            `${window.hung > 0 ? ` (${window.hung} of them skipped while its earlier runs hung past the timeout)` : ''} (limit ${percent(limits.timeoutRate)})`;
      const trip: GuardrailEvent = { kind: 'guardrail', eventId: newEventId(), trackSetId, track, cause, at: now };
      this.#emit(trip);
      try {
        this.#onGuardrail?.({ trackSetId, track, cause, at: now });
      } catch (error) {
        this.#errors.report('guardrail', error);
      }
      return;
    }
    // A window of about ten times minRuns: old runs fade, so a candidate that turns bad is caught.
    if (window.runs >= limits.minRuns * 10) {
      window.runs = Math.round(window.runs / 2);
      window.errors = Math.round(window.errors / 2);
      window.timeouts = Math.round(window.timeouts / 2);
      // Part of the timeouts: kept whole, a long run's cause read "11 of them" of 6 timeouts.
      window.hung = Math.min(window.timeouts, Math.round(window.hung / 2));
    }
  }
}

function newCell(trackSetId: string, track: string, minute: number): ShadowCell {
  return {
    trackSetId,
    track,
    minute,
    ...zeroShadowCounts(),
    baselineHistogram: emptyHistogram(),
    candidateHistogram: emptyHistogram(),
    slowerHistogram: emptyHistogram(),
    fasterHistogram: emptyHistogram(),
  };
}

function shadowEvent(cell: ShadowCell): ShadowEvent {
  return { kind: 'shadow', eventId: newEventId(), ...cell };
}

/**
 * A value as the JSON text of a sample, cut to `maxBytes` of UTF-8 (with a marker), never
 * splitting a character, with what no store can hold (NUL, lone surrogates) replaced. What JSON
 * cannot write is described where it stands, so that a sample still shows the difference the
 * comparison saw: a BigInt as `"12n"`, `-0`, `NaN` and the infinities as `"[-0]"` and the like
 * (JSON writes 0 and null), a reference back to an enclosing object as `"[Circular]"`.
 */
export function sampleText(value: unknown, maxBytes: number): string {
  let text: string;
  // The objects enclosing the one being written (JSON.stringify calls the replacer on the holder).
  const ancestors: unknown[] = [];
  function describe(this: unknown, _key: string, v: unknown): unknown {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0) ? v : `[${Object.is(v, -0) ? '-0' : String(v)}]`;
    if (typeof v !== 'object' || v === null) return v;
    while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
    if (ancestors.includes(v)) return '[Circular]';
    ancestors.push(v);
    return v;
  }
  try {
    text = JSON.stringify(value, describe) ?? String(value);
  } catch (error) {
    text = `[not JSON: ${messageOf(error)}]`;
  }
  text = wellFormed(text.replace(/\u0000/g, '\\u0000'));
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const marker = '…[cut]';
  const budget = maxBytes - Buffer.byteLength(marker);
  // Cut on a character boundary: decode the first `budget` bytes and drop a partial last character.
  const cut = Buffer.from(text).subarray(0, Math.max(0, budget)).toString('utf8').replace(/\uFFFD$/, '');
  return cut + marker;
}


function percent(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}
