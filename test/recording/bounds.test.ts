// Bounded memory, whatever the store does; a flush that resolves under steady traffic; keys
// hashed under a secret; the outbox in a place that survives a restart.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, TracksError, UnitOfKey, callbackStore, close, configure, convert, flush, memoryStore, postgresStore, sqliteStore, stats } from '../../src/index.js';
import { StoreError } from '../../src/index.js';
import type { RecordedEvent, Store } from '../../src/index.js';
import { EventBuffer } from '../../src/recording/event-buffer.js';
import { SeenUnits } from '../../src/recording/seen-units.js';
import { defaultOutboxPath } from '../../src/setup/default-outbox.js';
import { paced, sleep } from '../support/pace.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-bounds-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

class BoundTracks extends TrackSet {
  static override id = 'bounds';
  static a_track() {}
  static b_track() {}
}

test('a slow store (500 ms a write) at 10,000 runs/s: memory stays within its bound, the rest spills, nothing is lost', async () => {
  const inner = memoryStore();
  const slow: Store = {
    ...inner,
    description: 'slow',
    async write(events) {
      await sleep(500);
      await inner.write(events);
    },
  };
  // Room for two seconds of traffic: enough for a loaded machine's outbox thread to keep up.
  const maxBuffered = 20_000;
  configure({ store: slow, outbox: join(dir, 'slow.outbox'), maxBuffered, writeTimeout: 2_000, flushInterval: 100 });
  const units = 30_000;
  const { peakBuffered, peakBytes } = await paced(units, 10_000, (i) => new BoundTracks({ key: `s${i}` }).run());
  await flush();
  await flush(); // the outbox, too
  const final = stats();
  await close();
  assert.ok(peakBuffered <= maxBuffered, `peak ${peakBuffered} events held, bound ${maxBuffered}`);
  assert.ok(peakBytes <= 32 * 1024 * 1024);
  assert.ok(final.spilled > 0, 'the store could not keep up, so events spilled');
  assert.equal(final.dropped, 0);
  assert.equal(inner.events.filter((e) => e.kind === 'exposure').length, units);
});

test('a burst recorded in one synchronous loop past the memory bound spills its oldest events at once: none dropped, every one stored', async () => {
  const path = join(dir, 'burst.db');
  const errors: Error[] = [];
  const maxBuffered = 2_000;
  configure({ store: path, maxBuffered, onError: (error) => errors.push(error) });
  const units = 10_000;
  let peak = 0;
  // No await: the asynchronous spill (from half the bound) never gets a turn.
  for (let i = 0; i < units; i++) {
    new BoundTracks({ key: `burst-${i}` }).run();
    convert({ key: `burst-${i}`, metric: 'purchase' });
    peak = Math.max(peak, stats().buffered);
  }
  const during = stats();
  await flush();
  await flush(); // the outbox, too
  const final = stats();
  await close();
  assert.ok(peak <= maxBuffered, `peak ${peak} events held, bound ${maxBuffered}`);
  assert.ok(during.spilled >= 2 * units - maxBuffered, `spilled ${during.spilled} during the loop`);
  assert.equal(final.dropped, 0, JSON.stringify(final));
  assert.deepEqual(errors, []);
  const db = sqliteStore(path);
  const [sums] = await db.summarize({ trackSetId: 'bounds' });
  await db.close();
  assert.equal(sums!.tracks.reduce((n, t) => n + t.users, 0), units);
  assert.equal(sums!.tracks.reduce((n, t) => n + (t.metrics.get('purchase')?.converted ?? 0), 0), units);
});

test('the memory store takes a synchronous burst past the bound at once (it has no outbox): none dropped', async () => {
  const store = memoryStore();
  configure({ store, maxBuffered: 1_000 });
  const units = 5_000;
  for (let i = 0; i < units; i++) {
    new BoundTracks({ key: `mem-burst-${i}` }).run();
    convert({ key: `mem-burst-${i}`, metric: 'purchase' });
  }
  assert.ok(stats().buffered <= 1_000);
  await flush();
  const final = stats();
  await close();
  assert.equal(final.dropped, 0, JSON.stringify(final));
  assert.equal(store.events.filter((e) => e.kind === 'exposure').length, units);
  assert.equal(store.events.filter((e) => e.kind === 'conversion').length, units);
});

test('a store that spreads memoryStore() and replaces write does not inherit its writeNow: at the bound, events are not stored behind its write', async () => {
  const inner = memoryStore();
  const down: Store = {
    ...inner,
    description: 'down',
    async write() {
      throw new StoreError('down', { transient: true });
    },
  };
  configure({ store: down, outbox: false, maxBuffered: 100, handleSignals: false, onError: () => {} });
  for (let i = 0; i < 500; i++) convert({ key: `spread-${i}`, metric: 'purchase' });
  const during = stats();
  await close();
  assert.equal(inner.events.length, 0, 'nothing reached the wrapped memory store past the wrapper');
  assert.equal(during.written, 0);
  assert.equal(during.dropped, 400);
});

