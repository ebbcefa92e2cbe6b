// Changing a test live: `tracks ramp` writes coverage or weights to the store, every process
// applies them at its next control read, and a new phase begins. Rendezvous assignment moves
// only the keys that must move (measured on 100,000 keys), sticky sets keep every user, and a
// stop ends the phase before it. Against real SQLite and real PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, TracksError, buildReport, close, configure, flush, memoryStore, postgresStore, rampTrackSet, ready, sqliteStore, stopTrackSet, resumeTrackSet } from '../../src/index.js';
import type { MemoryStore, Recorder, RecordingOptions, Report, Store } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-ramp-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));
const schemaFor = schemasFor('rp');

class CheckoutTracks extends TrackSet {
  static override id = 'ramp-checkout';
  static override weights = { control: 1, short: 1, long: 1 };
  static short_track() {}
  static long_track() {}
}

class StickyCheckout extends TrackSet {
  static override id = 'ramp-sticky';
  static override sticky = true;
  static override weights = { control: 1, fast: 1 };
  static fast_track() {}
}

const KEYS = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);

function assignments(cls: new (options: { key: string }) => TrackSet, keys: readonly string[]): Map<string, string> {
  return new Map(keys.map((key) => {
    const run = new cls({ key });
    return [key, run.reason === 'not covered' ? '(out)' : run.name] as const;
  }));
}

