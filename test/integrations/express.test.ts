// tracks/express against real Express 5, over real HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { test } from 'node:test';
import express from 'express';
import { TracksError, convert } from '../../src/index.js';
import { tracks } from '../../src/integrations/express.js';
import { AdapterDelayTracks, adapterSuite, freshRun } from './adapter-suite.js';

adapterSuite('Express', async ({ header, plan, adapter }) => {
  const app = express();
  app.use(express.json());
  const { withKeyAndContext, ...rest } = adapter;
  app.use(tracks({ ...(withKeyAndContext ? { key: (req) => req.get(header), context: (req) => ({ plan: req.get(plan) ?? 'free' }) } : {}), ...rest }));
  app.get('/catalog', async (req, res) => {
    const run = new AdapterDelayTracks();
    await new Promise((resolve) => setTimeout(resolve, 1)); // the scope survives awaits
    res.json({ key: run.key, track: run.name, reason: run.reason, tracks: { ...req.tracks } });
  });
  app.get('/fresh', (req, res) => {
    res.json(freshRun(req.query['set'] as string | undefined));
  });
  app.post('/buy', async (req, res) => {
    await Promise.resolve();
    convert({ metric: 'purchase', value: (req.body as { amount: number }).amount });
    res.json({ ok: true, key: new AdapterDelayTracks().key });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
});

test('Express: behind a proxy that says https (trust proxy), the visitor cookie is Secure', async () => {
  const app = express();
  app.set('trust proxy', 'loopback');
  app.use(tracks({ anonymousKey: { cookie: 'visitor', maxAgeDays: 30 } }));
  app.get('/', (_req, res) => res.send(new AdapterDelayTracks().name));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: { 'x-forwarded-proto': 'https' } });
    assert.match(response.headers.get('set-cookie')!, /^visitor=[0-9a-f-]{36}; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure$/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('Express: bad adapter options are TracksErrors naming the option', () => {
  assert.throws(() => tracks({ key: 'user' as never }), (e: unknown) => e instanceof TracksError && /tracks\/express: key must be a function/.test(e.message));
  assert.throws(() => tracks({ forceSecret: '' }), /forceSecret must be a non-empty string/);
  assert.throws(() => tracks({ forceSecret: 42 as never }), /forceSecret must be a non-empty string/);
  assert.throws(() => tracks({ anonymousKey: { cookie: 'bad name;' } }), /anonymousKey.cookie is 'bad name;'/);
  // A misspelt option is never ignored in silence (a plain-JS user would get no cookie and no error).
  assert.throws(() => tracks({ anonymouskey: true } as never), (e: unknown) => e instanceof TracksError && /tracks\/express: unknown option 'anonymouskey'; did you mean 'anonymousKey'\?/.test(e.message));
  assert.throws(() => tracks({ anonymousKey: { maxAge: 30 } } as never), /tracks\/express: anonymousKey: unknown option 'maxAge'/);
  // Not taken as true: 'no' would have turned anonymous cookies on.
  assert.throws(() => tracks({ anonymousKey: 'no' } as never), /tracks\/express: anonymousKey is the string 'no'; give true, false, or \{ cookie, maxAgeDays, secure \}/);
  assert.throws(() => tracks({ anonymousKey: 1 } as never), /anonymousKey is 1/);
  // A cookie lifetime browsers keep: Max-Age=Infinity, 8.64e+304 or a string would be a session cookie.
  for (const maxAgeDays of [Infinity, 1e300, 401, 0, -1, Number.NaN, '30']) {
    assert.throws(() => tracks({ anonymousKey: { maxAgeDays } as never }), /anonymousKey\.maxAgeDays is .*; give a number of days above 0 and at most 400/, String(maxAgeDays));
  }
  assert.doesNotThrow(() => tracks({ anonymousKey: { maxAgeDays: 400 } }));
  assert.throws(() => tracks({ anonymousKey: { cookie: '__Host-visitor', secure: false } }), /prefix browsers accept only on a Secure cookie/);
  assert.doesNotThrow(() => tracks({ anonymousKey: { cookie: '__Host-visitor' } }));
  assert.doesNotThrow(() => tracks({ anonymousKey: false, forceSecret: 'qa-secret-0123456789abcdef' }));
  assert.doesNotThrow(() => tracks({ anonymousKey: null } as never));
  // A bad entry of trackSets is named as the adapter's option.
  assert.throws(() => tracks({ trackSets: [42] } as never), (e: unknown) => e instanceof TracksError && /^tracks\/express: trackSets: 42 is not a track set/.test(e.message));
  assert.throws(() => tracks({ trackSets: 'DelayTracks' } as never), /tracks\/express: trackSets is the string 'DelayTracks'; give an array/);
});

test("Express: a short or placeholder forceSecret works, with one warning saying it is easy to guess", async () => {
  const warnings: (Error & { code?: string })[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  const app = express();
  app.use(tracks({ key: (req) => req.get('x-user'), forceSecret: 'secret' }));
  tracks({ forceSecret: 'aaaaaaaaaaaaaaaaaaaaaaaaa' }); // a placeholder, for the same adapter: said once
  app.get('/', (_req, res) => res.json(new AdapterDelayTracks().name));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const forced = await fetch(url, { headers: { 'x-user': 'qa', 'x-tracks-force': 'adapter-delay=long', 'x-tracks-force-secret': 'secret' } });
    assert.deepEqual([forced.status, await forced.json()], [200, 'long']);
    assert.equal((await fetch(url, { headers: { 'x-tracks-force': 'adapter-delay=long', 'x-tracks-force-secret': 'secreT' } })).status, 403);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
    await new Promise((resolve) => server.close(resolve));
  }
  const weak = warnings.filter((w) => w.code === 'TRACKS_WEAK_FORCE_SECRET');
  assert.equal(weak.length, 1);
  assert.match(weak[0]!.message, /^tracks\/express: forceSecret is 6 characters long, easy to guess: anyone who guesses it can force their own tracks\. Use a random secret of at least 16 characters/);
});

test('Express: req.tracks in a mounted app, a router and a second app; each request sees its own; a handler may set it', async () => {
  const sub = express();
  sub.get('/', (req, res) => {
    const run = new AdapterDelayTracks();
    res.json({ track: run.name, tracks: { ...req.tracks } });
  });
  const router = express.Router();
  router.get('/', (req, res) => {
    const run = new AdapterDelayTracks();
    res.json({ track: run.name, tracks: { ...req.tracks } });
  });
  const app = express();
  app.use(tracks({ key: (req) => req.get('x-user') }));
  app.use('/sub', sub);
  app.use('/router', router);
  app.get('/none', (req, res) => res.json({ tracks: req.tracks ?? null }));
  app.get('/set', (req, res) => {
    req.tracks = { mine: 'yes' };
    res.json({ tracks: req.tracks });
  });
  // A second app with its own adapter, and one without: the first app's requests are not visible there.
  const other = express();
  other.get('/', (req, res) => res.json({ tracks: req.tracks ?? null }));
  const servers = await Promise.all([app, other].map((a) => new Promise<Server>((resolve) => { const s = a.listen(0, '127.0.0.1', () => resolve(s)); })));
  const [url, otherUrl] = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`);
  try {
    for (const path of ['/sub', '/router']) {
      const answers = await Promise.all(['u1', 'u2', 'u3', 'u4'].map(async (user) => (await (await fetch(`${url}${path}`, { headers: { 'x-user': user } })).json()) as { track: string; tracks: Record<string, string> }));
      for (const answer of answers) assert.deepEqual(answer.tracks, { [AdapterDelayTracks.id]: answer.track }, path);
    }
    assert.deepEqual(await (await fetch(`${url}/none`, { headers: { 'x-user': 'u1' } })).json(), { tracks: {} }, 'no run yet: an empty record');
    assert.deepEqual(await (await fetch(`${url}/set`)).json(), { tracks: { mine: 'yes' } });
    assert.deepEqual(await (await fetch(otherUrl!)).json(), { tracks: null }, 'a request the adapter never saw has none');
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
});

test("Express: a context function that throws does not take the key with it: the request's conversion is recorded for its key, and a run sees the context's error", async () => {
  const { close, configure, flush, memoryStore } = await import('../../src/index.js');
  const store = memoryStore();
  configure({ store, flushInterval: 60_000 });
  const app = express();
  app.use(
    tracks({
      key: () => 'user-42',
      context: () => {
        throw new Error('the session store is down');
      },
    }),
  );
  app.post('/buy', (_req, res) => {
    convert({ metric: 'purchase', value: 12.5 });
    let run: string;
    try {
      run = new AdapterDelayTracks().name;
    } catch (error) {
      run = `threw: ${(error as Error).message}`;
    }
    res.json({ run });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/buy`, { method: 'POST' });
    assert.deepEqual(await response.json(), { run: 'threw: the session store is down' });
    await flush();
    const conversions = store.events.filter((e) => e.kind === 'conversion');
    assert.deepEqual(conversions.map((c) => (c as { unit: string }).unit.endsWith('user-42') || (c as { unit: string }).unit), [true]);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await close();
  }
});

const SHARED_HEADERS = { 'Content-Type': 'text/plain', 'Set-Cookie': 'theirs=1' };

test('Express: a new visitor’s cookie survives the handler setting its own cookies after the run (setHeader, res.set, res.cookie, writeHead), theirs go out too, and what it removes, rewrites or clears stays so', async () => {
  const app = express();
  app.use(tracks({ anonymousKey: true }));
  // The `cookie` package's own usage: a plain setHeader, which replaces the header's list.
  app.get('/set-header', (_req, res) => {
    const name = new AdapterDelayTracks().name;
    res.setHeader('Set-Cookie', 'theme=dark');
    res.send(name);
  });
  app.get('/before', (_req, res) => {
    res.setHeader('Set-Cookie', 'sid=abc; HttpOnly');
    res.send(new AdapterDelayTracks().name);
  });
  app.get('/res-set', (_req, res) => {
    const name = new AdapterDelayTracks().name;
    res.set('Set-Cookie', ['a=1', 'b=2']);
    res.send(name);
  });
  app.get('/res-cookie', (_req, res) => {
    const name = new AdapterDelayTracks().name;
    res.cookie('theme', 'dark');
    res.cookie('lang', 'fr');
    res.send(name);
  });
  app.get('/filtered', (_req, res) => {
    res.setHeader('Set-Cookie', ['sid=abc', 'theme=dark']);
    const name = new AdapterDelayTracks().name;
    res.setHeader('Set-Cookie', [res.getHeader('set-cookie')].flat().map(String).filter((c) => !c.startsWith('sid=')));
    res.send(name);
  });
  app.get('/partitioned', (_req, res) => {
    const name = new AdapterDelayTracks().name;
    res.setHeader('Set-Cookie', [res.getHeader('set-cookie')].flat().map((c) => `${String(c)}; Partitioned`));
    res.send(name);
  });
  app.get('/cleared', (_req, res) => {
    const name = new AdapterDelayTracks().name;
    res.setHeader('Set-Cookie', 'tracks_visitor=; Path=/; Max-Age=0');
    res.send(name);
  });
  app.get('/shared-head', (_req, res) => {
    const name = new AdapterDelayTracks().name;
    res.writeHead(200, SHARED_HEADERS);
    res.end(name);
  });
  app.get('/write-head', (_req, res) => {
    const name = new AdapterDelayTracks().name;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Set-Cookie': 'theirs=1' });
    res.end(name);
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const names = async (path: string) => (await fetch(`${url}${path}`)).headers.getSetCookie().map((c) => c.split('=')[0]).sort();
    assert.deepEqual(await names('/set-header'), ['theme', 'tracks_visitor']);
    assert.deepEqual(await names('/before'), ['sid', 'tracks_visitor']);
    assert.deepEqual(await names('/res-set'), ['a', 'b', 'tracks_visitor']);
    assert.deepEqual(await names('/res-cookie'), ['lang', 'theme', 'tracks_visitor']);
    assert.deepEqual(await names('/write-head'), ['theirs', 'tracks_visitor']);
    // The application's own choices stand: a cookie it filtered out stays out, one it rewrote
    // (a middleware adding Partitioned) goes out once, as rewritten, and one it cleared stays cleared.
    const filtered = await fetch(`${url}/filtered`);
    assert.deepEqual(filtered.headers.getSetCookie().map((c) => c.split('=')[0]).sort(), ['theme', 'tracks_visitor']);
    const partitioned = (await fetch(`${url}/partitioned`)).headers.getSetCookie();
    assert.deepEqual(
      partitioned.map((c) => [c.split('=')[0], c.endsWith('; Partitioned')]),
      [['tracks_visitor', true]],
    );
    assert.deepEqual((await fetch(`${url}/cleared`)).headers.getSetCookie(), ['tracks_visitor=; Path=/; Max-Age=0']);
    // A headers object the app shares between responses is never written into: each new
    // visitor gets a cookie of their own, and the object stays as the app made it.
    const shared = await Promise.all([0, 1].map(async () => (await fetch(`${url}/shared-head`)).headers.getSetCookie()));
    assert.deepEqual(shared.map((cookies) => cookies.length), [2, 2]);
    assert.notEqual(shared[0]!.find((c) => c.startsWith('tracks_visitor=')), shared[1]!.find((c) => c.startsWith('tracks_visitor=')));
    assert.deepEqual(SHARED_HEADERS, { 'Content-Type': 'text/plain', 'Set-Cookie': 'theirs=1' });
    // The visitor keeps one key: the cookie they were given is the one their runs used.
    const first = await fetch(`${url}/set-header`);
    const visitor = first.headers.getSetCookie().find((c) => c.startsWith('tracks_visitor='))!.split(';')[0]!;
    const again = await fetch(`${url}/set-header`, { headers: { cookie: visitor } });
    assert.deepEqual(again.headers.getSetCookie(), ['theme=dark'], 'a returning visitor gets no new id');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