test('the buffer is bounded in bytes as well as events', () => {
  const buffer = new EventBuffer(1_000_000, 100_000);
  const event = (i: number): RecordedEvent => ({ kind: 'conversion', eventId: `e${i}`, unit: 'k:'.padEnd(45, 'x'), metric: 'm'.repeat(200), value: 1, at: 1 });
  let accepted = 0;
  while (buffer.push(event(accepted))) accepted++;
  assert.ok(buffer.bytes <= 100_000, String(buffer.bytes));
  assert.ok(accepted < 1_000_000 && accepted > 100, String(accepted));
  const batch = buffer.take(10)!;
  assert.equal(buffer.push(event(-1)), false, 'taken events count until settled');
  buffer.settle(batch);
  assert.equal(buffer.push(event(-1)), true);
});

/** What SeenUnits' tables take at least once every shard is in use: 256 shards × 8 slots × 16 bytes. */
const TABLES_MINIMUM = 256 * 8 * 16;

test('de-duplication is bounded in bytes: 1 KB keys cost what short keys cost, and cannot grow it past its bound', () => {
  const long = new SeenUnits(1_000_000, 1_000_000);
  const short = new SeenUnits(1_000_000, 1_000_000);
  for (let i = 0; i < 100_000; i++) {
    long.add('set', `${i}-`.padEnd(1024, 'k'));
    short.add('set', `${i}`);
  }
  // Within the bound plus the tables' 32 KB minimum (256 shards of 8 slots of 16 bytes).
  assert.ok(long.size.bytes <= 1_000_000 + TABLES_MINIMUM, String(long.size.bytes));
  assert.ok(short.size.bytes <= 1_000_000 + TABLES_MINIMUM, String(short.size.bytes));
  assert.equal(long.size.entries, short.size.entries, 'an entry is a fingerprint: its cost does not depend on the key');
  assert.ok(long.size.entries > 1_000 && long.size.entries <= 1_000_000 / 64, String(long.size.entries));
});

test('de-duplication remembers each (set, key) once, keeps sets apart, and forgets the oldest tenth at its bound', () => {
  const seen = new SeenUnits(1_000, 1 << 30);
  assert.equal(seen.add('delay', 'user-1'), true);
  assert.equal(seen.add('delay', 'user-1'), false);
  assert.equal(seen.add('pricing', 'user-1'), true, 'another set: another exposure');
  assert.equal(seen.add('delay', 'user-1 '), true);
  assert.equal(seen.add('delay', ''), true);
  assert.equal(seen.add('delay', ''), false);
  const fresh = new SeenUnits(1_000, 1 << 30);
  for (let i = 0; i < 5_000; i++) assert.equal(fresh.add('delay', `k${i}`), true, `k${i} is new`);
  assert.ok(fresh.size.entries <= 1_000, String(fresh.size.entries));
  for (let i = 4_100; i < 5_000; i++) assert.equal(fresh.add('delay', `k${i}`), false, `k${i} is among the newest and remembered`);
  assert.equal(fresh.add('delay', 'k0'), true, 'the oldest were forgotten: one more row, which the store skips');
});

test('de-duplication keeps keys apart that differ only in lone surrogates, and sets apart within one bound', () => {
  const seen = new SeenUnits(1_000_000, 64 * 1024 * 1024);
  const keys = ['\uD800', '\uDBFF', '\uDC00', '\uFFFD', 'a\uD83D', 'a\uD83C', 'a\uD83D\uDE00', 'é', 'e\u0301'];
  for (const key of keys) assert.equal(seen.add('set', key), true, JSON.stringify(key));
  for (const key of keys) assert.equal(seen.add('set', key), false, JSON.stringify(key));
  // Many sets share the tables: memory follows the entries, within the byte bound (plus the
  // tables' 32 KB minimum; with 32 shards it was 4 KB, and this bound held only for lucky seeds).
  const small = new SeenUnits(1_000_000, 100_000);
  for (let set = 0; set < 1_000; set++) for (let i = 0; i < 100; i++) small.add(`set-${set}`, `user-${i}`);
  assert.ok(small.size.bytes <= 100_000 + TABLES_MINIMUM, String(small.size.bytes));
  assert.ok(small.size.entries <= Math.floor(100_000 / 86), String(small.size.entries));
  assert.equal(small.add('set-999', 'user-99'), false, 'the newest are remembered');
});

test('de-duplication: 300,000 distinct keys, none taken for another (64-bit fingerprints), every one remembered', () => {
  const seen = new SeenUnits(1_000_000, 64 * 1024 * 1024);
  for (let i = 0; i < 300_000; i++) assert.equal(seen.add('set', `user-${i}`), true);
  for (let i = 0; i < 300_000; i += 7) assert.equal(seen.add('set', `user-${i}`), false);
  assert.equal(seen.size.entries, 300_000);
});

