// A shadow candidate runs for no user: nothing it does is recorded (its conversions, the runs
// of other sets inside it), a run past its timeout counts as a timeout even when its work is
// synchronous, and close() says which runs it could not wait for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackSet, TracksError, close, configure, convert, flush, memoryStore, scopeTracks, shadowContext, stats, withTracksScope } from '../../src/index.js';
import type { ExposureEvent, RecordedEvent, ShadowEvent, ShadowOptions } from '../../src/index.js';

class InnerTracks extends TrackSet {
  static override id = 'isolation-inner';
  static a_track() {
    return 'a';
  }
}

class LiveTracks extends TrackSet {
  static override id = 'isolation-live';
  static a_track() {
    return 'a';
  }
}

/** Both paths do what the served one does: convert, and run another set; the candidate after an await. */
class CheckoutQuery extends TrackSet {
  static override id = 'isolation-checkout';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 2_000, maxConcurrent: 100 };
  static old_track(user: string) {
    convert({ key: user, metric: 'search' });
    new InnerTracks({ key: user }).run();
    return user.length;
  }
  static async new_track(user: string) {
    await Promise.resolve();
    convert({ key: user, metric: 'search' });
    convert({ metric: 'search-scoped' }); // credits the request scope's key, if any
    new InnerTracks({ key: user }).run();
    new InnerTracks().run(); // the scope's key
    await new Promise((resolve) => setTimeout(resolve, 1));
    new LiveTracks({ key: user }).run();
    return user.length;
  }
}

const kindOf = <K extends RecordedEvent['kind']>(events: readonly RecordedEvent[], kind: K) =>
  events.filter((e): e is Extract<RecordedEvent, { kind: K }> => e.kind === kind);

test('nothing a candidate does is recorded: its conversions and the runs of other sets in it, awaited or not', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  const scopes: Record<string, string>[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const user = `user-${i}`;
      withTracksScope({ key: user }, () => {
        new CheckoutQuery().run(user);
        convert({ metric: 'search-scoped' });
        scopes.push({});
      });
    }
    await flush();
    const conversions = kindOf(store.events, 'conversion');
    assert.equal(conversions.filter((c) => c.metric === 'search').length, 50, 'one conversion per request: the baseline\'s');
    assert.equal(conversions.filter((c) => c.metric === 'search-scoped').length, 50, 'the scope\'s own convert() only');
    const exposures = kindOf(store.events, 'exposure') as ExposureEvent[];
    assert.equal(exposures.filter((e) => e.trackSetId === 'isolation-inner').length, 50, 'the baseline\'s runs of the inner set');
    assert.equal(exposures.filter((e) => e.trackSetId === 'isolation-live').length, 0, 'a set run only by the candidate exposes no one');
    // Nor is it published: the report would list a set with no users that no one was ever served.
    assert.deepEqual(kindOf(store.events, 'definition').map((d) => d.trackSetId).sort(), ['isolation-checkout', 'isolation-inner']);
    const health = kindOf(store.events, 'health').filter((h) => h.trackSetId === 'isolation-inner');
    assert.equal(health.reduce((sum, h) => sum + h.runs, 0), 50, 'the candidate\'s runs of other sets are not timed either');
    const shadow = kindOf(store.events, 'shadow') as ShadowEvent[];
    assert.equal(shadow.reduce((sum, s) => sum + s.matches, 0), 50, 'every candidate ran, and matched');
  } finally {
    await close();
  }
});

test('the request\'s chosen tracks list only what it served, not the candidate\'s runs', async () => {
  configure({ store: memoryStore(), flushInterval: 60_000 });
  try {
    let chosen: Readonly<Record<string, string>> = {};
    await withTracksScope({ key: 'scoped-user' }, async () => {
      new CheckoutQuery().run('scoped-user');
      await flush(); // the candidate has run, in this scope's async context
      chosen = { ...scopeTracks() };
    });
    assert.deepEqual(Object.keys(chosen).sort(), ['isolation-checkout', 'isolation-inner']);
  } finally {
    await close();
  }
});

let servedWrites = 0;
let refusedAfterAwait = 0;

