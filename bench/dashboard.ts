// Issue 5's speed check: the dashboard's load time on 1,000,000 users beside `tracks report
// --json` on the same SQLite store. Both run in this process against the built package
// (dist/, as `npm run bench` builds it):
//   - report:   runCli(['report', '--json', '--store', db]), output captured (opens the store,
//               summarizes, builds the report, serializes it);
//   - page:     a fresh Chromium page goes to the dashboard and waits until the view's data is
//               rendered (<html data-ready>): HTML, the client modules, the view's report call
//               (/api/overview: summarize without metrics + buildReport + JSON) and drawing.
// The overview is the page's load time (target: within 1.5x of the report). The track set
// view is printed too: it needs the whole report, the cumulative lift by day (one more grouped
// query over every conversion, plus a lift per day and track) and Chart.js, and is not held to
// the target.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import { runCli } from '../dist/cli/run-cli.js';
import { startDashboard } from '../dist/dashboard/dashboard-server.js';
import { LATENCY_BUCKETS } from '../dist/model/latency-histogram.js';
import { sqliteStore } from '../dist/index.js';
import { printTable, verdict } from './harness.js';

const USERS = 1_000_000;
const DAYS = 14;
const ROUNDS = 5;
const TARGET = 1.5;
const CHROMIUM = '/usr/bin/chromium';
const TRACKS = ['control', 'short_delay', 'long_delay'] as const;
const RATES: Record<(typeof TRACKS)[number], number> = { control: 0.05, short_delay: 0.055, long_delay: 0.045 };

if (!existsSync(CHROMIUM)) {
  console.error(`bench/dashboard: ${CHROMIUM} is missing; install it with apt-get install chromium`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'tracks-bench-dashboard-'));
const db = join(dir, 'tracks.db');
try {
  const built = await buildStore(db);
  console.log(`store: ${db}: ${built.users.toLocaleString('en-US')} users, ${built.conversions.toLocaleString('en-US')} conversions, ${built.health.toLocaleString('en-US')} health rows (built in ${built.ms.toFixed(0)} ms)`);

  const report = await timeReport();
  const dashboard = await startDashboard({ store: sqliteStore(db), port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  let overview: number;
  let trackSet: number;
  try {
    overview = await timePage(browser, dashboard.url, 'overview');
    trackSet = await timePage(browser, `${dashboard.url}#/set/checkout-delay`, 'trackset');
  } finally {
    await browser.close();
    await dashboard.close();
  }
  printTable(`dashboard load time on ${USERS.toLocaleString('en-US')} users (median of ${ROUNDS}, after one warm-up)`, [
    ['what', 'time', 'vs report'],
    ['tracks report --json (in process)', ms(report), '1.00x'],
    ['dashboard overview, until rendered', ms(overview), `${(overview / report).toFixed(2)}x`],
    ['dashboard track set view (+ lift by day)', ms(trackSet), `${(trackSet / report).toFixed(2)}x`],
  ]);
  console.log(verdict('dashboard overview / tracks report --json', overview / report, TARGET, 'at most'));
  console.log(verdict('dashboard track set view (with lift by day) / tracks report --json', trackSet / report, TARGET, 'at most'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** `tracks report --json` in process, output captured; the median of ROUNDS after a warm-up. */
async function timeReport(): Promise<number> {
  const once = async () => {
    let bytes = 0;
    const start = performance.now();
    const code = await runCli(['report', '--json', '--store', db], { stdout: (t) => (bytes += t.length), stderr: (t) => console.error(t), env: {} });
    const elapsed = performance.now() - start;
    if (code !== 0 || bytes === 0) throw new Error(`tracks report failed (${code})`);
    return elapsed;
  };
  await once();
  return median(await sequence(once));
}

/** A fresh page (no cache) until `<html data-ready=view>`; the median of ROUNDS after a warm-up. */
async function timePage(browser: import('playwright-core').Browser, url: string, view: string): Promise<number> {
  const once = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const start = performance.now();
    await page.goto(url);
    await page.waitForSelector(`html[data-ready="${view}"]`, { timeout: 120_000 });
    const elapsed = performance.now() - start;
    await context.close();
    return elapsed;
  };
  await once();
  return median(await sequence(once));
}

async function sequence(fn: () => Promise<number>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(await fn());
  return times;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function ms(x: number): string {
  return `${x.toFixed(0)} ms`;
}

/**
 * A store with USERS users in one track set over DAYS days, written straight into the tables
 * the SQLite store creates (the store is opened once first, so its migrations make them).
 */
async function buildStore(path: string): Promise<{ users: number; conversions: number; health: number; ms: number }> {
  const start = performance.now();
  const end = Date.UTC(2026, 0, 31);
  const first = end - DAYS * 86_400_000;
  // The set's definition, written through the store: its first write creates and migrates the file (reads create nothing).
  const store = sqliteStore(path);
  await store.write([{ kind: 'definition', eventId: 'def-1', trackSetId: 'checkout-delay', weights: { control: 1, short_delay: 1, long_delay: 1 }, coverage: 1, at: first }]);
  await store.close();
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = OFF');
  let seed = 7;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  let conversions = 0;
  let health = 0;
  sqlite.transaction(() => {
    const exposure = sqlite.prepare('INSERT INTO tracks_exposures (track_set_id, unit, track, at, event_id) VALUES (?, ?, ?, ?, ?)');
    const conversion = sqlite.prepare('INSERT INTO tracks_conversions (event_id, unit, metric, value, at) VALUES (?, ?, ?, ?, ?)');
    for (let i = 0; i < USERS; i++) {
      const track = TRACKS[i % 3]!;
      const unit = `user-${i}`;
      const at = first + Math.floor((i / USERS) * DAYS * 86_400_000);
      exposure.run('checkout-delay', unit, track, at, `x-${i}`);
      if (random() < RATES[track]) {
        conversion.run(`c-${i}`, unit, 'purchase', 1, at + 60_000);
        conversion.run(`r-${i}`, unit, 'revenue', Math.round(20 + random() * 80), at + 60_000);
        conversions += 2;
      }
    }
    const healthRow = sqlite.prepare(
      'INSERT INTO tracks_health (event_id, track_set_id, track, minute, runs, errors, total_ms, histogram) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // One row per track and 10 minutes (as from one process flushing), ~70 runs each.
    for (let minute = first / 60_000; minute < end / 60_000; minute += 10) {
      for (const [t, track] of TRACKS.entries()) {
        const runs = 70;
        const histogram: Record<string, number> = {};
        let totalMs = 0;
        for (let r = 0; r < runs; r++) {
          const bucket = Math.min(LATENCY_BUCKETS - 1, 20 + t * 3 + Math.floor(random() * 6));
          histogram[bucket] = (histogram[bucket] ?? 0) + 1;
          totalMs += 0.05 * 2 ** (bucket / 3);
        }
        healthRow.run(`h-${minute}-${track}`, 'checkout-delay', track, minute, runs, t === 2 ? 1 : 0, totalMs, JSON.stringify(histogram));
        health++;
      }
    }
  })();
  sqlite.close();
  return { users: USERS, conversions, health, ms: performance.now() - start };
}