async function cli(env: Record<string, string>, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (x) => out.push(x), stderr: (x) => err.push(x), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('a weight change moves only the minimal share of 100,000 keys; coverage up keeps everyone who was in', async () => {
  const store = memoryStore();
  const recorder = configure({ store, outbox: false, dedupeSize: 10 }) as Recorder;
  const before = assignments(CheckoutTracks, KEYS);

  await rampTrackSet(store, 'ramp-checkout', { weights: { long: 3 } }, { force: true });
  await recorder.refreshControls();
  const after = assignments(CheckoutTracks, KEYS);
  const moved = KEYS.filter((k) => before.get(k) !== after.get(k)).length / KEYS.length;
  // Shares go from 1/3 each to 1/5, 1/5, 3/5: at least 2 x (1/3 - 1/5) = 26.7% of keys must move, to long.
  const minimal = 2 * (1 / 3 - 1 / 5);
  assert.ok(Math.abs(moved - minimal) < 0.01, `moved ${(moved * 100).toFixed(2)}%, the minimum is ${(minimal * 100).toFixed(2)}%`);
  assert.ok(KEYS.every((k) => before.get(k) === after.get(k) || after.get(k) === 'long'), 'every key that moved went to the track that grew');
  const share = KEYS.filter((k) => after.get(k) === 'long').length / KEYS.length;
  assert.ok(Math.abs(share - 0.6) < 0.01, `long has ${share}`);

  await rampTrackSet(store, 'ramp-checkout', { coverage: 0.1 });
  await recorder.refreshControls();
  const ten = assignments(CheckoutTracks, KEYS);
  const inTen = KEYS.filter((k) => ten.get(k) !== '(out)');
  assert.ok(Math.abs(inTen.length / KEYS.length - 0.1) < 0.01);
  assert.ok(inTen.every((k) => ten.get(k) === after.get(k)), 'keys in the test keep their track when coverage changes');
  await rampTrackSet(store, 'ramp-checkout', { coverage: 0.5 });
  await recorder.refreshControls();
  const half = assignments(CheckoutTracks, KEYS);
  assert.ok(inTen.every((k) => half.get(k) === ten.get(k)), 'ramping 10% -> 50% keeps every key that was in, on its track');
  const movedIn = KEYS.filter((k) => ten.get(k) !== half.get(k));
  assert.ok(movedIn.every((k) => ten.get(k) === '(out)'), 'only keys outside the test moved (into it)');
  assert.ok(Math.abs(movedIn.length / KEYS.length - 0.4) < 0.01, 'exactly the 40% the ramp adds');
  await close();
});

test('a sticky set keeps every user when its weights change; new users get the new weights', async () => {
  const store = memoryStore();
  const recorder = configure({ store, outbox: false }) as Recorder;
  const keys = KEYS.slice(0, 2000);
  const before = assignments(StickyCheckout, keys);
  await flush();
  await rampTrackSet(store, 'ramp-sticky', { weights: { control: 0, fast: 1 } });
  await recorder.refreshControls();
  assignments(StickyCheckout, keys); // a first look starts the sticky lookups
  await flush();
  const after = assignments(StickyCheckout, keys);
  assert.deepEqual([...after], [...before], 'every user keeps their track');
  const newcomers = assignments(StickyCheckout, KEYS.slice(50_000, 51_000));
  assert.ok([...newcomers.values()].every((t) => t === 'fast'), 'new users get the new weights');
  await close();
  // Kept users split 1:1, newcomers all 'fast': against the current weights (control 0) that
  // would be an impossible split; each phase against its own weights is a healthy one.
  const [set] = buildReport(await store.summarize({ trackSetId: 'ramp-sticky' })).trackSets;
  assert.equal(set!.phases.length, 2);
  assert.equal(set!.srm!.mismatch, false, 'no false sample-ratio alarm');
  assert.ok(!set!.warnings.some((w) => w.kind === 'sample-ratio-mismatch'));
});

test('a sticky set keeps every user when its coverage is lowered; keys never in stay out, at one lookup each', async (t) => {
  for (const kind of ['memory', 'sqlite'] as const) {
    await t.test(kind, async () => {
      const store = kind === 'memory' ? memoryStore() : sqliteStore(join(dir, 'sticky-coverage.db'));
      const reads: number[] = [];
      // Counts the keys looked up (the store itself, its method wrapped).
      const read = store.readAssignments.bind(store);
      (store as { readAssignments: Store['readAssignments'] }).readAssignments = (id, units, options) => (reads.push(units.length), read(id, units, options));
      const recorder = configure({ store, outbox: false }) as Recorder;
      const keys = KEYS.slice(0, 3000);
      const before = assignments(StickyCheckout, keys);
      assert.ok([...before.values()].every((track) => track !== '(out)'), 'everyone is in at full coverage');
      await flush();
      await rampTrackSet(store, 'ramp-sticky', { coverage: 0.2 });
      await recorder.refreshControls();
      assignments(StickyCheckout, keys); // a first look starts the sticky lookups (this process knows its own exposures)
      await flush();
      const after = assignments(StickyCheckout, keys);
      assert.deepEqual([...after], [...before], 'every user keeps their track');
      assert.ok([...keys].every((key) => new StickyCheckout({ key }).reason === 'assigned'));
      // Keys the set never saw: 20% come in, the rest stay out; each is looked up once, then known to have no track.
      const strangers = KEYS.slice(60_000, 62_000);
      assignments(StickyCheckout, strangers);
      await flush();
      const looked = reads.reduce((a, b) => a + b, 0);
      const out = assignments(StickyCheckout, strangers);
      const share = [...out.values()].filter((track) => track !== '(out)').length / strangers.length;
      assert.ok(Math.abs(share - 0.2) < 0.03, `newcomers in: ${share}`);
      assignments(StickyCheckout, strangers);
      await flush();
      assert.equal(reads.reduce((a, b) => a + b, 0), looked, 'no key is looked up again');
      assert.ok(looked <= keys.length + strangers.length, `${looked} lookups for ${keys.length + strangers.length} keys`);
      await close();
      await store.close?.();
    });
  }
});

test('a stop, a resume and a ramp each start a phase; no one is assigned in a stopped phase', async () => {
  const store = memoryStore();
  const recorder = configure({ store, outbox: false }) as Recorder;
  for (let i = 0; i < 300; i++) new CheckoutTracks({ key: `p${i}` }).run();
  await flush();
  // Phases are ordered by when they began: changes a few ms apart, as real ones are.
  const tick = () => new Promise((resolve) => setTimeout(resolve, 3));
  await tick();
  await stopTrackSet(store, 'ramp-checkout');
  await recorder.refreshControls();
  for (let i = 300; i < 400; i++) new CheckoutTracks({ key: `p${i}` }).run();
  await tick();
  await resumeTrackSet(store, 'ramp-checkout');
  await recorder.refreshControls();
  for (let i = 400; i < 700; i++) new CheckoutTracks({ key: `p${i}` }).run();
  await tick();
  await rampTrackSet(store, 'ramp-checkout', { weights: { long: 2 } });
  await recorder.refreshControls();
  for (let i = 700; i < 1000; i++) new CheckoutTracks({ key: `p${i}` }).run();
  await close();
  const [sums] = await store.summarize({ trackSetId: 'ramp-checkout' });
  const phases = sums!.phases;
  assert.deepEqual(phases.map((p) => p.definition?.stopped), [false, true, false, false]);
  assert.deepEqual(phases.map((p) => p.tracks.reduce((n, t) => n + t.users, 0)), [300, 0, 300, 300]);
  assert.deepEqual(phases.map((p) => p.definition?.weights.get('long')), [1, 1, 1, 2]);
  for (let i = 1; i < phases.length; i++) assert.equal(phases[i - 1]!.endedAt, phases[i]!.startedAt);
});

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  test(`${kind}: tracks ramp writes the change every process picks up; unknown sets and tracks exit 2 unless --force on an unrecorded set`, async (t) => {
    if (kind === 'PostgreSQL' && postgresUrl === undefined) return t.skip(POSTGRES_SKIP);
    let spec: string;
    let options: RecordingOptions;
    if (kind === 'SQLite') {
      spec = join(dir, 'cli.db');
      options = { store: spec };
    } else {
      const schema = schemaFor('cli');
      const url = new URL(postgresUrl!);
      url.searchParams.set('schema', schema);
      spec = url.toString();
      options = { store: postgresUrl!, schema };
    }
    const recorder = configure({ ...options, outbox: false, controlInterval: 60_000 }) as Recorder;
    for (let i = 0; i < 300; i++) new CheckoutTracks({ key: `c${i}` }).run();
    await flush();

    const ramped = await cli({ TRACKS_STORE: spec }, 'ramp', 'ramp-checkout', '--weights', 'short=0,long=2');
    assert.equal(ramped.code, 0, ramped.err);
    assert.match(ramped.out, /ramp-checkout ramped: weights short=0, long=2\. Every process applies it within its control interval/);
    await recorder.refreshControls();
    const names = new Set(Array.from({ length: 500 }, (_, i) => new CheckoutTracks({ key: `n${i}` }).name));
    assert.deepEqual([...names].sort(), ['control', 'long'], 'short has weight 0 now; control keeps its weight');

    const coverage = await cli({}, 'ramp', 'ramp-checkout', '--coverage', '10%', '--store', spec);
    assert.equal(coverage.code, 0, coverage.err);
    await recorder.refreshControls();
    const covered = Array.from({ length: 2000 }, (_, i) => new CheckoutTracks({ key: `m${i}` }).reason).filter((r) => r !== 'not covered').length;
    assert.ok(covered > 120 && covered < 280, `about 10% of 2000 keys are in the test: ${covered}`);

    for (const [args, message] of [
      [['ramp', 'nosuchset', '--coverage', '0.5'], /unknown track set 'nosuchset'.*recorded sets are 'ramp-checkout'.*--force/],
      [['ramp', 'ramp-checkout', '--weights', 'medium=2'], /'ramp-checkout' has no track 'medium'; its tracks are/],
      [['ramp', 'ramp-checkout', '--weights', 'medium=2', '--force'], /'ramp-checkout' has no track 'medium'/],
      [['ramp', 'ramp-checkout', '--coverage', '1.5'], /--coverage is '1.5'; give a share from 0 to 1/],
      [['ramp', 'ramp-checkout', '--coverage', '-0.1'], /--coverage is '-0.1'; give a share from 0 to 1/],
      [['ramp', 'ramp-checkout', '--weights', 'long'], /--weights has 'long'; give track=weight pairs/],
      [['ramp', 'ramp-checkout', '--weights', 'control=0,long=0,short=0'], /no track of 'ramp-checkout' a positive weight/],
      [['ramp', 'ramp-checkout'], /give --coverage <share> or --weights/],
      [['ramp', 'ramp-checkout', '--weights', 'control=0'], /the weight of 'control' would be 0, but it is the baseline of 'ramp-checkout'.*tracks stop ramp-checkout --serve/],
      [['stop', 'nosuchset'], /unknown track set 'nosuchset'/],
      [['resume', 'nosuchset'], /unknown track set 'nosuchset'/],
    ] as const) {
      const bad = await cli({}, ...args, '--store', spec);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.out}`);
      assert.match(bad.err, message);
    }
    const forced = await cli({}, 'ramp', 'not-deployed-yet', '--coverage', '0.01', '--force', '--store', spec);
    assert.equal(forced.code, 0, forced.err);
    const help = await cli({}, 'ramp', '--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: tracks ramp <track-set-id>/);
    await close();
  });
}

test('rampTrackSet checks its arguments with TracksErrors that name the fix', async () => {
  const store = memoryStore();
  await assert.rejects(rampTrackSet(store, 'x', {}, { force: true }), (e: unknown) => e instanceof TracksError && /give coverage \(0 to 1\) or weights/.test(e.message));
  await assert.rejects(rampTrackSet(store, 'x', { coverage: -0.1 }, { force: true }), /rampTrackSet: coverage is -0.1; give a share from 0 to 1/);
  await assert.rejects(rampTrackSet(store, 'x', { weights: { a: Number.NaN } }, { force: true }), /rampTrackSet: the weight of 'a' is NaN/);
  // A weight near the largest double overflowed the shares (the report and dashboard then failed on NaN).
  await assert.rejects(rampTrackSet(store, 'x', { weights: { a: 1e308 } }, { force: true }), /the weight of 'a' is 1e\+308; give a number from 0 to 1,000,000/);
  // The same fixes, in the same words, as a class's static weights; a number given as text says so.
  await assert.rejects(rampTrackSet(store, 'x', { weights: { a: 1e-7 } }, { force: true }), /the weight of 'a' is 1e-7; give 0, or at least 0\.000001 \(weights are relative: scale them all up\), e\.g\./);
  await assert.rejects(rampTrackSet(store, 'x', { weights: { a: '2' as never } }, { force: true }), /the weight of 'a' is the string '2'; give a number/);
  await assert.rejects(rampTrackSet(store, 'x', { coverage: '0.5' as never }, { force: true }), /coverage is the string '0\.5'; give a share/);
});

test('a change that changes nothing writes nothing: no new epoch, no phase, and the CLI says so', async () => {
  const spec = join(dir, 'noop.db');
  configure({ store: spec, outbox: false, controlInterval: 60_000 });
  for (let i = 0; i < 50; i++) new CheckoutTracks({ key: `q${i}` }).run();
  await close();
  const store = sqliteStore(spec);
  try {
    const phases = async () => (await store.summarize({ trackSetId: 'ramp-checkout' }))[0]!.phases.length;
    const resumed = await resumeTrackSet(store, 'ramp-checkout');
    assert.equal(resumed.changed, false, 'resuming a running set changes nothing');
    assert.deepEqual(await store.readControls(), [], 'nothing written');
    assert.equal(await phases(), 1);

    const stopped = await stopTrackSet(store, 'ramp-checkout', 'long');
    assert.equal(stopped.changed, true);
    assert.equal(stopped.epoch, 1);
    assert.equal((await stopTrackSet(store, 'ramp-checkout', 'long')).changed, false, 'the same stop again');
    assert.equal((await stopTrackSet(store, 'ramp-checkout', 'short')).epoch, 2, 'serving another track is a change');
    assert.equal((await rampTrackSet(store, 'ramp-checkout', { coverage: 1, weights: { long: 1 } })).changed, false, 'the configuration in force');
    assert.equal((await store.readControls())[0]!.epoch, 2);
    assert.equal(await phases(), 3, 'one phase per change that changed something');
  } finally {
    await store.close();
  }
  assert.match((await cli({}, 'stop', 'ramp-checkout', '--serve', 'short', '--store', spec)).out, /ramp-checkout was already stopped, serving 'short'; nothing changed/);
  assert.match((await cli({}, 'ramp', 'ramp-checkout', '--coverage', '1', '--store', spec)).out, /ramp-checkout already runs with coverage 100%; nothing changed/);
  assert.match((await cli({}, 'ramp', 'ramp-checkout', '--coverage', '0.5', '--store', spec)).out, /ramp-checkout ramped: coverage 50%\. It stays stopped .* until 'tracks resume ramp-checkout'/);
  assert.match((await cli({}, 'resume', 'ramp-checkout', '--store', spec)).out, /ramp-checkout resumed/);
  assert.match((await cli({}, 'resume', 'ramp-checkout', '--store', spec)).out, /ramp-checkout is not stopped; nothing changed/);
});

test('a ramp naming a track a deploy removed is refused, not a silent no-op', async () => {
  const store = memoryStore();
  class Deployed extends TrackSet {
    static override id = 'ramp-deployed';
    static override weights = { control: 1, b: 1, c: 1 };
    static b_track() {}
    static c_track() {}
  }
  configure({ store, outbox: false });
  for (let i = 0; i < 60; i++) new Deployed({ key: `d${i}` }).run();
  await close();
  class Redeployed extends TrackSet {
    static override id = 'ramp-deployed';
    static override weights = { control: 1, c: 1 };
    static c_track() {}
  }
  configure({ store, outbox: false });
  for (let i = 0; i < 60; i++) new Redeployed({ key: `d${i}` }).run();
  await close();
  await assert.rejects(
    rampTrackSet(store, 'ramp-deployed', { weights: { b: 9 } }),
    (e: unknown) => e instanceof TracksError && /'ramp-deployed' has no track 'b' any more \(a deploy removed it\); its tracks are 'control', 'c'/.test(e.message),
  );
  assert.deepEqual(await store.readControls(), [], 'nothing written');
  assert.equal((await rampTrackSet(store, 'ramp-deployed', { weights: { c: 3 } })).changed, true);
});

test('tracks ramp shows in the report at once: a new phase with the new configuration, before any process picks it up', async () => {
  const spec = join(dir, 'at-once.db');
  configure({ store: spec, outbox: false, controlInterval: 60_000 });
  for (let i = 0; i < 200; i++) new CheckoutTracks({ key: `o${i}` }).run();
  await close();
  const ramped = await cli({}, 'ramp', 'ramp-checkout', '--weights', 'long=4', '--coverage', '0.3', '--store', spec);
  assert.equal(ramped.code, 0, ramped.err);
  const json = await cli({}, 'report', '--json', '--all-phases', '--store', spec);
  assert.equal(json.code, 0, json.err);
  const phases = (JSON.parse(json.out) as Report).trackSets[0]!.phases;
  assert.equal(phases.length, 2);
  assert.deepEqual([phases[1]!.users, phases[1]!.configuration?.coverage, phases[1]!.configuration?.weights.long], [0, 0.3, 4]);
  // A process that picks the ramp up records into that same phase (same configuration, same epoch).
  const recorder = configure({ store: spec, outbox: false, controlInterval: 60_000 }) as Recorder;
  await recorder.refreshControls();
  for (let i = 0; i < 400; i++) new CheckoutTracks({ key: `o${i}` }).run();
  await close();
  const again = (JSON.parse((await cli({}, 'report', '--json', '--all-phases', '--store', spec)).out) as Report).trackSets[0]!.phases;
  assert.equal(again.length, 2, 'no third phase');
  assert.ok(again[1]!.users > 0);
});

test('a set deployed at coverage 0 is published on first use, so ramp and stop know it without --force', async () => {
  class Dormant extends TrackSet {
    static override id = 'ramp-dormant';
    static override coverage = 0;
    static fast_track() {}
  }
  const spec = join(dir, 'dormant.db');
  configure({ store: spec, outbox: false });
  for (let i = 0; i < 20; i++) assert.equal(new Dormant({ key: `d${i}` }).reason, 'not covered');
  await close();
  const ramped = await cli({}, 'ramp', 'ramp-dormant', '--coverage', '0.01', '--store', spec);
  assert.equal(ramped.code, 0, ramped.err);
  assert.equal((await cli({}, 'ramp', 'ramp-dormant', '--weights', 'fsat=2', '--store', spec)).code, 2, 'its tracks are known too');
  assert.equal((await cli({}, 'stop', 'ramp-dormant', '--store', spec)).code, 0);
});

test('close() with sticky lookups in flight records their exposures and reports no error', async () => {
  const errors: unknown[] = [];
  const spec = join(dir, 'sticky-close.db');
  configure({ store: spec, outbox: false, onError: (e) => errors.push(e) });
  for (let i = 0; i < 200; i++) new StickyCheckout({ key: `s${i}` }).run();
  await close();
  assert.deepEqual(errors, []);
  const store = sqliteStore(spec);
  try {
    const [sums] = await store.summarize({ trackSetId: 'ramp-sticky' });
    assert.equal(sums!.tracks.reduce((n, t) => n + t.users, 0), 200, 'every exposure stored');
  } finally {
    await store.close();
  }
});

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  test(`${kind}: a process started while a set is stopped or ramped serves it so from its first run (SQLite at once, PostgreSQL after ready())`, async (t) => {
    if (kind === 'PostgreSQL' && postgresUrl === undefined) return t.skip(POSTGRES_SKIP);
    let options: RecordingOptions;
    if (kind === 'SQLite') {
      options = { store: join(dir, 'started-late.db') };
    } else {
      options = { store: postgresUrl!, schema: schemaFor('late') };
    }
    const run = async (from: number, awaitReady: boolean) => {
      configure({ ...options, outbox: false, controlInterval: 60_000 });
      if (awaitReady) await ready();
      const reasons = new Map<string, number>();
      for (let i = from; i < from + 1000; i++) {
        const reason = new CheckoutTracks({ key: `late-${i}` }).reason;
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      await close();
      return reasons;
    };
    const awaitReady = kind === 'PostgreSQL';
    assert.deepEqual(await run(0, false), new Map([['assigned', 1000]]));
    const store = kind === 'SQLite' ? sqliteStore(join(dir, 'started-late.db')) : postgresStore(postgresUrl!, { schema: schemaFor('late') });
    try {
      await stopTrackSet(store, 'ramp-checkout', 'long');
      assert.deepEqual(await run(1000, awaitReady), new Map([['stopped', 1000]]), 'no run follows the code while the set is stopped');
      await resumeTrackSet(store, 'ramp-checkout');
      await rampTrackSet(store, 'ramp-checkout', { coverage: 0.1 });
      const ramped = await run(2000, awaitReady);
      assert.ok(ramped.get('assigned')! > 60 && ramped.get('assigned')! < 140, `about 10% in the test: ${ramped.get('assigned')}`);
      const [sums] = await store.summarize({ trackSetId: 'ramp-checkout' });
      assert.deepEqual(sums!.phases.map((p) => p.tracks.reduce((n, x) => n + x.users, 0)), [1000, 0, 0, ramped.get('assigned')], 'each user in the phase they were assigned in');
    } finally {
      await store.close();
    }
  });
}

for (const kind of ['memory', 'SQLite', 'PostgreSQL'] as const) {
  test(`${kind}: a new process keeps a sticky set's returning users from its first run after a ramp (${kind === 'PostgreSQL' ? 'after ready()' : 'at once'})`, async (t) => {
    if (kind === 'PostgreSQL' && postgresUrl === undefined) return t.skip(POSTGRES_SKIP);
    const memory = memoryStore();
    const spec: RecordingOptions['store'] = kind === 'memory' ? memory : kind === 'SQLite' ? join(dir, 'sticky-new-process.db') : postgresUrl!;
    const options: RecordingOptions = { store: spec, outbox: false, controlInterval: 60_000, ...(kind === 'PostgreSQL' ? { schema: schemaFor('stnew') } : {}) };
    const keys = KEYS.slice(0, 3000);
    configure(options);
    const before = assignments(StickyCheckout, keys);
    await close();
    const store = kind === 'memory' ? memory : kind === 'SQLite' ? sqliteStore(join(dir, 'sticky-new-process.db')) : postgresStore(postgresUrl!, { schema: schemaFor('stnew') });
    try {
      await rampTrackSet(store, 'ramp-sticky', { weights: { control: 0, fast: 1 } });
      // A new configuration stands for the next process: nothing of the first one is in memory.
      configure(options);
      if (kind === 'PostgreSQL') await ready();
      const first = assignments(StickyCheckout, keys);
      const moved = keys.filter((key) => first.get(key) !== before.get(key));
      assert.equal(moved.length, 0, `returning users served another track on their first run: ${moved.length} of ${keys.length}`);
      const newcomers = assignments(StickyCheckout, KEYS.slice(60_000, 61_000));
      assert.ok([...newcomers.values()].every((track) => track === 'fast'), 'new users get the new weights');
      await close();
    } finally {
      if (kind !== 'memory') await store.close();
    }
  });
}

