// End-to-end: a shadow set on the dashboard, in Debian's Chromium (headless) through
// playwright-core: its Shadow section, a mismatch sample named like an XSS probe shown as text,
// and Promote by clicking. Its own small store and an in-process server, so it stays quick.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { startDashboard } from '../../src/dashboard/dashboard-server.js';
import type { DashboardServer } from '../../src/dashboard/dashboard-server.js';
import { sqliteStore } from '../../src/index.js';
import type { Report } from '../../src/report/report-model.js';
import { PLAIN_ID, SHADOW, SHADOW_MISMATCHES, SHADOW_RUNS, XSS_QUERY, recordShadowFixture } from './shadow-fixture.js';
import { holdRequests } from '../support/held-requests.js';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'tracks-dashboard-shadow-e2e-'));
const db = join(dir, 'tracks.db');
let browser: Browser;
let dashboard: DashboardServer;

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install chromium; CI's .ci/run installs it)`);
  }
  await recordShadowFixture(db);
  [dashboard, browser] = await Promise.all([
    startDashboard({ store: sqliteStore(db), port: 0 }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    }),
  ]);
});

after(async () => {
  await browser?.close();
  await dashboard?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A new page that records dialogs (an alert() would be one), page errors and CSP violations. */
async function openPage(): Promise<{ page: Page; problems: string[]; dialogs: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { page, problems, dialogs };
}

test('a shadow set: badged in the list; its Shadow section shows the mismatch rate and the samples as text; Promote makes it live', async () => {
  const { page, problems, dialogs } = await openPage();
  const report = (await (await fetch(new URL(`/api/report?trackset=${SHADOW.id}`, dashboard.url))).json()) as Report;
  const candidate = report.trackSets[0]!.shadow!.candidates[0]!;
  assert.equal(candidate.mismatches, SHADOW_MISMATCHES);

  // The list marks the shadow set, not the ordinary one.
  await page.goto(dashboard.url);
  await page.waitForSelector('html[data-ready="overview"]');
  assert.equal(await page.locator(`tr[data-trackset="${SHADOW.id}"] [data-badge="shadow"]`).count(), 1);
  assert.equal(await page.locator(`tr[data-trackset="${PLAIN_ID}"] [data-badge="shadow"]`).count(), 0);

  await page.goto(`${dashboard.url}#/set/${SHADOW.id}`);
  await page.waitForSelector('html[data-ready="trackset"] section[data-section="shadow"][data-mode="shadow"]');
  assert.equal(await page.locator('h1 [data-badge="shadow"]').count(), 1);
  assert.match((await page.textContent('[data-field="shadow-mode"]'))!, /^Shadow: every user is served old\./);
  const row = `table[data-section="shadow-candidates"] tr[data-track="${SHADOW.candidate}"]`;
  assert.equal(await page.getAttribute(`${row} td[data-field="runs"]`, 'data-value'), String(SHADOW_RUNS));
  const rate = page.locator(`${row} td[data-field="mismatchRate"]`);
  assert.equal(Number(await rate.getAttribute('data-value')), candidate.mismatchRate!.estimate);
  assert.equal(await rate.getAttribute('data-count'), String(SHADOW_MISMATCHES));
  assert.equal(await rate.locator('[data-part="interval"]').textContent(), `[${(candidate.mismatchRate!.interval[0] * 100).toFixed(2)}%, ${(candidate.mismatchRate!.interval[1] * 100).toFixed(2)}%]`);
  assert.match((await rate.textContent())!, /^10\.00%\[/, '20 of 200');
  assert.equal(Number(await page.getAttribute(`${row} td[data-field="mismatchSequential"]`, 'data-low')), candidate.mismatchRate!.sequentialInterval[0]);
  // The paired latency: both paths on every run, the difference signed.
  const latency = `table[data-section="shadow-latency"] tr[data-track="${SHADOW.candidate}"]`;
  assert.equal(await page.getAttribute(`${latency} td[data-field="pairs"]`, 'data-value'), String(candidate.latency.pairs));
  assert.match((await page.textContent(`${latency} td[data-field="differenceP50Ms"]`))!, /^([+-](< 0\.05 ms|[\d.]+ (ms|s))|0 ms)\[/);

  // The probe's mismatch: its input and both results are text in <pre> blocks; nothing ran.
  const probe = page.locator('li.shadow-sample', { has: page.locator('pre[data-field="input"]', { hasText: XSS_QUERY }) });
  assert.equal(await probe.count(), 1);
  assert.equal(await probe.locator('pre[data-field="input"]').textContent(), JSON.stringify([XSS_QUERY]));
  assert.equal(await probe.locator('pre[data-field="baseline"]').textContent(), JSON.stringify({ query: XSS_QUERY, hits: 3 }));
  assert.equal(await probe.locator('pre[data-field="candidate"]').textContent(), JSON.stringify({ query: XSS_QUERY, hits: 4 }));
  assert.equal(await page.locator('img').count(), 0, 'no <img> element was created');

  // Cancel writes nothing; confirm promotes, and the page shows the set again.
  const store = sqliteStore(db);
  try {
    await page.click('button[data-action="promote"]');
    await page.click('dialog button[data-action="cancel"]');
    assert.equal(await page.locator('dialog').count(), 0);
    assert.equal((await store.readControls()).find((c) => c.trackSetId === SHADOW.id), undefined, 'cancel writes nothing');

    // While the promotion saves, no other change can begin (Stop and Ramp would start phases of their own).
    const release = await holdRequests(page, '**/api/promote');
    await page.click('button[data-action="promote"]');
    assert.match((await page.textContent('dialog[open] h2'))!, /^Promote catalog-query to an A\/B test\?$/);
    await page.click('dialog button[data-action="confirm"]');
    await page.waitForFunction(() => [...document.querySelectorAll('.controls span')].some((s) => s.textContent === 'Saving…'));
    const enabled = await page.$$eval('.controls button', (buttons) => buttons.filter((b) => !(b as HTMLButtonElement).disabled).map((b) => (b as HTMLElement).dataset.action));
    assert.deepEqual(enabled, [], 'every control is disabled while the promotion saves');
    await release();
    await page.waitForSelector('html[data-ready="trackset"] section[data-section="shadow"][data-mode="promoted"]');
    const control = (await store.readControls()).find((c) => c.trackSetId === SHADOW.id)!;
    assert.equal(control.promoted, true);
  } finally {
    await store.close();
  }
  assert.match((await page.textContent('[data-field="shadow-mode"]'))!, /^Shadow phase, promoted since/);
  assert.equal(await page.locator('button[data-action="promote"]').count(), 0, 'nothing left to promote');
  assert.equal(await page.locator('[data-badge="shadow"]').count(), 0);
  assert.equal(await page.locator('pre[data-field="input"]', { hasText: XSS_QUERY }).count(), 1, 'the findings stay');
  assert.equal(await page.locator('img').count(), 0);

  assert.deepEqual(dialogs, [], 'no alert() ran, and the confirmation is the page’s own dialog');
  assert.deepEqual(problems, [], 'no page error or CSP violation');
  await page.close();
});
