// CUPED in the report: every sum, count, mean and conversion metric is compared adjusted for
// each user's value of it in the window before their exposure (from the conversions the store
// already has), the unadjusted comparison kept beside it; `--no-cuped`, a metric's own
// `cuped: false` or `cuped: { windowDays }`, and several phases. Memory, SQLite and the CLI.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TracksError, buildReport, configure, cupedLift, memoryStore, readAnalysis, renderReport, sqliteStore } from '../../src/index.js';
import type { MetricDeclarations, RecordedEvent, Report, Store } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { startDashboard } from '../../src/dashboard/dashboard-server.js';
import { seededRandom } from '../support/random.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-cuped-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

const DAY = 86_400_000;
const START = Date.UTC(2026, 9, 1);

/** Box–Muller: two independent standard normals per call. */
function normals(random: () => number): () => [number, number] {
  return () => {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const a = 2 * Math.PI * random();
    return [r * Math.cos(a), r * Math.sin(a)];
  };
}

interface Data {
  readonly events: RecordedEvent[];
  /** Per track, each user's (Y, X): revenue after exposure, revenue in the 14 days before. */
  readonly users: Map<string, Array<[number, number]>>;
}

/**
 * Returning users of two tracks: each spent X in the week before exposure and Y after, with
 * corr(X, Y) = 0.7, and 'fast' lifting Y by `lift`. Some users have history older than 14 days
 * only (20 days before), which the default window must not read.
 */
function returningUsers(perTrack: number, lift: number, seed: number, phases: readonly string[] = ['p1']): Data {
  const normal = normals(seededRandom(seed));
  const events: RecordedEvent[] = [];
  const users = new Map<string, Array<[number, number]>>([['control', []], ['fast', []]]);
  phases.forEach((phase, p) => {
    const at = START + p * 2 * DAY;
    events.push({ kind: 'definition', eventId: `d-${phase}`, trackSetId: 'checkout', weights: { control: 1, fast: 1 }, coverage: 1, control: 'control', phase, at });
  });
  let n = 0;
  for (const track of ['control', 'fast']) {
    for (let i = 0; i < perTrack; i++) {
      const unit = `${track}-${i}`;
      const phase = phases[i % phases.length]!;
      const exposedAt = START + (i % phases.length) * 2 * DAY + 3_600_000;
      const [z1, z2] = normal();
      const x = 50 + 10 * z1;
      const y = 50 + 10 * (0.7 * z1 + Math.sqrt(1 - 0.49) * z2) + (track === 'fast' ? lift : 0);
      events.push({ kind: 'exposure', eventId: `x${n++}`, trackSetId: 'checkout', track, unit, at: exposedAt, phase });
      events.push({ kind: 'conversion', eventId: `c${n++}`, unit, metric: 'revenue', value: x, at: exposedAt - 7 * DAY });
      events.push({ kind: 'conversion', eventId: `c${n++}`, unit, metric: 'revenue', value: y, at: exposedAt + 60_000 });
      // Old history: outside the default 14-day window.
      if (i % 10 === 0) events.push({ kind: 'conversion', eventId: `c${n++}`, unit, metric: 'revenue', value: 1000, at: exposedAt - 20 * DAY });
      users.get(track)!.push([y, x]);
    }
  }
  return { events, users };
}

async function reportOf(store: Store, cuped?: false | { windowDays?: number }, metrics?: MetricDeclarations): Promise<Report> {
  const analysis = await readAnalysis(store, cuped === undefined ? {} : { cuped });
  return buildReport(analysis.sums, { metrics: metrics ?? analysis.metrics, ...(cuped === undefined ? {} : { cuped }) });
}

function revenueOf(report: Report, track = 'fast') {
  return report.trackSets[0]!.tracks.find((t) => t.name === track)!.metrics.find((m) => m.metric === 'revenue')!;
}

