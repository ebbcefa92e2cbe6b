/**
 * A page of another site open in the same browser (here http://localhost:<port>, another site
 * than http://127.0.0.1:<port>) must not make the dashboard do anything: its no-cors fetches,
 * images and scripts pointed at the API used to run the report's queries on the store (CORP only
 * hid the answer), so it could load the store at will and, timing the failures, tell which
 * track set ids exist. Only a link to the page itself is followed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import type { DashboardServer } from '../../src/dashboard/dashboard-server.js';
import type { Store } from '../../src/model/store.js';
import { recordFixture } from './fixture.js';
import { CHROMIUM, CHROMIUM_ARGS, ROOT } from './recorded-store.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-dashboard-cross-site-'));
const db = join(dir, 'tracks.db');
let dashboard: DashboardServer;
let evil: Server;
let evilPort: number;
let browser: Browser;
/** The store reads the dashboard made (each report or control request makes at least one). */
let reads = 0;

/** The attacker's page: every kind of cross-site request at the dashboard, then a link to it. */
function evilPage(target: string): string {
  return `<!doctype html><title>evil</title><body><a id="link" href="${target}/">open the dashboard</a><script>
(async () => {
  const results = [];
  const base = ${JSON.stringify(target)};
  for (const path of ['/api/report', '/api/report?trackset=checkout-delay&by=country', '/api/dimensions?trackset=checkout-delay', '/assets/client/main.js']) {
    try { await fetch(base + path, { mode: 'no-cors', credentials: 'include' }); results.push('fetched'); } catch { results.push('refused'); }
  }
  for (const path of ['/api/report?trackset=new-cache', '/api/report']) {
    await new Promise((resolve) => { const img = new Image(); img.onload = img.onerror = resolve; img.src = base + path; });
    await new Promise((resolve) => { const s = document.createElement('script'); s.onload = s.onerror = resolve; s.src = base + path; document.body.append(s); });
  }
  document.title = 'done';
})();
</script></body>`;
}

before(async () => {
  // The built package (npm run build), as tracks dashboard serves it: its client is compiled, so
  // the page opens without transpiling it first.
  const { startDashboard } = (await import(join(ROOT, 'dist/dashboard/dashboard-server.js'))) as typeof import('../../src/dashboard/dashboard-server.js');
  const { sqliteStore } = (await import(join(ROOT, 'dist/index.js'))) as typeof import('../../src/index.js');
  await recordFixture(db, { usersPerDay: 20, days: 2 });
  const store = sqliteStore(db);
  const counting = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (key === 'summarize' || key === 'readDimensions') reads++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
  dashboard = await startDashboard({ store: counting, port: 0 });
  evil = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(evilPage(`http://127.0.0.1:${dashboard.port}`));
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilPort = (evil.address() as AddressInfo).port;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => evil?.close(resolve));
  await dashboard?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a page of another site cannot make the dashboard read the store; its link to the page still opens it', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`http://localhost:${evilPort}/`);
    await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 10_000 });
    assert.equal(reads, 0, 'requests from another site ran the report on the store');

    // A link from elsewhere is how people open it: the page loads and shows the report.
    await Promise.all([page.waitForURL(`http://127.0.0.1:${dashboard.port}/`), page.click('#link')]);
    await page.waitForSelector('html[data-ready]', { timeout: 10_000 });
    assert.equal(await page.getAttribute('html', 'data-ready'), 'overview', (await page.textContent('main')) ?? undefined);
    assert.ok(reads > 0);
  } finally {
    await page.close();
  }
});

test('over HTTP: another site’s subresource requests get 403 on every route, its navigation to the page 200; no Fetch Metadata is not concerned', async () => {
  // node:http, not fetch: fetch sends its own Sec-Fetch-Mode.
  const at = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; text: () => Promise<string> }>((resolve, reject) => {
      const req = request(new URL(path, dashboard.url), { headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text: async () => body }));
      });
      req.on('error', reject);
      req.end();
    });
  const before = reads;
  for (const site of ['cross-site', 'same-site']) {
    for (const path of ['/api/report', '/api/report?trackset=new-cache', '/api/dimensions?trackset=new-cache', '/assets/client/main.js']) {
      const answer = await at(path, { 'sec-fetch-site': site, 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' });
      assert.equal(answer.status, 403, `${site} ${path}`);
      assert.match(await answer.text(), /another site/);
    }
    // A navigation, but to the API (window.open) or in a frame, is not opening the page.
    assert.equal((await at('/api/report', { 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' })).status, 403);
    assert.equal((await at('/', { 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' })).status, 403);
    assert.equal((await at('/', { 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' })).status, 200);
  }
  assert.equal(reads, before);
  for (const headers of [{}, { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' }, { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' }] as Record<string, string>[]) {
    assert.equal((await at('/api/report?trackset=new-cache', headers)).status, 200, JSON.stringify(headers));
  }
});
