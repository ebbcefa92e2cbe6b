// `npm run demo`: the coconut store of the seed, end to end on the embedded default.
//
// 60,000 simulated users visit the catalog. Each is in at most one of two tests (the
// MultiTrackSet): a slower page (DelayTracks) or a price change (PricingTracks); VIPs are
// kept out. Whether a user buys depends on a known true effect: the long delay cuts
// conversion by a fifth, the short one does nothing, and each coconut-price step of +1
// lowers it by 5% (relative). Everything is recorded to SQLite, and the report must find
// those effects and no others.
//
// The metrics are declared in code (configure({ metrics })), and so is the pricing set's
// baseline (static control). The delay test is changed live, as a team would: it starts on
// 20% of users, is ramped to everyone after a third of the traffic, and the long delay's
// weight is halved after two thirds. Meanwhile the store gets busier (the purchase rate
// drifts up), so pooling the phases would mislead; the report compares users within their
// phase. Outcomes are seeded: every run prints the same figures (measured latencies and clock
// times, which vary, are left out of the printed report; `tracks report` shows them).
//
// Two users in five are returning customers who bought in the two weeks before the test, and
// they buy again more often and spend more: the report adjusts for that history (CUPED) and
// prints how much variance it removed, the same answer from fewer users.
//
// The stock query is being rewritten, and the rewrite runs in shadow (StockQuery) on a tenth
// of the visits: every user is served the current query, and the report measures how often
// the rewrite disagrees (on every tenth day, for king coconuts: 1 answer in 30).
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildReport, close, configure, convert, rampTrackSet, readAnalysis, renderReport, stats, storeFrom } from 'tracks';
import type { Recorder, Report } from 'tracks';
import { renderCoconutCatalog } from './coconut-store/catalog.js';
import type { User } from './coconut-store/catalog.js';
import { tour } from './coconut-store/tour.js';
import { CatalogTests, StockQuery } from './coconut-store/tracks.js';

const USERS = Number(process.env.DEMO_USERS ?? 60_000);
const BASE_RATE = 0.1; // rising to 0.14 by the last user: the store gets busier
const TRUE_EFFECT: Readonly<Record<string, number>> = { short: 1, long: 0.8 }; // relative, delay tracks
const PRICE_STEP_EFFECT = -0.05; // relative change in conversion per +1 price step
const RETURNING = 0.4; // share of users who bought in the 14 days before the test
const DAY_MS = 86_400_000;
const CONCURRENCY = 500;

