import { isDeepStrictEqual } from 'node:util';
import { TracksError } from '../errors.js';
import { murmur3 } from './murmur3.js';
import { checkOptionNames } from './suggest.js';
import { shown } from '../text.js';

/**
 * A track set's `static shadow`: run it in shadow mode. Every user is served the baseline
 * (`static control`); on a sample of runs the other tracks (candidates) also run on the same
 * arguments, after the baseline's result has been delivered, and their results and latency
 * are compared with the baseline's and recorded. A candidate's result, error or hang never
 * reaches the caller. `tracks promote <set>` later turns the set into a live A/B test.
 *
 * Candidates get the very argument objects the baseline got, and are compared with the
 * baseline's result object as it is when they finish: mutating either after the run makes
 * false mismatches.
 *
 * Annotate the field (`static shadow: ShadowOptions<Result> = ...`, or `satisfies`): an
 * unannotated object literal is not checked for misspelt options until it runs.
 *
 * Only side-effect-free code paths belong in a shadow: a candidate runs on real traffic, so
 * a candidate that writes writes twice. Declare `readOnly: true` and route writes through
 * `shadowContext().write()` to have them refused in shadow runs (see `assertReadOnlyShadow`).
 *
 * @example
 * ```ts
 * class CatalogQuery extends TrackSet {
 *   static override id = 'catalog-query';
 *   static override addControlTrack = false;
 *   static override control = 'old';
 *   static shadow: ShadowOptions<Product[]> = {
 *     sample: 0.05,          // 5% of runs also run the candidates
 *     timeout: 200,          // ms; the candidate's AbortSignal fires then
 *     compare: (old, fresh) => old.length === fresh.length && old.every((p, i) => p.sku === fresh[i]!.sku),
 *     maxConcurrent: 4,      // the set's candidate runs in flight per process, all candidates together
 *   };
 *   static old_track(category: string) { return oldQuery(category); }
 *   static new_track(category: string) { return newQuery(category, shadowContext().signal); }
 * }
 * ```
 */
export interface ShadowOptions<Result = unknown> {
  /** The share of runs whose candidates also run, 0 to 1 (default 0.01). Deterministic per key when the run has one. */
  readonly sample?: number | undefined;
  /** Milliseconds a candidate may take (default 1000): its `shadowContext().signal` aborts then, and the run counts as a timeout. */
  readonly timeout?: number | undefined;
  /** Whether the candidate's result equals the baseline's (default: deep strict equality, `util.isDeepStrictEqual`); synchronous: a promise returned counts the run as an error. */
  readonly compare?: ((baseline: Result, candidate: Result) => boolean) | undefined;
  /** A known, accepted difference: counted as ignored, not as a mismatch; synchronous (a promise returned: a mismatch, reported). */
  readonly ignore?: ((baseline: Result, candidate: Result) => boolean) | undefined;
  /** Maps a result before a mismatch sample is recorded (drop fields, redact, hash); the identity by default. */
  readonly clean?: ((value: Result) => unknown) | undefined;
  /** Maps the run's arguments before a mismatch sample is recorded (default: recorded as given). */
  readonly cleanInput?: ((args: readonly unknown[]) => unknown) | undefined;
  /**
   * The set's candidate runs in flight at once in this process, every candidate together
   * (default 8). Each candidate may hold at most its share of them,
   * max(1, floor(maxConcurrent / number of candidates)); a sampled run whose candidate finds no
   * free slot (in the set's or in its share) skips that candidate, counted. A hung candidate
   * (one that ignores its signal keeps its slots until it settles) holds only its share, so the
   * others keep running; its guardrail counts the runs it skips while its whole share is held by
   * timed-out runs as timeouts. With more candidates than `maxConcurrent`, each has one slot and
   * hung ones can fill the set's: set it to at least the number of candidates.
   */
  readonly maxConcurrent?: number | undefined;
  /** The candidates promise not to write: `shadowContext().write()` throws in their shadow runs. */
  readonly readOnly?: boolean | undefined;
  /**
   * Stops a candidate in this process (recorded as a guardrail) when, over at least `minRuns`
   * runs, its share of errors or of timeouts exceeds these rates. Default
   * `{ errorRate: 0.2, timeoutRate: 0.2, minRuns: 50 }`; `false` turns it off.
   */
  readonly guardrail?: false | { readonly errorRate?: number | undefined; readonly timeoutRate?: number | undefined; readonly minRuns?: number | undefined } | undefined;
  /** Mismatch samples kept per candidate and minute in each process (default 5), and the size of each, in bytes of JSON (default 4096). */
  readonly samples?: { readonly perMinute?: number | undefined; readonly maxBytes?: number | undefined } | undefined;
}

/** `static shadow`, validated, with its defaults applied. */
export interface ShadowDefinition {
  readonly sample: number;
  readonly timeout: number;
  readonly compare: (baseline: unknown, candidate: unknown) => boolean;
  readonly ignore: ((baseline: unknown, candidate: unknown) => boolean) | undefined;
  readonly clean: ((value: unknown) => unknown) | undefined;
  readonly cleanInput: ((args: readonly unknown[]) => unknown) | undefined;
  readonly maxConcurrent: number;
  readonly readOnly: boolean;
  readonly guardrail: { readonly errorRate: number; readonly timeoutRate: number; readonly minRuns: number } | null;
  readonly samplesPerMinute: number;
  readonly sampleBytes: number;
  /** Seed of the per-key sampling draw, independent of assignment. */
  readonly seed: number;
}

