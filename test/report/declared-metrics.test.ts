// Metrics declared once in configure({ metrics }), published to the store with a process's
// first event, and analysed as declared by `tracks report` with no flags: a conversion stays
// binomial when a user converts twice, sums, counts, means and ratios (delta method) are
// compared as such, higherIsBetter flips "better", and a guardrail metric is shown apart and
// warned about. Undeclared metrics are inferred, and the report says so. Real SQLite and
// PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, TracksError, buildReport, close, configure, convert, flush, memoryStore, readAnalysis, stats } from '../../src/index.js';
import type { MetricDeclarations, MetricResult, Report, RecordingOptions } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { normalQuantile, normalSf } from '../../src/stats/index.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor } from '../support/postgres.js';
import { seededRandom as random } from '../support/random.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-metrics-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));
const schemaFor = schemasFor('dm');

class ShopTracks extends TrackSet {
  static override id = 'shop';
  static fast_track() {}
}

const METRICS: MetricDeclarations = {
  purchase: { kind: 'conversion' },
  revenue: { kind: 'sum' },
  order: { kind: 'count' },
  latency_ms: { kind: 'mean', higherIsBetter: false },
  orders_per_visit: { kind: 'ratio', numerator: 'order', denominator: 'visit' },
  refunds: { kind: 'conversion', guardrail: true, higherIsBetter: false },
};


interface User {
  track: string;
  purchases: number;
  revenue: number;
  orders: number;
  visits: number;
  latencies: number[];
  refunds: number;
}

/** Records 3,000 users: 'fast' is quicker (lower latency) and refunds more; the rest has no true effect. */
async function record(options: RecordingOptions): Promise<User[]> {
  configure({ ...options, outbox: false, metrics: METRICS });
  const next = random(42);
  const users: User[] = [];
  for (let i = 0; i < 3000; i++) {
    const key = `shopper-${i}`;
    const track = new ShopTracks({ key }).name;
    const fast = track === 'fast';
    const user: User = { track, purchases: 0, revenue: 0, orders: 0, visits: 1 + Math.floor(next() * 4), latencies: [], refunds: 0 };
    convert({ key, metric: 'visit', value: user.visits });
    if (next() < 0.3) {
      // A user who buys often buys twice: a conversion metric still counts them once.
      user.purchases = next() < 0.3 ? 2 : 1;
      for (let p = 0; p < user.purchases; p++) {
        const value = Math.round(5 + next() * 20);
        user.revenue += value;
        convert({ key, metric: 'purchase' });
        convert({ key, metric: 'revenue', value });
        convert({ key, metric: 'order' });
        user.orders++;
      }
    }
    const pages = 1 + Math.floor(next() * 3);
    for (let p = 0; p < pages; p++) {
      const ms = Math.round((fast ? 80 : 120) + next() * 40);
      user.latencies.push(ms);
      convert({ key, metric: 'latency_ms', value: ms });
    }
    if (next() < (fast ? 0.12 : 0.04)) {
      user.refunds = 1;
      convert({ key, metric: 'refunds' });
    }
    convert({ key, metric: 'wishlist', value: next() < 0.2 ? 1 : 0 });
    users.push(user);
  }
  await flush();
  await close();
  return users;
}

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (x) => out.push(x), stderr: (x) => err.push(x), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
};

/** The Welch difference of per-user values, computed here from the users themselves. */
function welchFromUsers(control: number[], treatment: number[]) {
  const se = Math.sqrt(variance(control) / control.length + variance(treatment) / treatment.length);
  return { estimate: mean(treatment) - mean(control), se };
}

/** The delta-method ratio of per-user (x, y), from the users themselves. */
function ratioFromUsers(xs: number[], ys: number[]) {
  const n = xs.length;
  const mx = mean(xs);
  const my = mean(ys);
  const cov = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / (n - 1);
  const v = (variance(xs) / my ** 2 - (2 * mx * cov) / my ** 3 + (mx ** 2 * variance(ys)) / my ** 4) / n;
  return { ratio: mx / my, variance: v };
}

