// `tracks dashboard --store postgres://…` (issue 5, point 1: "or a PostgreSQL URL"),
// on 30,000 users recorded through the public API, driven in Debian's Chromium: the overview
// and a set's view against `tracks report --json` on the same store, charts drawn, the cumulative
// lift by day, Stop (serving a chosen track) and Resume by clicking through the confirmation,
// and data recorded while the dashboard runs showing on reload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { postgresStore } from '../../src/index.js';
import { CHROMIUM, CHROMIUM_ARGS, runTracks, seed, startDashboardCli, waitFor } from './recorded-store.js';
import type { Dashboard } from './recorded-store.js';
import { POSTGRES_SKIP, postgresUrl } from '../support/postgres.js';

const SCHEMA = `g5_dash_${process.pid}`;
// Runs when TRACKS_TEST_POSTGRES_URL is set (README, Development), as every PostgreSQL test.
const skip = postgresUrl === undefined && POSTGRES_SKIP;
const URL_ = `${postgresUrl}?schema=${SCHEMA}`;
const USERS = 20_000;
let browser: Browser;
let dashboard: Dashboard;

interface Json {
  trackSets: {
    id: string;
    status: string;
    serving: string | null;
    users: number;
    warnings: { kind: string }[];
    tracks: { name: string; users: number; metrics: { metric: string; conversions: number; comparison: { relative: { estimate: number } | null } | null }[]; latency: { runs: number; errors: number } }[];
    timeline?: { day: string; track: string; metric: string; users: number; relative: { estimate: number } | null }[];
  }[];
}

async function dropSchema(): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  } finally {
    await client.end();
  }
}

before(async () => {
  if (skip) return;
  await dropSchema();
  await seed(URL_, { users: USERS, days: 3 });
  [dashboard, browser] = await Promise.all([
    startDashboardCli(['--store', URL_, '--port', '0']),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
  ]);
});

after(async () => {
  await browser?.close();
  await dashboard?.stop();
  if (!skip) await dropSchema();
});