class ReadOnlyAfterAwait extends TrackSet {
  static override id = 'isolation-read-only';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, readOnly: true };
  static old_track() {
    shadowContext().write(() => servedWrites++);
    return 1;
  }
  static async new_track() {
    await Promise.resolve();
    const context = shadowContext(); // read after an await: still the candidate's
    try {
      context.write(() => servedWrites++);
    } catch (error) {
      if (error instanceof TracksError) refusedAfterAwait++;
      throw error;
    }
    return 1;
  }
}

test('shadowContext() read after an await still knows the candidate\'s run: a readOnly write there is refused, and counted as an error', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 5; i++) new ReadOnlyAfterAwait({ key: `k${i}` }).run();
    await flush();
    assert.equal(servedWrites, 5, 'the served runs wrote');
    assert.equal(refusedAfterAwait, 5);
    const shadow = kindOf(store.events, 'shadow') as ShadowEvent[];
    assert.equal(shadow.reduce((sum, s) => sum + s.errors, 0), 5);
    assert.equal(shadowContext().inShadow, false, 'outside any candidate, the serving context');
  } finally {
    await close();
  }
});

class BusyCandidate extends TrackSet {
  static override id = 'isolation-busy';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 20, guardrail: false };
  static old_track() {
    return 1;
  }
  static new_track() {
    const until = performance.now() + 60;
    while (performance.now() < until); // synchronous work past the timeout: the timer cannot fire first
    return 1;
  }
}

test('a candidate whose synchronous work outlasts its timeout counts as a timeout, not a match', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 3; i++) new BusyCandidate({ key: `b${i}` }).run();
    await flush();
    const shadow = kindOf(store.events, 'shadow') as ShadowEvent[];
    assert.equal(shadow.reduce((sum, s) => sum + s.timeouts, 0), 3);
    assert.equal(shadow.reduce((sum, s) => sum + s.matches, 0), 0);
  } finally {
    await close();
  }
});

class ReasonedIgnore extends TrackSet {
  static override id = 'isolation-ignore';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow = { sample: 1, ignore: (a: number, b: number) => (Math.abs(a - b) === 1 ? 'rounding' : '') } as unknown as ShadowOptions;
  static old_track(x: number) {
    return x;
  }
  static new_track(x: number) {
    return x % 2 === 0 ? x + 1 : x + 2;
  }
}

test('ignore is read as compare is, truthy or not: a rule that returns its reason ignores', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let x = 0; x < 10; x++) new ReasonedIgnore({ key: `i${x}` }).run(x);
    await flush();
    const shadow = kindOf(store.events, 'shadow') as ShadowEvent[];
    assert.equal(shadow.reduce((sum, s) => sum + s.ignored, 0), 5);
    assert.equal(shadow.reduce((sum, s) => sum + s.mismatches, 0), 5);
  } finally {
    await close();
  }
});

class SlowCandidate extends TrackSet {
  static override id = 'isolation-slow';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, timeout: 3_000, guardrail: false };
  static old_track() {
    return 1;
  }
  static async new_track() {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return 1;
  }
}

test('close() waits for shadow runs within its bound; those it could not wait for are counted as dropped and reported, not lost silently', async () => {
  const store = memoryStore();
  const errors: Error[] = [];
  // close() waits half of the lesser of flushTimeout and writeTimeout (here 300 ms) for shadow runs.
  configure({ store, flushInterval: 60_000, flushTimeout: 600, writeTimeout: 2_000, onError: (e) => errors.push(e) });
  for (let i = 0; i < 4; i++) new SlowCandidate({ key: `s${i}` }).run();
  await new Promise((resolve) => setImmediate(resolve));
  await close();
  assert.equal(stats().dropped, 4);
  assert.ok(errors.some((e) => /4 shadow candidate runs were still running when close\(\) stopped waiting/.test(e.message)), errors.map((e) => e.message).join('; '));
  assert.equal(kindOf(store.events, 'shadow').length, 0);
});

