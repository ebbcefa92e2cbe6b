import { TracksError } from '../errors.js';
import type { SufficientStatistics } from './summary.js';

// Argument checks shared by the statistics layer. Bad arguments are programming errors, so
// they throw TracksError naming the argument; data that merely cannot support an answer
// (zero users, zero variance) is reported through StatResult instead.

export function assertFiniteNumber(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TracksError(`${name} must be a finite number, got ${String(value)}`);
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