test('a sticky load that answers after the process served keys replaces the tracks they were served', async () => {
  const keys = KEYS.slice(0, 2000);
  const { memory, before } = await servedThenRamped(keys);
  // The next process, on a remote store slow at startup: lookups outlast the write deadline, the load answers in 300 ms.
  const slow = remoteLike(memory, 1_000, 300);
  configure({ store: slow, outbox: false, controlInterval: 60_000, writeTimeout: 500, onError: () => {} });
  const early = assignments(StickyCheckout, keys);
  assert.ok(keys.some((key) => early.get(key) !== before.get(key)), 'before the load answers, some returning users get their current assignment');
  await ready();
  const later = assignments(StickyCheckout, keys);
  const moved = keys.filter((key) => later.get(key) !== before.get(key));
  assert.equal(moved.length, 0, `after the load, every returning user is back on their first track (${moved.length} not)`);
  await close();
});

test('keys past the lookup queue (10,000 waiting) are looked up on a later run, not kept on the track they were first served', async () => {
  const keys = KEYS.slice(0, 15_000);
  const { memory, before } = await servedThenRamped(keys);
  // No load at startup (a store of your own without readStickyAssignments): every key is looked up.
  const store = remoteLike(memory, 50, undefined);
  configure({ store, outbox: false, controlInterval: 60_000 });
  assignments(StickyCheckout, keys); // 15,000 new keys at once: 5,000 find the lookup queue full
  await flush();
  assignments(StickyCheckout, keys); // those are asked now
  await flush();
  const later = assignments(StickyCheckout, keys);
  const moved = keys.filter((key) => later.get(key) !== before.get(key));
  assert.equal(moved.length, 0, `every returning user is back on their first track (${moved.length} not)`);
  await close();
});

