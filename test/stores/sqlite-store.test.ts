import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { TrackSet, close, configure, convert, flush, memoryStore, sqliteStore, stats } from '../../src/index.js';
import type { RecordedEvent } from '../../src/index.js';
import { eventually } from '../support/eventually.js';
import { killWriterAfter, runWriter, terminateWriter } from './fixtures/processes.js';
import { sampleEvents } from './fixtures/sample-events.js';
import { SQLITE_MIGRATIONS } from '../../src/stores/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-sqlite-test-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

class SqliteTracks extends TrackSet {
  static override id = 'sqlite-delay';
  static short_track() {}
  static long_track() {}
}

test('SQLite summarize() matches the memory store on the same events, written twice', async () => {
  const store = sqliteStore(join(dir, 'compare.db'));
  const memory = memoryStore();
  const events = sampleEvents();
  for (const s of [store, memory]) {
    await s.write(events);
    await s.write(events);
    await s.writeControl({ trackSetId: 'cmp', stopped: true, serve: 'a', at: 5 });
  }
  const [fromSqlite, fromMemory] = [await store.summarize(), await memory.summarize()];
  assert.deepEqual(fromSqlite, fromMemory);
  const sums = fromSqlite[0]!;
  assert.deepEqual(sums.definition, { weights: new Map([['a', 1], ['b', 3]]), coverage: 0.5, control: null, sticky: null, stopped: null, holdout: null, shadow: null });
  assert.equal(sums.tracks.find((t) => t.track === 'a')!.health.runs, 5);
  assert.equal(sums.tracks.find((t) => t.track === 'a')!.health.histogram[2], 4);
  assert.equal(sums.tracks.reduce((n, t) => n + t.users, 0), 40);
  assert.deepEqual((await store.readControls())[0], { trackSetId: 'cmp', stopped: true, serve: 'a', at: 5, coverage: null, weights: null, epoch: 0, promoted: false });
  assert.equal(sums.daily.length, 2);
  await store.close();
});

test('a batch of any size writes each row once, in its order: the first of two exposures of a unit stays', async () => {
  // Rows go in statements of 100, then 64, 32, ... 1 for the rest: sizes around each of those.
  const sizes = [1, 2, 3, 7, 63, 64, 65, 99, 100, 101, 127, 128, 199, 227];
  const store = sqliteStore(join(dir, 'sizes.db'));
  const at = Date.UTC(2026, 10, 1);
  const written: RecordedEvent[] = [];
  for (const size of sizes) {
    const batch: RecordedEvent[] = [];
    for (let i = 0; i < size; i++) {
      // Every third exposure repeats the unit of the one before it, later: the earlier one stays.
      const unit = `b${size}-u${i % 3 === 2 ? i - 1 : i}`;
      batch.push({ kind: 'exposure', eventId: `x${size}-${i}`, trackSetId: 'sizes', track: i % 2 ? 'a' : 'b', unit, at: at + i });
      if (i % 2 === 0) batch.push({ kind: 'conversion', eventId: `c${size}-${i}`, unit, metric: 'purchase', value: i, at: at + i });
    }
    await store.write(batch);
    written.push(...batch);
  }
  await store.close();
  const db = new BetterSqlite3(join(dir, 'sizes.db'), { readonly: true });
  try {
    const exposures = db.prepare('SELECT unit, track, at FROM tracks_exposures ORDER BY unit').all() as Array<{ unit: string; track: string; at: number }>;
    const first = new Map<string, { track: string; at: number }>();
    for (const e of written) if (e.kind === 'exposure' && !first.has(e.unit)) first.set(e.unit, { track: e.track, at: e.at });
    assert.equal(exposures.length, first.size);
    for (const row of exposures) assert.deepEqual({ track: row.track, at: row.at }, first.get(row.unit), row.unit);
    const conversions = db.prepare('SELECT event_id AS eventId FROM tracks_conversions ORDER BY event_id').all() as Array<{ eventId: string }>;
    assert.deepEqual(conversions.map((c) => c.eventId), written.filter((e) => e.kind === 'conversion').map((e) => e.eventId).sort());
    const counted = db.prepare("SELECT SUM(users) AS n FROM tracks_exposure_counts WHERE track_set_id = 'sizes'").get() as { n: number };
    assert.equal(counted.n, first.size);
  } finally {
    db.close();
  }
});

