// tracks/openfeature with the real @openfeature/server-sdk: a flag is a track set, evaluations
// return what `new` returns and record exposures as it does, client.track() records
// conversions, and the SDK's transaction-context propagation reaches the provider.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AsyncLocalStorageTransactionContextPropagator, ErrorCode, OpenFeature } from '@openfeature/server-sdk';
import type { Client } from '@openfeature/server-sdk';
import { ParamTrackSet, TrackSet, TracksError, close, configure, flush, forceTracks, memoryStore, stopTrackSet, withTracksScope } from '../../src/index.js';
import type { MemoryStore, Recorder } from '../../src/index.js';
import { TracksProvider } from '../../src/integrations/openfeature.js';

interface Shopper {
  readonly user: { readonly vip: boolean };
}

class DelayTracks extends TrackSet<Shopper | undefined> {
  static override id = 'of-delay';
  static short_track() {}
  static long_track() {}
  override get isEligible(): boolean {
    return this.context?.user.vip !== true;
  }
}

class PricingTracks extends ParamTrackSet {
  static override id = 'of-pricing';
  static override params = [{ priceDelta: -1 }, { priceDelta: 0 }, { priceDelta: 1 }];
  static override addControlTrack = false;
  static override control = 'price_adjusted_by_0';
  static override trackName({ priceDelta }: { priceDelta: number }): string {
    return `price_adjusted_by_${priceDelta}`;
  }
  static override track(): void {}
}

let client: Client;
let store: MemoryStore;
let recorder: Recorder;

before(async () => {
  store = memoryStore();
  recorder = configure({ store, outbox: false }) as Recorder;
  await OpenFeature.setProviderAndWait(new TracksProvider({ trackSets: [DelayTracks, PricingTracks] }));
  client = OpenFeature.getClient();
});
after(async () => {
  await OpenFeature.close();
  await close();
});

test('getStringValue returns the track `new` gives for the same key and context, with variant, reason and metadata', async () => {
  for (let i = 0; i < 200; i++) {
    const userId = `of-user-${i}`;
    const user = { vip: i % 10 === 0 };
    const expected = new DelayTracks({ key: userId, context: { user } });
    const details = await client.getStringDetails('of-delay', 'control', { targetingKey: userId, user });
    assert.equal(details.value, expected.name);
    assert.equal(details.variant, expected.name);
    assert.equal(details.reason, user.vip ? 'DEFAULT' : 'SPLIT', 'ineligible keys get the baseline, reason DEFAULT');
    assert.deepEqual(details.flagMetadata, { trackSetId: 'of-delay', inTest: !user.vip, tracksReason: user.vip ? 'ineligible' : 'assigned' });
  }
});

test('getObjectValue returns a ParamTrackSet track’s params', async () => {
  for (let i = 0; i < 50; i++) {
    const userId = `of-price-${i}`;
    const name = new PricingTracks({ key: userId }).name;
    const value = await client.getObjectValue('of-pricing', {}, { targetingKey: userId });
    assert.deepEqual(value, { priceDelta: Number(name.replace('price_adjusted_by_', '')) });
  }
  // The value is the caller's: changing it changes neither the set's params nor later runs.
  const mine = (await client.getObjectValue('of-pricing', {}, { targetingKey: 'of-price-0' })) as { priceDelta: number };
  const before = new PricingTracks({ key: 'of-price-0' }).name;
  mine.priceDelta = 100;
  assert.deepEqual(PricingTracks.params, [{ priceDelta: -1 }, { priceDelta: 0 }, { priceDelta: 1 }]);
  assert.deepEqual(await client.getObjectValue('of-pricing', {}, { targetingKey: 'of-price-0' }), { priceDelta: Number(before.replace('price_adjusted_by_', '')) });
  const plain = await client.getObjectDetails('of-delay', {}, { targetingKey: 'x' });
  assert.equal(plain.errorCode, ErrorCode.TYPE_MISMATCH, 'a plain TrackSet is a string flag');
});

