import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport, holm, memoryStore, proportionTest, welchTest } from '../../src/index.js';
import type { RecordedEvent, Report, TrackSetResult } from '../../src/index.js';
import { DAY, PLAN, writeFixedData } from './fixed-data.js';

async function fixedReport(options: Parameters<typeof buildReport>[1] = {}): Promise<Report> {
  const store = memoryStore();
  await writeFixedData(store);
  return buildReport(await store.summarize(), { store: 'memory', now: new Date(DAY), ...options });
}

function delayOf(report: Report): TrackSetResult {
  const set = report.trackSets.find((s) => s.id === 'delay');
  assert.ok(set, 'the delay set is reported');
  return set;
}

test('counts users and conversions per track, ignoring conversions before exposure', async () => {
  const delay = delayOf(await fixedReport());
  assert.equal(delay.users, 3000);
  assert.equal(delay.baseline, 'control');
  for (const track of delay.tracks) {
    const plan = PLAN[track.name as keyof typeof PLAN];
    assert.equal(track.users, plan.users);
    const purchase = track.metrics.find((m) => m.metric === 'purchase')!;
    assert.equal(purchase.kind, 'proportion');
    assert.equal(purchase.conversions, plan.buyers, `${track.name}: the early conversion is not counted`);
    assert.equal(purchase.rate, plan.buyers / plan.users);
    // The rate's own 95% interval: p ± 1.96 sqrt(p (1 - p) / n).
    const p = plan.buyers / plan.users;
    const margin = 1.959963984540054 * Math.sqrt((p * (1 - p)) / plan.users);
    assert.ok(Math.abs(purchase.interval![0] - (p - margin)) < 1e-12 && Math.abs(purchase.interval![1] - (p + margin)) < 1e-12);
  }
  assert.deepEqual(delay.tracks.map((t) => t.name), ['control', 'short', 'long'], 'tracks in definition order');
});

test('binary metrics use the two-proportion z-test; revenue uses Welch', async () => {
  const delay = delayOf(await fixedReport());
  const control = { n: 1000, sum: 100, sumSquares: 100 };
  const long = { n: 1000, sum: 60, sumSquares: 60 };
  const expectedZ = proportionTest(control, long);
  assert.ok(expectedZ.ok);
  const purchase = delay.tracks.find((t) => t.name === 'long')!.metrics.find((m) => m.metric === 'purchase')!;
  assert.equal(purchase.comparison?.pValue, expectedZ.pValue);
  assert.ok(Math.abs(purchase.comparison!.absolute.estimate - -0.04) < 1e-12);

  const revenue = delay.tracks.find((t) => t.name === 'long')!.metrics.find((m) => m.metric === 'revenue')!;
  assert.equal(revenue.kind, 'mean');
  // Per-user totals: every 4th buyer spends 15, the others 10.
  const totals = (buyers: number) => Array.from({ length: buyers }, (_, i) => (i % 4 === 0 ? 15 : 10));
  const stats = (users: number, buyers: number) => {
    const t = totals(buyers);
    return { n: users, sum: t.reduce((a, b) => a + b, 0), sumSquares: t.reduce((a, b) => a + b * b, 0) };
  };
  const welch = welchTest(stats(1000, 100), stats(1000, 60));
  assert.ok(welch.ok);
  assert.equal(revenue.comparison?.pValue, welch.pValue);
  assert.equal(revenue.total, stats(1000, 60).sum);
});

test('p-values are Holm-adjusted across every comparison of the set', async () => {
  const delay = delayOf(await fixedReport());
  const comparisons = delay.tracks.flatMap((t) => t.metrics.map((m) => m.comparison)).filter((c) => c !== null);
  assert.equal(comparisons.length, 4, '2 tracks x 2 metrics');
  const adjusted = holm(comparisons.map((c) => c.pValue));
  assert.deepEqual(comparisons.map((c) => c.adjustedPValue), adjusted);
  const long = delay.tracks.find((t) => t.name === 'long')!.metrics.find((m) => m.metric === 'purchase')!.comparison!;
  assert.equal(long.significant, true);
  assert.ok(long.chanceToBeatControl! < 0.01, 'long clearly loses');
  assert.ok(long.relative!.interval[0] < long.relative!.estimate && long.relative!.estimate < long.relative!.interval[1]);
  const short = delay.tracks.find((t) => t.name === 'short')!.metrics.find((m) => m.metric === 'purchase')!.comparison!;
  assert.equal(short.significant, false);
});

