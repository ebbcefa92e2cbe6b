// End-to-end: `tracks dashboard` started as a real process on a recorded SQLite store, driven
// in Debian's Chromium (headless) through playwright-core.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { runCli } from '../../src/cli/run-cli.js';
import { sqliteStore } from '../../src/index.js';
import type { Report, TrackSetResult } from '../../src/report/report-model.js';
import { HOLDOUT, XSS_NAME, XSS_SHOWN, recordFixture } from './fixture.js';
import { escapeControl } from '../../src/text.js';
import { holdRequests } from '../support/held-requests.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tracks-dashboard-e2e-'));
const db = join(dir, 'tracks.db');
const children: ChildProcess[] = [];
let browser: Browser;
let url: string;

/** Runs `tracks <args>` from source as its own process. */
function spawnTracks(args: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** Starts `tracks dashboard` (on the fixture's store unless `store` is given) and resolves with the address it prints. */
function startCli(args: readonly string[], store = db): Promise<string> {
  const child = spawnTracks(['dashboard', '--store', store, '--port', '0', ...args]);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^tracks dashboard: (http:\/\/127\.0\.0\.1:\d+\/\S*) /m.exec(out);
      if (match) resolve(match[1]!);
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`tracks dashboard exited with ${code}: ${err}`)));
  });
}

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install chromium; CI's .ci/run installs it)`);
  }
  await recordFixture(db, { usersPerDay: 150, days: 4 });
  [url, browser] = await Promise.all([
    startCli([]),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    }),
  ]);
});

