import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TracksError } from '../../src/index.js';
import { Guardrails } from '../../src/recording/guardrails.js';
import type { HealthCell } from '../../src/recording/health-aggregator.js';
import { emptyHistogram, latencyBucket } from '../../src/model/latency-histogram.js';

function cell(track: string, runs: number, ms: number, errors = 0): HealthCell {
  const histogram = emptyHistogram();
  histogram[latencyBucket(ms)] = runs;
  return { trackSetId: 'g', track, minute: 0, runs, errors, totalMs: runs * ms, histogram };
}

test('latency guardrail: a slow code path trips; a track that merely does work next to a no-op control does not', () => {
  const guardrails = new Guardrails({ minRuns: 10 });
  const trips = guardrails.observe([cell('control', 100, 0.01), cell('working', 100, 20), cell('stuck', 100, 900)], 1000);
  assert.deepEqual(trips.map((t) => t.track), ['stuck']);
  assert.match(trips[0]!.cause, /p95 latency .* ms vs control .* ms/);
  assert.equal(guardrails.isTripped('g', 'working'), false);
  assert.equal(guardrails.isTripped('g', 'stuck'), true);
});

test('error guardrail trips on the error rate over control', () => {
  const guardrails = new Guardrails({ minRuns: 10, maxErrorRateIncrease: 0.05 });
  const trips = guardrails.observe([cell('control', 100, 1, 1), cell('flaky', 100, 1, 20)], 1000);
  assert.deepEqual(trips.map((t) => t.track), ['flaky']);
  assert.match(trips[0]!.cause, /error rate 20\.0?% vs control 1\.0?%/);
});

test('bad guardrail options are a TracksError naming the option', () => {
  assert.throws(() => new Guardrails({ maxLatencyRatio: 0.5 }), (e: unknown) => e instanceof TracksError && /guardrails\.maxLatencyRatio is 0\.5/.test(e.message));
  assert.throws(() => new Guardrails({ windowMs: -1 }), TracksError);
});
