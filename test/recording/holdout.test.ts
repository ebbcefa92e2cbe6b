// Holdouts through the public API: configure({ store, holdout }) serves every set's baseline to
// the held-out keys (reason 'holdout', not in the test, no exposure of the set) and records one
// exposure per keyed unit of a pseudo set whose id is the holdout's, with its definition; the
// report then analyses it as a set with baseline 'holdout'. Raising the share moves keys only
// into the holdout; forcing beats it; runs without a key are never held out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MultiTrackSet,
  TrackSet,
  TracksError,
  buildReport,
  close,
  configure,
  convert,
  flush,
  forceTracks,
  inHoldout,
  memoryStore,
  readAnalysis,
  renderReport,
  stats,
  stopTrackSet,
  withTracksScope,
} from '../../src/index.js';
import type { DefinitionEvent, ExposureEvent, MemoryStore, Recorder, RecordedEvent } from '../../src/index.js';
import { REASONS } from '../../src/integrations/openfeature.js';
import { phaseIdOf } from '../../src/model/phase-id.js';

class DelayTracks extends TrackSet {
  static override id = 'holdout-delay';
  static short_track() {
    return 'short';
  }
  static long_track() {
    return 'long';
  }
}

class PricingTracks extends TrackSet {
  static override id = 'holdout-pricing';
  static override addControlTrack = false;
  static override control = 'price_0';
  static price_0_track() {}
  static price_1_track() {}
}

const HOLDOUT = { id: 'h-rec', share: 0.05 };
const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

const exposuresOf = (store: MemoryStore, trackSetId: string) =>
  store.events.filter((e): e is ExposureEvent => e.kind === 'exposure' && e.trackSetId === trackSetId);
const definitionsOf = (events: readonly RecordedEvent[], trackSetId: string) =>
  events.filter((e): e is DefinitionEvent => e.kind === 'definition' && e.trackSetId === trackSetId);

test('held-out keys get every set its baseline with reason holdout and no exposure of the set; every keyed unit has one holdout exposure', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, holdout: HOLDOUT });
  const held = new Set<string>();
  for (const key of KEYS) {
    for (let visit = 0; visit < 2; visit++) {
      const delay = new DelayTracks({ key });
      const pricing = new PricingTracks({ key });
      delay.run();
      if (inHoldout(key, HOLDOUT)) {
        held.add(key);
        assert.equal(delay.name, 'control');
        assert.equal(delay.reason, 'holdout');
        assert.equal(delay.inTest, false);
        assert.equal(pricing.name, 'price_0', 'the baseline of a set without an added control');
        assert.equal(pricing.reason, 'holdout');
      } else {
        assert.equal(delay.reason, 'assigned');
        assert.equal(pricing.reason, 'assigned');
      }
    }
    if (key.endsWith('7')) convert({ key, metric: 'purchase' });
  }
  await flush();
  assert.ok(Math.abs(held.size - 1_000) < 4.5 * Math.sqrt(20_000 * 0.05 * 0.95), `${held.size} of 20,000 held out`);

  // No exposure of either set for a held-out key; every other key has one per set.
  for (const set of ['holdout-delay', 'holdout-pricing']) {
    const units = exposuresOf(store, set).map((e) => e.unit);
    assert.equal(units.length, KEYS.length - held.size, set);
    assert.ok(!units.some((u) => held.has(u)), `${set}: no held-out key exposed`);
  }
  // One holdout exposure per keyed unit, with its holdout track (runs of two sets, twice each).
  const holdoutExposures = exposuresOf(store, 'h-rec');
  assert.equal(holdoutExposures.length, KEYS.length);
  assert.equal(new Set(holdoutExposures.map((e) => e.unit)).size, KEYS.length);
  for (const e of holdoutExposures) assert.equal(e.track, held.has(e.unit) ? 'holdout' : 'general', e.unit);

  // Its definition, published once like any set's, before its first exposure.
  const [definition, ...more] = definitionsOf(store.events, 'h-rec');
  assert.equal(more.length, 0);
  assert.deepEqual({ ...definition!.weights }, { holdout: 0.05, general: 0.95 });
  assert.equal(definition!.coverage, 1);
  assert.equal(definition!.control, 'holdout');
  assert.equal(definition!.sticky, false);
  assert.equal(definition!.stopped, false);
  const phase = phaseIdOf([['holdout', 0.05], ['general', 0.95]], 1, 'holdout', false, 0);
  assert.equal(definition!.phase, phase);
  assert.ok(holdoutExposures.every((e) => e.phase === phase));
  assert.ok(store.events.indexOf(definition!) < store.events.indexOf(holdoutExposures[0]!));
  assert.equal(stats().rejected, 0);

  // The report analyses it as a set whose baseline is the holdout: general against holdout.
  const { sums, metrics } = await readAnalysis(store);
  const result = buildReport(sums, { metrics }).trackSets.find((s) => s.id === 'h-rec')!;
  assert.equal(result.baseline, 'holdout');
  assert.equal(result.users, KEYS.length);
  assert.deepEqual(
    result.tracks.map((t) => [t.name, t.users]),
    [['holdout', held.size], ['general', KEYS.length - held.size]],
  );
  assert.ok(result.tracks.every((t) => t.metrics.some((m) => m.metric === 'purchase')));
  await close();
});