after(async () => {
  await browser?.close();
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** `tracks report --json` on the same store (in process), with more flags (`--by country`). */
async function cliReport(...extra: string[]): Promise<Report> {
  let out = '';
  assert.equal(await runCli(['report', '--json', '--store', db, ...extra], { stdout: (t) => (out += t), stderr: () => {}, env: {} }), 0);
  return JSON.parse(out) as Report;
}

/** A new page that records dialogs, page errors and CSP violations (console errors). */
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

async function showTrackSet(page: Page, id: string): Promise<void> {
  await page.goto(`${url}#/set/${encodeURIComponent(id)}`);
  await page.waitForSelector('html[data-ready="trackset"]');
}

/** The numbers of the track set view's tables, from their data-value attributes. */
async function tableNumbers(page: Page) {
  // No named helpers inside evaluate: tsx would wrap them in a __name() the page does not have.
  const tables = await page.$$eval('table[data-metric], table[data-section="health"]', (elements) =>
    elements.map((table) => ({
      metric: (table as HTMLElement).dataset.metric ?? null,
      rows: [...table.querySelectorAll<HTMLTableRowElement>('tbody tr')].map((row) => ({
        track: row.dataset.track!,
        cells: [...row.querySelectorAll<HTMLTableCellElement>('td[data-value]')].map((td) => ({
          field: td.dataset.field!,
          value: td.dataset.value === '' ? null : Number(td.dataset.value),
          text: td.textContent,
          low: td.dataset.low,
          high: td.dataset.high,
          belowResolution: td.dataset.belowResolution === 'true',
          slower: td.dataset.slower,
          differenceMs: td.dataset.differenceMs,
          flag: td.querySelector('[data-flag]')?.textContent ?? null,
        })),
      })),
    })),
  );
  type Cells = Record<string, Record<string, (typeof tables)[number]['rows'][number]['cells'][number]>>;
  const cellsOf = (table: (typeof tables)[number]): Cells =>
    Object.fromEntries(table.rows.map((r) => [r.track, Object.fromEntries(r.cells.map((c) => [c.field, c]))]));
  const health = tables.find((t) => t.metric === null);
  return {
    metrics: Object.fromEntries(tables.filter((t) => t.metric !== null).map((t) => [t.metric!, cellsOf(t)])),
    // A holdout runs no code path: it has no health table.
    health: health === undefined ? null : cellsOf(health),
  };
}

/** The segment tables of the track set view (`?by=`), from their data attributes. */
async function segmentNumbers(page: Page) {
  // No named helpers inside evaluate (see tableNumbers): every cell's attributes, read here.
  const tables = await page.$$eval('table[data-segments-metric]', (elements) =>
    elements.map((table) => ({
      metric: (table as HTMLElement).dataset.segmentsMetric!,
      dimension: (table as HTMLElement).dataset.dimension!,
      rows: [...table.querySelectorAll<HTMLTableRowElement>('tbody tr')].map((row) => ({
        segment: row.dataset.segment!,
        track: row.dataset.track!,
        cells: [...row.querySelectorAll<HTMLTableCellElement>('td[data-field]')].map((td) => ({
          field: td.dataset.field!,
          value: td.dataset.value,
          text: td.textContent!,
          low: td.dataset.low,
          high: td.dataset.high,
          verdict: td.dataset.verdict,
          mismatch: td.dataset.mismatch,
          flag: td.querySelector('[data-flag]')?.textContent ?? null,
          className: td.className,
        })),
      })),
      heterogeneity: [...(table.nextElementSibling?.querySelectorAll<HTMLElement>('[data-field="heterogeneity"]') ?? [])].map((li) => ({ data: { ...li.dataset } as Record<string, string | undefined>, flag: li.querySelector('[data-flag="differs"]')?.textContent ?? null, text: li.textContent! })),
    })),
  );
  const number = (x: string | undefined) => (x === undefined || x === '' ? null : Number(x));
  return tables.map((table) => ({
    metric: table.metric,
    dimension: table.dimension,
    rows: table.rows.map((row) => {
      const cell = Object.fromEntries(row.cells.map((c) => [c.field, c]));
      const value = cell.rate ?? cell.value!;
      const lift = cell.lift!;
      const srm = cell.srm;
      return {
        segment: row.segment,
        track: row.track,
        segmentCell: cell.segment?.text ?? null,
        users: number(cell.users!.value),
        value: number(value.value),
        valueText: value.text,
        lift: { text: lift.text, value: number(lift.value), low: lift.low, high: lift.high, verdict: lift.verdict, className: lift.className },
        adjustedPValue: number(cell.adjustedPValue!.value),
        srm: srm === undefined ? null : { value: number(srm.value), mismatch: srm.mismatch, flag: srm.flag, className: srm.className },
      };
    }),
    heterogeneity: table.heterogeneity.map((h) => ({
      track: h.data.track!,
      metric: h.data.metric!,
      segments: Number(h.data.segments),
      q: number(h.data.q),
      df: number(h.data.df),
      pValue: number(h.data.pValue),
      iSquared: number(h.data.iSquared),
      differs: h.data.differs,
      flag: h.flag,
      text: h.text,
    })),
  }));
}

/** Shows a set broken down by `by` (through its address) and waits for the segments. */
async function showSegments(page: Page, id: string, by: string): Promise<void> {
  await page.goto(`${url}#/set/${encodeURIComponent(id)}?by=${by}`);
  await page.waitForSelector(`html[data-ready="trackset"] section[data-section="segments"][data-dimension="${by}"]`);
}

/** Every number of the segment tables against the report's segments. */
function assertSegments(shown: Awaited<ReturnType<typeof segmentNumbers>>, set: TrackSetResult): void {
  const segments = set.segments!;
  const goals = set.tracks[0]!.metrics.filter((m) => !m.guardrail);
  assert.deepEqual(shown.map((t) => t.metric), goals.map((m) => m.metric), `${set.id}: one table per goal metric`);
  for (const table of shown) {
    const where = `${set.id} / ${table.metric} by ${segments.dimension}`;
    assert.equal(table.dimension, segments.dimension);
    const expected = segments.values.flatMap((v) =>
      v.tracks.map((t, i) => {
        const m = t.metrics.find((x) => x.metric === table.metric)!;
        const c = m.comparison;
        return {
          segment: v.value,
          track: t.name,
          segmentCell: i === 0 ? escapeControl(v.value) : null,
          users: t.users,
          value: m.value,
          lift: { value: c?.relative?.estimate ?? null, low: c?.relative ? String(c.relative.interval[0]) : undefined, high: c?.relative ? String(c.relative.interval[1]) : undefined, verdict: c?.verdict ?? '' },
          adjustedPValue: c?.adjustedPValue ?? null,
          srm: i === 0 ? { value: v.srm?.pValue ?? null, mismatch: String(v.srm?.mismatch ?? false) } : null,
        };
      }),
    );
    assert.deepEqual(
      table.rows.map(({ valueText: _, ...r }) => ({ ...r, lift: { value: r.lift.value, low: r.lift.low, high: r.lift.high, verdict: r.lift.verdict }, srm: r.srm === null ? null : { value: r.srm.value, mismatch: r.srm.mismatch } })),
      expected,
      where,
    );
    for (const row of table.rows) {
      // Verdict styling as in the main tables; a mismatched segment's SRM is flagged.
      const verdict = row.lift.verdict;
      assert.equal(row.lift.className, `num${verdict === 'better' ? ' num-sig num-better' : verdict === 'worse' ? ' num-sig num-worse' : verdict === 'changed' ? ' num-sig num-changed' : ''}`, `${where} / ${row.segment} / ${row.track}`);
      if (row.srm !== null) assert.equal(row.srm.flag, row.srm.mismatch === 'true' ? 'mismatch' : null, `${where} / ${row.segment}: SRM flagged exactly on a mismatch`);
    }
    const lines = segments.heterogeneity.filter((h) => h.metric === table.metric);
    assert.deepEqual(
      table.heterogeneity.map(({ flag: _f, text: _t, differs: _d, ...h }) => h),
      lines.map((h) => ({ track: h.track, metric: h.metric, segments: h.segments, q: h.q, df: h.degreesOfFreedom, pValue: h.pValue, iSquared: h.iSquared })),
      `${where}: heterogeneity`,
    );
    for (const h of table.heterogeneity) {
      const differs = h.pValue !== null && h.pValue < 0.05;
      assert.equal(h.differs, String(differs));
      assert.equal(h.flag, differs ? 'effect differs by segment' : null);
      if (h.pValue === null) assert.equal(h.text, `${escapeControl(h.track)} across ${segments.dimension}: fewer than 2 segments to compare`);
      else assert.ok(h.text.startsWith(`${escapeControl(h.track)} across ${segments.dimension}: Q = ${h.q!.toFixed(1)} (df ${h.df}), p `) && h.text.endsWith(differs ? 'effect differs by segment' : 'no evidence it differs'), h.text);
    }
  }
}

test('the overview lists every track set with its status, users and warning badges, as the report says; holdouts apart', async () => {
  const { page, problems } = await openPage();
  await page.goto(url);
  await page.waitForSelector('html[data-ready="overview"]');
  const rows = await page.$$eval('table[data-view="overview"] tr[data-trackset]', (trs) =>
    trs.map((tr) => ({
      id: (tr as HTMLElement).dataset.trackset!,
      link: tr.querySelector('a')!.textContent,
      status: tr.querySelector<HTMLElement>('[data-status]')!.dataset.status!,
      users: Number(tr.querySelector<HTMLElement>('[data-field="users"]')!.dataset.value),
      warnings: [...tr.querySelectorAll<HTMLElement>('[data-warning]')].map((b) => b.dataset.warning!),
    })),
  );
  const report = await cliReport();
  const tests = report.trackSets.filter((s) => !s.holdout);
  assert.deepEqual(
    rows.map((r) => ({ id: r.id, link: r.link, status: r.status, users: r.users })),
    tests.map((s) => ({ id: s.id, link: escapeControl(s.id), status: s.status, users: s.users })),
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  assert.equal(byId.get('new-cache')!.status, 'guardrail');
  for (const set of tests) {
    const badged = ['sample-ratio-mismatch', 'too-few-users', 'guardrail', 'guardrail-metric', 'no-baseline', 'latency'];
    const expected = [...new Set(set.warnings.map((w) => w.kind))].filter((k) => badged.includes(k));
    assert.deepEqual(byId.get(set.id)!.warnings, expected, set.id);
  }
  assert.ok(byId.get('new-cache')!.warnings.includes('guardrail'));
  // lru gains no users once tripped; with control alone left there is no sample-ratio check, and no false alarm.
  assert.ok(!byId.get('new-cache')!.warnings.includes('sample-ratio-mismatch'));
  assert.deepEqual(byId.get('search-ranking')!.warnings, ['latency', 'sample-ratio-mismatch'], 'bm25 spins 0.05 ms more than control: slower at p95');
  assert.deepEqual(byId.get(XSS_NAME)!.warnings, ['too-few-users']);
  assert.equal(await page.textContent('tr[data-trackset="new-cache"] [data-status]'), 'guardrail tripped');
  // The holdout is not a test: its own table after the tests', with the share held out.
  const holdout = report.trackSets.find((s) => s.holdout)!;
  assert.equal(holdout.id, HOLDOUT.id);
  assert.equal(byId.has(HOLDOUT.id), false, 'not among the tests');
  const held = await page.$$eval('section[data-section="holdouts"] tr[data-trackset]', (trs) =>
    trs.map((tr) => ({
      id: (tr as HTMLElement).dataset.trackset!,
      badge: tr.querySelector('[data-badge="holdout"]')?.textContent ?? null,
      users: Number(tr.querySelector<HTMLElement>('[data-field="users"]')!.dataset.value),
      heldOut: Number(tr.querySelector<HTMLElement>('[data-field="heldOut"]')!.dataset.value),
    })),
  );
  assert.deepEqual(held, [{ id: HOLDOUT.id, badge: 'holdout', users: holdout.users, heldOut: holdout.tracks.find((t) => t.name === 'holdout')!.users }]);
  assert.ok(held[0]!.heldOut > 0 && held[0]!.heldOut < holdout.users * 0.2, `about a tenth held out: ${held[0]!.heldOut} of ${holdout.users}`);
  const order = await page.$$eval('[data-view="overview"], [data-section="holdouts"]', (els) => els.map((e) => (e as HTMLElement).dataset.view ?? (e as HTMLElement).dataset.section));
  assert.deepEqual(order, ['overview', 'holdouts'], 'holdouts after the tests');
  assert.equal(await page.textContent('p.meta'), `${tests.length} track sets; ${tests.reduce((n, s) => n + s.users, 0).toLocaleString('en-US')} users summed over the sets (someone in two sets counts in each)`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('each track set view shows the numbers of `tracks report --json` on the same store', async () => {
  const { page, problems } = await openPage();
  const report = await cliReport();
  for (const set of report.trackSets) {
    await showTrackSet(page, set.id);
    if (set.id === 'new-cache') {
      // The guardrail tripped lru: the sample-ratio check leaves it out, which leaves control alone.
      assert.deepEqual([set.srm, set.srmExcluded], [null, ['lru']]);
      assert.match((await page.textContent('section[data-view="trackset"] > p.meta'))!, /no sample-ratio check: fewer than 2 tracks left without lru \(guardrail\)/);
    }
    const shown = await tableNumbers(page);
    // Goal metrics first, then the guardrail metrics, apart.
    const ordered = [...set.tracks[0]!.metrics.filter((m) => !m.guardrail), ...set.tracks[0]!.metrics.filter((m) => m.guardrail)];
    assert.deepEqual(Object.keys(shown.metrics), ordered.map((m) => m.metric), set.id);
    for (const track of set.tracks) {
      for (const m of track.metrics) {
        const cells = shown.metrics[m.metric]![track.name]!;
        const expected: Record<string, number | null> = {
          users: track.users,
          expectedShare: track.expectedShare,
          conversions: m.conversions,
          [m.type === 'conversion' ? 'rate' : 'value']: m.value,
          pValue: m.comparison?.pValue ?? null,
          adjustedPValue: m.comparison?.adjustedPValue ?? null,
          chanceToBeatControl: m.comparison?.chanceToBeatControl ?? null,
          risk: m.comparison?.risk ?? null,
          lift: m.comparison?.relative?.estimate ?? null,
        };
        for (const [field, value] of Object.entries(expected)) {
          assert.equal(cells[field]!.value, value, `${set.id} / ${m.metric} / ${track.name} / ${field}`);
        }
        if (m.comparison?.relative) {
          assert.equal(Number(cells.lift!.low), m.comparison.relative.interval[0]);
          assert.equal(Number(cells.lift!.high), m.comparison.relative.interval[1]);
        }
        assert.equal(cells.users!.text, track.users.toLocaleString('en-US'));
      }
      if (set.holdout) {
        assert.equal(shown.health, null, `${set.id}: a holdout has no code path health`);
        continue;
      }
      const health = shown.health![track.name]!;
      const l = track.latency;
      const vs = l.comparison?.find((c) => c.q === 0.95);
      const expected = {
        runs: l.runs,
        errors: l.errors,
        errorRate: l.errorRate,
        meanMs: l.meanMs,
        // Interpolated estimates, as in latency.quantiles.
        p50Ms: l.p50Ms,
        p95Ms: l.p95Ms,
        p99Ms: l.p99Ms,
        p95VsBaseline: vs?.ratio?.estimate ?? null,
        p95PValue: vs?.pValue ?? null,
      };
      const where = `${set.id} / health / ${track.name}`;
      for (const [field, value] of Object.entries(expected)) assert.equal(health[field]!.value, value, `${where} / ${field}`);
      for (const [field, q] of [['p50Ms', 0.5], ['p95Ms', 0.95], ['p99Ms', 0.99]] as const) {
        const quantile = l.quantiles.find((x) => x.q === q);
        if (quantile === undefined) {
          assert.equal(l[field], null);
          continue;
        }
        assert.equal(quantile.estimateMs, l[field], `${where} / ${field} is the quantile's estimate`);
        assert.equal(health[field]!.belowResolution, quantile.belowResolution, `${where} / ${field} below resolution`);
        if (quantile.belowResolution) assert.equal(health[field]!.text, '< 0.05 ms', `${where} / ${field}: not a bucket bound`);
      }
      // The p95's interval; an unbounded end (Infinity, null in JSON) is empty.
      const p95 = l.quantiles.find((x) => x.q === 0.95);
      if (p95 !== undefined) assert.deepEqual([Number(health.p95Ms!.low), health.p95Ms!.high === '' ? null : Number(health.p95Ms!.high)], p95.interval, `${where} / p95 interval`);
      if (vs === undefined) {
        assert.equal(health.p95VsBaseline!.slower, undefined, `${where}: no p95 comparison`);
      } else {
        const interval = vs.ratio?.interval ?? vs.differenceMs.interval;
        assert.deepEqual([Number(health.p95VsBaseline!.low), health.p95VsBaseline!.high === '' ? null : Number(health.p95VsBaseline!.high)], interval, `${where} / p95 vs baseline interval`);
        assert.equal(Number(health.p95VsBaseline!.differenceMs), vs.differenceMs.estimate);
        assert.equal(health.p95VsBaseline!.slower, String(vs.slower));
        assert.equal(health.p95VsBaseline!.flag, vs.slower ? 'slower' : null, `${where}: flagged exactly when slower`);
      }
    }
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('segments: "Break down by" lists the set\'s dimensions; choosing one shows each segment as `tracks report --by` (p adj across segments, SRM, heterogeneity)', async () => {
  const { page, problems, dialogs } = await openPage();
  await showTrackSet(page, 'checkout-delay');
  const options = await page.$$eval('select[data-field="by-select"] option', (os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent]));
  assert.deepEqual(options, [['', 'none'], ['country', 'country'], ['plan', 'plan']]);
  assert.equal(await page.locator('table[data-segments-metric]').count(), 0, 'no breakdown until one is chosen');
  // A set that records no dimensions offers none.
  await showTrackSet(page, 'pricing');
  assert.equal(await page.locator('section[data-section="segments"]').count(), 0);

  await showTrackSet(page, 'checkout-delay');
  await page.selectOption('select[data-field="by-select"]', 'country');
  await page.waitForSelector('html[data-ready="trackset"] section[data-section="segments"][data-dimension="country"]');
  assert.equal(new URL(page.url()).hash, '#/set/checkout-delay?by=country', 'the breakdown is in the address');
  assert.equal(await page.inputValue('select[data-field="by-select"]'), 'country');
  const set = (await cliReport('--by', 'country')).trackSets.find((s) => s.id === 'checkout-delay')!;
  assert.deepEqual(set.segments!.values.map((v) => v.value).sort(), ['BR', 'DE', 'US']);
  const shown = await segmentNumbers(page);
  assertSegments(shown, set);
  // The fixture's story: the short delay (an order review) lifts purchases in Germany only.
  const purchase = shown.find((t) => t.metric === 'purchase')!;
  const de = purchase.rows.find((r) => r.segment === 'DE' && r.track === 'short_delay')!;
  assert.equal(de.lift.verdict, 'better');
  assert.match(de.lift.className, /num-better/);
  assert.match(de.valueText!, /^\d+\.\d\d%$/, 'a conversion rate reads as a percentage');
  const differs = purchase.heterogeneity.find((h) => h.track === 'short_delay')!;
  assert.equal(differs.flag, 'effect differs by segment');
  assert.ok(differs.pValue! < 0.05 && differs.df === 2, `Q = ${differs.q}, p = ${differs.pValue}`);
  assert.equal(purchase.heterogeneity.find((h) => h.track === 'long_delay')!.differs, 'false');
  assert.ok(purchase.rows.every((r) => r.srm === null || r.srm.mismatch === 'false'), 'every country split as the weights say');
  assert.equal(await page.locator('[data-field="segment-srm-warning"]').count(), 0);

  // Another dimension, then none again.
  await page.selectOption('select[data-field="by-select"]', 'plan');
  await page.waitForSelector('html[data-ready="trackset"] section[data-section="segments"][data-dimension="plan"]');
  assertSegments(await segmentNumbers(page), (await cliReport('--by', 'plan')).trackSets.find((s) => s.id === 'checkout-delay')!);
  await page.selectOption('select[data-field="by-select"]', '');
  await page.waitForFunction(() => location.hash === '#/set/checkout-delay' && document.documentElement.dataset.ready === 'trackset');
  assert.equal(await page.locator('table[data-segments-metric]').count(), 0);

  // search-ranking's logging bug wrote exposures without dimensions: the mismatch is in "(none)".
  await showSegments(page, 'search-ranking', 'country');
  const search = (await cliReport('--by', 'country')).trackSets.find((s) => s.id === 'search-ranking')!;
  const searchShown = await segmentNumbers(page);
  assertSegments(searchShown, search);
  const none = searchShown[0]!.rows.find((r) => r.segment === '(none)' && r.srm !== null)!;
  assert.deepEqual([none.srm!.mismatch, none.srm!.flag], ['true', 'mismatch']);
  assert.match(none.srm!.className, /\bbad\b/);
  assert.equal(searchShown[0]!.rows.filter((r) => r.srm?.mismatch === 'true').length, 1, 'only the segment without dimensions');
  assert.match((await page.textContent('[data-field="segment-srm-warning"]'))!, /^Sample-ratio mismatch in \(none\) \(p < 0\.001\)/);

  // A segment named like an XSS probe is text; one segment has nothing to compare across.
  await showSegments(page, XSS_NAME, 'variant');
  const xss = (await cliReport('--by', 'variant')).trackSets.find((s) => s.id === XSS_NAME)!;
  const xssShown = await segmentNumbers(page);
  assertSegments(xssShown, xss);
  assert.equal(xssShown[0]!.rows[0]!.segmentCell, XSS_SHOWN);
  assert.equal(await page.locator('img').count(), 0);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a bad `by` is refused: the API answers 400 with a message, and the page shows it', async () => {
  for (const by of ['bad-name', '1country', 'x'.repeat(41), '', 'country&trackset=pricing']) {
    const response = await fetch(new URL(`/api/report?trackset=checkout-delay&by=${encodeURIComponent(by)}`, url));
    assert.equal(response.status, 400, `by=${by}`);
    assert.match(((await response.json()) as { error: string }).error, /^by must be a dimension name from the set's static dimensions\(\), like country or plan/);
  }
  const ok = await fetch(new URL('/api/report?trackset=checkout-delay&by=country', url));
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as Report).trackSets[0]!.segments!.dimension, 'country');
  assert.deepEqual(await (await fetch(new URL('/api/dimensions?trackset=checkout-delay', url))).json(), { dimensions: ['country', 'plan'] });
  const { page, problems } = await openPage();
  await page.goto(`${url}#/set/checkout-delay?by=bad-name`);
  await page.waitForSelector('html[data-ready="error"]');
  assert.match((await page.textContent('p.error'))!, /^by must be a dimension name/);
  // A well-formed name the set does not record: said, not an empty section.
  await page.goto(`${url}#/set/checkout-delay?by=nosuchdim`);
  await page.waitForSelector('html[data-ready="trackset"] [data-field="no-segments"]');
  assert.equal(await page.textContent('[data-field="no-segments"]'), 'No exposure of this set records the dimension nosuchdim; its dimensions are country, plan (from static dimensions(context)).');
  assert.deepEqual(problems.filter((p) => !p.includes('400')), []);
  await page.close();
});

test('a holdout is shown as one: labelled general users against held-out users, no Stop, Resume or Ramp', async () => {
  const { page, problems } = await openPage();
  await page.goto(url);
  await page.waitForSelector('html[data-ready="overview"]');
  await page.click(`section[data-section="holdouts"] a`);
  await page.waitForSelector('html[data-ready="trackset"]');
  assert.equal(new URL(page.url()).hash, `#/set/${HOLDOUT.id}`);
  const holdout = (await cliReport()).trackSets.find((s) => s.id === HOLDOUT.id)!;
  assert.equal(await page.textContent('h1 [data-badge="holdout"]'), 'holdout');
  assert.equal(await page.textContent('[data-field="holdout-note"]'), 'Holdout: general users (every test) against held-out users (every baseline).');
  const held = holdout.tracks.find((t) => t.name === 'holdout')!.users;
  const general = holdout.tracks.find((t) => t.name === 'general')!.users;
  assert.deepEqual(
    await page.$eval('[data-field="holdout-users"]', (p) => [(p as HTMLElement).dataset.heldOut, (p as HTMLElement).dataset.general]),
    [String(held), String(general)],
  );
  assert.match((await page.textContent('[data-field="holdout-users"]'))!, new RegExp(`^${holdout.users} users: ${held} held out \\(\\d+\\.\\d%\\), ${general} general`));
  assert.equal(await page.locator('button[data-action]').count(), 0, 'no Stop, Resume or Ramp');
  assert.equal(await page.locator('[data-section="health"]').count(), 0, 'no code path of its own');
  // Every metric compares general users with held-out ones (the baseline).
  assert.equal(await page.getAttribute('table[data-metric="purchase"] tr.baseline', 'data-track'), 'holdout');
  assert.equal(
    Number(await page.getAttribute('table[data-metric="purchase"] tr[data-track="general"] td[data-field="lift"]', 'data-value')),
    holdout.tracks.find((t) => t.name === 'general')!.metrics.find((m) => m.metric === 'purchase')!.comparison!.relative!.estimate,
  );
  // The store refuses to stop a holdout anyway: the API says so.
  const csrf = await page.getAttribute('meta[name="csrf-token"]', 'content');
  const stop = await fetch(new URL('/api/stop', url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf! }, body: JSON.stringify({ trackSetId: HOLDOUT.id }) });
  assert.equal(stop.status, 400);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the charts render: conversion with intervals, lift over time, latency and error rate each draw on their canvas', async () => {
  const { page, problems } = await openPage();
  await showTrackSet(page, 'checkout-delay');
  const charts = await page.$$eval('figure[data-chart]', (figures) =>
    figures.map((figure) => {
      const canvas = figure.querySelector('canvas')!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
      return { kind: (figure as HTMLElement).dataset.chart!, width: canvas.width, height: canvas.height, painted, dataUrl: canvas.toDataURL().length };
    }),
  );
  const kinds = charts.map((c) => c.kind);
  const set = (await cliReport()).trackSets.find((s) => s.id === 'checkout-delay') as TrackSetResult;
  const metrics = set.tracks[0]!.metrics.length;
  assert.equal(kinds.filter((k) => k === 'rate').length, metrics);
  assert.equal(kinds.filter((k) => k === 'lift').length, metrics);
  assert.deepEqual(kinds.slice(-2), ['latency', 'errors']);
  // The latency chart: each track's p50, p95 and p99 as points on a log scale in ms.
  const latency = await page.$eval('figure[data-chart="latency"] canvas', (canvas) => {
    const chart = (window as unknown as { Chart: typeof import('chart.js').Chart }).Chart.getChart(canvas as HTMLCanvasElement)!;
    return {
      y: chart.scales.y!.type,
      datasets: chart.data.datasets.map((d) => ({ label: d.label, y: (d.data as ({ y: number } | null)[]).map((p) => p?.y ?? null) })),
    };
  });
  assert.equal(latency.y, 'logarithmic');
  assert.deepEqual(
    latency.datasets,
    set.tracks.map((t) => ({ label: t.name, y: [0.5, 0.95, 0.99].map((q) => t.latency.quantiles.find((x) => x.q === q)?.estimateMs ?? null) })),
    "checkout-delay's control does work: every quantile is measured, drawn at its estimate",
  );
  for (const chart of charts) {
    assert.ok(chart.width > 200 && chart.height > 100, `${chart.kind} has a size: ${chart.width}x${chart.height}`);
    // Axes, bars, lines and labels: thousands of painted pixels, not a blank canvas.
    assert.ok(chart.painted > 2000, `${chart.kind} chart painted ${chart.painted} pixels`);
    assert.ok(chart.dataUrl > 5000, `${chart.kind} chart's PNG is ${chart.dataUrl} characters`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

// A probe: with one day of data the lift chart drew its points with no interval (a band between
// two days has no width when there is one).
test('the lift chart of a test one day old shows each point\'s interval, as a bar', async () => {
  const oneDay = join(dir, 'one-day.db');
  await recordFixture(oneDay, { usersPerDay: 60, days: 1 });
  const address = await startCli([], oneDay);
  const { page, problems } = await openPage();
  await page.goto(`${address}#/set/checkout-delay`);
  await page.waitForSelector('html[data-ready="trackset"]');
  const lifts = await page.$$eval('figure[data-chart="lift"] canvas', (canvases) =>
    canvases.map((canvas) => {
      const chart = (window as unknown as { Chart: typeof import('chart.js').Chart }).Chart.getChart(canvas as HTMLCanvasElement)!;
      return chart.data.datasets.map((d) => ({ type: (d as { type?: string }).type ?? 'line', label: d.label!, data: d.data as unknown[] }));
    }),
  );
  assert.ok(lifts.length > 0, 'a lift chart per metric');
  for (const datasets of lifts) {
    const estimates = datasets.filter((d) => d.type === 'line' && !/ (lower|interval)$/.test(d.label) && d.label !== 'no change');
    assert.ok(estimates.length > 0);
    for (const estimate of estimates) {
      assert.equal(estimate.data.length, 1, 'one day');
      const lower = datasets.find((d) => d.label === `${estimate.label} lower`)!.data[0] as number | null;
      const upper = datasets.find((d) => d.label === `${estimate.label} interval`)!.data[0] as number | null;
      if (lower === null || upper === null) continue; // no interval to show (too few users)
      const bar = datasets.find((d) => d.type === 'bar' && d.label === `${estimate.label} interval, a day alone`);
      assert.deepEqual(bar?.data, [[lower, upper]], `${estimate.label}: the interval drawn as a bar`);
      assert.ok(lower < (estimate.data[0] as number) && (estimate.data[0] as number) < upper);
    }
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('latency: a no-op reads "< 0.05 ms" in the table and the chart\'s tooltip, and a track slower at p95 is flagged', async () => {
  const { page, problems } = await openPage();
  const report = await cliReport();
  const search = report.trackSets.find((s) => s.id === 'search-ranking')!;
  const control = search.tracks.find((t) => t.name === 'control')!;
  assert.ok(control.latency.quantiles.every((q) => q.belowResolution), "search-ranking's control is a no-op");
  const bm25 = search.tracks.find((t) => t.name === 'bm25')!;
  const vs = bm25.latency.comparison!.find((c) => c.q === 0.95)!;
  assert.equal(vs.slower, true, 'bm25 spins 0.05 ms more than a no-op');
  assert.equal(vs.ratio, null, 'no ratio to a p95 below resolution');
  await showTrackSet(page, 'search-ranking');
  const cell = (track: string, field: string) => `table[data-section="health"] tr[data-track="${track}"] td[data-field="${field}"]`;
  for (const field of ['p50Ms', 'p95Ms', 'p99Ms']) assert.equal(await page.textContent(cell('control', field)), '< 0.05 ms');
  assert.equal(await page.textContent(cell('control', 'p95VsBaseline')), 'baseline');
  // bm25 against a no-op: the difference in ms, with its interval, flagged.
  assert.equal(await page.textContent(`${cell('bm25', 'p95VsBaseline')} [data-flag="slower"]`), 'slower');
  // An end open at 0 (a bucket apart from a no-op) is the smallest double, shown as "> 0".
  const ms = (x: number) => (x !== 0 && Math.abs(x) < 1e-9 ? (x > 0 ? '> 0' : '< 0') : `${x >= 0 ? '+' : '-'}${Math.abs(x).toPrecision(2)} ms`);
  assert.equal(await page.textContent(`${cell('bm25', 'p95VsBaseline')} [data-part="interval"]`), `[${ms(vs.differenceMs.interval[0])}, ${ms(vs.differenceMs.interval[1])}]`);
  assert.equal(await page.textContent('h1 [data-warning="latency"]'), 'slower p95');
  // The chart draws the no-op's quantiles at the resolution, and its tooltip says "< 0.05 ms".
  const drawn = await page.$eval('figure[data-chart="latency"] canvas', (canvas) => {
    const chart = (window as unknown as { Chart: typeof import('chart.js').Chart }).Chart.getChart(canvas as HTMLCanvasElement)!;
    const y = (chart.data.datasets[0]!.data as ({ y: number } | null)[]).map((p) => p?.y ?? null);
    chart.tooltip!.setActiveElements([{ datasetIndex: 0, index: 1 }, { datasetIndex: 1, index: 1 }], { x: 0, y: 0 });
    chart.update();
    return { y, title: chart.tooltip!.title, lines: chart.tooltip!.body.flatMap((b) => b.lines) };
  });
  assert.deepEqual(drawn.y, [0.05, 0.05, 0.05]);
  assert.deepEqual(drawn.title, ['p95']);
  assert.match(drawn.lines[0]!, /^control: < 0\.05 ms, 95% interval \[0, /);
  assert.match(drawn.lines[1]!, /^bm25: \d\.\d+ ms, 95% interval \[\d/);
  // checkout-delay's control does work: the p95 change is a ratio (its minus 1, with the interval).
  const checkout = report.trackSets.find((s) => s.id === 'checkout-delay')!;
  await showTrackSet(page, 'checkout-delay');
  // As the page writes a change: one that rounds to zero has no sign.
  const percent = (x: number) => {
    const text = `${(x * 100).toFixed(1)}%`;
    return text === '0.0%' || text === '-0.0%' ? '0.0%' : `${x >= 0 ? '+' : ''}${text}`;
  };
  for (const track of checkout.tracks.filter((t) => !t.isBaseline)) {
    const p95 = track.latency.comparison!.find((c) => c.q === 0.95)!;
    assert.ok(p95.ratio !== null, `${track.name}: a ratio to a measured p95`);
    const [low, high] = p95.ratio.interval;
    // (Whether a delay is flagged varies from run to run: a few slow runs widen the p95's
    // interval. The flag's presence is checked against the report for every track above.)
    assert.equal(await page.textContent(cell(track.name, 'p95VsBaseline')), `${p95.slower ? 'slower ' : ''}${percent(p95.ratio.estimate - 1)}[${percent(low - 1)}, ${high === null ? '+∞' : percent(high - 1)}]`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('under each metric table: its cap, and per track CUPED\'s variance reduction beside the unadjusted lift, as the report says', async () => {
  const { page, problems, dialogs } = await openPage();
  let out = '';
  assert.equal(await runCli(['report', '--json', '--store', db, '--all-phases'], { stdout: (t) => (out += t), stderr: () => {}, env: {} }), 0);
  const report = JSON.parse(out) as Report;
  let cupedNotes = 0;
  for (const set of report.trackSets) {
    await showTrackSet(page, set.id);
    const shown = await page.$$eval('section[data-metric]', (sections) =>
      sections.map((section) => ({
        metric: (section as HTMLElement).dataset.metric!,
        cap: ((el) => (el === null ? null : { value: Number(el.dataset.value), applied: JSON.parse(el.dataset.applied!) as (number | null)[], text: el.textContent! }))(section.querySelector<HTMLElement>('[data-field="metric-notes"] [data-field="cap"]')),
        cuped: [...section.querySelectorAll<HTMLElement>('[data-field="metric-notes"] [data-field="cuped"]')].map((el) => ({
          track: el.dataset.track!,
          name: el.querySelector('strong')!.textContent,
          value: Number(el.dataset.value),
          pValue: Number(el.dataset.pValue),
          text: el.textContent!,
        })),
        notApplied: [...section.querySelectorAll<HTMLElement>('[data-field="metric-notes"] [data-field="cuped-not-applied"]')].map((el) => el.dataset.track!),
      })),
    );
    for (const { metric, cap, cuped, notApplied } of shown) {
      const results = set.tracks.map((t) => ({ track: t, m: t.metrics.find((x) => x.metric === metric)! }));
      const declared = results[0]!.m.cap;
      assert.deepEqual(cap === null ? null : { value: cap.value, applied: cap.applied }, declared === null ? null : { value: declared.value ?? declared.percentile, applied: declared.applied }, `${set.id} / ${metric} / cap`);
      // Where CUPED was not applied although users had history, the page says so as the report does.
      assert.deepEqual(notApplied, results.filter((r) => typeof r.m.comparison?.cupedNotApplied === 'string').map((r) => r.track.name), `${set.id} / ${metric} / CUPED not applied`);
      const adjusted = results.filter((r) => r.m.comparison?.cuped);
      assert.deepEqual(
        cuped.map((c) => ({ track: c.track, name: c.name, value: c.value, pValue: c.pValue })),
        adjusted.map((r) => ({ track: r.track.name, name: escapeControl(r.track.name), value: r.m.comparison!.cuped!.varianceReduction, pValue: r.m.comparison!.cuped!.unadjusted.pValue })),
        `${set.id} / ${metric} / CUPED`,
      );
      for (const c of cuped) {
        const u = results.find((r) => r.track.name === c.track)!.m.comparison!.cuped!;
        const change = -u.varianceReduction * 100;
        assert.ok(c.text.startsWith(`CUPED on ${escapeControl(c.track)}: variance ${change >= 0 ? '+' : ''}${change.toFixed(1)}%; unadjusted `), c.text);
      }
      cupedNotes += cuped.length;
    }
  }
  assert.ok(cupedNotes >= 8, `returning customers' history adjusts purchase and revenue in every set (${cupedNotes} notes)`);
  // checkout-delay's revenue: capped at the 99th percentile, per phase; one phase alone shows its own.
  const checkout = report.trackSets.find((s) => s.id === 'checkout-delay')!;
  await showTrackSet(page, 'checkout-delay');
  const capText = () => page.textContent('section[data-metric="revenue"] [data-field="cap"]');
  const applied = checkout.tracks[0]!.metrics.find((m) => m.metric === 'revenue')!.cap!.applied;
  assert.equal(applied.length, 2);
  assert.match((await capText())!, /^Capped: each user's total at the 99th percentile of the set's users: phase 1: \d+(\.\d+)?, phase 2: \d+(\.\d+)?\.$/);
  await page.selectOption('select[data-field="phase-select"]', '2');
  const phase2 = checkout.phases[1]!.results!;
  assert.deepEqual(JSON.parse((await page.getAttribute('section[data-metric="revenue"] [data-field="cap"]', 'data-applied'))!), phase2[0]!.metrics.find((m) => m.metric === 'revenue')!.cap!.applied);
  assert.equal(
    await page.locator('section[data-metric="revenue"] [data-field="cuped"]').count(),
    phase2.filter((t) => t.metrics.find((m) => m.metric === 'revenue')!.comparison?.cuped).length,
  );
  // A CUPED note on the track named like an XSS probe shows the name as text.
  await showTrackSet(page, XSS_NAME);
  assert.ok((await page.locator(`[data-field="cuped"][data-track="${XSS_NAME}"]`).count()) > 0);
  assert.equal(await page.textContent(`[data-field="cuped"][data-track="${XSS_NAME}"] strong`), XSS_SHOWN);
  assert.equal(await page.locator('img').count(), 0);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(problems, []);
  await page.close();
});

test('Stop (serving a chosen track) and Resume by clicking, after a confirmation, change the store’s control state', async () => {
  const { page, problems, dialogs } = await openPage();
  await showTrackSet(page, 'checkout-delay');
  assert.equal(await page.isDisabled('button[data-action="resume"]'), true);

  // Cancelling changes nothing.
  await page.click('button[data-action="stop"]');
  await page.click('dialog button[data-action="cancel"]');
  assert.equal(await page.locator('dialog').count(), 0);

  await page.click('button[data-action="stop"]');
  assert.equal(await page.locator('dialog[open]').count(), 1);
  assert.equal(await page.inputValue('dialog select'), 'control');
  await page.selectOption('dialog select', 'long_delay');
  await page.click('dialog button[data-action="confirm"]');
  await page.waitForSelector('html[data-ready="trackset"] h1 [data-status="stopped"]');
  assert.equal(await page.textContent('h1 [data-status]'), 'stopped · serving long_delay');
  // The view was drawn again: focus is back on its controls (Stop is disabled now: Resume), and the status says so.
  const focused = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.action ?? document.activeElement?.tagName);
  assert.equal(await focused(), 'resume');
  assert.equal(await page.textContent('[data-field="control-message"][role="status"]'), 'Saved.');
  // The stop begins a phase on the page at once, before any process has picked it up.
  assert.equal(await page.textContent('section[data-section="phases"] h2'), 'Phases (3)');
  const store = sqliteStore(db);
  try {
    const stopped = (await store.readControls()).find((c) => c.trackSetId === 'checkout-delay')!;
    assert.equal(stopped.stopped, true);
    assert.equal(stopped.serve, 'long_delay');

    assert.equal(await page.isDisabled('button[data-action="stop"]'), true);
    await page.click('button[data-action="resume"]');
    await page.click('dialog button[data-action="confirm"]');
    await page.waitForSelector('html[data-ready="trackset"] h1 [data-status="running"]');
    assert.equal(await focused(), 'stop');
    const resumed = (await store.readControls()).find((c) => c.trackSetId === 'checkout-delay')!;
    assert.equal(resumed.stopped, false);
    assert.equal(resumed.serve, null);
  } finally {
    await store.close();
  }
  assert.deepEqual(dialogs, [], 'the confirmation is the page’s own dialog, not window.confirm');
  assert.deepEqual(problems, []);
  await page.close();
});

test(`names from user code are text: a track set, track and metric named ${XSS_SHOWN} show as typed (the right-to-left override as an escape), and nothing runs`, async () => {
  const { page, problems, dialogs } = await openPage();
  await page.goto(url);
  await page.waitForSelector('html[data-ready="overview"]');
  assert.equal(await page.locator('tr[data-trackset] a', { hasText: XSS_SHOWN }).count(), 1);
  await page.locator('tr[data-trackset] a', { hasText: XSS_SHOWN }).click();
  await page.waitForSelector('html[data-ready="trackset"]');
  assert.equal(await page.textContent('h1 [data-field="id"]'), XSS_SHOWN);
  assert.equal(await page.textContent(`table[data-metric="${XSS_NAME}"] tr[data-track="${XSS_NAME}"] td[data-field="track"]`), XSS_SHOWN);
  assert.ok((await page.textContent('section[data-metric] h2') ?? '').startsWith(XSS_SHOWN));
  assert.doesNotMatch((await page.textContent('main')) ?? '', /\u202e/, 'no override reaches the page');
  assert.equal(await page.locator('img').count(), 0, 'no <img> element was created');
  // checkout-delay users converted on the XSS metric too: its name is a table there as well.
  await showTrackSet(page, 'checkout-delay');
  assert.equal(await page.locator('img').count(), 0);
  assert.deepEqual(dialogs, [], 'no alert() ran');
  assert.deepEqual(problems, [], 'and no CSP violation was reported');
  await page.close();
});

test('with --token, the page needs the token once (then an HttpOnly cookie) and works as before', async () => {
  const token = 'e2e-token-0123456789';
  const guarded = await startCli(['--token', token]);
  assert.ok(guarded.endsWith(`/?token=${token}`));
  const base = guarded.slice(0, guarded.indexOf('?'));
  const { page, problems } = await openPage();
  const denied = await page.goto(base);
  assert.equal(denied!.status(), 401);
  await page.goto(`${guarded}#/set/checkout-delay`);
  await page.waitForSelector('html[data-ready="trackset"]');
  assert.equal(new URL(page.url()).search, '', 'the token is dropped from the address bar');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the cookie is HttpOnly');
  assert.deepEqual(problems.filter((p) => !p.includes('401')), []);
  await page.close();
});

test('with --token, the printed address as a link on another site (a chat, a wiki) opens the page, keeps its #view, stays open on reload, and leaves no token in history', async () => {
  const token = 'e2e-link-token-0123456789';
  const guarded = await startCli(['--token', token]);
  // Another site: localhost is not 127.0.0.1 to a browser's cookies (SameSite=Strict).
  const wiki = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>wiki</title><a id="go" href="${guarded}#/set/checkout-delay">the dashboard</a>`);
  });
  await new Promise<void>((resolve) => wiki.listen(0, '127.0.0.1', resolve));
  const { page, problems } = await openPage();
  try {
    await page.goto(`http://localhost:${(wiki.address() as AddressInfo).port}/`);
    await page.click('#go');
    await page.waitForSelector('html[data-ready="trackset"]');
    assert.equal(new URL(page.url()).search, '', 'the token is dropped from the address bar');
    assert.equal(new URL(page.url()).hash, '#/set/checkout-delay');
    await page.reload();
    await page.waitForSelector('html[data-ready="trackset"]');
    // The page with the token replaced itself: back leads to the wiki.
    await page.goBack();
    assert.equal(new URL(page.url()).hostname, 'localhost');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    wiki.close();
  }
});

test('a non-loopback bind without --token refuses to start with one line and exit code 2', async () => {
  const child = spawnTracks(['dashboard', '--store', db, '--host', '0.0.0.0', '--port', '0']);
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 2);
  assert.equal(err, 'tracks dashboard: --host 0.0.0.0 would expose the dashboard beyond this machine; add --token <secret> (every request then needs it)\n');
});

test('a declared baseline (static control, no control track) is the baseline on the page: lift and p-values with no flag', async () => {
  const { page, problems } = await openPage();
  await showTrackSet(page, 'pricing');
  assert.equal(await page.getAttribute('table[data-metric="price_accepted"] tr.baseline', 'data-track'), 'price_adjusted_by_0');
  assert.equal(await page.textContent('table[data-metric="price_accepted"] tr[data-track="price_adjusted_by_0"] td[data-field="lift"]'), 'baseline');
  const lift = await page.getAttribute('table[data-metric="price_accepted"] tr[data-track="price_adjusted_by_1"] td[data-field="lift"]', 'data-value');
  assert.ok(lift !== null && lift !== '' && Number.isFinite(Number(lift)), 'the other track has a lift against the declared baseline');
  assert.equal(await page.locator('[data-warning="no-baseline"]').count(), 0, 'no "pass --control" warning');
  // Stop offers the declared baseline first.
  await page.click('button[data-action="stop"]');
  assert.equal(await page.inputValue('dialog select[name="choice"]'), 'price_adjusted_by_0');
  // Only the set's own tracks: it has no 'control' to serve.
  const offered = await page.$$eval('dialog select[name="choice"] option', (os) => os.map((o) => (o as HTMLOptionElement).value));
  assert.ok(!offered.includes('control'), `offered ${offered.join(', ')}`);
  assert.ok(offered.includes('price_adjusted_by_0') && offered.includes('price_adjusted_by_1'));
  await page.click('dialog button[data-action="cancel"]');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the phase view: a timeline and a table of the phases, and one phase alone shows that phase’s numbers', async () => {
  const { page, problems } = await openPage();
  let out = '';
  assert.equal(await runCli(['report', '--json', '--store', db, '--trackset', 'checkout-delay', '--all-phases'], { stdout: (t) => (out += t), stderr: () => {}, env: {} }), 0);
  const set = (JSON.parse(out) as Report).trackSets[0]!;
  // The fixture ramps checkout-delay mid-way; the Stop and Resume test above added two empty phases.
  assert.equal(set.phases.length, 4);
  assert.deepEqual(set.phases.map((p) => p.users > 0), [true, true, false, false]);
  await showTrackSet(page, 'checkout-delay');
  assert.equal(await page.textContent('section[data-section="phases"] h2'), 'Phases (4)');
  assert.equal(await page.locator('[data-field="phase-timeline"] .phase-bar').count(), 4);
  const rows = await page.$$eval('table[data-section="phases"] tbody tr', (trs) => trs.map((tr) => [(tr as HTMLElement).dataset.phase, tr.querySelector<HTMLElement>('td[data-field="users"]')!.dataset.value, tr.querySelector('td[data-field="configuration"]')!.textContent]));
  assert.deepEqual(rows.map((r) => [r[0], Number(r[1])]), set.phases.map((p) => [String(p.index), p.users]));
  assert.match(rows[1]![2]!, /short_delay=2/, 'phase 2 ran with the ramped weight');
  const usersShown = async () => page.$$eval('table[data-metric="purchase"] tbody tr', (trs) => trs.map((tr) => Number(tr.querySelector<HTMLElement>('td[data-field="users"]')!.dataset.value)));
  assert.deepEqual(await usersShown(), set.tracks.map((t) => t.users), 'every phase combined by default');
  const runsShown = async () => page.$$eval('table[data-section="health"] tbody tr', (trs) => trs.map((tr) => Number(tr.querySelector<HTMLElement>('td[data-field="runs"]')!.dataset.value)));
  assert.deepEqual(await runsShown(), set.tracks.map((t) => t.latency.runs), 'health of every phase by default');
  await page.selectOption('select[data-field="phase-select"]', '2');
  assert.deepEqual(await usersShown(), set.phases[1]!.results!.map((t) => t.users), 'phase 2 alone');
  // Health too: the runs, errors and latency of phase 2's own minutes, as `--all-phases` gives them.
  assert.deepEqual(await runsShown(), set.phases[1]!.results!.map((t) => t.latency.runs), 'phase 2 alone: its health');
  assert.notDeepEqual(set.phases[1]!.results!.map((t) => t.latency.runs), set.tracks.map((t) => t.latency.runs), 'the fixture gives phase 2 fewer runs than the whole test');
  const phaseLift = set.phases[1]!.results!.find((t) => t.name === 'long_delay')!.metrics.find((m) => m.metric === 'purchase')!.comparison?.relative?.estimate;
  assert.equal(Number(await page.getAttribute('table[data-metric="purchase"] tr[data-track="long_delay"] td[data-field="lift"]', 'data-value')), phaseLift);
  await page.selectOption('select[data-field="phase-select"]', 'all');
  assert.deepEqual(await usersShown(), set.tracks.map((t) => t.users));
  assert.deepEqual(await runsShown(), set.tracks.map((t) => t.latency.runs));
  // Guardrail metrics are apart.
  assert.equal(await page.locator('section[data-section="guardrail-metrics"] section[data-metric="refund"]').count(), 1);
  assert.match((await page.textContent('section[data-metric="refund"] h2'))!, /lower is better/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('on a phone (390 px wide), the page does not scroll sideways: wide tables scroll in their own box, charts fit', async () => {
  const { page, problems } = await openPage();
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = () =>
    page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      wide: [...document.querySelectorAll('table, .chart')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).length,
    }));
  await page.goto(url);
  await page.waitForSelector('html[data-ready="overview"]');
  assert.deepEqual(await overflow(), { page: 390, wide: 0 }, 'the overview');
  for (const id of ['checkout-delay', 'search-ranking']) {
    await showTrackSet(page, id);
    assert.deepEqual(await overflow(), { page: 390, wide: 0 }, id);
  }
  // A name from user code with no place to break, as long as 150 characters, in every note of the view.
  const notes = await page.$$eval('main p strong', (names) => names.map((n) => (n.textContent = `T${'r'.repeat(149)}`)).length);
  assert.ok(notes > 0, 'the view has notes naming tracks');
  assert.deepEqual(await overflow(), { page: 390, wide: 0 }, 'a 150-character track name in the notes');
  // A cell is never squeezed to a letter a line: its text stays on one line, and its table scrolls.
  const cellHeights = await page.$$eval('section[data-section="phases"] td, section[data-section="phases"] th', (cells) => cells.map((c) => c.getBoundingClientRect().height));
  assert.ok(Math.max(...cellHeights) < 60, `phase table cells at most ${Math.max(...cellHeights)} px high`);
  // Every column head says it heads a column, for screen readers.
  const heads = await page.$$eval('main th', (cells) => cells.map((c) => c.getAttribute('scope')));
  assert.ok(heads.length > 0 && heads.every((scope) => scope === 'col'), `th scopes: ${JSON.stringify(heads)}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('Ramp by clicking, after a confirmation: the store gets the new coverage and weights, and a cancel writes nothing', async () => {
  const { page, problems } = await openPage();
  await showTrackSet(page, 'checkout-delay');
  const store = sqliteStore(db);
  try {
    const before = (await store.readControls()).find((c) => c.trackSetId === 'checkout-delay')!;
    const phasesBefore = Number(/\((\d+)\)/.exec((await page.textContent('section[data-section="phases"] h2'))!)![1]);
    await page.click('button[data-action="ramp"]');
    assert.equal(await page.inputValue('dialog input[name="coverage"]'), '100');
    assert.equal(await page.inputValue('dialog input[name="weight:short_delay"]'), '2');
    await page.fill('dialog input[name="coverage"]', '40');
    await page.click('dialog button[data-action="cancel"]');
    assert.deepEqual((await store.readControls()).find((c) => c.trackSetId === 'checkout-delay'), before, 'cancel writes nothing');

    await page.click('button[data-action="ramp"]');
    await page.fill('dialog input[name="coverage"]', '150');
    await page.click('dialog button[data-action="confirm"]');
    assert.match((await page.textContent('dialog [data-field="ramp-problem"]'))!, /Coverage is a percentage from 0 to 100/);
    await page.fill('dialog input[name="coverage"]', '40');
    await page.fill('dialog input[name="weight:long_delay"]', '0.5');
    await page.click('dialog button[data-action="confirm"]');
    await page.waitForFunction(() => document.querySelector('dialog') === null);
    // The page reloads the set once the ramp is saved: its new phase shows at once.
    await page.waitForFunction((n) => document.querySelector('section[data-section="phases"] h2')?.textContent === `Phases (${n})`, phasesBefore + 1);
    const after = (await store.readControls()).find((c) => c.trackSetId === 'checkout-delay')!;
    assert.equal(after.coverage, 0.4);
    assert.deepEqual({ ...after.weights }, { short_delay: 2, long_delay: 0.5 }, 'tracks not changed keep their weight');
    assert.equal(after.epoch, before.epoch! + 1, 'a new phase begins');

    // A coverage finer than a tenth of a percent shows as it is, and stays as it is when only a
    // weight is edited (rounded to a tenth, 0.04% showed as 0 and was sent as a change).
    const ramp = async (fields: Record<string, string>, phases: number) => {
      await page.click('button[data-action="ramp"]');
      for (const [name, value] of Object.entries(fields)) await page.fill(`dialog input[name="${name}"]`, value);
      await page.click('dialog button[data-action="confirm"]');
      await page.waitForFunction(() => document.querySelector('dialog') === null);
      await page.waitForFunction((n) => document.querySelector('section[data-section="phases"] h2')?.textContent === `Phases (${n})`, phases);
    };
    await ramp({ coverage: '0.04' }, phasesBefore + 2);
    const fine = (await store.readControls()).find((c) => c.trackSetId === 'checkout-delay')!.coverage!;
    assert.ok(Math.abs(fine - 0.0004) < 1e-15, `${fine}`);
    await page.click('button[data-action="ramp"]');
    assert.equal(await page.inputValue('dialog input[name="coverage"]'), '0.04');
    await page.click('dialog button[data-action="cancel"]');
    await ramp({ 'weight:long_delay': '1' }, phasesBefore + 3);
    const weightOnly = (await store.readControls()).find((c) => c.trackSetId === 'checkout-delay')!;
    assert.equal(weightOnly.coverage, fine, 'a weight-only ramp keeps the coverage');
    assert.equal(weightOnly.weights!.long_delay, 1);
    assert.match((await page.textContent('section[data-section="phases"]'))!, /coverage 0\.04%/);

    // While a change saves, no other can begin: each would start a phase of its own.
    const release = await holdRequests(page, '**/api/ramp');
    await page.click('button[data-action="ramp"]');
    await page.fill('dialog input[name="weight:long_delay"]', '2');
    await page.click('dialog button[data-action="confirm"]');
    await page.waitForFunction(() => document.querySelector('[data-field="control-message"]')?.textContent === 'Saving…');
    const disabled = await page.$$eval('button[data-action="stop"], button[data-action="resume"], button[data-action="ramp"]', (buttons) => buttons.map((b) => (b as HTMLButtonElement).disabled));
    assert.deepEqual(disabled, [true, true, true]);
    await release();
    await page.waitForFunction((n) => document.querySelector('section[data-section="phases"] h2')?.textContent === `Phases (${n})`, phasesBefore + 4);
  } finally {
    await store.close();
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('a set that came back to an earlier phase (a rollback deploy): a bar and a row "1 again" where it began again, in time order', async () => {
  // Last in the file: a set added to the shared store would change the overview's counts above.
  const HOUR = 3_600_000;
  const start = Date.now() - 30 * HOUR;
  const definition = (n: number, phase: string, weights: Record<string, number>, at: number) =>
    ({ kind: 'definition', eventId: `rollback-def-${n}`, trackSetId: 'rollback-deploy', weights, coverage: 1, control: 'control', phase, sticky: false, at }) as const;
  const exposure = (u: number, phase: string, at: number) =>
    ({ kind: 'exposure', eventId: `rollback-x-${u}`, trackSetId: 'rollback-deploy', track: u % 2 === 0 ? 'control' : 'b', unit: `rollback-u-${u}`, at, phase }) as const;
  const store = sqliteStore(db);
  try {
    await store.write([
      definition(1, 'v1', { control: 1, b: 1 }, start),
      definition(2, 'v2', { control: 1, b: 3 }, start + 10 * HOUR),
      definition(3, 'v1', { control: 1, b: 1 }, start + 20 * HOUR),
      ...Array.from({ length: 40 }, (_, u) => exposure(u, u < 30 ? 'v1' : 'v2', start + (u < 30 ? 1 : 11) * HOUR + u * 1000)),
    ]);
  } finally {
    await store.close();
  }
  const { page, problems } = await openPage();
  await showTrackSet(page, 'rollback-deploy');
  const bars = await page.$$eval('[data-field="phase-timeline"] .phase-bar', (elements) => elements.map((e) => e.textContent));
  assert.deepEqual(bars, ['1', '2', '1']);
  const rows = await page.$$eval('table[data-section="phases"] tbody tr', (trs) => trs.map((tr) => [tr.querySelector('td')!.textContent, tr.querySelector<HTMLElement>('td[data-field="users"]')!.dataset.value]));
  assert.deepEqual(rows, [
    ['1', '30'],
    ['2', '10'],
    ['1 again', ''],
  ]);
  assert.match(await page.textContent('section[data-section="phases"]') ?? '', /“N again”: the set came back to phase N’s configuration/);
  assert.deepEqual(problems, []);
  await page.close();
});
