/**
 * Issue 2, point 6: minimal disruption, measured on 100,000 keys each. Adding a track moves
 * only keys to it (about its new share); removing one moves only its keys; changing one weight
 * moves only the minimum share, to or from that track; the same for sets in a MultiTrackSet and
 * for eligibility changes there; reordering methods or params moves no one.
 *
 * A track set id belongs to one definition per process (point 8), so variants of one set's
 * tracks are hand-built definitions run through the core's own `assign`; a first test checks
 * that a hand-built definition assigns exactly like the class it mirrors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiTrackSet, ParamTrackSet, TrackSet, bucketOf } from '../../src/index.js';
import { assignAll, countBy, goodnessOfFit, handDefinition, keys, N } from './helpers.js';

const allKeys = keys(N, 'disrupt-');

interface Moves {
  moved: number;
  from: Map<string | null, number>;
  to: Map<string | null, number>;
}
function movesBetween(before: readonly (string | null | undefined)[], after: readonly (string | null | undefined)[]): Moves {
  const moves: Moves = { moved: 0, from: new Map(), to: new Map() };
  before.forEach((b, i) => {
    const a = after[i];
    if (a === b) return;
    moves.moved++;
    moves.from.set(b ?? null, (moves.from.get(b ?? null) ?? 0) + 1);
    moves.to.set(a ?? null, (moves.to.get(a ?? null) ?? 0) + 1);
  });
  return moves;
}

/** `count` of `N` is within 4.5 binomial standard deviations of `share`. */
function assertShare(count: number, share: number, what: string, n = N): void {
  const z = (count - n * share) / Math.sqrt(n * share * (1 - share));
  assert.ok(Math.abs(z) < 4.5, `${what}: ${count} of ${n}, expected ${(n * share).toFixed(0)} (z = ${z.toFixed(2)})`);
}

const on = (tracks: Record<string, number>, id = 'disrupt') => assignAll(handDefinition(id, tracks), allKeys);

describe('hand-built definitions mirror classes', () => {
  test('a class and its hand-built definition assign all 100,000 keys alike (equal and unequal weights)', () => {
    class Mirror extends TrackSet {
      static override id = 'disrupt';
      static short_track() {}
      static long_track() {}
    }
    class WeightedMirror extends TrackSet {
      static override id = 'disrupt-weighted';
      static override weights = { control: 2, a: 1 };
      static a_track() {}
    }
    assert.deepEqual(allKeys.map((k) => bucketOf(Mirror, k)), on({ control: 1, short: 1, long: 1 }));
    assert.deepEqual(allKeys.map((k) => bucketOf(WeightedMirror, k)), on({ control: 2, a: 1 }, 'disrupt-weighted'));
  });
});

