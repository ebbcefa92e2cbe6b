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

test('a class that adds no control, as a literal (false as const), and names its baseline: names and results without control and undefined', () => {
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

test('a class that adds no control but names no baseline: uncovered keys get the no-op control, so name keeps control and run() keeps undefined', async () => {
  class Half extends TrackSet {
    static override id = 'types-no-control-no-baseline';
    static override addControlTrack = false as const;
    static override coverage = 0.5;
    static a_track(): string {
      return 'A';
    }
    static b_track(): string {
      return 'B';
    }
  }
  const names = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const run = Half.choose({ key: `user-${i}` });
    const name: 'a' | 'b' | 'control' = run.name;
    // @ts-expect-error an uncovered key gets 'control' at run time (no static control to serve it)
    const covered: 'a' | 'b' = run.name;
    // @ts-expect-error and run() returns the no-op control's undefined
    const result: string = run.run();
    const maybe: string | undefined = run.run();
    assert.equal(maybe, name === 'control' ? undefined : name.toUpperCase());
    assert.equal(result, maybe);
    void covered;
    names.add(name);
  }
  assert.deepEqual([...names].sort(), ['a', 'b', 'control'], 'the types follow what the runtime serves');
  // trackNames() lists the tracks (no added control); forEachTrack also runs the body under the
  // no-op control such keys get, and its name is typed so an exhaustive switch must handle it.
  assert.deepEqual(Half.trackNames(), ['a', 'b']);
  const seen: string[] = [];
  await forEachTrack(Half, (name) => {
    switch (name) {
      case 'a':
      case 'b':
      case 'control':
        seen.push(name);
        return;
      default: {
        const never: never = name;
        return never;
      }
    }
  });
  assert.deepEqual(seen, ['control', 'a', 'b']);
  await forEachTrack(Half, (name) => {
    // @ts-expect-error 'control' is one of the names the body is called with
    const onlyTracks: 'a' | 'b' = name;
    void onlyTracks;
  });
  // The same through with(), and for a ParamTrackSet with a literal trackName.
  Half.with({ key: 'k' }, (run) => {
    // @ts-expect-error run() may return undefined
    const result: string = run.run();
    void result;
  });
  class Ineligible extends ParamTrackSet {
    static override id = 'types-param-no-baseline';
    static override params = [{ percent: 5 }, { percent: 10 }];
    static override addControlTrack = false as const;
    override get isEligible() {
      return false;
    }
    static override trackName({ percent }: { percent: number }) {
      return `discount_${percent}` as const;
    }
    static override track({ percent }: { percent: number }, base: number) {
      return base * (1 - percent / 100);
    }
  }
  const run = Ineligible.choose({ key: 'k' });
  const name: `discount_${number}` | 'control' = run.name;
  // @ts-expect-error an ineligible key gets 'control'
  const trackName: `discount_${number}` = run.name;
  // @ts-expect-error and run() returns undefined for it
  const discounted: number = run.run(100);
  assert.equal(name, 'control');
  assert.equal(trackName, 'control');
  assert.equal(discounted, undefined);
});

test('a class that adds no control serves its own baseline: static control (typed string, or a literal) or a control track', () => {
  class Based extends TrackSet {
    static override id = 'types-no-control-baseline';
    static override addControlTrack = false as const;
    static override coverage = 0.5;
    static override control = 'a'; // typed string: enough, a name that is no track throws at run time
    static a_track(): string {
      return 'A';
    }
    static b_track(): string {
      return 'B';
    }
  }
  for (let i = 0; i < 32; i++) {
    const run = Based.choose({ key: `user-${i}` });
    const name: 'a' | 'b' = run.name;
    const result: string = run.run();
    assert.equal(result, name.toUpperCase(), 'uncovered keys get the baseline a');
  }
  class Literal extends TrackSet {
    static override id = 'types-no-control-literal-baseline';
    static override addControlTrack = false as const;
    static override readonly control = 'a';
    static a_track(): string {
      return 'A';
    }
  }
  const literal: string = Literal.with({ key: 'k' }, (run) => run.run());
  assert.equal(literal, 'A');
  class OwnControl extends TrackSet {
    static override id = 'types-own-control';
    static override addControlTrack = false as const;
    static override coverage = 0;
    static control_track(): string {
      return 'mine';
    }
    static b_track(): string {
      return 'B';
    }
  }
  const own = OwnControl.choose({ key: 'k' });
  const ownName: 'control' | 'b' = own.name;
  const ownResult: string = own.run();
  assert.deepEqual([ownName, ownResult], ['control', 'mine'], 'the uncovered key gets the class’s own control track');
  // A baseline typed as possibly undefined, or a plain `= false`, shows the compiler nothing.
  class MaybeBased extends TrackSet {
    static override id = 'types-maybe-baseline';
    static override addControlTrack = false as const;
    static override control: string | undefined = 'a';
    static a_track(): string {
      return 'A';
    }
  }
  // @ts-expect-error control might be undefined, so the no-op control stays possible
  const maybe: string = MaybeBased.choose({ key: 'k' }).run();
  class Widened extends TrackSet {
    static override id = 'types-widened-no-control';
    static override addControlTrack = false;
    static override control = 'a';
    static a_track(): string {
      return 'A';
    }
  }
  // @ts-expect-error addControlTrack is boolean here, so control stays possible
  const widened: string = Widened.choose({ key: 'k' }).run();
  assert.deepEqual([maybe, widened], ['A', 'A']);
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
  static override control = 'discount_5'; // the baseline keys outside the test get: without one they get a no-op control
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

// A subclass may narrow `context` (and `key`) with a declaration only: the base declares them
// as readonly properties, not accessors (TS2610 otherwise), and they read the run's values.
interface NarrowContext {
  readonly user: User;
  readonly plan?: 'free' | 'pro';
}
class NarrowedTracks extends TrackSet<{ user: User }> {
  static override id = 'narrowed';
  declare readonly context: NarrowContext;
  declare readonly key: string;
  planTrack() {
    return `${this.key}:${this.context.plan ?? 'free'}`;
  }
}

test('a subclass narrowing context and key with a declaration compiles and reads the run values', () => {
  const context: NarrowContext = { user: { isVip: false }, plan: 'pro' };
  const run = new NarrowedTracks({ key: 'u1', context });
  const plan: 'free' | 'pro' | undefined = run.context.plan;
  assert.equal(plan, 'pro');
  const key: string = run.key;
  assert.equal(key, new DelayTracks({ key: 'u1' }).key);
  assert.equal(run.planTrack(), `${key}:pro`);
  assert.equal(run.context, context);
});

test('run() takes only arguments every track can take, since any may be chosen: tracks whose parameters differ reject a call that fits one of them', () => {
  class Mixed extends TrackSet {
    static override id = 'types-mixed-args';
    static override addControlTrack = false as const;
    static override control = 'short';
    static short_track(ms: number): string {
      return ms.toFixed(0);
    }
    static long_track(label: string): string {
      return label.toUpperCase();
    }
  }
  // @ts-expect-error fits short_track only: a user drawn to long would get label.toUpperCase of a number
  assert.throws(() => { for (let i = 0; i < 50; i++) Mixed.choose({ key: `m${i}` }).run(5); }, TypeError);
  // @ts-expect-error fits long_track only
  assert.throws(() => { for (let i = 0; i < 50; i++) Mixed.choose({ key: `m${i}` }).run('x'); }, TypeError);

  class Arity extends TrackSet {
    static override id = 'types-arity-args';
    static override addControlTrack = false as const;
    static override control = 'short';
    static short_track(ms: number): number {
      return ms;
    }
    static long_track(ms: number, label: string): string {
      return `${ms}${label.toUpperCase()}`;
    }
  }
  // Every track can take (5, 'x'): short_track ignores the second, as JavaScript does.
  const both: number | string = Arity.choose({ key: 'a' }).run(5, 'x');
  assert.ok(both === 5 || both === '5X');
  // @ts-expect-error long_track needs its label
  void (() => Arity.choose({ key: 'a' }).run(5));
  // @ts-expect-error no track takes a third argument
  void (() => Arity.choose({ key: 'a' }).run(5, 'x', 3));

  class Instance extends TrackSet {
    static override id = 'types-instance-mixed-args';
    short_track(ms: number): number {
      return ms;
    }
    long_track(label: string): string {
      return label.toUpperCase();
    }
  }
  // @ts-expect-error the same through new, with instance tracks
  void (() => new Instance({ key: 'i' }).run(5));

  class Same extends TrackSet {
    static override id = 'types-same-args';
    static short_track(ms: number): number {
      return ms;
    }
    static long_track(delay: number): number {
      return delay * 2;
    }
  }
  // Parameters alike (names aside) are taken as they are, extra arguments refused.
  const same: number | undefined = Same.choose({ key: 's' }).run(4);
  assert.ok(same === 4 || same === 8 || same === undefined);
  // @ts-expect-error the tracks take one argument
  void (() => Same.choose({ key: 's' }).run(4, 'nonsense'));

  // A MultiTrackSet's run() must fit every track of every set.
  const multi = new MultiTrackSet([Same, Mixed], { key: 'multi' });
  // @ts-expect-error Mixed's long_track takes a string, Same's tracks a number
  void (() => multi.run(5));
  const sameOnly = new MultiTrackSet([Same], { key: 'multi' });
  const ran: number | undefined = sameOnly.run(4);
  assert.ok(ran === 4 || ran === 8 || ran === undefined);
});

test('run() of tracks whose one parameter list is a union (a shared alias) takes any of its forms, as before', () => {
  type Lookup = [id: number] | [name: string, region: number];
  class Unioned extends TrackSet {
    static override id = 'types-union-params';
    static old_track(...args: Lookup): string {
      return String(args[0]);
    }
    static new_track(...args: Lookup): string {
      return String(args[0]).toUpperCase();
    }
  }
  const byId: string | undefined = Unioned.choose({ key: 'u' }).run(42);
  const byName: string | undefined = Unioned.choose({ key: 'u' }).run('coconut', 1);
  assert.ok([undefined, '42'].includes(byId), String(byId));
  assert.ok([undefined, 'coconut', 'COCONUT'].includes(byName), String(byName));
  // @ts-expect-error a name needs its region
  void (() => Unioned.choose({ key: 'u' }).run('coconut'));
});
