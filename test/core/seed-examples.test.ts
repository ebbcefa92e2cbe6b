/**
 * Issue 2, point 1: every example of the seed README (the Python `tracks`), in TypeScript,
 * run. The hand-rolled Math.random() version is the "before" and is not needed.
 *
 * The seed calls both pricing examples `PricingTracks`; ids belong to one definition per
 * process (point 8), so the two-track one here has the id 'pricing-two-tracks'.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiTrackSet, ParamTrackSet, TrackSet } from '../../src/index.js';
import { goodnessOfFit, keys } from './helpers.js';

// The coconut store, for tests: sleeping is recorded, not waited for.
const slept: number[] = [];
const sleep = async (ms: number): Promise<void> => {
  slept.push(ms);
  await new Promise((resolve) => setImmediate(resolve));
};
const testRuns: { userId: string; test?: string; variant: string }[] = [];
const db = {
  async query(sql: string, params: string[]): Promise<void> {
    assert.match(sql, /^INSERT INTO test_runs/);
    if (params.length === 2) testRuns.push({ userId: params[0]!, variant: params[1]! });
    else testRuns.push({ userId: params[0]!, test: params[1]!, variant: params[2]! });
  },
};
interface Coconut {
  name: string;
  price: number;
}
interface CatalogResponse {
  coconuts: Coconut[];
}
const renderCoconutCatalog = (): CatalogResponse => ({ coconuts: [{ name: 'young', price: 10 }, { name: 'dry', price: 7 }] });
interface User {
  id: string;
  isVip: boolean;
}

class DelayTracks extends TrackSet {
  static override id = 'delay';
  static short_track() {
    return sleep(500);
  }
  static long_track() {
    return sleep(2000);
  }
}
const delayOf: Record<string, number | undefined> = { control: undefined, short: 500, long: 2000 };

/** The seed's two-track PricingTracks, used alone and beside the heavy DelayTracks. */
class PricingTracks extends TrackSet {
  static override id = 'pricing-two-tracks';
  static expensive_track(response: CatalogResponse) {
    for (const coconut of response.coconuts) coconut.price += 1;
  }
  static cheap_track(response: CatalogResponse) {
    for (const coconut of response.coconuts) coconut.price -= 1;
  }
}

async function catalogPage(userId: string): Promise<CatalogResponse> {
  const response = renderCoconutCatalog();
  {
    using track = new DelayTracks({ key: userId });
    await track.run();
    await db.query('INSERT INTO test_runs (user_id, variant) VALUES ($1, $2)', [userId, track.name]);
  }
  return response;
}

describe('seed: DelayTracks', () => {
  test('the tracks are control, short and long; run() sleeps the chosen delay', async () => {
    assert.deepEqual(DelayTracks.trackNames(), ['control', 'short', 'long']);
    slept.length = 0;
    testRuns.length = 0;
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      using track = new DelayTracks(); // the seed's first form: no key, a fresh draw each time
      slept.length = 0;
      const result = track.run();
      assert.ok(track.name === 'control' ? result === undefined : result instanceof Promise);
      await result;
      assert.deepEqual(slept, delayOf[track.name] === undefined ? [] : [delayOf[track.name]]);
      seen.add(track.name);
    }
    assert.deepEqual([...seen].sort(), ['control', 'long', 'short']);
  });

  test('with a key (the seed\'s key=user_id): each user always gets the same variant, recorded by name', async () => {
    testRuns.length = 0;
    for (const userId of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
      for (let visit = 0; visit < 5; visit++) await catalogPage(userId);
    }
    const byUser = new Map<string, Set<string>>();
    for (const { userId, variant } of testRuns) byUser.set(userId, (byUser.get(userId) ?? new Set()).add(variant));
    assert.equal(byUser.size, 6);
    for (const [userId, variants] of byUser) {
      assert.equal(variants.size, 1, `${userId} got ${[...variants]}`);
      assert.equal([...variants][0], new DelayTracks({ key: userId }).name);
    }
  });

  test('the key can be a combination, like the user\'s country and the article id, in any order', () => {
    const a = new DelayTracks({ key: { country: 'NL', articleId: 7 } });
    const b = new DelayTracks({ key: { articleId: 7, country: 'NL' } });
    assert.equal(a.key, '{"articleId":7,"country":"NL"}');
    assert.equal(b.key, a.key);
    assert.equal(b.name, a.name);
    const names = new Set(keys(200).map((_, i) => new DelayTracks({ key: { country: i % 2 ? 'NL' : 'DE', articleId: i } }).name));
    assert.equal(names.size, 3, 'composite keys spread over all tracks');
  });
});

