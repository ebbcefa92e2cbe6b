/**
 * Issue 2, point 8 and the run's options, from the issue text alone: a
 * bad definition or a bad argument is a TracksError that names the class or argument and says
 * the fix, never a TypeError from deep inside, and never a silent fresh random draw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MultiTrackSet, ParamTrackSet, TrackSet, TracksError, bucketOf, forceTracks, forEachTrack, inHoldout } from '../../src/index.js';

class G2Delay extends TrackSet {
  static override id = 'g2-delay';
  static short_track(): string {
    return 'short';
  }
  static long_track(): string {
    return 'long';
  }
}

/** Asserts `fn` throws a TracksError whose message matches every pattern. */
function throwsTracksError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TracksError, `expected a TracksError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

async function rejectsTracksError(fn: () => Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(fn, (error: unknown) => {
    assert.ok(error instanceof TracksError, `expected a TracksError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

// JavaScript callers (and `as never` in TypeScript) can pass what the types refuse.
const loose = <T>(value: unknown): T => value as T;

describe('run options that would silently draw at random', () => {
  test('a key passed positionally (the seed writes DelayTracks(key=user_id)) is a TracksError, not a fresh draw', () => {
    throwsTracksError(() => new G2Delay(loose('user-1')).name, /G2Delay/, /not an object/, /\{ key: userId \}/);
    throwsTracksError(() => new G2Delay(loose(42)).name, /G2Delay/, /\{ key: userId \}/);
    throwsTracksError(() => new MultiTrackSet([G2Delay], loose('user-1')).name, /MultiTrackSet/, /new MultiTrackSet\(\[\.\.\.sets\], \{ key: userId \}\)/);
  });

  test('a misspelt option, with a key or without, is a TracksError naming it; valid options still work', () => {
    throwsTracksError(() => new G2Delay(loose({ userId: 'u1' })).name, /G2Delay/, /unknown option 'userId'/, /key, context and force/);
    throwsTracksError(() => new MultiTrackSet([G2Delay], loose({ kye: 'u1' })).name, /unknown option 'kye'/, /\(new MultiTrackSet\(\[\.\.\.sets\], \{ key: userId \}\)\)/);
    // with a key too: a misspelt force or context would be ignored, silently
    throwsTracksError(() => new G2Delay(loose({ key: 'u1', forse: 'long' })).name, /G2Delay/, /unknown option 'forse'/, /key, context and force/);
    throwsTracksError(() => new G2Delay(loose({ key: 'u1', contxt: {} })).name, /unknown option 'contxt'/);
    throwsTracksError(() => G2Delay.choose(loose({ key: 'u1', forse: 'long' })).name, /unknown option 'forse'/);
    throwsTracksError(() => new MultiTrackSet([G2Delay], loose({ key: 'u1', forse: 'x' })).name, /unknown option 'forse'/);
    // the legitimate forms are untouched
    assert.equal(new G2Delay().key, null);
    assert.equal(new G2Delay({}).key, null);
    assert.equal(new G2Delay({ key: undefined }).key, null);
    assert.equal(new G2Delay({ force: 'long' }).name, 'long');
    assert.equal(new G2Delay({ key: 'u1' }).name, bucketOf(G2Delay, 'u1'));
    assert.equal(new MultiTrackSet([G2Delay], {}).key, null);
  });
});

describe('class options that would be ignored', () => {
  test('a static field one edit from an option (or in another case) is a TracksError naming the option; other statics are left alone', () => {
    class Coverag extends TrackSet {
      static override id = 'g2-coverag';
      static coverag = 0.1;
      static a_track() {}
    }
    class Weigths extends TrackSet {
      static override id = 'g2-weigths';
      static weigths = { a: 2 };
      static a_track() {}
    }
    class Trak extends TrackSet {
      static override id = 'g2-trak';
      static addControlTrak = false;
      static a_track() {}
    }
    class Cased extends TrackSet {
      static override id = 'g2-cased';
      static Sticky = true;
      static a_track() {}
    }
    throwsTracksError(() => new Coverag({ key: 'u' }).name, /Coverag: static coverag is not an option/, /did you mean static coverage\?/);
    throwsTracksError(() => new Weigths({ key: 'u' }).name, /did you mean static weights\?/);
    throwsTracksError(() => new Trak({ key: 'u' }).name, /did you mean static addControlTrack\?/);
    throwsTracksError(() => new Cased({ key: 'u' }).name, /did you mean static sticky\?/);
    class Helpers extends TrackSet {
      static override id = 'g2-helpers';
      static override weight = 2;
      static tracks = ['a'];
      static maxRetries = 3;
      static helper() {}
      static a_track() {}
    }
    assert.equal(new Helpers({ key: 'u' }).name, bucketOf(Helpers, 'u'));
  });
});

