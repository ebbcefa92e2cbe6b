import type { TrackDefinition, TrackSetDefinition } from './definition.js';
import { murmur3 } from './murmur3.js';
import { runHooks } from './run-hooks.js';
import { candidateContext, withShadowContext } from './shadow-context.js';
import type { ShadowDefinition } from './shadow-definition.js';

/**
 * Runs a shadow set's candidates beside its baseline. The bound on what a candidate costs the
 * caller: nothing of the candidate runs before the baseline's result is delivered. The
 * candidates start in a later turn of the event loop (setImmediate), so the code awaiting the
 * baseline runs first up to its next await (a handler that sends the result has written its
 * response); they then run one after another in random order (Scientist's answer to warm-cache
 * bias between them), each under its timeout's AbortSignal and the set's per-process
 * concurrency cap. What remains shared is the process: a candidate's synchronous CPU work
 * still occupies the event loop, and no timeout can interrupt it.
 */

/** How one candidate's shadow run ended. */
export type ShadowRunResult = 'match' | 'mismatch' | 'ignored' | 'error' | 'timeout' | 'skipped-concurrency' | 'skipped-guardrail';

/** A mismatch, for debugging: the arguments and both results, after the set's `cleanInput` and `clean`. */
export interface ShadowSample {
  readonly input: unknown;
  readonly baseline: unknown;
  readonly candidate: unknown;
}

/** One candidate's shadow run, as recording sees it. */
export interface ShadowOutcome {
  readonly definition: TrackSetDefinition;
  readonly track: string;
  readonly result: ShadowRunResult;
  /** The baseline's duration on this run, in ms. */
  readonly baselineMs: number;
  /** The candidate's duration, in ms; null for timeouts and skipped runs. */
  readonly candidateMs: number | null;
  /** A mismatch's sample, computed only when recording keeps it (cleaning costs); null otherwise. */
  readonly sample: (() => ShadowSample) | null;
}

// Candidate runs in flight, per set, in this process.
const inFlight = new Map<string, number>();
// Sampled runs whose candidates have not all reported yet (scheduled or running), and who waits for none.
let pending = 0;
let idle: Array<() => void> = [];

const TWO_32 = 4294967296;

/** Whether this run of a shadow set also runs its candidates: by key when it has one, else at random. */
export function shadowSampled(shadow: ShadowDefinition, key: string | null): boolean {
  if (shadow.sample >= 1) return true;
  if (shadow.sample <= 0) return false;
  return (key === null ? Math.random() : murmur3(key, shadow.seed) / TWO_32) < shadow.sample;
}

/**
 * Runs the baseline for the caller and, on a sampled run, schedules the candidates once its
 * result is in. The caller gets exactly what the baseline returns or throws; a baseline that
 * throws runs no candidate (there is nothing to compare with).
 */
export function runWithShadow(self: object, definition: TrackSetDefinition, key: string | null, args: readonly unknown[]): unknown {
  const shadow = definition.shadow!;
  const baseline = definition.control;
  if (runHooks()?.shadowed === undefined || !shadowSampled(shadow, key)) return baseline.invoke(self, args);
  const started = performance.now();
  const result = baseline.invoke(self, args);
  if (result instanceof Promise) {
    return result.then((value: unknown) => {
      schedule(self, definition, args, value, performance.now() - started);
      return value;
    });
  }
  schedule(self, definition, args, result, performance.now() - started);
  return result;
}

function schedule(self: object, definition: TrackSetDefinition, args: readonly unknown[], baselineValue: unknown, baselineMs: number): void {
  const candidates = definition.tracks.filter((t) => t !== definition.control);
  if (candidates.length === 0) return;
  pending++;
  setImmediate(() => {
    void runCandidates(self, definition, shuffled(candidates), args, baselineValue, baselineMs).finally(() => {
      if (--pending > 0) return;
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    });
  });
}