describe('seed: PricingTracks', () => {

  test('two tracks that take the response as an argument', () => {
    assert.deepEqual(PricingTracks.trackNames(), ['control', 'expensive', 'cheap']);
    const seen = new Set<string>();
    for (const userId of keys(100)) {
      const response = renderCoconutCatalog();
      using track = new PricingTracks({ key: userId });
      track.run(response);
      const delta = { control: 0, expensive: 1, cheap: -1 }[track.name as 'control' | 'expensive' | 'cheap'];
      assert.deepEqual(response.coconuts.map((c) => c.price), [10 + delta, 7 + delta]);
      seen.add(track.name);
    }
    assert.equal(seen.size, 3);
  });

  class ParamPricingTracks extends ParamTrackSet {
    static override id = 'pricing';
    static override params = Array.from({ length: 11 }, (_, i) => ({ priceDelta: i - 5 }));
    static override addControlTrack = false; // { priceDelta: 0 } is our control group
    static override trackName({ priceDelta }: { priceDelta: number }) {
      return `price_adjusted_by_${priceDelta}`;
    }
    static override track({ priceDelta }: { priceDelta: number }, response: CatalogResponse) {
      for (const coconut of response.coconuts) coconut.price += priceDelta;
    }
  }

  test('ParamTrackSet: eleven tracks from params, no added control, each adjusting the price by its delta', () => {
    const names = ParamPricingTracks.trackNames();
    assert.deepEqual(names, Array.from({ length: 11 }, (_, i) => `price_adjusted_by_${i - 5}`));
    const counts = new Map<string, number>();
    for (const userId of keys(11_000)) {
      const response = renderCoconutCatalog();
      using track = new ParamPricingTracks({ key: userId });
      track.run(response);
      const delta = Number(track.name.replace('price_adjusted_by_', ''));
      assert.deepEqual(response.coconuts.map((c) => c.price), [10 + delta, 7 + delta]);
      counts.set(track.name, (counts.get(track.name) ?? 0) + 1);
    }
    assert.equal(counts.size, 11, 'every price delta is served');
    assert.ok(!counts.has('control'));
    const fit = goodnessOfFit(names.map((n) => counts.get(n) ?? 0), names.map(() => 1 / 11));
    assert.ok(fit.p > 0.001, `uniform over the 11 tracks: chi2 ${fit.stat}, p ${fit.p}`);
  });

  test('MultiTrackSet of DelayTracks and the ParamTrackSet PricingTracks', () => {
    const tests = new Map<string, number>();
    for (const userId of keys(2_000)) {
      const response = renderCoconutCatalog();
      using multitrack = new MultiTrackSet([DelayTracks, ParamPricingTracks], { key: userId });
      const result = multitrack.run(response);
      assert.ok(multitrack.trackSet !== null && multitrack.track !== null);
      const test = multitrack.trackSet.id;
      tests.set(test, (tests.get(test) ?? 0) + 1);
      assert.equal(multitrack.name, multitrack.track.name);
      assert.equal(multitrack.name, multitrack.trackSet.name);
      if (test === 'pricing') {
        assert.equal(result, undefined);
        const delta = Number(multitrack.name.replace('price_adjusted_by_', ''));
        assert.equal(response.coconuts[0]!.price, 10 + delta);
      } else {
        assert.ok(['control', 'short', 'long'].includes(multitrack.name));
        assert.equal(response.coconuts[0]!.price, 10, 'DelayTracks leaves prices alone');
      }
      // the seed's INSERT (user_id, test, variant)
      void db.query('INSERT INTO test_runs (user_id, test, variant) VALUES ($1, $2, $3)', [userId, test, multitrack.track.name]);
    }
    const delay = tests.get('delay') ?? 0;
    const pricing = tests.get('pricing') ?? 0;
    assert.equal(delay + pricing, 2_000);
    assert.ok(delay > 850 && delay < 1150, `equal default weights (100 each): ${delay} vs ${pricing}`);
  });
});