test('raising the share from 0.05 to 0.10 in a second configure: no key leaves the holdout, and the pseudo set gets a new phase', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, holdout: HOLDOUT });
  const before = new Map(KEYS.map((key) => [key, new DelayTracks({ key }).reason] as const));
  await flush();
  configure({ store, outbox: false, holdout: { id: 'h-rec', share: 0.1 } });
  const after = new Map(KEYS.map((key) => [key, new DelayTracks({ key }).reason] as const));
  await flush();

  const heldBefore = KEYS.filter((k) => before.get(k) === 'holdout');
  const heldAfter = KEYS.filter((k) => after.get(k) === 'holdout');
  assert.ok(heldBefore.every((k) => after.get(k) === 'holdout'), 'every key held out at 5% is held out at 10%');
  const moved = heldAfter.length - heldBefore.length;
  assert.ok(Math.abs(moved - 1_000) < 4.5 * Math.sqrt(20_000 * 0.05 * 0.95), `${moved} keys moved in: about the 5% the change adds`);
  assert.ok(KEYS.every((k) => after.get(k) === 'holdout' || after.get(k) === before.get(k)), 'only keys moving into the holdout changed');

  const phases = definitionsOf(store.events, 'h-rec').map((d) => [d.phase, { ...d.weights }]);
  assert.deepEqual(phases, [
    [phaseIdOf([['holdout', 0.05], ['general', 0.95]], 1, 'holdout', false, 0), { holdout: 0.05, general: 0.95 }],
    [phaseIdOf([['holdout', 0.1], ['general', 0.9]], 1, 'holdout', false, 0), { holdout: 0.1, general: 0.9 }],
  ]);
  // The store keeps each unit's first holdout exposure (a moved user counts in the first phase,
  // until it ended); the users new to the holdout are in the second phase.
  assert.equal(exposuresOf(store, 'h-rec').length, KEYS.length);
  await close();
});

test('a forced track beats the holdout; runs without a key are never held out; the request scope key is', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, holdout: { id: 'h-force', share: 0.5 } });
  const heldKey = KEYS.find((k) => inHoldout(k, { id: 'h-force', share: 0.5 }))!;
  const forced = new DelayTracks({ key: heldKey, force: 'long' });
  assert.equal(forced.name, 'long');
  assert.equal(forced.reason, 'forced');
  const scoped = forceTracks({ 'holdout-delay': 'short' }, () => {
    const run = new DelayTracks({ key: heldKey });
    return [run.name, run.reason];
  });
  assert.deepEqual(scoped, ['short', 'forced']);

  const keyless = Array.from({ length: 1_000 }, () => new DelayTracks());
  assert.ok(keyless.every((run) => run.reason === 'assigned'), 'no keyless run is held out');

  const inScope = withTracksScope({ key: heldKey }, () => new DelayTracks());
  assert.equal(inScope.reason, 'holdout');
  assert.equal(inScope.name, 'control');
  await flush();

  const units = exposuresOf(store, 'h-force').map((e) => e.unit);
  assert.deepEqual(units, [heldKey], 'forced and keyless runs record no holdout exposure; the scoped run does');
  assert.equal(exposuresOf(store, 'holdout-delay').filter((e) => e.unit.startsWith('run:')).length, 1_000);
  await close();
});

