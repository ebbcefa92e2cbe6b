import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  TrackSet,
  TracksError,
  assertReadOnlyShadow,
  buildReport,
  close,
  configure,
  flush,
  memoryStore,
  promoteTrackSet,
  readAnalysis,
  renderReport,
  resumeTrackSet,
  shadowContext,
  stopTrackSet,
  rampTrackSet,
  sqliteStore,
} from '../../src/index.js';
import type { GuardrailEvent, ShadowOptions, ShadowSampleEvent } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { shadowRunsInFlight } from '../../src/core/shadow-runner.js';
import { definitionOf } from '../../src/core/track-set.js';
import { sampleText } from '../../src/recording/shadow-recorder.js';
import { ErrorReporter } from '../../src/recording/error-reporter.js';
import { ShadowRecorder } from '../../src/recording/shadow-recorder.js';
import { cutPair } from '../../src/report/shadow-section.js';
import { seededRandom } from '../support/random.js';

// Inputs on which the candidate answers differently: 3% of them, drawn once with a fixed seed.
const random = seededRandom(13);
const DIFFERS = new Set(Array.from({ length: 4000 }, (_, i) => i).filter(() => random() < 0.03));

class PriceQuery extends TrackSet {
  static override id = 'shadow-price';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 500, maxConcurrent: 10_000, samples: { perMinute: 3, maxBytes: 200 } };
  static old_track(sku: number) {
    return { sku, price: 100 + (sku % 7) };
  }
  static async new_track(sku: number) {
    await Promise.resolve();
    return { sku, price: 100 + (sku % 7) + (DIFFERS.has(sku) ? 1 : 0) };
  }
}

test('a candidate that differs on 3% of inputs is measured at 3%, inside its interval; every user gets the baseline', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let sku = 0; sku < 4000; sku++) {
      using run = new PriceQuery({ key: `user-${sku}` });
      const served = run.run(sku);
      assert.deepEqual(served, { sku, price: 100 + (sku % 7) }, 'the caller gets the baseline, never the candidate');
      assert.equal(run.name, 'old');
      assert.equal(run.reason, 'shadow');
      assert.equal(run.inTest, false);
    }
    await flush();
    assert.equal(store.events.filter((e) => e.kind === 'exposure').length, 0, 'a shadow assigns no one: no exposures');
    const { sums, metrics, shadow } = await readAnalysis(store, { daily: false });
    const report = buildReport(sums, { metrics, shadow });
    const set = report.trackSets.find((s) => s.id === 'shadow-price')!;
    assert.equal(set.shadow?.mode, 'shadow');
    const candidate = set.shadow!.candidates[0]!;
    assert.equal(candidate.track, 'new');
    assert.equal(candidate.runs, 4000, 'every sampled run counted once');
    assert.equal(candidate.mismatches, DIFFERS.size, 'mismatches are exactly the differing inputs');
    const rate = candidate.mismatchRate!;
    assert.ok(rate.interval[0] <= 0.03 && 0.03 <= rate.interval[1], `0.03 in [${rate.interval}]`);
    assert.ok(rate.sequentialInterval[0] <= rate.interval[0] && rate.sequentialInterval[1] >= rate.interval[1], 'the always-valid interval is the wider');
    assert.equal(candidate.latency.pairs, 4000);
    assert.equal(candidate.latency.difference.length, 2);
    assert.ok(candidate.latency.difference.every((d) => ['slower', 'faster', 'no difference'].includes(d.verdict)));
    const warning = set.warnings.find((w) => w.kind === 'shadow');
    assert.match(warning?.message ?? '', /^shadow candidate 'new' disagrees with 'old' on 3\.\d\d% of 4,000 runs \(/);
    assert.ok(!set.warnings.some((w) => w.kind === 'too-few-users'), 'a shadow assigns no one: no "too few users"');
    const text = renderReport(buildReport(sums, { metrics, shadow }));
    assert.match(text, /shadow-price {2}\[shadow\]/);
    assert.match(text, /Latest mismatches/);
    for (const line of text.split('\n')) assert.ok(line.length <= 100, `fits 100 columns: ${line}`);
    // The paired latency's table heads its candidates as the first table does, under a title:
    // no header cut in the middle of a word to fit.
    assert.match(text, /Paired latency[^\n]*\n +candidate +pairs +baseline p50/);
    assert.doesNotMatch(text, /…/);
    // Nothing compared yet (no one assigned): no legend of p adj, CUPED or '*'.
    assert.deepEqual(report.trackSets.map((s) => [s.id, s.users]), [['shadow-price', 0]]);
    assert.doesNotMatch(text, /p adj: Holm/);
    // Samples: at most 3 per candidate and minute in this process, each field cut to 200 bytes.
    const samples = store.events.filter((e): e is ShadowSampleEvent => e.kind === 'shadow_sample');
    assert.ok(samples.length >= 1 && samples.length <= 3 * 2, `${samples.length} samples`);
    const sample = set.shadow!.samples[0]!;
    const input = JSON.parse(sample.input) as number[];
    assert.ok(DIFFERS.has(input[0]!), 'the sample is a differing input');
    assert.notEqual(sample.baseline, sample.candidate);
  } finally {
    await close();
  }
});

class HangingQuery extends TrackSet {
  static override id = 'shadow-hang';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 40, guardrail: false };
  static started = 0;
  static aborted = 0;
  static old_track() {
    return 'served';
  }
  static hang_track() {
    HangingQuery.started++;
    shadowContext().signal.addEventListener('abort', () => HangingQuery.aborted++);
    return new Promise(() => {}); // never settles, and ignores its signal
  }
  static throw_track() {
    throw new Error('candidate blew up');
  }
}

test('a candidate that hangs or throws never changes the caller\'s result, and has not started when the caller has it', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    // maxConcurrent 8 (the default) over 2 candidates: 'hang' may hold 4 slots.
    for (let i = 0; i < 5; i++) {
      const before = HangingQuery.started;
      using run = new HangingQuery({ key: `u${i}` });
      assert.equal(run.run(), 'served');
      assert.equal(HangingQuery.started, before, 'candidates start only after the caller has its result (a later turn)');
    }
    await flush(); // waits for the timeouts (40 ms), not for the hung promises
    assert.equal(HangingQuery.aborted, 4, 'each hung candidate saw its AbortSignal fire');
    const { shadow } = await readAnalysis(store, { daily: false });
    const hang = shadow.tracks.find((t) => t.track === 'hang')!;
    const thrown = shadow.tracks.find((t) => t.track === 'throw')!;
    assert.equal(hang.timeouts, 4);
    assert.equal(hang.skippedConcurrency, 1, 'the fifth run found all 4 of its slots held');
    assert.equal(thrown.errors, 5);
    // The hung runs keep their concurrency slots: they cannot pile up past the candidate's share of maxConcurrent.
    assert.equal(shadowRunsInFlight('shadow-hang'), 4);
  } finally {
    await close();
  }
});