describe('helpers given the wrong arguments', () => {
  test('X.with(options) without a callback names the class and the fix', () => {
    throwsTracksError(() => G2Delay.with({ key: 'u1' }, loose(undefined)), /G2Delay\.with: pass a callback/);
  });

  test('forceTracks without a function', () => {
    throwsTracksError(() => forceTracks({ 'g2-delay': 'long' }, loose(undefined)), /forceTracks: pass the function/);
  });

  test('forceTracks given a string names it as a string', () => {
    throwsTracksError(() => forceTracks(loose('a'), () => {}), /forceTracks takes tracks by track set id, e\.g\. .*, not the string 'a'$/);
  });

  test('forEachTrack without a body, with a run instead of its class, with a string or null', async () => {
    await rejectsTracksError(() => forEachTrack(G2Delay, loose(undefined)), /forEachTrack\(G2Delay\): pass the test body/);
    await rejectsTracksError(() => forEachTrack(loose<typeof G2Delay>(new G2Delay({ key: 'u1' })), () => {}), /got a run of G2Delay/, /pass G2Delay itself/);
    await rejectsTracksError(() => forEachTrack(loose<typeof G2Delay>('g2-delay'), () => {}), /the string 'g2-delay' is not a track set/);
    await rejectsTracksError(() => forEachTrack(loose<typeof G2Delay>(null), () => {}), /null is not a track set/);
  });

  test('passing a run where a class is expected does not choose (or expose) its track', () => {
    const run = new G2Delay({ key: 'u1' });
    throwsTracksError(() => bucketOf(loose<typeof G2Delay>(run), 'u1'), /got a run of G2Delay/);
    // the run was never asked for its name: logging it shows no track yet
    assert.doesNotMatch(String((run as unknown as Record<symbol, (d: number, o: object, i: (v: unknown) => string) => string>)[Symbol.for('nodejs.util.inspect.custom')]!(0, {}, (v) => JSON.stringify(v))), /name/);
  });

  test('a MultiTrackSet force that is not { setId: track }: null is no force; a string, number or array is a TracksError', () => {
    assert.equal(new MultiTrackSet([G2Delay], { key: 'u1', force: loose(null) }).name, bucketOf(G2Delay, 'u1'));
    throwsTracksError(() => new MultiTrackSet([G2Delay], { key: 'u1', force: loose('long') }).name, /force takes tracks by set id/, /not 'long'/);
    throwsTracksError(() => new MultiTrackSet([G2Delay], { key: 'u1', force: loose(5) }).name, /force takes tracks by set id/);
    throwsTracksError(() => new MultiTrackSet([G2Delay], { key: 'u1', force: loose(['g2-delay']) }).name, /not an array/);
  });
});

describe('weights the choice cannot rank', () => {
  test('positive weights below a millionth are a TracksError (they overflowed the score to Infinity: a TypeError)', () => {
    class Denormal extends TrackSet {
      static override id = 'g2-denormal';
      static override addControlTrack = false;
      static override weights = { a: 1e-320, b: 2e-320 };
      static a_track(): void {}
      static b_track(): void {}
    }
    throwsTracksError(() => new Denormal({ key: 1 }).name, /Denormal: weight of 'a' is 1e-320; use 0, or at least 0\.000001 \(weights are relative: scale them all up\)$/);
    class TinySet extends TrackSet {
      static override id = 'g2-tiny-set';
      static override weight = 1e-310;
      static a_track(): void {}
    }
    throwsTracksError(() => new MultiTrackSet([TinySet, G2Delay], { key: 1 }).name, /TinySet: static weight is 1e-310; use 0, or at least 0\.000001 \(weights are relative: scale them all up\); the default is 100$/);
    throwsTracksError(() => inHoldout('u1', { id: 'g2-h', share: 1e-320 }), /holdout\.share is 1e-320/);
  });

  test('a millionth to a million still splits as weighted, with every score finite', () => {
    class Extreme extends TrackSet {
      static override id = 'g2-extreme';
      static override addControlTrack = false;
      static override weights = { rare: 0.000001, common: 1_000_000 };
      static rare_track(): void {}
      static common_track(): void {}
    }
    let rare = 0;
    for (let i = 0; i < 20_000; i++) if (bucketOf(Extreme, i) === 'rare') rare++;
    assert.equal(rare, 0); // 1e-12 of 20,000 keys
    class Small extends TrackSet {
      static override id = 'g2-small';
      static override addControlTrack = false;
      static override weights = { a: 0.000001, b: 0.000003 };
      static a_track(): void {}
      static b_track(): void {}
    }
    let a = 0;
    for (let i = 0; i < 20_000; i++) if (bucketOf(Small, i) === 'a') a++;
    assert.ok(Math.abs(a / 20_000 - 0.25) < 0.02, `a's share ${a / 20_000}`);
  });
});

