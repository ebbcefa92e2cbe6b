// Capping (winsorization) in the report: a declared cap limits each user's value before the
// comparison, the report states the cap (and what a percentile came to in each phase), and
// the comparison is Welch's on the capped values, checked by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport, memoryStore, readAnalysis, renderReport, welchTest } from '../../src/index.js';
import type { MetricDeclaration, MetricResult, RecordedEvent, Report } from '../../src/index.js';
import { capNote } from '../../src/report/metric-notes.js';
import { percentileRank } from '../../src/model/caps.js';

const AT = Date.UTC(2026, 9, 1);

/** One phase, tracks a (baseline) and b, each user's revenue as given (undefined: no purchase). */
function shop(revenue: readonly (readonly (number | undefined)[])[], cap: MetricDeclaration['cap']): RecordedEvent[] {
  const events: RecordedEvent[] = [
    { kind: 'definition', eventId: 'd', trackSetId: 'shop', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: 'p', at: AT },
    { kind: 'metric', eventId: 'm', name: 'revenue', metricKind: 'sum', numerator: null, denominator: null, higherIsBetter: true, guardrail: false, analysis: { cap: cap! }, at: AT },
  ];
  revenue.forEach((values, t) => {
    values.forEach((value, i) => {
      const unit = `${t}-${i}`;
      events.push({ kind: 'exposure', eventId: `x${unit}`, trackSetId: 'shop', track: t === 0 ? 'a' : 'b', unit, at: AT + 1, phase: 'p' });
      if (value !== undefined) events.push({ kind: 'conversion', eventId: `c${unit}`, unit, metric: 'revenue', value, at: AT + 2 });
    });
  });
  return events;
}

async function reportOf(events: RecordedEvent[]): Promise<Report> {
  const store = memoryStore();
  await store.write(events);
  const { sums, metrics } = await readAnalysis(store, { cuped: false });
  return buildReport(sums, { metrics, cuped: false });
}

const stats = (values: readonly number[]) => ({ n: values.length, sum: values.reduce((a, b) => a + b, 0), sumSquares: values.reduce((a, b) => a + b * b, 0) });
const revenueOf = (report: Report, track: string) => report.trackSets[0]!.tracks.find((t) => t.name === track)!.metrics.find((m) => m.metric === 'revenue')!;

test('cap: { value }: one whale no longer moves the mean; the comparison is Welch on the capped values', async () => {
  const a = [10, 20, undefined, 30, 15, undefined, 25, 40];
  const b = [12, 22, 5000, 35, undefined, 18, 27, 45]; // one whale
  const report = await reportOf(shop([a, b], { value: 100 }));
  const capped = (values: readonly (number | undefined)[]) => values.map((v) => Math.min(v ?? 0, 100));
  const expected = welchTest(stats(capped(a)), stats(capped(b)));
  assert.ok(expected.ok);
  const comparison = revenueOf(report, 'b').comparison!;
  assert.ok(Math.abs(comparison.absolute.estimate - expected.estimate) < 1e-12, `${comparison.absolute.estimate} vs ${expected.estimate}`);
  assert.ok(Math.abs(comparison.pValue - expected.pValue) < 1e-12);
  assert.equal(revenueOf(report, 'b').total, 12 + 22 + 100 + 35 + 18 + 27 + 45);
  assert.deepEqual(revenueOf(report, 'b').cap, { value: 100, applied: [100] });
  assert.match(renderReport(report), /capped: each user's total at most 100/);
});

test('cap: { percentile }: computed over every unit of the set in the phase, zeros included, and stated', async () => {
  // 20 users; 10 bought. p90 over 20 units: ceil(18) = 18th smallest = 3rd largest.
  const a = [1, 2, 3, 4, 5, undefined, undefined, undefined, undefined, undefined];
  const b = [6, 7, 8, 900, 1000, undefined, undefined, undefined, undefined, undefined];
  const report = await reportOf(shop([a, b], { percentile: 0.9 }));
  // Sorted from the top: 1000, 900, 8, ...: the cap is 8.
  assert.deepEqual(revenueOf(report, 'a').cap, { percentile: 0.9, applied: [8] });
  const capped = (values: readonly (number | undefined)[]) => values.map((v) => Math.min(v ?? 0, 8));
  const expected = welchTest(stats(capped(a)), stats(capped(b)));
  assert.ok(expected.ok);
  assert.ok(Math.abs(revenueOf(report, 'b').comparison!.absolute.estimate - expected.estimate) < 1e-12);
  assert.match(renderReport(report), /capped: each user's total at the 90th percentile of the set's users: 8/);
  const json = JSON.parse(JSON.stringify(report)) as Report;
  assert.deepEqual(json.trackSets[0]!.tracks[0]!.metrics.find((m) => m.metric === 'revenue')!.cap, { percentile: 0.9, applied: [8] });
});

test('a percentile that falls on users without a value does not cap, and says so', async () => {
  const a = [5, ...Array<undefined>(19).fill(undefined)];
  const b = [7, ...Array<undefined>(19).fill(undefined)];
  const report = await reportOf(shop([a, b], { percentile: 0.9 }));
  assert.deepEqual(revenueOf(report, 'a').cap, { percentile: 0.9, applied: [null] });
  assert.equal(revenueOf(report, 'b').total, 7, 'not capped');
  assert.match(renderReport(report), /90th percentile of the set's users: none \(it is 0 or less\)/);
});

test('the percentile rank is exact where q times the units lands just above a whole number in floating point', () => {
  // 0.07 * 100 = 7.000000000000001: the 7th smallest of 100 is the 94th from the top.
  assert.equal(percentileRank(0.07, 100), 94);
  assert.equal(percentileRank(0.99, 100), 2);
  assert.equal(percentileRank(0.9, 20), 3);
});

test('the cap line tells a phase without users ("no users") from one whose percentile is 0', () => {
  const metric = { metric: 'revenue', type: 'sum', cap: { percentile: 0.99, applied: [57.92, null, 55.38, null] } } as unknown as MetricResult;
  const line = capNote(metric, undefined, [120, 0, 80, 5]).join(' ').replace(/\s+/g, ' ');
  assert.match(line, /phase 1: 57\.92, phase 2: no users, phase 3: 55\.38, phase 4: none \(it is 0 or less\)/);
});
