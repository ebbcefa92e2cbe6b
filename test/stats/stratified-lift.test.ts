import assert from 'node:assert/strict';
import { test } from 'node:test';
import { armOf, lift, ratioArm, stratifiedLift, welchTest, type MetricKind, type RatioStatistics, type SufficientStatistics } from '../../src/stats/index.js';
import { assertClose, loadFixture } from './fixtures.js';

interface Inputs {
  readonly kind: MetricKind;
  readonly strata: readonly { readonly control: SufficientStatistics; readonly treatment: SufficientStatistics }[];
}
interface Expected {
  readonly estimate: number;
  readonly standardError: number;
  readonly df: number;
  readonly ciLower: number;
  readonly ciUpper: number;
  readonly pValue: number;
  readonly relativeEstimate: number;
  readonly relativeStandardError: number;
  readonly relativePValue: number;
}
const fixture = loadFixture<Inputs, Expected>('stratified-lift');

function strataOf(inputs: Inputs) {
  return inputs.strata.map((s) => {
    const control = armOf(s.control, inputs.kind);
    const treatment = armOf(s.treatment, inputs.kind);
    assert.ok(control.ok && treatment.ok);
    return { control, treatment };
  });
}

for (const c of fixture.cases) {
  test(`stratifiedLift matches numpy/scipy on per-user arrays: ${c.name}`, () => {
    const result = stratifiedLift(strataOf(c.inputs));
    assert.ok(result.ok);
    const e = c.expected;
    assertClose(result.absolute.estimate, e.estimate, c.tolerance, 'estimate');
    assertClose(result.absolute.standardError, e.standardError, c.tolerance, 'standard error');
    assertClose(result.absolute.degreesOfFreedom, e.df, c.tolerance, 'degrees of freedom');
    assertClose(result.absolute.confidenceInterval[0], e.ciLower, c.tolerance, 'ci lower');
    assertClose(result.absolute.confidenceInterval[1], e.ciUpper, c.tolerance, 'ci upper');
    assertClose(result.absolute.pValue, e.pValue, { relative: 1e-7 }, 'p-value');
    assert.ok(result.relative.ok);
    assertClose(result.relative.estimate, e.relativeEstimate, c.tolerance, 'relative estimate');
    assertClose(result.relative.standardError, e.relativeStandardError, c.tolerance, 'relative standard error');
    assertClose(result.relative.pValue, e.relativePValue, { relative: 1e-7 }, 'relative p-value');
  });
}

test("Simpson's paradox: pooling the phases finds an effect that no phase has; the stratified lift does not", () => {
  const simpson = fixture.cases[0]!;
  const sum = (pick: 'control' | 'treatment'): SufficientStatistics =>
    simpson.inputs.strata.reduce((a, s) => ({ n: a.n + s[pick].n, sum: a.sum + s[pick].sum, sumSquares: a.sumSquares + s[pick].sumSquares }), { n: 0, sum: 0, sumSquares: 0 });
  const pooled = welchTest(sum('control'), sum('treatment'));
  assert.ok(pooled.ok && pooled.pValue < 1e-6, 'pooling is fooled');
  const stratified = stratifiedLift(strataOf(simpson.inputs));
  assert.ok(stratified.ok && stratified.absolute.pValue > 0.05, 'the stratified lift is not');
});

test('stratifiedLift with one stratum is exactly lift', () => {
  const control = { n: 3407, sum: 1396.87, sumSquares: 52377.9767 };
  const treatment = { n: 3461, sum: 2422.7, sumSquares: 134698.29 };
  const plain = lift(control, treatment);
  const c = armOf(control, 'mean');
  const t = armOf(treatment, 'mean');
  assert.ok(plain.ok && c.ok && t.ok);
  const one = stratifiedLift([{ control: c, treatment: t }]);
  assert.ok(one.ok && one.relative.ok && plain.relative.ok);
  assert.deepEqual(one.absolute, plain.absolute);
  assert.deepEqual(one.relative, plain.relative);
});

test('stratifiedLift leaves out phases with fewer than 2 users in a track, and says why when none is left', () => {
  const arm = (n: number, mean: number) => ({ n, mean, squaredError: 0.01 });
  const result = stratifiedLift([{ control: arm(100, 1), treatment: arm(100, 2) }, { control: arm(1, 50), treatment: arm(100, 50) }]);
  assert.ok(result.ok);
  assert.equal(result.absolute.estimate, 1, 'the second phase (1 control user) is left out');
  const none = stratifiedLift([{ control: arm(1, 1), treatment: arm(5, 1) }]);
  assert.deepEqual(none, { ok: false, reason: 'control has fewer than 2 users' });
});

interface RatioExpected {
  readonly mean: number;
  readonly squaredError: number;
}
for (const c of (loadFixture('stratified-lift') as unknown as { ratioCases: { name: string; inputs: RatioStatistics; expected: RatioExpected; tolerance: { relative: number } }[] }).ratioCases) {
  test(`ratioArm (delta method) matches numpy's covariance on per-user arrays: ${c.name}`, () => {
    const arm = ratioArm(c.inputs);
    assert.ok(arm.ok);
    assertClose(arm.mean, c.expected.mean, c.tolerance, 'ratio');
    assertClose(arm.squaredError, c.expected.squaredError, c.tolerance, 'variance of the ratio');
  });
}

test('ratioArm cannot compute with a zero denominator or fewer than 2 users', () => {
  assert.equal(ratioArm({ n: 5, sumX: 1, sumY: 0, sumSquaresX: 1, sumSquaresY: 0, sumProducts: 0 }).ok, false);
  assert.equal(ratioArm({ n: 1, sumX: 1, sumY: 1, sumSquaresX: 1, sumSquaresY: 1, sumProducts: 1 }).ok, false);
});