test('configure with a path records into a real SQLite file with the tracks_ schema and a version table', async () => {
  const path = join(dir, 'tracks.db');
  configure({ store: path });
  for (let i = 0; i < 300; i++) new SqliteTracks({ key: `s-${i}` }).run();
  convert({ key: 's-1', metric: 'purchase', value: 9 });
  await flush();
  assert.equal(stats().written > 300, true);
  await close();
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    assert.deepEqual(tables, [
      'tracks_controls',
      'tracks_conversions',
      'tracks_definitions',
      'tracks_exposure_counts',
      'tracks_exposures',
      'tracks_guardrails',
      'tracks_health',
      'tracks_metrics',
      'tracks_schema_version',
      'tracks_shadow',
      'tracks_shadow_samples',
      'tracks_writer_counting',
    ]);
    assert.equal((db.prepare('SELECT MAX(version) AS v FROM tracks_schema_version').get() as { v: number }).v, SQLITE_MIGRATIONS.length);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM tracks_exposures').get() as { n: number }).n, 300);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  } finally {
    db.close();
  }
});

test('four processes writing one SQLite file at once lose nothing and never see SQLITE_BUSY', async () => {
  const path = join(dir, 'shared.db');
  const count = 10_000;
  const results = await Promise.all([0, 1, 2, 3].map((w) => runWriter({ STORE: path, WORKER: String(w), COUNT: String(count) })));
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { errors: [] });
  }
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    assert.equal((db.prepare("SELECT COUNT(*) AS n FROM tracks_exposures WHERE track_set_id = 'workers'").get() as { n: number }).n, 4 * count);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM tracks_conversions').get() as { n: number }).n, 4 * count);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM tracks_schema_version').get() as { n: number }).n, SQLITE_MIGRATIONS.length, 'each migration applied once');
  } finally {
    db.close();
  }
});

test('a writer killed with SIGKILL keeps everything it reported as flushed', async () => {
  const path = join(dir, 'killed.db');
  const flushed = await killWriterAfter({ STORE: path, WORKER: '9' }, 5);
  assert.ok(flushed > 0);
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    const units = new Set((db.prepare('SELECT unit FROM tracks_exposures').all() as Array<{ unit: string }>).map((r) => r.unit));
    for (let n = 0; n < flushed; n++) assert.ok(units.has(`k-9-${n}`), `k-9-${n} was flushed but is missing`);
    const conversions = (db.prepare('SELECT COUNT(*) AS n FROM tracks_conversions').get() as { n: number }).n;
    assert.ok(conversions >= flushed);
  } finally {
    db.close();
  }
});

test('a store path in a missing directory is reported on every write, and its outbox does not make the directory', async () => {
  // A mistyped path: SQLite will not make the directory, and the outbox beside the store (its
  // default) must not either, or the next write would open a store in a folder made by mistake.
  const missing = join(dir, 'no-such-folder', 'deeper');
  const errors: Error[] = [];
  configure({ store: join(missing, 'tracks.db'), writeTimeout: 500, flushTimeout: 300, retryDelay: 5, onError: (e) => errors.push(e), handleSignals: false });
  for (let i = 0; i < 10; i++) new SqliteTracks({ key: `missing-${i}` }).run();
  await flush();
  await eventually(() => errors.length >= 2, 'the store and the outbox report the missing directory');
  await flush();
  assert.equal(existsSync(join(dir, 'no-such-folder')), false, 'no directory was made');
  assert.match(errors.map((e) => e.message).join('\n'), /no-such-folder\/deeper\/tracks\.db.*directory does not exist/);
  assert.equal(stats().written, 0);
  await close();
  assert.equal(existsSync(join(dir, 'no-such-folder')), false, 'nor at close');
  // An outbox given by path still gets its directory made, as documented.
  const outbox = join(dir, 'made-for-the-outbox', 'tracks.outbox');
  // (Time enough for the outbox's thread to start: under tsx it compiles its modules first.)
  configure({ store: join(missing, 'tracks.db'), outbox, writeTimeout: 3000, flushTimeout: 500, retryDelay: 5, onError: () => {}, handleSignals: false });
  for (let i = 0; i < 10; i++) new SqliteTracks({ key: `spilled-${i}` }).run();
  await close();
  assert.equal(existsSync(outbox), true, JSON.stringify(stats()));
  assert.equal(stats().spilled > 0, true, JSON.stringify(stats()));
});