test('the sticky load is shared between sets under a byte bound too: the first set in the store does not take it all', async () => {
  const make = (id: string, b: number) =>
    class extends TrackSet {
      static override id = id;
      static override sticky = true;
      static override weights = { a: 1, b };
      static a_track() {}
      static b_track() {}
    };
  const [first, second, firstLater, secondLater] = [make('share-aa', 1), make('share-bb', 1), make('share-aa', 1000), make('share-bb', 1000)];
  const store = join(dir, 'sticky-share.db');
  configure({ store, outbox: false });
  const onA = (cls: typeof first, keys: readonly string[]) => keys.filter((key) => new cls({ key }).name === 'a');
  const keys = KEYS.slice(0, 2000);
  const [firstOnA, secondOnA] = [onA(first, keys), onA(second, keys)];
  await close();
  // The next process: weights now 1:1000, and room for about 30% of the users in half the bytes.
  configure({ store, outbox: false, stickyCacheBytes: 200_000 });
  const kept = (cls: typeof first, keys: readonly string[]) => keys.filter((key) => new cls({ key }).name === 'a').length / keys.length;
  const [firstKept, secondKept] = [kept(firstLater, firstOnA), kept(secondLater, secondOnA)];
  await close();
  assert.ok(firstKept > 0.15 && secondKept > 0.15, `each set keeps its share of returning users (${firstKept.toFixed(2)}, ${secondKept.toFixed(2)})`);
});