test('evaluations record exposures as `new` does; client.track records conversions for the same key', async () => {
  const users = Array.from({ length: 100 }, (_, i) => `of-buyer-${i}`);
  for (const userId of users) {
    await client.getStringValue('of-delay', 'control', { targetingKey: userId, user: { vip: false } });
    await client.getStringValue('of-delay', 'control', { targetingKey: userId, user: { vip: false } }); // again: still one exposure
    client.track('purchase', { targetingKey: userId }, { value: 12.5 });
  }
  await flush();
  const [sums] = await store.summarize({ trackSetId: 'of-delay' });
  const buyers = sums!.tracks.reduce((n, t) => n + t.users, 0);
  assert.ok(buyers >= users.length, 'every evaluated user exposed once (plus those of the first test)');
  let converted = 0;
  let total = 0;
  for (const t of sums!.tracks) {
    converted += t.metrics.get('purchase')?.converted ?? 0;
    total += t.metrics.get('purchase')?.sum ?? 0;
  }
  assert.equal(converted, users.length);
  assert.equal(total, users.length * 12.5);
});

test('reasons follow tracks’: forced is STATIC, stopped is DISABLED', async () => {
  const forced = await forceTracks({ 'of-delay': 'long' }, () => client.getStringDetails('of-delay', 'control', { targetingKey: 'qa' }));
  assert.deepEqual([forced.value, forced.reason], ['long', 'STATIC']);
  await stopTrackSet(store, 'of-delay', 'short');
  await recorder.refreshControls();
  const stopped = await client.getStringDetails('of-delay', 'control', { targetingKey: 'someone' });
  assert.deepEqual([stopped.value, stopped.reason, stopped.flagMetadata.inTest], ['short', 'DISABLED', false]);
  const { resumeTrackSet } = await import('../../src/index.js');
  await resumeTrackSet(store, 'of-delay');
  await recorder.refreshControls();
});

test('with no targetingKey: the SDK’s transaction context, else the tracks request scope, gives the key', async () => {
  OpenFeature.setTransactionContextPropagator(new AsyncLocalStorageTransactionContextPropagator());
  const viaTransaction = await new Promise<string>((resolve, reject) => {
    OpenFeature.setTransactionContext({ targetingKey: 'tx-user' }, () => {
      client.getStringValue('of-delay', 'control').then(resolve, reject);
    });
  });
  assert.equal(viaTransaction, new DelayTracks({ key: 'tx-user' }).name);
  const viaScope = await withTracksScope({ key: 'scope-user' }, () => client.getStringValue('of-delay', 'control'));
  assert.equal(viaScope, new DelayTracks({ key: 'scope-user' }).name);
});

test('an unknown flag resolves to the default with FLAG_NOT_FOUND; boolean and number flags are a TYPE_MISMATCH', async () => {
  const unknown = await client.getStringDetails('no-such-flag', 'fallback', { targetingKey: 'u' });
  assert.deepEqual([unknown.value, unknown.errorCode], ['fallback', ErrorCode.FLAG_NOT_FOUND]);
  const bool = await client.getBooleanDetails('of-delay', false, { targetingKey: 'u' });
  assert.deepEqual([bool.value, bool.errorCode], [false, ErrorCode.TYPE_MISMATCH]);
  assert.equal((await client.getNumberDetails('no-such-flag', 3)).errorCode, ErrorCode.FLAG_NOT_FOUND);
});

