// `tracks dashboard` as a command (issue 5, README "Dashboard", docs/dashboard.md):
// the address it prints, its flags and environment, its refusals of bad input, and the report
// it serves being `tracks report --json`'s, run as real processes of the built bin.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runTracks, seed, startDashboardCli } from './recorded-store.js';
import type { Dashboard } from './recorded-store.js';
import { eventually } from '../support/eventually.js';

const dir = mkdtempSync(join(tmpdir(), 'g5-cli-'));
const db = join(dir, 'tracks.db');
const running: Dashboard[] = [];

before(async () => {
  await seed(db, { users: 20_000 });
});

after(async () => {
  for (const d of running) await d.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Dashboard> {
  const d = await startDashboardCli(args, env);
  running.push(d);
  return d;
}

async function reportJson(...extra: string[]): Promise<Record<string, unknown>> {
  const ran = await runTracks(['report', '--json', '--store', db, ...extra]);
  assert.equal(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout) as Record<string, unknown>;
}

function withoutClock(report: Record<string, unknown>): unknown {
  return { ...report, generatedAt: undefined };
}

/** Exits non-zero with a one-line message on stderr and no stack trace. */
function assertRefused(ran: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(ran.code, 2, `exit code 2, got ${ran.code}: ${ran.stderr}`);
  assert.match(ran.stderr, pattern);
  assert.doesNotMatch(ran.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(ran.stdout, /tracks dashboard: http/, 'nothing was served');
}

test('prints its 127.0.0.1 address and the store, serves the page there, and stops on Ctrl-C with exit 0', async () => {
  const d = await startDashboardCli(['--store', db, '--port', '0']);
  assert.match(d.line, /^tracks dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(.*tracks\.db\); Ctrl-C to stop$/);
  const response = await fetch(d.url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/html/);
  assert.equal(await d.stop(), 0);
});

test('listens on loopback only: another local address of this machine is not answered', async () => {
  const d = await start(['--store', db, '--port', '0']);
  const port = new URL(d.url).port;
  const other = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!other) return; // no non-loopback interface here: nothing to try
  await assert.rejects(fetch(`http://${other.address}:${port}/`, { signal: AbortSignal.timeout(3000) }));
});

test('the store may come from $TRACKS_STORE', async () => {
  const d = await start(['--port', '0'], { TRACKS_STORE: db });
  const response = await fetch(new URL('/api/report', d.url));
  assert.equal(response.status, 200);
  const report = (await response.json()) as { trackSets: { id: string }[] };
  assert.ok(report.trackSets.some((s) => s.id === 'checkout-delay'));
});

test('/api/report is `tracks report --json` on the same store, number for number', async () => {
  const d = await start(['--store', db, '--port', '0']);
  const served = (await (await fetch(new URL('/api/report', d.url))).json()) as Record<string, unknown>;
  assert.deepEqual(withoutClock(served), withoutClock(await reportJson()));
});

test('--control, --alpha and --correction change the page as they change `tracks report --json`', async () => {
  const flags = ['--control', 'checkout-delay=short_delay', '--alpha', '0.01', '--correction', 'bh'];
  const d = await start(['--store', db, '--port', '0', ...flags]);
  const served = (await (await fetch(new URL('/api/report', d.url))).json()) as Record<string, unknown>;
  assert.deepEqual(withoutClock(served), withoutClock(await reportJson(...flags)));
});

test('no store given: exit 2 and says how to give one', async () => {
  assertRefused(await runTracks(['dashboard', '--port', '0']), /--store|TRACKS_STORE/);
});

test('a SQLite path that does not exist: exit 2, says so, and creates no file', async () => {
  const missing = join(dir, 'typo.db');
  assertRefused(await runTracks(['dashboard', '--store', missing, '--port', '0']), /typo\.db/);
  assert.equal(existsSync(missing), false);
});

test('a file that holds no tracks data yet: the dashboard starts, and its API says the store holds no tracks data', async () => {
  const empty = join(dir, 'empty.db');
  writeFileSync(empty, '');
  const d = await start(['--store', empty, '--port', '0']);
  const response = await fetch(new URL('/api/report', d.url));
  assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}`);
  assert.match(((await response.json()) as { error: string }).error, /no tracks data/);
  // Said where the command was typed too: a mistyped ?schema= is not left for a browser to find.
  const said = /^tracks dashboard: .*holds no tracks data.*; the page shows its data once processes record to it$/m;
  await eventually(() => said.test(d.stderr()), `the warning on stderr (so far: ${d.stderr()})`);
});

// A probe: on a file that is not a SQLite database the dashboard started, printed its address
// and answered 500 to every request, where `tracks report` refuses at once.
test('a file that is not a store: refused at start, as tracks report refuses it (exit 1, one line), nothing served', async () => {
  const garbage = join(dir, 'garbage.db');
  writeFileSync(garbage, 'not a database, a text file\n'.repeat(100));
  const ran = await runTracks(['dashboard', '--store', garbage, '--port', '0']);
  const report = await runTracks(['report', '--store', garbage]);
  assert.equal(report.code, 1);
  assert.equal(ran.code, report.code, ran.stderr);
  assert.match(ran.stderr, /^tracks dashboard: cannot read the SQLite store .*garbage\.db: file is not a database\n$/);
  assert.doesNotMatch(ran.stdout, /tracks dashboard: http/, 'nothing was served');
});

test('a non-loopback --host without a token refuses to start: one line, exit 2', async () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
    const ran = await runTracks(['dashboard', '--store', db, '--host', host, '--port', '0']);
    assertRefused(ran, /--token/);
    assert.equal(ran.stderr.trim().split('\n').length, 1, `one line: ${ran.stderr}`);
  }
});

test('a token shorter than 8 characters is refused', async () => {
  assertRefused(await runTracks(['dashboard', '--store', db, '--host', '0.0.0.0', '--port', '0', '--token', 'short']), /8/);
  assertRefused(await runTracks(['dashboard', '--store', db, '--host', '0.0.0.0', '--port', '0'], { TRACKS_DASHBOARD_TOKEN: 'short' }), /8/);
});

test('--host 0.0.0.0 with $TRACKS_DASHBOARD_TOKEN: every request needs the token (page, assets, API)', async () => {
  const token = 'dashboard-secret-0123456789';
  const d = await start(['--store', db, '--host', '0.0.0.0', '--port', '0'], { TRACKS_DASHBOARD_TOKEN: token });
  const port = new URL(d.url).port;
  const base = `http://127.0.0.1:${port}`;
  for (const path of ['/', '/api/report', '/assets/chart.umd.js']) {
    const response = await fetch(base + path, { redirect: 'manual' });
    assert.equal(response.status, 401, `${path} without the token`);
    assert.doesNotMatch(await response.text(), /checkout-delay/);
    const wrong = await fetch(base + path, { headers: { authorization: 'Bearer wrong-secret-000' }, redirect: 'manual' });
    assert.equal(wrong.status, 401, `${path} with a wrong token`);
    const right = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(right.status, 200, `${path} with the token`);
  }
  // The printed address carries the token once, and opening it works.
  assert.match(d.url, /token=/);
  const opened = await fetch(d.url.replace(/\/\/[^/]+/, `//127.0.0.1:${port}`), { redirect: 'manual' });
  assert.ok(opened.status === 200 || (opened.status >= 300 && opened.status < 400), `status ${opened.status}`);
});

test('with --token on loopback too, requests without it are refused', async () => {
  const d = await start(['--store', db, '--port', '0', '--token', 'loopback-secret-123']);
  const port = new URL(d.url).port;
  const response = await fetch(`http://127.0.0.1:${port}/api/report`);
  assert.equal(response.status, 401);
});

test('bad --port values are refused with exit 2', async () => {
  for (const port of ['abc', '-1', '65536', '1.5', '', '0x10', '1e3', ' 80', '+80', '0b1']) {
    assertRefused(await runTracks(['dashboard', '--store', db, `--port=${port}`]), /--port/);
  }
});

test('bad analysis flags and unknown options are refused with exit 2', async () => {
  assertRefused(await runTracks(['dashboard', '--store', db, '--port', '0', '--alpha', '2']), /--alpha/);
  assertRefused(await runTracks(['dashboard', '--store', db, '--port', '0', '--control', 'checkout-delay=nope']), /nope/);
  assertRefused(await runTracks(['dashboard', '--store', db, '--port', '0', '--control', 'no-such-set=control']), /no-such-set/);
  assertRefused(await runTracks(['dashboard', '--store', db, '--port', '0', '--bogus']), /--bogus/);
});

test('a port already in use: a clear error naming the port, no stack trace', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  try {
    const ran = await runTracks(['dashboard', '--store', db, '--port', String(port)]);
    assert.notEqual(ran.code, 0);
    assert.match(ran.stderr, new RegExp(String(port)));
    assert.doesNotMatch(ran.stderr, /\n\s+at /, `no stack trace: ${ran.stderr}`);
  } finally {
    blocker.close();
  }
});