class CappedQuery extends TrackSet {
  static override id = 'shadow-capped';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 5_000, maxConcurrent: 2 };
  static release: Array<() => void> = [];
  static old_track() {
    return 1;
  }
  static new_track() {
    return new Promise<number>((resolve) => CappedQuery.release.push(() => resolve(1)));
  }
}

test('maxConcurrent: beyond the cap a sampled run skips its candidate, counted', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 10; i++) new CappedQuery({ key: `k${i}` }).run();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(shadowRunsInFlight('shadow-capped'), 2);
    assert.equal(CappedQuery.release.length, 2, 'only two candidates ever started');
    for (const release of CappedQuery.release) release();
    await flush();
    const { shadow } = await readAnalysis(store, { daily: false });
    const sums = shadow.tracks.find((t) => t.track === 'new')!;
    assert.equal(sums.matches, 2);
    assert.equal(sums.skippedConcurrency, 8);
  } finally {
    await close();
  }
});

// Three candidates, maxConcurrent 2: the cap is on the set's candidate runs in flight, all
// candidates together (each may hold max(1, floor(2 / 3)) = 1 of them).
class CappedTrio extends TrackSet {
  static override id = 'shadow-capped-trio';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 5_000, maxConcurrent: 2, guardrail: false };
  static release: Array<() => void> = [];
  static running: string[] = [];
  static peak = 0;
  static old_track() {
    return 1;
  }
  static a_track() {
    return CappedTrio.hold('a');
  }
  static b_track() {
    return CappedTrio.hold('b');
  }
  static c_track() {
    return CappedTrio.hold('c');
  }
  static hold(name: string) {
    CappedTrio.running.push(name);
    CappedTrio.peak = Math.max(CappedTrio.peak, CappedTrio.running.length);
    return new Promise<number>((resolve) =>
      CappedTrio.release.push(() => {
        CappedTrio.running.splice(CappedTrio.running.indexOf(name), 1);
        resolve(1);
      }),
    );
  }
}

test('maxConcurrent caps the set\'s candidate runs in flight, every candidate together, each candidate at most its share', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 10; i++) new CappedTrio({ key: `k${i}` }).run();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(shadowRunsInFlight('shadow-capped-trio'), 2);
    assert.equal(CappedTrio.running.length, 2, 'two candidate runs started, not two per candidate');
    assert.notEqual(CappedTrio.running[0], CappedTrio.running[1], 'each candidate holds at most its share (1) of the slots');
    // Release until every run has gone through its candidates (a released run goes on to its next one).
    while (CappedTrio.release.length > 0) {
      const release = CappedTrio.release.splice(0);
      for (const r of release) r();
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.ok(shadowRunsInFlight('shadow-capped-trio') <= 2);
    }
    await flush();
    assert.equal(CappedTrio.peak, 2);
    const { shadow } = await readAnalysis(store, { daily: false });
    const trio = shadow.tracks.filter((t) => t.trackSetId === 'shadow-capped-trio');
    assert.equal(trio.length, 3);
    const ran = trio.reduce((n, t) => n + t.matches, 0);
    const skipped = trio.reduce((n, t) => n + t.skippedConcurrency, 0);
    assert.equal(ran + skipped, 30, 'every sampled run counts each candidate as run or skipped');
    assert.ok(ran >= 2 && skipped > 0, `ran ${ran}, skipped ${skipped}`);
    assert.equal(shadowRunsInFlight('shadow-capped-trio'), 0);
  } finally {
    await close();
  }
});

class SampledQuery extends TrackSet {
  static override id = 'shadow-sampled';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 0.1, maxConcurrent: 10_000 };
  static runs = 0;
  static old_track() {
    return 1;
  }
  static new_track() {
    SampledQuery.runs++;
    return 1;
  }
}

test('sample: about that share of runs shadowed, the same decision for a key every time', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 5000; i++) new SampledQuery({ key: `user-${i}` }).run();
    await flush();
    // Binomial(5000, 0.1): mean 500, sd 21; a 5-sd band.
    assert.ok(SampledQuery.runs > 395 && SampledQuery.runs < 605, `${SampledQuery.runs} of 5000 sampled`);
    const perKey = (key: string) => {
      const before = SampledQuery.runs;
      return async () => {
        await flush();
        return SampledQuery.runs - before;
      };
    };
    for (const key of ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6']) {
      const count = perKey(key);
      for (let i = 0; i < 20; i++) new SampledQuery({ key }).run();
      const n = await count();
      assert.ok(n === 0 || n === 20, `key ${key}: ${n} of 20 runs shadowed; sampling is by key`);
    }
  } finally {
    await close();
  }
});

class FailingQuery extends TrackSet {
  static override id = 'shadow-failing';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, guardrail: { errorRate: 0.5, minRuns: 20 } };
  static calls = 0;
  static old_track() {
    return 1;
  }
  static new_track(): number {
    FailingQuery.calls++;
    throw new Error('always fails');
  }
}

test('the shadow guardrail stops a candidate that fails too often, records why, and calls onGuardrail', async () => {
  const store = memoryStore();
  const told: { trackSetId: string; track: string; cause: string }[] = [];
  configure({ store, flushInterval: 60_000, onGuardrail: ({ trackSetId, track, cause }) => told.push({ trackSetId, track, cause }) });
  try {
    for (let i = 0; i < 100; i++) {
      new FailingQuery({ key: `k${i}` }).run();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await flush();
    assert.equal(FailingQuery.calls, 20, 'the candidate stopped running at the guardrail');
    const trips = store.events.filter((e): e is GuardrailEvent => e.kind === 'guardrail' && e.trackSetId === 'shadow-failing');
    assert.equal(trips.length, 1);
    assert.match(trips[0]!.cause, /shadow candidate failed in 100% of its last 20 runs/);
    assert.deepEqual(told, [{ trackSetId: 'shadow-failing', track: trips[0]!.track, cause: trips[0]!.cause }]);
    const { sums, shadow } = await readAnalysis(store, { daily: false });
    const report = buildReport(sums, { shadow });
    const candidate = report.trackSets.find((s) => s.id === 'shadow-failing')!.shadow!.candidates[0]!;
    assert.equal(candidate.errors, 20);
    assert.equal(candidate.skipped.guardrail, 80);
    assert.match(candidate.guardrail!.cause, /failed in 100%/);
  } finally {
    await close();
  }
});

const written: string[] = [];

class WritingQuery extends TrackSet {
  static override id = 'shadow-writing';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, readOnly: true };
  static old_track(order: string) {
    return order;
  }
  static new_track(order: string) {
    const shadow = shadowContext();
    shadow.write(() => written.push(order));
    return order;
  }
}