/**
 * A store over `memory` as a remote one answers: sticky lookups after `lookupMs`, the sticky
 * load after `loadMs` (none when undefined), the control state at once (so a ramp holds from
 * the first run, as a SQLite file's does).
 */
function remoteLike(memory: MemoryStore, lookupMs: number, loadMs: number | undefined): Store {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    description: 'remote-like',
    write: (events, options) => memory.write(events, options),
    readControls: () => memory.readControls(),
    readControlsNow: () => memory.readControlsNow!(),
    writeControl: (state, options) => memory.writeControl(state, options),
    readAssignments: async (id, units, options) => (await sleep(lookupMs), memory.readAssignments(id, units, options)),
    ...(loadMs === undefined ? {} : { readStickyAssignments: async (limit: number) => (await sleep(loadMs), memory.readStickyAssignments!(limit)) }),
    summarize: (options) => memory.summarize(options),
    close: async () => {},
  };
}

/** A first process serves `keys` a sticky set on a memory store; the set is then ramped to 0:1. Their first tracks, and the store. */
async function servedThenRamped(keys: readonly string[]): Promise<{ memory: MemoryStore; before: Map<string, string> }> {
  const memory = memoryStore();
  configure({ store: memory, outbox: false, controlInterval: 60_000 });
  const before = assignments(StickyCheckout, keys);
  await close();
  await rampTrackSet(memory, 'ramp-sticky', { weights: { control: 0, fast: 1 } });
  return { memory, before };
}

