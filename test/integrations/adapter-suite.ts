// One suite for every framework adapter, over real HTTP on 127.0.0.1: each framework file
// starts its own app with the same two routes and runs these cases against it.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { TrackSet, close, configure, flush, memoryStore } from '../../src/index.js';
import type { MemoryStore } from '../../src/index.js';
import type { TracksAdapterOptions } from '../../src/integrations/request-tracks.js';

export interface Visitor {
  readonly plan: string;
}

/** The set every adapter test runs; its eligibility reads the request's context. */
export class AdapterDelayTracks extends TrackSet<Visitor | undefined> {
  static override id = 'adapter-delay';
  static short_track() {}
  static long_track() {}
  override get isEligible(): boolean {
    return this.context?.plan !== 'staff';
  }
}

/**
 * Sets no request runs before the forcing test: `GET /fresh` runs the first, `GET /fresh?set=typo`
 * the second, each answering `{ track, reason }`. QA's first request to a fresh process forces them.
 */
export class FirstForcedTracks extends TrackSet {
  static override id = 'adapter-first-forced';
  static short_track() {}
  static long_track() {}
}
export class FirstTypoTracks extends TrackSet {
  static override id = 'adapter-first-typo';
  static short_track() {}
  static long_track() {}
}

/** What `GET /fresh` answers. */
export function freshRun(set: string | undefined): { track: string; reason: string } {
  const run = set === 'typo' ? new FirstTypoTracks() : new FirstForcedTracks();
  return { track: run.name, reason: run.reason };
}

export const SECRET = 'qa-secret-0123456789abcdef';

/** A running app: `GET /catalog` answers `{ key, track, reason, tracks }`; `POST /buy` converts `{ amount }`; `GET /fresh` answers {@link freshRun}. */
export interface App {
  readonly url: string;
  close(): Promise<void>;
}

/** How a framework test starts its app; options as the adapter takes them, with headers read by name. */
export type StartApp = (options: {
  readonly header: 'x-user';
  readonly plan: 'x-plan';
  readonly adapter: Omit<TracksAdapterOptions<never>, 'key' | 'context'> & { readonly withKeyAndContext: boolean };
}) => Promise<App>;

