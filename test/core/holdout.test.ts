/**
 * Holdouts, the pure draw (`inHoldout`, core/holdout.ts): the share is honoured, raising it only
 * adds keys (weighted rendezvous between `holdout` and `general`), the draw is independent of a
 * set's assignment and of another holdout's, deterministic, and exactly the assignment
 * docs/assignment.md specifies for a set with the holdout's id and those two tracks. Chi-square
 * tests on 100,000 fixed keys with the threshold of split-uniformity.test.ts (p > 0.001).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TrackSet, TracksError, bucketOf, inHoldout } from '../../src/index.js';
import { GENERAL_TRACK, HOLDOUT_TRACK, holdoutDefinition, holdoutTrackOf } from '../../src/core/holdout.js';
import { murmur3 } from '../../src/core/murmur3.js';
import { crossTab, independence, keys, N, referenceAssign } from './helpers.js';

class DelayTracks extends TrackSet {
  static override id = 'holdout-core-delay';
  static short_track() {}
  static long_track() {}
}

const allKeys = keys(N);
const H5 = { id: 'h2026q4', share: 0.05 };
const heldAt = (share: number, id = H5.id) => allKeys.map((k) => inHoldout(k, { id, share }));
const at5 = heldAt(0.05);

/** How far a binomial count may stray from n * p: 4.5 standard deviations (p < 1e-5 two-sided). */
function withinBinomial(count: number, n: number, p: number): boolean {
  return Math.abs(count - n * p) < 4.5 * Math.sqrt(n * p * (1 - p));
}

describe('the share of keys held out', () => {
  for (const share of [0.01, 0.05, 0.1, 0.25, 0.5]) {
    test(`share ${share}: within binomial error on 100,000 keys`, () => {
      const held = (share === 0.05 ? at5 : heldAt(share)).filter(Boolean).length;
      assert.ok(withinBinomial(held, N, share), `${held} of ${N} held out at share ${share}`);
    });
  }
});

describe('raising the share only moves keys into the holdout (rendezvous)', () => {
  test('every key held out at 5% is held out at 10%, and only the 5% that must move do', () => {
    const at10 = heldAt(0.1);
    assert.ok(at5.every((held, i) => !held || at10[i]), 'no key leaves the holdout');
    const moved = at10.filter((held, i) => held && !at5[i]).length;
    assert.ok(withinBinomial(moved, N, 0.05), `${moved} keys moved in; the minimum is 5%`);
  });

  test('monotone along 0.01 -> 0.05 -> 0.1 -> 0.25 -> 0.4999 -> 0.5 (the equal-weight path agrees)', () => {
    const shares = [0.01, 0.05, 0.1, 0.25, 0.4999, 0.5];
    const draws = shares.map((s) => heldAt(s));
    for (let j = 1; j < shares.length; j++) {
      const left = draws[j - 1]!.filter((held, i) => held && !draws[j]![i]).length;
      assert.equal(left, 0, `${left} keys left the holdout going from ${shares[j - 1]} to ${shares[j]}`);
    }
    // From 0.4999 to 0.5 almost nobody moves: the integer comparison of equal weights is the
    // same race as the logarithms.
    const moved = draws[5]!.filter((held, i) => held && !draws[4]![i]).length;
    assert.ok(moved < 100, `${moved} keys moved from 0.4999 to 0.5`);
  });

  test('lowering the share only moves keys out of it', () => {
    const at2 = heldAt(0.02);
    assert.ok(at2.every((held, i) => !held || at5[i]));
  });
});

describe('independence', () => {
  test("a set's tracks split the same inside and outside the holdout (chi-square)", () => {
    const tracks = allKeys.map((k) => bucketOf(DelayTracks, k));
    const group = at5.map((held) => (held ? 'holdout' : 'general'));
    const table = crossTab(group, ['holdout', 'general'], tracks, ['control', 'short', 'long']);
    const { stat, df, p } = independence(table);
    assert.ok(p > 0.001, `chi2 ${stat.toFixed(2)} df ${df} p ${p}`);
    // And the holdout is big enough for the test to mean something.
    assert.ok(table[0]!.every((n) => n > 1_000), JSON.stringify(table));
  });

  test('another id draws another holdout: independent of the first, overlapping by share squared', () => {
    const a = heldAt(0.25).map((h) => (h ? 'in' : 'out'));
    const b = heldAt(0.25, 'h2027q1').map((h) => (h ? 'in' : 'out'));
    const { stat, df, p } = independence(crossTab(a, ['in', 'out'], b, ['in', 'out']));
    assert.ok(p > 0.001, `chi2 ${stat.toFixed(2)} df ${df} p ${p}`);
    const both = a.filter((x, i) => x === 'in' && b[i] === 'in').length;
    assert.ok(withinBinomial(both, N, 0.0625), `${both} keys in both`);
    assert.notDeepEqual(heldAt(0.05, 'h2027q1'), at5);
  });
});

