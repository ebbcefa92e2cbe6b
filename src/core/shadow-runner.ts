import { TracksError } from '../errors.js';
import type { TrackDefinition, TrackSetDefinition } from './definition.js';
import { murmur3 } from './murmur3.js';
import { runHooks } from './run-hooks.js';
import { endShadowRun } from './request-scope.js';
import { candidateContext, withShadowContext } from './shadow-context.js';
import type { ShadowContext } from './shadow-context.js';
import type { ShadowDefinition } from './shadow-definition.js';

/**
 * Runs a shadow set's candidates beside its baseline. The bound on what a candidate costs the
 * caller: nothing of the candidate runs before the baseline's result is delivered. The
 * candidates start in a later turn of the event loop (setImmediate), so the code awaiting the
 * baseline runs first up to its next await (a handler that sends the result has written its
 * response); they then run one after another in random order (Scientist's answer to warm-cache
 * bias between them), each under its timeout's AbortSignal. `maxConcurrent` caps the set's
 * candidate runs in flight in this process, every candidate together, and each candidate may
 * hold at most its share of those slots (max(1, floor(maxConcurrent / candidates))), so a hung
 * candidate, which keeps its slots until it settles, cannot take the others' slots. What remains
 * shared is the process: a candidate's synchronous CPU work still occupies the event loop, and
 * no timeout can interrupt it.
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
  /**
   * The candidate's duration, in ms: for a timeout, the timeout (a lower bound: the candidate
   * took at least that long); null for skipped runs.
   */
  readonly candidateMs: number | null;
  /** A mismatch's sample, computed only when recording keeps it (cleaning costs); null otherwise. */
  readonly sample: (() => ShadowSample) | null;
  /** A skip because every slot of the candidate is held by a run that already timed out: a hung candidate. */
  readonly stuck?: boolean | undefined;
  /** The set's `compare` or `ignore` threw (the run counts as an error): for `onError`. */
  readonly hookError?: unknown;
}

/** A candidate's runs in flight in this process, and how many of them already timed out. */
interface Slots {
  running: number;
  timedOut: number;
}

/** A set's candidate runs in flight in this process, every candidate together, and per candidate. */
interface SetSlots {
  running: number;
  readonly byTrack: Map<string, Slots>;
}

const slots = new Map<string, SetSlots>();
// Sampled runs whose candidates have not all reported yet (scheduled or running).
const reporting = new Set<Promise<void>>();
// Candidate outcomes not reported yet, over every sampled run (scheduled or running).
let pendingOutcomes = 0;

const TWO_32 = 4294967296;

/** Whether this run of a shadow set also runs its candidates: by key when it has one, else at random. */
function shadowSampled(shadow: ShadowDefinition, key: string | null): boolean {
  if (shadow.sample >= 1) return true;
  if (shadow.sample <= 0) return false;
  return (key === null ? Math.random() : murmur3(key, shadow.seed) / TWO_32) < shadow.sample;
}

/**
 * Runs the baseline for the caller and, on a sampled run, schedules the candidates once its
 * result is in. The caller gets exactly what the baseline returns or throws; a baseline that
 * throws runs no candidate (there is nothing to compare with), and neither does one that
 * returns a thenable that is not a Promise (a query builder: reading its result would run it
 * again).
 */
export function runWithShadow(self: object, definition: TrackSetDefinition, key: string | null, args: readonly unknown[]): unknown {
  const shadow = definition.shadow!;
  const baseline = definition.control;
  const hooks = runHooks();
  if (hooks?.shadowed === undefined || hooks.shadowing?.() === false || !shadowSampled(shadow, key)) return baseline.invoke(self, args);
  const started = performance.now();
  const result = baseline.invoke(self, args);
  if (result instanceof Promise) {
    return result.then((value: unknown) => {
      schedule(self, definition, args, value, performance.now() - started);
      return value;
    });
  }
  if (isThenable(result)) return result;
  schedule(self, definition, args, result, performance.now() - started);
  return result;
}

function schedule(self: object, definition: TrackSetDefinition, args: readonly unknown[], baselineValue: unknown, baselineMs: number): void {
  const candidates = definition.tracks.filter((t) => t !== definition.control);
  if (candidates.length === 0) return;
  pendingOutcomes += candidates.length;
  const done = new Promise<void>((resolve) => {
    setImmediate(() => {
      void runCandidates(self, definition, shuffled(candidates), args, baselineValue, baselineMs).finally(resolve);
    });
  });
  reporting.add(done);
  void done.then(() => reporting.delete(done));
}