test('by default, a sum metric is compared with CUPED, exactly cupedLift on the users history, the unadjusted result beside it', async () => {
  const { events, users } = returningUsers(2000, 1, 11);
  const store = memoryStore();
  await store.write(events);
  const report = await reportOf(store);
  assert.deepEqual(report.cuped, { windowDays: 14 });
  const comparison = revenueOf(report).comparison!;
  assert.ok(comparison.cuped, 'the comparison is adjusted');

  // The same estimate from the users' values, computed here without the store.
  const sums = (pairs: Array<[number, number]>) => ({
    n: pairs.length,
    sum: pairs.reduce((a, [y]) => a + y, 0),
    sumSquares: pairs.reduce((a, [y]) => a + y * y, 0),
    covariateSum: pairs.reduce((a, [, x]) => a + x, 0),
    covariateSumSquares: pairs.reduce((a, [, x]) => a + x * x, 0),
    crossSum: pairs.reduce((a, [y, x]) => a + y * x, 0),
  });
  const expected = cupedLift(sums(users.get('control')!), sums(users.get('fast')!));
  assert.ok(expected.ok && expected.unadjusted.ok && expected.relative.ok);
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  assert.ok(close(comparison.absolute.estimate, expected.absolute.estimate), `${comparison.absolute.estimate} vs ${expected.absolute.estimate}`);
  assert.ok(close(comparison.pValue, expected.absolute.pValue));
  assert.ok(close(comparison.relative!.estimate, expected.relative.estimate));
  assert.ok(close(comparison.cuped.varianceReduction, expected.varianceReduction));
  assert.ok(close(comparison.cuped.unadjusted.absolute.estimate, expected.unadjusted.absolute.estimate));
  // corr 0.7: about half the variance goes (1 - 0.49).
  assert.ok(comparison.cuped.varianceReduction > 0.4 && comparison.cuped.varianceReduction < 0.58, `reduction ${comparison.cuped.varianceReduction}`);
  // A lift of 1 on a spread of 10 with 2,000 users per track: found with CUPED, not without.
  assert.ok(comparison.pValue < 0.05 && comparison.cuped.unadjusted.pValue > comparison.pValue);

  const text = renderReport(report);
  assert.match(text, /CUPED on fast: variance -\d+\.\d%; unadjusted [+-]\d+\.\d% \[/);
  assert.match(text, /CUPED: adjusted for each user's last 14 days before exposure/);
});

test('history that does not vary (every user the same) leaves the comparison unadjusted, and the report says why', async () => {
  const { events } = returningUsers(300, 1, 12);
  // Every user's history the same value: nothing to adjust with.
  const flat = events.map((e) => (e.kind === 'conversion' && e.at < START ? { ...e, value: 40 } : e));
  const store = memoryStore();
  await store.write(flat.filter((e) => !(e.kind === 'conversion' && e.value === 1000)));
  const report = await reportOf(store);
  const comparison = revenueOf(report).comparison!;
  assert.equal(comparison.cuped, null);
  assert.match(comparison.cupedNotApplied ?? '', /history of the metric does not vary/);
  assert.match(renderReport(report), /CUPED not applied on fast: the users' history of the metric does not vary/);
  // With --no-cuped, nothing to explain.
  assert.equal(revenueOf(await reportOf(store, false)).comparison!.cupedNotApplied, null);
});

test('cuped: false (--no-cuped) compares unadjusted, as the store without history would', async () => {
  const { events } = returningUsers(300, 1, 12);
  const store = memoryStore();
  await store.write(events);
  const on = await reportOf(store);
  const off = await reportOf(store, false);
  assert.equal(off.cuped, null);
  const plain = revenueOf(off).comparison!;
  assert.equal(plain.cuped, null);
  assert.deepEqual(plain.absolute, revenueOf(on).comparison!.cuped!.unadjusted.absolute);
  assert.doesNotMatch(renderReport(off), /CUPED/);
});

test("the window: history older than it is not read; a metric's own cuped.windowDays and cuped: false win over the report's", async () => {
  // Only the 20-day-old purchases are history here.
  const events: RecordedEvent[] = [{ kind: 'definition', eventId: 'd', trackSetId: 's', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: 'p', at: START }];
  const normal = normals(seededRandom(3));
  for (let i = 0; i < 400; i++) {
    const [z1, z2] = normal();
    const unit = `u${i}`;
    events.push({ kind: 'exposure', eventId: `x${i}`, trackSetId: 's', track: i % 2 ? 'b' : 'a', unit, at: START + 1000, phase: 'p' });
    events.push({ kind: 'conversion', eventId: `old${i}`, unit, metric: 'revenue', value: 50 + 10 * z1, at: START + 1000 - 20 * DAY });
    events.push({ kind: 'conversion', eventId: `new${i}`, unit, metric: 'revenue', value: 50 + 10 * (0.7 * z1 + 0.71 * z2), at: START + 2000 });
  }
  const store = memoryStore();
  await store.write(events);
  const cupedOf = (r: Report) => r.trackSets[0]!.tracks.find((t) => t.name === 'b')!.metrics.find((m) => m.metric === 'revenue')!.comparison!.cuped;
  assert.equal(cupedOf(await reportOf(store)), null, '14 days: no history, no adjustment');
  assert.ok(cupedOf(await reportOf(store, { windowDays: 30 }))!.varianceReduction > 0.3, '30 days reach it');
  // Declared on the metric (published by configure({ metrics }) in a real process).
  const declared = memoryStore();
  await declared.write([...events, { kind: 'metric', eventId: 'm', name: 'revenue', metricKind: 'sum', numerator: null, denominator: null, higherIsBetter: true, guardrail: false, analysis: { cuped: { windowDays: 21 } }, at: START }]);
  assert.deepEqual((await declared.readMetrics()).get('revenue'), { kind: 'sum', higherIsBetter: true, guardrail: false, cuped: { windowDays: 21 } });
  assert.ok(cupedOf(await reportOf(declared))!.varianceReduction > 0.3, "the metric's 21 days win over the report's 14");
  const off = memoryStore();
  await off.write([...events, { kind: 'metric', eventId: 'm', name: 'revenue', metricKind: 'sum', numerator: null, denominator: null, higherIsBetter: true, guardrail: false, analysis: { cuped: false }, at: START }]);
  assert.equal(cupedOf(await reportOf(off, { windowDays: 30 })), null, 'cuped: false on the metric wins');
});

test('several phases: each adjusted with its own theta and combined, on the metric scale', async () => {
  const { events } = returningUsers(1500, 1, 13, ['p1', 'p2']);
  const store = memoryStore();
  await store.write(events);
  const comparison = revenueOf(await reportOf(store)).comparison!;
  assert.equal(comparison.phases, 2);
  assert.ok(comparison.cuped!.varianceReduction > 0.35, `reduction ${comparison.cuped!.varianceReduction}`);
  // The relative lift divides by a revenue per user (about 50), not by an adjusted residual.
  assert.ok(Math.abs(comparison.relative!.estimate - comparison.absolute.estimate / 50) < 0.01, JSON.stringify(comparison.relative));
  assert.ok(comparison.absolute.interval[0] < 1 && comparison.absolute.interval[1] > 1, 'the interval covers the true lift of 1');
});

test('conversion, count and mean metrics are adjusted by their own kind of history; ratios are not', async () => {
  const random = seededRandom(5);
  const events: RecordedEvent[] = [{ kind: 'definition', eventId: 'd', trackSetId: 's', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: 'p', at: START }];
  let n = 0;
  for (let i = 0; i < 2000; i++) {
    const unit = `u${i}`;
    const at = START + 1000;
    events.push({ kind: 'exposure', eventId: `x${i}`, trackSetId: 's', track: i % 2 ? 'b' : 'a', unit, at, phase: 'p' });
    // A loyal user buys before and after much more often than others.
    const loyal = random() < 0.3;
    for (const when of [at - 3 * DAY, at + 1000]) {
      const buys = loyal ? 1 + Math.floor(random() * 4) : random() < 0.2 ? 1 : 0;
      for (let b = 0; b < buys; b++) {
        const value = loyal ? 40 + 10 * random() : 10 + 10 * random();
        events.push({ kind: 'conversion', eventId: `c${n++}`, unit, metric: 'order', value, at: when + b });
        events.push({ kind: 'conversion', eventId: `c${n++}`, unit, metric: 'basket', value, at: when + b });
      }
      // Everyone visited before; after, loyal users come back more often.
      if (when < at || random() < (loyal ? 0.9 : 0.5)) events.push({ kind: 'conversion', eventId: `c${n++}`, unit, metric: 'visit', value: 1, at: when });
    }
  }
  const metrics: MetricDeclarations = {
    order: { kind: 'count' },
    basket: { kind: 'mean' },
    visit: { kind: 'conversion' },
    per_visit: { kind: 'ratio', numerator: 'order', denominator: 'visit' },
  };
  const store = memoryStore();
  await store.write(events);
  const report = await reportOf(store, undefined, metrics);
  const b = report.trackSets[0]!.tracks.find((t) => t.name === 'b')!;
  const cupedOf = (name: string) => b.metrics.find((m) => m.metric === name)!.comparison?.cuped ?? null;
  assert.ok(cupedOf('order')!.varianceReduction > 0.2, `count: ${cupedOf('order')?.varianceReduction}`);
  assert.equal(cupedOf('per_visit'), null, 'a ratio is not adjusted');
  // Everyone visited before: a constant covariate has no variance, so nothing to adjust with.
  const visit = b.metrics.find((m) => m.metric === 'visit')!;
  assert.ok(visit.comparison !== null, 'visits are compared');
  assert.equal(visit.comparison.cuped, null);
  assert.ok(cupedOf('basket') !== null, 'mean: adjusted by the pre-exposure average basket');
});

test('a metric declaration checks cuped and cap, naming the field and the fix', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ kind: 'sum', cuped: { windowDays: 0 } }, /metrics\.m\.cuped is an object \{"windowDays":0\}; give \{ windowDays: 14 \}/],
    [{ kind: 'sum', cuped: true }, /metrics\.m\.cuped is true; give \{ windowDays: 14 \}.* or false/],
    [{ kind: 'ratio', numerator: 'a', denominator: 'b', cuped: { windowDays: 7 } }, /not to a ratio/],
    [{ kind: 'conversion', cap: { value: 10 } }, /a conversion cannot be capped/],
    [{ kind: 'sum', cap: { value: -1 } }, /cap is an object \{"value":-1\}; give \{ value: 1000 \}/],
    [{ kind: 'sum', cap: { percentile: 1 } }, /give .*\{ percentile: 0\.99 \}/],
    [{ kind: 'sum', cap: { value: 5, percentile: 0.9 } }, /cap is/],
  ];
  for (const [declaration, message] of bad) {
    assert.throws(() => configure({ store: memoryStore(), metrics: { m: declaration as never } }), (e: unknown) => e instanceof TracksError && message.test(e.message), JSON.stringify(declaration));
  }
});

