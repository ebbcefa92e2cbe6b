// Every statistics function that takes options refuses options that are not an object with a
// TracksError naming them, instead of a TypeError from reading a property of null.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import {
  alwaysValid,
  bayesianComparison,
  confidenceSequence,
  cupedLift,
  lift,
  pairedQuantileInterval,
  posteriorOf,
  proportionTest,
  quantileDifference,
  quantileInterval,
  rateInterval,
  sequentialLift,
  srmCheck,
  stratifiedLift,
  welchTest,
} from '../../src/stats/index.js';

const stats = { n: 100, sum: 40, sumSquares: 40 };
const cuped = { ...stats, covariateSum: 30, covariateSumSquares: 30, crossSum: 20 };
const histogram = { bounds: [0.05, 1, 10, 100], counts: [10, 50, 30, 10] };
const paired = { bounds: [0.05, 1, 10, 100], slower: [10, 20, 5, 1], faster: [10, 20, 5, 1] };
const fixed = lift(stats, { n: 100, sum: 50, sumSquares: 50 });
assert.ok(fixed.ok);

const calls: Array<[string, (options: never) => unknown]> = [
  ['welchTest', (o) => welchTest(stats, stats, o)],
  ['lift', (o) => lift(stats, stats, o)],
  ['cupedLift', (o) => cupedLift(cuped, cuped, o)],
  ['proportionTest', (o) => proportionTest(stats, stats, o)],
  ['srmCheck', (o) => srmCheck([100, 100], [1, 1], o)],
  ['quantileInterval', (o) => quantileInterval(histogram, 0.5, o)],
  ['quantileDifference', (o) => quantileDifference(histogram, histogram, 0.5, o)],
  ['pairedQuantileInterval', (o) => pairedQuantileInterval(paired, 0.5, o)],
  ['bayesianComparison', (o) => bayesianComparison(stats, stats, o)],
  ['posteriorOf', (o) => posteriorOf(fixed, o)],
  ['confidenceSequence', (o) => confidenceSequence(0.1, 0.05, 200, o)],
  ['sequentialLift', (o) => sequentialLift(stats, stats, o)],
  ['alwaysValid', (o) => alwaysValid(fixed, o)],
  ['rateInterval', (o) => rateInterval(5, 100, o)],
  ['stratifiedLift', (o) => stratifiedLift([], o)],
];

for (const [name, call] of calls) {
  test(`${name}: options of null or a number are a TracksError naming them`, () => {
    for (const bad of [null, 42]) {
      assert.throws(() => call(bad as never), (e: unknown) => e instanceof TracksError && new RegExp(`^${name}: options must be an object`).test(e.message), `${name}(${String(bad)})`);
    }
    assert.doesNotThrow(() => call(undefined as never), `${name} with its defaults`);
  });
}

for (const [name, call] of calls) {
  test(`${name}: a bad alpha, alternative or kind is a TracksError naming ${name}`, () => {
    for (const [bad, pattern] of [
      [{ alpha: 2 }, /alpha must be strictly between 0 and 1, got 2/],
      [{ alpha: '0.05' }, /alpha must be a finite number, got the string '0\.05'/],
      [{ alternative: 'bigger' }, /alternative must be 'two-sided', 'greater' or 'less', got 'bigger'/],
      [{ kind: 'ratio' }, /kind must be 'mean' or 'proportion', got 'ratio'/],
    ] as const) {
      assert.throws(() => call(bad as never), (e: unknown) => e instanceof TracksError && e.message.startsWith(`${name}: `) && pattern.test(e.message), `${name}(${JSON.stringify(bad)})`);
    }
  });
}