/**
 * Resolves once every shadow run scheduled before the call has reported each candidate's
 * outcome (a hanging candidate reports its timeout); runs scheduled later are not waited for,
 * so it resolves under steady traffic. `flush()` waits for it, within its own bound.
 */
export function shadowRunsReported(): Promise<void> {
  if (reporting.size === 0) return Promise.resolve();
  return Promise.all([...reporting]).then(() => undefined);
}

/**
 * Candidate runs scheduled or running that have not reported their outcome yet: what a
 * recorder that stops now would never count (`close()` counts them as dropped).
 */
export function shadowOutcomesPending(): number {
  return pendingOutcomes;
}

async function runCandidates(
  self: object,
  definition: TrackSetDefinition,
  candidates: readonly TrackDefinition[],
  args: readonly unknown[],
  baselineValue: unknown,
  baselineMs: number,
): Promise<void> {
  let left = candidates.length;
  try {
    for (const candidate of candidates) {
      const hooks = runHooks();
      if (hooks?.shadowed === undefined || hooks.shadowing?.() === false) return;
      const outcome = await runCandidate(self, definition, candidate, candidates.length, args, baselineValue, baselineMs);
      try {
        hooks.shadowed(outcome);
      } catch {
        // Recording reports its own failures; nothing of a shadow may escape into the process.
      }
      left--;
      pendingOutcomes--;
    }
  } finally {
    pendingOutcomes -= left;
  }
}

function slotsOf(definition: TrackSetDefinition, track: string): { pool: SetSlots; held: Slots } {
  let pool = slots.get(definition.id);
  if (pool === undefined) slots.set(definition.id, (pool = { running: 0, byTrack: new Map() }));
  let held = pool.byTrack.get(track);
  if (held === undefined) pool.byTrack.set(track, (held = { running: 0, timedOut: 0 }));
  return { pool, held };
}

