// Loads the JSON fixtures under test/fixtures/stats and compares numbers with the tolerance
// each case declares. Not a test file itself (no `.test.` in the name).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Estimate, SufficientStatistics } from '../../src/stats/index.js';

export interface Tolerance {
  readonly relative?: number;
  readonly absolute?: number;
  readonly why?: string;
}

export interface FixtureCase<I = Record<string, unknown>, E = Record<string, number>> {
  readonly name: string;
  readonly source: string;
  readonly inputs: I;
  readonly expected: E;
  readonly tolerance: Tolerance;
  readonly method?: string;
  readonly function?: string;
}

export interface Fixture<I, E> {
  readonly description: string;
  readonly cases: readonly FixtureCase<I, E>[];
}

export function loadFixture<I = Record<string, unknown>, E = Record<string, number>>(
  name: string,
): Fixture<I, E> {
  const url = new URL(`../fixtures/stats/${name}.json`, import.meta.url);
  const fixture = JSON.parse(readFileSync(url, 'utf8')) as Fixture<I, E>;
  assert.ok(fixture.cases.length > 0, `${name}.json has no cases`);
  for (const c of fixture.cases) {
    assert.ok(c.source.length > 20, `${name}.json case "${c.name}" must name its source`);
  }
  return fixture;
}

/** Asserts `actual` agrees with `expected` within the case's tolerance. */
export function assertClose(actual: number, expected: number, tolerance: Tolerance, label: string): void {
  assert.ok(Number.isFinite(actual), `${label}: got ${actual}, expected ${expected}`);
  const error = Math.abs(actual - expected);
  // 1e-12 absorbs the binary representation of decimal boundaries like 0.000005.
  const allowed =
    tolerance.absolute !== undefined
      ? tolerance.absolute + 1e-12
      : (tolerance.relative ?? 1e-6) * Math.abs(expected) + 1e-300;
  assert.ok(
    error <= allowed,
    `${label}: got ${actual}, expected ${expected} (error ${error}, allowed ${allowed})`,
  );
}

export type SampleSpec =
  | { readonly samples: readonly number[] }
  | { readonly linspace: readonly [number, number, number] }
  | SufficientStatistics;

/** numpy.linspace(start, stop, num) with the endpoint included. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : start + i * step));
}

/** Sufficient statistics of raw samples, or the statistics themselves. */
export function toStatistics(spec: SampleSpec): SufficientStatistics {
  if ('n' in spec) return spec;
  const values = 'samples' in spec ? spec.samples : linspace(...spec.linspace);
  let sum = 0;
  let sumSquares = 0;
  for (const value of values) {
    sum += value;
    sumSquares += value * value;
  }
  return { n: values.length, sum, sumSquares };
}

/** Binary metric: conversions are both the sum and the sum of squares. */
export function conversions(n: number, converted: number): SufficientStatistics {
  return { n, sum: converted, sumSquares: converted };
}

/** Checks an estimate against a fixture's expected estimate, standardError, ciLower, ciUpper and pValue. */
export function assertEstimateMatches(estimate: Estimate, expected: Record<string, number>, tolerance: Tolerance, label: string): void {
  const actual: Record<string, number> = {
    estimate: estimate.estimate,
    standardError: estimate.standardError,
    ciLower: estimate.confidenceInterval[0],
    ciUpper: estimate.confidenceInterval[1],
    pValue: estimate.pValue,
  };
  for (const [key, value] of Object.entries(expected)) {
    assertClose(actual[key] ?? Number.NaN, value, tolerance, `${label} ${key}`);
  }
}