describe('determinism and the specification', () => {
  test('the same answer on every call, and these pinned keys (share 0.05, id h2026q4)', () => {
    assert.deepEqual(heldAt(0.05), at5);
    const held = allKeys.slice(0, 200).filter((k) => inHoldout(k, H5));
    assert.deepEqual(held, ['user-21', 'user-101', 'user-112', 'user-116', 'user-130', 'user-158', 'user-192']);
  });

  test('it is the assignment of docs/assignment.md in a set with the holdout id and tracks holdout (share) and general (1 - share)', () => {
    for (const share of [0.05, 0.5]) {
      for (const key of allKeys.slice(0, 10_000)) {
        const expected = referenceAssign(key, H5.id, { holdout: share, general: 1 - share }) === 'holdout';
        if (inHoldout(key, { id: H5.id, share }) !== expected) assert.fail(`key ${key} at share ${share}: the docs say ${expected}`);
      }
    }
  });

  test('the holdout definition: baseline holdout, coverage 1, not sticky; holdoutTrackOf answers by key hash', () => {
    const definition = holdoutDefinition(H5);
    assert.deepEqual(definition.tracks.map((t) => [t.name, t.weight]), [[HOLDOUT_TRACK, 0.05], [GENERAL_TRACK, 0.95]]);
    assert.equal(definition.baseline, HOLDOUT_TRACK);
    assert.equal(definition.control.name, HOLDOUT_TRACK);
    assert.equal(definition.coverage, 1);
    assert.equal(definition.sticky, false);
    assert.equal(holdoutTrackOf(definition, murmur3('user-21') | 0).name, HOLDOUT_TRACK);
    assert.equal(holdoutTrackOf(definition, murmur3('user-1') | 0).name, GENERAL_TRACK);
  });

  test('keys are serialized as a run serializes them; no key is never held out', () => {
    const half = { id: H5.id, share: 0.5 };
    for (let i = 0; i < 100; i++) assert.equal(inHoldout(i, half), inHoldout(String(i), half));
    assert.equal(inHoldout({ b: 1, a: 2 }, half), inHoldout('{"a":2,"b":1}', half));
    assert.equal(inHoldout(null, half), false);
    assert.equal(inHoldout(undefined, half), false);
  });
});

describe('bad holdouts are a TracksError naming the field and the fix', () => {
  const cases: [unknown, RegExp][] = [
    [null, /holdout is null; pass \{ id: 'h2026q4', share: 0\.05 \}/],
    ['h2026q4', /holdout is string/],
    [{ share: 0.05 }, /holdout\.id is missing; give the holdout a stable id/],
    [{ id: '', share: 0.05 }, /holdout\.id '' is empty/],
    [{ id: 7, share: 0.05 }, /holdout\.id is number, not a string/],
    [{ id: 'a\u0000b', share: 0.05 }, /holdout\.id .* contains the control character U\+0000/],
    [{ id: 'h', share: 0 }, /holdout\.share is 0; use the share of keys to hold out, a number in \(0, 0\.5\]/],
    [{ id: 'h', share: 0.6 }, /holdout\.share is 0\.6/],
    [{ id: 'h', share: Number.NaN }, /holdout\.share is NaN/],
    [{ id: 'h', share: '0.05' }, /holdout\.share is string '0\.05'/],
    [{ id: 'h' }, /holdout\.share is missing/],
    [{ id: 'h', share: 0.05, shares: 0.1 }, /holdout has an unknown field 'shares'/],
  ];
  for (const [holdout, message] of cases) {
    test(`${JSON.stringify(holdout) ?? String(holdout)}`, () => {
      assert.throws(() => inHoldout('user-1', holdout as { id: string; share: number }), (error: unknown) => {
        assert.ok(error instanceof TracksError);
        assert.match(error.message, /^inHoldout: /);
        assert.match(error.message, message);
        return true;
      });
    });
  }
});
