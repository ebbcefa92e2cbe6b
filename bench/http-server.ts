// One server for bench/http.ts, in its own process: `<framework> <bare|scope|returning|new> <store path>`.
// Every variant serves the same small JSON route. 'scope' adds only an AsyncLocalStorage scope
// per request, opened the way the adapter opens its own (the floor of any request-scoped
// library on this Node); the others add the adapter and one track run per request, recorded to
// SQLite (an exposure per new user).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AddressInfo } from 'node:net';
import { TrackSet, close, configure } from 'tracks';

class CatalogTracks extends TrackSet {
  static override id = 'bench-http';
  static fast_track(): number {
    return 1;
  }
}

const [framework, mode, storePath] = process.argv.slice(2) as ['express' | 'fastify' | 'hono', 'bare' | 'scope' | 'returning' | 'new', string];
const withTracks = mode === 'returning' || mode === 'new';
const scope = mode === 'scope' ? new AsyncLocalStorage<object>() : undefined;
const withAdapter = withTracks;
if (withTracks) configure({ store: storePath, outbox: false, handleSignals: false });
let user = 0;
// 'new': every request a new user, so every request records an exposure (the worst case);
// 'returning': 10,000 users come back, each exposure recorded once, as on a real site.
const key = mode === 'new' ? () => `user-${user++}` : () => `user-${user++ % 10_000}`;
const page = () => {
  const track = withTracks ? (withAdapter ? new CatalogTracks() : new CatalogTracks({ key: key() })) : undefined;
  track?.run();
  return { coconuts: ['king', 'green'], track: track?.name ?? 'none' };
};

let port: number;
if (framework === 'express') {
  const { default: express } = await import('express');
  const app = express();
  if (withAdapter) app.use((await import('tracks/express')).tracks({ key }));
  if (scope) app.use((req, _res, next) => scope.run(req, next));
  app.get('/catalog', (_req, res) => {
    res.json(page());
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
} else if (framework === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  if (withAdapter) await app.register((await import('tracks/fastify')).tracksPlugin, { key });
  if (scope) {
    // As the adapter: opened in onRequest, entered again where Fastify loses it.
    app.addHook('onRequest', (request, _reply, next) => scope.run(request, next));
    app.addHook('preValidation', (request, _reply, next) => scope.run(request, next));
    app.addHook('preHandler', (request, _reply, next) => scope.run(request, next));
  }
  app.get('/catalog', async () => page());
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
} else {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const app = new Hono();
  if (withAdapter) app.use((await import('tracks/hono')).tracks({ key }));
  if (scope) app.use(async (c, next) => scope.run(c, next));
  app.get('/catalog', (c) => c.json(page()));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
}
process.send!({ port });
let mark = process.cpuUsage();
process.on('message', async (message) => {
  if (message === 'mark') {
    mark = process.cpuUsage(); // every thread's CPU time: the SQLite worker's too
    process.send!({ marked: true });
    return;
  }
  const used = process.cpuUsage(mark);
  if (withTracks) await close();
  process.send!({ cpuMicros: used.user + used.system });
  process.exit(0);
});
