// Phases, and an unbiased answer across them. A test whose weights change mid-run, while the
// conversion rate drifts over time, is Simpson's paradox built on purpose: pooling every user
// finds an effect no phase has; tracks compares users within their phase and does not. With a
// true effect, tracks finds it. Against the memory store, real SQLite and real PostgreSQL, and
// through `tracks report --phase N / --all-phases`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildReport, memoryStore, postgresStore, renderReport, sqliteStore, welchTest } from '../../src/index.js';
import type { RecordedEvent, Report, Store } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor } from '../support/postgres.js';
import { seededRandom as random } from '../support/random.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-phases-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));
const schemaFor = schemasFor('ph');

const DAY = 86_400_000;
const START = Date.UTC(2026, 5, 1);


interface Phase {
  readonly id: string;
  readonly start: number;
  readonly weights: { control: number; fresh: number };
  /** Conversion rate per track in this phase. */
  readonly rates: { control: number; fresh: number };
  readonly users: number;
}

/**
 * Events of a two-phase test: exposures spread over each phase's 5 days with the phase's
 * weights, a definition per phase, and a purchase an hour after exposure at the phase's rate.
 */
function simpsonEvents(setId: string, phases: readonly Phase[], seed: number): RecordedEvent[] {
  const next = random(seed);
  const events: RecordedEvent[] = [];
  let u = 0;
  for (const p of phases) {
    events.push({ kind: 'definition', eventId: `${setId}-def-${p.id}`, trackSetId: setId, weights: { ...p.weights }, coverage: 1, control: 'control', phase: p.id, sticky: false, at: p.start });
    for (let i = 0; i < p.users; i++, u++) {
      const track = next() < p.weights.fresh / (p.weights.fresh + p.weights.control) ? 'fresh' : 'control';
      const at = p.start + Math.floor((i / p.users) * 5 * DAY);
      events.push({ kind: 'exposure', eventId: `${setId}-x${u}`, trackSetId: setId, track, unit: `${setId}-u${u}`, at, phase: p.id });
      if (next() < p.rates[track]) events.push({ kind: 'conversion', eventId: `${setId}-c${u}`, unit: `${setId}-u${u}`, metric: 'purchase', value: 1, at: at + 3_600_000 });
    }
  }
  return events;
}

// The rate drifts from 5% to 15%; the new track goes from 10% of users to 90%.
const NO_EFFECT: readonly Phase[] = [
  { id: 'phase-a', start: START, weights: { control: 9, fresh: 1 }, rates: { control: 0.05, fresh: 0.05 }, users: 8000 },
  { id: 'phase-b', start: START + 5 * DAY, weights: { control: 1, fresh: 9 }, rates: { control: 0.15, fresh: 0.15 }, users: 8000 },
];
// The same drift and ramp, with a true +30% effect in both phases.
const TRUE_EFFECT: readonly Phase[] = NO_EFFECT.map((p) => ({ ...p, rates: { control: p.rates.control, fresh: p.rates.control * 1.3 } }));

async function storesUnderTest(t: { skip(message: string): void }, kind: string, name: string): Promise<{ store: Store; spec: string } | undefined> {
  if (kind === 'memory') return { store: memoryStore(), spec: '' };
  if (kind === 'SQLite') {
    const path = join(dir, `${name}.db`);
    return { store: sqliteStore(path), spec: path };
  }
  if (postgresUrl === undefined) {
    t.skip(POSTGRES_SKIP);
    return undefined;
  }
  const schema = schemaFor(name);
  const url = new URL(postgresUrl);
  url.searchParams.set('schema', schema);
  return { store: postgresStore(postgresUrl, { schema }), spec: url.toString() };
}

function purchaseOf(report: Report) {
  const set = report.trackSets[0]!;
  return { set, fresh: set.tracks.find((x) => x.name === 'fresh')!.metrics.find((m) => m.metric === 'purchase')! };
}