test('flush() resolves under steady traffic, with everything recorded before it stored', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 20 });
  let running = true;
  let i = 0;
  const traffic = (async () => {
    while (running) {
      for (let j = 0; j < 20; j++, i++) new BoundTracks({ key: `t${i}` }).run();
      await sleep(1);
    }
  })();
  await sleep(100);
  const before = i;
  await flush();
  const stored = new Set(store.events.filter((e) => e.kind === 'exposure').map((e) => (e as { unit: string }).unit));
  running = false;
  await traffic;
  await close();
  for (let k = 0; k < before; k++) assert.ok(stored.has(`t${k}`), `t${k} was recorded before flush() and is stored`);
});

test('a maxBufferedBytes that holds almost no events is a TracksError saying what to use', () => {
  assert.throws(() => configure({ store: memoryStore(), maxBufferedBytes: 10 }), (e: unknown) => e instanceof TracksError && /maxBufferedBytes \(10\) holds almost no events.*use at least 65,536/.test(e.message));
  assert.doesNotThrow(() => configure({ store: memoryStore(), maxBufferedBytes: 65_536 }));
  return close();
});

test('configure(): handleSignals is a boolean, and a store of your own lacking what recording calls is a TracksError naming it', () => {
  assert.throws(() => configure({ store: memoryStore(), handleSignals: 'no' as never }), (e: unknown) => e instanceof TracksError && /handleSignals is no; use true .* or false/.test(e.message));
  const partial = { write: async () => {}, readControls: async () => [], summarize: async () => [] };
  assert.throws(
    () => configure({ store: partial as never }),
    (e: unknown) => e instanceof TracksError && /a custom Store needs a description \(a string naming it in messages\), writeControl\(\), readAssignments\(\), close\(\)/.test(e.message),
  );
});

test('counts of events, entries and bytes are whole numbers: 1.5 is a TracksError naming the option', () => {
  for (const name of ['batchSize', 'maxBuffered', 'maxBufferedBytes', 'dedupeSize', 'dedupeBytes', 'stickyCacheSize', 'stickyCacheBytes', 'maxOutboxEvents']) {
    assert.throws(
      () => configure({ store: memoryStore(), [name]: name.endsWith('Bytes') ? 100_000.5 : 1_000.5 }),
      (e: unknown) => e instanceof TracksError && new RegExp(`configure: ${name} is [0-9.]+; use a (positive )?whole number`).test(e.message),
      name,
    );
  }
});

test('hashKeys takes a secret (HMAC-SHA-256): anything else is a clear TracksError, a short or uniform secret too', async () => {
  assert.throws(() => configure({ store: memoryStore(), hashKeys: 'yes' as never }), (e: unknown) => e instanceof TracksError && /hashKeys needs a secret, e\.g\. hashKeys: \{ secret: process\.env\.TRACKS_KEY_SECRET \}/.test(e.message));
  assert.throws(() => configure({ store: memoryStore(), hashKeys: {} as never }), /hashKeys needs a secret/);
  assert.throws(() => configure({ store: memoryStore(), hashKeys: { secret: 'short' } }), /at least 16/);
  // Long enough but not a secret: padding, or a buffer never filled.
  assert.throws(() => configure({ store: memoryStore(), hashKeys: { secret: ' '.repeat(16) } }), /holds only 1 distinct character, which is not a random secret/);
  assert.throws(() => configure({ store: memoryStore(), hashKeys: { secret: new Uint8Array(32) } }), /holds only 1 distinct byte,/);
  const store = memoryStore();
  configure({ store, hashKeys: { secret: 'a secret of sixteen+ chars' } });
  new BoundTracks({ key: 'alice@example.com' }).run();
  convert({ key: 'alice@example.com', metric: 'buy' });
  await flush();
  await close();
  const units = new Set(store.events.flatMap((e) => ('unit' in e ? [e.unit] : [])));
  assert.equal(units.size, 1);
  const [unit] = [...units];
  assert.match(unit!, /^h:[A-Za-z0-9_-]{43}$/);
  assert.equal(unit, new UnitOfKey('a secret of sixteen+ chars').of('alice@example.com'));
  assert.notEqual(unit, new UnitOfKey('another secret, sixteen+').of('alice@example.com'), 'another secret, another unit');
  assert.notEqual(unit, new UnitOfKey().of('alice@example.com'));
});

