import { TracksError } from '../errors.js';
import { quoted, shown } from '../text.js';
import type { MetricKind, SufficientStatistics } from './summary.js';

// Argument checks shared by the statistics layer. Bad arguments are programming errors, so
// they throw TracksError naming the argument; data that merely cannot support an answer
// (zero users, zero variance) is reported through StatResult instead.

/**
 * A number of any value (NaN and the infinities too, as Math's functions take them).
 *
 * @example
 * ```ts
 * assertNumber('x', '3'); // TracksError: x must be a number, got the string '3'
 * ```
 */
export function assertNumber(name: string, value: unknown): void {
  if (typeof value !== 'number') throw new TracksError(`${name} must be a number, got ${shown(value)}`);
}

export function assertFiniteNumber(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TracksError(`${name} must be a finite number, got ${shown(value)}`);
  }
}

export function assertNonNegative(name: string, value: number): void {
  assertFiniteNumber(name, value);
  if (value < 0) throw new TracksError(`${name} must not be negative, got ${value}`);
}

export function assertPositive(name: string, value: number): void {
  assertFiniteNumber(name, value);
  if (value <= 0) throw new TracksError(`${name} must be positive, got ${value}`);
}

/** For alpha, power and similar: strictly between 0 and 1. */
export function assertOpenUnitInterval(name: string, value: number): void {
  assertFiniteNumber(name, value);
  if (value <= 0 || value >= 1) {
    throw new TracksError(`${name} must be strictly between 0 and 1, got ${value}`);
  }
}

/** For p-values and rates: between 0 and 1 inclusive. */
export function assertUnitInterval(name: string, value: number): void {
  assertFiniteNumber(name, value);
  if (value < 0 || value > 1) {
    throw new TracksError(`${name} must be between 0 and 1, got ${value}`);
  }
}

export function assertStatistics(name: string, stats: SufficientStatistics): void {
  if (stats === null || typeof stats !== 'object') {
    throw new TracksError(`${name} must be an object { n, sum, sumSquares }`);
  }
  assertNonNegative(`${name}.n`, stats.n);
  if (!Number.isInteger(stats.n)) {
    throw new TracksError(`${name}.n must be a whole number of users, got ${stats.n}`);
  }
  assertFiniteNumber(`${name}.sum`, stats.sum);
  assertNonNegative(`${name}.sumSquares`, stats.sumSquares);
}

/** Binary metrics: the sum is a count of converted users, so 0 <= sum <= n. */
export function assertConversions(name: string, stats: SufficientStatistics): void {
  assertStatistics(name, stats);
  if (stats.sum < 0 || stats.sum > stats.n) {
    throw new TracksError(
      `${name}.sum counts converted users and must be between 0 and ${name}.n (${stats.n}), got ${stats.sum}`,
    );
  }
}

/**
 * For sums of real values: ΣY² ≥ (ΣY)²/n (a variance is never negative), allowing for
 * rounding in sums of millions of values. Sums that break it are not a sample (a typo, columns
 * mixed up); left alone, the variance would be clamped to 0 and a result reported anyway.
 */
export function assertPossibleSquares(name: string, sumField: string, squaresField: string, n: number, sum: number, sumSquares: number): void {
  if (n === 0) return;
  // Every variance is sumSquares - sum²/n: a sum whose square is past a double's range (values
  // near 1e154) would give Infinity - Infinity, and a false "zero variance", not an answer.
  if (!Number.isFinite(sum * sum)) {
    throw new TracksError(
      `${name}.${sumField} (${sum}) is too large to square in a double (its square passes 1.8e308); scale the values down (to thousands, millions) before comparing: a lift's relative figures do not change`,
    );
  }
  const least = (sum * sum) / n;
  if (sumSquares < least - 1e-7 * Math.max(least, sumSquares)) {
    throw new TracksError(
      `${name}.${squaresField} (${sumSquares}) is less than (${name}.${sumField})²/${name}.n = ${least}, which no data can give; pass the sum of each value squared`,
    );
  }
}

/**
 * The options of statistics function `fn`: an object, or undefined for the defaults; the
 * options every test shares (alpha, alternative, kind) are checked here, so their errors name
 * `fn` whichever helper reads them later.
 */
export function assertOptions(fn: string, options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') {
    throw new TracksError(`${fn}: options must be an object such as { alpha: 0.05, kind: 'mean' } (or left out), got ${shown(options)}`);
  }
  const { alpha, alternative, kind } = options as { alpha?: unknown; alternative?: unknown; kind?: unknown };
  if (alpha !== undefined) assertOpenUnitInterval(`${fn}: alpha`, alpha as number);
  if (alternative !== undefined && alternative !== 'two-sided' && alternative !== 'greater' && alternative !== 'less') {
    throw new TracksError(`${fn}: alternative must be 'two-sided', 'greater' or 'less', got ${typeof alternative === 'string' ? quoted(alternative) : shown(alternative)}`);
  }
  if (kind !== undefined && kind !== 'mean' && kind !== 'proportion') {
    throw new TracksError(`${fn}: kind must be 'mean' or 'proportion', got ${typeof kind === 'string' ? quoted(kind) : shown(kind)}`);
  }
}

/** A required object argument (a function's input, a track's statistics): an object, not null or an array. */
export function assertObject(name: string, value: unknown, example: string): void {
  // Not core's isObjectArgument: statistics import nothing of tracks but its error.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TracksError(`${name} must be an object such as ${example}, got ${shown(value)}`);
}

/** A required array argument. */
export function assertArray(name: string, value: unknown, example: string): void {
  if (!Array.isArray(value)) throw new TracksError(`${name} must be an array such as ${example}, got ${shown(value)}`);
}

/** A lift() result passed on (to posteriorOf, alwaysValid): one that was computed (`ok`). */
export function checkLiftResult(fn: string, value: unknown): void {
  const lift = value as { ok?: unknown; reason?: unknown; absolute?: unknown; control?: unknown; treatment?: unknown } | null;
  if (typeof lift === 'object' && lift !== null && lift.ok === false) {
    throw new TracksError(`${fn}: the lift could not be computed (${String(lift.reason)}); check result.ok before calling ${fn}(result)`);
  }
  assertObject(`${fn}: the lift`, value, 'what lift(control, treatment) returns when ok');
  for (const field of ['absolute', 'control', 'treatment'] as const) {
    if (typeof lift![field] !== 'object' || lift![field] === null) {
      throw new TracksError(`${fn}: the lift has no ${field}; pass what lift(control, treatment) returns when ok`);
    }
  }
}

/** The metric kind: 'mean' (the default) or 'proportion'. */
export function readKind(kind: unknown): MetricKind {
  if (kind === undefined) return 'mean';
  if (kind !== 'mean' && kind !== 'proportion') {
    throw new TracksError(`kind must be 'mean' or 'proportion', got ${typeof kind === 'string' ? quoted(kind) : shown(kind)}`);
  }
  return kind;
}
