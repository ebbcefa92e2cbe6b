// Bad input to any function of the public API is a TracksError (a store's failure a StoreError)
// naming what is wrong, never a TypeError from inside tracks: every exported function, each
// argument in turn given a value of the wrong kind, the others a plain string. (Recording calls,
// which report to onError instead of throwing, are tested with the recorder.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as api from '../src/index.js';

/** Functions whose misuse is reported, not thrown, or that act on the process (configure, close). */
const NOT_HERE = new Set(['configure', 'close', 'flush', 'stats', 'ready']);
const WRONG: readonly unknown[] = [undefined, null, 42, Number.NaN, 'x', {}, [], () => 1, Symbol('wrong'), 10n];

/** An argument as the failure lists it (JSON cannot show a function, a symbol or a bigint). */
function argumentText(value: unknown): string {
  if (typeof value === 'function') return 'fn';
  if (typeof value === 'symbol' || typeof value === 'bigint') return `${String(value)}${typeof value === 'bigint' ? 'n' : ''}`;
  return JSON.stringify(value) ?? 'undefined';
}

test('every exported function answers arguments of the wrong kind with a TracksError or StoreError, never a TypeError', async () => {
  const functions = Object.entries(api).filter(
    (entry): entry is [string, (...args: unknown[]) => unknown] => typeof entry[1] === 'function' && /^[a-z]/.test(entry[0]) && !NOT_HERE.has(entry[0]),
  );
  assert.ok(functions.length >= 60, `found ${functions.length} functions`);
  const escaped: string[] = [];
  for (const [name, fn] of functions) {
    const arity = Math.max(1, fn.length);
    for (let position = 0; position <= arity; position++) {
      for (const wrong of WRONG) {
        // The control calls get a real store first, so that their later arguments are reached.
        const args = Array.from({ length: Math.max(arity, position + 1) }, (_, i) => (i === position ? wrong : i === 0 && name.endsWith('TrackSet') ? api.memoryStore() : 'x'));
        try {
          const result = fn(...args);
          if (typeof (result as Promise<unknown> | undefined)?.then === 'function') await result;
        } catch (error) {
          if (error instanceof api.TracksError || error instanceof api.StoreError) continue;
          escaped.push(`${name}(${args.map(argumentText).join(', ')}): ${(error as Error).constructor.name}: ${(error as Error).message}`);
        }
      }
    }
  }
  assert.deepEqual(escaped, []);
});

test('the exported classes and a track set answer arguments of the wrong kind with a TracksError', () => {
  class Delay extends api.TrackSet {
    static override id = 'api-arguments-delay';
    static short_track() {
      return 1;
    }
    static long_track() {
      return 2;
    }
  }
  const wrongOptions: readonly unknown[] = [...WRONG, { key: {} }, { key: [] }, { force: 42 }, { force: 'nope' }, { bogus: 1 }];
  const calls: [string, (wrong: unknown) => unknown][] = [
    ['new SqliteStore', (w) => new api.SqliteStore(w as never)],
    ['new PostgresStore', (w) => new api.PostgresStore(w as never)],
    ['new Recorder', (w) => new api.Recorder(w as never)],
    ['new UnitOfKey', (w) => (w === undefined ? undefined : new api.UnitOfKey(w as never))],
    ['UnitOfKey.of', (w) => (typeof w === 'string' ? undefined : new api.UnitOfKey().of(w as never))],
    ['new Delay', (w) => new Delay(w as never).name],
    ['Delay.choose', (w) => Delay.choose(w as never).name],
    ['run', (w) => new Delay({ key: 'k' }).run(w as never)],
    ['forceTracks', (w) => api.forceTracks(w as never, () => 1)],
    ['withTracksScope', (w) => api.withTracksScope(w as never, () => 1)],
    ['defineMetrics', (w) => api.defineMetrics(w as never)],
    ['bucketOf', (w) => api.bucketOf(w as never, 'k')],
  ];
  const escaped: string[] = [];
  for (const [name, call] of calls) {
    for (const wrong of wrongOptions) {
      try {
        call(wrong);
      } catch (error) {
        if (error instanceof api.TracksError || error instanceof api.StoreError) continue;
        escaped.push(`${name}(${typeof wrong === 'function' ? 'fn' : JSON.stringify(wrong)}): ${(error as Error).constructor.name}: ${(error as Error).message}`);
      }
    }
  }
  assert.deepEqual(escaped, []);
});

test('a lift that could not be computed, passed on to posteriorOf or alwaysValid, is a TracksError that says to check ok', () => {
  const notComputed = api.lift({ n: 1, sum: 1, sumSquares: 1 }, { n: 10, sum: 5, sumSquares: 5 });
  assert.equal(notComputed.ok, false);
  for (const [name, call] of [
    ['posteriorOf', () => api.posteriorOf(notComputed as never)],
    ['alwaysValid', () => api.alwaysValid(notComputed as never)],
  ] as const) {
    assert.throws(call, (e: unknown) => e instanceof api.TracksError && e.message === `${name}: the lift could not be computed (control has fewer than 2 users, so its variance is unknown); check result.ok before calling ${name}(result)`);
  }
});
