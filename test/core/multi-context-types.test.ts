// Type-level checks, enforced by `npm test`'s type-check: a MultiTrackSet requires the
// context its member sets read, so forgetting it is a compile error, not a runtime TypeError.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MultiTrackSet, TrackSet } from '../../src/index.js';

interface User {
  readonly isVip: boolean;
}

class VipSafeTracks extends TrackSet<{ user: User }> {
  static override id = 'multi-ctx-vip';
  static short_track(): void {}
  override get isEligible(): boolean {
    return !this.context.user.isVip;
  }
}

class PlainTracks extends TrackSet {
  static override id = 'multi-ctx-plain';
  static a_track(): void {}
}

test('a MultiTrackSet asks for the context its sets need, and only then', () => {
  // @ts-expect-error a member set reads context.user
  assert.throws(() => new MultiTrackSet([VipSafeTracks, PlainTracks], { key: 'x' }), TypeError);
  const vip = new MultiTrackSet([VipSafeTracks, PlainTracks], { key: 'x', context: { user: { isVip: true } } });
  assert.equal(vip.trackSet?.id, 'multi-ctx-plain', 'a VIP can only be in the set that takes everyone');
  assert.equal(new MultiTrackSet([PlainTracks], { key: 'x' }).trackSet?.id, 'multi-ctx-plain');
  const keyless = new MultiTrackSet([PlainTracks]).name;
  assert.ok(keyless === 'a' || keyless === 'control', keyless);
  assert.equal(
    MultiTrackSet.with([VipSafeTracks], { key: 'x', context: { user: { isVip: true } } }, (run) => run.name),
    'control',
  );
  // @ts-expect-error context is required here too
  assert.throws(() => MultiTrackSet.with([VipSafeTracks], { key: 'x' }, (run) => run.name), TypeError);
});

class ScopedVipTracks extends TrackSet<{ user: User } | undefined> {
  static override id = 'multi-ctx-scoped';
  static short_track(): void {}
  override get isEligible(): boolean {
    return this.context?.user.isVip !== true;
  }
}

test('a MultiTrackSet whose sets allow no context (a request scope gives it) may be made with no options, in and out of a scope', async () => {
  const { withTracksScope } = await import('../../src/index.js');
  // Every member allows undefined: no options at all compiles, and the scope's key and context are used.
  const inScope = withTracksScope({ key: 'scoped-user', context: { user: { isVip: true } } }, () => new MultiTrackSet([ScopedVipTracks, PlainTracks]));
  assert.equal(inScope.trackSet?.id, 'multi-ctx-plain', "the scope's VIP context made the other set ineligible");
  assert.equal(inScope.key, 'scoped-user');
  // A context that may be undefined is accepted as it is (exactOptionalPropertyTypes-safe).
  const maybe: { user: User } | undefined = undefined;
  assert.ok(new MultiTrackSet([ScopedVipTracks], { key: 'x', context: maybe }).name !== undefined);
  // One member needing a context still makes it required.
  // @ts-expect-error VipSafeTracks reads context.user
  assert.throws(() => new MultiTrackSet([ScopedVipTracks, VipSafeTracks]), TypeError);
});

class PriceTracks extends TrackSet {
  static override id = 'multi-types-price';
  static cheap_track(amount: number): number {
    return amount - 1;
  }
  static dear_track(amount: number): number {
    return amount + 1;
  }
}

class LabelTracks extends TrackSet {
  static override id = 'multi-types-label';
  static override addControlTrack = false;
  static plain_track(amount: number): string {
    return `${amount}`;
  }
}

test("a MultiTrackSet's name and run() are typed from the sets it lists: names as a union, the tracks' arguments and results", () => {
  const multi = new MultiTrackSet([PriceTracks, LabelTracks], { key: 'types' });
  const name: 'cheap' | 'dear' | 'plain' | 'control' = multi.name;
  assert.ok(['cheap', 'dear', 'plain', 'control'].includes(name));
  // @ts-expect-error not one of the sets' track names
  const nonsense: typeof multi.name = 'nonsense';
  assert.ok(!['cheap', 'dear', 'plain', 'control'].includes(nonsense));
  const result: number | string | undefined = multi.run(41);
  assert.ok(result === 40 || result === 42 || result === '41' || result === undefined, String(result));
  // @ts-expect-error the tracks take a number
  assert.doesNotThrow(() => multi.run('forty-one'));
  // A subclass's static trackSets are out of the compiler's sight: the name is any string.
  class Listed extends MultiTrackSet {
    static override trackSets = [PriceTracks, LabelTracks];
  }
  const listed = new Listed({ key: 'types' });
  const listedName: string = listed.name;
  assert.ok(['cheap', 'dear', 'plain', 'control'].includes(listedName));
  // ...and run() takes any arguments, as before.
  const listedResult: unknown = listed.run(41);
  assert.ok(listedResult === 40 || listedResult === 42 || listedResult === '41' || listedResult === undefined);
  // A run of listed sets is still a MultiTrackSet, for code that keeps any of them.
  const kept: MultiTrackSet = multi;
  assert.equal(kept.name, multi.name);
});