test('a MultiTrackSet run of a held-out key serves the chosen set its baseline; a stopped set rolled out still serves the holdout its baseline', async () => {
  const store = memoryStore();
  const recorder = configure({ store, outbox: false, holdout: { id: 'h-multi', share: 0.2 } }) as Recorder;
  const holdout = { id: 'h-multi', share: 0.2 };
  const keys = KEYS.slice(0, 2_000);
  for (const key of keys) {
    using multi = new MultiTrackSet([DelayTracks, PricingTracks], { key });
    multi.run();
    if (inHoldout(key, holdout)) {
      assert.equal(multi.reason, 'holdout');
      assert.equal(multi.inTest, false);
      assert.equal(multi.name, multi.trackSet!.id === 'holdout-delay' ? 'control' : 'price_0');
    } else {
      assert.equal(multi.reason, 'assigned');
    }
  }
  await flush();
  const held = new Set(keys.filter((k) => inHoldout(k, holdout)));
  const setUnits = [...exposuresOf(store, 'holdout-delay'), ...exposuresOf(store, 'holdout-pricing')].map((e) => e.unit);
  assert.equal(setUnits.length, keys.length - held.size);
  assert.ok(!setUnits.some((u) => held.has(u)));
  assert.equal(exposuresOf(store, 'h-multi').length, keys.length);

  await stopTrackSet(store, 'holdout-delay', 'long');
  await recorder.refreshControls();
  for (const key of keys.slice(0, 200)) {
    const run = new DelayTracks({ key });
    assert.deepEqual([run.name, run.reason], held.has(key) ? ['control', 'holdout'] : ['long', 'stopped'], key);
  }
  await close();
});