async function report(...extra: string[]): Promise<Json> {
  const ran = await runTracks(['report', '--json', '--store', URL_, ...extra]);
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

/** The text of the overview's row for a set (the row whose first cell is its name). */
async function overviewRow(page: Page, id: string): Promise<string> {
  const row = page.locator('tr').filter({ has: page.locator('td:first-child', { hasText: id }) }).first();
  return (await row.innerText()).replace(/\s+/g, ' ');
}

const fmt = (n: number) => n.toLocaleString('en-US');

test('the served report on PostgreSQL is `tracks report --json`’s, and recorded users are all there', { skip }, async () => {
  const served = (await (await fetch(new URL('/api/report', dashboard.url))).json()) as Json & { generatedAt?: string };
  const cli = await report();
  assert.deepEqual({ ...served, generatedAt: undefined }, { ...cli, generatedAt: undefined });
  assert.equal(served.trackSets.find((s) => s.id === 'checkout-delay')!.users, USERS);
});

test('a set’s view has the cumulative lift by day: one point per day and track, ending at the report’s numbers', { skip }, async () => {
  const response = await fetch(new URL(`/api/report?trackset=checkout-delay`, dashboard.url));
  assert.equal(response.status, 200);
  const served = (await response.json()) as Json;
  const set = served.trackSets.find((s) => s.id === 'checkout-delay')!;
  const timeline = set.timeline!.filter((p) => p.metric === 'purchase');
  const days = [...new Set(timeline.map((p) => p.day))].sort();
  assert.equal(days.length, 3, `days ${days.join(', ')}`);
  const cli = (await report()).trackSets.find((s) => s.id === 'checkout-delay')!;
  for (const track of cli.tracks) {
    const points = timeline.filter((p) => p.track === track.name).sort((a, b) => a.day.localeCompare(b.day));
    assert.equal(points.length, 3, track.name);
    for (let i = 1; i < points.length; i++) assert.ok(points[i]!.users >= points[i - 1]!.users, 'cumulative');
    assert.equal(points.at(-1)!.users, track.users, `${track.name}: the last day has every user`);
    const relative = track.metrics.find((m) => m.metric === 'purchase')!.comparison?.relative?.estimate;
    if (relative !== undefined) assert.ok(Math.abs(points.at(-1)!.relative!.estimate - relative) < 1e-9, `${track.name}: last lift is the report's`);
  }
});

test('in Chromium: the overview lists every set with its status, users and badges as the report says', { skip }, async () => {
  const cli = await report();
  const { page, problems } = await openPage();
  await page.goto(dashboard.url);
  for (const set of cli.trackSets) {
    await page.locator('td:first-child', { hasText: set.id }).first().waitFor();
    const text = await overviewRow(page, set.id);
    assert.match(text, new RegExp(set.status), `${set.id}: ${text}`);
    assert.ok(text.includes(fmt(set.users)), `${set.id} shows ${fmt(set.users)} users: ${text}`);
    if (set.warnings.some((w) => w.kind === 'too-few-users')) assert.match(text, /too few users/i, text);
  }
  assert.ok(cli.trackSets.find((s) => s.id === 'rare-path')!.warnings.some((w) => w.kind === 'too-few-users'), 'the fixture has a set with too few users');
  assert.deepEqual(problems, []);
  await page.close();
});

test('in Chromium: a set’s view shows each track’s users, conversions, runs and errors as the report says, and its charts draw', { skip }, async () => {
  const cli = (await report()).trackSets.find((s) => s.id === 'checkout-delay')!;
  const { page, problems } = await openPage();
  await page.goto(`${dashboard.url}#/set/checkout-delay`);
  await page.getByText('Code path health').waitFor();
  const text = (await page.locator('body').innerText()).replace(/[ \t]+/g, ' ');
  for (const track of cli.tracks) {
    const purchase = track.metrics.find((m) => m.metric === 'purchase')!;
    assert.ok(new RegExp(`${track.name} ${fmt(track.users)} [^\\n]*${fmt(purchase.conversions)}`).test(text), `${track.name}: users ${track.users}, conversions ${purchase.conversions}`);
    assert.ok(new RegExp(`${track.name} ${fmt(track.latency.runs)} ${fmt(track.latency.errors)} `).test(text), `${track.name}: runs ${track.latency.runs}, errors ${track.latency.errors}`);
  }
  // Charts: every canvas (or SVG) is drawn, with some non-blank pixels.
  await waitFor('charts drawn', async () => {
    const painted = await page.$$eval('canvas', (canvases) =>
      canvases.map((c) => {
        const ctx = (c as HTMLCanvasElement).getContext('2d');
        if (!ctx || c.width === 0 || c.height === 0) return false;
        const data = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
        return false;
      }),
    );
    // per metric a rate chart and a lift chart (3 metrics), plus latency and error rate
    return painted.length >= 8 && painted.every(Boolean);
  });
  assert.deepEqual(problems, []);
  await page.close();
});

test('in Chromium: Stop serving a chosen track and Resume, each through its confirmation, change the store as `tracks stop`/`resume` would', { skip }, async () => {
  const { page, problems } = await openPage();
  await page.goto(`${dashboard.url}#/set/checkout-delay`);
  // Cancel writes nothing.
  await page.getByRole('button', { name: /^Stop test/ }).click();
  await page.locator('dialog[open]').waitFor();
  await page.locator('dialog[open] button', { hasText: 'Cancel' }).click();
  assert.equal((await report()).trackSets.find((s) => s.id === 'checkout-delay')!.status, 'running');
  // Confirm, serving short_delay.
  await page.getByRole('button', { name: /^Stop test/ }).click();
  await page.locator('dialog[open] select').selectOption('short_delay');
  await page.locator('dialog[open] button', { hasText: /^Stop test/ }).click();
  await waitFor('stopped in the store', async () => {
    const set = (await report()).trackSets.find((s) => s.id === 'checkout-delay')!;
    return set.status === 'stopped' && set.serving === 'short_delay';
  });
  await page.goto(dashboard.url);
  await page.locator('td:first-child', { hasText: 'checkout-delay' }).first().waitFor();
  assert.match(await overviewRow(page, 'checkout-delay'), /stopped/);
  assert.match(await overviewRow(page, 'checkout-delay'), /short_delay/);
  // Resume.
  await page.goto(`${dashboard.url}#/set/checkout-delay`);
  await page.getByRole('button', { name: /^Resume test/ }).click();
  await page.locator('dialog[open] button', { hasText: /Resume/ }).click();
  await waitFor('running again', async () => (await report()).trackSets.find((s) => s.id === 'checkout-delay')!.status === 'running');
  assert.deepEqual(problems, []);
  await page.close();
});

test('users recorded while the dashboard runs show on reload', { skip }, async () => {
  const before = (await report()).trackSets.find((s) => s.id === 'checkout-delay')!.users;
  await seed(URL_, { users: 2_000, days: 1, keyPrefix: 'late-' });
  const { page } = await openPage();
  await page.goto(dashboard.url);
  await page.locator('td:first-child', { hasText: 'checkout-delay' }).first().waitFor();
  const after = (await report()).trackSets.find((s) => s.id === 'checkout-delay')!.users;
  assert.ok(after > before, `${after} > ${before}`);
  assert.ok((await overviewRow(page, 'checkout-delay')).includes(fmt(after)));
  await page.close();
});

test('a password in the PostgreSQL URL, in its user part or as ?password= / ?sslpassword=, is never printed or served (the page shows the served `store`)', { skip }, async () => {
  const secret = 'hunter2-Secret';
  const urls = [
    `postgres://postgres:${secret}@127.0.0.1:5432/test?schema=${SCHEMA}&sslmode=disable&sslpassword=${secret}`,
    `postgres://postgres@127.0.0.1:5432/test?password=${secret}&schema=${SCHEMA}`,
  ];
  for (const url of urls) {
    const d = await startDashboardCli(['--store', url, '--port', '0']);
    try {
      assert.doesNotMatch(d.line, /hunter2/, `printed: ${d.line}`);
      const served = await (await fetch(new URL('/api/report', d.url))).text();
      assert.match(served, /checkout-delay/);
      // The page shows the store it reads from this report's `store`.
      assert.doesNotMatch(served, /hunter2/, `served for ${url}`);
    } finally {
      await d.stop();
    }
  }
});

test('postgresStore().description masks a password with a raw @ or /, with no user name, and in any case of ?password=', async () => {
  for (const url of ['postgres://:p@ss/w0rd@127.0.0.1:5432/test', 'postgres://app@127.0.0.1:5432/test?PassWord=p@ss/w0rd', 'postgresql://app:p@ss/w0rd@127.0.0.1:5432/test#x']) {
    const store = postgresStore(url);
    try {
      assert.doesNotMatch(store.description, /p@ss|w0rd/, store.description);
      assert.match(store.description, /127\.0\.0\.1:5432\/test/);
    } finally {
      await store.close();
    }
  }
});
