// tracks/hono against real Hono on @hono/node-server, over real HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { TracksError, convert } from '../../src/index.js';
import { tracks } from '../../src/integrations/hono.js';
import type { TracksVariables } from '../../src/integrations/hono.js';
import { AdapterDelayTracks, adapterSuite, freshRun } from './adapter-suite.js';

/** Serves `app` on @hono/node-server at a free port of 127.0.0.1, once listening. */
function serveOnLoopback(app: Hono<{ Variables: TracksVariables }>): Promise<ReturnType<typeof serve>> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server));
  });
}

adapterSuite('Hono', async ({ header, plan, adapter }) => {
  const app = new Hono<{ Variables: TracksVariables }>();
  const { withKeyAndContext, ...rest } = adapter;
  app.use(tracks({ ...(withKeyAndContext ? { key: (c) => c.req.header(header), context: (c) => ({ plan: c.req.header(plan) ?? 'free' }) } : {}), ...rest }));
  app.get('/catalog', async (c) => {
    const run = new AdapterDelayTracks();
    await new Promise((resolve) => setTimeout(resolve, 1));
    return c.json({ key: run.key, track: run.name, reason: run.reason, tracks: { ...c.get('tracks') } });
  });
  app.get('/fresh', (c) => c.json(freshRun(c.req.query('set'))));
  app.post('/buy', async (c) => {
    const body = await c.req.json<{ amount: number }>();
    convert({ metric: 'purchase', value: body.amount });
    return c.json({ ok: true, key: new AdapterDelayTracks().key });
  });
  const server = await serveOnLoopback(app);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});

test('Hono: bad middleware options are TracksErrors naming the option', () => {
  assert.throws(() => tracks({ context: 42 as never }), (e: unknown) => e instanceof TracksError && /^tracks\/hono: context must be a function of the request, e\.g\. context: \(c\) => \(\{ plan: c\.req\.header\('x-plan'\) \}\)$/.test(e.message));
  assert.throws(() => tracks({ forcesecret: 'qa-secret-0123456789abcdef' } as never), /tracks\/hono: unknown option 'forcesecret'; did you mean 'forceSecret'\?/);
});

test('Hono: a handler that returns its own Response still carries the visitor cookie', async () => {
  const app = new Hono<{ Variables: TracksVariables }>();
  app.use(tracks({ anonymousKey: true }));
  app.get('/raw', () => new Response(new AdapterDelayTracks().name));
  const server = await serveOnLoopback(app);
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/raw`);
    assert.match(response.headers.get('set-cookie') ?? '', /^tracks_visitor=[0-9a-f-]{36}; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax$/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('Hono: behind a proxy that ends TLS, anonymousKey.secure: true makes the cookie Secure (Hono reads https from the URL only)', async () => {
  const listen = (secure: boolean | undefined) => {
    const app = new Hono<{ Variables: TracksVariables }>();
    app.use(tracks({ anonymousKey: secure === undefined ? true : { secure } }));
    app.get('/', (c) => c.text(new AdapterDelayTracks().name));
    return serveOnLoopback(app);
  };
  for (const [secure, flagged] of [[true, true], [undefined, false], [false, false]] as const) {
    const server = await listen(secure);
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(/; Secure$/.test(response.headers.get('set-cookie')!), flagged, `secure: ${secure}`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
  assert.throws(() => tracks({ anonymousKey: { secure: 'yes' as never } }), (e: unknown) => e instanceof TracksError && /tracks\/hono: anonymousKey.secure must be true, false or left out/.test(e.message));
});

test('Hono: a first run inside a streamed response neither throws nor sets a cookie; the visitor runs without a key, said once', async () => {
  const { streamText } = await import('hono/streaming');
  const app = new Hono<{ Variables: TracksVariables }>();
  app.use(tracks({ anonymousKey: true }));
  const runs: Array<{ key: string | null; name: string } | string> = [];
  app.get('/stream', (c) =>
    streamText(c, async (stream) => {
      await stream.write('first ');
      try {
        const run = new AdapterDelayTracks();
        runs.push({ key: run.key, name: run.name });
        await stream.write(run.name);
      } catch (error) {
        runs.push(`threw: ${(error as Error).message}`);
      }
    }),
  );
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => w.code === 'TRACKS_LATE_VISITOR_COOKIE' && warnings.push(w.message);
  process.on('warning', onWarning);
  const server = await serveOnLoopback(app);
  try {
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`);
      assert.match(await response.text(), /^first (control|short|long)$/);
      assert.equal(response.headers.get('set-cookie'), null);
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(runs.map((r) => (typeof r === 'string' ? r : r.key)), [null, null]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /tracks\/hono: a visitor's first run came after the response's headers were sent/);
  } finally {
    process.off('warning', onWarning);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('Hono: a forced set that first runs inside a streamed body is not reported as unknown (the check waits for the response to end)', async () => {
  const { streamText } = await import('hono/streaming');
  class LateStreamTracks extends AdapterDelayTracks {
    static override id = 'hono-late-stream';
  }
  const secret = 'qa-secret-0123456789abcdef';
  const app = new Hono<{ Variables: TracksVariables }>();
  app.use(tracks({ forceSecret: secret }));
  app.get('/s', (c) =>
    streamText(c, async (stream) => {
      await stream.write('a ');
      await new Promise((resolve) => setTimeout(resolve, 20));
      await stream.write(new LateStreamTracks().name);
    }),
  );
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => w.code === 'TRACKS_UNKNOWN_FORCED_SET' && warnings.push(w.message);
  process.on('warning', onWarning);
  const server = await serveOnLoopback(app);
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/s`;
    const response = await fetch(url, { headers: { 'x-tracks-force': 'hono-late-stream=long', 'x-tracks-force-secret': secret } });
    assert.equal(await response.text(), 'a long', 'the forced track ran in the stream');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('Hono: a handler that returns a fetch() Response (immutable headers, a proxy) gets the visitor cookie and its body', async () => {
  const upstreamApp = new Hono<{ Variables: TracksVariables }>();
  upstreamApp.get('/', (c) => {
    c.header('set-cookie', 'upstream=1; Path=/');
    return c.text('from upstream');
  });
  const upstream = await serveOnLoopback(upstreamApp);
  const app = new Hono<{ Variables: TracksVariables }>();
  app.use(tracks({ anonymousKey: true }));
  app.get('/proxy', () => {
    void new AdapterDelayTracks().name;
    return fetch(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`);
  });
  const server = await serveOnLoopback(app);
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/proxy`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'from upstream');
    const cookies = response.headers.getSetCookie();
    assert.ok(cookies.includes('upstream=1; Path=/'), cookies.join(' | '));
    assert.ok(cookies.some((c) => /^tracks_visitor=[0-9a-f-]{36}; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax$/.test(c)), cookies.join(' | '));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  }
});