test('the default outbox keeps its name across versions and releases, so a new one drains what an old one spilled', () => {
  // Pinned: the hash of the store's identity (host, port, database, schema). A change here orphans every outbox in the field.
  const identity = 'postgres://db:5432/app?schema=analytics';
  const expected = join('/state', `outbox-${createHash('sha256').update(identity).digest('hex').slice(0, 16)}.db`);
  const env = { TRACKS_STATE_DIR: '/state' };
  assert.equal(defaultOutboxPath(postgresStore('postgres://app:secret@db/app?schema=analytics'), env), expected);
  assert.equal(defaultOutboxPath(postgresStore('postgres://other@db:5432/app', { schema: 'analytics' }), env), expected, 'user and password do not matter');
  // A pool or callback store: named for the application's package, not the release folder it runs from.
  for (const release of ['r1', 'r2']) {
    const folder = join(dir, 'releases', release);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'coconut-store' }));
  }
  const store = callbackStore(() => {});
  const first = defaultOutboxPath(store, env, join(dir, 'releases', 'r1', 'server.js'));
  assert.equal(defaultOutboxPath(store, env, join(dir, 'releases', 'r2', 'server.js')), first);
  writeFileSync(join(dir, 'releases', 'r2', 'package.json'), JSON.stringify({ name: 'another-app' }));
  assert.notEqual(defaultOutboxPath(store, env, join(dir, 'releases', 'r2', 'server.js')), first, 'another application, another outbox');
});

test('the default outbox survives a restart: beside a SQLite store, else in the state directory; never in the temp directory', () => {
  assert.equal(defaultOutboxPath(sqliteStore('/srv/app/tracks.db')), '/srv/app/tracks.db.outbox');
  const pg = postgresStore('postgres://app@db/app');
  assert.match(defaultOutboxPath(pg, { TRACKS_STATE_DIR: '/var/lib/tracks' })!, /^\/var\/lib\/tracks\/outbox-[0-9a-f]{16}\.db$/);
  assert.match(defaultOutboxPath(pg, { XDG_STATE_HOME: '/state' })!, /^\/state\/tracks\/outbox-/);
  assert.ok(defaultOutboxPath(pg, {})!.startsWith(join(homedir(), '.local', 'state', 'tracks')));
  assert.ok(!defaultOutboxPath(pg, {})!.startsWith(tmpdir()));
  assert.equal(defaultOutboxPath(memoryStore()), undefined);
});

test('flush() at its bound with the store hung and the outbox locked resolves { complete: false, pending } and tells onError; once the outbox frees, the next flush spills them: { complete: true }', async () => {
  const hung: Store = { ...memoryStore(), description: 'hung', writeNow: undefined, write: () => new Promise<void>(() => {}) };
  const outbox = join(dir, 'locked-flush.outbox');
  const errors: Error[] = [];
  configure({ store: hung, outbox, flushTimeout: 300, writeTimeout: 300, onError: (error) => errors.push(error) });
  try {
    // The outbox made, then its write lock held by another connection for the whole flush.
    const BetterSqlite3 = (await import('better-sqlite3')).default;
    await flush();
    const holder = new BetterSqlite3(outbox, { timeout: 0 });
    holder.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < 100; i++) new BoundTracks({ key: `locked-${i}` }).run();
    const first = await flush();
    holder.exec('ROLLBACK');
    assert.equal(first.complete, false);
    assert.ok(first.pending >= 100, `pending ${first.pending}: the 100 exposures, and more (their definition, health)`);
    assert.ok(errors.some((e) => /flush\(\) returned at its bound with \d+ events recorded before it neither stored nor spilled: the store and the outbox both failed/.test(e.message)), errors.map((e) => e.message).join('\n'));
    const second = await flush();
    assert.deepEqual(second, { complete: true, pending: 0 });
    const spilled = (holder.prepare('SELECT COUNT(*) AS n FROM tracks_outbox').get() as { n: number }).n;
    holder.close();
    assert.ok(spilled >= first.pending, `${spilled} events in the outbox, ${first.pending} were pending`);
    assert.equal(stats().dropped, 0);
  } finally {
    await close();
  }
});

test('flush() with the store failing and outbox: false resolves { complete: false, pending } and says there is no outbox to spill to', async () => {
  const failing: Store = { ...memoryStore(), description: 'failing', writeNow: undefined, write: () => Promise.reject(new StoreError('the store is down', { transient: true })) };
  const errors: Error[] = [];
  configure({ store: failing, outbox: false, flushTimeout: 200, writeTimeout: 200, onError: (error) => errors.push(error) });
  try {
    for (let i = 0; i < 10; i++) new BoundTracks({ key: `no-outbox-${i}` }).run();
    const result = await flush();
    assert.equal(result.complete, false);
    assert.ok(result.pending >= 10, `pending ${result.pending}`);
    assert.ok(errors.some((e) => /neither stored nor spilled: the store failed and there is no outbox \(outbox: false\)/.test(e.message)), errors.map((e) => e.message).join('\n'));
  } finally {
    await close();
  }
});