class ReadingQuery extends TrackSet {
  static override id = 'shadow-reading';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, readOnly: true };
  static old_track(order: string) {
    return order;
  }
  static new_track(order: string) {
    return order.toUpperCase().toLowerCase();
  }
}

test('readOnly: a candidate that writes through the guard is refused (counted as an error); assertReadOnlyShadow fails it', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    new WritingQuery({ key: 'k' }).run('order-1');
    await flush();
    assert.deepEqual(written, [], 'the write never ran');
    const { shadow } = await readAnalysis(store, { daily: false });
    assert.equal(shadow.tracks.find((t) => t.trackSetId === 'shadow-writing')!.errors, 1);
  } finally {
    await close();
  }
  await assert.rejects(assertReadOnlyShadow(WritingQuery, 'order-2'), (e: unknown) => e instanceof TracksError && /WritingQuery: the shadow candidate 'new' wrote through shadowContext\(\)\.write\(\)/.test(e.message));
  assert.deepEqual(written, []);
  await assertReadOnlyShadow(ReadingQuery, 'order-3');
  // @ts-expect-error the candidates take a string: the helper's arguments are typed as the tracks'
  const wrongArguments = () => assertReadOnlyShadow(ReadingQuery, 42);
  assert.equal(typeof wrongArguments, 'function');
  // Outside a shadow run the guard lets writes through.
  assert.equal(shadowContext().write(() => 42), 42);
  assert.equal(shadowContext().inShadow, false);
});

test('assertReadOnlyShadow fails a candidate still running at the shadow\'s timeout, aborting its signal (a hung one does not hang the test)', { timeout: 20_000 }, async () => {
  let aborted = false;
  class HangingQuery extends TrackSet {
    static override id = 'shadow-hanging-check';
    static override addControlTrack = false;
    static override control = 'old';
    static override shadow: ShadowOptions = { sample: 1, timeout: 30 };
    static old_track(order: string) {
      return order;
    }
    static new_track(_order: string) {
      const { signal } = shadowContext();
      signal.addEventListener('abort', () => (aborted = true));
      return new Promise<string>(() => {});
    }
  }
  await assert.rejects(
    assertReadOnlyShadow(HangingQuery, 'order-4'),
    (e: unknown) => e instanceof TracksError && /HangingQuery: the shadow candidate 'new' did not finish within its timeout of 30 ms/.test(e.message),
  );
  assert.equal(aborted, true, 'the candidate\'s signal aborted at the timeout');
});

test('a hung candidate that assertReadOnlyShadow gave up on no longer audits writes: served writes go through, and its late end does not end a later check', { timeout: 20_000 }, async () => {
  let finishHung: (value: string) => void = () => {};
  class IgnoresSignal extends TrackSet {
    static override id = 'shadow-ignores-signal';
    static override addControlTrack = false;
    static override control = 'old';
    static override shadow: ShadowOptions = { sample: 1, timeout: 30 };
    static old_track(order: string) {
      return order;
    }
    static new_track(_order: string) {
      return new Promise<string>((resolve) => (finishHung = resolve)); // never looks at its signal
    }
  }
  await assert.rejects(assertReadOnlyShadow(IgnoresSignal, 'order-5'), /did not finish within its timeout/);
  // Still running, but no longer checked: a write on the served path is not refused.
  assert.equal(shadowContext().write(() => 'served'), 'served');

  let reachedWrite: () => void = () => {};
  const atWrite = new Promise<void>((resolve) => (reachedWrite = resolve));
  let goOn: () => void = () => {};
  const wentOn = new Promise<void>((resolve) => (goOn = resolve));
  class LateWrite extends TrackSet {
    static override id = 'shadow-late-write-after-hung';
    static override addControlTrack = false;
    static override control = 'old';
    static override shadow: ShadowOptions = { sample: 1, timeout: 10_000 };
    static old_track(order: string) {
      return order;
    }
    static async new_track(order: string) {
      reachedWrite();
      await wentOn;
      return shadowContext().write(() => order); // read after an await: counted by the audit
    }
  }
  const check = assertReadOnlyShadow(LateWrite, 'order-6');
  await atWrite;
  finishHung('late'); // the hung candidate ends while LateWrite is being checked
  await new Promise((resolve) => setImmediate(resolve));
  goOn();
  await assert.rejects(check, /LateWrite: the shadow candidate 'new' wrote through shadowContext\(\)\.write\(\)/);
});

test('a bad static shadow is a TracksError naming the class, the option and the fix', () => {
  class NoBaseline extends TrackSet {
    static override id = 'shadow-bad-1';
    static override shadow: ShadowOptions = { sample: 0.1 };
    static new_track() {}
  }
  assert.throws(() => new NoBaseline().name, (e: unknown) => e instanceof TracksError && /NoBaseline: static shadow: .*added no-op 'control'.*addControlTrack = false/.test(e.message));
  class BadSample extends TrackSet {
    static override id = 'shadow-bad-2';
    static override addControlTrack = false;
    static override control = 'old';
    static override shadow = { sample: 5 } as ShadowOptions;
    static old_track() {}
    static new_track() {}
  }
  assert.throws(() => new BadSample().name, (e: unknown) => e instanceof TracksError && /BadSample: static shadow\.sample is 5; use a number from 0 to 1/.test(e.message));
  class Unknown extends TrackSet {
    static override id = 'shadow-bad-3';
    static override addControlTrack = false;
    static override control = 'old';
    static override shadow = { smaple: 0.1 } as unknown as ShadowOptions;
    static old_track() {}
    static new_track() {}
  }
  assert.throws(() => new Unknown().name, (e: unknown) => e instanceof TracksError && /unknown option 'smaple'/.test(e.message));
  class Huge extends TrackSet {
    static override id = 'shadow-bad-4';
    static override addControlTrack = false;
    static override control = 'old';
    static override shadow: ShadowOptions = { sample: 0.1, maxConcurrent: 1.5 };
    static old_track() {}
    static new_track() {}
  }
  assert.throws(() => new Huge().name, (e: unknown) => e instanceof TracksError && /Huge: static shadow\.maxConcurrent is 1\.5/.test(e.message));
  // A cap as large as a busy service may want is taken (1,000,000 at most).
  class Roomy extends TrackSet {
    static override id = 'shadow-roomy';
    static override addControlTrack = false;
    static override control = 'old';
    static override shadow: ShadowOptions = { sample: 0.1, maxConcurrent: 100_000 };
    static old_track() {}
    static new_track() {}
  }
  assert.equal(new Roomy({ key: 'k' }).name, 'old');
});