function close9(actual: number, expected: number, label: string) {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${label}: ${actual} vs ${expected}`);
}

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  test(`${kind}: declared metrics are published and analysed as declared, with no flags`, async (t) => {
    if (kind === 'PostgreSQL' && postgresUrl === undefined) return t.skip(POSTGRES_SKIP);
    let spec: string;
    let options: RecordingOptions;
    if (kind === 'SQLite') {
      spec = join(dir, 'shop.db');
      options = { store: spec };
    } else {
      const schema = schemaFor('shop');
      const url = new URL(postgresUrl!);
      url.searchParams.set('schema', schema);
      spec = url.toString();
      options = { store: postgresUrl!, schema };
    }
    const users = await record(options);
    const json = await cli('report', '--store', spec, '--json');
    assert.equal(json.code, 0, json.err);
    const set = (JSON.parse(json.out) as Report).trackSets[0]!;
    const metric = (track: string, name: string): MetricResult => set.tracks.find((x) => x.name === track)!.metrics.find((m) => m.metric === name)!;
    const of = (track: string) => users.filter((u) => u.track === track);

    // conversion: did the user convert, whatever the count; binomial.
    const purchase = metric('fast', 'purchase');
    assert.deepEqual([purchase.type, purchase.kind, purchase.declared], ['conversion', 'proportion', true]);
    close9(purchase.value!, of('fast').filter((u) => u.purchases > 0).length / of('fast').length, 'conversion rate');
    // sum: revenue per user, Welch.
    const revenue = metric('fast', 'revenue');
    assert.deepEqual([revenue.type, revenue.kind], ['sum', 'mean']);
    const w = welchFromUsers(of('control').map((u) => u.revenue), of('fast').map((u) => u.revenue));
    close9(revenue.comparison!.absolute.estimate, w.estimate, 'revenue difference');
    // count: orders per user.
    const orders = metric('fast', 'order');
    close9(orders.value!, mean(of('fast').map((u) => u.orders)), 'orders per user');
    // mean: the average of each converting user's latencies, lower is better.
    const latency = metric('fast', 'latency_ms');
    assert.deepEqual([latency.type, latency.higherIsBetter], ['mean', false]);
    const perUser = (track: string) => of(track).map((u) => mean(u.latencies));
    close9(latency.value!, mean(perUser('fast')), 'mean latency');
    const wl = welchFromUsers(perUser('control'), perUser('fast'));
    close9(latency.comparison!.absolute.estimate, wl.estimate, 'latency difference');
    assert.ok(latency.comparison!.absolute.estimate < 0);
    assert.equal(latency.comparison!.verdict, 'better', 'lower latency is better');
    assert.ok(latency.comparison!.chanceToBeatControl! > 0.99, 'chance to beat means chance to be lower');
    // ratio: orders over visits, delta method.
    const ratio = metric('fast', 'orders_per_visit');
    assert.deepEqual([ratio.type, ratio.kind], ['ratio', 'ratio']);
    const rf = ratioFromUsers(of('fast').map((u) => u.orders), of('fast').map((u) => u.visits));
    const rc = ratioFromUsers(of('control').map((u) => u.orders), of('control').map((u) => u.visits));
    close9(ratio.value!, rf.ratio, 'orders per visit');
    close9(ratio.comparison!.absolute.estimate, rf.ratio - rc.ratio, 'ratio difference');
    // Welch-Satterthwaite's degrees of freedom are in the thousands here: t is within 0.2% of z.
    const q = normalQuantile(0.975);
    const halfWidth = (ratio.comparison!.absolute.interval[1] - ratio.comparison!.absolute.interval[0]) / 2;
    assert.ok(Math.abs(halfWidth - q * Math.sqrt(rf.variance + rc.variance)) < 2e-3 * halfWidth, 'the interval is the delta method one');
    // a guardrail metric moving the wrong way: shown apart and warned about.
    const refunds = metric('fast', 'refunds');
    assert.deepEqual([refunds.guardrail, refunds.comparison!.verdict], [true, 'worse']);
    assert.ok(set.warnings.some((x) => x.kind === 'guardrail-metric' && /guardrail metric 'refunds' is significantly worse on 'fast'/.test(x.message)));
    // undeclared: inferred, and said so.
    assert.deepEqual(set.inferredMetrics, ['visit', 'wishlist']);
    assert.equal(metric('fast', 'wishlist').declared, false);

    const text = await cli('report', '--store', spec);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /Guardrail metrics \(must not get worse\)/);
    assert.match(text.out, /avg latency_ms \(lower/, 'the direction, clipped when the lift column leaves no room within 100 columns');
    assert.match(text.out, /visit, wishlist: type inferred from the data/);
    assert.ok(text.out.indexOf('Guardrail metrics') < text.out.indexOf('refunds (lower'), 'guardrails come after, apart');
  });
}

test('a declaration published later replaces the earlier one; a conversion on a ratio is refused to onError', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, metrics: { purchase: { kind: 'sum' } } });
  convert({ key: 'a', metric: 'purchase' });
  await flush();
  assert.deepEqual(await store.readMetrics(), new Map([['purchase', { kind: 'sum', higherIsBetter: true, guardrail: false }]]));
  const errors: Error[] = [];
  configure({ store, outbox: false, metrics: { purchase: { kind: 'conversion' }, per_visit: { kind: 'ratio', numerator: 'purchase', denominator: 'visit' } }, onError: (e) => errors.push(e) });
  convert({ key: 'a', metric: 'per_visit' });
  new ShopTracks({ key: 'a' }).run();
  await flush();
  const declared = await store.readMetrics();
  assert.equal(declared.get('purchase')!.kind, 'conversion', 'the latest declaration wins');
  assert.equal(declared.get('per_visit')!.kind, 'ratio');
  assert.equal(stats().rejected, 1);
  assert.ok(errors[0] instanceof TracksError);
  assert.match(errors[0]!.message, /'per_visit' is declared as a ratio of 'purchase' over 'visit'; record those two/);
  await close();
});

test('a declared mean with no values yet says so, not "zero users" beside the tracks\' users; with one value, that a variance needs 2', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, metrics: { basket: { kind: 'mean' } } });
  for (let i = 0; i < 200; i++) new ShopTracks({ key: `visitor-${i}` }).run();
  await flush();
  const meanOf = async () => {
    const { sums, metrics } = await readAnalysis(store);
    const set = buildReport(sums, { metrics }).trackSets.find((s) => s.id === 'shop')!;
    assert.ok(set.tracks.every((t) => t.users > 0));
    return set.tracks.find((t) => t.name === 'fast')!.metrics.find((m) => m.metric === 'basket')!;
  };
  assert.equal((await meanOf()).cannotCompute, 'control has no users with a value of this metric yet');
  // One value on each track.
  for (const track of ['control', 'fast']) {
    const key = Array.from({ length: 200 }, (_, i) => `visitor-${i}`).find((k) => new ShopTracks({ key: k }).name === track)!;
    convert({ key, metric: 'basket', value: 3 });
  }
  await flush();
  assert.equal((await meanOf()).cannotCompute, "control has 1 user with a value of this metric; a mean's variance needs 2");
  await close();
});

test('configure({ metrics }) checks every declaration with a TracksError naming it and the fix', () => {
  const cases: Array<[unknown, RegExp]> = [
    [[], /metrics must be an object of declarations by name/],
    [{ purchase: { kind: 'binary' } }, /metrics\.purchase\.kind is 'binary'; use one of 'conversion', 'sum', 'count', 'mean', 'ratio'/],
    [{ purchase: {} }, /metrics\.purchase\.kind is missing/],
    [{ purchase: { kind: 'conversion', lowerIsBetter: true } }, /metrics\.purchase has an unknown field 'lowerIsBetter'/],
    [{ purchase: { kind: 'conversion', higherIsBetter: 'no' } }, /metrics\.purchase\.higherIsBetter must be true or false/],
    [{ per: { kind: 'ratio', numerator: 'order' } }, /metrics\.per\.denominator is missing; a ratio names the metrics it divides/],
    [{ per: { kind: 'ratio', numerator: 'per', denominator: 'x' } }, /metrics\.per\.numerator is the ratio itself/],
    [{ same: { kind: 'ratio', numerator: 'order', denominator: 'order' } }, /metrics\.same divides 'order' by itself, which is 1 for every track; name two different metrics/],
    [{ a: { kind: 'ratio', numerator: 'b', denominator: 'c' }, b: { kind: 'ratio', numerator: 'x', denominator: 'y' } }, /metrics\.a divides 'b', itself a ratio/],
    [{ revenue: { kind: 'sum', numerator: 'x' } }, /only a ratio has/],
  ];
  for (const [metrics, message] of cases) {
    assert.throws(() => configure({ store: memoryStore(), metrics: metrics as MetricDeclarations }), (e: unknown) => e instanceof TracksError && message.test(e.message), String(message));
  }
});

test('a guardrail declared without higherIsBetter warns when it moves significantly either way; a ratio’s counts are its numerator’s', async () => {
  const store = memoryStore();
  configure({
    store,
    outbox: false,
    metrics: { refunds: { kind: 'conversion', guardrail: true }, orders_per_visit: { kind: 'ratio', numerator: 'order', denominator: 'visit' } },
  });
  const next = random(7);
  const orders = new Map<string, { count: number; total: number }>();
  for (let i = 0; i < 4000; i++) {
    const key = `g${i}`;
    const track = new ShopTracks({ key }).name;
    // 'fast' refunds far less: a move, but with no declared direction, not "better".
    if (next() < (track === 'fast' ? 0.02 : 0.1)) convert({ key, metric: 'refunds' });
    convert({ key, metric: 'visit', value: 2 });
    const n = next() < 0.5 ? 1 : 0;
    for (let k = 0; k < n; k++) convert({ key, metric: 'order', value: 3 });
    const o = orders.get(track) ?? { count: 0, total: 0 };
    orders.set(track, { count: o.count + n, total: o.total + 3 * n });
  }
  await close();
  const analysis = await readAnalysis(store);
  const set = buildReport(analysis.sums, { metrics: analysis.metrics }).trackSets[0]!;
  const refunds = set.tracks.find((t) => t.name === 'fast')!.metrics.find((m) => m.metric === 'refunds')!;
  assert.equal(refunds.higherIsBetter, null, 'no direction declared');
  assert.equal(refunds.comparison!.verdict, 'changed');
  assert.equal(refunds.comparison!.chanceToBeatControl, null, 'no direction: no chance to be better');
  assert.equal(refunds.comparison!.risk, null);
  assert.ok(refunds.comparison!.relative!.estimate < -0.5);
  assert.ok(set.warnings.some((w) => w.kind === 'guardrail-metric' && /guardrail metric 'refunds' moved significantly on 'fast'.*declare higherIsBetter/.test(w.message)));
  for (const track of set.tracks) {
    const ratio = track.metrics.find((m) => m.metric === 'orders_per_visit')!;
    assert.equal(ratio.conversions, orders.get(track.name)!.count, 'a ratio’s conversions are its numerator’s');
    assert.equal(ratio.total, orders.get(track.name)!.total, 'a ratio’s total is its numerator’s');
  }
});

test('a guardrail at 0% on the baseline and 100% on a track (a path that always fails) is compared, significant and warned about, not "zero variance"', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, metrics: { failures: { kind: 'conversion', guardrail: true, higherIsBetter: false } } });
  const users = { control: 0, fast: 0 };
  for (let i = 0; i < 60; i++) {
    const key = `always-fails-${i}`;
    const track = new ShopTracks({ key }).name as keyof typeof users;
    users[track]++;
    if (track === 'fast') convert({ key, metric: 'failures' });
  }
  await close();
  const analysis = await readAnalysis(store);
  const set = buildReport(analysis.sums, { metrics: analysis.metrics }).trackSets[0]!;
  const failures = set.tracks.find((t) => t.name === 'fast')!.metrics.find((m) => m.metric === 'failures')!;
  const comparison = failures.comparison!;
  assert.ok(comparison, `compared (${failures.cannotCompute ?? ''})`);
  assert.equal(comparison.absolute.estimate, 1);
  // The pooled z-test: z = 1 / sqrt(p(1 - p)(1/nc + 1/nt)) with p = nt / (nc + nt).
  const pooled = users.fast / (users.control + users.fast);
  const z = 1 / Math.sqrt(pooled * (1 - pooled) * (1 / users.control + 1 / users.fast));
  assert.ok(Math.abs(comparison.pValue - 2 * normalSf(z)) <= 1e-9 * comparison.pValue, `p ${comparison.pValue}`);
  // Newcombe's interval: below 1, well above 0 (the Wald interval would be [1, 1]).
  assert.ok(comparison.absolute.interval[0] > 0.7 && comparison.absolute.interval[0] < 1);
  assert.equal(comparison.absolute.interval[1], 1);
  assert.equal(comparison.verdict, 'worse');
  assert.ok(set.warnings.some((w) => w.kind === 'guardrail-metric' && /guardrail metric 'failures' is significantly worse on 'fast'/.test(w.message)));
});

test('a metric one edit from a declared one is named in the report as most likely a misspelt convert()', async () => {
  // An audit's convert({ metric: 'purchse' }) showed up as one more metric, "type inferred", with no hint.
  const spec = join(dir, 'misspelt.db');
  configure({ store: spec, outbox: false, metrics: { purchase: { kind: 'conversion' } } });
  for (let i = 0; i < 20; i++) {
    const key = `m${i}`;
    new ShopTracks({ key }).run();
    convert({ key, metric: i % 2 === 0 ? 'purchase' : 'purchse' });
  }
  await flush();
  await close();
  const text = await cli('report', '--store', spec);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /purchse \(not declared: did you mean purchase\?\): type inferred from the data/);
});