test('a shadow that close() can wait for is recorded in full, nothing dropped', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000, flushTimeout: 4_000, writeTimeout: 4_000 });
  for (let i = 0; i < 4; i++) new SlowCandidate({ key: `w${i}` }).run();
  await new Promise((resolve) => setImmediate(resolve));
  await close();
  assert.equal(stats().dropped, 0);
  const shadow = kindOf(store.events, 'shadow') as ShadowEvent[];
  assert.equal(shadow.reduce((sum, s) => sum + s.matches, 0), 4);
});

test('misspelt options inside guardrail and samples are TracksErrors naming the nearest option, as at the top level', () => {
  const shadowed = (id: string, shadow: unknown) => {
    class Shadowed extends TrackSet {
      static override id = id;
      static override addControlTrack = false;
      static override control = 'old';
      static override shadow = shadow as ShadowOptions;
      static old_track() {}
      static new_track() {}
    }
    return () => new Shadowed().name;
  };
  const refused = (id: string, shadow: unknown, message: RegExp) =>
    assert.throws(shadowed(id, shadow), (e: unknown) => e instanceof TracksError && message.test(e.message), JSON.stringify(shadow));
  refused('isolation-bad-1', { guardrail: { errorrate: 0.01 } }, /static shadow\.guardrail: unknown option 'errorrate'; did you mean 'errorRate'\?/);
  refused('isolation-bad-2', { samples: { perminute: 0 } }, /static shadow\.samples: unknown option 'perminute'; did you mean 'perMinute'\?/);
  refused('isolation-bad-3', { guardrail: [] }, /static shadow\.guardrail is an array \[\]; give \{ errorRate, timeoutRate, minRuns \}/);
  refused('isolation-bad-4', { guardrail: { minRuns: 1.5 } }, /static shadow\.guardrail\.minRuns is 1\.5; use a whole number from 1/);
  refused('isolation-bad-5', { sample: '0.05' }, /static shadow\.sample is the string '0\.05'; use a number from 0 to 1/);
  refused('isolation-bad-6', [], /static shadow is an array \[\]; give an object such as \{ sample: 0\.05, timeout: 200 \}/);
  refused('isolation-bad-7', { samples: [] }, /static shadow\.samples is an array \[\]/);
  assert.doesNotThrow(shadowed('isolation-good', { guardrail: { errorRate: 0.1, timeoutRate: 0.1, minRuns: 20 }, samples: { perMinute: 2, maxBytes: 100 } }));
});

// A dependency the candidate is the first to use, which then runs for the process (a refresh timer).
let feedStarted = false;
let feedWritesDone = 0;
let feedTicks = 0;
function startPriceFeed(): void {
  if (feedStarted) return;
  feedStarted = true;
  const timer = setInterval(() => {
    feedTicks++;
    convert({ key: 'price-feed', metric: 'feed-refresh' }); // the process's own, for no request
    try {
      shadowContext().write(() => feedWritesDone++); // a cache write through the guard
    } catch {
      // refused while the candidate's run lasts
    }
  }, 5);
  timer.unref();
  stopFeed = () => clearInterval(timer);
}
let stopFeed = () => {};

class FeedUser extends TrackSet {
  static override id = 'isolation-feed';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, readOnly: true, timeout: 50 };
  static old_track() {
    return 1;
  }
  static new_track() {
    startPriceFeed(); // the new path uses the feed first
    return 1;
  }
}

test('what a candidate leaves running once it settled and its timeout passed (a timer of a dependency it started) records and writes as the process does', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    withTracksScope({ key: 'feed-user' }, () => new FeedUser().run());
    // Past the candidate's 50 ms, until the timer has ticked 30 times: a loaded machine fires a
    // 5 ms timer far less often, so the count of ticks, not a time, decides (10 s at most).
    const start = Date.now();
    while ((Date.now() - start < 300 || feedTicks < 30) && Date.now() - start < 10_000) await new Promise((resolve) => setTimeout(resolve, 10));
    await flush();
    const refreshes = kindOf(store.events, 'conversion').filter((c) => c.metric === 'feed-refresh').length;
    assert.ok(refreshes >= 10, `${refreshes} refreshes recorded after the candidate's 50 ms`);
    assert.ok(feedWritesDone >= 10, `${feedWritesDone} writes went through after the candidate's 50 ms`);
  } finally {
    stopFeed();
    await close();
  }
});