export function adapterSuite(framework: string, start: StartApp): void {
  let app: App;
  let store: MemoryStore;
  before(async () => {
    store = memoryStore();
    configure({ store, outbox: false });
    app = await start({ header: 'x-user', plan: 'x-plan', adapter: { withKeyAndContext: true, anonymousKey: true, forceSecret: SECRET } });
  });
  after(async () => {
    await app.close();
    await close();
  });

  async function get(path: string, headers: Record<string, string> = {}, on = app) {
    const response = await fetch(on.url + path, { headers });
    const text = await response.text();
    return { status: response.status, body: response.status === 200 ? (JSON.parse(text) as Record<string, unknown>) : text, cookie: response.headers.get('set-cookie') };
  }

  test(`${framework}: a logged-in user's runs use the request's key and context; the handler sees the chosen tracks`, async () => {
    for (let i = 0; i < 20; i++) {
      const key = `user-${i}`;
      const { body } = await get('/catalog', { 'x-user': key });
      const expected = new AdapterDelayTracks({ key, context: { plan: 'free' } }).name;
      assert.deepEqual(body, { key, track: expected, reason: 'assigned', tracks: { 'adapter-delay': expected } });
    }
    const staff = await get('/catalog', { 'x-user': 'user-1', 'x-plan': 'staff' });
    assert.equal((staff.body as { reason: string }).reason, 'ineligible', 'the context reaches isEligible');
  });

  test(`${framework}: an anonymous visitor gets an HttpOnly, SameSite=Lax cookie and keeps their track with it`, async () => {
    const first = await get('/catalog');
    assert.match(first.cookie!, /^tracks_visitor=[0-9a-f-]{36}; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax$/);
    const id = /tracks_visitor=([^;]+)/.exec(first.cookie!)![1]!;
    assert.equal((first.body as { key: string }).key, id);
    // A UUID version 7: new visitors' ids sort in the order they came (the stores insert them in key order).
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const next = /tracks_visitor=([^;]+)/.exec((await get('/catalog')).cookie!)![1]!;
    assert.ok(next > id, `${next} sorts after ${id}`);
    for (let i = 0; i < 5; i++) {
      const again = await get('/catalog', { cookie: `other=1; tracks_visitor=${id}` });
      assert.equal(again.cookie, null, 'no new cookie');
      assert.equal((again.body as { track: string }).track, (first.body as { track: string }).track);
    }
    const forged = await get('/catalog', { cookie: 'tracks_visitor=not-a-uuid' });
    assert.match(forged.cookie!, /tracks_visitor=[0-9a-f-]{36}/, 'a malformed id is replaced');
    // A stale cookie of the same name sent first (a longer path) does not hide the valid one.
    const stale = await get('/catalog', { cookie: `tracks_visitor=stale; tracks_visitor=${id}` });
    assert.equal(stale.cookie, null, 'no new cookie');
    assert.equal((stale.body as { key: string }).key, id);
  });

  test(`${framework}: QA forcing is accepted with the secret, refused with 403 without it, 400 for unknown tracks`, async () => {
    // The first request of all names sets no request has run yet: forced all the same.
    const first = await get('/fresh', { 'x-user': 'qa', 'x-tracks-force': 'adapter-first-forced=long,adapter-delay=short', 'x-tracks-force-secret': SECRET });
    assert.deepEqual([first.status, first.body], [200, { track: 'long', reason: 'forced' }]);
    const firstAgain = await get('/fresh', { 'x-user': 'qa', 'x-tracks-force': 'adapter-first-forced=short', 'x-tracks-force-secret': SECRET });
    assert.deepEqual(firstAgain.body, { track: 'short', reason: 'forced' });
    // Such a set's track is checked when it runs: a typo is the run's TracksError, never a silent fallback.
    const typo = await get('/fresh?set=typo', { 'x-user': 'qa', 'x-tracks-force': 'adapter-first-typo=lnog', 'x-tracks-force-secret': SECRET });
    assert.equal(typo.status, 500);
    // Known now: the same typo is refused up front.
    const typoKnown = await get('/fresh?set=typo', { 'x-user': 'qa', 'x-tracks-force': 'adapter-first-typo=lnog', 'x-tracks-force-secret': SECRET });
    assert.deepEqual([typoKnown.status, typoKnown.body], [400, "x-tracks-force: 'adapter-first-typo' has no track 'lnog'; its tracks are 'control', 'short', 'long'"]);
    const forced = await get('/catalog', { 'x-user': 'qa', 'x-tracks-force': 'adapter-delay=long', 'x-tracks-force-secret': SECRET });
    assert.deepEqual([forced.status, (forced.body as { track: string }).track, (forced.body as { reason: string }).reason], [200, 'long', 'forced']);
    const noSecret = await get('/catalog', { 'x-tracks-force': 'adapter-delay=long' });
    assert.equal(noSecret.status, 403);
    assert.match(noSecret.body as string, /x-tracks-force-secret is missing or wrong/);
    assert.equal((await get('/catalog', { 'x-tracks-force': 'adapter-delay=long', 'x-tracks-force-secret': `${SECRET}x` })).status, 403);
    const unknownTrack = await get('/catalog', { 'x-tracks-force': 'adapter-delay=medium', 'x-tracks-force-secret': SECRET });
    assert.equal(unknownTrack.status, 400);
    assert.match(unknownTrack.body as string, /'adapter-delay' has no track 'medium'; its tracks are/);
    // An id no set has, even by the end of the request: served as usual, and a warning names it, once.
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 2; i++) {
        const unknownSet = await get('/catalog', { 'x-user': 'qa', 'x-tracks-force': 'nosuchset=a', 'x-tracks-force-secret': SECRET });
        assert.deepEqual([unknownSet.status, (unknownSet.body as { reason: string }).reason], [200, 'assigned']);
      }
      await new Promise((resolve) => setTimeout(resolve, 50)); // the response's close, and the warning's tick
    } finally {
      process.off('warning', onWarning);
    }
    const named = warnings.filter((w) => (w as Error & { code?: string }).code === 'TRACKS_UNKNOWN_FORCED_SET');
    assert.equal(named.length, 1, 'said once');
    assert.match(named[0]!.message, /x-tracks-force named the track set 'nosuchset', which no set in this process has run, even by the end of the request \(it knows .*'adapter-delay'/);
    assert.match(named[0]!.message, /; check the id \(the static id of the class\)\. Give the adapter its sets \(trackSets: \[\.\.\.\]\) to have a wrong id, or a wrong track of a set not run yet, refused with 400$/);
    // A near miss of a known id may be a real set not run yet (delay and delay2): forced, not refused.
    const nearMiss = await get('/catalog', { 'x-user': 'qa', 'x-tracks-force': 'adapter-delay2=long', 'x-tracks-force-secret': SECRET });
    assert.deepEqual([nearMiss.status, (nearMiss.body as { reason: string }).reason], [200, 'assigned']);
    assert.equal((await get('/catalog', { 'x-tracks-force': 'adapter-delay', 'x-tracks-force-secret': SECRET })).status, 400);
    // Never silently ignored, even with the right secret: a set named twice, or nothing named.
    const twice = await get('/catalog', { 'x-tracks-force': 'adapter-delay=long,adapter-delay=short', 'x-tracks-force-secret': SECRET });
    assert.deepEqual([twice.status, twice.body], [400, "x-tracks-force names the track set 'adapter-delay' twice; force one track per set"]);
    // An empty pair (a trailing or doubled comma) is malformed, as a pair without '=' is.
    for (const malformed of ['adapter-delay=long,', 'adapter-delay=long,,other=a', ',adapter-delay=long']) {
      const refused = await get('/catalog', { 'x-tracks-force': malformed, 'x-tracks-force-secret': SECRET });
      assert.equal(refused.status, 400, malformed);
      assert.match(refused.body as string, /x-tracks-force has an empty pair/);
    }
    for (const empty of [' ', ' , ,']) {
      const refused = await get('/catalog', { 'x-tracks-force': empty, 'x-tracks-force-secret': SECRET });
      assert.equal(refused.status, 400, `${JSON.stringify(empty)}`);
      assert.match(refused.body as string, /x-tracks-force is empty/);
    }
  });

  test(`${framework}: given its sets (trackSets), the adapter refuses a QA header naming an id none of them has, with 400`, async () => {
    const listed = await start({ header: 'x-user', plan: 'x-plan', adapter: { withKeyAndContext: true, forceSecret: SECRET, trackSets: [AdapterDelayTracks] } });
    try {
      const refused = await get('/catalog', { 'x-user': 'qa', 'x-tracks-force': 'nosuchset=a', 'x-tracks-force-secret': SECRET }, listed);
      assert.equal(refused.status, 400);
      assert.match(refused.body as string, /^x-tracks-force: no track set has the id 'nosuchset'\. The sets QA can force here are .*'adapter-delay'.*Check the id \(the static id of the class\), or list its class in trackSets$/);
      const typo = await get('/catalog', { 'x-user': 'qa', 'x-tracks-force': 'adapter-dealy=long', 'x-tracks-force-secret': SECRET }, listed);
      assert.equal(typo.status, 400);
      assert.match(typo.body as string, /^x-tracks-force: no track set has the id 'adapter-dealy'; did you mean 'adapter-delay'\? The sets QA can force/);
      const forced = await get('/catalog', { 'x-user': 'qa', 'x-tracks-force': 'adapter-delay=long', 'x-tracks-force-secret': SECRET }, listed);
      assert.deepEqual([forced.status, (forced.body as { track: string }).track], [200, 'long']);
    } finally {
      await listed.close();
    }
  });

  test(`${framework}: without forceSecret the force header is refused, not ignored`, async () => {
    const plain = await start({ header: 'x-user', plan: 'x-plan', adapter: { withKeyAndContext: true } });
    try {
      const refused = await get('/catalog', { 'x-user': 'u', 'x-tracks-force': 'adapter-delay=long', 'x-tracks-force-secret': SECRET }, plain);
      assert.equal(refused.status, 403);
      assert.match(refused.body as string, /did not enable QA forcing/);
      assert.equal((await get('/catalog', { 'x-user': 'u' }, plain)).cookie, null, 'no cookie unless anonymousKey is asked for');
    } finally {
      await plain.close();
    }
  });

  test(`${framework}: a POST handler's convert({ metric }) credits the request's user (the scope survives body parsing)`, async () => {
    const buyers = Array.from({ length: 30 }, (_, i) => `buyer-${i}`);
    for (const key of buyers) {
      await get('/catalog', { 'x-user': key });
      const response = await fetch(`${app.url}/buy`, { method: 'POST', headers: { 'x-user': key, 'content-type': 'application/json' }, body: JSON.stringify({ amount: 10 }) });
      assert.equal(response.status, 200, await response.clone().text());
      assert.deepEqual(await response.json(), { ok: true, key });
    }
    await flush();
    const [sums] = await store.summarize({ trackSetId: 'adapter-delay' });
    const converted = sums!.tracks.reduce((n, t) => n + (t.metrics.get('purchase')?.converted ?? 0), 0);
    assert.equal(converted, buyers.length, "every buyer's purchase credited to their track");
  });

  test(`${framework}: a POST body that arrives in chunks, after the request began, keeps the request's scope`, async () => {
    for (const key of ['slow-body-1', 'slow-body-2', 'slow-body-3']) {
      const answer = await new Promise<string>((resolve, reject) => {
        const request = httpRequest(`${app.url}/buy`, { method: 'POST', headers: { 'x-user': key, 'content-type': 'application/json' } }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve(text));
        });
        request.on('error', reject);
        request.write('{"amount":');
        setTimeout(() => request.end('5}'), 30);
      });
      assert.deepEqual(JSON.parse(answer), { ok: true, key });
    }
  });

  test(`${framework}: concurrent requests never see each other's key`, async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `parallel-${i}`);
    const bodies = await Promise.all(keys.map((key) => get('/catalog', { 'x-user': key })));
    assert.deepEqual(bodies.map((b) => (b.body as { key: string }).key), keys);
  });
}
