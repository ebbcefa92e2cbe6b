import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  TrackSet,
  TracksError,
  UnitOfKey,
  callbackStore,
  close,
  configure,
  convert,
  flush,
  forceTracks,
  memoryStore,
  stats,
} from '../../src/index.js';
import type { ExposureEvent, HealthEvent, RecordedEvent, Store } from '../../src/index.js';
import { eventually } from '../support/eventually.js';
import { noMetricSums } from '../../src/model/sums.js';

class DelayTracks extends TrackSet {
  static override id = 'rec-delay';
  static short_track() {
    return 'short';
  }
  static long_track() {
    return 'long';
  }
}

class FailingTracks extends TrackSet {
  static override id = 'rec-failing';
  static broken_track() {
    throw new Error('boom');
  }
}

const byKind = <K extends RecordedEvent['kind']>(events: readonly RecordedEvent[], kind: K) =>
  events.filter((e): e is Extract<RecordedEvent, { kind: K }> => e.kind === kind);

test('without a store nothing is recorded and nothing fails', async () => {
  configure({});
  const run = new DelayTracks({ key: 'nobody' });
  assert.ok(['control', 'short', 'long'].includes(run.name));
  run.run();
  convert({ key: 'nobody', metric: 'purchase' });
  await flush();
  await close();
  assert.deepEqual(stats(), { buffered: 0, bufferedBytes: 0, written: 0, retried: 0, spilled: 0, drained: 0, rejected: 0, quarantined: 0, dropped: 0 });
});

test('one exposure per track set and key, none for forced runs; runs without a key are their own unit', async () => {
  const store = memoryStore();
  configure({ store });
  for (let visit = 0; visit < 5; visit++) {
    for (let user = 0; user < 20; user++) new DelayTracks({ key: `user-${user}` }).run();
  }
  const keyless = new DelayTracks();
  keyless.run();
  forceTracks({ 'rec-delay': 'long' }, () => new DelayTracks({ key: 'forced-user' }).run());
  new DelayTracks({ key: 'qa', force: 'short' }).run();
  assert.equal(stats().buffered > 0, true);
  await flush();
  const exposures = byKind(store.events, 'exposure');
  assert.equal(exposures.length, 21);
  assert.equal(new Set(exposures.map((e) => e.unit)).size, 21);
  assert.ok(exposures.some((e) => e.unit === `run:${keyless.runId}`));
  assert.ok(!exposures.some((e) => e.unit === 'forced-user' || e.unit === 'qa'));
  const s = stats();
  assert.equal(s.buffered, 0);
  assert.equal(s.written, store.events.length);
  assert.equal(s.dropped, 0);
  // The definition is recorded once with the weights this process saw.
  const definitions = byKind(store.events, 'definition');
  assert.equal(definitions.length, 1);
  assert.deepEqual({ ...definitions[0]!.weights }, { control: 1, short: 1, long: 1 });
  await close();
});

test('health is aggregated per track and minute: one event per track per flush, not per run', async () => {
  const store = memoryStore();
  configure({ store });
  let thrown = 0;
  for (let i = 0; i < 500; i++) {
    new DelayTracks({ key: `h-${i}` }).run();
    try {
      new FailingTracks({ key: `h-${i}` }).run();
    } catch {
      thrown++;
    }
  }
  await flush();
  const health = byKind(store.events, 'health');
  assert.ok(health.length <= 3 * 2 + 2 * 2, `${health.length} health events (a minute boundary may split one)`);
  const runs = (set: string, track?: string) =>
    health.filter((h) => h.trackSetId === set && (track === undefined || h.track === track)).reduce((n, h) => n + h.runs, 0);
  assert.equal(runs('rec-delay'), 500);
  assert.equal(runs('rec-failing', 'broken'), thrown);
  const errors = health.filter((h) => h.track === 'broken').reduce((n, h) => n + h.errors, 0);
  assert.equal(errors, thrown);
  for (const h of health) assert.equal(h.histogram.reduce((a, b) => a + b, 0), h.runs);
  const [sums] = await store.summarize({ trackSetId: 'rec-failing' });
  assert.equal(sums!.tracks.find((t) => t.track === 'broken')!.health.errors, thrown);
  await close();
});