class PromotedQuery extends TrackSet {
  static override id = 'shadow-promoted';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1 };
  static old_track() {
    return 'old';
  }
  static new_track() {
    return 'new';
  }
}

test('promotion: the set becomes a live A/B test with its declared weights, as a new phase; the shadow findings stay', async () => {
  const store = memoryStore();
  const recorder = configure({ store, flushInterval: 60_000 })!;
  try {
    for (let i = 0; i < 50; i++) new PromotedQuery({ key: `u${i}` }).run();
    await flush();
    await assert.rejects(promoteTrackSet(store, 'no-such-set'), (e: unknown) => e instanceof TracksError && /'no-such-set' has no shadow runs/.test(e.message));
    const change = await promoteTrackSet(store, 'shadow-promoted');
    assert.equal(change.changed, true);
    assert.equal((await promoteTrackSet(store, 'shadow-promoted')).changed, false, 'promoting twice changes nothing');
    await recorder.refreshControls();
    const names = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const run = new PromotedQuery({ key: `u${i}` });
      assert.equal(run.reason, 'assigned');
      names.add(run.run() as string);
    }
    assert.deepEqual([...names].sort(), ['new', 'old'], 'both tracks served, by the declared (equal) weights');
    await flush();
    const { sums, metrics, shadow } = await readAnalysis(store, { daily: false });
    const set = buildReport(sums, { metrics, shadow }).trackSets.find((s) => s.id === 'shadow-promoted')!;
    assert.equal(set.shadow?.mode, 'promoted');
    assert.equal(set.shadow?.candidates[0]?.matches, 0);
    assert.equal(set.shadow?.candidates[0]?.mismatches, 50, 'the shadow phase\'s findings are kept');
    assert.equal(set.users, 200);
    assert.ok(set.phases.length >= 2, 'the live test is a phase of its own');
    // Stop and resume work as for any set, and keep the promotion.
    await stopTrackSet(store, 'shadow-promoted');
    await recorder.refreshControls();
    assert.equal(new PromotedQuery({ key: 'u1' }).reason, 'stopped');
    await resumeTrackSet(store, 'shadow-promoted');
    await recorder.refreshControls();
    assert.equal(new PromotedQuery({ key: 'u1' }).reason, 'assigned');
  } finally {
    await close();
  }
});

test('promotion ends a stop and a weights ramp made in the shadow phase (a coverage ramp stays); a promoted set keeps later stops', async () => {
  const store = memoryStore();
  const recorder = configure({ store, flushInterval: 60_000 })!;
  try {
    for (let i = 0; i < 50; i++) new PromotedQuery({ key: `u${i}` }).run();
    await flush();
    await rampTrackSet(store, 'shadow-promoted', { weights: { new: 4 }, coverage: 0.5 });
    await stopTrackSet(store, 'shadow-promoted');
    await promoteTrackSet(store, 'shadow-promoted');
    await recorder.refreshControls();
    const counts = new Map<string, number>();
    let out = 0;
    for (let i = 0; i < 4000; i++) {
      const run = new PromotedQuery({ key: `k${i}` });
      if (run.reason === 'not covered') out++;
      else {
        assert.equal(run.reason, 'assigned', 'live, not stopped');
        counts.set(run.name, (counts.get(run.name) ?? 0) + 1);
      }
    }
    assert.ok(Math.abs(out / 4000 - 0.5) < 0.04, `the coverage ramp stays: ${out} of 4,000 out`);
    const ratio = (counts.get('new') ?? 0) / (counts.get('old') ?? 1);
    assert.ok(ratio > 0.8 && ratio < 1.25, `the declared 1:1 weights, not the shadow phase's 4:1 ramp: ${JSON.stringify([...counts])}`);
    // Promoted for good: a stop afterwards is kept by a second promote.
    await stopTrackSet(store, 'shadow-promoted');
    assert.equal((await promoteTrackSet(store, 'shadow-promoted')).changed, false);
    await recorder.refreshControls();
    assert.equal(new PromotedQuery({ key: 'u1' }).reason, 'stopped');
  } finally {
    await close();
  }
});

class AlwaysDiffers extends TrackSet {
  static override id = 'shadow-cap';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, samples: { perMinute: 4, maxBytes: 100 } };
  static old_track(i: number) {
    return i;
  }
  static new_track(i: number) {
    return -i;
  }
}

test('mismatch samples are capped per candidate and minute, across the recorder\'s flushes', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 10 }); // many flushes a minute: the cap must hold across them
  try {
    for (let i = 0; i < 120; i++) {
      new AlwaysDiffers({ key: `c${i}` }).run(i);
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await flush();
  } finally {
    await close();
  }
  const perMinute = new Map<number, number>();
  for (const e of store.events) if (e.kind === 'shadow_sample' && e.trackSetId === 'shadow-cap') perMinute.set(Math.floor(e.at / 60_000), (perMinute.get(Math.floor(e.at / 60_000)) ?? 0) + 1);
  assert.ok(perMinute.size >= 1 && perMinute.size <= 2, `samples span ${perMinute.size} minutes`);
  for (const [minute, count] of perMinute) assert.ok(count <= 4, `minute ${minute}: ${count} samples kept, the cap is 4`);
  assert.equal(Math.max(...perMinute.values()), 4, 'the cap is reached (120 mismatches)');
});

const nasty: unknown[] = [];
{
  const cycle: Record<string, unknown> = { name: 'cycle' };
  cycle['self'] = cycle;
  nasty.push(cycle, { big: 10n ** 30n }, 'nul\u0000inside', 'lone \ud800 surrogate', 'x'.repeat(1_000_000), '🥥'.repeat(5000), undefined, () => 1);
}

