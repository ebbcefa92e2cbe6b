// Latency in the report: p50, p95 and p99 per track with intervals, computed from the stored
// histograms, and against the baseline's (difference, ratio, p-value); a track whose p95 is
// significantly worse is flagged; a no-op is shown as "< 0.05 ms", not as a bucket bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport, memoryStore, quantileInterval, renderReport } from '../../src/index.js';
import type { RecordedEvent, Report } from '../../src/index.js';
import { LATENCY_BUCKET_BOUNDS_MS, emptyHistogram, latencyBucket } from '../../src/model/latency-histogram.js';
import { seededRandom } from '../support/random.js';
import { pText } from '../../src/report/build-report.js';

const AT = Date.UTC(2026, 9, 1);

/** Health rows of lognormal latencies (median ms, sigma 0.5), histogrammed as the recorder does. */
function catalog(medians: Readonly<Record<string, number>>, runs: number, seed: number): RecordedEvent[] {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const events: RecordedEvent[] = [{ kind: 'definition', eventId: 'd', trackSetId: 'catalog', weights: Object.fromEntries(Object.keys(medians).map((t) => [t, 1])), coverage: 1, control: 'control', phase: 'p', at: AT }];
  for (const [track, median] of Object.entries(medians)) {
    const histogram = emptyHistogram();
    let totalMs = 0;
    for (let i = 0; i < runs; i++) {
      const ms = median * Math.exp(0.5 * normal());
      histogram[latencyBucket(ms)]!++;
      totalMs += ms;
    }
    events.push({ kind: 'health', eventId: `h-${track}`, trackSetId: 'catalog', track, minute: Math.floor(AT / 60_000), runs, errors: 0, totalMs, histogram });
    for (let u = 0; u < 200; u++) events.push({ kind: 'exposure', eventId: `x-${track}-${u}`, trackSetId: 'catalog', track, unit: `${track}-${u}`, at: AT + 1, phase: 'p' });
  }
  return events;
}

async function reportOf(events: RecordedEvent[]): Promise<Report> {
  const store = memoryStore();
  await store.write(events);
  return buildReport(await store.summarize(), {});
}

const latencyOf = (report: Report, track: string) => report.trackSets[0]!.tracks.find((t) => t.name === track)!.latency;

test('p50, p95 and p99 with intervals from the histogram, the same numbers as quantileInterval', async () => {
  const events = catalog({ control: 20, slow: 24 }, 5000, 1);
  const report = await reportOf(events);
  const control = latencyOf(report, 'control');
  assert.deepEqual(control.quantiles.map((q) => q.q), [0.5, 0.95, 0.99]);
  const health = events.find((e) => e.kind === 'health' && e.track === 'control') as Extract<RecordedEvent, { kind: 'health' }>;
  for (const q of control.quantiles) {
    const expected = quantileInterval({ bounds: LATENCY_BUCKET_BOUNDS_MS, counts: health.histogram }, q.q);
    assert.ok(expected.ok);
    assert.equal(q.estimateMs, expected.estimate);
    assert.deepEqual(q.interval, expected.confidenceInterval);
    assert.ok(q.interval[0] < q.estimateMs && q.estimateMs < q.interval[1]);
  }
  assert.equal(control.p95Ms, control.quantiles[1]!.estimateMs);
  // True p50 of a lognormal with median 20 is 20: inside the interval, not a bucket bound.
  assert.ok(control.quantiles[0]!.interval[0] < 20 && control.quantiles[0]!.interval[1] > 20);
  assert.equal(control.comparison, null, 'the baseline is not compared with itself');
});

test('a 20% slower track is flagged at p95, with the difference, the ratio and a p-value; an A/A track is not', async () => {
  const report = await reportOf(catalog({ control: 20, slow: 24, same: 20 }, 5000, 2));
  const slow = latencyOf(report, 'slow').comparison!.find((c) => c.q === 0.95)!;
  assert.ok(slow.slower && slow.pValue < 0.001);
  assert.ok(slow.ratio!.interval[0] < 1.2 && slow.ratio!.interval[1] > 1.2, `ratio ${JSON.stringify(slow.ratio)}`);
  assert.ok(slow.differenceMs.estimate > 0);
  const same = latencyOf(report, 'same').comparison!.find((c) => c.q === 0.95)!;
  assert.equal(same.slower, false);
  const warnings = report.trackSets[0]!.warnings.filter((w) => w.kind === 'latency');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /'slow' is significantly slower than 'control' at p95: 5\d ms vs 4\d ms \(\d+% slower/);
  const text = renderReport(report);
  assert.match(text, /p95 vs control +change \[CI\] +p/);
  assert.match(text, /slow +\+\d+\.\d% \[\+\d+\.\d%, \+\d+\.\d%\] +< 0\.001 +\* slower/);
  for (const line of text.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);
});

