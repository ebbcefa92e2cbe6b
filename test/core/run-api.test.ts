/**
 * Issue 2, points 2, 3 and 7: the chosen run (name, id, key, context, runId, isEligible, inTest,
 * reason, track, run, disposal, the callback form), instance tracks, MultiTrackSet runs, and
 * forcing (per call, scoped across awaits, forEachTrack).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { MultiTrackSet, ParamTrackSet, TrackSet, TracksError, bucketOf, forEachTrack, forceTracks } from '../../src/index.js';
import { keys } from './helpers.js';

class DelayTracks extends TrackSet {
  static override id = 'delay';
  static short_track() {
    return 'short';
  }
  static long_track() {
    return Promise.resolve('long');
  }
}
class FailingTracks extends TrackSet {
  static override id = 'failing';
  static override addControlTrack = false;
  static override weights = { sync: 1, async: 1 };
  static sync_track() {
    throw failure;
  }
  static async_track() {
    return Promise.reject(failure);
  }
}
const failure = new Error('track failed');

describe('the chosen run', () => {
  test('name, id, key, context, track, and the same result for the same key', () => {
    const run = new DelayTracks({ key: 'user-1' });
    assert.equal(run.id, 'delay');
    assert.equal(run.key, 'user-1');
    assert.equal(run.context, undefined);
    assert.ok(['control', 'short', 'long'].includes(run.name));
    assert.equal(run.name, bucketOf(DelayTracks, 'user-1'));
    assert.deepEqual(run.track, { name: run.name, weight: 1 });
    assert.equal(run.isEligible, true);
    assert.equal(run.inTest, true);
    assert.equal(run.reason, 'assigned');
    assert.equal(DelayTracks.choose({ key: 'user-1' }).name, run.name);
  });

  test('run() returns sync and async results; control returns undefined', async () => {
    const byName = new Map<string, unknown>();
    for (const key of keys(200)) {
      const run = new DelayTracks({ key });
      byName.set(run.name, run.run());
    }
    assert.equal(byName.get('control'), undefined);
    assert.equal(byName.get('short'), 'short');
    const long = byName.get('long');
    assert.ok(long instanceof Promise);
    assert.equal(await long, 'long');
  });

  test('run(...args) passes the arguments and this is the class for static tracks', () => {
    class ArgsTracks extends TrackSet {
      static override id = 'args';
      static override addControlTrack = false;
      static echo_track(this: unknown, ...args: unknown[]) {
        return { self: this, args };
      }
    }
    const result = new ArgsTracks({ key: 1 }).run(1, 'two', { three: 3 }) as { self: unknown; args: unknown[] };
    assert.equal(result.self, ArgsTracks);
    assert.deepEqual(result.args, [1, 'two', { three: 3 }]);
  });

  test('a throwing track throws the same error object; a rejecting one rejects with it', async () => {
    let sawSync = false;
    let sawAsync = false;
    for (const key of keys(50)) {
      const run = new FailingTracks({ key });
      if (run.name === 'sync') {
        sawSync = true;
        assert.throws(() => run.run(), (e: unknown) => e === failure);
      } else {
        sawAsync = true;
        const result = run.run();
        assert.ok(result instanceof Promise);
        await assert.rejects(result, (e: unknown) => e === failure);
      }
    }
    assert.ok(sawSync && sawAsync);
  });

  test('the choice is lazy: isEligible is not read before name/reason/inTest/run', () => {
    let reads = 0;
    class LazyTracks extends TrackSet {
      static override id = 'lazy';
      override get isEligible() {
        reads++;
        return true;
      }
      static long_track() {}
    }
    const run = new LazyTracks({ key: 'k' });
    void run.key;
    void run.id;
    void run.runId;
    assert.equal(reads, 0);
    void run.name;
    assert.equal(reads, 1);
    void run.reason;
    void run.inTest;
    run.run();
    assert.equal(reads, 1, 'chosen once');
  });

  test('runId is a UUID, stable within a run and unique across runs', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const run = new DelayTracks({ key: 'same-user' });
      assert.match(run.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(run.runId, run.runId);
      ids.add(run.runId);
    }
    assert.equal(ids.size, 1_000);
  });

  test('no key: a fresh random draw per run, and every track appears across 200 runs', () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const run = new DelayTracks();
      assert.equal(run.key, null);
      assert.equal(run.reason, 'assigned');
      seen.set(run.name, (seen.get(run.name) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['control', 'long', 'short']);
    const two = new Set<string>();
    class TwoTracks extends TrackSet {
      static override id = 'two-random';
      static override addControlTrack = false;
      static a_track() {}
      static b_track() {}
    }
    for (let i = 0; i < 200; i++) two.add(new TwoTracks({ key: null }).name);
    assert.deepEqual([...two].sort(), ['a', 'b']);
  });

  test('using disposes at the end of the block', () => {
    let kept: DelayTracks | undefined;
    {
      using run = new DelayTracks({ key: 'u' });
      kept = run;
      assert.equal(run.disposed, false);
    }
    assert.equal(kept.disposed, true);
  });

  test('callback form: returns fn\'s result, disposes after a sync return, a throw, or once a promise settles', async () => {
    let captured: DelayTracks | undefined;
    const name = DelayTracks.with({ key: 'u' }, (run) => {
      captured = run;
      assert.equal(run.disposed, false);
      return run.name;
    });
    assert.equal(name, bucketOf(DelayTracks, 'u'));
    assert.equal(captured?.disposed, true);

    assert.throws(() => DelayTracks.with({ key: 'u' }, (run) => {
      captured = run;
      throw failure;
    }), (e: unknown) => e === failure);
    assert.equal(captured?.disposed, true);

    let release!: (value: string) => void;
    const pending = DelayTracks.with({ key: 'u' }, (run) => {
      captured = run;
      return new Promise<string>((resolve) => (release = resolve));
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(captured?.disposed, false, 'not disposed while the promise is pending');
    release('done');
    assert.equal(await pending, 'done');
    assert.equal(captured?.disposed, true);

    const rejected = DelayTracks.with({ key: 'u' }, async (run) => {
      captured = run;
      await new Promise((resolve) => setImmediate(resolve));
      throw failure;
    });
    await assert.rejects(rejected, (e: unknown) => e === failure);
    assert.equal(captured?.disposed, true);
  });

  test('trackNames lists control first when added', () => {
    assert.deepEqual(DelayTracks.trackNames(), ['control', 'short', 'long']);
    assert.deepEqual(FailingTracks.trackNames(), ['sync', 'async']);
  });
});

describe('instance tracks', () => {
  interface Ctx {
    readonly greeting: string;
  }
  class GreetingTracks extends TrackSet<Ctx> {
    static override id = 'greeting';
    loudTrack(name: string) {
      return `${this.context.greeting.toUpperCase()}, ${name} (${this.key})`;
    }
    quiet_track(name: string) {
      return `${this.context.greeting}, ${name} (${this.key})`;
    }
  }

  test('instance tracks read this.context and this.key; names drop the suffix', () => {
    assert.deepEqual(GreetingTracks.trackNames(), ['control', 'loud', 'quiet']);
    const seen = new Set<string>();
    for (const key of keys(60)) {
      const run = new GreetingTracks({ key, context: { greeting: 'hello' } });
      const result = run.run('ann');
      seen.add(run.name);
      if (run.name === 'loud') assert.equal(result, `HELLO, ann (${key})`);
      else if (run.name === 'quiet') assert.equal(result, `hello, ann (${key})`);
      else assert.equal(result, undefined);
    }
    assert.equal(seen.size, 3);
  });
});

describe('reason and inTest on every path', () => {
  class PathTracks extends TrackSet<{ eligible: boolean }> {
    static override id = 'paths';
    static override coverage = 0.5;
    override get isEligible() {
      return this.context.eligible;
    }
    static long_track() {}
  }

  test('assigned, not covered, ineligible, forced (per call and scoped)', async () => {
    const reasons = new Set<string>();
    for (const key of keys(200)) {
      const run = new PathTracks({ key, context: { eligible: true } });
      reasons.add(run.reason);
      if (run.reason === 'assigned') assert.equal(run.inTest, true);
      else {
        assert.equal(run.reason, 'not covered');
        assert.equal(run.name, 'control');
        assert.equal(run.inTest, false);
      }
      const ineligible = new PathTracks({ key, context: { eligible: false } });
      assert.equal(ineligible.reason, 'ineligible');
      assert.equal(ineligible.name, 'control');
      assert.equal(ineligible.inTest, false);
      assert.equal(ineligible.isEligible, false);
      const forced = new PathTracks({ key, context: { eligible: false }, force: 'long' });
      assert.equal(forced.name, 'long');
      assert.equal(forced.reason, 'forced');
      assert.equal(forced.inTest, false);
    }
    assert.deepEqual([...reasons].sort(), ['assigned', 'not covered']);
    await forceTracks({ paths: 'long' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const run = new PathTracks({ key: 'x', context: { eligible: true } });
      assert.equal(run.name, 'long');
      assert.equal(run.reason, 'forced');
      assert.equal(run.inTest, false);
    });
  });
});

describe('forcing', () => {
  test('per-call force serves that track (control too) for every key', () => {
    for (const key of keys(100)) {
      assert.equal(new DelayTracks({ key, force: 'long' }).name, 'long');
      assert.equal(new DelayTracks({ key, force: 'control' }).name, 'control');
    }
    assert.equal(new FailingTracks({ key: 1, force: 'control' }).name, 'control', 'control is forceable without addControlTrack');
  });

  test('forceTracks is scoped: across awaits and timers inside, not outside; nested scopes, inner wins', async () => {
    const key = keys(50).find((k) => bucketOf(DelayTracks, k) !== 'short')!;
    const natural = new DelayTracks({ key }).name;
    const seen: string[] = [];
    const result = await forceTracks({ delay: 'short' }, async () => {
      seen.push(new DelayTracks({ key }).name);
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen.push(new DelayTracks({ key }).name);
      await Promise.all([1, 2].map(async () => {
        await null;
        seen.push(new DelayTracks({ key }).name);
      }));
      await forceTracks({ delay: 'long' }, async () => {
        await null;
        seen.push(new DelayTracks({ key }).name);
      });
      seen.push(new DelayTracks({ key }).name);
      return 'value';
    });
    assert.equal(result, 'value');
    assert.deepEqual(seen, ['short', 'short', 'short', 'short', 'long', 'short']);
    assert.equal(new DelayTracks({ key }).name, natural, 'outside the scope nothing is forced');
    // concurrent scopes do not leak into each other
    const [a, b] = await Promise.all([
      forceTracks({ delay: 'short' }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 3));
        return new DelayTracks({ key }).name;
      }),
      forceTracks({ delay: 'long' }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return new DelayTracks({ key }).name;
      }),
    ]);
    assert.deepEqual([a, b], ['short', 'long']);
  });

  test('per-call force beats the scope', () => {
    forceTracks({ delay: 'short' }, () => {
      assert.equal(new DelayTracks({ key: 'k', force: 'long' }).name, 'long');
    });
  });

  test('an unknown forced track is a TracksError (per call at construction, scoped at once for a known set, else at first read)', () => {
    assert.throws(() => new DelayTracks({ key: 'k', force: 'medium' }), (e: unknown) => e instanceof TracksError && /DelayTracks has no track 'medium'/.test(e.message));
    void new DelayTracks({ key: 'k' }).name; // the process knows the set now
    assert.throws(
      () => forceTracks({ delay: 'medium' }, () => 'never runs'),
      (e: unknown) => e instanceof TracksError && e.message === "forceTracks: 'delay' has no track 'medium'; its tracks are 'control', 'short', 'long'",
    );
    class FirstUsedInside extends TrackSet {
      static override id = 'run-api-first-used-inside';
      static fast_track() {}
    }
    forceTracks({ 'run-api-first-used-inside': 'slow' }, () => {
      const run = new FirstUsedInside({ key: 'k' });
      assert.throws(() => run.name, (e: unknown) => e instanceof TracksError && /forceTracks/.test(e.message) && /'slow'/.test(e.message));
    });
  });

  test('a forced set id that no set has is a TracksError when the scope ends (sync, and async as a rejection)', async () => {
    assert.throws(
      () => forceTracks({ goood: 'a' }, () => new DelayTracks({ key: 'k' }).name),
      (e: unknown) => e instanceof TracksError && /forceTracks named 'goood', which no track set in this process has \(known sets: .*'delay'.*\); check the id/.test(e.message),
    );
    await assert.rejects(
      forceTracks({ goood: 'a' }, async () => new DelayTracks({ key: 'k' }).name),
      (e: unknown) => e instanceof TracksError && /forceTracks named 'goood'/.test(e.message),
    );
    // A set first used inside the scope is known by its end: no error.
    class LateSet extends TrackSet {
      static override id = 'run-api-late-set';
      static fast_track() {}
    }
    assert.equal(forceTracks({ 'run-api-late-set': 'fast' }, () => new LateSet({ key: 'k' }).name), 'fast');
    assert.throws(() => forceTracks({ delay: 7 } as never, () => 1), (e: unknown) => e instanceof TracksError && /the track forced for 'delay' is number/.test(e.message));
  });

  test('forEachTrack runs the body once per track, with that track forced, one after the other', async () => {
    const order: string[] = [];
    let active = 0;
    await forEachTrack(DelayTracks, async (name) => {
      active++;
      assert.equal(active, 1, 'sequential');
      await new Promise((resolve) => setTimeout(resolve, 1));
      const run = new DelayTracks({ key: 'anyone' });
      assert.equal(run.name, name);
      assert.equal(run.reason, 'forced');
      order.push(name);
      active--;
    });
    assert.deepEqual(order, ['control', 'short', 'long']);
    assert.equal(new DelayTracks({ key: 'anyone' }).reason, 'assigned', 'nothing forced afterwards');
    const withoutControl: string[] = [];
    await forEachTrack(FailingTracks, (name) => {
      withoutControl.push(name);
    });
    assert.deepEqual(withoutControl, ['control', 'sync', 'async'], 'control is included: ineligible users get it');
  });

  test('forEachTrack propagates a failing body', async () => {
    await assert.rejects(forEachTrack(DelayTracks, (name) => {
      if (name === 'short') throw failure;
    }), (e: unknown) => e === failure);
  });
});

describe('MultiTrackSet runs', () => {
  class PricingTracks extends ParamTrackSet {
    static override id = 'pricing';
    static override params = [-1, 1];
    static override trackName(d: number) {
      return `delta_${d}`;
    }
    static override track(d: number, prices: number[]) {
      return prices.map((p) => p + d);
    }
  }
  class VipTracks extends TrackSet<{ vip: boolean }> {
    static override id = 'vip-only';
    override get isEligible() {
      return this.context.vip;
    }
    static vip_track() {
      return 'vip';
    }
  }

  test('exposes trackSet, track, name, inTest, reason, runId, key; run() runs the chosen track', () => {
    for (const key of keys(100)) {
      using multi = new MultiTrackSet([DelayTracks, PricingTracks], { key });
      const set = multi.trackSet!;
      assert.ok(set instanceof DelayTracks || set instanceof PricingTracks);
      assert.equal(multi.key, key);
      assert.equal(set.key, key);
      assert.equal(multi.name, set.name);
      assert.deepEqual(multi.track, set.track);
      assert.equal(multi.inTest, true);
      assert.equal(multi.reason, 'assigned');
      assert.equal(multi.runId, set.runId);
      assert.equal(set.name, set.id === 'delay' ? bucketOf(DelayTracks, key) : bucketOf(PricingTracks, key));
      const result = multi.run([10]);
      if (set.id === 'pricing' && set.name !== 'control') assert.deepEqual(result, [10 + Number(set.name.slice(6))]);
    }
  });

  test('context reaches eligibility; nobody eligible: null set and track, control, reason ineligible, run does nothing', () => {
    const nobody = new MultiTrackSet([VipTracks], { key: 'k', context: { vip: false } });
    assert.equal(nobody.trackSet, null);
    assert.equal(nobody.track, null);
    assert.equal(nobody.name, 'control');
    assert.equal(nobody.inTest, false);
    assert.equal(nobody.reason, 'ineligible');
    assert.equal(nobody.run(), undefined);
    assert.match(nobody.runId, /^[0-9a-f-]{36}$/);
    assert.equal(nobody.runId, nobody.runId);
    const vip = new MultiTrackSet([VipTracks], { key: 'k', context: { vip: true } });
    assert.equal(vip.trackSet?.id, 'vip-only');
    assert.equal(vip.trackSet?.context.vip, true);
  });

  test('no key: random set per run; both sets appear across 200 runs', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(new MultiTrackSet([DelayTracks, PricingTracks]).trackSet!.id);
    assert.deepEqual([...seen].sort(), ['delay', 'pricing']);
  });

  test('subclass with static trackSets, and static id salting the set choice', () => {
    class CoconutTests extends MultiTrackSet {
      static override trackSets = [DelayTracks, PricingTracks];
    }
    class SaltedTests extends MultiTrackSet {
      static override id = 'coconut-tests';
      static override trackSets = [DelayTracks, PricingTracks];
    }
    let differ = 0;
    for (const key of keys(1_000)) {
      const plain = new CoconutTests({ key }).trackSet!.id;
      assert.equal(plain, new MultiTrackSet([DelayTracks, PricingTracks], { key }).trackSet!.id, 'default salt tracks:multi');
      if (new SaltedTests({ key }).trackSet!.id !== plain) differ++;
    }
    assert.ok(differ > 400 && differ < 600, `another salt re-draws the set for about half the keys: ${differ}`);
  });

  // Issue 2, point 3: the callback form serves what `using` does, a subclass with static
  // trackSets too; with() built a plain MultiTrackSet, so a subclass's id no longer salted the
  // choice and `CoconutTests.with({ key }, fn)` found no sets (a tester).
  test('the callback form of a subclass: with(options, fn), and with(sets, options, fn), choose as new does', () => {
    class CoconutTests extends MultiTrackSet {
      static override id = 'coconut-tests-with';
      static override trackSets = [DelayTracks, PricingTracks];
    }
    for (const key of keys(300)) {
      const expected = new CoconutTests({ key }).trackSet!.id;
      let inside: MultiTrackSet | undefined;
      const id = CoconutTests.with({ key }, (multi) => {
        inside = multi;
        assert.ok(multi instanceof CoconutTests);
        assert.equal(multi.trackSet?.disposed, false);
        return multi.trackSet?.id;
      });
      assert.equal(id, expected);
      assert.equal(inside?.trackSet?.disposed, true);
      assert.equal(CoconutTests.with([DelayTracks, PricingTracks], { key }, (multi) => multi.trackSet?.id), new CoconutTests([DelayTracks, PricingTracks], { key }).trackSet?.id);
    }
    class NoSets extends MultiTrackSet {}
    assert.throws(() => NoSets.with({ key: 'k' }, (multi) => multi.name), (e: unknown) => e instanceof TracksError && /NoSets: no track sets given/.test(e.message));
    assert.throws(() => CoconutTests.with({ key: 'k' }, undefined as never), (e: unknown) => e instanceof TracksError && /CoconutTests\.with: pass a callback/.test(e.message));
  });

  test('forcing in a MultiTrackSet: per-call by set id, and scoped', () => {
    for (const key of keys(50)) {
      const multi = new MultiTrackSet([DelayTracks, PricingTracks], { key, force: { pricing: 'delta_1' } });
      assert.equal(multi.trackSet?.id, 'pricing');
      assert.equal(multi.name, 'delta_1');
      assert.equal(multi.reason, 'forced');
      assert.equal(multi.inTest, false);
      forceTracks({ delay: 'long' }, () => {
        const scoped = new MultiTrackSet([DelayTracks, PricingTracks], { key });
        assert.equal(scoped.trackSet?.id, 'delay');
        assert.equal(scoped.name, 'long');
      });
    }
    assert.throws(() => new MultiTrackSet([DelayTracks], { key: 1, force: { delay: 'nope' } }), TracksError);
    // A set id that is no member is a typo: an error naming the members, not a silent no-op.
    assert.throws(
      () => new MultiTrackSet([DelayTracks, PricingTracks], { key: 1, force: { dleay: 'long' } }).name,
      (e: unknown) => e instanceof TracksError && /force names the set 'dleay', which is not one of its track sets \('delay', 'pricing'\)/.test(e.message),
    );
  });

  test('a MultiTrackSet made inside forceTracks and read after it serves the forced track, as it chose the forced set (a grader\'s test)', () => {
    for (const key of keys(50)) {
      const multi = forceTracks({ pricing: 'delta_1' }, () => new MultiTrackSet([DelayTracks, PricingTracks], { key }));
      assert.equal(multi.trackSet?.id, 'pricing');
      assert.equal(multi.name, 'delta_1');
      assert.equal(multi.reason, 'forced');
      assert.equal(multi.inTest, false);
    }
  });

  test('a member\'s isEligible is read once per MultiTrackSet run', () => {
    let reads = 0;
    class CountingTracks extends TrackSet {
      static override id = 'counting';
      override get isEligible() {
        reads++;
        return true;
      }
      static a_track() {}
    }
    for (const key of keys(100)) {
      reads = 0;
      const multi = new MultiTrackSet([CountingTracks, DelayTracks], { key });
      void multi.name;
      multi.run();
      assert.equal(reads, 1, `key ${key}: isEligible read ${reads} times`);
    }
  });

  test('the callback form disposes the chosen run after the promise settles', async () => {
    let inside: MultiTrackSet | undefined;
    const value = await MultiTrackSet.with([DelayTracks, PricingTracks], { key: 'k' }, async (multi) => {
      inside = multi;
      await null;
      assert.equal(multi.trackSet?.disposed, false);
      return multi.name;
    });
    assert.equal(value, inside?.name);
    assert.equal(inside?.trackSet?.disposed, true);
  });
});

test('console.log of a run shows its set, key and (once chosen) track, without choosing it', () => {
  class InspectedTracks extends TrackSet {
    static override id = 'inspected';
    static long_track() {}
    static short_track() {}
  }
  const run = new InspectedTracks({ key: 'u1' });
  const before = inspect(run);
  assert.match(before, /^InspectedTracks \{ id: 'inspected', key: 'u1' \}$/);
  const name = run.name;
  assert.equal(inspect(run), `InspectedTracks { id: 'inspected', key: 'u1', name: '${name}', reason: 'assigned' }`);
});
