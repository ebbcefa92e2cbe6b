// tracks/express against real Express over real HTTP on 127.0.0.1: the request's key and
// context reach runs and conversions with no threading, the anonymous cookie, QA forcing
// behind a secret (refused with 403 otherwise), and req.tracks for logging.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import express from 'express';
import { TrackSet, TracksError, close, configure, convert, memoryStore } from '../../src/index.js';
import type { MemoryStore } from '../../src/index.js';
import { tracks } from '../../src/integrations/express.js';

interface Visitor {
  readonly plan: string;
}

class DelayTracks extends TrackSet<Visitor | undefined> {
  static override id = 'express-delay';
  static short_track() {}
  static long_track() {}
  override get isEligible(): boolean {
    return this.context?.plan !== 'staff';
  }
}

const SECRET = 'qa-secret-0123456789abcdef';
let server: Server;
let base: string;
let store: MemoryStore;

before(async () => {
  store = memoryStore();
  configure({ store, outbox: false });
  const app = express();
  app.use(express.json());
  app.use(
    tracks({
      key: (req) => req.get('x-user') ?? undefined,
      context: (req) => ({ plan: req.get('x-plan') ?? 'free' }),
      anonymousKey: true,
      forceSecret: SECRET,
    }),
  );
  app.get('/catalog', async (req, res) => {
    const run = new DelayTracks();
    await new Promise((resolve) => setTimeout(resolve, 1)); // the scope survives awaits
    res.json({ key: run.key, track: run.name, reason: run.reason, tracks: { ...req.tracks } });
  });
  app.post('/buy', async (req, res) => {
    await Promise.resolve();
    convert({ metric: 'purchase', value: (req.body as { amount: number }).amount });
    res.json({ ok: true });
  });
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(base + path, { headers });
  return { status: response.status, body: response.status === 200 ? ((await response.json()) as Record<string, unknown>) : await response.text(), cookie: response.headers.get('set-cookie') };
}

test('a logged-in user: runs use the request’s key and context; req.tracks lists the chosen tracks', async () => {
  for (let i = 0; i < 20; i++) {
    const key = `user-${i}`;
    const { body } = await get('/catalog', { 'x-user': key });
    assert.deepEqual(body, { key, track: new DelayTracks({ key, context: { plan: 'free' } }).name, reason: 'assigned', tracks: { 'express-delay': new DelayTracks({ key }).name } });
  }
  const staff = await get('/catalog', { 'x-user': 'user-1', 'x-plan': 'staff' });
  assert.equal((staff.body as { reason: string }).reason, 'ineligible', 'the context reaches isEligible');
});

test('an anonymous visitor gets an HttpOnly, SameSite=Lax cookie and keeps their track with it', async () => {
  const first = await get('/catalog');
  assert.match(first.cookie!, /^tracks_visitor=[0-9a-f-]{36}; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax$/);
  assert.ok(!/Secure/.test(first.cookie!), 'not Secure over plain http');
  const id = /tracks_visitor=([^;]+)/.exec(first.cookie!)![1]!;
  assert.equal((first.body as { key: string }).key, id);
  for (let i = 0; i < 5; i++) {
    const again = await get('/catalog', { cookie: `other=1; tracks_visitor=${id}` });
    assert.equal(again.cookie, null, 'no new cookie');
    assert.equal((again.body as { track: string }).track, (first.body as { track: string }).track);
  }
  const forged = await get('/catalog', { cookie: 'tracks_visitor=not-a-uuid' });
  assert.match(forged.cookie!, /tracks_visitor=[0-9a-f-]{36}/, 'a malformed id is replaced');
});

test('QA forcing: accepted with the secret, refused with 403 without it or with a wrong one, 400 for unknown sets or tracks', async () => {
  const forced = await get('/catalog', { 'x-user': 'qa', 'x-tracks-force': 'express-delay=long', 'x-tracks-force-secret': SECRET });
  assert.deepEqual([forced.status, (forced.body as { track: string }).track, (forced.body as { reason: string }).reason], [200, 'long', 'forced']);
  const noSecret = await get('/catalog', { 'x-tracks-force': 'express-delay=long' });
  assert.equal(noSecret.status, 403);
  assert.match(noSecret.body as string, /x-tracks-force-secret is missing or wrong/);
  assert.equal((await get('/catalog', { 'x-tracks-force': 'express-delay=long', 'x-tracks-force-secret': `${SECRET}x` })).status, 403);
  const unknownTrack = await get('/catalog', { 'x-tracks-force': 'express-delay=medium', 'x-tracks-force-secret': SECRET });
  assert.equal(unknownTrack.status, 400);
  assert.match(unknownTrack.body as string, /'express-delay' has no track 'medium'; its tracks are/);
  const unknownSet = await get('/catalog', { 'x-tracks-force': 'nosuchset=a', 'x-tracks-force-secret': SECRET });
  assert.equal(unknownSet.status, 400);
  assert.match(unknownSet.body as string, /names the track set 'nosuchset', which this service does not know/);
  assert.equal((await get('/catalog', { 'x-tracks-force': 'express-delay', 'x-tracks-force-secret': SECRET })).status, 400);
});

test('without forceSecret the force header is refused, not ignored', async () => {
  const app = express();
  app.use(tracks({ key: () => 'u' }));
  app.get('/', (_req, res) => res.send(new DelayTracks().name));
  const other = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const response = await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`, { headers: { 'x-tracks-force': 'express-delay=long', 'x-tracks-force-secret': SECRET } });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /did not enable QA forcing/);
  } finally {
    await new Promise((resolve) => other.close(resolve));
  }
});

test('a POST handler’s convert({ metric }) credits the request’s user: exposures and conversions meet in the store', async () => {
  const buyers = Array.from({ length: 30 }, (_, i) => `buyer-${i}`);
  for (const key of buyers) {
    await get('/catalog', { 'x-user': key });
    const response = await fetch(`${base}/buy`, { method: 'POST', headers: { 'x-user': key, 'content-type': 'application/json' }, body: JSON.stringify({ amount: 10 }) });
    assert.equal(response.status, 200);
  }
  const { flush } = await import('../../src/index.js');
  await flush();
  const [sums] = await store.summarize({ trackSetId: 'express-delay' });
  const converted = sums!.tracks.reduce((n, t) => n + (t.metrics.get('purchase')?.converted ?? 0), 0);
  assert.equal(converted, buyers.length, 'every buyer’s purchase credited to their track');
});

test('bad adapter options are TracksErrors naming the option', () => {
  assert.throws(() => tracks({ key: 'user' as never }), (e: unknown) => e instanceof TracksError && /tracks\/express: key must be a function/.test(e.message));
  assert.throws(() => tracks({ forceSecret: 'short' }), /forceSecret must be a string of at least 16 characters/);
  assert.throws(() => tracks({ anonymousKey: { cookie: 'bad name;' } }), /anonymousKey.cookie is 'bad name;'/);
});