test('hashKeys stores no raw key, and conversions still meet their exposures', async () => {
  const store = memoryStore();
  configure({ store, hashKeys: { secret: 'a test secret of 32 characters!!' } });
  const run = new DelayTracks({ key: 'alice@example.com' });
  run.run();
  convert({ key: 'alice@example.com', metric: 'purchase', value: 30 });
  await flush();
  for (const e of store.events) assert.ok(!JSON.stringify(e).includes('alice'), JSON.stringify(e));
  const [sums] = await store.summarize({ trackSetId: 'rec-delay' });
  const track = sums!.tracks.find((t) => t.track === run.name)!;
  assert.deepEqual(track.metrics.get('purchase'), { ...noMetricSums(), converted: 1, sum: 30, sumSquares: 900, count: 1, countSquares: 1, meanSum: 30, meanSquares: 900 });
  await close();
});

test('hashKeys: { secret } needs a secret: a missing one is a TracksError that says how to give one; secret and unsalted are not both given', () => {
  for (const missing of [{}, { secret: undefined }, { secret: null }]) {
    assert.throws(
      () => configure({ store: memoryStore(), hashKeys: missing as never }),
      (e: unknown) => e instanceof TracksError && /^configure: hashKeys needs a secret.*hashKeys: \{ secret: process\.env\.TRACKS_KEY_SECRET \}/.test(e.message),
      JSON.stringify(missing),
    );
  }
  assert.throws(() => configure({ store: memoryStore(), hashKeys: { unsalted: true, secret: 'a test secret of 32 characters!!' } as never }), /either \{ secret \}.*or \{ unsalted: true \}/);
  assert.throws(() => configure({ store: memoryStore(), hashKeys: { unsalted: 'yes' } as never }), /either \{ secret \}.*or \{ unsalted: true \}/);
  assert.throws(() => configure({ store: memoryStore(), hashKeys: { secrett: 'a test secret of 32 characters!!' } as never }), /configure: hashKeys: unknown option 'secrett'; did you mean 'secret'\?/);
});

test('hashKeys: true hashes under the secret in TRACKS_KEY_SECRET (HMAC-SHA-256, as { secret } does); unset, empty or weak, it is a TracksError that says how to give one, never a plain SHA-256', async () => {
  const before = process.env.TRACKS_KEY_SECRET;
  try {
    delete process.env.TRACKS_KEY_SECRET;
    assert.throws(
      () => configure({ store: memoryStore(), hashKeys: true }),
      (e: unknown) =>
        e instanceof TracksError &&
        /^configure: hashKeys: true hashes keys under the secret in the environment variable TRACKS_KEY_SECRET, which is not set; set it .*or pass hashKeys: \{ secret \}.*hashKeys: \{ unsalted: true \}$/.test(e.message),
    );
    process.env.TRACKS_KEY_SECRET = '';
    assert.throws(() => configure({ store: memoryStore(), hashKeys: true }), /TRACKS_KEY_SECRET, which is empty/);
    process.env.TRACKS_KEY_SECRET = 'short';
    assert.throws(() => configure({ store: memoryStore(), hashKeys: true }), /^TracksError: configure: TRACKS_KEY_SECRET is 5 bytes long; use at least 16 random characters/);
    process.env.TRACKS_KEY_SECRET = 'a'.repeat(30) + 'b';
    assert.throws(() => configure({ store: memoryStore(), hashKeys: true }), /configure: TRACKS_KEY_SECRET holds only 2 distinct characters/);
    const secret = 'a test secret of 32 characters!!';
    process.env.TRACKS_KEY_SECRET = secret;
    const store = memoryStore();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    configure({ store, hashKeys: true });
    new DelayTracks({ key: 'alice@example.com' }).run();
    convert({ key: 'alice@example.com', metric: 'purchase', value: 30 });
    await flush();
    await close();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.ok(store.events.length > 0);
    for (const e of store.events) assert.ok(!JSON.stringify(e).includes('alice'), JSON.stringify(e));
    const units = [...new Set(store.events.flatMap((e) => ('unit' in e ? [e.unit] : [])))];
    assert.deepEqual(units, [new UnitOfKey(secret).of('alice@example.com')]);
    assert.notEqual(units[0], new UnitOfKey(true).of('alice@example.com'), 'not the guessable plain SHA-256');
    assert.deepEqual(warnings.filter((w) => (w as Error & { code?: string }).code === 'TRACKS_UNSALTED_KEYS'), []);
  } finally {
    if (before === undefined) delete process.env.TRACKS_KEY_SECRET;
    else process.env.TRACKS_KEY_SECRET = before;
  }
});

