import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/errors.js';
import { bayesianComparison, type MetricKind, type SufficientStatistics } from '../../src/stats/index.js';
import { assertClose, conversions, loadFixture } from './fixtures.js';

interface Inputs {
  readonly kind: MetricKind;
  readonly control: SufficientStatistics;
  readonly treatment: SufficientStatistics;
}
const fixture = loadFixture<Inputs>('bayes');

for (const c of fixture.cases) {
  test(`bayesianComparison matches ${c.name}`, () => {
    const result = bayesianComparison(c.inputs.control, c.inputs.treatment, { kind: c.inputs.kind });
    assert.ok(result.ok);
    const actual: Record<string, number> = {
      expected: result.expected,
      standardDeviation: result.standardDeviation,
      ciLower: result.credibleInterval[0],
      ciUpper: result.credibleInterval[1],
      chanceToBeatControl: result.chanceToBeatControl,
      riskControl: result.risk.control,
      riskTreatment: result.risk.treatment,
    };
    for (const [key, expected] of Object.entries(c.expected)) {
      assertClose(actual[key] ?? Number.NaN, expected, c.tolerance, `${c.name} ${key}`);
    }
  });
}

test('bayesianComparison: risk(control) − risk(treatment) equals the expected effect', () => {
  // E[max(δ,0)] − E[max(−δ,0)] = E[δ], an identity of the model.
  const result = bayesianComparison(conversions(4000, 200), conversions(4000, 230), { kind: 'proportion' });
  assert.ok(result.ok);
  assert.ok(Math.abs(result.risk.control - result.risk.treatment - result.expected) < 1e-15);
});

test('bayesianComparison: an informative prior shrinks the effect toward its mean', () => {
  const control = conversions(1000, 50);
  const treatment = conversions(1000, 65);
  const flat = bayesianComparison(control, treatment, { kind: 'proportion' });
  const skeptical = bayesianComparison(control, treatment, {
    kind: 'proportion',
    prior: { mean: 0, variance: 0.1 ** 2 },
  });
  assert.ok(flat.ok && skeptical.ok);
  assert.ok(skeptical.expected < flat.expected && skeptical.expected > 0);
  assert.ok(skeptical.standardDeviation < flat.standardDeviation);
});

test('bayesianComparison: absolute difference and cannot-compute cases', () => {
  const absolute = bayesianComparison(conversions(1000, 50), conversions(1000, 60), {
    kind: 'proportion',
    difference: 'absolute',
  });
  assert.ok(absolute.ok);
  assert.ok(Math.abs(absolute.expected - 0.01) < 1e-15);
  const zeroBaseline = bayesianComparison(conversions(1000, 0), conversions(1000, 5), { kind: 'proportion' });
  assert.equal(zeroBaseline.ok, false);
  assert.equal(bayesianComparison(conversions(0, 0), conversions(0, 0), { kind: 'proportion' }).ok, false);
});

test('bayesianComparison: bad priors throw TracksError', () => {
  assert.throws(
    () => bayesianComparison(conversions(10, 1), conversions(10, 2), { prior: { mean: 0, variance: 0 } }),
    (e: unknown) => e instanceof TracksError && /prior\.variance/.test(e.message),
  );
});