for (const kind of ['memory', 'SQLite', 'PostgreSQL'] as const) {
  test(`${kind}: Simpson's paradox on purpose: pooling finds an effect, tracks does not; with a true effect tracks finds it`, async (t) => {
    const made = await storesUnderTest(t, kind, 'simpson');
    if (made === undefined) return;
    const { store } = made;
    try {
      await store.write([...simpsonEvents('simpson', NO_EFFECT, 7), ...simpsonEvents('real', TRUE_EFFECT, 11)]);
      const sums = await store.summarize();
      const simpson = sums.find((s) => s.trackSetId === 'simpson')!;
      assert.equal(simpson.phases.length, 2);

      // Naive pooling: every user of the set together, whatever phase they came in.
      const pooled = (track: string) => {
        const t = simpson.tracks.find((x) => x.track === track)!;
        const converted = t.metrics.get('purchase')!.converted;
        return { n: t.users, sum: converted, sumSquares: converted };
      };
      const naive = welchTest(pooled('control'), pooled('fresh'));
      assert.ok(naive.ok && naive.pValue < 1e-6 && naive.estimate > 0.05, `pooling is fooled: ${naive.ok && naive.pValue}`);

      const report = buildReport(sums, { alpha: 0.05 });
      const none = purchaseOf({ ...report, trackSets: report.trackSets.filter((s) => s.id === 'simpson') });
      assert.equal(none.fresh.comparison!.phases, 2, 'both phases are combined');
      assert.equal(none.fresh.comparison!.significant, false, `tracks is not fooled: p = ${none.fresh.comparison!.pValue}`);
      assert.ok(none.fresh.comparison!.pValue > 0.05);
      assert.equal(none.fresh.comparison!.verdict, 'inconclusive');
      assert.equal(none.set.srm!.mismatch, false, "each phase is checked against that phase's weights: no false alarm");
      assert.ok(!none.set.warnings.some((w) => w.kind === 'sample-ratio-mismatch'));

      const real = purchaseOf({ ...report, trackSets: report.trackSets.filter((s) => s.id === 'real') });
      assert.equal(real.fresh.comparison!.significant, true, `the true effect is found: p = ${real.fresh.comparison!.pValue}`);
      assert.equal(real.fresh.comparison!.verdict, 'better');
      assert.ok(real.fresh.comparison!.relative!.interval[0] < 0.3 && real.fresh.comparison!.relative!.interval[1] > 0.3, 'its interval covers the true +30%');

      // The phases, as the JSON report documents them.
      assert.deepEqual(
        none.set.phases.map((p) => [p.index, p.id, p.startedAt, p.configuration?.weights, p.srm?.mismatch]),
        [
          [1, 'phase-a', new Date(START).toISOString(), { control: 9, fresh: 1 }, false],
          [2, 'phase-b', new Date(START + 5 * DAY).toISOString(), { control: 1, fresh: 9 }, false],
        ],
      );
      assert.equal(none.set.phases[0]!.endedAt, new Date(START + 5 * DAY).toISOString(), 'a phase ends when the next begins');
      assert.equal(none.set.phases[0]!.users + none.set.phases[1]!.users, 16_000);
      assert.deepEqual(none.set.analysedPhases, [1, 2]);
    } finally {
      await store.close();
    }
  });
}

test("a user's conversions count until their phase ends: none after a change is credited to the track they had", async () => {
  const store = memoryStore();
  const at = START;
  await store.write([
    { kind: 'definition', eventId: 'd1', trackSetId: 'moved', weights: { control: 1, b: 1 }, coverage: 1, control: 'control', phase: 'p1', at },
    { kind: 'definition', eventId: 'd2', trackSetId: 'moved', weights: { control: 1, b: 3 }, coverage: 1, control: 'control', phase: 'p2', at: at + DAY },
    { kind: 'exposure', eventId: 'x1', trackSetId: 'moved', track: 'b', unit: 'u1', at: at + 1000, phase: 'p1' },
    { kind: 'conversion', eventId: 'c1', unit: 'u1', metric: 'purchase', value: 5, at: at + 2000 },
    // After the change u1 may be on another track: this purchase is not credited to 'b'.
    { kind: 'conversion', eventId: 'c2', unit: 'u1', metric: 'purchase', value: 7, at: at + DAY + 1000 },
  ]);
  const [sums] = await store.summarize();
  assert.equal(sums!.phases[0]!.tracks.find((t) => t.track === 'b')!.metrics.get('purchase')!.sum, 5);
  assert.equal(sums!.tracks.find((t) => t.track === 'b')!.metrics.get('purchase')!.sum, 5);
});

