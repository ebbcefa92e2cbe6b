// One server for bench/http.ts, in its own process: `<framework> <bare|returning|new> <store path>`.
// Every variant serves the same small JSON route; the others add the adapter and one track run
// per request, recorded to SQLite (an exposure per new user).
import type { AddressInfo } from 'node:net';
import { TrackSet, close, configure } from 'tracks';

class CatalogTracks extends TrackSet {
  static override id = 'bench-http';
  static fast_track(): number {
    return 1;
  }
}

const [framework, mode, storePath] = process.argv.slice(2) as ['express' | 'fastify' | 'hono', 'bare' | 'returning' | 'new', string];
const withTracks = mode !== 'bare';
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
  app.get('/catalog', async () => page());
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
} else {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const app = new Hono();
  if (withAdapter) app.use((await import('tracks/hono')).tracks({ key }));
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