describe('seed: keeping VIPs out', () => {
  class VipSafeDelayTracks extends TrackSet<{ user: User }> {
    static override id = 'delay'; // the same test as DelayTracks, with an eligibility rule
    override get isEligible() {
      return !this.context.user.isVip;
    }
    static short_track() {
      return sleep(500);
    }
    static long_track() {
      return sleep(2000);
    }
  }

  test('VIPs always get control and are not in the test; others get their usual track', async () => {
    testRuns.length = 0;
    let vipRuns = 0;
    for (const [i, userId] of keys(3_000).entries()) {
      const user: User = { id: userId, isVip: i % 3 === 0 };
      using track = new VipSafeDelayTracks({ key: userId, context: { user } });
      slept.length = 0;
      await track.run();
      if (track.isEligible) {
        await db.query('INSERT INTO test_runs (user_id, variant) VALUES ($1, $2)', [userId, track.name]);
        assert.equal(track.name, new DelayTracks({ key: userId }).name, 'eligible users keep the track DelayTracks gives them');
        assert.equal(track.reason, 'assigned');
      } else {
        vipRuns++;
        assert.equal(track.name, 'control');
        assert.equal(track.reason, 'ineligible');
        assert.equal(track.inTest, false);
        assert.deepEqual(slept, [], 'control does nothing');
      }
    }
    assert.equal(vipRuns, 1_000);
    assert.equal(testRuns.length, 2_000, 'only eligible users are recorded');
  });

  test('even with addControlTrack = false, VIPs get a (no-op) control', () => {
    class NoControlDelayTracks extends TrackSet<{ user: User }> {
      static override id = 'delay-no-control';
      static override addControlTrack = false;
      override get isEligible() {
        return !this.context.user.isVip;
      }
      static short_track() {
        return 'short ran';
      }
      static long_track() {
        return 'long ran';
      }
    }
    assert.deepEqual(NoControlDelayTracks.trackNames(), ['short', 'long']);
    for (const userId of keys(1_000)) {
      using vip = new NoControlDelayTracks({ key: userId, context: { user: { id: userId, isVip: true } } });
      assert.equal(vip.name, 'control');
      assert.equal(vip.reason, 'ineligible');
      assert.equal(vip.run(), undefined);
      using regular = new NoControlDelayTracks({ key: userId, context: { user: { id: userId, isVip: false } } });
      assert.ok(regular.name === 'short' || regular.name === 'long');
      assert.equal(regular.run(), `${regular.name} ran`);
    }
  });
});

describe('seed: running the delay and pricing tests at the same time', () => {
  class HeavyDelayTracks extends TrackSet {
    static override id = 'delay'; // DelayTracks with DelayTracks.weight = 1000
    static override weight = 1000;
    static short_track() {
      return sleep(500);
    }
    static long_track() {
      return sleep(2000);
    }
  }

  test('DelayTracks.weight = 1000 makes it about ten times as likely as PricingTracks (weight 100)', async () => {
    const tracksets = [HeavyDelayTracks, PricingTracks] as const;
    let delay = 0;
    let pricing = 0;
    for (const userId of keys(20_000)) {
      const response = renderCoconutCatalog();
      using multitrack = new MultiTrackSet(tracksets, { key: userId });
      await multitrack.run(response);
      const id = multitrack.trackSet?.id;
      if (id === 'delay') delay++;
      else if (id === 'pricing-two-tracks') pricing++;
      else assert.fail(`unexpected set ${id}`);
    }
    const ratio = delay / pricing;
    assert.ok(ratio > 9 && ratio < 11.1, `delay:pricing = ${ratio.toFixed(2)}:1`);
  });

  test('the callback form, for code that cannot use `using`', async () => {
    const response = renderCoconutCatalog();
    const name = await MultiTrackSet.with([HeavyDelayTracks, PricingTracks], { key: 'alice' }, async (multitrack) => {
      await multitrack.run(response);
      return multitrack.name;
    });
    assert.equal(name, new MultiTrackSet([HeavyDelayTracks, PricingTracks], { key: 'alice' }).name);
  });
});