const OPTION_NAMES = ['sample', 'timeout', 'compare', 'ignore', 'clean', 'cleanInput', 'maxConcurrent', 'readOnly', 'guardrail', 'samples'];

/**
 * Reads `static shadow`; a TracksError names the class, the option and the fix. A shadow
 * needs a baseline with a result to compare with: `static control` naming one of the tracks
 * (with `addControlTrack = false`), or the class's own `control_track`.
 */
export function readShadow(value: unknown, className: string, id: string, baseline: { readonly name: string | null; readonly added: boolean }): ShadowDefinition | null {
  if (value === undefined || value === null || value === false) return null;
  const where = `${className}: static shadow`;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new TracksError(`${where} is ${shown(value)}; give an object such as { sample: 0.05, timeout: 200 }`);
  }
  const options = value as Record<string, unknown>;
  checkOptionNames(options, OPTION_NAMES, where);
  if (baseline.name === null || baseline.added) {
    throw new TracksError(
      `${where}: a shadow compares candidates with the baseline's result, but the baseline is ${baseline.added ? "the added no-op 'control'" : 'not set'}; ` +
        "set static addControlTrack = false and static control = '<the current code path's track>'",
    );
  }
  const number = (name: string, fallback: number, min: number, max: number, integer = false): number => {
    const given = options[name];
    if (given === undefined) return fallback;
    if (typeof given !== 'number' || Number.isNaN(given) || given < min || given > max || (integer && !Number.isInteger(given))) {
      throw new TracksError(`${where}.${name} is ${shown(given)}; use ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (default ${fallback})`);
    }
    return given;
  };
  const fn = <F>(name: string): F | undefined => {
    const given = options[name];
    if (given === undefined) return undefined;
    if (typeof given !== 'function') throw new TracksError(`${where}.${name} is ${shown(given)}; give a function, or leave it out`);
    return given as F;
  };
  const readOnly = options['readOnly'];
  if (readOnly !== undefined && typeof readOnly !== 'boolean') throw new TracksError(`${where}.readOnly is ${shown(readOnly)}; set it to true or false`);
  const samples = options['samples'];
  if (samples !== undefined && (typeof samples !== 'object' || samples === null || Array.isArray(samples))) {
    throw new TracksError(`${where}.samples is ${shown(samples)}; give { perMinute, maxBytes }, or leave it out`);
  }
  const sampleOptions = (samples ?? {}) as Record<string, unknown>;
  checkOptionNames(sampleOptions, SAMPLES_OPTION_NAMES, `${where}.samples`);
  const sampleNumber = (name: 'perMinute' | 'maxBytes', fallback: number, min: number, max: number): number => {
    const given = sampleOptions[name];
    if (given === undefined) return fallback;
    if (typeof given !== 'number' || !Number.isInteger(given) || given < min || given > max) {
      throw new TracksError(`${where}.samples.${name} is ${shown(given)}; use a whole number from ${min} to ${max} (default ${fallback})`);
    }
    return given;
  };
  return {
    sample: number('sample', 0.01, 0, 1),
    timeout: number('timeout', 1000, 1, 600_000),
    compare: fn<ShadowDefinition['compare']>('compare') ?? isDeepStrictEqual,
    ignore: fn('ignore'),
    clean: fn('clean'),
    cleanInput: fn('cleanInput'),
    maxConcurrent: number('maxConcurrent', 8, 1, 1_000_000, true),
    readOnly: readOnly === true,
    guardrail: readGuardrail(options['guardrail'], where),
    samplesPerMinute: sampleNumber('perMinute', 5, 0, 1000),
    sampleBytes: sampleNumber('maxBytes', 4096, 64, 1_048_576),
    seed: murmur3(`tracks:shadow:${id}`),
  };
}

function readGuardrail(value: unknown, where: string): ShadowDefinition['guardrail'] {
  if (value === false) return null;
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new TracksError(`${where}.guardrail is ${shown(value)}; give { errorRate, timeoutRate, minRuns }, or false to turn it off`);
  }
  const given = (value ?? {}) as Record<string, unknown>;
  checkOptionNames(given, GUARDRAIL_OPTION_NAMES, `${where}.guardrail`);
  const rate = (name: string, fallback: number, min: number, max: number, integer = false): number => {
    const v = given[name];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || Number.isNaN(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new TracksError(`${where}.guardrail.${name} is ${shown(v)}; use ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (default ${fallback})`);
    }
    return v;
  };
  return { errorRate: rate('errorRate', 0.2, 0, 1), timeoutRate: rate('timeoutRate', 0.2, 0, 1), minRuns: rate('minRuns', 50, 1, 1_000_000, true) };
}

const SAMPLES_OPTION_NAMES = ['perMinute', 'maxBytes'];
const GUARDRAIL_OPTION_NAMES = ['errorRate', 'timeoutRate', 'minRuns'];

