// The coconut store on Express: `node --import tsx examples/express/server.ts`, then
//   curl -H 'x-user-id: alice' http://127.0.0.1:3000/catalog
//   curl -X POST -H 'x-user-id: alice' -H 'content-type: application/json' -d '{"total":12}' http://127.0.0.1:3000/checkout
// QA forcing: start with TRACKS_FORCE_SECRET set (16+ characters) and send it in
// x-tracks-force-secret with `x-tracks-force: web-catalog-delay=long`.
import express from 'express';
import { close, configure, convert } from 'tracks';
import { tracks } from 'tracks/express';
import { catalogPage } from '../coconut-store/web-tracks.js';

configure({ store: process.env.TRACKS_STORE ?? 'coconut-store.db' });

const app = express();
app.use(express.json());
app.use(
  tracks({
    key: (req) => req.get('x-user-id'), // logged in: the user's id
    context: (req) => ({ vip: req.get('x-vip') === 'yes' }),
    anonymousKey: true, // not logged in: a first-party cookie keeps the visitor's tracks
    ...(process.env.TRACKS_FORCE_SECRET ? { forceSecret: process.env.TRACKS_FORCE_SECRET } : {}),
  }),
);
app.get('/catalog', async (req, res) => {
  const page = await catalogPage();
  console.log(`catalog served, tracks ${JSON.stringify(req.tracks)}`);
  res.json(page);
});
app.post('/checkout', (req, res) => {
  convert({ metric: 'purchase', value: Number((req.body as { total?: number }).total ?? 0) }); // credits the request's user
  res.json({ ok: true });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address();
  console.log(`coconut store (Express) on http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}`);
});
process.once('SIGTERM', () => server.close(() => void close()));
