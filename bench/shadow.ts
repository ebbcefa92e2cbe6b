// What a shadow adds to the served request. A small HTTP server answers a catalog route whose
// code path is a track set: without a shadow, and with `static shadow` at sample 1 (every
// request also runs the candidate, after the response) and at 0.05. Requests go one at a time
// over a keep-alive connection, so a candidate still running when the next request arrives
// shares the event loop with it: that interference is part of what is measured. Two latencies
// per request: the server's (handler entry to `res.end`) and the client's round trip. Rounds
// alternate the modes; each mode keeps its best round. Target: p99 added under 0.1 ms.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrackSet, close, configure } from '../dist/index.js';
import type { ShadowOptions } from '../dist/index.js';
import { printTable, verdict } from './harness.js';

const REQUESTS = Number(process.env.BENCH_SHADOW_REQUESTS ?? 4000);
const ROUNDS = 3;

/** The catalog page: an async lookup, then a little work on its rows. */
async function catalog(page: number, extra: number): Promise<Array<{ sku: string; price: number }>> {
  await new Promise((resolve) => setImmediate(resolve));
  const rows: Array<{ sku: string; price: number }> = [];
  for (let i = 0; i < 50 + extra; i++) rows.push({ sku: `coconut-${page}-${i}`, price: 100 + ((page * 7 + i) % 13) });
  return rows.slice(0, 50);
}

/** The catalog route's code path as a track set: `old` serves; `fresh` is the rewrite (shadowed at `sample`, or weight 0 without a shadow). */
function catalogSet(id: string, sample: number | undefined) {
  return class extends TrackSet {
    static override id = id;
    static override addControlTrack = false;
    static override control = 'old';
    static override weights = sample === undefined ? { old: 1, fresh: 0 } : undefined;
    static override shadow: ShadowOptions | undefined = sample === undefined ? undefined : { sample, timeout: 200, maxConcurrent: 64 };
    static old_track(page: number) {
      return catalog(page, 0);
    }
    static fresh_track(page: number) {
      return catalog(page, 20);
    }
  };
}

const Plain = catalogSet('bench-plain', undefined);
const ShadowAll = catalogSet('bench-shadow-all', 1);
const ShadowFew = catalogSet('bench-shadow-few', 0.05);

const MODES = { 'no shadow': Plain, 'shadow, sample 1': ShadowAll, 'shadow, sample 0.05': ShadowFew } as const;
type Mode = keyof typeof MODES;

const dir = mkdtempSync(join(tmpdir(), 'tracks-bench-shadow-'));
configure({ store: join(dir, 'bench.db') });

let mode: Mode = 'no shadow';
const served: number[] = [];
let user = 0;
const server = createServer((req, res) => {
  const started = performance.now();
  const run = new MODES[mode]({ key: `user-${user++}` });
  void (run.run(user % 100) as Promise<unknown>).then((rows) => {
    res.end(JSON.stringify(rows));
    served.push(performance.now() - started);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/catalog', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    })
      .on('error', reject)
      .end();
  });
}

async function round(m: Mode): Promise<{ server: number[]; client: number[] }> {
  mode = m;
  served.length = 0;
  for (let i = 0; i < 300; i++) await get(); // warm-up
  served.length = 0;
  const client: number[] = [];
  for (let i = 0; i < REQUESTS; i++) client.push(await get());
  return { server: [...served], client };
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

const best = new Map<Mode, { server50: number; server99: number; client50: number; client99: number }>();
for (let r = 0; r < ROUNDS; r++) {
  for (const m of Object.keys(MODES) as Mode[]) {
    const { server: s, client: c } = await round(m);
    const now = { server50: quantile(s, 0.5), server99: quantile(s, 0.99), client50: quantile(c, 0.5), client99: quantile(c, 0.99) };
    const before = best.get(m);
    best.set(m, before === undefined ? now : {
      server50: Math.min(before.server50, now.server50),
      server99: Math.min(before.server99, now.server99),
      client50: Math.min(before.client50, now.client50),
      client99: Math.min(before.client99, now.client99),
    });
  }
}
agent.destroy();
server.close();
await close();
rmSync(dir, { recursive: true, force: true });

const none = best.get('no shadow')!;
const ms = (x: number) => `${x.toFixed(3)} ms`;
const added = (x: number) => `${x >= 0 ? '+' : ''}${(x * 1000).toFixed(1)} µs`;
const rows = [['case', 'server p50', 'server p99', 'added p50', 'added p99', 'client p50', 'client p99', 'client added p99']];
for (const [m, b] of best) {
  rows.push([m, ms(b.server50), ms(b.server99), added(b.server50 - none.server50), added(b.server99 - none.server99), ms(b.client50), ms(b.client99), added(b.client99 - none.client99)]);
}
printTable(`Latency a shadow adds to the served request (${REQUESTS} sequential requests per round, best of ${ROUNDS} rounds; candidates run after the response)`, rows);
const all = best.get('shadow, sample 1')!;
console.log(verdict('server p99 added by a shadow at sample 1 (ms)', all.server99 - none.server99, 0.1, 'at most'));
console.log(verdict('client p99 added by a shadow at sample 1 (ms)', all.client99 - none.client99, 0.1, 'at most'));
