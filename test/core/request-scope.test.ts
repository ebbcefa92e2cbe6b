// A request scope carries the request's key and context to every run and conversion in it,
// across awaits and timers, so handlers need not thread the key through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MultiTrackSet, TrackSet, TracksError, close, configure, convert, memoryStore, scopeTracks, stats, withTracksScope } from '../../src/index.js';

interface Shopper {
  readonly plan: 'free' | 'pro';
}

// Context may come from the scope: declared optional, so `new CheckoutTracks()` type-checks.
class CheckoutTracks extends TrackSet<Shopper | undefined> {
  static override id = 'scope-checkout';
  static fast_track() {}
  static slow_track() {}
  override get isEligible(): boolean {
    return this.context?.plan === 'pro';
  }
}

class BannerTracks extends TrackSet {
  static override id = 'scope-banner';
  static big_track() {}
}

const KEYS = Array.from({ length: 200 }, (_, i) => `shopper-${i}`);

test('inside a scope, a run with no key uses the scope’s key and context; an explicit key or context wins', () => {
  for (const key of KEYS) {
    const expected = new CheckoutTracks({ key, context: { plan: 'pro' } }).name;
    withTracksScope({ key, context: { plan: 'pro' } }, () => {
      const run = new CheckoutTracks();
      assert.equal(run.key, key);
      assert.equal(run.name, expected);
      assert.equal(run.reason, 'assigned');
      assert.equal(new CheckoutTracks({ key: 'someone-else', context: { plan: 'pro' } }).key, 'someone-else', 'an explicit key wins');
      assert.equal(new CheckoutTracks({ context: { plan: 'free' } }).reason, 'ineligible', 'an explicit context wins');
    });
  }
  // Numbers and objects are keys as everywhere: serialized the same way.
  withTracksScope({ key: 42 }, () => assert.equal(new BannerTracks().name, new BannerTracks({ key: 42 }).name));
});

test('an explicit key in a scope takes nothing else from it: not its context, not its chosen tracks, and a lazy scope is not resolved for it', async () => {
  const { lazyScopeState, runInScope } = await import('../../src/core/request-scope.js');
  withTracksScope({ key: 'staff-1', context: { plan: 'staff' } }, () => {
    const other = new CheckoutTracks({ key: 'someone-else' });
    assert.equal(other.context, undefined, "the scope's context is its user's");
    assert.equal(other.name, new CheckoutTracks({ key: 'someone-else' }).name);
    assert.deepEqual(scopeTracks(), {}, 'a run for another key is not the request user\'s track');
    const own = new CheckoutTracks().name;
    assert.deepEqual(scopeTracks(), { 'scope-checkout': own });
    void new BannerTracks({ key: 'staff-1' }).name; // the scope's own key, given explicitly: listed
    assert.deepEqual(Object.keys(scopeTracks()).sort(), ['scope-banner', 'scope-checkout']);
  });
  let resolved = 0;
  const lazy = lazyScopeState(() => {
    resolved++; // an adapter sets the visitor cookie here
    return { key: 'visitor', context: { plan: 'pro' } };
  });
  runInScope(lazy, () => {
    void new CheckoutTracks({ key: 'someone-else' }).name;
    assert.equal(resolved, 0, 'a request that never used its key is not given a visitor cookie');
    void new CheckoutTracks().name;
    assert.equal(resolved, 1);
  });
});

class FooterTracks extends TrackSet {
  static override id = 'scope-footer';
  static slim_track() {}
  static tall_track() {}
}

test('a MultiTrackSet with no key uses the scope’s key and context too', () => {
  for (const key of KEYS.slice(0, 50)) {
    const context = { plan: 'pro' };
    const expected = new MultiTrackSet([BannerTracks, FooterTracks], { key });
    withTracksScope({ key, context }, () => {
      const run = new MultiTrackSet([BannerTracks, FooterTracks]);
      assert.equal(run.key, key);
      assert.equal(run.name, expected.name);
      assert.equal(run.trackSet?.context, context);
      assert.deepEqual(scopeTracks(), { [(run.trackSet!.constructor as typeof TrackSet).id]: run.name });
    });
  }
});

test('outside any scope, or in a scope without a key, no key still means a fresh random assignment', () => {
  const outside = new Set(Array.from({ length: 200 }, () => new BannerTracks().name));
  assert.deepEqual([...outside].sort(), ['big', 'control']);
  const keyless = withTracksScope({ context: {} }, () => new Set(Array.from({ length: 200 }, () => new BannerTracks().name)));
  assert.deepEqual([...keyless].sort(), ['big', 'control']);
  assert.equal(withTracksScope({ key: null }, () => new BannerTracks().key), null);
  // An empty id (job.userId ?? '') is nobody's, as the adapters read it: each run draws afresh,
  // not one key shared by every such job.
  const empty = withTracksScope({ key: '' }, () => Array.from({ length: 200 }, () => new BannerTracks()));
  assert.deepEqual([...new Set(empty.map((run) => run.key))], [null]);
  assert.deepEqual([...new Set(empty.map((run) => run.name))].sort(), ['big', 'control']);
});

