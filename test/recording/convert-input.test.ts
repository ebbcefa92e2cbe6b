// convert(): every kind of bad input is refused at the edge
// (never thrown, reported to onError as a TracksError naming the field, counted in
// stats().rejected, never buffered), good edge inputs are normalised, and a conversion
// recorded before its key's exposure is stored but not credited to the track.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { TrackSet, TracksError, close, configure, convert, flush, memoryStore, rampTrackSet, sqliteStore, stats, stopTrackSet } from '../../src/index.js';
import type { ConversionEvent } from '../../src/index.js';

class G2ConvertTracks extends TrackSet {
  static override id = 'g2-convert';
  static b_track() {}
}

const now = Date.now();
const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;
class NoJson {
  x = 1;
}
const revoked = Proxy.revocable({}, {});
revoked.revoke();

// [what, input, a word the TracksError must name]
const bad: Array<[string, unknown, RegExp]> = [
  ['undefined', undefined, /convert/],
  ['null', null, /convert/],
  ['a string', 'purchase', /convert/],
  ['a number', 42, /convert/],
  ['no metric', { key: 'u' }, /metric/],
  ['empty metric', { key: 'u', metric: '' }, /metric/],
  ['metric with NUL', { key: 'u', metric: 'pur\0chase' }, /metric/],
  ['metric with newline', { key: 'u', metric: 'a\nb' }, /metric/],
  ['metric with ESC', { key: 'u', metric: '\x1b[31mred' }, /metric/],
  ['metric with C1 control', { key: 'u', metric: 'a\u0085b' }, /metric/],
  ['metric with lone surrogate', { key: 'u', metric: 'a\ud800b' }, /metric/],
  ['metric of 201 characters', { key: 'u', metric: 'm'.repeat(201) }, /metric/],
  ['metric of 134 CJK characters', { key: 'u', metric: '購'.repeat(134) }, /metric/],
  ['metric a number', { key: 'u', metric: 7 }, /metric/],
  ['metric an object', { key: 'u', metric: { name: 'x' } }, /metric/],
  ['value NaN', { key: 'u', metric: 'm', value: NaN }, /value/],
  ['value Infinity', { key: 'u', metric: 'm', value: Infinity }, /value/],
  ['value -Infinity', { key: 'u', metric: 'm', value: -Infinity }, /value/],
  ['value a string', { key: 'u', metric: 'm', value: '12' }, /value/],
  ['value 1e16', { key: 'u', metric: 'm', value: 1e16 }, /value/],
  ['value -1e16', { key: 'u', metric: 'm', value: -1e16 }, /value/],
  ['value a bigint', { key: 'u', metric: 'm', value: 5n }, /value is 5n;/],
  ['value true', { key: 'u', metric: 'm', value: true }, /value/],
  ['value an object', { key: 'u', metric: 'm', value: {} }, /value/],
  // a missing order total is not a conversion worth 1 (only a value left out means 1)
  ['value null', { key: 'u', metric: 'm', value: null }, /value is null/],
  ['at NaN', { key: 'u', metric: 'm', at: NaN }, /\bat\b/],
  ['at Infinity', { key: 'u', metric: 'm', at: Infinity }, /\bat\b/],
  ['at 1e20', { key: 'u', metric: 'm', at: 1e20 }, /at is 100000000000000000000, more than a day ahead/],
  ['at a bigint', { key: 'u', metric: 'm', at: BigInt(now) }, new RegExp(`at is ${now}n; give epoch milliseconds`)],
  ['at a string', { key: 'u', metric: 'm', at: '2024-01-01' }, /\bat\b/],
  ['at an invalid Date', { key: 'u', metric: 'm', at: new Date('nope') }, /\bat\b/],
  ['at in seconds', { key: 'u', metric: 'm', at: Math.floor(now / 1000) }, /seconds/],
  ['at negative', { key: 'u', metric: 'm', at: -1 }, /\bat\b/],
  ['at two days ahead', { key: 'u', metric: 'm', at: now + 2 * 86_400_000 }, /\bat\b/],
  ['at an object', { key: 'u', metric: 'm', at: {} }, /\bat\b/],
  ['key a symbol', { key: Symbol('u'), metric: 'm' }, /key/],
  ['key a function', { key: () => 1, metric: 'm' }, /key/],
  ['key NaN', { key: NaN, metric: 'm' }, /key/],
  ['key cyclic', { key: cyclic, metric: 'm' }, /key/],
  ['key a class instance', { key: new NoJson(), metric: 'm' }, /key/],
  ['key an invalid Date', { key: new Date('nope'), metric: 'm' }, /key/],
  ['key and runId both', { key: 'u', runId: 'r', metric: 'm' }, /runId/],
  ['neither key nor runId', { metric: 'm' }, /key|runId/],
  ['runId empty', { runId: '', metric: 'm' }, /runId/],
  ['runId a number', { runId: 42, metric: 'm' }, /runId/],
  ['runId with NUL', { runId: 'r\0', metric: 'm' }, /runId/],
  // a misspelt field would record the conversion wrong (worth 1, or for no one)
  ['value misspelt', { key: 'u', metric: 'm', vaule: 3 }, /unknown field 'vaule'/],
  ['runId misspelt', { runID: 'r', metric: 'm' }, /unknown field 'runID'/],
];