test('Benjamini-Hochberg is an option, and sequential intervals are wider', async () => {
  const fixed = delayOf(await fixedReport());
  const bh = delayOf(await fixedReport({ correction: 'benjamini-hochberg' }));
  const sequential = delayOf(await fixedReport({ sequential: true }));
  const width = (set: TrackSetResult) => {
    const c = set.tracks.find((t) => t.name === 'long')!.metrics[0]!.comparison!;
    return c.absolute.interval[1] - c.absolute.interval[0];
  };
  assert.ok(width(sequential) > width(fixed));
  const pick = (set: TrackSetResult) => set.tracks.find((t) => t.name === 'short')!.metrics[0]!.comparison!.adjustedPValue;
  assert.ok(pick(bh) <= pick(fixed));
  assert.equal(sequential.warnings.some((w) => w.kind === 'peeking'), false, 'sequential testing may be checked daily');
  assert.equal(fixed.warnings.some((w) => w.kind === 'peeking'), true);
});

test('latency quantiles and error rates come from the health histograms', async () => {
  const delay = delayOf(await fixedReport());
  const long = delay.tracks.find((t) => t.name === 'long')!.latency;
  assert.equal(long.runs, 1000);
  assert.equal(long.errors, 10);
  assert.equal(long.errorRate, 0.01);
  assert.equal(long.meanMs, 2000);
  assert.ok(long.p50Ms! > delay.tracks.find((t) => t.name === 'short')!.latency.p50Ms!);
});

test('a skewed split raises a sample-ratio warning; small tracks raise too-few-users', async () => {
  const store = memoryStore();
  const events = [];
  events.push({ kind: 'definition' as const, eventId: 'd', trackSetId: 'skew', weights: { control: 1, treatment: 1 }, coverage: 1, at: DAY });
  for (let i = 0; i < 1300; i++) {
    const track = i < 800 ? 'control' : 'treatment';
    events.push({ kind: 'exposure' as const, eventId: `e${i}`, trackSetId: 'skew', track, unit: `u${i}`, at: DAY });
  }
  events.push({ kind: 'exposure' as const, eventId: 'tiny', trackSetId: 'tiny', track: 'control', unit: 'x', at: DAY });
  await store.write(events);
  const report = buildReport(await store.summarize());
  const skew = report.trackSets.find((s) => s.id === 'skew')!;
  assert.equal(skew.srm?.mismatch, true);
  assert.ok(skew.warnings.some((w) => w.kind === 'sample-ratio-mismatch'));
  const tiny = report.trackSets.find((s) => s.id === 'tiny')!;
  assert.ok(tiny.warnings.some((w) => w.kind === 'too-few-users'));
});

test('a set without a control track asks for a baseline, and uses the one given', async () => {
  const store = memoryStore();
  await store.write([
    { kind: 'exposure', eventId: 'a', trackSetId: 'pricing', track: 'price_adjusted_by_0', unit: 'u1', at: DAY },
    { kind: 'exposure', eventId: 'b', trackSetId: 'pricing', track: 'price_adjusted_by_1', unit: 'u2', at: DAY },
  ]);
  const without = buildReport(await store.summarize());
  assert.equal(without.trackSets[0]!.baseline, null);
  assert.ok(without.trackSets[0]!.warnings.some((w) => w.kind === 'no-baseline' && w.message.includes('--control pricing=')));
  const withBaseline = buildReport(await store.summarize(), { baselines: { pricing: 'price_adjusted_by_0' } });
  assert.equal(withBaseline.trackSets[0]!.baseline, 'price_adjusted_by_0');
  assert.equal(withBaseline.trackSets[0]!.tracks.find((t) => t.isBaseline)?.name, 'price_adjusted_by_0');
});

test('zero variance gives "cannot compute" with the reason, never NaN', async () => {
  const store = memoryStore();
  const events = [];
  for (let i = 0; i < 200; i++) {
    events.push({ kind: 'exposure' as const, eventId: `e${i}`, trackSetId: 'flat', track: i % 2 ? 'control' : 'b', unit: `u${i}`, at: DAY });
    events.push({ kind: 'conversion' as const, eventId: `c${i}`, unit: `u${i}`, metric: 'visit', value: 1, at: DAY + 1 });
  }
  await store.write(events);
  const report = buildReport(await store.summarize());
  const metric = report.trackSets[0]!.tracks.find((t) => t.name === 'b')!.metrics[0]!;
  assert.equal(metric.comparison, null);
  assert.match(metric.cannotCompute!, /variance/);
  assert.doesNotMatch(JSON.stringify(report), /NaN/);
});

