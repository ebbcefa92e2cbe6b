// tracks/fastify against real Fastify 5, over real HTTP on 127.0.0.1: the scope holds across
// Fastify's hooks, including a POST body's parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { TracksError, convert } from '../../src/index.js';
import { tracksPlugin } from '../../src/integrations/fastify.js';
import { AdapterDelayTracks, adapterSuite, freshRun } from './adapter-suite.js';

adapterSuite('Fastify', async ({ header, plan, adapter }) => {
  const app = Fastify();
  const { withKeyAndContext, ...rest } = adapter;
  const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  await app.register(tracksPlugin, {
    ...(withKeyAndContext ? { key: (request) => one(request.headers[header]), context: (request) => ({ plan: one(request.headers[plan]) ?? 'free' }) } : {}),
    ...rest,
  });
  // Routes registered in an encapsulated child context still get the scope.
  await app.register(async (child) => {
    child.get('/catalog', async (request) => {
      const run = new AdapterDelayTracks();
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { key: run.key, track: run.name, reason: run.reason, tracks: { ...request.tracks } };
    });
    child.get('/fresh', async (request) => freshRun((request.query as { set?: string }).set));
    child.post('/buy', async (request) => {
      await Promise.resolve();
      convert({ metric: 'purchase', value: (request.body as { amount: number }).amount });
      return { ok: true, key: new AdapterDelayTracks().key };
    });
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
});

test('Fastify: bad plugin options fail registration with a TracksError', async () => {
  const app = Fastify();
  await assert.rejects(
    (async () => {
      await app.register(tracksPlugin, { key: 'user' as never });
      await app.ready();
    })(),
    (e: unknown) => e instanceof TracksError && /^tracks\/fastify: key must be a function of the request, e\.g\. key: \(request\) => request\.headers\['x-user-id'\]$/.test(e.message),
  );
  // A misspelt option fails registration too; Fastify's own register options are not ours to refuse.
  const misspelt = Fastify();
  await assert.rejects(
    (async () => {
      await misspelt.register(tracksPlugin, { trackset: [] } as never);
      await misspelt.ready();
    })(),
    /tracks\/fastify: unknown option 'trackset'; did you mean 'trackSets'\?/,
  );
  const prefixed = Fastify();
  await prefixed.register(tracksPlugin, { prefix: '/shop', logLevel: 'warn', anonymousKey: true } as never);
  await prefixed.ready();
  await prefixed.close();
});

test('Fastify: the key is read when the first run needs it, so an auth hook after the plugin’s counts; an empty key is no key', async () => {
  const app = Fastify();
  await app.register(tracksPlugin, { key: (request) => (request as unknown as { user?: { id: string } }).user?.id, anonymousKey: true });
  app.addHook('preHandler', async (request) => {
    const id = request.headers['x-user'];
    if (typeof id === 'string') (request as unknown as { user: { id: string } }).user = { id };
  });
  app.get('/', async () => ({ key: new AdapterDelayTracks().key }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const alice = await fetch(`${url}/`, { headers: { 'x-user': 'alice' } });
    assert.deepEqual(await alice.json(), { key: 'alice' });
    assert.equal(alice.headers.get('set-cookie'), null, 'a logged-in user gets no visitor cookie');
    const visitor = await fetch(`${url}/`, { headers: { 'x-user': '' } });
    assert.match(visitor.headers.get('set-cookie') ?? '', /^tracks_visitor=/, 'an empty id is not a key: the visitor gets their own');
  } finally {
    await app.close();
  }
});

test('Fastify: a new visitor’s cookie is sent when the route hijacks the reply after its run, and once when it does not', async () => {
  const app = Fastify();
  await app.register(tracksPlugin, { anonymousKey: true });
  app.get('/hijacked', (_request, reply) => {
    const run = new AdapterDelayTracks();
    void run.name;
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/plain' });
    reply.raw.end(run.key ?? '');
  });
  app.get('/plain', async (_request, reply) => {
    void reply.header('set-cookie', 'theirs=1');
    return new AdapterDelayTracks().key;
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const hijacked = await fetch(`${url}/hijacked`);
    const key = await hijacked.text();
    assert.equal(hijacked.headers.get('set-cookie'), `tracks_visitor=${key}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax`);
    const plain = await fetch(`${url}/plain`);
    assert.deepEqual(plain.headers.getSetCookie().map((c) => c.split('=')[0]).sort(), ['theirs', 'tracks_visitor'], 'each cookie once');
  } finally {
    await app.close();
  }
});


test('Fastify: a new visitor’s cookie leaves the cookies the application set on the raw response (a session middleware’s), before or after the run, and those it set through Fastify', async () => {
  const app = Fastify();
  await app.register(tracksPlugin, { anonymousKey: true });
  app.get('/before', async (_request, reply) => {
    reply.raw.setHeader('set-cookie', 'sid=abc; HttpOnly');
    return { track: new AdapterDelayTracks().name };
  });
  app.get('/after', async (_request, reply) => {
    const name = new AdapterDelayTracks().name;
    reply.raw.appendHeader('set-cookie', 'sid=def; HttpOnly');
    return { track: name };
  });
  app.get('/both', async (_request, reply) => {
    reply.raw.setHeader('set-cookie', 'sid=ghi; HttpOnly');
    void reply.header('set-cookie', 'theirs=1');
    return { track: new AdapterDelayTracks().name };
  });
  // A streamed reply: Fastify sets its list's headers one by one on the raw response.
  app.get('/stream', async (_request, reply) => {
    void reply.header('set-cookie', 'theirs=1');
    const name = new AdapterDelayTracks().name;
    return reply.type('text/plain').send(Readable.from([name]));
  });
  // A library that sets its cookie with a plain setHeader on the raw response, after the run.
  app.get('/naive-raw', async (_request, reply) => {
    const name = new AdapterDelayTracks().name;
    reply.raw.setHeader('Set-Cookie', 'theme=dark');
    return { track: name };
  });
  app.get('/hijack-capital', (_request, reply) => {
    const name = new AdapterDelayTracks().name;
    reply.hijack();
    reply.raw.writeHead(200, { 'Content-Type': 'text/plain', 'Set-Cookie': 'theirs=1' });
    reply.raw.end(name);
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const names = async (path: string) => (await fetch(`${url}${path}`)).headers.getSetCookie().map((c) => c.split('=')[0]).sort();
    assert.deepEqual(await names('/before'), ['sid', 'tracks_visitor']);
    assert.deepEqual(await names('/after'), ['sid', 'tracks_visitor']);
    assert.deepEqual(await names('/both'), ['sid', 'theirs', 'tracks_visitor']);
    assert.deepEqual(await names('/stream'), ['theirs', 'tracks_visitor']);
    assert.deepEqual(await names('/naive-raw'), ['theme', 'tracks_visitor']);
    assert.deepEqual(await names('/hijack-capital'), ['theirs', 'tracks_visitor']);
  } finally {
    await app.close();
  }
});

test('Fastify: registering the plugin again under a context that has it is a TracksError through ready(), not an exception thrown out of registration', async () => {
  const app = Fastify();
  await app.register(tracksPlugin, {});
  void app.register(async (child) => {
    await child.register(tracksPlugin, { key: () => 'child-key' });
  });
  await assert.rejects(async () => {
    await app.ready();
  }, (error: unknown) => error instanceof TracksError && /registered already in this context or a parent of it/.test(error.message));
  await app.close().catch(() => {});
});

/** A Fastify app with anonymous visitors whose route answers the run's key, listening while `fn` runs. */
async function withVisitorApp(fn: (url: string) => Promise<void>): Promise<void> {
  const app = Fastify();
  await app.register(tracksPlugin, { anonymousKey: true });
  app.get('/', async () => ({ key: new AdapterDelayTracks().key }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    await fn(url);
  } finally {
    await app.close();
  }
}

test('Fastify: a visitor cookie in double quotes or in capitals (a proxy rewrote it) is still the visitor’s key, not a new one', async () => {
  await withVisitorApp(async (url) => {
    const first = await fetch(`${url}/`);
    const { key } = (await first.json()) as { key: string };
    for (const cookie of [`tracks_visitor="${key}"`, `tracks_visitor=${key.toUpperCase()}`]) {
      const again = await fetch(`${url}/`, { headers: { cookie } });
      assert.deepEqual(await again.json(), { key }, cookie);
      assert.equal(again.headers.get('set-cookie'), null, `${cookie}: no new id issued`);
    }
  });
});

test('Fastify: of two visitor cookies, an id as tracks writes it wins over a stale one in quotes or capitals, whatever their order', async () => {
  await withVisitorApp(async (url) => {
    const current = '01a24f12-0000-7000-8000-000000000001';
    const stale = ['"0190aaaa-0000-7000-8000-000000000002"', '0190AAAA-0000-7000-8000-000000000002'];
    for (const other of stale) {
      for (const cookie of [`tracks_visitor=${other}; tracks_visitor=${current}`, `tracks_visitor=${current}; tracks_visitor=${other}`]) {
        const response = await fetch(`${url}/`, { headers: { cookie } });
        assert.deepEqual(await response.json(), { key: current }, cookie);
      }
    }
  });
});

test('Fastify: the application’s own hooks at every stage see the request’s key, for a GET and for a POST whose body arrives later', async () => {
  const app = Fastify();
  await app.register(tracksPlugin, { key: (request) => request.headers['x-user'] as string | undefined });
  const seen: Record<string, string | null> = {};
  const stage = (name: string) => async (request: { method: string }) => {
    await new Promise((resolve) => setImmediate(resolve));
    seen[`${request.method} ${name}`] = new AdapterDelayTracks().key;
  };
  app.addHook('onRequest', stage('onRequest'));
  app.addHook('preParsing', stage('preParsing'));
  app.addHook('preValidation', stage('preValidation'));
  app.addHook('preHandler', stage('preHandler'));
  app.get('/page', async () => ({ key: new AdapterDelayTracks().key }));
  app.post('/page', async () => ({ key: new AdapterDelayTracks().key }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const get = await fetch(`${url}/page`, { headers: { 'x-user': 'gina' } });
    assert.deepEqual(await get.json(), { key: 'gina' });
    const body = Readable.from((async function* () {
      yield '{"amount":';
      await new Promise((resolve) => setTimeout(resolve, 20));
      yield '3}';
    })());
    const post = await fetch(`${url}/page`, { method: 'POST', headers: { 'x-user': 'paul', 'content-type': 'application/json' }, body: Readable.toWeb(body) as ReadableStream, duplex: 'half' } as RequestInit);
    assert.deepEqual(await post.json(), { key: 'paul' });
    assert.deepEqual(seen, {
      'GET onRequest': 'gina', 'GET preParsing': 'gina', 'GET preValidation': 'gina', 'GET preHandler': 'gina',
      'POST onRequest': 'paul', 'POST preParsing': 'paul', 'POST preValidation': 'paul', 'POST preHandler': 'paul',
    });
  } finally {
    await app.close();
  }
});