describe('tracks', () => {
  const base = on({ control: 1, short: 1, long: 1 });

  test('adding a track moves only keys to it, about its share (1/4), from every track alike', () => {
    const after = on({ control: 1, short: 1, long: 1, medium: 1 });
    const moves = movesBetween(base, after);
    assert.deepEqual([...moves.to.keys()], ['medium']);
    assertShare(moves.moved, 1 / 4, 'keys moved to medium');
    const fit = goodnessOfFit(['control', 'short', 'long'].map((t) => moves.from.get(t) ?? 0), [1 / 3, 1 / 3, 1 / 3]);
    assert.ok(fit.p > 0.001, `medium takes from each track alike: p ${fit.p}`);
  });

  test('adding a weighted track (weight 2 beside 2:1:1) moves only keys to it, about 2/6', () => {
    const before = on({ control: 2, fast: 1, slow: 1 });
    const moves = movesBetween(before, on({ control: 2, fast: 1, slow: 1, turbo: 2 }));
    assert.deepEqual([...moves.to.keys()], ['turbo']);
    assertShare(moves.moved, 2 / 6, 'keys moved to turbo');
  });

  test('removing a track moves only its keys, spread over the others', () => {
    const withMedium = on({ control: 1, short: 1, long: 1, medium: 1 });
    const moves = movesBetween(withMedium, base);
    assert.deepEqual([...moves.from.keys()], ['medium']);
    assert.equal(moves.moved, withMedium.filter((t) => t === 'medium').length);
    const fit = goodnessOfFit(['control', 'short', 'long'].map((t) => moves.to.get(t) ?? 0), [1 / 3, 1 / 3, 1 / 3]);
    assert.ok(fit.p > 0.001, `medium's keys spread evenly: p ${fit.p}`);
  });

  test('raising one weight (1 -> 2 of 1:1:1) moves only keys to it, the minimum share 2/4 - 1/3 = 1/6', () => {
    const moves = movesBetween(base, on({ control: 1, short: 1, long: 2 }));
    assert.deepEqual([...moves.to.keys()], ['long']);
    assertShare(moves.moved, 1 / 2 - 1 / 3, 'keys moved to long');
  });

  test('lowering one weight (1 -> 0.5 of 1:1:1) moves only keys from it, the minimum share 1/3 - 1/5', () => {
    const moves = movesBetween(base, on({ control: 1, short: 1, long: 0.5 }));
    assert.deepEqual([...moves.from.keys()], ['long']);
    assertShare(moves.moved, 1 / 3 - 0.5 / 2.5, 'keys moved from long');
  });

  test('changing a weight among unequal weights (2:1:1 -> 2:3:1) moves only keys to it, 3/6 - 1/4', () => {
    const moves = movesBetween(on({ control: 2, fast: 1, slow: 1 }), on({ control: 2, fast: 3, slow: 1 }));
    assert.deepEqual([...moves.to.keys()], ['fast']);
    assertShare(moves.moved, 3 / 6 - 1 / 4, 'keys moved to fast');
  });

  test('setting a weight to 0 moves exactly its keys; scaling all weights moves no one', () => {
    const moves = movesBetween(base, on({ control: 1, short: 1, long: 0 }));
    assert.deepEqual([...moves.from.keys()], ['long']);
    assert.equal(moves.moved, base.filter((t) => t === 'long').length);
    assert.equal(movesBetween(base, on({ control: 7, short: 7, long: 7 })).moved, 0);
    const weighted = on({ control: 2, fast: 1, slow: 1 });
    assert.equal(movesBetween(weighted, on({ control: 20, fast: 10, slow: 10 })).moved, 0);
  });

  test('reordering tracks in a definition moves no one', () => {
    assert.equal(movesBetween(base, on({ long: 1, control: 1, short: 1 })).moved, 0);
    assert.equal(movesBetween(on({ control: 2, fast: 1, slow: 1 }), on({ slow: 1, fast: 1, control: 2 })).moved, 0);
  });
});

describe('reordering in classes moves no one', () => {
  test('methods declared in another order (same id, same tracks)', () => {
    class ShortFirst extends TrackSet {
      static override id = 'reorder';
      static short_track() {}
      static long_track() {}
      static mediumTrack() {}
    }
    class LongFirst extends TrackSet {
      static override id = 'reorder';
      static mediumTrack() {}
      static long_track() {}
      static short_track() {}
    }
    assert.notDeepEqual(ShortFirst.trackNames(), LongFirst.trackNames());
    assert.equal(movesBetween(allKeys.map((k) => bucketOf(ShortFirst, k)), allKeys.map((k) => bucketOf(LongFirst, k))).moved, 0);
  });

  test('weights listed in another order', () => {
    class A extends TrackSet {
      static override id = 'reorder-weights';
      static override weights = { control: 3, a: 1, b: 2 };
      static a_track() {}
      static b_track() {}
    }
    class B extends TrackSet {
      static override id = 'reorder-weights';
      static override weights = { b: 2, a: 1, control: 3 };
      static b_track() {}
      static a_track() {}
    }
    assert.equal(movesBetween(allKeys.map((k) => bucketOf(A, k)), allKeys.map((k) => bucketOf(B, k))).moved, 0);
  });

  test('params in another order', () => {
    const deltas = [-2, -1, 0, 1, 2];
    class Forward extends ParamTrackSet {
      static override id = 'reorder-params';
      static override addControlTrack = false;
      static override params = deltas.map((d) => ({ d }));
      static override trackName({ d }: { d: number }) {
        return `delta_${d}`;
      }
      static override track() {}
    }
    class Backward extends ParamTrackSet {
      static override id = 'reorder-params';
      static override addControlTrack = false;
      static override params = [...deltas].reverse().map((d) => ({ d }));
      static override trackName({ d }: { d: number }) {
        return `delta_${d}`;
      }
      static override track() {}
    }
    assert.equal(movesBetween(allKeys.map((k) => bucketOf(Forward, k)), allKeys.map((k) => bucketOf(Backward, k))).moved, 0);
  });
});