test('TracksProvider checks its options with TracksErrors', () => {
  assert.throws(() => new TracksProvider({} as never), (e: unknown) => e instanceof TracksError && /pass \{ trackSets: \[/.test(e.message));
  // Two versions of one test (a track in common): a flag key must name one of them.
  class Clash extends TrackSet {
    static override id = 'of-delay';
    static short_track() {}
    static x_track() {}
  }
  assert.throws(() => new TracksProvider({ trackSets: [DelayTracks, Clash] }), /two classes have the id 'of-delay'/);
  // A misspelt option is named, with the one meant.
  assert.throws(
    () => new TracksProvider({ trackSet: [DelayTracks] } as never),
    (e: unknown) => e instanceof TracksError && e.message === "TracksProvider: unknown option 'trackSet'; did you mean 'trackSets'?",
  );
});

test('an empty trackSets is a warning, once per provider, not an error: every flag is then FLAG_NOT_FOUND', async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  try {
    const provider = new TracksProvider({ trackSets: [] });
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    const details = await provider.resolveStringEvaluation('of-delay', 'fallback', { targetingKey: 'u1' });
    assert.deepEqual([details.value, details.errorCode], ['fallback', 'FLAG_NOT_FOUND']);
  } finally {
    process.off('warning', onWarning);
  }
  const named = warnings.filter((w) => (w as Error & { code?: string }).code === 'TRACKS_NO_FLAGS');
  assert.equal(named.length, 1);
  assert.match(named[0]!.message, /^TracksProvider: trackSets is empty, so every flag resolves to its default with FLAG_NOT_FOUND; list the track set classes to serve/);
});

test('a global OpenFeature context adds to the request scope’s context rather than replacing it', async () => {
  class StaffTracks extends TrackSet<{ user?: { staff: boolean }; env?: string } | undefined> {
    static override id = 'of-staff';
    static on_track() {}
    override get isEligible(): boolean {
      return this.context?.user?.staff !== true;
    }
  }
  await OpenFeature.setProviderAndWait('staff', new TracksProvider({ trackSets: [StaffTracks] }));
  OpenFeature.setContext({ env: 'prod' });
  try {
    const staffClient = OpenFeature.getClient('staff');
    const details = await withTracksScope({ key: 's', context: { user: { staff: true } } }, () => staffClient.getStringDetails('of-staff', 'control'));
    assert.deepEqual([details.reason, details.flagMetadata.inTest], ['DEFAULT', false], 'the same answer as new StaffTracks() in the scope: ineligible');
    // An attribute given for the evaluation wins over the scope's of the same name (a VIP passed explicitly is not in the test).
    const explicit = await withTracksScope({ key: 's', context: { user: { staff: false } } }, () => staffClient.getStringDetails('of-staff', 'control', { user: { staff: true } }));
    assert.deepEqual([explicit.reason, explicit.flagMetadata.inTest], ['DEFAULT', false], 'the evaluation context’s user wins');
    // A scope whose context is not an object gives way to the evaluation context’s attributes.
    const plain = await withTracksScope({ key: 's', context: 'not an object' }, () => staffClient.getStringDetails('of-staff', 'control', { user: { staff: true } }));
    assert.deepEqual([plain.reason, plain.flagMetadata.inTest], ['DEFAULT', false]);
  } finally {
    OpenFeature.setContext({});
  }
});

test('OpenFeature.close() writes what evaluations and client.track recorded; recording stays on', async () => {
  const flushed = memoryStore();
  configure({ store: flushed, outbox: false, flushInterval: 60_000 });
  await client.getStringValue('of-delay', 'control', { targetingKey: 'of-closing' });
  client.track('purchase', { targetingKey: 'of-closing' }, { value: 3 });
  assert.equal(flushed.events.length, 0, 'nothing written yet: the flush interval is a minute');
  await OpenFeature.close();
  assert.ok(flushed.events.some((e) => e.kind === 'exposure' && e.unit === 'of-closing'));
  assert.ok(flushed.events.some((e) => e.kind === 'conversion' && e.unit === 'of-closing'));
  // A provider set again serves as before.
  await OpenFeature.setProviderAndWait(new TracksProvider({ trackSets: [DelayTracks, PricingTracks] }));
  client = OpenFeature.getClient();
  assert.equal(await client.getStringValue('of-delay', 'control', { targetingKey: 'of-closing' }), new DelayTracks({ key: 'of-closing' }).name);
});


test('getObjectValue gives a track’s params as JSON (a URL as its href, a class by its toJSON), a fresh copy each time', async () => {
  class Money {
    constructor(readonly cents: number) {}
    toJSON() {
      return `${(this.cents / 100).toFixed(2)} EUR`;
    }
  }
  class Endpoints extends ParamTrackSet {
    static override id = 'of-endpoints';
    static override params = [{ url: new URL('https://a.example/v1'), fee: new Money(250) }, { url: new URL('https://a.example/v2'), fee: new Money(0) }];
    static override addControlTrack = false;
    static override trackName({ url }: { url: URL }): string {
      return url.pathname.slice(1);
    }
    static override track(): void {}
  }
  await OpenFeature.setProviderAndWait('of-json', new TracksProvider({ trackSets: [Endpoints] }));
  const local = OpenFeature.getClient('of-json');
  const name = new Endpoints({ key: 'of-json-1' }).name;
  const value = await local.getObjectValue('of-endpoints', {}, { targetingKey: 'of-json-1' });
  assert.deepEqual(value, name === 'v1' ? { url: 'https://a.example/v1', fee: '2.50 EUR' } : { url: 'https://a.example/v2', fee: '0.00 EUR' });
  assert.notEqual(await local.getObjectValue('of-endpoints', {}, { targetingKey: 'of-json-1' }), value, 'a fresh copy');
  assert.ok(Endpoints.params[0]!.url instanceof URL, 'the set’s own params untouched');
});