const folder = join(process.cwd(), 'demo');
const path = join(folder, 'tracks.db');
mkdirSync(folder, { recursive: true });
for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}.outbox`, `${path}.outbox-wal`, `${path}.outbox-shm`]) rmSync(file, { force: true });

console.log('A tour of the API\n');
await tour((line) => console.log(`  ${line}`));

console.log(`\nSimulating ${USERS.toLocaleString('en-US')} users of the coconut store...`);
const recorder = configure({
  store: path,
  flushInterval: 200,
  // Declared once: the report analyses each metric as declared, with no flags.
  metrics: { purchase: { kind: 'conversion' }, revenue: { kind: 'sum' } },
}) as Recorder;
const control = storeFrom(path);
const random = mulberry32(20261121);
const history = mulberry32(20261205);
const progress = progressBar(USERS);
const started = performance.now();

// The live changes, at a share of the traffic: what `tracks ramp` writes, from a terminal.
const changes = [
  { at: 0, ramp: { coverage: 0.2 }, command: 'tracks ramp delay --coverage 0.2   (a careful start)' },
  { at: Math.floor(USERS / 3), ramp: { coverage: 1 }, command: 'tracks ramp delay --coverage 1     (no alarm: everyone in)' },
  { at: Math.floor((2 * USERS) / 3), ramp: { weights: { long: 0.5 } }, command: 'tracks ramp delay --weights long=0.5  (the long delay looks costly)' },
];
for (let first = 0; first < USERS; first += CONCURRENCY) {
  for (const change of changes.filter((c) => c.at >= first && c.at < first + CONCURRENCY)) {
    // A change takes effect at each process's next control read (here: at once).
    await sleep(2); // after every conversion so far, so the phase boundary is clear
    await rampTrackSet(control, 'delay', change.ramp, { force: true });
    await recorder.refreshControls();
    console.log(`  after ${first.toLocaleString('en-US')} users: ${change.command}`);
  }
  const batch = Array.from({ length: Math.min(CONCURRENCY, USERS - first) }, (_, i) => visit(first + i));
  await Promise.all(batch);
  progress(first + batch.length);
}
await control.close();
await close();
const seconds = (performance.now() - started) / 1000;
const counters = stats();
process.stderr.write(`Recorded in ${seconds.toFixed(1)} s${counters.dropped > 0 ? ` (${counters.dropped} events dropped!)` : ''}.\n`);
console.log('');

const store = storeFrom(path);
// The declarations the process published, and the sums. The pricing set declares its baseline
// (static control), so the report needs no --control.
const { sums, metrics, shadow } = await readAnalysis(store, { daily: false });
const report = buildReport(sums, { store: store.description, metrics, shadow });
await store.close();
console.log(renderReport(report, { latency: false, times: false, samples: false }));
const verdict = checkFindings(report);
console.log(`\n${verdict.ok ? 'Check passed' : 'CHECK FAILED'}: ${verdict.message}`);
if (!verdict.ok) process.exitCode = 1;

const where = relative(process.cwd(), path) || path;
console.log(`
The data is in ${where} (plain SQLite: try sqlite3 ${where} 'select * from tracks_exposures limit 5').
See the report again:  npx tracks report --store ${where}
Or look at it:         npx tracks dashboard --store ${where}`);

/** One user's visit: the catalog page under their tests, then maybe a purchase. */
async function visit(index: number): Promise<void> {
  // Every draw of the user's outcome is made now, before the page's awaits: visits finish in
  // timer order, which varies, and the story must not.
  const user: User = { id: `user-${index + 1}`, isVip: random() < 0.05 };
  const buys = random();
  // A returning customer's last purchase, 1 to 13 days ago, and how many coconuts they take
  // (from a stream of their own, so the other draws are those of a demo without them).
  const returning = history() < RETURNING;
  const daysAgo = 1 + Math.floor(history() * 13);
  const basket = 1 + Math.floor(history() * 3);
  if (returning) {
    convert({ key: user.id, metric: 'purchase', at: Date.now() - daysAgo * DAY_MS });
    convert({ key: user.id, metric: 'revenue', value: 3 * basket, at: Date.now() - daysAgo * DAY_MS });
  }
  const response = renderCoconutCatalog();
  // The variety the user looks at and the store's day: the stock query's arguments.
  const inStock = await StockQuery.choose({ key: user.id }).run(response.coconuts[index % 3]!.name, index % 50);
  if (!inStock) return;
  using tests = new CatalogTests({ key: user.id, context: { user } });
  try {
    await tests.run(response);
  } catch {
    return; // the page failed: no purchase (tracks recorded the error for the track)
  }
  // Returning customers buy eleven times as often as new ones (the same 10% base on average).
  let rate = BASE_RATE * (1 + (0.4 * index) / USERS) * (returning ? 2.2 : 0.2);
  if (tests.trackSet?.id === 'delay') rate *= TRUE_EFFECT[tests.name] ?? 1;
  if (tests.trackSet?.id === 'pricing') rate *= 1 + PRICE_STEP_EFFECT * priceDeltaOf(tests.name);
  if (buys < rate) {
    convert({ key: user.id, metric: 'purchase' });
    convert({ key: user.id, metric: 'revenue', value: response.coconuts[0]!.price * (returning ? basket : 1) });
  }
}

/**
 * The demo's own check: every significant purchase result must have the true effect's sign,
 * the long delay (a fifth fewer purchases) and the largest price steps must be found, and
 * the short delay (no effect) must not be.
 */
function checkFindings(report: Report): { ok: boolean; message: string } {
  const problems: string[] = [];
  const found = (set: string, track: string): { significant: boolean; estimate: number } | undefined => {
    const comparison = report.trackSets
      .find((s) => s.id === set)
      ?.tracks.find((t) => t.name === track)
      ?.metrics.find((m) => m.metric === 'purchase')?.comparison;
    return comparison ? { significant: comparison.significant, estimate: comparison.absolute.estimate } : undefined;
  };
  if (!found('delay', 'long')?.significant) problems.push('the long delay effect was missed');
  if (found('delay', 'short')?.significant) problems.push('the short delay shows an effect it does not have');
  for (const delta of [-5, -4, -3, -2, -1, 1, 2, 3, 4, 5]) {
    const result = found('pricing', `price_adjusted_by_${delta}`);
    if (result?.significant && Math.sign(result.estimate) !== Math.sign(-delta)) problems.push(`price step ${delta} has the wrong sign`);
  }
  if (!found('pricing', 'price_adjusted_by_5')?.significant) problems.push('the +5 price step effect was missed');
  const cuped = found('delay', 'long') && report.trackSets.find((s) => s.id === 'delay')?.tracks.find((t) => t.name === 'long')?.metrics.find((m) => m.metric === 'revenue')?.comparison?.cuped;
  if (!cuped || cuped.varianceReduction <= 0) problems.push("CUPED should adjust revenue for the returning customers' history");
  const shadow = report.trackSets.find((s) => s.id === 'stock-query')?.shadow?.candidates[0]?.mismatchRate;
  if (!shadow || !(shadow.interval[0] <= 1 / 30 && 1 / 30 <= shadow.interval[1])) problems.push('the shadowed stock query should disagree on 1 answer in 30');
  const delay = report.trackSets.find((s) => s.id === 'delay');
  if (delay?.phases.length !== 3) problems.push(`the delay test should show 3 phases, not ${delay?.phases.length}`);
  if (delay?.srm?.mismatch) problems.push('the ramps raised a false sample-ratio alarm');
  return problems.length === 0
    ? {
        ok: true,
        message: `across 3 phases of the delay test, the report found the true effects (long delay, large price steps) and no false ones; CUPED removed ${((cuped as { varianceReduction: number }).varianceReduction * 100).toFixed(0)}% of the variance of the long delay's revenue lift; the shadowed stock query disagreed on ${(shadow!.estimate * 100).toFixed(1)}% of the runs compared (1 in 30 is true).`,
      }
    : { ok: false, message: problems.join('; ') };
}

function priceDeltaOf(track: string): number {
  const match = /^price_adjusted_by_(-?\d+)$/.exec(track);
  return match ? Number(match[1]) : 0;
}

/** A small seeded PRNG, so every run of the demo tells the same story. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function progressBar(total: number): (done: number) => void {
  const tty = process.stderr.isTTY;
  let lastPrinted = -1;
  return (done) => {
    const share = done / total;
    if (tty) {
      const width = 40;
      const filled = Math.round(share * width);
      process.stderr.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%`);
      if (done === total) process.stderr.write('\n');
    } else {
      const tenth = Math.floor(share * 10);
      if (tenth !== lastPrinted) {
        lastPrinted = tenth;
        process.stderr.write(`  ${tenth * 10}%\n`);
      }
    }
  };
}
