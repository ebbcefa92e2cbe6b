// One suite, every store: the same cases, bad input included, against the memory, SQLite and
// PostgreSQL stores, so that what one store holds, every store holds.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { StoreError, TrackSet, TracksError, UnitOfKey, buildReport, close, configure, convert, eventProblem, flush, memoryStore, postgresStore, rampTrackSet, resumeTrackSet, sqliteStore, stats, stopTrackSet } from '../../src/index.js';
import { utf8Length } from '../../src/core/names.js';
import type { RecordedEvent, Store } from '../../src/index.js';
import { EVENT_KINDS, EVENT_TABLES } from '../../src/model/event-tables.js';
import { noMetricSums } from '../../src/model/sums.js';
import { POSTGRES_MIGRATIONS, SQLITE_BOOKKEEPING_COLUMNS, SQLITE_MIGRATIONS } from '../../src/stores/schema.js';
import BetterSqlite3 from 'better-sqlite3';
import { sampleEvents } from './fixtures/sample-events.js';
import { postgresUrl, schemasFor, sql } from '../support/postgres.js';

const url = postgresUrl;
const dir = mkdtempSync(join(tmpdir(), 'tracks-conformance-'));
const schemaFor = schemasFor('c');
let opened = 0;


after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

/** A fresh, empty store of each kind, and how to tell whether anything was created for it. */
interface Kind {
  readonly name: string;
  readonly skip?: string;
  /** A new, empty store; `another()` opens a second handle on it (another connection, as another process would). */
  fresh(): { store: Store; created(): Promise<boolean>; another(): Store; markNewer?(): Promise<void> };
}