async function runCandidate(
  self: object,
  definition: TrackSetDefinition,
  candidate: TrackDefinition,
  /** How many candidates the set has: each may hold max(1, floor(maxConcurrent / candidates)) slots. */
  candidates: number,
  args: readonly unknown[],
  baselineValue: unknown,
  baselineMs: number,
): Promise<ShadowOutcome> {
  const shadow = definition.shadow!;
  const outcome = (result: ShadowRunResult, candidateMs: number | null = null, extra: Partial<ShadowOutcome> = {}): ShadowOutcome => ({
    definition,
    track: candidate.name,
    result,
    baselineMs,
    candidateMs,
    sample: null,
    ...extra,
  });
  if (runHooks()?.shadowStopped?.(definition.id, candidate.name) === true) return outcome('skipped-guardrail');
  const { pool, held } = slotsOf(definition, candidate.name);
  // A run needs a free slot in the set's pool (maxConcurrent, every candidate together) and in
  // its candidate's share of it, so a hung candidate cannot hold the others' slots. Stuck: the
  // candidate's whole share is held by runs that already timed out (it hangs); a skip only
  // because the other candidates fill the pool says nothing about this one.
  const share = Math.max(1, Math.floor(shadow.maxConcurrent / candidates));
  if (held.running >= share || pool.running >= shadow.maxConcurrent) {
    return outcome('skipped-concurrency', null, held.running >= share && held.timedOut >= held.running ? { stuck: true } : {});
  }
  held.running++;
  pool.running++;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      // Counted as timed out before the abort: a candidate that stops at its signal settles
      // (and frees its slot, in the finally below) before the race below is decided, and a
      // count taken only then would never be taken back, leaving the slot judged hung for good.
      late = true;
      held.timedOut++;
      controller.abort(new Error(`shadow candidate '${candidate.name}' of '${definition.id}' passed its timeout of ${shadow.timeout} ms`));
      resolve('timeout');
    }, shadow.timeout);
    timer.unref();
  });
  const started = performance.now();
  // The candidate's own time, measured as the baseline's is: from its call, to its return when
  // it returns a value, or to its promise settling. Entering its context, and the await below
  // (a microtask turn, or whatever ran in it), are not its time: with them, identical code
  // read slower at p95 in the paired comparison.
  let invoked = started;
  let returnedMs: number | undefined;
  const ms = () => returnedMs ?? performance.now() - invoked;
  // The slot is held until the candidate settles, timed out or not: a candidate that ignores
  // its signal keeps its slot, so hung runs cannot pile up past its share of maxConcurrent.
  const context = candidateContext(controller.signal, shadow.readOnly, definition.id, candidate.name);
  const settled = (async () => {
    try {
      const value: unknown = await withShadowContext(context, () => {
        invoked = performance.now();
        const result = candidate.invoke(self, args);
        if (!isThenable(result)) returnedMs = performance.now() - invoked;
        return result;
      });
      return { ok: true as const, value, ms: ms() };
    } catch {
      return { ok: false as const, ms: ms() };
    } finally {
      endShadowRunAfter(context, shadow.timeout - (performance.now() - started));
      held.running--;
      pool.running--;
      if (late) held.timedOut--;
    }
  })();
  const ended = await Promise.race([settled, timedOut]);
  clearTimeout(timer);
  // A candidate whose synchronous work outlasts its timeout settles before the timer can fire:
  // it took longer than allowed all the same, and counts as a timeout (its guardrail too).
  if (ended === 'timeout' || ended.ms > shadow.timeout) return outcome('timeout', shadow.timeout);
  if (!ended.ok) return outcome('error', ended.ms);
  let same: unknown;
  try {
    same = shadow.compare(baselineValue, ended.value);
  } catch (error) {
    // A compare that throws cannot say the results agree: counted with the candidate's errors, and reported.
    return outcome('error', ended.ms, { hookError: error });
  }
  // An async compare's promise is truthy: every run would read as a match.
  if (isThenable(same)) return outcome('error', ended.ms, { hookError: asyncHook(same, definition, 'compare', 'counted as an error') });
  if (same) return outcome('match', ended.ms);
  try {
    // Truthy, as compare's answer is read: an ignore that returns a reason ('known rounding') ignores.
    const ignored: unknown = shadow.ignore?.(baselineValue, ended.value);
    if (isThenable(ignored)) throw asyncHook(ignored, definition, 'ignore', 'not ignored');
    if (ignored) return outcome('ignored', ended.ms);
  } catch (error) {
    return outcome('mismatch', ended.ms, { hookError: error, sample: sampleOf(shadow, args, baselineValue, ended.value) });
  }
  return outcome('mismatch', ended.ms, { sample: sampleOf(shadow, args, baselineValue, ended.value) });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The error for a shadow hook that returned a promise (its rejection, if any, is handled here). */
function asyncHook(returned: PromiseLike<unknown>, definition: TrackSetDefinition, hook: 'compare' | 'ignore', outcome: string): TracksError {
  void Promise.resolve(returned).then(undefined, () => {});
  return new TracksError(
    `${definition.className}: shadow.${hook} returned a promise; it must answer synchronously (true or false), as results are compared after both have settled. The run was ${outcome}`,
  );
}

/**
 * Ends the candidate's shadow run `ms` from now (at once when that has passed): once it has
 * settled and its timeout has passed. Until then everything it started, awaited or not (work it
 * left running without awaiting it), is its run and records nothing; what is still running after
 * both (a timer of a dependency it was the first to use) is the process's own. A candidate that
 * never settles stays a shadow run.
 */
export function endShadowRunAfter(context: ShadowContext, ms: number): void {
  if (ms <= 0) return endShadowRun(context);
  setTimeout(() => endShadowRun(context), ms).unref();
}

function sampleOf(shadow: ShadowDefinition, args: readonly unknown[], baseline: unknown, candidate: unknown): () => ShadowSample {
  return () => ({
    input: shadow.cleanInput === undefined ? args : shadow.cleanInput(args),
    baseline: shadow.clean === undefined ? baseline : shadow.clean(baseline),
    candidate: shadow.clean === undefined ? candidate : shadow.clean(candidate),
  });
}

/** Internal, for tests: a set's candidate runs in flight in this process, every candidate together. */
export function shadowRunsInFlight(trackSetId: string): number {
  return slots.get(trackSetId)?.running ?? 0;
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