test('a no-op shows as "< 0.05 ms", not as the first bucket bound; the ratio is not computed below resolution', async () => {
  const report = await reportOf(catalog({ control: 20, noop: 0.0002 }, 2000, 3));
  const noop = latencyOf(report, 'noop');
  assert.ok(noop.quantiles.every((q) => q.belowResolution));
  assert.equal(noop.comparison!.find((c) => c.q === 0.95)!.ratio, null);
  assert.match(renderReport(report), /noop +2,000 +0 \(0\.00%\) +\S+ ms +< 0\.05 ms +< 0\.05 ms +< 0\.05 ms/);
});

test('against a no-op baseline: the warning prints its p95 as "< 0.05 ms" and "p < 0.001"; the change has its interval; two no-ops are "both < 0.05 ms"', async () => {
  const report = await reportOf(catalog({ control: 0.0002, slow: 0.4, noop: 0.0002 }, 3000, 5));
  const warning = report.trackSets[0]!.warnings.find((w) => w.kind === 'latency')!;
  assert.match(warning.message, /^'slow' is significantly slower than 'control' at p95: \S+ ms vs < 0\.05 ms, p < 0\.001$/);
  const text = renderReport(report);
  assert.match(text, /\n {2}slow +\+\S+ ms \[\+\S+ ms, \+\S+ ms\] +< 0\.001 +\* slower/);
  assert.match(text, /\n {2}noop +both < 0\.05 ms +\S+/);
  assert.ok(!/-0\.0%/.test(text), 'no change prints as -0.0%');
});

test('the JSON keeps the latency fields documented in docs/report-json.md', async () => {
  const report = JSON.parse(JSON.stringify(await reportOf(catalog({ control: 20, slow: 24 }, 1000, 4)))) as Report;
  const slow = latencyOf(report, 'slow');
  assert.deepEqual(Object.keys(slow), ['runs', 'errors', 'errorRate', 'meanMs', 'p50Ms', 'p95Ms', 'p99Ms', 'quantiles', 'comparison', 'histogram']);
  assert.deepEqual(Object.keys(slow.quantiles[0]!), ['q', 'estimateMs', 'interval', 'belowResolution', 'aboveRange']);
  assert.deepEqual(Object.keys(slow.comparison![0]!), ['q', 'differenceMs', 'ratio', 'pValue', 'slower']);
});

test('sentences say "p < 0.001", never "p = < 0.001"', () => {
  assert.equal(pText(0.0004), 'p < 0.001');
  assert.equal(pText(0.0004, 'p adj'), 'p adj < 0.001');
  assert.equal(pText(0.0123), 'p = 0.012');
});

test('a difference whose interval starts just above 0 (tracks a bucket apart) reads "> 0", not the smallest double', async () => {
  const events: RecordedEvent[] = [{ kind: 'definition', eventId: 'd', trackSetId: 'catalog', weights: { control: 1, short: 1 }, coverage: 1, control: 'control', phase: 'p', at: AT }];
  for (const [track, bucket] of [['control', 0], ['short', 1]] as const) {
    const histogram = emptyHistogram();
    histogram[bucket] = 3000;
    events.push({ kind: 'health', eventId: `h-${track}`, trackSetId: 'catalog', track, minute: Math.floor(AT / 60_000), runs: 3000, errors: 0, totalMs: 3000 * LATENCY_BUCKET_BOUNDS_MS[bucket]!, histogram });
    for (let u = 0; u < 200; u++) events.push({ kind: 'exposure', eventId: `x-${track}-${u}`, trackSetId: 'catalog', track, unit: `${track}-${u}`, at: AT + 1, phase: 'p' });
  }
  const report = await reportOf(events);
  const vs = latencyOf(report, 'short').comparison!.find((c) => c.q === 0.95)!;
  assert.ok(vs.differenceMs.interval[0] > 0 && vs.differenceMs.interval[0] < 1e-300, `the interval excludes 0: ${vs.differenceMs.interval[0]}`);
  const text = renderReport(report);
  assert.doesNotMatch(text, /e-\d{3}/);
  assert.match(text, /short +\+[\d.]+ ms \[> 0, \+[\d.]+ ms\]/);
});