test('bad holdout options are a TracksError naming the field, thrown before the configuration is replaced', async () => {
  const store = memoryStore();
  configure({ store, outbox: false });
  const bad: [unknown, RegExp][] = [
    [{ id: 'h', share: 0.7 }, /^configure: holdout\.share is 0\.7; use the share of keys to hold out, a number in \(0, 0\.5\], e\.g\. 0\.05/],
    [{ id: 'h', share: -0.05 }, /holdout\.share is -0\.05/],
    [{ id: '  ', share: 0.05 }, /^configure: holdout\.id '  ' is empty; give the holdout a stable id such as 'h2026q4'/],
    [{ share: 0.05 }, /holdout\.id is missing/],
    [{ id: 'h', share: 0.05, size: 1 }, /holdout has an unknown field 'size'/],
    [0.05, /holdout is number; pass \{ id: 'h2026q4', share: 0\.05 \}/],
    // DelayTracks has run in this process: its id is taken.
    [{ id: 'holdout-delay', share: 0.05 }, /holdout\.id 'holdout-delay' is the id of a track set; give the holdout an id of its own/],
  ];
  for (const [holdout, message] of bad) {
    assert.throws(() => configure({ store, holdout: holdout as { id: string; share: number } }), (error: unknown) => {
      assert.ok(error instanceof TracksError, String(error));
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(() => configure({ holdout: { id: 'h', share: 2 } }), /holdout\.share is 2/, 'checked without a store too');
  // The configuration in force was kept: still recording, with no holdout.
  new DelayTracks({ key: 'after-bad-options' }).run();
  await flush();
  assert.equal(exposuresOf(store, 'holdout-delay').length, 1);
  assert.equal(exposuresOf(store, 'h').length, 0);
  // false (and leaving it out) is no holdout.
  configure({ store, outbox: false, holdout: false });
  assert.equal(new DelayTracks({ key: KEYS.find((k) => inHoldout(k, { id: 'h', share: 0.5 }))! }).reason, 'assigned');
  await close();
});

test('a set first used after configure with the holdout id records nothing, and says why', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, outbox: false, holdout: { id: 'holdout-clash', share: 0.05 }, onError: (error) => errors.push(error) });
  class ClashTracks extends TrackSet {
    static override id = 'holdout-clash';
    static other_track() {}
  }
  for (const key of KEYS.slice(0, 200)) new ClashTracks({ key }).run();
  new ClashTracks().run();
  await flush();
  assert.ok(errors.some((e) => e instanceof TracksError && /ClashTracks has the id 'holdout-clash', which is the holdout's/.test(e.message)), errors.map((e) => e.message).join('\n'));
  // Only the holdout's own rows are under its id.
  const rows = exposuresOf(store, 'holdout-clash');
  assert.equal(rows.length, 200);
  assert.ok(rows.every((e) => e.track === 'holdout' || e.track === 'general'));
  assert.deepEqual(definitionsOf(store.events, 'holdout-clash').map((d) => d.control), ['holdout']);
  await close();
});

test('OpenFeature reads a held-out evaluation as the default (the baseline)', () => {
  assert.equal(REASONS.holdout, 'DEFAULT');
});

/**
 * Records 3,000 users under `first` (a holdout or none), then under `second` runs them all
 * again, then 500 new users; every user converts after the change. Returns, per store, the
 * set's users and converted users.
 */
async function holdoutChange(first: { id: string; share: number } | undefined, second: { id: string; share: number }): Promise<Array<{ store: string; users: number; converted: number; late: number; intakes: readonly { holdout: string; share: number }[] }>> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { postgresStore, sqliteStore } = await import('../../src/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'tracks-holdout-change-'));
  const url = process.env.TRACKS_TEST_POSTGRES_URL;
  const schema = `tracks_test_holdout_change_${process.pid}`;
  const keys = KEYS.slice(0, 3_000);
  const late = Array.from({ length: 500 }, (_, i) => `late-user-${i}`);
  const memory = memoryStore();
  const results: Array<{ store: string; users: number; converted: number; late: number; intakes: readonly { holdout: string; share: number }[] }> = [];
  try {
    // Each configure gets its store (close() closes a SQLite or PostgreSQL store; the memory store lives on).
    for (const storeOf of [() => memory, () => sqliteStore(join(dir, 'holdout.db')), ...(url === undefined ? [] : [() => postgresStore(url, { schema })])]) {
      configure({ store: storeOf(), outbox: false, ...(first === undefined ? {} : { holdout: first }) });
      for (const key of keys) new DelayTracks({ key }).run();
      await flush();
      await new Promise((resolve) => setTimeout(resolve, 5)); // the change comes strictly later
      const store = storeOf();
      configure({ store, outbox: false, holdout: second });
      for (const key of keys) new DelayTracks({ key }).run();
      for (const key of late) new DelayTracks({ key }).run();
      await flush();
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const key of [...keys, ...late]) convert({ key, metric: 'purchase' });
      await flush();
      const [delay] = await store.summarize({ trackSetId: 'holdout-delay' });
      results.push({
        store: store.description,
        users: delay!.tracks.reduce((n, t) => n + t.users, 0),
        converted: delay!.tracks.reduce((n, t) => n + (t.metrics.get('purchase')?.converted ?? 0), 0),
        late: late.filter((key) => !inHoldout(key, second)).length,
        intakes: (delay!.holdoutIntakes ?? []).map(({ holdout, share }) => ({ holdout, share })),
      });
      await close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (url !== undefined) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  }
  return results;
}

test('a holdout that moves keys into it (a raised share, or a new holdout) ends every set’s phases; a lowered share ends nothing', async () => {
  // Raised: users exposed before the change are credited with nothing after it, moved or not (as after a ramp); the new users are.
  // The set's sums say when (the report warns, kind 'holdout-intake'), since its phase goes on.
  for (const r of await holdoutChange(HOLDOUT, { id: 'h-rec', share: 0.1 })) {
    assert.equal(r.converted, r.late, `raised share, ${r.store}: ${JSON.stringify(r)}`);
    assert.deepEqual(r.intakes, [{ holdout: 'h-rec', share: 0.1 }], r.store);
  }
  // A holdout added to a running test moves keys out of their tracks too.
  for (const r of await holdoutChange(undefined, HOLDOUT)) {
    assert.equal(r.converted, r.late, `new holdout, ${r.store}: ${JSON.stringify(r)}`);
    assert.deepEqual(r.intakes, [{ holdout: HOLDOUT.id, share: HOLDOUT.share }], r.store);
  }
  // Lowered: keys only leave the holdout, into sets they were never in; every user's conversions count.
  for (const r of await holdoutChange({ id: 'h-rec', share: 0.1 }, HOLDOUT)) {
    assert.deepEqual(r.intakes, [], r.store);
    assert.equal(r.converted, r.users, `lowered share, ${r.store}: ${JSON.stringify(r)}`);
    assert.ok(r.users > 3_000, `${r.store}: users of both times counted (${r.users})`);
  }
});

test("the report says when a holdout took users in: the set's phase goes on, its earlier users' conversions stop there", async () => {
  const store = memoryStore();
  const keys = KEYS.slice(0, 1_000);
  configure({ store, outbox: false, holdout: HOLDOUT });
  for (const key of keys) new DelayTracks({ key }).run();
  await flush();
  await close();
  await new Promise((resolve) => setTimeout(resolve, 5));
  configure({ store, outbox: false, holdout: { id: HOLDOUT.id, share: 0.1 } });
  for (const key of keys) new DelayTracks({ key }).run(); // they come back: the new share is recorded
  for (const key of keys) convert({ key, metric: 'purchase' });
  await flush();
  await close();
  const { sums, metrics } = await readAnalysis(store);
  const report = buildReport(sums, { metrics });
  const delay = report.trackSets.find((set) => set.id === 'holdout-delay')!;
  assert.equal(delay.phases.length, 1, 'no phase of its own began');
  const warning = delay.warnings.find((w) => w.kind === 'holdout-intake');
  assert.match(warning?.message ?? '', /^the holdout 'h-rec' took users in at \d{4}-\d\d-\d\dT[\d:.]+Z \(share 10%\): users exposed before then count conversions only until then/);
  assert.equal(delay.warnings.filter((w) => w.kind === 'holdout-intake').length, 1, 'the first intake came before the first exposure: not a cut');
  assert.match(renderReport(report), /! the holdout 'h-rec' took users in at/);
});
