// Grader: the page in Debian's Chromium on a SQLite store of 20,000 users recorded through the
// public API (issue 5, points 2–5): statuses (running, stopped, guardrail tripped) and badges
// (sample-ratio mismatch) as the report says; a recording process picking a Stop clicked on the
// page up as it would `tracks stop`'s; and a store with no data yet, then recorded while served.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { TrackSet, close, configure, flush, sqliteStore } from '../../src/index.js';
import type { Recorder } from '../../src/index.js';
import { CHROMIUM, CHROMIUM_ARGS, CheckoutDelay, runTracks, seed, startDashboardCli, waitFor } from './grader-helpers.js';
import type { Dashboard } from './grader-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'g5-browser-'));
const db = join(dir, 'tracks.db');
let browser: Browser;
let dashboard: Dashboard;
const extra: Dashboard[] = [];

/** A new cache that fails half the time: the error-rate guardrail switches it off. */
class FlakyCache extends TrackSet {
  static override id = 'flaky-cache';
  static lru_track() {
    throw new Error('cache miss storm');
  }
}

before(async () => {
  await seed(db, { users: 20_000, days: 3 });
  // A guardrail trip, recorded by a process with guardrails on.
  configure({ store: db, outbox: false, handleSignals: false, guardrails: { minRuns: 50, maxErrorRateIncrease: 0.1 } });
  for (let i = 0; i < 2_000; i++) {
    try {
      new FlakyCache({ key: `f${i}` }).run();
    } catch {
      // the new cache throws
    }
  }
  await flush();
  await close();
  // A logging bug: 3,000 extra exposures of one track, written straight to the store.
  const store = sqliteStore(db);
  const at = Date.now() - 3_600_000;
  await store.write(Array.from({ length: 3_000 }, (_, i) => ({ kind: 'exposure' as const, eventId: `srm-${i}`, trackSetId: 'checkout-delay', track: 'long_delay', unit: `srm-user-${i}`, at })));
  await store.close();
  [dashboard, browser] = await Promise.all([startDashboardCli(['--store', db, '--port', '0']), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })]);
});

after(async () => {
  await browser?.close();
  await dashboard?.stop();
  for (const d of extra) await d.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Json {
  trackSets: { id: string; status: string; serving: string | null; users: number; warnings: { kind: string }[] }[];
}

async function report(store = db): Promise<Json> {
  const ran = await runTracks(['report', '--json', '--store', store]);
  assert.equal(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout) as Json;
}

async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return { page, problems };
}

async function overviewRow(page: Page, id: string): Promise<string> {
  const cell = page.locator('td:first-child', { hasText: id }).first();
  await cell.waitFor();
  const row = page.locator('tr').filter({ has: cell }).first();
  return (await row.innerText()).replace(/\s+/g, ' ');
}

test('the overview: a guardrail trip and a sample-ratio mismatch are shown as the report says', async () => {
  const cli = await report();
  const flaky = cli.trackSets.find((s) => s.id === 'flaky-cache')!;
  assert.equal(flaky.status, 'guardrail', 'the fixture tripped a guardrail');
  const checkout = cli.trackSets.find((s) => s.id === 'checkout-delay')!;
  assert.ok(checkout.warnings.some((w) => w.kind === 'sample-ratio-mismatch'), 'the fixture has a mismatch');
  const { page, problems } = await openPage();
  await page.goto(dashboard.url);
  assert.match(await overviewRow(page, 'flaky-cache'), /guardrail/i);
  const row = await overviewRow(page, 'checkout-delay');
  assert.match(row, /running/);
  assert.match(row, /sample.ratio|SRM/i, row);
  assert.ok(row.includes(checkout.users.toLocaleString('en-US')), row);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a Stop from the page reaches a recording process as `tracks stop` does: its runs serve the chosen track, reason stopped', async () => {
  const recorder = configure({ store: db, outbox: false, handleSignals: false, controlInterval: 1_000 }) as Recorder;
  const { page, problems } = await openPage();
  try {
    assert.equal(new CheckoutDelay({ key: 'pick-up-before' }).reason, 'assigned');
    await page.goto(`${dashboard.url}#/set/checkout-delay`);
    await page.getByRole('button', { name: /^Stop test/ }).click();
    await page.locator('dialog[open] select').selectOption('long_delay');
    await page.locator('dialog[open]').getByRole('button', { name: /^Stop test/ }).click();
    let n = 0;
    await waitFor('the process serves long_delay, stopped', () => {
      const run = new CheckoutDelay({ key: `pick-up-${n++}` });
      return run.reason === 'stopped' && run.name === 'long_delay';
    });
    await page.getByRole('button', { name: /^Resume test/ }).click();
    await page.locator('dialog[open]').getByRole('button', { name: /Resume/ }).click();
    await recorder.refreshControls();
    await waitFor('assigned again', async () => {
      await recorder.refreshControls();
      return new CheckoutDelay({ key: `pick-up-${n++}` }).reason === 'assigned';
    });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    await close();
  }
});

test('a store with no tracks data yet: the page says so (no blank page); once runs are recorded, a reload shows them', async () => {
  const empty = join(dir, 'fresh.db');
  writeFileSync(empty, '');
  const d = await startDashboardCli(['--store', empty, '--port', '0']);
  extra.push(d);
  const { page, problems } = await openPage();
  await page.goto(d.url);
  await page.getByText(/no tracks data/).first().waitFor({ timeout: 10_000 });
  assert.deepEqual(problems.filter((p) => !/404|Failed to load resource/.test(p)), []);
  await seed(empty, { users: 500, days: 1 });
  await page.reload();
  assert.match(await overviewRow(page, 'checkout-delay'), /500/);
  await page.close();
});