test('tracks report --phase N analyses one phase alone, --all-phases each; bad uses exit 2 (real SQLite)', async () => {
  const path = join(dir, 'cli.db');
  const store = sqliteStore(path);
  await store.write(simpsonEvents('simpson', NO_EFFECT, 7));
  await store.close();
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, { stdout: (x) => out.push(x), stderr: (x) => err.push(x), env: {} });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const one = await cli('report', '--store', path, '--trackset', 'simpson', '--phase', '2', '--json');
  assert.equal(one.code, 0, one.err);
  const set = (JSON.parse(one.out) as Report).trackSets[0]!;
  assert.deepEqual(set.analysedPhases, [2]);
  assert.equal(set.users, set.phases[1]!.users, 'only phase 2 users are analysed');
  assert.equal(set.tracks.find((x) => x.name === 'fresh')!.metrics[0]!.comparison!.phases, 1);

  const all = await cli('report', '--store', path, '--all-phases', '--json');
  assert.equal(all.code, 0, all.err);
  const phases = (JSON.parse(all.out) as Report).trackSets[0]!.phases;
  assert.equal(phases.length, 2);
  for (const p of phases) assert.equal(p.results!.reduce((n, t) => n + t.users, 0), p.users, `phase ${p.index} analysed alone`);

  const text = await cli('report', '--store', path, '--all-phases');
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /2 phases combined/);
  assert.match(text.out, /phase 1 alone/);
  assert.match(text.out, /phase 2 alone/);

  for (const [args, message] of [
    [['--phase', '3', '--trackset', 'simpson'], /'simpson' has 2 phases; --phase 3 is not one of them/],
    [['--phase', '1'], /--phase needs --trackset/],
    [['--phase', '1.5', '--trackset', 'simpson'], /--phase is '1\.5'; give a whole number from 1/],
    [['--phase', '1', '--all-phases', '--trackset', 'simpson'], /--phase and --all-phases ask for different things/],
  ] as const) {
    const bad = await cli('report', '--store', path, ...args);
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.err, message);
  }
});

test("the text report's phase table shows a ParamTrackSet's weights ramp: long track names share their prefix once instead of being cut", async () => {
  const at = Date.UTC(2026, 3, 1);
  const names = ['price_adjusted_by_-1', 'price_adjusted_by_0', 'price_adjusted_by_1'];
  const events: RecordedEvent[] = [
    { kind: 'definition', eventId: 'pd1', trackSetId: 'pricing', weights: { [names[0]!]: 1, [names[1]!]: 1, [names[2]!]: 1 }, coverage: 1, control: names[1]!, phase: 'p1', at },
    { kind: 'definition', eventId: 'pd2', trackSetId: 'pricing', weights: { [names[0]!]: 1, [names[1]!]: 1, [names[2]!]: 3 }, coverage: 1, control: names[1]!, phase: 'p2', at: at + DAY },
  ];
  for (let i = 0; i < 60; i++) {
    events.push({ kind: 'exposure', eventId: `pe${i}`, trackSetId: 'pricing', track: names[i % 3]!, unit: `u${i}`, at: at + (i < 30 ? 0 : DAY) + i, phase: i < 30 ? 'p1' : 'p2' });
  }
  const store = memoryStore();
  await store.write(events);
  const lines = renderReport(buildReport(await store.summarize())).split('\n');
  const rows = lines.filter((line) => /price_adjusted_by_\{/.test(line));
  assert.equal(rows.length, 2, lines.join('\n'));
  assert.match(rows[0]!, /price_adjusted_by_\{-1=1 0=1 1=1\}/);
  assert.match(rows[1]!, /price_adjusted_by_\{-1=1 0=1 1=3\}/);
});
