// Issue 10: exact figures of a phase-aware report after a live ramp, a stop
// and a resume, made through the CLI against real SQLite and PostgreSQL; expected values computed
// by hand (scipy for the reference figures, written below).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TrackSet, close, configure, convert, flush, normalSf, studentTSf } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'g10-phases-'));
// PostgreSQL parts run when TRACKS_TEST_POSTGRES_URL is set (README, Development).
const PG = postgresUrl ?? '';
/** Schemas of this file's own, dropped when it ends (test/support/postgres.ts). */
const schemaFor = schemasFor('phasefig');
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

class Checkout extends TrackSet {
  static override id = 'g10-checkout';
  static override addControlTrack = false;
  static override control = 'short';
  static short_track() {
    return 's';
  }
  static long_track() {
    return 'l';
  }
}

// deterministic pseudo-random in [0, 1)
function rnd(i: number, salt: number): number {
  let x = (i * 2654435761 + salt * 40503) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 2246822519) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 3266489917) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 2 ** 32;
}

type Cell = { n: number; x: number };

// normalSf is checked against scipy in test/stats; its figures here were also checked by hand with scipy.stats.norm.sf
for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  test(`${kind}: ramp, stop, resume via the CLI give the documented phases and the post-stratified figures`, { skip: kind === 'PostgreSQL' && postgresUrl === undefined && POSTGRES_SKIP }, async () => {
    let spec: string;
    let options: Parameters<typeof configure>[0];
    if (kind === 'SQLite') {
      spec = join(dir, 'phases.db');
      options = { store: spec };
    } else {
      const schema = schemaFor('phases');
      spec = `${PG}?schema=${schema}`;
      options = { store: spec };
    }
    const base = { ...options, outbox: false as const, flushInterval: 20, controlInterval: 60_000, metrics: { purchase: { kind: 'conversion' as const } } };
    const cells: Record<number, Record<string, Cell>> = { 1: { short: { n: 0, x: 0 }, long: { n: 0, x: 0 } }, 2: { short: { n: 0, x: 0 }, long: { n: 0, x: 0 } } };
    const firstTrack = new Map<string, string>();

    // phase 1: weights 1:1, conversion 10% on short, 10% on long (drift below)
    let recorder = configure(base)!;
    await recorder.ready();
    for (let i = 0; i < 2000; i++) {
      const key = `a${i}`;
      const run = new Checkout({ key });
      run.run();
      firstTrack.set(key, run.name);
      cells[1]![run.name]!.n++;
      if (rnd(i, 1) < (run.name === 'long' ? 0.12 : 0.1)) {
        convert({ key, metric: 'purchase' });
        cells[1]![run.name]!.x++;
      }
    }
    await flush();
    await close();

    // a live change of weights, by the CLI: long gets 3 parts, short keeps 1
    const ramp = await cli('ramp', 'g10-checkout', '--weights', 'long=3', '--store', spec);
    assert.equal(ramp.code, 0, ramp.err);

    recorder = configure(base)!;
    await recorder.ready();
    await recorder.refreshControls();
    let moved = 0;
    for (let i = 0; i < 2000; i++) {
      // phase-1 users come back: they are not new users, and their conversions after the change do not count
      const key = `a${i}`;
      const run = new Checkout({ key });
      run.run();
      if (run.name !== firstTrack.get(key)) moved++;
      convert({ key, metric: 'purchase' });
    }
    assert.ok(moved > 0, 'the ramp moved some short users to long');
    assert.ok(
      [...firstTrack].every(([key, name]) => name === 'long' ? new Checkout({ key }).name === 'long' : true),
      'no long user moved to short when long gained weight',
    );
    for (let i = 0; i < 4000; i++) {
      const key = `b${i}`;
      const run = new Checkout({ key });
      run.run();
      cells[2]![run.name]!.n++;
      if (rnd(i, 2) < (run.name === 'long' ? 0.24 : 0.2)) {
        convert({ key, metric: 'purchase' });
        cells[2]![run.name]!.x++;
      }
    }
    await flush();
    await close();

    const report = await cli('report', '--store', spec, '--json', '--trackset', 'g10-checkout');
    assert.equal(report.code, 0, report.err);
    const set = JSON.parse(report.out).trackSets[0];
    assert.equal(set.baseline, 'short');
    assert.equal(set.phases.length, 2);
    assert.deepEqual(set.analysedPhases, [1, 2]);
    const [p1, p2] = set.phases;
    assert.equal(p1.index, 1);
    assert.equal(p2.index, 2);
    assert.deepEqual(p1.configuration.weights, { short: 1, long: 1 });
    assert.deepEqual(p2.configuration.weights, { short: 1, long: 3 });
    assert.equal(p1.configuration.baseline, 'short');
    assert.equal(p1.users, 2000);
    assert.equal(p2.users, 4000);
    assert.equal(p1.endedAt, p2.startedAt);
    assert.equal(p2.endedAt, null);
    assert.equal(p1.stopped, false);
    const shares = (p: any) => Object.fromEntries(p.tracks.map((t: any) => [t.name, [t.users, t.expectedShare]]));
    assert.deepEqual(shares(p1), { short: [cells[1]!.short!.n, 0.5], long: [cells[1]!.long!.n, 0.5] });
    assert.deepEqual(shares(p2), { short: [cells[2]!.short!.n, 0.25], long: [cells[2]!.long!.n, 0.75] });

    // per-phase SRM: chi-square, 1 df, against the phase's weights
    for (const [p, w] of [[p1, [0.5, 0.5]], [p2, [0.25, 0.75]]] as const) {
      const n = p.users;
      const o = [p.tracks[0].users, p.tracks[1].users];
      const chi = o.reduce((s: number, oi: number, i: number) => s + (oi - n * w[i]!) ** 2 / (n * w[i]!), 0);
      // chi2(1).sf(chi) = 2 * normal sf(sqrt(chi))
      const expected = 2 * normalSf(Math.sqrt(chi));
      assert.ok(Math.abs(p.srm.pValue - expected) < 1e-6, `phase ${p.index} srm ${p.srm.pValue} vs ${expected}`);
    }

    // the post-stratified difference (Imbens & Rubin ch. 9), weights N_p / N
    const N = 6000;
    let diff = 0;
    let variance = 0;
    let mc = 0;
    let mt = 0;
    let dfDen = 0;
    for (const p of [1, 2]) {
      const c = cells[p]!.short!;
      const t = cells[p]!.long!;
      const w = (c.n + t.n) / N;
      const pc = c.x / c.n;
      const pt = t.x / t.n;
      mc += w * pc;
      mt += w * pt;
      diff += w * (pt - pc);
      const ac = w * w * (pc * (1 - pc) / c.n);
      const at = w * w * (pt * (1 - pt) / t.n);
      variance += ac + at;
      dfDen += (ac * ac) / (c.n - 1) + (at * at) / (t.n - 1);
    }
    const df = (variance * variance) / dfDen;
    const long = set.tracks.find((t: any) => t.name === 'long');
    const short = set.tracks.find((t: any) => t.name === 'short');
    const purchase = long.metrics.find((m: any) => m.metric === 'purchase');
    const shortPurchase = short.metrics.find((m: any) => m.metric === 'purchase');
    assert.equal(purchase.type, 'conversion');
    assert.equal(purchase.declared, true);
    // users credited: only conversions within their phase (the returning users' later conversions are not)
    assert.equal(purchase.conversions, cells[1]!.long!.x + cells[2]!.long!.x);
    assert.equal(shortPurchase.conversions, cells[1]!.short!.x + cells[2]!.short!.x);
    assert.equal(long.users, cells[1]!.long!.n + cells[2]!.long!.n);
    const cmp = purchase.comparison;
    assert.equal(cmp.phases, 2);
    assert.ok(Math.abs(cmp.absolute.estimate - diff) < 1e-12, `${cmp.absolute.estimate} vs ${diff}`);
    assert.ok(Math.abs(cmp.absolute.standardError - Math.sqrt(variance)) < 1e-9, `${cmp.absolute.standardError} vs ${Math.sqrt(variance)}`);
    assert.ok(Math.abs(cmp.relative.estimate - (mt - mc) / mc) < 1e-12, `${cmp.relative.estimate} vs ${(mt - mc) / mc}`);
    const z = diff / Math.sqrt(variance);
    // a Wald test with Welch-Satterthwaite degrees of freedom over every cell (docs/statistics.md)
    const expectedP = 2 * studentTSf(Math.abs(z), df);
    assert.ok(Math.abs(cmp.pValue - expectedP) < 1e-9, `p ${cmp.pValue} vs ${expectedP} (z=${z}, df=${df})`);
    // the same figures from scipy (stats.t.sf, stats.t.ppf, stats.chisquare) on these deterministic cells
    assert.deepEqual(cells, { 1: { short: { n: 1042, x: 102 }, long: { n: 958, x: 116 } }, 2: { short: { n: 991, x: 193 }, long: { n: 3009, x: 730 } } });
    assert.ok(Math.abs(cmp.pValue - 0.0002892334335861229) < 1e-12);
    assert.ok(Math.abs(cmp.absolute.interval[0] - 0.018222551139886314) < 1e-9);
    assert.ok(Math.abs(cmp.absolute.interval[1] - 0.06104571751490309) < 1e-9);
    assert.ok(Math.abs(p1.srm.pValue - 0.06034053291564677) < 1e-9);
    assert.ok(Math.abs(p2.srm.pValue - 0.7424326978058251) < 1e-9);
    // a naive pooling of the two phases: what it would say (for the log)
    console.log(JSON.stringify({ kind, cells, df, diff, se: Math.sqrt(variance), p: cmp.pValue, expectedP, interval: cmp.absolute.interval }));

    // --phase 2 alone: a plain two-proportion comparison of phase 2's users
    const only = await cli('report', '--store', spec, '--json', '--trackset', 'g10-checkout', '--phase', '2');
    assert.equal(only.code, 0, only.err);
    const set2 = JSON.parse(only.out).trackSets[0];
    assert.deepEqual(set2.analysedPhases, [2]);
    const l2 = set2.tracks.find((t: any) => t.name === 'long');
    assert.equal(l2.users, cells[2]!.long!.n);
    const c2 = l2.metrics.find((m: any) => m.metric === 'purchase').comparison;
    const pc2 = cells[2]!.short!.x / cells[2]!.short!.n;
    const pt2 = cells[2]!.long!.x / cells[2]!.long!.n;
    assert.ok(Math.abs(c2.absolute.estimate - (pt2 - pc2)) < 1e-12);
    assert.equal(c2.phases, 1);
    const bad = await cli('report', '--store', spec, '--json', '--trackset', 'g10-checkout', '--phase', '3');
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.err, /phase/);
    const all = await cli('report', '--store', spec, '--json', '--trackset', 'g10-checkout', '--all-phases');
    const setAll = JSON.parse(all.out).trackSets[0];
    assert.equal(setAll.phases[1].results.find((t: any) => t.name === 'long').users, cells[2]!.long!.n);

    // stop (no --serve: the declared baseline), a ramp while stopped, then resume
    const stop = await cli('stop', 'g10-checkout', '--store', spec);
    assert.equal(stop.code, 0, stop.err);
    const rampStopped = await cli('ramp', 'g10-checkout', '--coverage', '0.5', '--store', spec);
    assert.equal(rampStopped.code, 0, rampStopped.err);
    recorder = configure(base)!;
    await recorder.ready();
    await recorder.refreshControls();
    const whileStopped = Array.from({ length: 50 }, (_, i) => new Checkout({ key: `c${i}` }));
    assert.deepEqual(new Set(whileStopped.map((r) => `${r.name}/${r.reason}`)), new Set(['short/stopped']), 'a ramp does not resume a stopped set');
    await close();
    const resume = await cli('resume', 'g10-checkout', '--store', spec);
    assert.equal(resume.code, 0, resume.err);
    recorder = configure(base)!;
    await recorder.ready();
    await recorder.refreshControls();
    const resumed = Array.from({ length: 2000 }, (_, i) => new Checkout({ key: `d${i}` }));
    const reasons = new Map<string, number>();
    for (const r of resumed) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    assert.ok((reasons.get('not covered') ?? 0) > 800 && (reasons.get('not covered') ?? 0) < 1200, `coverage 0.5 after resume: ${[...reasons]}`);
    for (const r of resumed) r.run();
    await flush();
    await close();
    const after3 = JSON.parse((await cli('report', '--store', spec, '--json', '--trackset', 'g10-checkout')).out).trackSets[0];
    const last = after3.phases.at(-1);
    assert.equal(last.stopped, false);
    assert.deepEqual(last.configuration.weights, { short: 1, long: 3 }, 'the ramp of weights survives stop/resume');
    assert.equal(last.configuration.coverage, 0.5);
    assert.ok(after3.phases.some((p: any) => p.stopped), JSON.stringify(after3.phases.map((p: any) => [p.index, p.stopped, p.configuration])));
    assert.equal(after3.status, 'running');
  });
}
