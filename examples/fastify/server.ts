// The coconut store on Fastify: `node --import tsx examples/fastify/server.ts`, then
//   curl -H 'x-user-id: alice' http://127.0.0.1:3000/catalog
//   curl -X POST -H 'x-user-id: alice' -H 'content-type: application/json' -d '{"total":12}' http://127.0.0.1:3000/checkout
import Fastify from 'fastify';
import { close, configure, convert } from 'tracks';
import { tracksPlugin } from 'tracks/fastify';
import { catalogPage } from '../coconut-store/web-tracks.js';

configure({ store: process.env.TRACKS_STORE ?? 'coconut-store.db' });

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
const app = Fastify();
await app.register(tracksPlugin, {
  key: (request) => header(request.headers['x-user-id']),
  context: (request) => ({ vip: header(request.headers['x-vip']) === 'yes' }),
  anonymousKey: true,
  ...(process.env.TRACKS_FORCE_SECRET ? { forceSecret: process.env.TRACKS_FORCE_SECRET } : {}),
});
app.get('/catalog', async (request) => {
  const page = await catalogPage();
  console.log(`catalog served, tracks ${JSON.stringify(request.tracks)}`);
  return page;
});
app.post('/checkout', async (request) => {
  convert({ metric: 'purchase', value: Number((request.body as { total?: number }).total ?? 0) });
  return { ok: true };
});

const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`coconut store (Fastify) on ${url}`);
process.once('SIGTERM', () => void app.close().then(close));