test('an unwritable path, a full disk and a read-only file reach onError with a clear message, not a crash', async (t) => {
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'not a directory');
  const cases: Array<[string, RegExp]> = [[join(file, 'tracks.db'), /cannot open the SQLite store .*plain-file\/tracks\.db: unable to open database file/]];
  if (process.platform === 'linux') cases.push(['/dev/full', /cannot open the SQLite store \/dev\/full: database or disk is full/]);
  for (const [path, message] of cases) {
    const errors: Error[] = [];
    configure({ store: path, outbox: false, flushTimeout: 20, retryDelay: 5, onError: (e) => errors.push(e) });
    for (let i = 0; i < 10; i++) new SqliteTracks({ key: `ro-${i}` }).run();
    // flush() may come back first (its bound is 20 ms), and say so: the store's own error is looked for among them.
    const flushed = await flush();
    await eventually(() => errors.some((e) => message.test(e.message)), `an error for ${path}: ${errors.map((e) => e.message).join(' | ')}`);
    assert.equal(flushed.complete, false);
    assert.equal(stats().buffered > 0, true);
    await close();
  }
  const readOnly = join(dir, 'read-only.db');
  const setup = sqliteStore(readOnly);
  await setup.writeControl({ trackSetId: 'ro', stopped: false, serve: null, at: 1 }); // creates the file (reads create nothing)
  await setup.close();
  const { chmodSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  chmodSync(readOnly, 0o444);
  // Root may write a 0444 file; the immutable attribute stops root too.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chattr', ['+i', readOnly]);
  t.after(() => {
    if (asRoot) execFileSync('chattr', ['-i', readOnly]);
  });
  const errors: Error[] = [];
  configure({ store: readOnly, outbox: false, flushTimeout: 20, retryDelay: 5, onError: (e) => errors.push(e) });
  new SqliteTracks({ key: 'ro' }).run();
  await flush();
  await eventually(() => errors.some((e) => /readonly|read-only|unable to open|not permitted/i.test(e.message)), 'the read-only file is reported');
  await close();
});