class FreshTracks extends TrackSet {
  static override id = 'ramp-fresh';
  static short_track() {}
  static long_track() {}
}

test('a forced ramp written before the set was deployed, naming a track it does not have: the others applied, the rest reported once through onError', async () => {
  const store = memoryStore();
  await rampTrackSet(store, 'ramp-fresh', { weights: { zz: 2, long: 0 } }, { force: true });
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (error) => errors.push(error) });
  try {
    await ready();
    const names = new Set(Array.from({ length: 2_000 }, (_, i) => new FreshTracks({ key: `k${i}` }).name));
    assert.deepEqual([...names].sort(), ['control', 'short'], 'long=0 applied');
    const ignored = errors.filter((e) => /zz/.test(e.message));
    assert.equal(ignored.length, 1, errors.map((e) => e.message).join('\n'));
    assert.ok(ignored[0] instanceof TracksError);
    assert.match(ignored[0]!.message, /FreshTracks \('ramp-fresh'\) was ramped with weights for 'zz', which it has no track of \(its tracks are 'control', 'short', 'long'\)/);
  } finally {
    await close();
  }
});

class ForcedStopTracks extends TrackSet {
  static override id = 'forced-stop-fresh';
  static short_track() {}
  static long_track() {}
}

test('a stop forced before the set was deployed, serving a track it does not have: processes serve the baseline, say so once, and the report agrees', async () => {
  const store = memoryStore();
  await stopTrackSet(store, 'forced-stop-fresh', 'bogus', { force: true });
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (error) => errors.push(error) });
  try {
    await ready();
    for (let i = 0; i < 200; i++) {
      const run = new ForcedStopTracks({ key: `k${i}` });
      assert.equal(run.name, 'control');
      assert.equal(run.reason, 'stopped');
    }
    const said = errors.filter((e) => /bogus/.test(e.message));
    assert.equal(said.length, 1, errors.map((e) => e.message).join('\n'));
    assert.ok(said[0] instanceof TracksError);
    assert.match(said[0]!.message, /ForcedStopTracks \('forced-stop-fresh'\) is stopped serving 'bogus', which it has no track of \(its tracks are 'control', 'short', 'long'\): its baseline 'control' is served instead/);
    await flush();
    const set = buildReport(await store.summarize()).trackSets.find((s) => s.id === 'forced-stop-fresh')!;
    assert.equal(set.status, 'stopped');
    assert.equal(set.serving, 'control', 'not the track no process serves');
    assert.ok(set.warnings.some((w) => w.kind === 'unknown-serve' && /stopped serving 'bogus'/.test(w.message)), JSON.stringify(set.warnings));
  } finally {
    await close();
  }
});

