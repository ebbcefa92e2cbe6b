/**
 * Issue 2, point 9: types. This file is checked by `npx tsc -p tsconfig.json --noEmit` (which
 * `npm test` runs): the `const n: 'short' | 'long' | 'control'` lines fail to compile if
 * `name` widens to string, and every `// @ts-expect-error` line fails the build if the wrong
 * name it uses stops being rejected. The runtime asserts keep it an honest test file too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiTrackSet, ParamTrackSet, TrackSet, bucketOf, forEachTrack } from '../../src/index.js';
import type { ClassTrackName, Reason } from '../../src/index.js';

class DelayTracks extends TrackSet {
  static override id = 'delay';
  static short_track() {
    return 500;
  }
  static longTrack() {
    return Promise.resolve(2000);
  }
}

interface User {
  isVip: boolean;
}
class GreetingTracks extends TrackSet<{ user: User }> {
  static override id = 'greeting';
  override get isEligible() {
    return !this.context.user.isVip;
  }
  loudTrack() {
    return 'HELLO';
  }
  quiet_track() {
    return 'hello';
  }
}

class PricingTracks extends ParamTrackSet {
  static override id = 'pricing';
  static override params = [-1, 1];
  static override track() {}
}

test('static tracks: choose() and with() type name as the literal union', async () => {
  const key = 'user-1';
  const n: 'short' | 'long' | 'control' = DelayTracks.choose({ key }).name;
  assert.ok(['short', 'long', 'control'].includes(n));
  const run = DelayTracks.choose({ key });
  // @ts-expect-error 'medium' is not a track of DelayTracks
  if (run.name === 'medium') assert.fail();
  // narrowing a chosen run (as users' tests do) compiles
  assert.equal(run.name, bucketOf(DelayTracks, key));
  assert.equal(run.disposed, false);
  const viaWith = DelayTracks.with({ key }, (r) => {
    assert.equal(r.disposed, false);
    const name: 'short' | 'long' | 'control' = r.name;
    return name;
  });
  assert.equal(viaWith, n);
  const names: ('short' | 'long' | 'control')[] = DelayTracks.trackNames();
  assert.deepEqual(names, ['control', 'short', 'long']);
  const bucket: ClassTrackName<typeof DelayTracks> = bucketOf(DelayTracks, key);
  // @ts-expect-error bucketOf is typed too
  if (bucket === 'medium') assert.fail();
  await forEachTrack(DelayTracks, (name) => {
    // @ts-expect-error forEachTrack passes the track name union
    if (name === 'medium') assert.fail();
  });
  // with new, static tracks are invisible to the instance type: name is string
  const plain: string = new DelayTracks({ key }).name;
  assert.equal(plain, n);
});

test('instance tracks: new types name as the union, and context is required and typed', () => {
  const user: User = { isVip: false };
  const run = new GreetingTracks({ key: 'k', context: { user } });
  const n: 'loud' | 'quiet' | 'control' = run.name;
  // @ts-expect-error 'shout' is not a track of GreetingTracks
  if (run.name === 'shout') assert.fail();
  assert.equal(run.name, n);
  const chosen: 'loud' | 'quiet' | 'control' = GreetingTracks.choose({ key: 'k', context: { user } }).name;
  assert.equal(chosen, n);
  // @ts-expect-error context is required when the Context type does not include undefined
  assert.throws(() => new GreetingTracks({ key: 'k' }).name);
  // @ts-expect-error the context must have the declared shape
  void new GreetingTracks({ key: 'k', context: { member: true } });
  const reason: Reason = run.reason;
  assert.equal(reason, 'assigned');
});

test('options are typed: force is a string, run returns unknown', () => {
  // @ts-expect-error force takes a track name
  assert.throws(() => new DelayTracks({ key: 'k', force: 3 }));
  const result: unknown = DelayTracks.choose({ key: 'k' }).run();
  void result;
  const p = new PricingTracks({ key: 'k' });
  const pn: string = p.name; // ParamTrackSet names are computed: string
  assert.equal(typeof pn, 'string');
});

test('MultiTrackSet types trackSet as the union of member runs, or null', () => {
  const multi = new MultiTrackSet([DelayTracks, PricingTracks], { key: 'k' });
  const set: DelayTracks | PricingTracks | null = multi.trackSet;
  assert.ok(set !== null);
  const name: string = multi.name;
  assert.equal(name, set.name);
  MultiTrackSet.with([DelayTracks, PricingTracks], { key: 'k' }, (m) => {
    const s: DelayTracks | PricingTracks | null = m.trackSet;
    assert.ok(s);
  });
});

test('run() takes the track methods’ parameters and returns their return type (and undefined for the added control)', async () => {
  const greeting = new GreetingTracks({ key: 'user-1', context: { user: { isVip: false } } });
  const said: string | undefined = greeting.run();
  assert.ok(said === undefined || said === 'HELLO' || said === 'hello');
  // @ts-expect-error GreetingTracks' tracks take no arguments
  assert.throws(() => greeting.run(42, 'nonsense').toFixed(), TypeError);
  class AddTracks extends TrackSet {
    static override id = 'add';
    plus_track(a: number, b: number): number {
      return a + b;
    }
    timesTrack(a: number, b: number): number {
      return a * b;
    }
  }
  const sum: number | undefined = new AddTracks({ key: 'k' }).run(2, 3);
  assert.ok(sum === undefined || sum === 5 || sum === 6);
  // @ts-expect-error the tracks take numbers
  void new AddTracks({ key: 'k' }).run('2', '3');
  // Static tracks: choose() sees the class, so its run() is typed too.
  const delay: number | Promise<number> | undefined = DelayTracks.choose({ key: 'user-1' }).run();
  assert.ok(delay === undefined || delay === 500 || delay instanceof Promise);
});

test('choose({ force }) and with({ force }) take only the set’s track names; a wrong one still throws at run time', () => {
  assert.equal(DelayTracks.choose({ key: 'qa', force: 'long' }).name, 'long');
  assert.equal(DelayTracks.with({ key: 'qa', force: 'short' }, (run) => run.name), 'short');
  // @ts-expect-error 'lnog' is not a track of DelayTracks
  assert.throws(() => DelayTracks.choose({ key: 'qa', force: 'lnog' }), /force: DelayTracks has no track 'lnog'; its tracks are/);
  // @ts-expect-error 'medium' is not a track of DelayTracks
  assert.throws(() => DelayTracks.with({ force: 'medium' }, (run) => run.name), /has no track 'medium'/);
});

test('a class that adds no control, as a literal (false as const): names and results without control and undefined', () => {
  class PriceQuery extends TrackSet {
    static override id = 'types-no-control';
    static override addControlTrack = false as const;
    static override control = 'old';
    static old_track(sku: string): { sku: string; price: number } {
      return { sku, price: 1 };
    }
    static new_track(sku: string): { sku: string; price: number } {
      return { sku, price: 2 };
    }
  }
  const run = PriceQuery.choose({ key: 'u1' });
  const name: 'old' | 'new' = run.name;
  const result: { sku: string; price: number } = run.run('coconut');
  // @ts-expect-error no control track: 'control' is not a name this run can take
  const control: typeof name = 'control';
  assert.ok(['old', 'new'].includes(name));
  assert.equal(result.sku, 'coconut');
  assert.equal(typeof control, 'string');
});

test('run() of a set with static tracks, made by choose() or with(), takes only their parameters', () => {
  // @ts-expect-error DelayTracks' tracks take no arguments (this compiled through the untyped fallback)
  void DelayTracks.choose({ key: 'user-1' }).run(42, 'nonsense');
  // @ts-expect-error the same through with()
  DelayTracks.with({ key: 'user-1' }, (run) => run.run('nonsense'));
  class PriceTracks extends TrackSet {
    static override id = 'types-static-args';
    static cheap_track(price: number): number {
      return price * 0.9;
    }
    static dear_track(price: number): number {
      return price * 1.1;
    }
  }
  const price: number | undefined = PriceTracks.choose({ key: 'k' }).run(10);
  assert.ok(price === undefined || price === 9 || Math.abs(price - 11) < 1e-9);
  // @ts-expect-error the tracks take a number
  void PriceTracks.choose({ key: 'k' }).run('12');
  // Through new, the compiler cannot see static tracks: run() stays untyped, as the README says.
  const untyped: unknown = new PriceTracks({ key: 'k' }).run(10);
  void untyped;
});

class DiscountTracks extends ParamTrackSet {
  static override id = 'types-discount';
  static override params = [{ percent: 5 }, { percent: 10 }];
  static override addControlTrack = false as const;
  static override trackName({ percent }: { percent: number }) {
    return `discount_${percent}` as const;
  }
  static override track({ percent }: { percent: number }, base: number) {
    return base * (1 - percent / 100);
  }
}

class SurchargeTracks extends ParamTrackSet {
  static override id = 'types-surcharge';
  static override params = [1, 2];
  static override track(cents: number, base: number, label: string) {
    return `${label}: ${base + cents / 100}`;
  }
}

test('a ParamTrackSet run from choose() or with() takes static track’s arguments after the params, and names come from a literal trackName', () => {
  const discounted: number = DiscountTracks.choose({ key: 'k' }).run(100);
  assert.ok(discounted === 95 || discounted === 90, String(discounted));
  // @ts-expect-error run() takes the base price, a number
  const coerced = DiscountTracks.choose({ key: 'k' }).run('100'); // JavaScript coerces it; the compiler refuses it
  assert.equal(typeof coerced, 'number');
  const name: `discount_${number}` = DiscountTracks.choose({ key: 'k' }).name;
  assert.match(name, /^discount_(5|10)$/);
  // @ts-expect-error force takes the set's track names, here `discount_${number}`
  assert.throws(() => DiscountTracks.choose({ key: 'k', force: 'bogus' }));
  // With the added control, run() may return undefined; the name is a string (trackName returns string).
  const labelled: string | undefined = SurchargeTracks.with({ key: 'k' }, (run) => run.run(10, 'price'));
  assert.ok(labelled === undefined || /^price: 10\.0[12]$/.test(labelled), String(labelled));
  const surchargeName: string = SurchargeTracks.choose({ key: 'k' }).name;
  assert.equal(typeof surchargeName, 'string');
});