describe('sets in a MultiTrackSet', () => {
  class D extends TrackSet {
    static override id = 'm-delay';
    static short_track() {}
    static long_track() {}
  }
  class P extends TrackSet {
    static override id = 'm-pricing';
    static cheap_track() {}
    static expensive_track() {}
  }
  class Q extends TrackSet<{ blocked?: ReadonlySet<string> } | undefined> {
    static override id = 'm-search';
    override get isEligible() {
      return !(this.context?.blocked?.has(this.key ?? '') ?? false);
    }
    static semantic_track() {}
  }
  class HeavyQ extends TrackSet {
    static override id = 'm-search';
    static override weight = 300;
    static semantic_track() {}
  }
  type Choice = string | undefined;
  const choose = (sets: Parameters<typeof MultiTrackSet.with>[0], context?: object): Choice[] =>
    allKeys.map((key) => {
      const run = new MultiTrackSet(sets, { key, context });
      return run.trackSet === null ? undefined : `${run.trackSet.id}/${run.name}`;
    });
  const setOf = (c: Choice) => c?.split('/')[0];
  const dp = choose([D, P]);
  const dpq = choose([D, P, Q]);

  test('adding a set moves only keys to it (about 1/3), and moved keys keep nothing else', () => {
    const moves = movesBetween(dp, dpq);
    assert.deepEqual([...new Set([...moves.to.keys()].map((c) => setOf(c ?? undefined)))], ['m-search']);
    assertShare(moves.moved, 1 / 3, 'keys moved to m-search');
  });

  test('removing a set moves only its keys', () => {
    const moves = movesBetween(dpq, dp);
    assert.deepEqual([...new Set([...moves.from.keys()].map((c) => setOf(c ?? undefined)))], ['m-search']);
    assert.equal(moves.moved, dpq.filter((c) => setOf(c) === 'm-search').length);
  });

  test('reordering sets moves no one', () => {
    assert.equal(movesBetween(dpq, choose([Q, P, D])).moved, 0);
  });

  test('raising one set\'s weight (100 -> 300) moves only keys to it, the minimum 3/5 - 1/3', () => {
    const moves = movesBetween(dpq, choose([D, P, HeavyQ]));
    assert.deepEqual([...new Set([...moves.to.keys()].map((c) => setOf(c ?? undefined)))], ['m-search']);
    assertShare(moves.moved, 3 / 5 - 1 / 3, 'keys moved to m-search');
  });

  test('an eligibility change moves only keys from the now-ineligible set', () => {
    const blocked = new Set(allKeys.filter((_, i) => i % 2 === 0)); // half the users become ineligible for Q
    const after = choose([D, P, Q], { blocked });
    const moves = movesBetween(dpq, after);
    assert.deepEqual([...new Set([...moves.from.keys()].map((c) => setOf(c ?? undefined)))], ['m-search']);
    const expected = dpq.filter((c, i) => setOf(c) === 'm-search' && blocked.has(allKeys[i]!)).length;
    assert.equal(moves.moved, expected, 'exactly the blocked users who were in m-search move');
    // and they go where they would go without m-search at all
    after.forEach((c, i) => {
      if (blocked.has(allKeys[i]!)) assert.equal(c, dp[i]);
    });
  });

  test('no eligible set: trackSet and track are null, name is control', () => {
    const everyone = new Set(allKeys.slice(0, 100));
    for (const key of everyone) {
      const run = new MultiTrackSet([Q], { key, context: { blocked: everyone } });
      assert.equal(run.trackSet, null);
      assert.equal(run.track, null);
      assert.equal(run.name, 'control');
      assert.equal(run.inTest, false);
      assert.equal(run.run(), undefined);
    }
  });

  test('set shares with weights 100:100:100 are a third each', () => {
    const fit = goodnessOfFit(countBy(dpq.map((c) => setOf(c)!), ['m-delay', 'm-pricing', 'm-search']), [1 / 3, 1 / 3, 1 / 3]);
    assert.ok(fit.p > 0.001, `p ${fit.p}`);
  });
});
