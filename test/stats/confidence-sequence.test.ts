import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import {
  confidenceSequence,
  lift,
  sequentialLift,
  type MetricKind,
  type SufficientStatistics,
} from '../../src/stats/index.js';
import { assertEstimateMatches, conversions, loadFixture } from './fixtures.js';

interface Inputs {
  readonly kind: MetricKind;
  readonly tuningParameter: number;
  readonly control: SufficientStatistics;
  readonly treatment: SufficientStatistics;
}
const fixture = loadFixture<Inputs>('confidence-sequence');

for (const c of fixture.cases) {
  test(`sequentialLift matches ${c.name}`, () => {
    const result = sequentialLift(c.inputs.control, c.inputs.treatment, {
      kind: c.inputs.kind,
      tuningParameter: c.inputs.tuningParameter,
    });
    assert.ok(result.ok && result.relative.ok);
    assertEstimateMatches(result.relative, c.expected, c.tolerance, c.name);
  });
}

test('confidenceSequence: always wider than the fixed-horizon interval', () => {
  const control = conversions(20_000, 1000);
  const treatment = conversions(20_000, 1100);
  const fixed = lift(control, treatment, { kind: 'proportion' });
  const always = sequentialLift(control, treatment, { kind: 'proportion', tuningParameter: 40_000 });
  assert.ok(fixed.ok && always.ok);
  const [fl, fu] = fixed.absolute.confidenceInterval;
  const [al, au] = always.absolute.confidenceInterval;
  assert.ok(al < fl && au > fu);
  assert.ok(always.absolute.pValue >= fixed.absolute.pValue);
});

test('confidenceSequence: the p-value is below alpha exactly when the interval excludes 0', () => {
  for (const estimate of [0.01, 0.02, 0.03, 0.05, 0.08]) {
    const look = confidenceSequence(estimate, 0.01, 10_000, { alpha: 0.05 });
    assert.equal(look.pValue < 0.05, look.confidenceInterval[0] > 0, `estimate ${estimate}`);
  }
});

test('confidenceSequence: the interval is tightest, relative to the fixed one, near the tuning parameter', () => {
  const ratio = (n: number) => confidenceSequence(0, 1 / Math.sqrt(n), n, { tuningParameter: 10_000 }).halfWidth * Math.sqrt(n);
  assert.ok(ratio(10_000) < ratio(1000));
  assert.ok(ratio(10_000) < ratio(100_000));
});

test('confidenceSequence: a huge effect gives a tiny positive p-value', () => {
  const look = confidenceSequence(1, 0.001, 1_000_000);
  assert.ok(look.pValue > 0 && look.pValue < 1e-300);
});

test('confidenceSequence: bad arguments throw TracksError', () => {
  assert.throws(() => confidenceSequence(0.1, 0, 100), (e: unknown) => e instanceof TracksError && /standardError/.test(e.message));
  assert.throws(() => confidenceSequence(0.1, 0.1, 100, { tuningParameter: 0 }), /tuningParameter/);
  assert.throws(() => confidenceSequence(0.1, 0.1, 100, { alpha: 1 }), /alpha/);
});
