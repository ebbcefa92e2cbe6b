import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../../src/cli/run-cli.js';
import { startDashboard } from '../../src/dashboard/dashboard-server.js';
import type { DashboardServer } from '../../src/dashboard/dashboard-server.js';
import { CONTENT_SECURITY_POLICY, tokenCookieName, tokenCookieValue } from '../../src/dashboard/security.js';
import { sqliteStore } from '../../src/index.js';
import type { Report } from '../../src/report/report-model.js';
import { HOLDOUT, XSS_NAME, recordFixture } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-dashboard-routes-'));
const db = join(dir, 'tracks.db');
let dashboard: DashboardServer;
let csrf: string;

before(async () => {
  await recordFixture(db, { usersPerDay: 120, days: 3 });
  dashboard = await startDashboard({ store: sqliteStore(db), port: 0 });
  const page = await (await fetch(dashboard.url)).text();
  csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page)![1]!;
});

after(async () => {
  await dashboard?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `tracks report --json` on the fixture's store, in process. */
async function cliReport(...extra: string[]): Promise<Report> {
  let out = '';
  const code = await runCli(['report', '--json', '--store', db, ...extra], { stdout: (t) => (out += t), stderr: () => {}, env: {} });
  assert.equal(code, 0);
  return JSON.parse(out) as Report;
}

function withoutClock(report: Report): unknown {
  return { ...report, generatedAt: undefined };
}

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL(path, dashboard.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, ...headers },
    body: JSON.stringify(body),
  });
}

async function controlOf(trackSetId: string) {
  const store = sqliteStore(db);
  try {
    return (await store.readControls()).find((c) => c.trackSetId === trackSetId);
  } finally {
    await store.close();
  }
}

test('the page: security headers, the CSRF secret in a meta tag, no inline script or style, local assets only', async () => {
  const response = await fetch(dashboard.url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(response.headers.get('x-frame-options'), 'DENY');
  const html = await response.text();
  assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script has a src');
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
  for (const src of html.matchAll(/(?:src|href)="([^"]+)"/g)) assert.match(src[1]!, /^(\/|data:|#)/, `${src[1]} is local`);
});

test('assets: the client modules, the stylesheet and Chart.js come from the package; nothing else is served', async () => {
  for (const path of ['/assets/client/main.js', '/assets/client/charts.js', '/assets/chart.umd.js', '/assets/dashboard.css']) {
    const response = await fetch(new URL(path, dashboard.url));
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get('content-type')!, path.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    assert.equal(response.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.ok((await response.text()).length > 100, path);
  }
  const chart = await (await fetch(new URL('/assets/chart.umd.js', dashboard.url))).text();
  assert.match(chart, /Chart\.js v4/);
  for (const path of ['/assets/client/missing.js', '/assets/client/../assets.js', '/assets/%2e%2e/package.json', '/etc/passwd', '/api/nothing']) {
    assert.equal((await fetch(new URL(path, dashboard.url))).status, 404, path);
  }
});

test('GET /api/report is the report model of `tracks report --json`, number for number', async () => {
  const response = await fetch(new URL('/api/report', dashboard.url));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /^application\/json/);
  const report = (await response.json()) as Report;
  assert.deepEqual(withoutClock(report), withoutClock(await cliReport()));
  assert.deepEqual(
    report.trackSets.map((s) => [s.id, s.status]),
    [
      [XSS_NAME, 'running'],
      ['checkout-delay', 'running'],
      [HOLDOUT.id, 'running'],
      ['new-cache', 'guardrail'],
      ['pricing', 'running'],
      ['search-ranking', 'running'],
    ],
  );
  assert.ok(report.trackSets.every((s) => s.timeline === undefined), 'the overview does not pay for the timeline');
});

test('GET /api/report?trackset= adds the cumulative lift by day and each phase alone; an unknown set is a 404', async () => {
  const one = (await (await fetch(new URL('/api/report?trackset=checkout-delay', dashboard.url))).json()) as Report;
  const cli = await cliReport('--trackset', 'checkout-delay', '--all-phases');
  const { timeline, ...rest } = one.trackSets[0]!;
  assert.deepEqual(rest, cli.trackSets[0]);
  assert.deepEqual([...new Set(timeline!.map((p) => p.day))].length, 3);
  assert.ok(timeline!.some((p) => p.track === 'long_delay' && p.metric === 'purchase' && p.relative !== null));
  const xss = await fetch(new URL(`/api/report?trackset=${encodeURIComponent(XSS_NAME)}`, dashboard.url));
  assert.equal(xss.status, 200);
  const missing = await fetch(new URL('/api/report?trackset=nope', dashboard.url));
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: "unknown track set 'nope'" });
});