const kinds: Kind[] = [
  {
    name: 'memory',
    fresh: () => {
      const store = memoryStore();
      return { store, created: async () => store.events.length > 0, another: () => store };
    },
  },
  {
    name: 'SQLite',
    fresh: () => {
      const path = join(dir, `store-${opened++}.db`);
      return {
        store: sqliteStore(path),
        created: async () => existsSync(path),
        another: () => sqliteStore(path),
        // As a newer tracks would leave it: a later version recorded, every column of today kept.
        markNewer: async () => {
          const db = new BetterSqlite3(path);
          db.exec('INSERT INTO tracks_schema_version (version) VALUES (99)');
          db.close();
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    ...(url === undefined ? { skip: 'TRACKS_TEST_POSTGRES_URL is not set' } : {}),
    fresh: () => {
      const schema = schemaFor(String(opened++));
      return {
        store: postgresStore(url!, { schema }),
        created: async () => (await sql<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_namespace WHERE nspname = '${schema}'`))[0]!.n !== '0',
        another: () => postgresStore(url!, { schema }),
        markNewer: async () => void (await sql(`INSERT INTO "${schema}".tracks_schema_version (version) VALUES (99)`)),
      };
    },
  },
];

const day = Date.UTC(2026, 5, 1);

/** Names that break plain objects, quoting or terminals, all of them valid. */
const UNUSUAL_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', `it's "quoted"`, 'prüfung-🥥', 'a b\\c', 'x'.repeat(200)];

/** `n` CJK characters (3 bytes of UTF-8 each), varied so that PostgreSQL cannot compress them into a short index key. */
const cjk = (n: number, seed: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919 + seed * 104729) % 20000))).join('');

/** Names of exactly 400 bytes of UTF-8 (133 CJK characters and one ASCII): the most the edge takes. */
const largestName = (seed: number) => `${cjk(133, seed)}${String.fromCharCode(97 + (seed % 26))}`;

/** 8 dimensions of 40-character names whose JSON is exactly 1,600 bytes (+ `extra`): the most the edge takes. */
function largestDimensions(extra = 0): Record<string, string> {
  const dimensions: Record<string, string> = {};
  // JSON: braces, 7 commas, 8 × ("name": 43 bytes + the quoted value) = 369 + the values' 1,231 bytes.
  for (let i = 0; i < 8; i++) dimensions[`dimension_${i}_`.padEnd(40, 'n')] = cjk(51, 10 + i) + (i < 7 ? 'x' : 'x'.repeat(extra));
  return dimensions;
}

/** Keys whose units must stay distinct: unpaired surrogates, NUL, long, reserved prefixes, emoji. */
const UNUSUAL_KEYS = ['\ud800', '\ud801', '\udc00', 'a\ud800b', 'a\udc00b', 'nul\u0000key', 'nul\u0000key2', 'k'.repeat(5000), 'k'.repeat(5001), 'k:abc', 'h:abc', 'run:abc', '🥥', 'plain'];

for (const kind of kinds) {
  describe(`store conformance: ${kind.name}`, { skip: kind.skip ?? false }, () => {
    test('reads of a store with no tracks data create nothing and say so', async () => {
      const { store, created } = kind.fresh();
      assert.deepEqual(await store.readControls(), []);
      assert.deepEqual(await store.readAssignments('s', ['u']), new Map());
      await assert.rejects(store.summarize(), (error: unknown) => error instanceof StoreError && error.code === 'TRACKS_NO_DATA' && /holds no tracks data/.test(error.message));
      assert.equal(await created(), false, 'nothing was created by reading');
      await store.close();
    });

    // The memory store has no schema to be newer than this version's.
    if (kind.name !== 'memory') test('a store a newer tracks migrated: its controls are still read (a stop holds in an older process), its data is refused', async () => {
      const { store, markNewer, another } = kind.fresh();
      await store.write(sampleEvents());
      await stopTrackSet(store, 'cmp', 'a');
      await store.close();
      await markNewer!();
      const older = another();
      try {
        assert.deepEqual(
          (await older.readControls()).map((c) => [c.trackSetId, c.stopped, c.serve]),
          [['cmp', true, 'a']],
        );
        await assert.rejects(older.summarize(), (error: unknown) => error instanceof StoreError && error.code === 'TRACKS_SCHEMA' && /newer than this tracks/.test(error.message));
        await assert.rejects(older.write(sampleEvents()), (error: unknown) => error instanceof StoreError && error.transient && /newer than this tracks/.test(error.message));
      } finally {
        await older.close();
      }
    });

    test('the same events written twice are stored once, and summarize agrees with the memory store', async () => {
      const { store } = kind.fresh();
      const memory = memoryStore();
      for (const s of [store, memory]) {
        await s.write(sampleEvents());
        await s.write(sampleEvents());
        await s.writeControl({ trackSetId: 'cmp', stopped: true, serve: 'a', at: 5 });
      }
      assert.deepEqual(await store.summarize(), await memory.summarize());
      assert.deepEqual(await store.readControls(), [{ trackSetId: 'cmp', stopped: true, serve: 'a', at: 5, coverage: null, weights: null, epoch: 0, promoted: false }]);
      assert.deepEqual(await store.readAssignments('cmp', ['u1', 'u2', 'nobody']), new Map([['u1', 'a'], ['u2', 'b']]), 'the first exposure of a unit wins');
      await store.close();
    });

    test("a unit's earliest exposure is kept, whichever is written first: the users per phase and track, and its sticky track, follow it", async () => {
      // An audit saw 600 users exposed by one process in phase 1 analysed in phase 2 under the
      // tracks of another process, which exposed them again after a ramp and wrote first.
      const { store } = kind.fresh();
      const definition = (phase: string, at: number): RecordedEvent => ({ kind: 'definition', eventId: `d-${phase}`, trackSetId: 'early', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase, sticky: true, stopped: false, at });
      const exposure = (unit: string, track: string, phase: string, at: number): RecordedEvent => ({ kind: 'exposure', eventId: `e-${unit}-${at}`, trackSetId: 'early', track, unit, phase, at });
      await store.write([definition('p1', day), definition('p2', day + 100)]);
      // The later exposures first (another process), u2 and u3 in one batch with an earlier copy of u3.
      await store.write([exposure('u1', 'b', 'p2', day + 200), exposure('u2', 'b', 'p2', day + 200), exposure('u3', 'b', 'p2', day + 200), exposure('u3', 'a', 'p1', day + 30)]);
      // Then the earlier ones (a process's buffer, or its outbox after an outage); u2's again later is skipped.
      await store.write([exposure('u1', 'a', 'p1', day + 10), exposure('u2', 'b', 'p2', day + 300)]);
      const users = (await store.summarize()).find((s) => s.trackSetId === 'early')!;
      const byPhase = users.phases.map((p) => [p.phase, Object.fromEntries(p.tracks.map((t) => [t.track, t.users]))]);
      assert.deepEqual(byPhase, [['p1', { a: 2, b: 0 }], ['p2', { a: 0, b: 1 }]]);
      assert.deepEqual(await store.readAssignments('early', ['u1', 'u2', 'u3']), new Map([['u1', 'a'], ['u2', 'b'], ['u3', 'a']]));
      // One batch that replaces a stored exposure and adds a new unit (a review saw PostgreSQL
      // count the new one twice: its update and insert triggers both ran).
      await store.write([exposure('u2', 'a', 'p1', day + 5), exposure('u4', 'a', 'p1', day + 6)]);
      const usersByPhase = async () => (await store.summarize()).find((s) => s.trackSetId === 'early')!.phases.map((p) => p.tracks.map((t) => t.users));
      assert.deepEqual(await usersByPhase(), [[4, 0], [0, 0]]);
      // Written again (a replay), nothing moves.
      await store.write([exposure('u1', 'b', 'p2', day + 200), exposure('u1', 'a', 'p1', day + 10)]);
      assert.deepEqual(await usersByPhase(), [[4, 0], [0, 0]]);
      // Two exposures of one unit in the same millisecond: the smaller event id wins, in every store.
      await store.write([{ kind: 'exposure', eventId: 'tie-y', trackSetId: 'early', track: 'b', unit: 'u5', phase: 'p1', at: day + 7 }]);
      await store.write([{ kind: 'exposure', eventId: 'tie-X', trackSetId: 'early', track: 'a', unit: 'u5', phase: 'p1', at: day + 7 }]);
      assert.equal((await store.readAssignments('early', ['u5'])).get('u5'), 'a', "'tie-X' < 'tie-y' byte by byte");
      await store.close();
      // A fresh store, one batch whose two copies of a unit fall in two statements (SQLite writes
      // 100 rows a statement, in unit order, and counts a statement's rows itself when it stored
      // them all): the later copy's count moves with it. It is the first of its phase.
      const { store: fresh } = kind.fresh();
      await fresh.write([definition('p1', day)]);
      const before = Array.from({ length: 99 }, (_, i) => exposure(`a${String(i).padStart(2, '0')}`, 'a', 'p1', day + 150));
      await fresh.write([...before, exposure('v0', 'b', 'p3', day + 250), exposure('v0', 'a', 'p1', day + 20)]);
      const phases = (await fresh.summarize()).find((s) => s.trackSetId === 'early')!.phases;
      assert.deepEqual(phases.map((p) => [p.phase, p.tracks.reduce((n, t) => n + t.users, 0)]), [['p1', 100]], 'phase p3 has no user');
      assert.equal((await fresh.readAssignments('early', ['v0'])).get('v0'), 'a');
      await fresh.close();
    });

    test('writeControl with ifEpoch replaces only that epoch; changes made at once through two handles are all applied', async () => {
      const { store, another } = kind.fresh();
      const state = { trackSetId: 'cas', stopped: false, serve: null, at: 5, epoch: 1 };
      assert.equal(await store.writeControl(state, { ifEpoch: 0 }), true, 'a set with no state has epoch 0');
      assert.equal(await store.writeControl({ ...state, stopped: true, epoch: 2 }, { ifEpoch: 0 }), false, 'epoch 1 is stored, not 0');
      assert.equal((await store.readControls())[0]!.stopped, false, 'nothing was written');
      assert.equal(await store.writeControl({ ...state, coverage: 0.5, epoch: 2 }, { ifEpoch: 1 }), true);
      assert.equal(await store.writeControl({ ...state, epoch: 3 }), true, 'without ifEpoch, written whatever is stored');
      // Two operators at once, through two connections: a coverage ramp, a weights ramp and a stop, five times over.
      await store.write([{ kind: 'definition', eventId: 'd-ramp', trackSetId: 'ramped', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: 'p0', sticky: false, stopped: false, at: day }]);
      const other = another();
      for (let round = 1; round <= 5; round++) {
        await Promise.all([
          rampTrackSet(store, 'ramped', { coverage: round / 10 }),
          rampTrackSet(other, 'ramped', { weights: { b: round + 1 } }),
          stopTrackSet(round % 2 === 1 ? other : store, 'ramped', 'b'),
        ]);
        const [control] = (await store.readControls()).filter((c) => c.trackSetId === 'ramped');
        assert.equal(control!.coverage, round / 10, `round ${round}: the coverage ramp is kept`);
        assert.equal(control!.weights?.['b'], round + 1, `round ${round}: the weights ramp is kept`);
        assert.equal(control!.stopped, true, `round ${round}: the stop is kept`);
        await rampTrackSet(store, 'ramped', { coverage: 1 });
        await resumeTrackSet(store, 'ramped');
      }
      if (other !== store) await other.close();
      await store.close();
    });

    test('readStickyAssignments gives the first track of each unit of the sets whose latest definition is sticky, the limit shared between them', async () => {
      const { store } = kind.fresh();
      assert.deepEqual((await store.readStickyAssignments?.(10)) ?? [], [], 'none before any tracks data');
      const definition = (id: string, sticky: boolean, at: number): RecordedEvent => ({ kind: 'definition', eventId: `d-${id}-${at}`, trackSetId: id, weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: `p${at}`, sticky, stopped: false, at });
      const exposure = (id: string, unit: string, track: string, at: number): RecordedEvent => ({ kind: 'exposure', eventId: `e-${id}-${unit}-${at}`, trackSetId: id, track, unit, at });
      await store.write([
        definition('st', false, day),
        definition('st', true, day + 10), // sticky now: its users count
        definition('was', true, day),
        definition('was', false, day + 10), // sticky no more: its code never asks
        definition('plain', false, day),
        exposure('st', 'u1', 'a', day + 1),
        exposure('st', 'u1', 'b', day + 2), // a later exposure of the same unit: the first wins
        exposure('st', 'u2', 'b', day + 3),
        exposure('was', 'u1', 'b', day + 1),
        exposure('plain', 'u1', 'b', day + 1),
        definition('big', true, day),
        ...Array.from({ length: 6 }, (_, i) => exposure('big', `b${i}`, 'a', day + i)),
      ]);
      const rows = (await store.readStickyAssignments!(10)).map((r) => `${r.trackSetId}/${r.unit}/${r.track}`).sort();
      assert.deepEqual(rows.filter((r) => r.startsWith('st/')), ['st/u1/a', 'st/u2/b']);
      assert.equal(rows.filter((r) => r.startsWith('big/')).length, 5, 'each sticky set gets its share of the limit (10 / 2)');
      assert.ok(!rows.some((r) => r.startsWith('was/') || r.startsWith('plain/')), 'not the sets that are not sticky now');
      assert.equal((await store.readStickyAssignments!(2)).length, 2, 'the limit holds');
      const now = store.readStickyAssignmentsNow?.(10);
      if (now !== undefined) assert.deepEqual(now.map((r) => `${r.trackSetId}/${r.unit}/${r.track}`).sort(), rows, 'the synchronous read agrees');
      // Read again before a ramp (a filter): those sets' units exposed since, the latest first within the limit.
      const since = (filter: { trackSetIds: string[]; since: number }, limit = 10) =>
        store.readStickyAssignments!(limit, {}, filter).then((found) => found.map((r) => `${r.trackSetId}/${r.unit}/${r.track}`));
      assert.deepEqual((await since({ trackSetIds: ['big'], since: day + 3 })).sort(), ['big/b3/a', 'big/b4/a', 'big/b5/a']);
      assert.deepEqual(await since({ trackSetIds: ['big'], since: day }, 2), ['big/b5/a', 'big/b4/a'], 'the latest first');
      assert.deepEqual((await since({ trackSetIds: ['st', 'was', 'plain'], since: day + 2 })).sort(), ['st/u2/b'], 'of the sets asked that are sticky now');
      assert.deepEqual(await since({ trackSetIds: ['nope'], since: 0 }), []);
      await store.close();
    });

    test('summarize({ metrics: false }) reads users, health, phases and controls as the whole summary does, and no metric (the dashboard list)', async () => {
      const { store } = kind.fresh();
      const memory = memoryStore();
      const declared: RecordedEvent = { kind: 'metric', eventId: 'm-cap', name: 'purchase', metricKind: 'sum', numerator: null, denominator: null, higherIsBetter: true, guardrail: false, at: day };
      for (const s of [store, memory]) {
        await s.write([...sampleEvents(), declared]);
        await s.writeControl({ trackSetId: 'cmp', stopped: true, serve: 'a', at: 5 });
      }
      const options = { ratios: [{ numerator: 'purchase', denominator: 'purchase' }], preExposure: { ms: 14 * 86_400_000 }, caps: [{ metric: 'purchase', kind: 'sum' as const, percentile: 0.9 }] };
      for (const daily of [false, true]) {
        const whole = { count: 0 };
        const light = { count: 0 };
        const summed = await store.summarize({ daily, ...options });
        const listed = await store.summarize({ daily, ...options, metrics: false });
        assert.deepEqual(withoutMetrics(listed, light), withoutMetrics(summed, whole), `daily: ${daily}`);
        assert.ok(whole.count > 0, 'the sample has metric sums');
        assert.equal(light.count, 0, 'metrics: false sums no metric');
        assert.deepEqual(listed, await memory.summarize({ daily, ...options, metrics: false }), 'and agrees with the memory store');
      }
      await store.close();
    });

    test('phases, a stop, metric declarations and ratio products: summarize({ ratios }) and readMetrics agree with the memory store', async () => {
      const { store } = kind.fresh();
      const memory = memoryStore();
      const events: RecordedEvent[] = [
        { kind: 'metric', eventId: 'm1', name: 'purchase', metricKind: 'sum', numerator: null, denominator: null, higherIsBetter: true, guardrail: false, at: day },
        { kind: 'metric', eventId: 'm2', name: 'purchase', metricKind: 'conversion', numerator: null, denominator: null, higherIsBetter: true, guardrail: false, at: day + 5 },
        { kind: 'metric', eventId: 'm4', name: 'revenue', metricKind: 'sum', numerator: null, denominator: null, higherIsBetter: true, guardrail: false, analysis: { cuped: { windowDays: 28 }, cap: { percentile: 0.99 } }, at: day },
        { kind: 'metric', eventId: 'm3', name: 'per_visit', metricKind: 'ratio', numerator: 'order', denominator: 'visit', higherIsBetter: false, guardrail: true, at: day },
        { kind: 'definition', eventId: 'p1', trackSetId: 'ph', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: 'one', sticky: false, stopped: false, at: day },
        { kind: 'definition', eventId: 'p2', trackSetId: 'ph', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: 'stop', sticky: false, stopped: true, at: day + 10 * 3_600_000 },
        { kind: 'definition', eventId: 'p3', trackSetId: 'ph', weights: { a: 1, b: 3 }, coverage: 0.5, control: 'a', phase: 'two', sticky: true, stopped: false, at: day + 12 * 3_600_000 },
      ];
      for (let u = 0; u < 24; u++) {
        const at = day + u * 3_600_000 + (u >= 10 ? 2 * 3_600_000 : 0);
        const phase = u < 10 ? 'one' : 'two';
        events.push({ kind: 'exposure', eventId: `x${u}`, trackSetId: 'ph', track: u % 3 ? 'b' : 'a', unit: `u${u}`, at, phase });
        for (let k = 0; k <= u % 3; k++) events.push({ kind: 'conversion', eventId: `o${u}-${k}`, unit: `u${u}`, metric: 'order', value: 1 + k, at: at + 60_000 });
        if (u % 4 !== 1) events.push({ kind: 'conversion', eventId: `v${u}`, unit: `u${u}`, metric: 'visit', value: 1 + (u % 5), at: at + 60_000 });
        // After its phase ended (during the stop, or later): counted for no one.
        events.push({ kind: 'conversion', eventId: `late${u}`, unit: `u${u}`, metric: 'order', value: 50, at: day + 11 * 3_600_000 });
      }
      for (const s of [store, memory]) await s.write(events);
      const ratios = [{ numerator: 'order', denominator: 'visit' }];
      const [fromStore, fromMemory] = [await store.summarize({ ratios }), await memory.summarize({ ratios })];
      assert.deepEqual(fromStore, fromMemory);
      const set = fromStore[0]!;
      assert.deepEqual(set.phases.map((p) => [p.phase, p.definition?.stopped, p.tracks.reduce((n, t) => n + t.users, 0)]), [['one', false, 10], ['stop', true, 0], ['two', false, 14]]);
      assert.ok(set.tracks.every((t) => t.products !== undefined), 'every track carries the products asked for');
      assert.deepEqual(await store.readMetrics!(), await memory.readMetrics());
      assert.deepEqual((await store.readMetrics!()).get('purchase'), { kind: 'conversion', higherIsBetter: true, guardrail: false });
      assert.deepEqual((await store.readMetrics!()).get('revenue'), { kind: 'sum', higherIsBetter: true, guardrail: false, cuped: { windowDays: 28 }, cap: { percentile: 0.99 } });
      assert.deepEqual((await store.readMetrics!()).get('per_visit'), { kind: 'ratio', numerator: 'order', denominator: 'visit', higherIsBetter: false, guardrail: true });
      await store.close();
    });

    test('a set that goes back to an earlier configuration: each user counts until the next change after their exposure', async () => {
      const { store } = kind.fresh();
      const memory = memoryStore();
      const hour = 3_600_000;
      const def = (id: string, phase: string, at: number, long: number): RecordedEvent => ({ kind: 'definition', eventId: id, trackSetId: 'back', weights: { control: 1, long }, coverage: 1, control: 'control', phase, at });
      // A (1:1) from hour 0, B (1:3) from hour 10, A again from hour 20 (a rollback), and a
      // second process starting on A at hour 25 (not a change).
      const events: RecordedEvent[] = [def('a1', 'A', day, 1), def('b1', 'B', day + 10 * hour, 3), def('a2', 'A', day + 20 * hour, 1), def('a3', 'A', day + 25 * hour, 1)];
      const user = (name: string, phase: string, exposedAt: number, convertedAt: number) => {
        events.push({ kind: 'exposure', eventId: `x-${name}`, trackSetId: 'back', track: 'long', unit: name, at: exposedAt, phase });
        events.push({ kind: 'conversion', eventId: `c-${name}`, unit: name, metric: 'buy', value: 1, at: convertedAt });
      };
      user('early-a', 'A', day + hour, day + 2 * hour); // counted
      user('late-a', 'A', day + hour, day + 12 * hour); // after B began: not counted
      user('b-kept', 'B', day + 11 * hour, day + 12 * hour); // counted
      user('b-late', 'B', day + 11 * hour, day + 21 * hour); // after the rollback: not counted
      user('back-a', 'A', day + 21 * hour, day + 30 * hour); // a new user of A after the rollback: counted
      for (const s of [store, memory]) await s.write(events);
      const [sums] = await store.summarize();
      assert.deepEqual([sums], await memory.summarize());
      const converted = (phase: string) => sums!.phases.find((p) => p.phase === phase)!.tracks.find((t) => t.track === 'long')!.metrics.get('buy')?.converted ?? 0;
      assert.equal(converted('A'), 2, 'early-a and back-a');
      assert.equal(converted('B'), 1, 'b-kept');
      assert.deepEqual(sums!.phases.map((p) => [p.phase, p.startedAt, p.endedAt]), [['A', day, null], ['B', day + 10 * hour, day + 20 * hour]]);
      await store.close();
    });

    test("a phase alone has the latency, errors and p95 warning of its own minutes' health rows, a minute in the phase in effect at its start", async () => {
      const { store } = kind.fresh();
      const memory = memoryStore();
      const minute = 60_000;
      const m0 = day / minute;
      const def = (phase: string, at: number): RecordedEvent => ({ kind: 'definition', eventId: `d-${phase}`, trackSetId: 'lat', weights: { control: 1, slow: 1 }, coverage: 1, control: 'control', phase, at });
      // A from minute 0, B from 30 s into minute 10, C from minute 20 (no health rows in C).
      const events: RecordedEvent[] = [def('A', day), def('B', day + 10 * minute + 30_000), def('C', day + 20 * minute)];
      for (const [phase, at] of [['A', day], ['B', day + 11 * minute], ['C', day + 21 * minute]] as const) {
        for (let u = 0; u < 4; u++) events.push({ kind: 'exposure', eventId: `x-${phase}${u}`, trackSetId: 'lat', track: u % 2 ? 'slow' : 'control', unit: `${phase}${u}`, at: at + u, phase });
      }
      let n = 0;
      const health = (track: string, m: number, bucket: number, runs: number, errors: number) => {
        const histogram = new Array<number>(bucket + 1).fill(0);
        histogram[bucket] = runs;
        events.push({ kind: 'health', eventId: `h${n++}`, trackSetId: 'lat', track, minute: m, runs, errors, totalMs: runs, histogram });
      };
      // A: both tracks alike; a minute before A's first start counts to A, as does minute 10 (B began 30 s into it).
      health('control', m0 - 1, 10, 7, 0);
      for (const m of [m0 + 2, m0 + 10]) for (const track of ['control', 'slow']) health(track, m, 10, 150, 1);
      // B: 'slow' far slower, and erring.
      for (const m of [m0 + 11, m0 + 15]) {
        health('control', m, 10, 150, 0);
        health('slow', m, 30, 150, 30);
      }
      for (const s of [store, memory]) await s.write(events);
      const sums = await store.summarize();
      assert.deepEqual(sums, await memory.summarize());
      const runs = (report: ReturnType<typeof buildReport>) => Object.fromEntries(report.trackSets[0]!.tracks.map((t) => [t.name, [t.latency.runs, t.latency.errors]]));
      const latencyWarned = (report: ReturnType<typeof buildReport>) => report.trackSets[0]!.warnings.some((w) => w.kind === 'latency');
      const combined = buildReport(sums);
      assert.deepEqual(runs(combined), { control: [607, 2], slow: [600, 62] }, 'the combined report reads every health row');
      const [a, b, c] = [1, 2, 3].map((phase) => buildReport(sums, { phase }));
      assert.deepEqual(runs(a!), { control: [307, 2], slow: [300, 2] });
      assert.equal(latencyWarned(a!), false, "in A, 'slow' is not slower");
      assert.deepEqual(runs(b!), { control: [300, 0], slow: [300, 60] });
      assert.ok(latencyWarned(b!), "in B, 'slow' is slower at p95");
      assert.equal(b!.trackSets[0]!.tracks.find((t) => t.name === 'slow')!.latency.errorRate, 0.2);
      assert.deepEqual(runs(c!), { control: [0, 0], slow: [0, 0] }, "C has no health rows: not the whole test's figures");
      assert.ok(c!.trackSets[0]!.warnings.some((w) => w.kind === 'no-health' && /phase 3 has no health rows/.test(w.message)), 'and says so');
      // --all-phases: each phase alone, the same figures.
      const all = buildReport(sums, { allPhases: true }).trackSets[0]!.phases.map((p) => Object.fromEntries(p.results!.map((t) => [t.name, t.latency.runs])));
      assert.deepEqual(all, [{ control: 307, slow: 300 }, { control: 300, slow: 300 }, { control: 0, slow: 0 }]);
      await store.close();
      // A store with no phase starts at all (no definition recorded): every health row is phase ''.
      const bare = kind.fresh().store;
      const unphased: RecordedEvent[] = [{ kind: 'exposure', eventId: 'x-old', trackSetId: 'lat', track: 'control', unit: 'old', at: day }, events.find((e) => e.kind === 'health')!];
      await bare.write(unphased);
      const bareMemory = memoryStore();
      await bareMemory.write(unphased);
      const bareSums = await bare.summarize();
      assert.deepEqual(bareSums, await bareMemory.summarize());
      assert.equal(bareSums[0]!.phases[0]!.health?.get('control')?.runs, 7, "the exposures' phase '' has the health rows");
      await bare.close();
    });

    test("CUPED's covariates: each user's history in the window before the exposure, per metric, summed with the outcome", async () => {
      const { store } = kind.fresh();
      const memory = memoryStore();
      const hourMs = 3_600_000;
      const start = day + 30 * 86_400_000;
      const events: RecordedEvent[] = [{ kind: 'definition', eventId: 'd', trackSetId: 'cup', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: 'p', at: start - 40 * 86_400_000 }];
      const exposed = (unit: string, track: string) => events.push({ kind: 'exposure', eventId: `x-${unit}`, trackSetId: 'cup', track, unit, at: start, phase: 'p' });
      let n = 0;
      const buy = (unit: string, metric: string, value: number, at: number) => events.push({ kind: 'conversion', eventId: `c${n++}`, unit, metric, value, at });
      exposed('both', 'a'); // 2 buys before (in the window), 1 after
      buy('both', 'buy', 4, start - 2 * hourMs);
      buy('both', 'buy', 6, start - 3 * 86_400_000);
      buy('both', 'buy', 10, start + hourMs);
      exposed('before', 'a'); // only history: a covariate, no outcome
      buy('before', 'buy', 5, start - hourMs);
      exposed('old', 'a'); // history older than 14 days: no covariate
      buy('old', 'buy', 7, start - 20 * 86_400_000);
      buy('old', 'buy', 3, start + hourMs);
      exposed('after', 'b');
      buy('after', 'buy', 8, start + hourMs);
      exposed('none', 'b');
      // 'visit' keeps 30 days of history: the 20-day-old visit counts.
      buy('old', 'visit', 1, start - 20 * 86_400_000);
      buy('old', 'visit', 1, start + hourMs);
      for (const s of [store, memory]) await s.write(events);
      const preExposure = { ms: 14 * 86_400_000, byMetric: new Map([['visit', 30 * 86_400_000]]) };
      const [fromStore, fromMemory] = [await store.summarize({ preExposure }), await memory.summarize({ preExposure })];
      assert.deepEqual(fromStore, fromMemory);
      const a = fromStore[0]!.tracks.find((t) => t.track === 'a')!;
      const buyA = a.metrics.get('buy')!;
      // Outcomes are unchanged by the window: 'both' 10, 'old' 3.
      assert.deepEqual([buyA.converted, buyA.sum, buyA.sumSquares, buyA.count], [2, 13, 109, 2]);
      // Covariates: 'both' 10 over 2 buys, 'before' 5 over 1, 'old' none in 14 days.
      assert.deepEqual([buyA.preConverted, buyA.crossConverted, buyA.preSum, buyA.preSumSquares, buyA.crossSum], [2, 1, 15, 125, 100]);
      assert.deepEqual([buyA.preCount, buyA.preCountSquares, buyA.crossCount], [3, 5, 2]);
      // mean: over the converted users 'both' (10, history mean 5) and 'old' (3, no history).
      assert.deepEqual([buyA.meanSum, buyA.preMeanSum, buyA.preMeanSquares, buyA.crossMean], [13, 5, 25, 50]);
      const visitA = a.metrics.get('visit')!;
      assert.deepEqual([visitA.converted, visitA.preConverted, visitA.crossSum], [1, 1, 1]);
      // Without a window nothing before the exposure is read.
      const [plain] = await store.summarize();
      const plainBuy = plain!.tracks.find((t) => t.track === 'a')!.metrics.get('buy')!;
      assert.deepEqual([plainBuy.converted, plainBuy.sum, plainBuy.preSum, plainBuy.crossSum], [2, 13, 0, 0]);
      await store.close();
    });

    test('caps (winsorization): fixed, and percentiles over the phase units, zeros included for sums; a hand-checked fixture', async () => {
      const { store } = kind.fresh();
      const memory = memoryStore();
      const events: RecordedEvent[] = [{ kind: 'definition', eventId: 'd', trackSetId: 's', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: 'p', at: day }];
      for (let u = 0; u < 10; u++) events.push({ kind: 'exposure', eventId: `x${u}`, trackSetId: 's', track: u % 2 ? 'b' : 'a', unit: `u${u}`, at: day + 1, phase: 'p' });
      let n = 0;
      const buy = (unit: number, metric: string, ...values: number[]) => {
        for (const value of values) events.push({ kind: 'conversion', eventId: `c${n++}`, unit: `u${unit}`, metric, value, at: day + 10 + n });
      };
      // revenue, capped at 100: u0 50, u1 100 + 50, u2 500, u4 20.
      buy(0, 'revenue', 50); buy(1, 'revenue', 100, 50); buy(2, 'revenue', 500); buy(4, 'revenue', 20);
      // spend, p80 over the 10 units (5 of them 0): ranked 3rd from the top of 40, 30, 20, 10, 5: 20.
      buy(0, 'spend', 10); buy(1, 'spend', 40); buy(2, 'spend', 30); buy(3, 'spend', 20); buy(5, 'spend', 5);
      // order, a count capped at 2: u0 3 orders, u1 1.
      buy(0, 'order', 1, 1, 1); buy(1, 'order', 1);
      // basket, a mean with p50 over its 4 converted units: averages 20, 50, 5, 100; 3rd from the top: 20.
      buy(0, 'basket', 10, 30); buy(1, 'basket', 50); buy(2, 'basket', 5); buy(3, 'basket', 100, 100);
      // rare, p90 over 10 units of which one has a value: the percentile falls on a zero, no cap.
      buy(0, 'rare', 7);
      // refund, p50 over 10 units, every one negative: -6, below 0, would lower the units
      // without a refund too; no cap. (A mean of negative values is capped like any other.)
      for (let u = 0; u < 10; u++) buy(u, 'refund', -1 - u);
      for (const s of [store, memory]) await s.write(events);
      const caps = [
        { metric: 'revenue', kind: 'sum', value: 100 },
        { metric: 'spend', kind: 'sum', percentile: 0.8 },
        { metric: 'order', kind: 'count', value: 2 },
        { metric: 'basket', kind: 'mean', percentile: 0.5 },
        { metric: 'rare', kind: 'sum', percentile: 0.9 },
        { metric: 'refund', kind: 'sum', percentile: 0.5 },
      ] as const;
      const [fromStore, fromMemory] = [await store.summarize({ caps }), await memory.summarize({ caps })];
      assert.deepEqual(fromStore, fromMemory);
      const phase = fromStore[0]!.phases[0]!;
      assert.deepEqual(phase.caps, new Map<string, number | null>([['revenue', 100], ['spend', 20], ['order', 2], ['basket', 20], ['rare', null], ['refund', null]]));
      const sums = (track: string, metric: string) => fromStore[0]!.tracks.find((t) => t.track === track)!.metrics.get(metric)!;
      assert.deepEqual([sums('a', 'revenue').converted, sums('a', 'revenue').sum, sums('a', 'revenue').sumSquares], [3, 170, 12_900]);
      assert.deepEqual([sums('b', 'revenue').sum, sums('b', 'revenue').sumSquares], [100, 10_000]);
      assert.deepEqual([sums('a', 'spend').sum, sums('a', 'spend').sumSquares, sums('b', 'spend').sum, sums('b', 'spend').sumSquares], [30, 500, 45, 825]);
      assert.deepEqual([sums('a', 'order').count, sums('a', 'order').countSquares, sums('b', 'order').count], [2, 4, 1]);
      assert.deepEqual([sums('a', 'basket').meanSum, sums('a', 'basket').meanSquares, sums('b', 'basket').meanSum, sums('b', 'basket').meanSquares], [25, 425, 40, 800]);
      assert.equal(sums('a', 'rare').sum, 7);
      assert.deepEqual([sums('a', 'refund').sum, sums('b', 'refund').sum], [-1 - 3 - 5 - 7 - 9, -2 - 4 - 6 - 8 - 10]);
      await store.close();
    });

    test('segments: summarize({ by }) breaks each phase down by a dimension kept with the exposure, with CUPED, caps and ratios', async () => {
      const { store } = kind.fresh();
      const memory = memoryStore();
      const hourMs = 3_600_000;
      const events: RecordedEvent[] = [
        { kind: 'definition', eventId: 'd1', trackSetId: 'seg', weights: { a: 1, b: 1 }, coverage: 1, control: 'a', phase: 'one', at: day },
        { kind: 'definition', eventId: 'd2', trackSetId: 'seg', weights: { a: 1, b: 3 }, coverage: 1, control: 'a', phase: 'two', at: day + 10 * hourMs },
      ];
      const countries = ['de', 'fr', 'us'];
      let n = 0;
      for (let u = 0; u < 30; u++) {
        const at = day + (u < 15 ? 1 : 11) * hourMs + u;
        const dimensions = u % 7 === 6 ? undefined : { country: countries[u % 3]!, constructor: 'x', plan: u % 2 ? 'pro' : 'free' };
        events.push({ kind: 'exposure', eventId: `x${u}`, trackSetId: 'seg', track: u % 2 ? 'b' : 'a', unit: `u${u}`, at, phase: u < 15 ? 'one' : 'two', ...(dimensions ? { dimensions } : {}) });
        events.push({ kind: 'conversion', eventId: `c${n++}`, unit: `u${u}`, metric: 'revenue', value: 10 + u, at: at + 1 });
        if (u % 4 === 0) events.push({ kind: 'conversion', eventId: `c${n++}`, unit: `u${u}`, metric: 'revenue', value: 5, at: at - hourMs });
        events.push({ kind: 'conversion', eventId: `c${n++}`, unit: `u${u}`, metric: 'visit', value: 1, at: at + 2 });
      }
      // A returning user with history only (no conversion after the exposure): a covariate, no
      // outcome, no ratio product, and a cap must not turn its missing outcome into the cap.
      events.push({ kind: 'exposure', eventId: 'x-history', trackSetId: 'seg', track: 'b', unit: 'history-only', at: day + 11 * hourMs, phase: 'two', dimensions: { country: 'de', constructor: 'x', plan: 'pro' } });
      events.push({ kind: 'conversion', eventId: 'c-history-1', unit: 'history-only', metric: 'revenue', value: 500, at: day + 10 * hourMs });
      events.push({ kind: 'conversion', eventId: 'c-history-2', unit: 'history-only', metric: 'visit', value: 1, at: day + 10 * hourMs });
      for (const s of [store, memory]) await s.write(events);
      const options = {
        by: 'country',
        preExposure: { ms: 14 * 86_400_000 },
        caps: [{ metric: 'revenue', kind: 'sum', percentile: 0.9 }] as const,
        ratios: [{ numerator: 'revenue', denominator: 'visit' }],
      };
      const [fromStore, fromMemory] = [await store.summarize(options), await memory.summarize(options)];
      assert.deepEqual(fromStore, fromMemory);
      const segments = fromStore[0]!.segments!;
      assert.equal(segments.dimension, 'country');
      assert.deepEqual([...segments.values.keys()], ['', 'de', 'fr', 'us'], "'' holds the units recorded without the dimension");
      const users = (segment: string) => segments.values.get(segment)!.flatMap((p) => p.tracks).reduce((sum, t) => sum + t.users, 0);
      assert.deepEqual(['', 'de', 'fr', 'us'].map(users), [4, 9, 9, 9]);
      // The segments partition the users of each phase.
      for (const phase of fromStore[0]!.phases) {
        const inSegments = [...segments.values.values()].flatMap((p) => p.filter((x) => x.phase === phase.phase)).flatMap((p) => p.tracks).reduce((sum, t) => sum + t.users, 0);
        assert.equal(inSegments, phase.tracks.reduce((sum, t) => sum + t.users, 0), phase.phase);
      }
      assert.deepEqual(await store.readDimensions!('seg'), ['constructor', 'country', 'plan']);
      assert.deepEqual(await store.readDimensions!('no-such-set'), []);
      const [byName] = await store.summarize({ by: 'constructor' });
      assert.deepEqual([...byName!.segments!.values.keys()], ['', 'x'], 'a dimension named constructor is a name like any other');
      await assert.rejects(store.summarize({ by: 'country; DROP TABLE x' }), (e: unknown) => e instanceof TracksError && /by is 'country; DROP TABLE x'; a dimension is named like an identifier/.test(e.message));
      await store.close();
    });

    test('shadow runs: sums per candidate, histograms and the latest samples agree with the memory store; a promotion round-trips', async () => {
      const { store } = kind.fresh();
      const memory = memoryStore();
      const events = shadowEvents();
      for (const s of [store, memory]) {
        await s.write(events);
        await s.write(events.slice(0, 5)); // written twice, stored once
        await s.writeControl({ trackSetId: 'shadowed', stopped: false, serve: null, at: 7, epoch: 1, promoted: true });
      }
      const sums = await store.readShadow!();
      assert.deepEqual(sums, await memory.readShadow());
      const fresh = sums.tracks.find((t) => t.trackSetId === 'shadowed' && t.track === 'fresh')!;
      assert.deepEqual(
        [fresh.firstMinute, fresh.lastMinute, fresh.matches, fresh.mismatches, fresh.ignored, fresh.errors, fresh.timeouts, fresh.skippedConcurrency, fresh.skippedGuardrail],
        [1000, 1003, 4 * 90, 4 * 3, 4, 4 * 2, 4, 4 * 5, 0],
      );
      assert.equal(fresh.slowerHistogram[10], 4 * 50);
      assert.equal(fresh.fasterHistogram[12], 4 * 40);
      const samples = sums.samples.filter((x) => x.trackSetId === 'shadowed');
      assert.equal(samples.length, 20, 'the latest 20 of the 25 samples');
      assert.deepEqual(samples.map((x) => x.at), Array.from({ length: 20 }, (_, i) => day + 24 - i), 'newest first');
      assert.equal(samples[0]!.input, `["it's \\"quoted\\"", "🥥", "line\\nbreak", 24]`);
      assert.deepEqual(await store.readShadow!('other'), await memory.readShadow('other'));
      assert.equal((await store.readShadow!('other')).tracks.length, 1);
      assert.deepEqual((await store.readShadow!('nothing-here')), { tracks: [], samples: [] });
      assert.equal((await store.readControls()).find((c) => c.trackSetId === 'shadowed')?.promoted, true);
      await store.close();
    });

    test('any name works: constructor, __proto__, quotes, unicode, 200 characters', async () => {
      const { store } = kind.fresh();
      const events: RecordedEvent[] = [];
      UNUSUAL_NAMES.forEach((name, i) => {
        events.push({ kind: 'exposure', eventId: `x${i}`, trackSetId: name, track: name, unit: `u${i}`, at: day + i });
        events.push({ kind: 'conversion', eventId: `c${i}`, unit: `u${i}`, metric: name, value: i + 1, at: day + i + 1 });
        events.push({ kind: 'definition', eventId: `d${i}`, trackSetId: name, weights: Object.assign(Object.create(null) as Record<string, number>, { [name]: 2, control: 1 }), coverage: 1, at: day });
      });
      await store.write(events);
      const sums = await store.summarize();
      assert.deepEqual(sums.map((s) => s.trackSetId).sort(), [...UNUSUAL_NAMES].sort());
      for (const [i, name] of UNUSUAL_NAMES.entries()) {
        const set = sums.find((s) => s.trackSetId === name)!;
        assert.deepEqual(set.definition!.weights, new Map([[name, 2], ['control', 1]]));
        const track = set.tracks.find((t) => t.track === name)!;
        assert.equal(track.users, 1);
        assert.deepEqual([...track.metrics.entries()], [[name, { ...noMetricSums(), converted: 1, sum: i + 1, sumSquares: (i + 1) ** 2, count: 1, countSquares: 1, meanSum: i + 1, meanSquares: (i + 1) ** 2 }]]);
      }
      await store.close();
    });

    test('keys of any content stay distinct, stored as the same units on every store', async () => {
      const { store } = kind.fresh();
      const units = new UnitOfKey();
      const unitsOf = UNUSUAL_KEYS.map((key) => units.of(key));
      assert.equal(new Set(unitsOf).size, UNUSUAL_KEYS.length, 'distinct keys, distinct units');
      await store.write(unitsOf.map((unit, i) => ({ kind: 'exposure', eventId: `k${i}`, trackSetId: 'keys', track: 't', unit, at: day })));
      const found = await store.readAssignments('keys', unitsOf);
      assert.deepEqual([...found.keys()].sort(), [...unitsOf].sort());
      assert.equal((await store.summarize({ trackSetId: 'keys' }))[0]!.tracks[0]!.users, UNUSUAL_KEYS.length);
      await store.close();
    });

    test("the largest names and dimensions the edge takes are stored by every store (PostgreSQL's index keys stay under 2,704 bytes)", async () => {
      const { store } = kind.fresh();
      const trackSetId = largestName(1);
      const track = largestName(2);
      const metric = largestName(3);
      const unit = cjk(200, 4); // a plain key of 600 bytes, stored as it is
      const dimensions = largestDimensions();
      assert.deepEqual([trackSetId, track, metric, JSON.stringify(dimensions)].map(utf8Length), [400, 400, 400, 1600]);
      assert.equal(new UnitOfKey().of(unit), unit);
      const phase = 'p'.repeat(32);
      const events: RecordedEvent[] = [
        { kind: 'definition', eventId: 'd', trackSetId, weights: Object.assign(Object.create(null) as Record<string, number>, { [track]: 1, [largestName(5)]: 1 }), coverage: 1, control: track, phase, at: day },
        { kind: 'exposure', eventId: 'x', trackSetId, track, unit, at: day + 1, phase, dimensions },
        { kind: 'conversion', eventId: 'c', unit, metric, value: 2, at: day + 2 },
        { kind: 'health', eventId: 'h', trackSetId, track, minute: Math.floor(day / 60_000), runs: 1, errors: 0, totalMs: 1, histogram: [1] },
        { kind: 'guardrail', eventId: 'g', trackSetId, track, cause: 'tripped', at: day + 3 },
      ];
      for (const event of events) assert.equal(eventProblem(event), undefined, event.kind);
      // Before the bytes were bounded, PostgreSQL refused such an exposure ("index row size 3144
      // exceeds btree version 4 maximum 2704") while SQLite and memory stored it.
      await store.write(events);
      assert.equal((await store.readAssignments(trackSetId, [unit])).get(unit), track);
      const [sums] = await store.summarize({ trackSetId });
      assert.equal(sums!.tracks.find((t) => t.track === track)!.users, 1);
      await store.close();
    });

    test('through recording, a set at the bounds is stored alike by every store: dimensions past 1,600 bytes are left out and reported, a metric past 400 bytes is rejected', async () => {
      const { store } = kind.fresh();
      const errors: Error[] = [];
      const id = largestName(6);
      const tracks = [largestName(7), largestName(8)];
      // 8 dimensions of 40-character names and 64 CJK characters: 1,906 bytes as JSON.
      const Big = class extends TrackSet {
        static override id = id;
        static override dimensions() {
          const given: Record<string, string> = {};
          for (let i = 0; i < 8; i++) given[`dimension_number_${i}_`.padEnd(40, 'x')] = cjk(64, 20 + i);
          return given;
        }
      };
      for (const track of tracks) Object.defineProperty(Big, `${track}_track`, { value() {}, enumerable: false });
      configure({ store, outbox: false, handleSignals: false, onError: (e) => errors.push(e) });
      for (let i = 0; i < 20; i++) new Big({ key: `u${i}` }).run();
      convert({ key: 'u0', metric: cjk(134, 9) }); // 402 bytes
      convert({ key: 'u0', metric: largestName(9) }); // 400 bytes
      await flush();
      const final = stats();
      assert.deepEqual(
        { rejected: final.rejected, quarantined: final.quarantined, dropped: final.dropped, buffered: final.buffered },
        { rejected: 1, quarantined: 0, dropped: 0, buffered: 0 },
        errors.map((e) => e.message.slice(0, 200)).join('\n'),
      );
      assert.ok(errors.some((e) => e instanceof TracksError && /^convert: .* is 402 bytes long in UTF-8 \(134 characters\); use at most 400 bytes/.test(e.message)), errors.map((e) => e.message.slice(0, 200)).join('\n'));
      assert.ok(errors.some((e) => /dimensions gives more than 1600 bytes of dimensions .* 'dimension_number_6_x+' and the rest are left out/.test(e.message)));
      const units = Array.from({ length: 20 }, (_, i) => `u${i}`);
      assert.equal((await store.readAssignments(id, units)).size, 20);
      const [sums] = await store.summarize({ trackSetId: id });
      assert.equal(sums!.tracks.reduce((n, t) => n + t.users, 0), 20);
      assert.equal([...sums!.tracks.flatMap((t) => [...t.metrics.keys()])].join(), largestName(9));
      // Six dimensions of 240 bytes each fit (1,442 bytes as JSON); the seventh would not.
      assert.deepEqual(await store.readDimensions?.(id), Array.from({ length: 6 }, (_, i) => `dimension_number_${i}_`.padEnd(40, 'x')));
      await close(); // closes the store too
    });

    for (const [what, bad] of badEvents()) {
      test(`refuses, for good and as a whole batch, ${what}`, async () => {
        const { store } = kind.fresh();
        const good: RecordedEvent = { kind: 'exposure', eventId: 'good', trackSetId: 'bad-input', track: 't', unit: 'fine', at: day };
        await assert.rejects(
          store.write([good, bad as RecordedEvent]),
          (error: unknown) => error instanceof StoreError && error.transient === false && error.code === 'TRACKS_BAD_EVENT',
        );
        await store.write([good]);
        assert.equal((await store.summarize({ trackSetId: 'bad-input' }))[0]!.tracks[0]!.users, 1, 'the store took the good event alone');
        await store.close();
      });
    }
  });
}

/** Shadow runs of two sets over four minutes, and 25 mismatch samples of one of them. */
function shadowEvents(): RecordedEvent[] {
  const histogram = (bucket: number, count: number) => Array.from({ length: 66 }, (_, i) => (i === bucket ? count : 0));
  const events: RecordedEvent[] = [];
  for (let minute = 1000; minute < 1004; minute++) {
    events.push({
      kind: 'shadow', eventId: `sh-${minute}`, trackSetId: 'shadowed', track: 'fresh', minute,
      matches: 90, mismatches: 3, ignored: 1, errors: 2, timeouts: 1, skippedConcurrency: 5, skippedGuardrail: 0,
      baselineHistogram: histogram(20, 90), candidateHistogram: histogram(21, 90), slowerHistogram: histogram(10, 50), fasterHistogram: histogram(12, 40),
    });
  }
  events.push({
    kind: 'shadow', eventId: 'sh-other', trackSetId: 'other', track: 'b', minute: 5,
    matches: 1, mismatches: 0, ignored: 0, errors: 0, timeouts: 0, skippedConcurrency: 0, skippedGuardrail: 3,
    baselineHistogram: histogram(1, 1), candidateHistogram: histogram(1, 1), slowerHistogram: histogram(0, 1), fasterHistogram: histogram(0, 0),
  });
  for (let i = 0; i < 25; i++) {
    events.push({
      kind: 'shadow_sample', eventId: `sample-${String(i).padStart(2, '0')}`, trackSetId: 'shadowed', track: 'fresh', at: day + i,
      input: `["it's \\"quoted\\"", "🥥", "line\\nbreak", ${i}]`, baseline: '{"price":100}', candidate: '{"price":101}',
    });
  }
  return events;
}

/** Events no store may take (each is refused before any database sees it). */
function badEvents(): Array<[string, unknown]> {
  const base = { kind: 'conversion', eventId: 'bad', unit: 'u', metric: 'buy', value: 1, at: day };
  return [
    ['a NUL in a set id', { kind: 'exposure', eventId: 'bad', trackSetId: 'a\u0000b', track: 't', unit: 'u', at: day }],
    ['a NUL in a metric', { ...base, metric: 'buy\u0000' }],
    ['an unpaired surrogate in a track name', { kind: 'exposure', eventId: 'bad', trackSetId: 's', track: 'x\ud800', unit: 'u', at: day }],
    ['a 3,000-character key not in canonical form', { ...base, unit: 'k'.repeat(3000) }],
    ['a unit with a NUL', { ...base, unit: 'u\u0000' }],
    ['at NaN', { ...base, at: Number.NaN }],
    ['a fractional at', { ...base, at: day + 0.5 }],
    ['at 1e20', { ...base, at: 1e20 }],
    ['at Infinity', { ...base, at: Number.POSITIVE_INFINITY }],
    ['at a Date', { ...base, at: new Date(day) }],
    ['at a string', { ...base, at: String(day) }],
    ['a value of Infinity', { ...base, value: Number.POSITIVE_INFINITY }],
    ['a value of NaN', { ...base, value: Number.NaN }],
    ['an empty metric', { ...base, metric: '' }],
    ['an unknown kind', { ...base, kind: 'mystery' }],
    ['a histogram of 67 buckets', { kind: 'health', eventId: 'bad', trackSetId: 's', track: 't', minute: 1, runs: 1, errors: 0, totalMs: 1, histogram: new Array(67).fill(0) }],
    ['a weight of -1', { kind: 'definition', eventId: 'bad', trackSetId: 's', weights: { a: -1 }, coverage: 1, at: day }],
    ['a shadow count of -1', { kind: 'shadow', eventId: 'bad', trackSetId: 's', track: 't', minute: 1, matches: -1, mismatches: 0, ignored: 0, errors: 0, timeouts: 0, skippedConcurrency: 0, skippedGuardrail: 0, baselineHistogram: [], candidateHistogram: [], slowerHistogram: [], fasterHistogram: [] }],
    ['a shadow sample holding a NUL', { kind: 'shadow_sample', eventId: 'bad', trackSetId: 's', track: 't', at: day, input: 'a\u0000b', baseline: '1', candidate: '2' }],
    ['a set id of 200 CJK characters (600 bytes of UTF-8)', { kind: 'exposure', eventId: 'bad', trackSetId: cjk(200, 1), track: 't', unit: 'u', at: day }],
    ['a track name of 401 bytes of UTF-8', { kind: 'exposure', eventId: 'bad', trackSetId: 's', track: `${largestName(2)}b`, unit: 'u', at: day }],
    ['a metric of 401 bytes of UTF-8', { ...base, metric: `${largestName(3)}c` }],
    ['dimensions of 1,601 bytes as stored', { kind: 'exposure', eventId: 'bad', trackSetId: 's', track: 't', unit: 'u', at: day, dimensions: largestDimensions(1) }],
    ['the exposure PostgreSQL could not index: a set id and track of 200 CJK characters, 8 dimensions of 64', { kind: 'exposure', eventId: 'bad', trackSetId: cjk(200, 1), track: cjk(200, 2), unit: 'u', at: day, dimensions: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`dimension_number_${i}_`.padEnd(40, 'x'), cjk(64, 20 + i)])) }],
    ['a shadow sample holding a lone surrogate', { kind: 'shadow_sample', eventId: 'bad', trackSetId: 's', track: 't', at: day, input: '\ud800', baseline: '1', candidate: '2' }],
  ];
}

test('the migrations create exactly the tables and columns the event descriptions name', () => {
  const db = new BetterSqlite3(':memory:');
  for (const migration of SQLITE_MIGRATIONS) db.exec(migration);
  for (const kind of EVENT_KINDS) {
    const table = EVENT_TABLES[kind];
    const columns = (db.prepare(`PRAGMA table_info(${table.table})`).all() as Array<{ name: string; pk: number }>);
    const expected = [...table.columns.map((c) => c.name), ...(SQLITE_BOOKKEEPING_COLUMNS[table.table] ?? [])];
    assert.deepEqual(columns.map((c) => c.name).sort(), expected.sort(), `SQLite ${table.table}`);
    assert.deepEqual(columns.filter((c) => c.pk > 0).map((c) => c.name).sort(), [...table.key].sort(), `SQLite ${table.table} key`);
  }
  db.close();
  const postgres = POSTGRES_MIGRATIONS.join('\n');
  for (const kind of EVENT_KINDS) {
    const table = EVENT_TABLES[kind];
    const created = new RegExp(`CREATE TABLE IF NOT EXISTS \\{s\\}\\.${table.table} \\(([^;]*?)\\n  \\);`).exec(postgres);
    assert.ok(created, `PostgreSQL creates ${table.table}`);
    // A column comes with the table, or is added by a later migration.
    const added = [...postgres.matchAll(new RegExp(`ALTER TABLE \\{s\\}\\.${table.table} ADD COLUMN IF NOT EXISTS (\\w+)`, 'g'))].map((m) => m[1]!);
    for (const column of table.columns) {
      assert.ok(new RegExp(`\\b${column.name}\\b`).test(created[1]!) || added.includes(column.name), `PostgreSQL ${table.table}.${column.name}`);
    }
  }
});

/**
 * A summary with every metric's sums taken out (metrics, ratio products, and what each phase's
 * caps came to), counting the sums taken (not the caps: with no metric summed, a cap is null).
 */
function withoutMetrics(value: unknown, taken: { count: number }): unknown {
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, withoutMetrics(v, taken)]));
  if (Array.isArray(value)) return value.map((v) => withoutMetrics(v, taken));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => {
      if (key !== 'metrics' && key !== 'products' && key !== 'caps') return [key, withoutMetrics(v, taken)];
      if (key !== 'caps') taken.count += v instanceof Map ? v.size : 0;
      return [key, undefined];
    }),
  );
}