class NastyQuery extends TrackSet {
  static override id = 'shadow-nasty';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, maxConcurrent: 100, samples: { perMinute: 100, maxBytes: 1000 } };
  static old_track(i: number) {
    return `plain ${i}`;
  }
  static new_track(i: number) {
    return nasty[i];
  }
}

test('mismatch samples of any content (cycles, BigInt, NUL, lone surrogates, 1 MB, emoji) are stored cut and clean on SQLite; nothing is poisoned', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'tracks-shadow-'));
  const errors: Error[] = [];
  const recorder = configure({ store: join(dir, 'shadow.db'), flushInterval: 60_000, onError: (e) => errors.push(e) })!;
  try {
    for (let i = 0; i < nasty.length; i++) new NastyQuery({ key: `k${i}` }).run(i);
    await flush();
    const stats = recorder.stats();
    assert.deepEqual([stats.quarantined, stats.dropped, stats.rejected], [0, 0, 0], errors.map((e) => e.message).join('\n'));
    const { shadow } = await readAnalysis(recorder.store, { daily: false });
    assert.equal(shadow.tracks[0]!.mismatches, nasty.length);
    assert.equal(shadow.samples.length, nasty.length, 'every sample stored');
    for (const sample of shadow.samples) {
      for (const text of [sample.input, sample.baseline, sample.candidate]) {
        assert.ok(Buffer.byteLength(text) <= 1000, `${Buffer.byteLength(text)} bytes`);
        assert.ok(!text.includes('\u0000'));
        assert.doesNotMatch(text, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/, 'no lone surrogate');
      }
    }
    const candidates = shadow.samples.map((s) => s.candidate);
    assert.ok(candidates.some((c) => c.includes('"[Circular]"')), 'a cycle is described where it stands, not thrown');
    assert.ok(candidates.some((c) => c.includes('1000000000000000000000000000000n')), 'a BigInt is written out');
    assert.ok(candidates.some((c) => c.endsWith('…[cut]')), 'a long value is cut, with a marker');
  } finally {
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
});

class GatedQuery extends TrackSet {
  static override id = 'shadow-gated';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 10_000 };
  static gates: Array<() => void> = [];
  static old_track() {
    return 1;
  }
  static new_track() {
    return new Promise<number>((resolve) => GatedQuery.gates.push(() => resolve(1)));
  }
}

test('flush() waits for the shadow runs started before it, not for later ones (it resolves under steady traffic)', async () => {
  const { shadowRunsReported } = await import('../../src/core/shadow-runner.js');
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    new GatedQuery({ key: 'a' }).run();
    await new Promise((resolve) => setImmediate(resolve));
    let reported = false;
    const before = shadowRunsReported().then(() => (reported = true));
    new GatedQuery({ key: 'b' }).run(); // started after the call: not waited for
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(GatedQuery.gates.length, 2);
    GatedQuery.gates[0]!();
    await before;
    assert.equal(reported, true, 'resolved with the later run still pending');
    GatedQuery.gates[1]!();
    await flush();
    const { shadow } = await readAnalysis(store, { daily: false });
    assert.equal(shadow.tracks.find((t) => t.trackSetId === 'shadow-gated')!.matches, 2);
  } finally {
    await close();
  }
});

class StuckQuery extends TrackSet {
  static override id = 'shadow-stuck';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 20, maxConcurrent: 2, guardrail: { timeoutRate: 0.5, minRuns: 10 } };
  static old_track() {
    return 1;
  }
  static hang_track() {
    return new Promise(() => {}); // ignores its signal
  }
  static good_track() {
    return 1;
  }
}

test('a hung candidate holds only its share of the slots, and its guardrail stops it; the other candidate keeps running', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 3; i++) new StuckQuery({ key: `first-${i}` }).run();
    await flush(); // maxConcurrent 2 over 2 candidates: the first run of 'hang' hangs past its timeout, holding its one slot
    for (let i = 0; i < 60; i++) {
      new StuckQuery({ key: `k${i}` }).run();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await flush();
    const { sums, shadow } = await readAnalysis(store, { daily: false });
    const good = shadow.tracks.find((t) => t.trackSetId === 'shadow-stuck' && t.track === 'good')!;
    const hang = shadow.tracks.find((t) => t.trackSetId === 'shadow-stuck' && t.track === 'hang')!;
    assert.equal(good.matches, 63, 'the good candidate ran on every run');
    assert.equal(good.skippedConcurrency, 0);
    assert.equal(hang.timeouts, 1);
    assert.ok(hang.skippedGuardrail > 0, 'the hung candidate was stopped by its guardrail');
    assert.equal(hang.candidateHistogram.reduce((a, b) => a + b, 0), 1, 'timeouts are timed at the timeout (a lower bound)');
    assert.equal(shadowRunsInFlight('shadow-stuck'), 1, "only the hung run holds a slot: its share, half the set's");
    const set = buildReport(sums, { shadow }).trackSets.find((s) => s.id === 'shadow-stuck')!;
    assert.match(
      set.shadow!.candidates.find((c) => c.track === 'hang')!.guardrail!.cause,
      /timed out in 100% of its last \d+ runs \(\d+ of them skipped while its earlier runs hung past the timeout\)/,
      'the cause says how many of its "timeouts" were runs skipped while it hung (the report counts them as skipped)',
    );
    assert.equal(set.status, 'running', "a shadow guardrail is the shadow's finding, not the live test's");
    assert.deepEqual(set.guardrails, []);
    assert.ok(!set.warnings.some((w) => w.kind === 'guardrail'));
  } finally {
    await close();
  }
});

// More candidates than maxConcurrent: each may hold one slot, and two hung ones fill the set's two.
class CrowdedQuery extends TrackSet {
  static override id = 'shadow-crowded';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 20, maxConcurrent: 2, guardrail: { timeoutRate: 0.5, minRuns: 10 } };
  static old_track() {
    return 1;
  }
  static hang1_track() {
    return new Promise(() => {}); // ignores its signal
  }
  static hang2_track() {
    return new Promise(() => {});
  }
  static good_track() {
    return 1;
  }
}