test('GET /api/report?trackset=&by= breaks the set down as `tracks report --by`; /api/dimensions lists the choices; a bad by is a 400', async () => {
  const one = (await (await fetch(new URL('/api/report?trackset=checkout-delay&by=country', dashboard.url))).json()) as Report;
  const cli = await cliReport('--trackset', 'checkout-delay', '--all-phases', '--by', 'country');
  const { timeline: _, ...rest } = one.trackSets[0]!;
  assert.deepEqual(rest, cli.trackSets[0]);
  assert.equal(rest.segments!.dimension, 'country');
  // Without a set: every set broken down, as `tracks report --json --by country`.
  const all = (await (await fetch(new URL('/api/report?by=country', dashboard.url))).json()) as Report;
  assert.deepEqual(withoutClock(all), withoutClock(await cliReport('--by', 'country')));

  const dimensions = async (id: string) => {
    const response = await fetch(new URL(`/api/dimensions?trackset=${encodeURIComponent(id)}`, dashboard.url));
    assert.equal(response.status, 200);
    return response.json();
  };
  assert.deepEqual(await dimensions('checkout-delay'), { dimensions: ['country', 'plan'] });
  assert.deepEqual(await dimensions('search-ranking'), { dimensions: ['country'] });
  assert.deepEqual(await dimensions('pricing'), { dimensions: [] });
  assert.deepEqual(await dimensions(HOLDOUT.id), { dimensions: [] });
  // An unknown set is a 404, as for /api/report?trackset=, not a set with no dimensions.
  const missing = await fetch(new URL('/api/dimensions?trackset=never-recorded', dashboard.url));
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: "unknown track set 'never-recorded'" });
  assert.equal((await fetch(new URL('/api/dimensions', dashboard.url))).status, 400);

  for (const by of ['country-code', '9lives', '', 'a'.repeat(41), '<img>']) {
    const bad = await fetch(new URL(`/api/report?trackset=checkout-delay&by=${encodeURIComponent(by)}`, dashboard.url));
    assert.equal(bad.status, 400, by);
    assert.match(((await bad.json()) as { error: string }).error, /^by must be a dimension name/);
  }
});

test('a holdout cannot be stopped, resumed or ramped from the page: the store refuses, the API says 400', async () => {
  for (const [path, body] of [
    ['/api/stop', { trackSetId: HOLDOUT.id }],
    ['/api/resume', { trackSetId: HOLDOUT.id }],
    ['/api/ramp', { trackSetId: HOLDOUT.id, coverage: 0.5 }],
  ] as const) {
    const response = await post(path, body);
    assert.equal(response.status, 400, path);
    assert.match(((await response.json()) as { error: string }).error, /holdout/i, path);
  }
  assert.equal(await controlOf(HOLDOUT.id), undefined, 'nothing written');
});

test('stop and resume: POST with the CSRF secret writes the control state, through the CLI’s own function', async () => {
  const stopped = await post('/api/stop', { trackSetId: 'checkout-delay', serve: 'short_delay' }, { origin: new URL(dashboard.url).origin });
  assert.equal(stopped.status, 200);
  assert.deepEqual((await stopped.json()).control.serve, 'short_delay');
  assert.deepEqual({ ...(await controlOf('checkout-delay')), at: 0 }, { trackSetId: 'checkout-delay', stopped: true, serve: 'short_delay', at: 0, coverage: null, weights: { short_delay: 2 }, epoch: 2, promoted: false });
  const report = (await (await fetch(new URL('/api/report', dashboard.url))).json()) as Report;
  const set = report.trackSets.find((s) => s.id === 'checkout-delay')!;
  assert.equal(set.status, 'stopped');
  assert.equal(set.serving, 'short_delay');

  const resumed = await post('/api/resume', { trackSetId: 'checkout-delay' });
  assert.equal(resumed.status, 200);
  assert.equal((await controlOf('checkout-delay'))!.stopped, false);

  const bad = await post('/api/stop', { trackSetId: 'checkout-delay', serve: 'nope' });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /has no track 'nope'; its tracks are 'control', 'short_delay', 'long_delay'/);
  assert.equal((await post('/api/stop', { trackSetId: 'never-recorded' })).status, 404);
  assert.equal((await post('/api/stop', ['checkout-delay'])).status, 400);
});