/**
 * Resolves once every shadow run scheduled so far has reported each candidate's outcome (a
 * hanging candidate reports its timeout). `flush()` waits for it, within its own bound.
 */
export function shadowRunsReported(): Promise<void> {
  return pending === 0 ? Promise.resolve() : new Promise((resolve) => idle.push(resolve));
}

async function runCandidates(
  self: object,
  definition: TrackSetDefinition,
  candidates: readonly TrackDefinition[],
  args: readonly unknown[],
  baselineValue: unknown,
  baselineMs: number,
): Promise<void> {
  for (const candidate of candidates) {
    const hooks = runHooks();
    if (hooks?.shadowed === undefined) return;
    const outcome = await runCandidate(self, definition, candidate, args, baselineValue, baselineMs);
    try {
      hooks.shadowed(outcome);
    } catch {
      // Recording reports its own failures; nothing of a shadow may escape into the process.
    }
  }
}

async function runCandidate(
  self: object,
  definition: TrackSetDefinition,
  candidate: TrackDefinition,
  args: readonly unknown[],
  baselineValue: unknown,
  baselineMs: number,
): Promise<ShadowOutcome> {
  const shadow = definition.shadow!;
  const outcome = (result: ShadowRunResult, candidateMs: number | null = null, sample: ShadowOutcome['sample'] = null): ShadowOutcome => ({
    definition,
    track: candidate.name,
    result,
    baselineMs,
    candidateMs,
    sample,
  });
  if (runHooks()?.shadowStopped?.(definition.id, candidate.name) === true) return outcome('skipped-guardrail');
  const running = inFlight.get(definition.id) ?? 0;
  if (running >= shadow.maxConcurrent) return outcome('skipped-concurrency');
  inFlight.set(definition.id, running + 1);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`shadow candidate '${candidate.name}' of '${definition.id}' passed its timeout of ${shadow.timeout} ms`));
      resolve('timeout');
    }, shadow.timeout);
    timer.unref();
  });
  const started = performance.now();
  // The slot is held until the candidate settles, timed out or not: a candidate that ignores
  // its signal keeps its slot, so hung candidates cannot pile up past maxConcurrent.
  const settled = (async () => {
    try {
      const context = candidateContext(controller.signal, shadow.readOnly, definition.id, candidate.name);
      const value: unknown = await withShadowContext(context, () => candidate.invoke(self, args));
      return { ok: true as const, value, ms: performance.now() - started };
    } catch {
      return { ok: false as const, ms: performance.now() - started };
    } finally {
      const left = (inFlight.get(definition.id) ?? 1) - 1;
      if (left > 0) inFlight.set(definition.id, left);
      else inFlight.delete(definition.id);
    }
  })();
  const ended = await Promise.race([settled, timedOut]);
  clearTimeout(timer);
  if (ended === 'timeout') return outcome('timeout');
  if (!ended.ok) return outcome('error', ended.ms);
  let same: boolean;
  try {
    same = shadow.compare(baselineValue, ended.value);
  } catch {
    // A compare that throws cannot say the results agree: counted with the candidate's errors.
    return outcome('error', ended.ms);
  }
  if (same) return outcome('match', ended.ms);
  let accepted = false;
  try {
    accepted = shadow.ignore?.(baselineValue, ended.value) === true;
  } catch {
    accepted = false;
  }
  if (accepted) return outcome('ignored', ended.ms);
  const value = ended.value;
  return outcome('mismatch', ended.ms, () => ({
    input: shadow.cleanInput === undefined ? args : shadow.cleanInput(args),
    baseline: shadow.clean === undefined ? baselineValue : shadow.clean(baselineValue),
    candidate: shadow.clean === undefined ? value : shadow.clean(value),
  }));
}

/** Internal, for tests: candidate runs in flight for a set in this process. */
export function shadowRunsInFlight(trackSetId: string): number {
  return inFlight.get(trackSetId) ?? 0;
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