test('a candidate skipped because the other candidates hold the set\'s slots is not judged a hung candidate; the hung ones are', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 3; i++) new CrowdedQuery({ key: `first-${i}` }).run();
    await flush(); // each hung candidate's first run holds its one slot: the set's two are taken
    assert.equal(shadowRunsInFlight('shadow-crowded'), 2);
    for (let i = 0; i < 60; i++) {
      new CrowdedQuery({ key: `k${i}` }).run();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await flush();
    assert.equal(shadowRunsInFlight('shadow-crowded'), 2, 'the cap holds with three candidates');
    const { sums, shadow } = await readAnalysis(store, { daily: false });
    const of = (track: string) => shadow.tracks.find((t) => t.trackSetId === 'shadow-crowded' && t.track === track)!;
    for (const track of ['hang1', 'hang2']) {
      assert.equal(of(track).timeouts, 1, track);
      assert.ok(of(track).skippedGuardrail > 0, `${track} was stopped by its guardrail`);
    }
    const good = of('good');
    assert.ok(good.skippedConcurrency >= 60, `no slot was left for 'good' (${good.skippedConcurrency} skipped)`);
    assert.equal(good.skippedGuardrail, 0, "'good' has not hung: its skips are not timeouts, and its guardrail stays quiet");
    const set = buildReport(sums, { shadow }).trackSets.find((s) => s.id === 'shadow-crowded')!;
    assert.equal(set.shadow!.candidates.find((c) => c.track === 'good')!.guardrail, null);
    assert.match(set.shadow!.candidates.find((c) => c.track === 'hang1')!.guardrail!.cause, /timed out in/);
  } finally {
    await close();
  }
});

// A well-behaved candidate: it gives up as soon as its signal aborts, in the same turn as the timeout.
class PromptAbort extends TrackSet {
  static override id = 'shadow-prompt-abort';
  static override addControlTrack = false;
  static override control = 'old';
  // A timeout far above the fast runs' 2 ms: on a loaded CI machine a 20 ms one timed a fast run out.
  static override shadow: ShadowOptions = { sample: 1, timeout: 250, maxConcurrent: 1, guardrail: { timeoutRate: 0.5, minRuns: 10 } };
  static old_track(input: string) {
    return input;
  }
  static async new_track(input: string) {
    const { signal } = shadowContext();
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, input === 'slow' ? 5_000 : 2);
      signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    });
    return input;
  }
}

test('a candidate that stops at its signal is not left counted as hung: later skips at the cap are not judged timeouts', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    new PromptAbort({ key: 'slow' }).run('slow'); // times out, and settles at once
    await flush();
    for (let i = 0; i < 15; i++) {
      // Two runs at once with one slot: the second is skipped at the cap, its candidate busy, not hung.
      new PromptAbort({ key: `a${i}` }).run('fast');
      new PromptAbort({ key: `b${i}` }).run('fast');
      await flush();
    }
    const { sums, shadow } = await readAnalysis(store, { daily: false });
    const sums1 = shadow.tracks.find((t) => t.trackSetId === 'shadow-prompt-abort')!;
    assert.equal(sums1.timeouts, 1);
    assert.equal(sums1.matches, 15);
    assert.equal(sums1.skippedConcurrency, 15);
    assert.equal(sums1.skippedGuardrail, 0, 'its guardrail did not stop it');
    assert.equal(buildReport(sums, { shadow }).trackSets.find((s) => s.id === 'shadow-prompt-abort')!.shadow!.candidates[0]!.guardrail, null);
  } finally {
    await close();
  }
});

class LongResults extends TrackSet {
  static override id = 'shadow-long-results';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1 };
  static old_track(query: string) {
    return { query, hits: ['coconut-1', 'coconut-2', 'coconut-3'] };
  }
  static ['a candidate with a rather long name, clipped_track'](query: string) {
    return { query, hits: ['coconut-1', 'coconut-2'] };
  }
  static new_track(query: string) {
    return { query, hits: ['coconut-1', 'coconut-3'] };
  }
}

test('the text report\'s latest mismatches fit 100 columns, whatever the candidate\'s name and the samples\' length', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 3; i++) new LongResults({ key: `k${i}` }).run(`a search for coconuts, page ${i} of the results`);
    await flush();
    const { sums, metrics, shadow } = await readAnalysis(store, { daily: false });
    const text = renderReport(buildReport(sums, { metrics, shadow }));
    const samples = text.split('\n').filter((line) => /^ {4}(new|a candidate)/.test(line));
    assert.ok(samples.length >= 2, text);
    for (const line of text.split('\n')) assert.ok(line.length <= 100, `fits 100 columns (${line.length}): ${line}`);
  } finally {
    await close();
  }
});

class Intermittent extends TrackSet {
  static override id = 'shadow-intermittent';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 20, guardrail: { timeoutRate: 0.5, minRuns: 2 } };
  static old_track() {
    return 1;
  }
  static new_track() {
    return 1;
  }
}

test('a shadow guardrail\'s cause counts the hung skips of its window only: they fade with its other runs', () => {
  const trips: GuardrailEvent[] = [];
  const recorder = new ShadowRecorder((event) => void (event.kind === 'guardrail' && trips.push(event)), new ErrorReporter(() => {}));
  const definition = definitionOf(Intermittent);
  const run = (result: 'match' | 'skipped-concurrency'): void =>
    recorder.record({ definition, track: 'new', result, baselineMs: 1, candidateMs: result === 'match' ? 1 : null, sample: null, ...(result === 'match' ? {} : { stuck: true }) });
  // 20 runs, half of them skipped while the candidate hung: at the limit (50%), not past it. The
  // window then halves (10 runs, 5 timeouts), and one more hung skip trips it: 6 of 11.
  for (let i = 0; i < 10; i++) {
    run('match');
    run('skipped-concurrency');
  }
  assert.equal(trips.length, 0);
  run('skipped-concurrency');
  assert.equal(trips.length, 1);
  assert.match(trips[0]!.cause, /timed out in 54\.5% of its last 11 runs \(6 of them skipped while its earlier runs hung past the timeout\)/);
});

let laterWrites = 0;
class LateWriter extends TrackSet {
  static override id = 'shadow-late-writer';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, readOnly: true };
  static old_track() {
    return 1;
  }
  static async new_track() {
    await Promise.resolve();
    shadowContext().write(() => laterWrites++); // read after an await: still the candidate's
    return 1;
  }
}

class EligibleOnly extends TrackSet<{ beta: boolean }> {
  static override id = 'shadow-eligible';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1 };
  static runs = 0;
  override get isEligible() {
    return this.context.beta;
  }
  static old_track() {
    return 1;
  }
  static new_track() {
    EligibleOnly.runs++;
    return 1;
  }
}

