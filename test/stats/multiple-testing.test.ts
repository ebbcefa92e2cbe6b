import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import {
  adjustPValues,
  benjaminiHochberg,
  holm,
  type CorrectionMethod,
} from '../../src/stats/index.js';
import { assertClose, loadFixture } from './fixtures.js';

const fixture = loadFixture<{ pValues: number[] }, { adjusted: number[] }>('multiple-testing');

for (const c of fixture.cases) {
  test(`adjustPValues matches ${c.name}`, () => {
    const method = c.method as CorrectionMethod;
    const adjusted = adjustPValues(c.inputs.pValues, method);
    assert.equal(adjusted.length, c.expected.adjusted.length);
    c.expected.adjusted.forEach((expected, i) => {
      assertClose(adjusted[i] ?? Number.NaN, expected, c.tolerance, `${c.name} [${i}]`);
    });
  });
}

test('holm is the default correction', () => {
  const p = [0.01, 0.04, 0.03];
  assert.deepEqual(adjustPValues(p), holm(p));
  assert.deepEqual(adjustPValues(p, 'benjamini-hochberg'), benjaminiHochberg(p));
});

test("'bh' is Benjamini-Hochberg, as tracks report --correction spells it", () => {
  const p = [0.01, 0.04, 0.03, 0.2];
  assert.deepEqual(adjustPValues(p, 'bh'), benjaminiHochberg(p));
  assert.notDeepEqual(adjustPValues(p, 'bh'), holm(p));
});

test('corrections keep input order, are never below the raw p-value and never above 1', () => {
  const p = [0.5, 0.001, 0.2, 0.04, 0.04, 1];
  for (const adjusted of [holm(p), benjaminiHochberg(p)]) {
    adjusted.forEach((a, i) => {
      assert.ok(a >= (p[i] ?? 0) && a <= 1);
    });
  }
  assert.deepEqual(holm([]), []);
  assert.deepEqual(holm([0.3]), [0.3]);
});

test('bad p-values throw TracksError naming the index', () => {
  assert.throws(() => holm([0.1, 1.2]), (e: unknown) => e instanceof TracksError && /pValues\[1\]/.test(e.message));
  assert.throws(() => benjaminiHochberg([Number.NaN]), /pValues\[0\]/);
  assert.throws(() => adjustPValues([0.1], 'bonferroni' as CorrectionMethod), (e: unknown) => e instanceof TracksError && /adjustPValues: method .*'bonferroni'/.test(e.message));
});
