// The coconut store on Hono (@hono/node-server): `node --import tsx examples/hono/server.ts`, then
//   curl -H 'x-user-id: alice' http://127.0.0.1:3000/catalog
//   curl -X POST -H 'x-user-id: alice' -H 'content-type: application/json' -d '{"total":12}' http://127.0.0.1:3000/checkout
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { close, configure, convert } from 'tracks';
import { tracks } from 'tracks/hono';
import { catalogPage } from '../coconut-store/web-tracks.js';

configure({ store: process.env.TRACKS_STORE ?? 'coconut-store.db' });

const app = new Hono(); // c.get('tracks') is typed: the adapter declares it for every app
app.use(
  tracks({
    key: (c) => c.req.header('x-user-id'),
    context: (c) => ({ vip: c.req.header('x-vip') === 'yes' }),
    anonymousKey: true,
    ...(process.env.TRACKS_FORCE_SECRET ? { forceSecret: process.env.TRACKS_FORCE_SECRET } : {}),
  }),
);
app.get('/catalog', async (c) => {
  const page = await catalogPage();
  console.log(`catalog served, tracks ${JSON.stringify(c.get('tracks'))}`);
  return c.json(page);
});
app.post('/checkout', async (c) => {
  const { total } = await c.req.json<{ total?: number }>();
  convert({ metric: 'purchase', value: Number(total ?? 0) });
  return c.json({ ok: true });
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`coconut store (Hono) on http://127.0.0.1:${info.port}`);
});
process.once('SIGTERM', () => server.close(() => void close()));