test('the timeline gives cumulative lift per day', async () => {
  const delay = delayOf(await fixedReport({ timeline: true }));
  const days = [...new Set(delay.timeline!.map((p) => p.day))];
  assert.deepEqual(days, ['2026-11-02', '2026-11-03']);
  const longPoints = delay.timeline!.filter((p) => p.track === 'long' && p.metric === 'purchase');
  assert.deepEqual(longPoints.map((p) => p.users), [500, 1000], 'users accumulate day by day');
  assert.ok(longPoints.every((p) => p.relative !== null && p.relative.estimate < 0));
});

test('the JSON report has the documented, stable shape', async () => {
  const report = JSON.parse(JSON.stringify(await fixedReport())) as Record<string, unknown>;
  assert.deepEqual(Object.keys(report), ['version', 'generatedAt', 'store', 'alpha', 'sequential', 'correction', 'cuped', 'latencyBucketBoundsMs', 'trackSets']);
  assert.equal(report.version, 1);
  const set = (report.trackSets as Record<string, unknown>[])[0]!;
  assert.deepEqual(Object.keys(set), ['id', 'holdout', 'status', 'serving', 'baseline', 'users', 'firstExposureAt', 'lastExposureAt', 'srm', 'srmExcluded', 'phases', 'analysedPhases', 'inferredMetrics', 'warnings', 'tracks', 'guardrails', 'shadow']);
  const track = (set.tracks as Record<string, unknown>[])[1]!;
  assert.deepEqual(Object.keys(track), ['name', 'isBaseline', 'users', 'expectedShare', 'metrics', 'latency']);
  const metric = (track.metrics as Record<string, unknown>[])[0]!;
  assert.deepEqual(Object.keys(metric), ['metric', 'kind', 'type', 'declared', 'higherIsBetter', 'guardrail', 'value', 'conversions', 'total', 'rate', 'mean', 'interval', 'cap', 'comparison', 'cannotCompute']);
  assert.deepEqual(Object.keys(metric.comparison as object), ['absolute', 'relative', 'relativeCannotCompute', 'pValue', 'chanceToBeatControl', 'risk', 'phases', 'cuped', 'cupedNotApplied', 'adjustedPValue', 'significant', 'verdict']);
});

test('a baseline of 0 (no conversions): the absolute difference is compared, and the report says why there is no relative lift, in JSON and in text', async () => {
  const { renderReport } = await import('../../src/index.js');
  const store = memoryStore();
  const day = Date.UTC(2026, 5, 1);
  const events: RecordedEvent[] = [{ kind: 'definition', eventId: 'd', trackSetId: 'zero', weights: { control: 1, b: 1 }, coverage: 1, control: 'control', at: day }];
  for (let u = 0; u < 400; u++) {
    const track = u % 2 ? 'b' : 'control';
    events.push({ kind: 'exposure', eventId: `x${u}`, trackSetId: 'zero', track, unit: `u${u}`, at: day + u });
    if (track === 'b' && u % 5 === 1) events.push({ kind: 'conversion', eventId: `c${u}`, unit: `u${u}`, metric: 'buy', value: 1, at: day + u + 1 });
  }
  await store.write(events);
  const report = buildReport(await store.summarize(), {});
  const b = report.trackSets[0]!.tracks.find((t) => t.name === 'b')!.metrics.find((m) => m.metric === 'buy')!;
  assert.equal(b.cannotCompute, null, 'the absolute difference is compared');
  assert.ok(b.comparison !== null && b.comparison.absolute.estimate > 0);
  assert.equal(b.comparison.relative, null);
  assert.equal(b.comparison.relativeCannotCompute, 'the control mean is 0, so a relative lift is undefined');
  assert.equal(b.comparison.chanceToBeatControl, null);
  const text = renderReport(report);
  assert.match(text, /n\/a \(b\): relative lift: the control mean is 0, so a relative lift is undefined; the lift shown\s+is the absolute difference/);
  // a comparison with a relative lift says nothing of the kind
  const control = report.trackSets[0]!.tracks.find((t) => t.name === 'control')!;
  assert.equal(control.metrics[0]!.comparison, null);
});