class QueryBuilderBaseline extends TrackSet {
  static override id = 'shadow-thenable';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1 };
  static runs = 0;
  static old_track() {
    return { then: (resolve: (v: number) => void) => resolve(1), where: () => 'builder' };
  }
  static new_track() {
    QueryBuilderBaseline.runs++;
    return 1;
  }
}

class ThrowingCompare extends TrackSet {
  static override id = 'shadow-throwing-compare';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = {
    sample: 1,
    compare: () => {
      throw new Error('compare is broken');
    },
  };
  static old_track() {
    return 1;
  }
  static new_track() {
    return 1;
  }
}

test('edges: a write after an await fails assertReadOnlyShadow; ineligible users run no candidate; a query-builder baseline is not shadowed; a throwing compare reaches onError; nothing runs after close()', async () => {
  await assert.rejects(assertReadOnlyShadow(LateWriter), (e: unknown) => e instanceof TracksError && /'new' wrote/.test(e.message));
  assert.equal(laterWrites, 0);
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, flushInterval: 60_000, onError: (e) => errors.push(e) });
  try {
    const out = new EligibleOnly({ key: 'x', context: { beta: false } });
    assert.equal(out.reason, 'ineligible');
    out.run();
    const inside = new EligibleOnly({ key: 'y', context: { beta: true } });
    assert.equal(inside.reason, 'shadow');
    inside.run();
    const builder = new QueryBuilderBaseline({ key: 'z' }).run() as { where(): string };
    assert.equal(builder.where(), 'builder', 'the caller gets the very object the baseline returned');
    new ThrowingCompare({ key: 'w' }).run();
    await flush();
    assert.equal(EligibleOnly.runs, 1, 'only the eligible user ran the candidate');
    assert.equal(QueryBuilderBaseline.runs, 0);
    assert.ok(errors.some((e) => /compare is broken/.test(e.message)), errors.map((e) => e.message).join('; '));
  } finally {
    await close();
  }
  new EligibleOnly({ key: 'after', context: { beta: true } }).run();
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(EligibleOnly.runs, 1, 'after close(), no candidate runs: nothing would count it');
});

test('tracks resume of a shadow set not yet promoted says it goes back to its shadow runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-shadow-resume-'));
  try {
    const path = join(dir, 'shadow.db');
    configure({ store: path, outbox: false, flushInterval: 60_000 });
    for (let i = 0; i < 20; i++) new AlwaysDiffers({ key: `r${i}` }).run(i);
    await flush();
    await close();
    const cli = async (...args: string[]) => {
      let out = '';
      const code = await runCli(args, { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {} });
      return { code, out };
    };
    assert.equal((await cli('stop', 'shadow-cap', '--store', path)).code, 0);
    const resumed = await cli('resume', 'shadow-cap', '--store', path);
    assert.equal(resumed.code, 0);
    assert.match(resumed.out, /shadow-cap resumed: every process goes back to its shadow runs \(everyone gets the baseline; promote to go live\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a mismatch whose results differ only near their ends is cut around the difference, so the two do not read the same', () => {
  const products = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => `coconut-${i}`));
  const [baseline, candidate] = cutPair(products(30), products(29), 30);
  assert.notEqual(baseline, candidate);
  assert.ok(baseline.length <= 30 && candidate.length <= 30);
  assert.match(baseline, /^….*coconut-29"\]$/);
  assert.match(candidate, /^…\S*-28"\]$/);
  // Results that differ early, or fit, are cut at their ends as before.
  assert.deepEqual(cutPair('[1,2,3]', '[1,2,4]', 30), ['[1,2,3]', '[1,2,4]']);
  assert.deepEqual(cutPair(`a${'x'.repeat(60)}`, `b${'x'.repeat(60)}`, 10), [`a${'x'.repeat(8)}…`, `b${'x'.repeat(8)}…`]);
});

test('a mismatch sample shows what JSON cannot: -0 against 0, NaN, and a cycle written up to the reference back, so the difference is still seen', () => {
  assert.equal(sampleText(-0, 100), '"[-0]"');
  assert.notEqual(sampleText(-0, 100), sampleText(0, 100));
  assert.equal(sampleText({ rate: NaN, max: Infinity }, 100), '{"rate":"[NaN]","max":"[Infinity]"}');
  const four: Record<string, unknown> = { i: 4 };
  four['self'] = four;
  const five: Record<string, unknown> = { i: 5 };
  five['self'] = five;
  assert.equal(sampleText(four, 100), '{"i":4,"self":"[Circular]"}');
  assert.notEqual(sampleText(four, 100), sampleText(five, 100));
  // An object met twice but not inside itself is written both times.
  const shared = { x: 1 };
  assert.equal(sampleText([shared, shared], 100), '[{"x":1},{"x":1}]');
});

/** The report's candidate `track` of the set `id` in `store`. */
async function candidateOf(store: ReturnType<typeof memoryStore>, id: string, track = 'new') {
  const { sums, metrics, shadow } = await readAnalysis(store, { daily: false });
  return buildReport(sums, { metrics, shadow }).trackSets.find((s) => s.id === id)!.shadow!.candidates.find((c) => c.track === track)!;
}

// A probe: an async compare's promise is truthy, so every run read as a match ("0% mismatch",
// nothing reported), and an async ignore ignored every mismatch. Plain JavaScript compiles it.
class AsyncCompare extends TrackSet {
  static override id = 'shadow-async-compare';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow = { sample: 1, maxConcurrent: 1000, compare: (async (a: unknown, b: unknown) => a === b) as unknown as (a: unknown, b: unknown) => boolean };
  static old_track() {
    return 1;
  }
  static new_track() {
    return 2;
  }
}
class AsyncIgnore extends TrackSet {
  static override id = 'shadow-async-ignore';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow = { sample: 1, maxConcurrent: 1000, ignore: (async () => false) as unknown as () => boolean };
  static old_track() {
    return 1;
  }
  static new_track() {
    return 2;
  }
}

test('a compare or ignore that returns a promise is not read as its answer: the run counts as an error (compare) or a mismatch (ignore), reported', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, flushInterval: 60_000, onError: (e) => errors.push(e) });
  try {
    for (let i = 0; i < 10; i++) {
      assert.equal(new AsyncCompare({ key: `a${i}` }).run(), 1);
      assert.equal(new AsyncIgnore({ key: `a${i}` }).run(), 1);
    }
    await flush();
  } finally {
    await close();
  }
  const compared = await candidateOf(store, 'shadow-async-compare');
  assert.deepEqual([compared.runs, compared.matches, compared.mismatches, compared.errors], [10, 0, 0, 10]);
  const ignored = await candidateOf(store, 'shadow-async-ignore');
  assert.deepEqual([ignored.runs, ignored.ignored, ignored.mismatches], [10, 0, 10]);
  assert.ok(errors.some((e) => e instanceof TracksError && /^AsyncCompare: shadow\.compare returned a promise; it must answer synchronously/.test(e.message)), errors.map((e) => e.message).join('; '));
  assert.ok(errors.some((e) => e instanceof TracksError && /^AsyncIgnore: shadow\.ignore returned a promise/.test(e.message)));
});