test('every kind of bad convert() is refused at the edge: never thrown, one TracksError each naming the field, counted, nothing buffered', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (e) => errors.push(e), handleSignals: false });
  for (const [what, input] of bad) {
    assert.doesNotThrow(() => convert(input as never), what);
  }
  assert.equal(stats().rejected, bad.length);
  assert.equal(stats().buffered, 0);
  assert.equal(errors.length, bad.length, errors.map((e) => e.message).join('\n'));
  for (const [i, [what, , word]] of bad.entries()) {
    const error = errors[i]!;
    assert.ok(error instanceof TracksError, `${what}: ${error}`);
    assert.match(error.message, word, `${what}: ${error.message}`);
    // The message says what to do, not only what is wrong.
    assert.ok(/give|use|pass|name|leave|multiply|either/i.test(error.message), `${what} has no fix: ${error.message}`);
    // No raw control character reaches a log line.
    assert.ok(!/[\0\x1b]/.test(error.message), `${what}: raw control character in ${JSON.stringify(error.message)}`);
  }
  await close();
  assert.equal(store.events.filter((e) => e.kind === 'conversion').length, 0);
  assert.equal(stats().dropped, 0);
});

test('convert() with throwing getters or a revoked Proxy never throws into the caller', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (e) => errors.push(e), handleSignals: false });
  const throwing = {
    get key(): string {
      throw new Error('getter boom');
    },
    metric: 'm',
  };
  const badToJson = { key: { toJSON() { throw new Error('toJSON boom'); } }, metric: 'm' };
  assert.doesNotThrow(() => convert(throwing as never));
  assert.doesNotThrow(() => convert(revoked.proxy as never));
  assert.doesNotThrow(() => convert(badToJson as never));
  assert.equal(stats().rejected, 3);
  assert.equal(errors.length, 3);
  await close();
});

test('good edge inputs are normalised: fractional at rounded, Date taken, 0 and negative values kept, -0 as 0 (as SQL stores hold it), number and string keys one unit', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (e) => errors.push(e), handleSignals: false });
  const t = Date.now() - 1000;
  convert({ key: 'n1', metric: 'a', at: t + 0.5 });
  convert({ key: 'n2', metric: 'a', at: new Date(t) });
  convert({ key: 'n3', metric: 'a', value: 0 });
  convert({ key: 'n4', metric: 'a', value: -12.5 });
  convert({ key: 42, metric: 'a' });
  convert({ key: '42', metric: 'a' });
  convert({ key: 0, metric: 'a' });
  convert({ key: 'n5', metric: 'a', value: 1e15 });
  convert({ key: 'n6', metric: 'constructor' });
  convert({ key: 'n7', metric: '__proto__' });
  convert({ key: 'n8', metric: 'm'.repeat(200) });
  convert({ key: 'n9', metric: 'a', at: Date.UTC(2000, 0, 1) });
  convert({ key: 'n10', metric: 'a', value: -0 });
  await flush();
  assert.deepEqual(errors.map((e) => e.message), []);
  assert.equal(stats().rejected, 0);
  const conversions = store.events.filter((e): e is ConversionEvent => e.kind === 'conversion');
  assert.equal(conversions.length, 13);
  const of = (unit: string) => conversions.filter((c) => c.unit === unit);
  assert.equal(of('n1')[0]!.at, Math.round(t + 0.5));
  assert.ok(Number.isInteger(of('n1')[0]!.at));
  assert.equal(of('n2')[0]!.at, t);
  assert.equal(of('n3')[0]!.value, 0);
  assert.equal(of('n4')[0]!.value, -12.5);
  assert.ok(Object.is(of('n10')[0]!.value, 0), 'not -0');
  assert.equal(of('42').length, 2);
  assert.equal(of('0').length, 1);
  assert.equal(new Set(conversions.map((c) => c.eventId)).size, 13);
  assert.equal(stats().written, store.events.length);
  await close();
});