class ZeroBaselineTracks extends TrackSet {
  static override id = 'zero-baseline-fresh';
  static short_track() {}
  static long_track() {}
}

test('a ramp forced before the set was deployed, giving its baseline weight 0: the baseline keeps its weight, the others apply, reported once', async () => {
  const store = memoryStore();
  await rampTrackSet(store, 'zero-baseline-fresh', { weights: { control: 0, long: 2 } }, { force: true });
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (error) => errors.push(error) });
  try {
    await ready();
    const counts = new Map<string, number>();
    for (let i = 0; i < 4_000; i++) {
      const name = new ZeroBaselineTracks({ key: `k${i}` }).name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    // Weights control 1, short 1, long 2: control keeps about a quarter of the users.
    assert.ok((counts.get('control') ?? 0) > 800, JSON.stringify([...counts]));
    assert.ok((counts.get('long') ?? 0) > 1_700, JSON.stringify([...counts]));
    const said = errors.filter((e) => /weight of 0 for its baseline/.test(e.message));
    assert.equal(said.length, 1, errors.map((e) => e.message).join('\n'));
    assert.ok(said[0] instanceof TracksError);
  } finally {
    await close();
  }
});

test('a set stopped with --force under a mistyped id shows while stopped, and is gone from the report once resumed', async () => {
  const spec = join(dir, 'ghost.db');
  configure({ store: spec, outbox: false });
  for (let i = 0; i < 20; i++) new CheckoutTracks({ key: `g${i}` }).run();
  await close();
  const ids = async () => {
    const store = sqliteStore(spec);
    try {
      return (await store.summarize()).map((s) => s.trackSetId);
    } finally {
      await store.close();
    }
  };
  assert.match((await cli({}, 'stop', 'ramp-chekout', '--force', '--store', spec)).out, /ramp-chekout stopped/);
  assert.deepEqual(await ids(), ['ramp-checkout', 'ramp-chekout'], 'a forced stop shows, as documented');
  assert.match((await cli({}, 'resume', 'ramp-chekout', '--force', '--store', spec)).out, /ramp-chekout resumed/);
  assert.deepEqual(await ids(), ['ramp-checkout'], 'the typo leaves nothing behind');
});