test('a process that ends naturally (beforeExit) or on SIGTERM flushes everything first, then ends as it would have', async () => {
  const count = (path: string) => {
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM tracks_exposures').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const natural = join(dir, 'before-exit.db');
  const ended = await runWriter({ STORE: natural, WORKER: '5', COUNT: '2000', MODE: 'exit' });
  assert.equal(ended.code, 0, ended.stderr);
  assert.equal(count(natural), 2000);
  const terminated = join(dir, 'sigterm.db');
  const { signal } = await terminateWriter({ STORE: terminated, WORKER: '6', COUNT: '2000' });
  assert.equal(signal, 'SIGTERM');
  assert.equal(count(terminated), 2000);
});

test('exposure counts are kept by triggers: duplicates count once; rows any tool deletes or updates are recounted; a file of version 7 is counted when migrated', async () => {
  const path = join(dir, 'counts.db');
  // A file as tracks of schema version 7 left it, with exposures in it.
  const old = new BetterSqlite3(path);
  old.exec('CREATE TABLE tracks_schema_version (version INTEGER NOT NULL)');
  SQLITE_MIGRATIONS.slice(0, 7).forEach((migration, i) => {
    old.exec(migration);
    old.prepare('INSERT INTO tracks_schema_version (version) VALUES (?)').run(i + 1);
  });
  const day = Date.UTC(2026, 10, 2);
  const insert = old.prepare('INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id, phase, dimensions) VALUES (?, ?, ?, ?, ?, ?, ?)');
  for (let i = 0; i < 10; i++) insert.run('counted', `old-${i}`, i % 2 ? 'a' : 'b', day + i, `o${i}`, 'p1', i < 4 ? '{"country":"de"}' : null);
  old.close();

  const store = sqliteStore(path);
  const exposure = (unit: string, track: string, at: number): RecordedEvent => ({ kind: 'exposure', eventId: `e-${unit}`, trackSetId: 'counted', track, unit, at, phase: 'p1' });
  await store.write([exposure('new-1', 'a', day + 86_400_000), exposure('new-2', 'b', day + 86_400_000)]);
  // Duplicates: ignored, not counted (old-0 again at the same time, with an event id after its
  // own: of two exposures of one millisecond the smaller id is kept).
  await store.write([exposure('new-1', 'a', day + 86_400_000), { ...exposure('old-0', 'a', day), eventId: 'z-again' }]);
  const users = async () => {
    const sums = await store.summarize({ trackSetId: 'counted', daily: false });
    return Object.fromEntries(sums[0]!.tracks.map((t) => [t.track, t.users]));
  };
  assert.deepEqual(await users(), { a: 6, b: 6 });
  const bySegment = await store.summarize({ trackSetId: 'counted', daily: false, by: 'country' });
  const segments = [...bySegment[0]!.segments!.values].flatMap(([value, phases]) => phases.flatMap((p) => p.tracks.map((t) => `${t.track}:${value}:${t.users}`))).sort();
  assert.deepEqual(segments, ['a::4', 'a:de:2', 'b::4', 'b:de:2']);
  assert.deepEqual(await store.readDimensions!('counted'), ['country']);

  // Another tool deletes and moves rows: the counts follow.
  const other = new BetterSqlite3(path);
  other.prepare("DELETE FROM tracks_exposures WHERE unit IN ('old-1', 'old-3')").run();
  other.prepare("UPDATE tracks_exposures SET track = 'a' WHERE unit = 'new-2'").run();
  const counts = other.prepare("SELECT track, SUM(users) AS n FROM tracks_exposure_counts WHERE track_set_id = 'counted' GROUP BY track ORDER BY track").all();
  const truth = other.prepare("SELECT track, COUNT(*) AS n FROM tracks_exposures WHERE track_set_id = 'counted' GROUP BY track ORDER BY track").all();
  assert.deepEqual(counts, truth);
  other.prepare("DELETE FROM tracks_exposures WHERE track_set_id = 'counted'").run();
  assert.equal((other.prepare('SELECT COUNT(*) AS n FROM tracks_exposure_counts').get() as { n: number }).n, 0, 'empty groups are removed');
  other.close();
  await store.close();
});

test('the writer counts the exposures it stores exactly once: whole and partial statements, replays, repeats within a batch, rows another tool stored or inserts, a batch rolled back', async () => {
  const path = join(dir, 'writer-counts.db');
  const store = sqliteStore(path);
  const day = Date.UTC(2026, 10, 2);
  const exposure = (unit: string, i: number, eventId = `e-${unit}`): RecordedEvent => ({
    kind: 'exposure',
    eventId,
    trackSetId: i % 3 === 0 ? 'counts-b' : 'counts-a',
    track: i % 2 ? 'a' : 'b',
    unit,
    // Across three days, so that groups split by day too.
    at: day + (i % 3) * 86_400_000 + i,
    ...(i % 4 === 0 ? { phase: 'p1' } : {}),
    ...(i % 5 === 0 ? { dimensions: { country: i % 10 === 0 ? 'de' : 'fr' } } : {}),
  });
  const first = Array.from({ length: 250 }, (_, i) => exposure(`u${i}`, i)); // 2 statements of 100, then 32 + 16 + 2
  await store.write(first);
  await store.write(first.slice(0, 150)); // replayed alone: statements that store nothing
  // Replayed whole (every row already stored), with new units between them and a unit twice.
  const replay = first.flatMap((e, i) => (i % 7 === 0 ? [e, exposure(`n${i}`, i)] : [e]));
  replay.push(exposure('n0', 0, 'e-n0-again'), exposure('twice', 1), exposure('twice', 2, 'e-twice-again'));
  await store.write(replay);
  // Another tool stores rows (counted by the trigger); the writer then meets some of them again.
  const tool = new BetterSqlite3(path);
  const insert = tool.prepare('INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id) VALUES (?, ?, ?, ?, ?)');
  for (let i = 0; i < 5; i++) insert.run('counts-a', `tool-${i}`, 'a', day + i, `t${i}`);
  // Rows copied whole from another store (marked counted = 1 by its writer) and a row a tool
  // marks itself are counted by the trigger: the mark counts only inside the writer's transaction.
  const otherPath = join(dir, 'writer-counts-other.db');
  const other = sqliteStore(otherPath);
  await other.write(Array.from({ length: 10 }, (_, i) => exposure(`copied-${i}`, i)));
  await other.close();
  tool.exec(`ATTACH '${otherPath}' AS other; INSERT OR IGNORE INTO main.tracks_exposures SELECT * FROM other.tracks_exposures; DETACH other;`);
  tool.prepare("INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id, counted) VALUES ('counts-a', 'marked-by-a-tool', 'a', ?, 't-marked', 1)").run(day);
  // (1, 2, 4, 5, 7: set 'counts-a', as the tool's rows)
  await store.write([...[1, 2, 4, 5, 7].map((n, i) => exposure(`tool-${i}`, n, `w-tool-${i}`)), ...Array.from({ length: 120 }, (_, i) => exposure(`m${i}`, i))]);
  // Batches refused half-way (a trigger of the tool's) are rolled back whole, and what was
  // tallied with them: refused at a conversion (after the exposures' counts were written) and
  // at an exposure that sorts last (after a statement of 100 was tallied, before the counts).
  tool.exec(`CREATE TRIGGER refuse_conversion BEFORE INSERT ON tracks_conversions WHEN NEW.metric = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END;
    CREATE TRIGGER refuse_exposure BEFORE INSERT ON tracks_exposures WHEN NEW.unit = 'zz-poison' BEGIN SELECT RAISE(ABORT, 'refused'); END;`);
  // (A store opened afresh: the writer above left its next statements to the trigger after the partial ones.)
  await store.close();
  const again = sqliteStore(path);
  const refused = Array.from({ length: 150 }, (_, i) => exposure(`r${i}`, i));
  await assert.rejects(again.write([...refused, { kind: 'conversion', eventId: 'c-poison', unit: 'r1', metric: 'poison', value: 1, at: day }]));
  await assert.rejects(again.write([...refused, { ...exposure('zz-poison', 3), trackSetId: 'counts-b' } as RecordedEvent]));
  tool.exec('DROP TRIGGER refuse_conversion; DROP TRIGGER refuse_exposure;');
  await again.write(refused.slice(0, 100));

  const truth = tool
    .prepare(`SELECT track_set_id, COALESCE(phase, '') AS phase, track, COALESCE(dimensions, '') AS dimensions, at / 86400000 AS day, COUNT(*) AS users, MIN(at) AS first_at, MAX(at) AS last_at
      FROM tracks_exposures GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`)
    .all();
  const counts = tool.prepare('SELECT track_set_id, phase, track, dimensions, day, users, first_at, last_at FROM tracks_exposure_counts ORDER BY 1, 2, 3, 4, 5').all();
  assert.deepEqual(counts, truth);
  const stored = (tool.prepare('SELECT COUNT(*) AS n FROM tracks_exposures').get() as { n: number }).n;
  assert.equal(stored, 250 + 36 + 1 + 5 + 10 + 1 + 120 + 100);
  assert.equal((tool.prepare('SELECT SUM(users) AS n FROM tracks_exposure_counts').get() as { n: number }).n, stored);
  // The first batch's rows (all new) were counted by the writer and marked; the tool's were not (the trigger counted them).
  assert.equal((tool.prepare("SELECT COUNT(*) AS n FROM tracks_exposures WHERE counted = 1 AND unit LIKE 'u%'").get() as { n: number }).n, 250);
  assert.equal((tool.prepare("SELECT COUNT(*) AS n FROM tracks_exposures WHERE counted IS NULL AND event_id LIKE 't%'").get() as { n: number }).n, 5);
  assert.equal((tool.prepare('SELECT COUNT(*) AS n FROM tracks_writer_counting').get() as { n: number }).n, 0, 'the writer leaves no mark of its transaction');
  tool.close();
  await again.close();
});

test('a store of schema version 8 is read as it is (migration 9 changed only writing); one of version 7 must be recorded to first', async () => {
  const day = Date.UTC(2026, 10, 2);
  const oldStore = (version: number) => {
    const path = join(dir, `version-${version}.db`);
    const db = new BetterSqlite3(path);
    db.exec('CREATE TABLE tracks_schema_version (version INTEGER NOT NULL)');
    SQLITE_MIGRATIONS.slice(0, version).forEach((migration, i) => {
      db.exec(migration);
      db.prepare('INSERT INTO tracks_schema_version (version) VALUES (?)').run(i + 1);
    });
    const insert = db.prepare('INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id) VALUES (?, ?, ?, ?, ?)');
    for (let i = 0; i < 12; i++) insert.run('old-reads', `u${i}`, i % 3 ? 'a' : 'b', day + i, `e${i}`);
    db.close();
    return path;
  };
  const eight = oldStore(8);
  const store = sqliteStore(eight);
  const sums = await store.summarize({ trackSetId: 'old-reads', daily: false });
  assert.deepEqual(Object.fromEntries(sums[0]!.tracks.map((t) => [t.track, t.users])), { a: 8, b: 4 });
  await store.close();
  const after = new BetterSqlite3(eight, { readonly: true });
  assert.equal((after.prepare('SELECT MAX(version) AS v FROM tracks_schema_version').get() as { v: number }).v, 8, 'the read migrated nothing');
  after.close();

  const seven = sqliteStore(oldStore(7));
  await assert.rejects(seven.summarize({ daily: false }), /schema version 7, older than this tracks \(10\); it is upgraded when a process of this version first records to it/);
  await seven.close();
});

test('reading a closed store (tracks report) leaves no -wal or -shm file beside it; while another process has it open, they stay and it works on', async () => {
  const path = join(dir, 'tidy.db');
  const writer = sqliteStore(path);
  await writer.write(sampleEvents());
  await writer.close();
  const beside = () => ['-wal', '-shm'].filter((suffix) => existsSync(`${path}${suffix}`));
  assert.deepEqual(beside(), [], 'the writer removed them when it closed');

  const reader = sqliteStore(path);
  const sums = await reader.summarize();
  assert.ok(sums.length > 0);
  await reader.close();
  assert.deepEqual(beside(), [], 'a read-only reader leaves nothing behind');

  // Another connection that writes, open all along: its log and shared memory are in use.
  const other = new BetterSqlite3(path);
  try {
    other.prepare('SELECT COUNT(*) FROM tracks_exposures').get();
    const again = sqliteStore(path);
    assert.deepEqual(await again.summarize(), sums);
    await again.close();
    assert.deepEqual(beside(), ['-wal', '-shm'], 'kept while in use');
    other.prepare('INSERT INTO tracks_controls (track_set_id, stopped, serve, at) VALUES (?, 0, NULL, 1)').run('tidy-check');
    assert.equal((other.prepare("SELECT COUNT(*) AS n FROM tracks_controls WHERE track_set_id = 'tidy-check'").get() as { n: number }).n, 1);
  } finally {
    other.close();
  }
  assert.deepEqual(beside(), []);
});

test('a store whose tracks_controls was dropped by hand still records every event; only control changes fail, naming the store', async () => {
  const path = join(dir, 'no-controls.db');
  const seeding = sqliteStore(path);
  await seeding.write(sampleEvents().slice(0, 1));
  await seeding.close();
  new BetterSqlite3(path).exec('DROP TABLE tracks_controls').close();

  class NoControlsTracks extends TrackSet {
    static override id = 'no-controls';
    static long_track() {}
  }
  const errors: unknown[] = [];
  configure({ store: path, outbox: false, handleSignals: false, onError: (error) => errors.push(error) });
  for (let i = 0; i < 500; i++) {
    new NoControlsTracks({ key: `user-${i}` }).run();
    if (i % 5 === 0) convert({ key: `user-${i}`, metric: 'purchase' });
  }
  await flush();
  const { written, dropped } = stats();
  await close();
  const db = new BetterSqlite3(path, { readonly: true });
  const exposures = (db.prepare("SELECT COUNT(*) AS n FROM tracks_exposures WHERE track_set_id = 'no-controls'").get() as { n: number }).n;
  const conversions = (db.prepare("SELECT COUNT(*) AS n FROM tracks_conversions WHERE unit IN (SELECT unit FROM tracks_exposures WHERE track_set_id = 'no-controls')").get() as { n: number }).n;
  db.close();
  assert.deepEqual([exposures, conversions, dropped], [500, 100, 0], `written ${written}; errors: ${errors.map(String).join(' | ')}`);

  const store = sqliteStore(path);
  try {
    await assert.rejects(
      store.writeControl({ trackSetId: 'no-controls', stopped: true, epoch: 1 } as never),
      (error: unknown) => error instanceof Error && error.message.includes(path) && /no such table: tracks_controls/.test(error.message),
    );
    // Reads that need the table say which store lacks it too.
    for (const read of [() => store.readControls(), () => store.summarize()]) {
      await assert.rejects(read(), (error: unknown) => error instanceof Error && error.message.includes(`cannot read the SQLite store ${path}`) && /no such table: tracks_controls/.test(error.message));
    }
  } finally {
    await store.close();
  }
});
