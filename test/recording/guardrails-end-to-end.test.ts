// Guardrails and health, end to end through configure(): a track
// that throws far more than control is switched off in the process (its keys get control with
// reason 'guardrail', no new users), the trip is recorded once and passed to onGuardrail;
// async tracks count their rejection as an error and their awaited time as duration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackSet, close, configure, flush, memoryStore, stats } from '../../src/index.js';
import type { ExposureEvent, GuardrailEvent, HealthEvent } from '../../src/index.js';

class G2Flaky extends TrackSet {
  static override id = 'g2-flaky';
  flaky_track() {
    if (Number(String(this.key).slice(2)) % 2 === 0) throw new Error('flaky');
  }
  steady_track() {}
}

class G2Async extends TrackSet {
  static override id = 'g2-async';
  static async slow_track() {
    await new Promise((resolve) => setTimeout(resolve, 30));
    throw new Error('late failure');
  }
}

test('a track erring far above control trips: its keys get control (reason guardrail), no new exposures on it, one trip recorded and reported', async () => {
  const store = memoryStore();
  const trips: unknown[] = [];
  const errors: Error[] = [];
  configure({
    store,
    outbox: false,
    handleSignals: false,
    guardrails: { minRuns: 50, maxErrorRateIncrease: 0.05 },
    onGuardrail: (t) => trips.push(t),
    onError: (e) => errors.push(e),
  });
  const run = (i: number) => {
    const r = new G2Flaky({ key: `u-${i}` });
    try {
      r.run();
    } catch {}
    return r;
  };
  for (let i = 0; i < 600; i++) run(i);
  await flush(); // collects health: the guardrail judges it
  assert.equal(trips.length, 1, JSON.stringify(trips));
  assert.equal((trips[0] as { track: string }).track, 'flaky');
  // Keys that were on flaky and keys new to the process that would be: control, 'guardrail'.
  let guarded = 0;
  for (let i = 0; i < 1200; i++) {
    const r = run(i);
    assert.notEqual(r.name, 'flaky', `u-${i} still served flaky`);
    if (r.reason === 'guardrail') {
      guarded++;
      assert.equal(r.name, 'control');
    }
  }
  assert.ok(guarded > 200, `${guarded} runs served control by the guardrail`);
  // More runs and another flush do not trip it again.
  for (let i = 0; i < 600; i++) run(i);
  await flush();
  assert.equal(trips.length, 1);
  const guardrailEvents = store.events.filter((e): e is GuardrailEvent => e.kind === 'guardrail');
  assert.equal(guardrailEvents.length, 1);
  assert.match(guardrailEvents[0]!.cause, /error rate/);
  const exposures = store.events.filter((e): e is ExposureEvent => e.kind === 'exposure' && e.trackSetId === 'g2-flaky');
  // New keys (600..1199) never exposed on flaky after the trip.
  assert.ok(!exposures.some((e) => e.track === 'flaky' && Number(e.unit.slice(2)) >= 600), 'a new key exposed on the tripped track');
  assert.equal(new Set(exposures.map((e) => e.unit)).size, exposures.length, 'one exposure per key');
  // Health after the trip holds no runs of the guarded keys as flaky.
  const health = store.events.filter((e): e is HealthEvent => e.kind === 'health' && e.trackSetId === 'g2-flaky');
  const flakyRuns = health.filter((h) => h.track === 'flaky').reduce((n, h) => n + h.runs, 0);
  assert.ok(flakyRuns <= 600, `${flakyRuns} flaky runs counted`);
  assert.deepEqual(errors.map((e) => e.message), []);
  const [sums] = await store.summarize({ trackSetId: 'g2-flaky' });
  assert.ok(sums);
  await close();
  assert.equal(stats().dropped, 0);
});

test('an async track: its rejection counts as an error and its awaited time as its duration', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, handleSignals: false });
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => new G2Async({ key: `a-${i}` }).run()));
  await flush();
  const health = store.events.filter((e): e is HealthEvent => e.kind === 'health' && e.trackSetId === 'g2-async');
  const slow = health.filter((h) => h.track === 'slow');
  const n = results.length;
  const slowRuns = slow.reduce((a, h) => a + h.runs, 0);
  const slowErrors = slow.reduce((a, h) => a + h.errors, 0);
  const expectedSlow = (await Promise.all(Array.from({ length: 20 }, (_, i) => new G2Async({ key: `a-${i}` }).name))).filter((x) => x === 'slow').length;
  assert.equal(slowRuns, expectedSlow);
  assert.equal(slowErrors, expectedSlow);
  assert.equal(results.filter((r) => r.status === 'rejected').length, expectedSlow);
  assert.ok(expectedSlow > 0, 'some of the 20 keys run slow');
  assert.ok(slow.reduce((a, h) => a + h.totalMs, 0) / slowRuns >= 25, 'the awaited time is counted');
  assert.equal(health.reduce((a, h) => a + h.runs, 0), n);
  await close();
});