test('the scope follows the request across awaits and timers; scopes nest and the inner one wins; scopeTracks lists the chosen tracks', async () => {
  await withTracksScope({ key: 'outer-user', context: { plan: 'pro' } }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(new BannerTracks().key, 'outer-user');
    const checkout = await Promise.resolve().then(() => new CheckoutTracks().name);
    const banner = new BannerTracks().name;
    assert.deepEqual(scopeTracks(), { 'scope-checkout': checkout, 'scope-banner': banner });
    await withTracksScope({ key: 'inner-user' }, async () => {
      await null;
      assert.equal(new BannerTracks().key, 'inner-user');
    });
    assert.equal(new BannerTracks().key, 'outer-user', 'back in the outer scope');
  });
  assert.deepEqual(scopeTracks(), {}, 'no scope, no tracks');
  // Two concurrent requests never see each other's key.
  const seen = await Promise.all(
    ['a', 'b', 'c'].map((key) =>
      withTracksScope({ key }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 3 * key.charCodeAt(0) % 7));
        return new BannerTracks().key;
      }),
    ),
  );
  assert.deepEqual(seen, ['a', 'b', 'c']);
});

test('convert({ metric }) in a scope credits the scope’s key; outside one, with no key, it goes to onError', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  configure({ store, outbox: false, onError: (e) => errors.push(e) });
  const converted = new Map<string, string>();
  for (const key of KEYS.slice(0, 100)) {
    await withTracksScope({ key }, async () => {
      const run = new BannerTracks();
      await run.run();
      if (run.name === 'big') {
        convert({ metric: 'purchase' });
        converted.set(key, run.name);
      }
    });
  }
  convert({ metric: 'purchase' });
  assert.equal(stats().rejected, 1);
  assert.ok(errors[0] instanceof TracksError);
  assert.match(errors[0]!.message, /outside a request scope with a key/);
  await close();
  const [sums] = await store.summarize({ trackSetId: 'scope-banner' });
  const big = sums!.tracks.find((t) => t.track === 'big')!;
  assert.equal(big.metrics.get('purchase')!.converted, converted.size, 'every conversion credited to its request’s user');
  assert.equal(sums!.tracks.find((t) => t.track === 'control')!.metrics.get('purchase')?.converted ?? 0, 0);
});

test('withTracksScope checks its arguments with TracksErrors', () => {
  assert.throws(() => withTracksScope(null as never, () => 1), (e: unknown) => e instanceof TracksError && /pass \{ key, context \}/.test(e.message));
  assert.throws(() => withTracksScope({ key: 'a' }, 'nope' as never), /pass the function to run in the scope/);
  assert.throws(() => withTracksScope({ key: Symbol('x') }, () => 1), TracksError);
});

test('an adapter’s scope reads the key and context on the first run that needs them, once; a key function that throws is asked again', async () => {
  const { lazyScopeState, runInScope, scopeStateOf } = await import('../../src/core/request-scope.js');
  let reads = 0;
  let contextReads = 0;
  let user: string | undefined; // set by a later "authentication" step, after the scope opened
  const scope = lazyScopeState(
    () => {
      reads++;
      return user;
    },
    () => {
      contextReads++;
      return { plan: 'pro' };
    },
  );
  assert.equal(reads + contextReads, 0, 'nothing is read when the scope opens');
  user = 'shopper-7';
  const inScope = runInScope(scope, () => [new CheckoutTracks().name, new CheckoutTracks().name]);
  assert.equal(reads, 1);
  assert.equal(contextReads, 1);
  assert.deepEqual(inScope, [new CheckoutTracks({ key: 'shopper-7', context: { plan: 'pro' } }).name, new CheckoutTracks({ key: 'shopper-7', context: { plan: 'pro' } }).name]);
  assert.equal(scope.key, scopeStateOf({ key: 'shopper-7' }).key, 'the key is serialized as any run key is');
  assert.deepEqual(Object.keys(scope.chosen), ['scope-checkout']);

  let attempts = 0;
  const flaky = lazyScopeState(() => {
    if (++attempts === 1) throw new Error('session store down');
    return 'shopper-8';
  });
  assert.throws(() => flaky.key, /session store down/);
  assert.notEqual(flaky.key, null, 'the second read asks again and gets the key');
  assert.equal(attempts, 2);
  assert.equal(flaky.key, flaky.key);
  assert.equal(attempts, 2, 'settled: not asked a third time');
});

test('an explicit key that is the scope’s own is the same user: it takes the scope’s context too, so it gets the track the request did, and req.tracks stays true', () => {
  for (const key of KEYS.slice(0, 50)) {
    withTracksScope({ key, context: { plan: 'pro' } }, () => {
      const served = new CheckoutTracks().name;
      const again = new CheckoutTracks({ key });
      assert.deepEqual(again.context, { plan: 'pro' });
      assert.equal(again.name, served, 'the same user, the same track');
      assert.equal(again.reason, 'assigned');
      assert.deepEqual(scopeTracks(), { 'scope-checkout': served });
      assert.equal(new CheckoutTracks({ key, context: { plan: 'free' } }).reason, 'ineligible', 'an explicit context still wins');
    });
  }
});

// A probe of issue 11: withTracksScope({ key, contxt }) ran with no context and no word, where
// every other entry point refuses a misspelt option.
test('withTracksScope refuses a misspelt option, as new and the adapters do', () => {
  assert.throws(
    () => withTracksScope({ key: 'k', contxt: { plan: 'staff' } } as never, () => 1),
    (e: unknown) => e instanceof TracksError && e.message === "withTracksScope: unknown option 'contxt'; did you mean 'context'?",
  );
  assert.throws(() => withTracksScope({ user: 'k' } as never, () => 1), /withTracksScope: unknown option 'user'; the options are key, context/);
  assert.equal(withTracksScope({ key: 'k', context: undefined }, () => 2), 2);
});