test('state changes refuse GET, a missing or wrong CSRF secret, another origin and non-JSON bodies', async () => {
  const url = new URL('/api/stop', dashboard.url);
  assert.equal((await fetch(url)).status, 405);
  assert.equal((await post('/api/stop', { trackSetId: 'checkout-delay' }, { 'x-csrf-token': 'guess' })).status, 403);
  assert.equal((await post('/api/stop', { trackSetId: 'checkout-delay' }, { origin: 'http://evil.example' })).status, 403);
  assert.equal((await post('/api/stop', { trackSetId: 'checkout-delay' }, { 'sec-fetch-site': 'cross-site' })).status, 403);
  const form = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': csrf }, body: 'trackSetId=checkout-delay' });
  assert.equal(form.status, 403);
  const tooBig = await post('/api/stop', { trackSetId: 'x'.repeat(20_000) });
  assert.equal(tooBig.status, 413);
  assert.equal(await controlOf('checkout-delay').then((c) => c?.stopped ?? false), false, 'nothing was stopped');
});

test('without a token, a Host header other than our loopback name is refused (DNS rebinding)', async () => {
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(dashboard.url, { headers: { host: `evil.example:${dashboard.port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 421);
});

test('with a token every request needs it: ?token sets an HttpOnly SameSite=Strict cookie, or a bearer header', async () => {
  const token = 'a-long-enough-test-token';
  const guarded = await startDashboard({ store: sqliteStore(db), port: 0, token });
  try {
    assert.equal(guarded.openUrl, `${guarded.url}?token=${token}`);
    for (const path of ['/', '/api/report', '/assets/client/main.js', '/assets/chart.umd.js']) {
      const denied = await fetch(new URL(path, guarded.url));
      assert.equal(denied.status, 401, path);
      assert.equal(denied.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    }
    assert.equal((await fetch(new URL('/?token=wrong', guarded.url), { redirect: 'manual' })).status, 401);
    // The icon a browser asks for after the 401 page: no content, with or without the token.
    assert.equal((await fetch(new URL('/favicon.ico', guarded.url))).status, 204);
    // Not a redirect (see routes.ts): a page that moves on to the address without the token.
    const first = await fetch(guarded.openUrl, { redirect: 'manual' });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('location'), null);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    assert.match(await first.text(), /<script type="module" src="\/assets\/client\/open.js"><\/script>.*<a data-open href="\/">Open the dashboard<\/a>/s);
    const deeper = await fetch(new URL(`/?a=1&token=${token}&b=%22x%22`, guarded.url), { redirect: 'manual' });
    assert.match(await deeper.text(), /<a data-open href="\/\?a=1&amp;b=%22x%22">/);
    const cookie = first.headers.get('set-cookie')!;
    assert.equal(cookie, `${tokenCookieName(token)}=${tokenCookieValue(token)}; HttpOnly; SameSite=Strict; Path=/`);
    const withCookie = await fetch(new URL('/api/report', guarded.url), { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(withCookie.status, 200);
    const withBearer = await fetch(new URL('/api/report', guarded.url), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(withBearer.status, 200);
    const wrongCookie = await fetch(new URL('/api/report', guarded.url), { headers: { cookie: `${tokenCookieName(token)}=nope` } });
    assert.equal(wrongCookie.status, 401);
    assert.equal((await fetch(new URL('/favicon.ico', guarded.url), { headers: { cookie: cookie.split(';')[0]! } })).status, 204);
  } finally {
    await guarded.close();
  }
});

test('a non-loopback address without a token refuses to start: one line, exit code 2', async () => {
  await assert.rejects(startDashboard({ store: sqliteStore(db), host: '0.0.0.0', port: 0 }), /--host 0\.0\.0\.0 would expose the dashboard beyond this machine; add --token/);
  await assert.rejects(startDashboard({ store: sqliteStore(db), port: 0, token: 'short' }), /token is too short/);
  await assert.rejects(startDashboard({ store: sqliteStore(db), port: dashboard.port }), /port \d+ on 127\.0\.0\.1 is in use; pick another with --port/);
  for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
    const err: string[] = [];
    const code = await runCli(['dashboard', '--store', db, '--host', host, '--port', '0'], { stdout: () => {}, stderr: (t) => err.push(t), env: {} });
    assert.equal(code, 2);
    assert.equal(err.length, 1);
    assert.doesNotMatch(err[0]!, /\n/);
    assert.match(err[0]!, /^tracks dashboard: --host .* would expose the dashboard beyond this machine; add --token <secret>/);
  }
  const err: string[] = [];
  assert.equal(await runCli(['dashboard', '--store', join(dir, 'missing.db')], { stdout: () => {}, stderr: (t) => err.push(t), env: {} }), 2);
  assert.match(err[0]!, /no store at/);
  assert.equal(await runCli(['dashboard', '--store', db, '--port', '99999'], { stdout: () => {}, stderr: () => {}, env: {} }), 2);
});