test('SQLite and the CLI: tracks report shows the reduction; --no-cuped and --cuped-window', async () => {
  const path = join(dir, 'cuped.db');
  const store = sqliteStore(path);
  const { events } = returningUsers(500, 1, 21);
  await store.write(events);
  await store.close();
  const run = async (...args: string[]) => {
    let out = '';
    const code = await runCli(['report', '--store', path, ...args], { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {} });
    return { code, out };
  };
  const json = JSON.parse((await run('--json')).out) as Report;
  assert.ok(revenueOf(json).comparison!.cuped!.varianceReduction > 0.3);
  assert.match((await run()).out, /CUPED on fast: variance -/);
  const off = JSON.parse((await run('--json', '--no-cuped')).out) as Report;
  assert.equal(off.cuped, null);
  assert.equal(revenueOf(off).comparison!.cuped, null);
  assert.deepEqual(JSON.parse((await run('--json', '--cuped-window', '3')).out).cuped, { windowDays: 3 });
  const bad = await run('--no-cuped', '--cuped-window', '3');
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--no-cuped and --cuped-window contradict/);
  assert.match((await run('--cuped-window', 'soon')).out, /--cuped-window is 'soon'; give a number/);
});

test('the dashboard takes the same CUPED choice: --no-cuped and --cuped-window reach its report, and contradictions exit 2', async () => {
  const path = join(dir, 'cuped-dashboard.db');
  const store = sqliteStore(path);
  await store.write(returningUsers(300, 1, 22).events);
  await store.close();
  const shown = async (report?: { cuped: false | { windowDays: number } }) => {
    const dashboard = await startDashboard({ store: sqliteStore(path), port: 0, ...(report === undefined ? {} : { report }) });
    try {
      return (await Promise.all(['/api/report', '/api/report?trackset=checkout'].map(async (route) => (await fetch(new URL(route, dashboard.url))).json()))) as Report[];
    } finally {
      await dashboard.close();
    }
  };
  for (const report of await shown()) {
    assert.deepEqual(report.cuped, { windowDays: 14 });
    assert.ok(revenueOf(report).comparison!.cuped!.varianceReduction > 0.3);
  }
  for (const report of await shown({ cuped: false })) {
    assert.equal(report.cuped, null);
    assert.equal(revenueOf(report).comparison!.cuped, null);
  }
  // A 3-day window reads none of the history (7 days before exposure): nothing to adjust by.
  for (const report of await shown({ cuped: { windowDays: 3 } })) {
    assert.deepEqual(report.cuped, { windowDays: 3 });
    assert.ok(Math.abs(revenueOf(report).comparison!.cuped?.varianceReduction ?? 0) < 1e-9);
  }
  const cli = async (...args: string[]) => {
    let out = '';
    const code = await runCli(['dashboard', '--store', path, '--port', '0', ...args], { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {} });
    return { code, out };
  };
  const bad = await cli('--no-cuped', '--cuped-window', '3');
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--no-cuped and --cuped-window contradict/);
  assert.match((await cli('--correction', 'bonferroni')).out, /--correction is 'bonferroni'; use holm or bh/);
  const help = (await runCliHelp('dashboard')).out;
  for (const flag of ['--correction <m>', '--no-cuped', '--cuped-window <d>']) assert.ok(help.includes(flag), flag);
});

async function runCliHelp(command: string): Promise<{ out: string }> {
  let out = '';
  await runCli(['help', command], { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {} });
  return { out };
}