describe('every kind of bad definition, each named with its fix', () => {
  const cases: Array<[string, () => unknown, RegExp[]]> = [
    ['id a number', () => new (class NumId extends TrackSet { static override id = loose<string>(42); static a_track(): void {} })().name, [/NumId: static id is not a usable id \(42\)/, /static id = '/]],
    ['id with a control character', () => new (class CtlId extends TrackSet { static override id = 'a\u0007b'; static a_track(): void {} })().name, [/CtlId: static id/, /control character/]],
    ['addControlTrack not a boolean', () => new (class FlagTracks extends TrackSet { static override id = 'g2-flag'; static override addControlTrack = loose<boolean>('no'); static a_track(): void {} })().name, [/FlagTracks: static addControlTrack is the string 'no'; set it to true or false/]],
    ['weights an array', () => new (class ArrW extends TrackSet { static override id = 'g2-arrw'; static override weights = loose<Record<string, number>>([1, 2]); static a_track(): void {} })().name, [/ArrW: static weights must be an object/]],
    ['a weight as a string', () => new (class StrW extends TrackSet { static override id = 'g2-strw'; static override weights = loose<Record<string, number>>({ a: '2' }); static a_track(): void {} })().name, [/StrW: weight of 'a' is the string '2'; use a number from 0 to 1,000,000 \(weights are relative\)$/]],
    ['a weight NaN', () => new (class NanW extends TrackSet { static override id = 'g2-nanw'; static override weights = { a: NaN }; static a_track(): void {} })().name, [/NanW: weight of 'a' is NaN/]],
    ['a set weight of -1', () => new MultiTrackSet([class NegSet extends TrackSet { static override id = 'g2-negset'; static override weight = -1; static a_track(): void {} }], { key: 1 }).name, [/NegSet: static weight is -1/]],
    ['coverage as a string', () => new (class StrCov extends TrackSet { static override id = 'g2-strcov'; static override coverage = loose<number>('0.5'); static a_track(): void {} })().name, [/StrCov: static coverage is the string '0\.5'; use a share of keys between 0 and 1/]],
    ['coverage 1.01', () => new (class BigCov extends TrackSet { static override id = 'g2-bigcov'; static override coverage = 1.01; static a_track(): void {} })().name, [/BigCov: static coverage is 1\.01/]],
    ['params not an array', () => new (class NotArr extends ParamTrackSet { static override id = 'g2-notarr'; static override params = loose<unknown[]>('abc'); static override track(): void {} })().name, [/NotArr: static params is not an array/]],
    ['trackName returning a number', () => new (class NumName extends ParamTrackSet { static override id = 'g2-numname'; static override params = [1, 2]; static override trackName(p: unknown): string { return loose<string>(p); } static override track(): void {} })().name, [/NumName: trackName\(params\[0\]\) returned number; return a string/]],
    ['default track names that collide: 1 and "1"', () => new (class Collide extends ParamTrackSet { static override id = 'g2-collide'; static override params = [1, '1']; static override track(): void {} })().name, [/Collide: params\[0\] and params\[1\] both define the track '1'/]],
    // a track method on a ParamTrackSet would be left out in silence: its tracks are its params
    ['a ParamTrackSet with a track method', () => new (class Mixed extends ParamTrackSet { static override id = 'g2-mixed'; static override params = [1, 2]; static override track(): void {} static long_track(): void {} })().name, [/Mixed: static long_track\(\) would be ignored: a ParamTrackSet's tracks are its static params/]],
    ['a param that cannot name a track (a function)', () => new (class FnParam extends ParamTrackSet { static override id = 'g2-fnparam'; static override params = [() => 1]; static override track(): void {} })().name, [/FnParam: params\[0\]/, /define static trackName/]],
    ['a track named by an empty suffix: static _track()', () => new (class EmptyName extends TrackSet { static override id = 'g2-empty-name'; static _track(): void {} })().name, [/EmptyName: static _track\(\) gives an empty track name/]],
    ['a MultiTrackSet given an instance', () => new MultiTrackSet([loose(new G2Delay({ key: 1 }))], { key: 1 }).name, [/MultiTrackSet: track set #0/, /pass TrackSet classes, not instances/]],
    ['a MultiTrackSet given a plain class', () => new MultiTrackSet([loose(class Plain {})], { key: 1 }).name, [/MultiTrackSet: track set #0: Plain is not a track set; extend TrackSet/]],
    ['a MultiTrackSet given an arrow function', () => new MultiTrackSet([G2Delay, loose(() => 1)], { key: 1 }).name, [/MultiTrackSet: track set #1: a function is not a track set; extend TrackSet/]],
    ['a MultiTrackSet subclass without trackSets', () => new (class NoSets extends MultiTrackSet {})({ key: 1 }).name, [/NoSets: no track sets given/, /static trackSets/]],
  ];
  for (const [label, fn, patterns] of cases) test(label, () => throwsTracksError(fn, ...patterns));
});

describe('definitions and keys whose own code misbehaves', () => {
  test("a ParamTrackSet's trackName or track that is not a function is a TracksError at first use, naming it", () => {
    class NamedByText extends ParamTrackSet {
      static override id = 'misuse-param-name';
      static override params = [1, 2];
      static override trackName = loose<(params: unknown) => string>('x');
      static override track(): void {}
    }
    throwsTracksError(() => new NamedByText({ key: 1 }).name, /NamedByText: static trackName is the string 'x', not a function/, /define static trackName\(params\)/);
    class RunByNumber extends ParamTrackSet {
      static override id = 'misuse-param-track';
      static override params = [1, 2];
      static override trackName(params: unknown): string {
        return `n${String(params)}`;
      }
      static override track = loose<(params: unknown) => unknown>(5);
    }
    // Before any run, even of a forced track: not a TypeError when the run calls it.
    throwsTracksError(() => new RunByNumber({ key: 1, force: 'n1' }).name, /RunByNumber: static track is 5, not a function/, /define static track\(params, \.\.\.args\)/);
  });

  test('a getter or a non-function named as a track is not a track: an option read through a getter, a track a flag switches off', () => {
    class Flagged extends TrackSet {
      static override id = 'misuse-flagged-track';
      static override get addControlTrack(): boolean {
        return false;
      }
      static beta_track = loose<(() => void) | undefined>(undefined); // BETA off
      static a_track(): void {}
      static b_track(): void {}
      get lastTrack(): string {
        return 'a';
      }
    }
    assert.deepEqual([...Flagged.trackNames()].sort(), ['a', 'b']);
    assert.ok(['a', 'b'].includes(new Flagged({ key: 1 }).name));
  });

  test("a 10,000-character track method's name is cut in the message", () => {
    class Long extends TrackSet {
      static override id = 'misuse-long-method';
      static b_track(): void {}
    }
    Object.defineProperty(Long, `${'x'.repeat(10_000)}_track`, { value: () => 1, configurable: true, writable: true });
    assert.throws(
      () => new Long({ key: 1 }).name,
      (error: unknown) => error instanceof TracksError && /is 10000 characters long; use at most 200/.test(error.message) && error.message.length < 400,
    );
  });

  test("a key whose toJSON(), getter or Proxy throws is a TracksError carrying that error, not a false 'nested too deeply'", () => {
    class Keyed extends TrackSet {
      static override id = 'misuse-throwing-key';
      static a_track(): void {}
    }
    class Stamp {
      constructor(readonly at: Date) {}
      toJSON(): unknown {
        return { at: this.at.toISOString() }; // RangeError: Invalid time value
      }
    }
    const keys: Array<[unknown, RegExp, string]> = [
      [new Stamp(new Date('garbage')), /threw RangeError: Invalid time value/, 'RangeError'],
      [new Proxy({}, { ownKeys: () => { throw new TypeError('no keys'); } }), /threw TypeError: no keys/, 'TypeError'],
      [{ get id(): string { throw new Error('not loaded'); } }, /threw Error: not loaded/, 'Error'],
    ];
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    keys.push([revoked, /threw TypeError: .*revoked/, 'TypeError']);
    for (const [key, pattern, cause] of keys) {
      assert.throws(
        () => new Keyed({ key }).name,
        (error: unknown) =>
          error instanceof TracksError && pattern.test(error.message) && /^key: /.test(error.message) && !/nested too deeply/.test(error.message) && (error.cause as Error).name === cause,
      );
    }
    // A thrown value with no toString at all is still described.
    const bare = { toJSON: (): never => { throw Object.create(null) as never; } };
    throwsTracksError(() => new Keyed({ key: bare }).name, /^key: serializing it threw a value of type object/);
  });
});