test('--help describes the command and its options, exit 0', async () => {
  const ran = await runTracks(['dashboard', '--help']);
  assert.equal(ran.code, 0);
  for (const flag of ['--store', '--host', '--port', '--token']) assert.match(ran.stdout + ran.stderr, new RegExp(flag));
});

test('a state change with a misspelt field is refused (400, naming it) and changes nothing', async () => {
  const d = await start(['--store', db, '--port', '0']);
  const html = await (await fetch(d.url)).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(html)![1]!;
  const post = (path: string, body: unknown) =>
    fetch(new URL(path, d.url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) });
  for (const [path, body] of [
    ['/api/stop', { trackSetId: 'checkout-delay', server: 'long_delay' }],
    ['/api/ramp', { trackSetId: 'checkout-delay', coverge: 0.5 }],
    ['/api/resume', { trackSetId: 'checkout-delay', serve: 'long_delay' }],
  ] as const) {
    const response = await post(path, body);
    assert.equal(response.status, 400, `${path} ${JSON.stringify(body)}`);
    assert.match(((await response.json()) as { error: string }).error, /server|coverge|serve/);
  }
  const set = ((await reportJson()) as { trackSets: { id: string; status: string; phases: unknown[] }[] }).trackSets.find((s) => s.id === 'checkout-delay')!;
  assert.equal(set.status, 'running');
  assert.equal(set.phases.length, 1, 'no phase was started');
});