test('a conversion before the exposure is stored but not credited; one after is', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, handleSignals: false });
  const t = Date.now();
  convert({ key: 'early', metric: 'purchase', value: 5, at: t - 60_000 });
  const run = new G2ConvertTracks({ key: 'early' });
  run.run();
  convert({ key: 'early', metric: 'purchase', value: 7 });
  convert({ key: 'never-exposed', metric: 'purchase', value: 9 });
  await flush();
  const conversions = store.events.filter((e) => e.kind === 'conversion');
  assert.equal(conversions.length, 3);
  const [sums] = await store.summarize({ trackSetId: 'g2-convert' });
  const tracks = sums!.tracks;
  assert.equal(tracks.reduce((n, tr) => n + tr.users, 0), 1);
  const purchase = tracks.find((tr) => tr.track === run.name)!.metrics.get('purchase')!;
  assert.equal(purchase.converted, 1);
  assert.equal(purchase.sum, 7, 'only the conversion at or after the exposure counts');
  await close();
});

test('after close() converts and runs are dropped, counted, reported once; stats() keeps final counts', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (e) => errors.push(e), handleSignals: false });
  for (let i = 0; i < 10; i++) convert({ key: `c-${i}`, metric: 'm' });
  await close();
  const final = stats();
  assert.equal(final.written, store.events.length);
  assert.ok(final.written >= 10);
  for (let i = 0; i < 25; i++) convert({ key: `after-${i}`, metric: 'm' });
  for (let i = 0; i < 25; i++) new G2ConvertTracks({ key: `after-run-${i}` }).run();
  assert.equal(stats().dropped, 50);
  assert.equal(stats().written, final.written);
  assert.equal(errors.length, 1, errors.map((e) => e.message).join('\n'));
  assert.equal(store.events.length, final.written);
  await flush(); // resolves after close, does not throw
  await close();
});

test('rejections past the onError budget are summed up, while stats().rejected stays exact', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (e) => errors.push(e), handleSignals: false });
  for (let i = 0; i < 250; i++) convert({ key: 'u', metric: 'm', value: NaN });
  assert.equal(stats().rejected, 250);
  assert.ok(errors.length <= 101, `${errors.length} onError calls`);
  await close();
  // The rest is summed up at the latest at close.
  assert.ok(errors.length >= 101, `${errors.length} onError calls after close: the 150 held back were not summed up`);
  assert.match(errors.at(-1)!.message, /150/);
});

test('a Date.now that returns fractions (a high-resolution shim, a fake clock) still records every event, at whole milliseconds: none refused or quarantined', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracks-fractional-clock-'));
  const wallClock = Date.now;
  Date.now = () => wallClock() + 0.6567;
  const errors: Error[] = [];
  try {
    const store = sqliteStore(join(dir, 'clock.db'));
    configure({ store, onError: (error) => errors.push(error), metrics: { buy: { kind: 'conversion' } } });
    for (let i = 0; i < 200; i++) {
      new G2ConvertTracks({ key: `fraction-${i}` }).run();
      convert({ key: `fraction-${i}`, metric: 'buy' });
    }
    await flush();
    assert.deepEqual({ quarantined: stats().quarantined, rejected: stats().rejected }, { quarantined: 0, rejected: 0 });
    assert.deepEqual(errors, []);
    const db = new BetterSqlite3(join(dir, 'clock.db'), { readonly: true });
    try {
      for (const table of ['tracks_exposures', 'tracks_conversions']) {
        const row = db.prepare(`SELECT COUNT(*) AS n, SUM(at != CAST(at AS INTEGER)) AS fractional FROM ${table}`).get() as { n: number; fractional: number };
        assert.deepEqual(row, { n: 200, fractional: 0 }, table);
      }
    } finally {
      db.close();
    }
  } finally {
    Date.now = wallClock;
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stopTrackSet and rampTrackSet under a Date.now that returns fractions stamp whole milliseconds: a sticky set\'s ramp is not refused halfway', async () => {
  class StickyFraction extends TrackSet {
    static override id = 'g2-sticky-fraction';
    static override sticky = true;
    static b_track() {}
  }
  const store = memoryStore();
  configure({ store, outbox: false });
  new StickyFraction({ key: 'u' }).run();
  await flush();
  const wallClock = Date.now;
  Date.now = () => wallClock() + 0.25;
  try {
    await rampTrackSet(store, 'g2-sticky-fraction', { coverage: 0.5 });
    await stopTrackSet(store, 'g2-sticky-fraction');
    const control = (await store.readControls()).find((c) => c.trackSetId === 'g2-sticky-fraction')!;
    assert.ok(Number.isInteger(control.at), `at ${control.at}`);
  } finally {
    Date.now = wallClock;
    await close();
  }
});