test('hashKeys: { unsalted: true } stores every key as tracks 0.1 hashKeys: true did (h: and a SHA-256), and conversions still meet their exposures; one warning says a secret is safer', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  // A configure() that fails does not use up the warning.
  assert.throws(() => configure({ store: 42 as never, hashKeys: { unsalted: true } }), /store is 42; give/);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(warnings.length, 0);
  configure({ store, hashKeys: { unsalted: true }, onError: (error) => errors.push(error) });
  configure({ store, hashKeys: { unsalted: true }, onError: (error) => errors.push(error) });
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  const unsalted = warnings.filter((w) => (w as Error & { code?: string }).code === 'TRACKS_UNSALTED_KEYS');
  assert.equal(unsalted.length, 1, 'once per process');
  assert.match(unsalted[0]!.message, /hashKeys: \{ secret/);
  const run = new DelayTracks({ key: 'alice@example.com' });
  run.run();
  convert({ key: 'alice@example.com', metric: 'purchase', value: 30 });
  await flush();
  for (const e of store.events) assert.ok(!JSON.stringify(e).includes('alice'), JSON.stringify(e));
  const units = new Set(store.events.flatMap((e) => ('unit' in e ? [e.unit] : [])));
  assert.deepEqual([...units], [new UnitOfKey(true).of('alice@example.com')]);
  await close();
  assert.match([...units][0]!, /^h:[A-Za-z0-9_-]{43}$/);
  // A secret, when given, still decides the unit: the two never coincide.
  assert.notEqual(new UnitOfKey(true).of('alice@example.com'), new UnitOfKey('a test secret of 32 characters!!').of('alice@example.com'));
  const [sums] = await store.summarize({ trackSetId: 'rec-delay' });
  assert.equal(sums!.tracks.find((t) => t.track === run.name)!.metrics.get('purchase')!.converted, 1);
  assert.deepEqual(errors, []);
  await close();
});

test('conversions count only at or after the exposure, by key or by runId', async () => {
  const store = memoryStore();
  configure({ store });
  convert({ key: 'bob', metric: 'purchase', value: 5, at: Date.now() - 60_000 });
  const run = new DelayTracks({ key: 'bob' });
  run.run();
  convert({ key: 'bob', metric: 'purchase', value: 2 });
  convert({ key: 'bob', metric: 'purchase', value: 3 });
  const keyless = new DelayTracks();
  keyless.run();
  convert({ runId: keyless.runId, metric: 'click' });
  await flush();
  const [sums] = await store.summarize({ trackSetId: 'rec-delay' });
  assert.deepEqual(sums!.tracks.find((t) => t.track === run.name)!.metrics.get('purchase'), { ...noMetricSums(), converted: 1, sum: 5, sumSquares: 25, count: 2, countSquares: 4, meanSum: 2.5, meanSquares: 6.25 });
  assert.equal(sums!.tracks.find((t) => t.track === keyless.name)!.metrics.get('click')!.converted, 1);
  await close();
});

test('a malformed convert() never throws into the request: onError gets a TracksError and it counts as rejected', async () => {
  const errors: Error[] = [];
  configure({ store: memoryStore(), onError: (error) => errors.push(error) });
  const calls: [Parameters<typeof convert>[0], RegExp][] = [
    [{ key: 'bob', metric: '' }, /convert: metric '' is empty; name the outcome/],
    [{ metric: 'purchase' }, /give key .* or runId .*outside a request scope with a key/],
    [{ key: 'bob', runId: 'r', metric: 'purchase' }, /not both/],
    [{ key: 'bob', metric: 'purchase', value: Number.NaN }, /value is NaN; give a finite number/],
    [{ key: () => 1, metric: 'purchase' }, /key: cannot serialize a function/],
  ];
  for (const [call, message] of calls) {
    assert.doesNotThrow(() => convert(call));
    const error = errors.pop();
    assert.ok(error instanceof TracksError, String(error));
    assert.match(error.message, message);
  }
  assert.equal(stats().rejected, calls.length);
  assert.equal(stats().dropped, 0);
  await close();
});

