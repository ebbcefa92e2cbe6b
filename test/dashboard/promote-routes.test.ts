// POST /api/promote: a shadow set made a live A/B test from the page, behind the same checks
// as /api/stop, through the function `tracks promote` calls.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiError, parseControlRequest } from '../../src/dashboard/api.js';
import { startDashboard } from '../../src/dashboard/dashboard-server.js';
import type { DashboardServer } from '../../src/dashboard/dashboard-server.js';
import { sqliteStore } from '../../src/index.js';
import type { Report } from '../../src/report/report-model.js';
import { PLAIN_ID, SHADOW, SHADOW_MISMATCHES, SHADOW_RUNS, recordShadowFixture } from './shadow-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-dashboard-promote-'));
const db = join(dir, 'tracks.db');
let dashboard: DashboardServer;
let csrf: string;

before(async () => {
  await recordShadowFixture(db);
  dashboard = await startDashboard({ store: sqliteStore(db), port: 0 });
  const page = await (await fetch(dashboard.url)).text();
  csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page)![1]!;
});

after(async () => {
  await dashboard?.close();
  rmSync(dir, { recursive: true, force: true });
});

function post(path: string, body: unknown, headers: Record<string, string> = {}, base = dashboard.url): Promise<Response> {
  return fetch(new URL(path, base), {
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

async function shadowOf(trackSetId: string) {
  const report = (await (await fetch(new URL(`/api/report?trackset=${encodeURIComponent(trackSetId)}`, dashboard.url))).json()) as Report;
  return report.trackSets[0]!.shadow;
}

test('the shadow set is in the report: every run compared, the mismatches counted, in shadow mode', async () => {
  const shadow = await shadowOf(SHADOW.id);
  assert.equal(shadow?.mode, 'shadow');
  assert.equal(shadow?.baseline, SHADOW.baseline);
  const candidate = shadow!.candidates[0]!;
  assert.equal(candidate.track, SHADOW.candidate);
  assert.equal(candidate.runs, SHADOW_RUNS);
  assert.equal(candidate.mismatches, SHADOW_MISMATCHES);
  assert.equal(await shadowOf(PLAIN_ID), null, 'an ordinary set has no shadow section');
});

test('parseControlRequest: promote takes the set only', () => {
  assert.deepEqual(parseControlRequest('promote', JSON.stringify({ trackSetId: SHADOW.id })), { action: 'promote', trackSetId: SHADOW.id });
  // Anything else is refused, not dropped: a caller sending serve or coverage expects them applied.
  assert.throws(
    () => parseControlRequest('promote', JSON.stringify({ trackSetId: SHADOW.id, serve: 'new', coverage: 1 })),
    (e: unknown) => e instanceof ApiError && e.status === 400 && /promote takes 'trackSetId', not 'serve'/.test(e.message),
  );
  assert.throws(() => parseControlRequest('promote', '{}'), (e: unknown) => e instanceof ApiError && e.status === 400 && /trackSetId must be a non-empty string/.test(e.message));
});

test('promote refuses what stop refuses: GET, a missing or wrong CSRF secret, another origin, a cross-site fetch, a form', async () => {
  const url = new URL('/api/promote', dashboard.url);
  const get = await fetch(url);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  const refusals = [
    await post('/api/promote', { trackSetId: SHADOW.id }, { 'x-csrf-token': 'guess' }),
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ trackSetId: SHADOW.id }) }),
    await post('/api/promote', { trackSetId: SHADOW.id }, { origin: 'http://evil.example' }),
    await post('/api/promote', { trackSetId: SHADOW.id }, { 'sec-fetch-site': 'cross-site' }),
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': csrf }, body: `trackSetId=${SHADOW.id}` }),
  ];
  for (const [i, response] of refusals.entries()) {
    assert.equal(response.status, 403, `refusal ${i}`);
    assert.ok(((await response.json()) as { error: string }).error.length > 0);
  }
  assert.equal(await controlOf(SHADOW.id), undefined, 'nothing written');
  assert.equal((await shadowOf(SHADOW.id))?.mode, 'shadow');
});

test('with a token, promote without it is a 401 (before any CSRF check), and nothing is written', async () => {
  const guarded = await startDashboard({ store: sqliteStore(db), port: 0, token: 'a-long-enough-test-token' });
  try {
    const denied = await post('/api/promote', { trackSetId: SHADOW.id }, {}, guarded.url);
    assert.equal(denied.status, 401);
    const wrong = await post('/api/promote', { trackSetId: SHADOW.id }, { authorization: 'Bearer not-the-token' }, guarded.url);
    assert.equal(wrong.status, 401);
    // The token alone is not enough: this server's CSRF secret is its own.
    const noCsrf = await post('/api/promote', { trackSetId: SHADOW.id }, { authorization: 'Bearer a-long-enough-test-token' }, guarded.url);
    assert.equal(noCsrf.status, 403);
  } finally {
    await guarded.close();
  }
  assert.equal(await controlOf(SHADOW.id), undefined, 'nothing written');
});

test('promote: an unknown set is a 404, a set without shadow runs a 400, each with a message; nothing written', async () => {
  const unknown = await post('/api/promote', { trackSetId: 'never-recorded' });
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), { error: "unknown track set 'never-recorded'" });
  const plain = await post('/api/promote', { trackSetId: PLAIN_ID });
  assert.equal(plain.status, 400);
  assert.match(((await plain.json()) as { error: string }).error, /^'plain-set' is a live test \(\d+ users exposed\) with no shadow runs in .*: promote turns a set declared with static shadow/);
  const empty = await post('/api/promote', { trackSetId: '' });
  assert.equal(empty.status, 400);
  assert.deepEqual(await empty.json(), { error: 'trackSetId must be a non-empty string' });
  assert.equal(await controlOf(PLAIN_ID), undefined);
  assert.equal(await controlOf(SHADOW.id), undefined);
});

test('promote: POST with the CSRF secret marks the set promoted in the store; the report keeps the shadow findings; twice changes nothing', async () => {
  const promoted = await post('/api/promote', { trackSetId: SHADOW.id }, { origin: new URL(dashboard.url).origin });
  assert.equal(promoted.status, 200);
  const { control } = (await promoted.json()) as { control: { promoted: boolean; changed: boolean; epoch: number } };
  assert.equal(control.promoted, true);
  assert.equal(control.changed, true);
  const stored = (await controlOf(SHADOW.id))!;
  assert.equal(stored.promoted, true);
  assert.equal(stored.stopped, false);
  const shadow = await shadowOf(SHADOW.id);
  assert.equal(shadow?.mode, 'promoted');
  assert.equal(shadow?.candidates[0]?.mismatches, SHADOW_MISMATCHES, 'the shadow phase\'s findings are kept');

  const again = await post('/api/promote', { trackSetId: SHADOW.id });
  assert.equal(again.status, 200);
  assert.equal(((await again.json()) as { control: { changed: boolean } }).control.changed, false);
  assert.equal((await controlOf(SHADOW.id))!.epoch, stored.epoch, 'no new phase');
});
