// Records the demo data set into a temporary SQLite file, serves the dashboard on it and saves
// screenshots of its views with Debian's Chromium:
//   node --import tsx scripts/screenshot-dashboard.ts   ->  docs/dashboard-overview.png, docs/dashboard-trackset.png,
//                                                          docs/dashboard-segments.png
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startDashboard } from '../src/dashboard/dashboard-server.js';
import { sqliteStore } from '../src/index.js';
import { recordFixture } from '../test/dashboard/fixture.js';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.error(`screenshot-dashboard: ${CHROMIUM} is missing; install it with apt-get install chromium`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'tracks-screenshots-'));
const docs = new URL('../docs/', import.meta.url).pathname;
try {
  const path = join(dir, 'tracks.db');
  await recordFixture(path, { usersPerDay: 600, days: 7 });
  const dashboard = await startDashboard({ store: sqliteStore(path), port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 });
    await page.goto(dashboard.url);
    await page.waitForSelector('html[data-ready="overview"]');
    await page.screenshot({ path: join(docs, 'dashboard-overview.png'), fullPage: true });
    await page.goto(`${dashboard.url}#/set/checkout-delay`);
    await page.waitForSelector('html[data-ready="trackset"]');
    await page.screenshot({ path: join(docs, 'dashboard-trackset.png'), fullPage: true });
    await page.goto(`${dashboard.url}#/set/checkout-delay?by=country`);
    await page.waitForSelector('html[data-ready="trackset"] section[data-section="segments"][data-dimension="country"]');
    await page.locator('section[data-section="segments"]').screenshot({ path: join(docs, 'dashboard-segments.png') });
    console.log(`saved ${['dashboard-overview.png', 'dashboard-trackset.png', 'dashboard-segments.png'].map((f) => join(docs, f)).join(', ')}`);
  } finally {
    await browser.close();
    await dashboard.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