test('callbackStore gets batches; a failing callback is retried and reported, never thrown', async () => {
  const received: RecordedEvent[] = [];
  const errors: Error[] = [];
  let failures = 2;
  configure({
    store: callbackStore((events) => {
      if (failures-- > 0) throw new Error('pipeline down');
      received.push(...events);
    }),
    outbox: false,
    retryDelay: 1,
    onError: (e) => errors.push(e),
  });
  for (let i = 0; i < 50; i++) new DelayTracks({ key: `cb-${i}` }).run();
  await flush();
  assert.equal(byKind(received, 'exposure').length, 50);
  assert.equal(errors.length, 2);
  assert.match(errors[0]!.message, /pipeline down/);
  const s = stats();
  assert.ok(s.retried > 0);
  assert.equal(s.buffered, 0);
  assert.equal(s.dropped, 0);
  await close();
});

/** A memory store that can be switched off, like a database going away. */
function flakyStore(): Store & { down: boolean; inner: ReturnType<typeof memoryStore> } {
  const inner = memoryStore();
  const flaky = {
    down: false,
    inner,
    description: 'flaky-test-store',
    async write(events: readonly RecordedEvent[]) {
      if (flaky.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      await inner.write(events);
    },
    readControls: () => inner.readControls(),
    writeControl: (s: Parameters<Store['writeControl']>[0]) => inner.writeControl(s),
    readAssignments: (id: string, units: readonly string[]) => inner.readAssignments(id, units),
    summarize: () => inner.summarize(),
    close: async () => {},
  };
  return flaky;
}

test('an outage past the bound spills to the outbox file, which drains when the store returns', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-outbox-test-'));
  try {
    const store = flakyStore();
    store.down = true;
    const errors: Error[] = [];
    configure({ store, outbox: join(dir, 'outbox.db'), maxBuffered: 400, flushTimeout: 50, retryDelay: 5, onError: (e) => errors.push(e) });
    // The outage is noticed (and the outbox made ready) before the burst of traffic.
    new DelayTracks({ key: 'out-0' }).run();
    await flush();
    for (let i = 0; i < 1000; i++) {
      new DelayTracks({ key: `out-${i}` }).run();
      if (i % 10 === 0) convert({ key: `out-${i}`, metric: 'purchase' });
      // Traffic arrives over time: the outbox takes what memory's bound cannot hold.
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await flush();
    const during = stats();
    assert.ok(during.spilled > 0, JSON.stringify(during));
    assert.equal(during.buffered, 0);
    assert.ok(errors.length > 0);
    assert.equal(store.inner.events.length, 0);
    store.down = false;
    await eventually(async () => {
      await flush(); // each within its short flushTimeout (50 ms): until the outbox is drained
      return byKind(store.inner.events, 'exposure').length === 1000;
    }, 'the outbox drained into the store');
    const exposures = byKind(store.inner.events, 'exposure') as ExposureEvent[];
    assert.equal(exposures.length, 1000);
    assert.equal(byKind(store.inner.events, 'conversion').length, 100);
    const ids = store.inner.events.map((e) => e.eventId);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(stats().dropped, 0);
    await close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writing a batch twice stores it once', async () => {
  const store = memoryStore();
  const events: RecordedEvent[] = [
    { kind: 'exposure', eventId: 'e1', trackSetId: 's', track: 'a', unit: 'u', at: 1 },
    { kind: 'conversion', eventId: 'c1', unit: 'u', metric: 'm', value: 1, at: 2 },
  ];
  await store.write(events);
  await store.write(events);
  await store.write([{ kind: 'exposure', eventId: 'e2', trackSetId: 's', track: 'b', unit: 'u', at: 3 }]);
  assert.equal(store.events.length, 2);
  assert.equal((await store.readAssignments('s', ['u'])).get('u'), 'a');
});

test('health events carry their own ids, so re-writing a flush adds nothing', async () => {
  const store = memoryStore();
  configure({ store });
  for (let i = 0; i < 10; i++) new DelayTracks({ key: 'same' }).run();
  await flush();
  const health = byKind(store.events, 'health') as HealthEvent[];
  await store.write(health);
  assert.equal(byKind(store.events, 'health').length, health.length);
  await close();
});

test('a misspelt option is a TracksError that suggests the right one, before the current configuration is replaced', async () => {
  const store = memoryStore();
  configure({ store });
  assert.throws(() => configure({ stor: 'typo.db' } as never), (e: unknown) => e instanceof TracksError && /unknown option 'stor'; did you mean 'store'\?/.test(e.message));
  assert.throws(() => configure({ store, flushIntervall: 10 } as never), /unknown option 'flushIntervall'; did you mean 'flushInterval'\?/);
  assert.throws(() => configure({ store, writeTimeout: -1 }), /writeTimeout is -1/);
  // A bad store, outbox or outbox bound too: these threw after the current configuration was
  // closed, leaving nothing recording (a tester).
  assert.throws(() => configure({ store: 5 as never }), (e: unknown) => e instanceof TracksError && /store is 5; give a SQLite file path/.test(e.message));
  assert.throws(() => configure({ store: '  ' }), /store is empty/);
  assert.throws(() => configure({ store: memoryStore(), outbox: '' }), /outbox is not a file path/);
  assert.throws(() => configure({ store: memoryStore(), maxOutboxEvents: -1 }), /maxOutboxEvents is -1/);
  new DelayTracks({ key: 'still-recording' }).run();
  await flush();
  assert.ok(store.events.some((e) => e.kind === 'exposure' && e.unit === 'still-recording'), 'the earlier configuration still records');
  await close();
});

test('flush() and close() after close() are harmless: nothing is quarantined, runs after close count as dropped', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, onError: (e) => errors.push(e) });
  for (let i = 0; i < 10; i++) new DelayTracks({ key: `before-${i}` }).run();
  await close();
  for (let i = 0; i < 10; i++) new DelayTracks({ key: `after-${i}` }).run();
  await flush();
  await close();
  const s = stats();
  assert.equal(s.quarantined, 0);
  assert.equal(s.dropped, 10);
  assert.ok(!errors.some((e) => /quarantined/.test(e.message)), errors.map((e) => e.message).join('\n'));
});

