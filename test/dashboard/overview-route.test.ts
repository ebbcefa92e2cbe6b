// GET /api/overview (the page's list of track sets) and the dashboard's known sets: the list
// reads no metric unless a guardrail needs one, and a set a report listed is not summarized
// again to tell whether it exists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDashboard } from '../../src/dashboard/dashboard-server.js';
import { memoryStore } from '../../src/index.js';
import type { RecordedEvent, Store, SummarizeOptions } from '../../src/index.js';
import type { Report } from '../../src/report/report-model.js';

const day = Date.UTC(2026, 5, 1);

/** Two sets with users, conversions and runs; `guardrail` declares a guardrail metric too. */
function events(guardrail: boolean): RecordedEvent[] {
  const out: RecordedEvent[] = [
    { kind: 'definition', eventId: 'd1', trackSetId: 'delay', weights: { control: 1, slow: 1 }, coverage: 1, control: 'control', at: day },
    { kind: 'definition', eventId: 'd2', trackSetId: 'pricing', weights: { control: 1, cheap: 1 }, coverage: 1, control: 'control', at: day },
  ];
  if (guardrail) out.push({ kind: 'metric', eventId: 'm1', name: 'refund', metricKind: 'conversion', numerator: null, denominator: null, higherIsBetter: false, guardrail: true, at: day });
  for (let u = 0; u < 300; u++) {
    for (const [set, other] of [['delay', 'slow'], ['pricing', 'cheap']] as const) {
      const track = u % 2 ? 'control' : other;
      out.push({ kind: 'exposure', eventId: `x-${set}-${u}`, trackSetId: set, track, unit: `u${u}`, at: day + u * 1000 });
    }
    if (u % 5 === 0) out.push({ kind: 'conversion', eventId: `c${u}`, unit: `u${u}`, metric: 'purchase', value: 10 + (u % 7), at: day + u * 1000 + 500 });
    if (u % 9 === 0) out.push({ kind: 'conversion', eventId: `r${u}`, unit: `u${u}`, metric: 'refund', value: 1, at: day + u * 1000 + 600 });
  }
  return out;
}

/** A memory store holding `events`, with every summarize call's options kept. */
async function countingStore(recorded: RecordedEvent[]): Promise<{ store: Store; summaries: (SummarizeOptions | undefined)[] }> {
  const inner = memoryStore();
  await inner.write(recorded);
  const summaries: (SummarizeOptions | undefined)[] = [];
  const store: Store = {
    ...inner,
    summarize: (options) => {
      summaries.push(options);
      return inner.summarize(options);
    },
  };
  return { store, summaries };
}

async function getJson(url: URL): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

/** What the list shows of each set: users per track, status and warnings. */
function listed(report: Report): unknown {
  return report.trackSets.map((s) => ({ id: s.id, status: s.status, users: s.users, tracks: s.tracks.map((t) => [t.name, t.users]), warnings: s.warnings, last: s.lastExposureAt }));
}

test('GET /api/overview: each set as /api/report lists it (users, status, warnings), summed without metrics', async () => {
  const { store, summaries } = await countingStore(events(false));
  const dashboard = await startDashboard({ store, port: 0 });
  try {
    const overview = await getJson(new URL('/api/overview', dashboard.url));
    assert.equal(overview.status, 200);
    assert.deepEqual(summaries.map((o) => o?.metrics), [false], 'one summary, without the metrics');
    const report = (await getJson(new URL('/api/report', dashboard.url))).body as Report;
    assert.deepEqual(listed(overview.body as Report), listed(report));
    assert.ok(report.trackSets.some((s) => s.tracks.some((t) => t.metrics.length > 0)), 'the report has metric results');
    assert.ok((overview.body as Report).trackSets.every((s) => s.tracks.every((t) => t.metrics.every((m) => m.conversions === 0 && m.total === 0))), 'the list has no metric sums');
  } finally {
    await dashboard.close();
  }
});

test('GET /api/overview with a guardrail metric declared: the whole report, since its warning needs the metric results', async () => {
  const { store, summaries } = await countingStore(events(true));
  const dashboard = await startDashboard({ store, port: 0 });
  try {
    const overview = (await getJson(new URL('/api/overview', dashboard.url))).body as Report;
    assert.deepEqual(summaries.map((o) => o?.metrics), [undefined]);
    const report = (await getJson(new URL('/api/report', dashboard.url))).body as Report;
    assert.deepEqual({ ...overview, generatedAt: null }, { ...report, generatedAt: null });
  } finally {
    await dashboard.close();
  }
});

test('a set a report listed is not summarized again for its dimensions; an unknown set is still a 404', async () => {
  const { store, summaries } = await countingStore(events(false));
  const dashboard = await startDashboard({ store, port: 0 });
  try {
    const unknownBefore = await getJson(new URL('/api/dimensions?trackset=delay', dashboard.url));
    assert.equal(unknownBefore.status, 200, 'a set the dashboard has not listed yet is looked up');
    assert.equal(summaries.length, 1);
    assert.equal((await getJson(new URL('/api/report?trackset=pricing', dashboard.url))).status, 200);
    assert.equal(summaries.length, 2);
    const dimensions = await getJson(new URL('/api/dimensions?trackset=pricing', dashboard.url));
    assert.deepEqual(dimensions, { status: 200, body: { dimensions: [] } });
    assert.equal(summaries.length, 2, 'the set its report listed is known');
    const unknown = await getJson(new URL('/api/dimensions?trackset=nope', dashboard.url));
    assert.equal(unknown.status, 404);
    assert.match(String((unknown.body as { error: string }).error), /unknown track set 'nope'/);
  } finally {
    await dashboard.close();
  }
});