class SharedPricing extends TrackSet {
  static override id = 'isolation-shared-pricing';
  static a_track() {
    return 'a';
  }
  static b_track() {
    return 'b';
  }
}

class SearchWithPricing extends TrackSet {
  static override id = 'isolation-search';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, maxConcurrent: 100 };
  static old_track(_pricing: SharedPricing) {
    return 1;
  }
  static new_track(pricing: SharedPricing) {
    pricing.run(); // the candidate uses the request's run first
    return 1;
  }
}

test('a run object the request serves, whose track a candidate happened to choose first, is still exposed and listed for the request', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  const listed: Record<string, string>[] = [];
  try {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        withTracksScope({ key: `shared-${i}` }, async () => {
          const pricing = new SharedPricing(); // chosen on first use
          new SearchWithPricing().run(pricing);
          await new Promise((resolve) => setTimeout(resolve, 5)); // the candidate runs meanwhile
          pricing.run(); // served to the user
          listed.push({ ...scopeTracks() });
        }),
      ),
    );
    await flush();
    const exposures = kindOf(store.events, 'exposure').filter((e) => e.trackSetId === 'isolation-shared-pricing');
    assert.equal(exposures.length, 20);
    const health = kindOf(store.events, 'health').filter((h) => h.trackSetId === 'isolation-shared-pricing');
    assert.equal(health.reduce((sum, h) => sum + h.runs, 0), 20, 'the served runs are timed; the candidate\'s are not');
    for (const tracks of listed) assert.ok('isolation-shared-pricing' in tracks, JSON.stringify(tracks));
  } finally {
    await close();
  }
});

class ScopedHelperCandidate extends TrackSet {
  static override id = 'isolation-scoped-helper';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, maxConcurrent: 100 };
  static old_track(user: string) {
    convert({ key: user, metric: 'paid' });
    return 1;
  }
  static async new_track(user: string) {
    // Code the candidate calls opens a scope of its own (a forUser() helper, say).
    await withTracksScope({ key: user }, async () => {
      await Promise.resolve();
      convert({ metric: 'paid' });
    });
    return 1;
  }
}

test('a scope opened inside a candidate is still the candidate\'s run: nothing recorded in it', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 10; i++) new ScopedHelperCandidate({ key: `helper-${i}` }).run(`helper-${i}`);
    await flush();
    assert.equal(kindOf(store.events, 'conversion').filter((c) => c.metric === 'paid').length, 10, 'the baseline\'s only');
  } finally {
    await close();
  }
});

let detachedWrites = 0;
let detachedRefused = 0;
/** Work both paths start without awaiting it: a conversion and a cache write, a moment later. */
function afterTheResponse(user: string): void {
  void (async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    convert({ key: user, metric: 'detached-search' });
    try {
      shadowContext().write(() => detachedWrites++);
    } catch {
      detachedRefused++;
    }
  })();
}

class DetachedWork extends TrackSet {
  static override id = 'isolation-detached';
  static override addControlTrack = false;
  static override control = 'old';
  static override shadow: ShadowOptions = { sample: 1, readOnly: true, timeout: 1_000, maxConcurrent: 100 };
  static old_track(user: string) {
    afterTheResponse(user);
    return 1;
  }
  static new_track(user: string) {
    afterTheResponse(user); // the candidate returns at once; its work goes on
    return 1;
  }
}

test('work a candidate starts without awaiting it, within its timeout, is still its run: nothing recorded, a readOnly write refused', async () => {
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  try {
    for (let i = 0; i < 20; i++) new DetachedWork({ key: `detached-${i}` }).run(`detached-${i}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await flush();
    assert.equal(kindOf(store.events, 'conversion').filter((c) => c.metric === 'detached-search').length, 20, 'the served path\'s only');
    assert.equal(detachedWrites, 20, 'the served path\'s writes');
    assert.equal(detachedRefused, 20, 'the candidate\'s refused');
  } finally {
    await close();
  }
});