test('a burst that a healthy store takes at once spills nothing', async () => {
  const store = memoryStore();
  configure({ store, outbox: join(mkdtempSync(join(tmpdir(), 'tracks-burst-')), 'outbox.db') });
  for (let i = 0; i < 20_000; i++) new DelayTracks({ key: `burst-${i}` }).run();
  await flush();
  const s = stats();
  await close();
  assert.equal(s.spilled, 0);
  assert.equal(store.events.filter((e) => e.kind === 'exposure').length, 20_000);
});

test('configure() again mid-stream, then flush() or close(): they resolve once the earlier configuration, still closing, has stored what it held (a fault tester)', async () => {
  // The earlier configuration's store is slow: its close() (started by configure()) still
  // writes when the new configuration's flush() and close() are called. They resolved at once,
  // so a reader (or a process exiting after close()) found events missing (a fault tester).
  for (const end of ['flush', 'close'] as const) {
    const slow: RecordedEvent[] = [];
    configure({
      store: callbackStore(async (events) => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        slow.push(...events);
      }),
      outbox: false,
      flushInterval: 10_000,
    });
    for (let i = 0; i < 100; i++) {
      new DelayTracks({ key: `${end}-old-${i}` }).run();
      convert({ key: `${end}-old-${i}`, metric: 'purchase' });
    }
    const store = memoryStore();
    configure({ store, outbox: false });
    new DelayTracks({ key: `${end}-new` }).run();
    await (end === 'flush' ? flush() : close());
    assert.equal(byKind(slow, 'exposure').length, 100, `${end}(): every exposure of the earlier configuration stored`);
    assert.equal(byKind(slow, 'conversion').length, 100, `${end}(): every conversion of the earlier configuration stored`);
    assert.equal(
      (byKind(slow, 'health') as HealthEvent[]).reduce((sum, h) => sum + h.runs, 0),
      100,
      `${end}(): the earlier configuration's health stored`,
    );
    assert.ok(store.events.some((e) => e.kind === 'exposure' && e.unit === `${end}-new`));
    await close();
  }
});