let cleanCalls = 0;
class CleanFailsFirst extends TrackSet {
  static override id = 'shadow-clean-fails-first';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = {
    sample: 1,
    samples: { perMinute: 3 },
    clean: (value) => {
      // Both results of a sample go through clean: the first three samples fail.
      if (++cleanCalls <= 3) throw new Error('clean failed');
      return value;
    },
  };
  static old_track(i: number) {
    return `old ${i}`;
  }
  static new_track(i: number) {
    return `new ${i}`;
  }
}

test('a sample whose clean threw takes no place of the minute\'s: the next mismatches are sampled', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, flushInterval: 60_000, onError: (e) => errors.push(e) });
  try {
    for (let i = 0; i < 10; i++) new CleanFailsFirst({ key: `c${i}` }).run(i);
    await flush();
  } finally {
    await close();
  }
  const samples = store.events.filter((e) => e.kind === 'shadow_sample' && e.trackSetId === 'shadow-clean-fails-first');
  assert.equal(errors.filter((e) => /clean failed/.test(e.message)).length, 3);
  // Three per minute; at a minute's turn during the loop, more.
  assert.ok(samples.length >= 3, `${samples.length} samples kept after the failed ones (0 before)`);
});

// The clock the shadow runner reads, advanced by the tracks themselves below.
let fakeNow = 0;
class TimedPaths extends TrackSet {
  static override id = 'shadow-timed-paths';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 60_000 };
  static old_track() {
    fakeNow += 10;
    return 'same';
  }
  static new_track() {
    // Work the candidate leaves for after it returned: not its time, as it would not be the baseline's.
    queueMicrotask(() => (fakeNow += 1_000));
    fakeNow += 10;
    return 'same';
  }
}

test('a synchronous candidate\'s time ends when it returns, as the baseline\'s does: identical code is not read as slower', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  const real = Object.getOwnPropertyDescriptor(performance, 'now');
  Object.defineProperty(performance, 'now', { value: () => fakeNow, configurable: true, writable: true });
  try {
    for (let i = 0; i < 20; i++) new TimedPaths({ key: `t${i}` }).run();
    await flush();
  } finally {
    if (real === undefined) delete (performance as { now?: unknown }).now;
    else Object.defineProperty(performance, 'now', real);
    await close();
  }
  const candidate = await candidateOf(store, 'shadow-timed-paths');
  assert.equal(candidate.latency.pairs, 20);
  // 10 ms each, read from the same histogram bucket (1,010 ms before: the microtask counted).
  assert.equal(candidate.latency.candidate.p50Ms, candidate.latency.baseline.p50Ms);
  assert.ok(candidate.latency.candidate.p95Ms! < 100, `candidate p95 ${candidate.latency.candidate.p95Ms} ms`);
  for (const d of candidate.latency.difference) assert.equal(d.verdict, 'no difference', JSON.stringify(d));
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 3));

// A probe of issue 13: promoted, then stopped, resumed and stopped again within the minute of
// the last shadow run: the stops (phases without users) read as shadow phases in the report
// and the dashboard ("3 shadow stopped"), since whether a phase ran in shadow mode was
// inferred from the time of the last shadow run. It is recorded with the phase now.
for (const kind of ['memory', 'SQLite'] as const) {
  test(`a stop after a promotion is a live test's stop, not a shadow phase, whenever it comes (${kind})`, async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'shadow-phases-')), 'tracks.db');
    const store = kind === 'memory' ? memoryStore() : path;
    const control = kind === 'memory' ? (store as ReturnType<typeof memoryStore>) : sqliteStore(path);
    const recorder = configure({ store, flushInterval: 60_000, handleSignals: false, outbox: false })!;
    try {
      for (let i = 0; i < 20; i++) new PromotedQuery({ key: `u${i}` }).run();
      await flush();
      await stopTrackSet(control, 'shadow-promoted'); // a stop during the shadow: a shadow phase
      await recorder.refreshControls();
      await tick(); // each phase starts in a millisecond of its own, so the phases' order is their order
      new PromotedQuery({ key: 'during' }).run();
      await flush();
      await promoteTrackSet(control, 'shadow-promoted');
      await recorder.refreshControls();
      await tick();
      for (let i = 0; i < 20; i++) new PromotedQuery({ key: `u${i}` }).run();
      await stopTrackSet(control, 'shadow-promoted');
      await recorder.refreshControls();
      await tick();
      assert.equal(new PromotedQuery({ key: 'u1' }).reason, 'stopped');
      await resumeTrackSet(control, 'shadow-promoted');
      await recorder.refreshControls();
      await tick();
      await stopTrackSet(control, 'shadow-promoted');
      await recorder.refreshControls();
      await tick();
      await flush();
      const { sums, metrics, shadow } = await readAnalysis(control, { daily: false });
      const set = buildReport(sums, { metrics, shadow }).trackSets.find((s) => s.id === 'shadow-promoted')!;
      const phases = set.phases.map((p) => `${p.stopped ? 'stopped' : p.users > 0 ? 'live' : 'empty'}${p.shadow === true ? ' shadow' : p.shadow === false ? '' : ' ?'}`);
      // The shadow phase, its stop, the live test, its stop, the resumed test (no one came), its stop.
      assert.deepEqual(phases, ['empty shadow', 'stopped shadow', 'live', 'stopped', 'empty', 'stopped']);
      const lines = renderReport(buildReport(sums, { metrics, shadow })).split('\n');
      assert.ok(lines.some((l) => /^ +2 shadow stopped /.test(l)), lines.join('\n'));
      for (const index of [4, 6]) assert.match(lines.find((l) => new RegExp(`^ +${index} `).test(l)) ?? '', new RegExp(`^ +${index} stopped`));
    } finally {
      await close();
      if (kind === 'SQLite') await control.close();
    }
  });
}
