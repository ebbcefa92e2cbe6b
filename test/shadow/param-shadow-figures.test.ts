// Issue 13: exact shadow figures in `tracks report --json` (Wilson
// intervals against scipy), a ParamTrackSet in shadow with a declared baseline, ineligible
// users and a coverage below 1, the ignore/clean hooks; then a promotion and a ramp by the
// programmatic API, and the report keeps the shadow beside the live phases.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ParamTrackSet, close, configure, flush, promoteTrackSet, rampTrackSet, sqliteStore } from '../../src/index.js';
import type { ShadowOptions } from '../../src/index.js';
import { runCli } from '../../src/cli/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'g10-shadow-fig-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

async function report(store: string): Promise<any> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['report', '--store', store, '--json', '--trackset', 'g10-price-shadow'], { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {} });
  assert.equal(code, 0, err.join('\n'));
  return JSON.parse(out.join('\n')).trackSets[0];
}

class Price extends ParamTrackSet<{ vip: boolean }> {
  static override id = 'g10-price-shadow';
  static override params = [0, 1, 2];
  static override addControlTrack = false;
  static override control = 'price_0';
  static override shadow: ShadowOptions<{ price: number; note: string }> = {
    sample: 1,
    timeout: 1000,
    compare: (a, b) => a.price === b.price,
    // price_2 differs on every input ending in 7, and that difference is accepted
    ignore: (a, b) => b.price - a.price === 2,
    clean: (v) => ({ price: v.price }),
  };
  static override trackName(delta: number) {
    return `price_${delta}`;
  }
  static override track(delta: number, input: number) {
    const differs = delta === 1 ? input % 100 < 3 : delta === 2 ? input % 10 === 7 : false;
    return { price: input + (differs ? delta : 0), note: `secret-${input}` };
  }
  override get isEligible() {
    return !this.context.vip;
  }
}

test('SQLite: a shadow ParamTrackSet measures 3% exactly, Wilson interval as scipy; ignore and clean honoured; promote then ramp keeps the shadow', async () => {
  const store = join(dir, 'shadow.db');
  configure({ store, outbox: false, flushInterval: 20 });
  for (let i = 0; i < 1200; i++) {
    const run = new Price({ key: `u${i}`, context: { vip: false } });
    const result = run.run(i) as { price: number };
    assert.equal(result.price, i, 'the caller always gets the baseline');
    assert.equal(run.name, 'price_0');
    assert.equal(run.reason, 'shadow');
  }
  // ineligible users run no candidate, and get the baseline
  for (let i = 0; i < 100; i++) {
    const run = new Price({ key: `vip${i}`, context: { vip: true } });
    assert.equal((run.run(5_000 + i) as { price: number }).price, 5_000 + i);
    assert.equal(run.reason, 'ineligible');
  }
  await flush();
  await close();

  const set = await report(store);
  assert.equal(set.shadow.mode, 'shadow');
  assert.equal(set.shadow.baseline, 'price_0');
  const one = set.shadow.candidates.find((c: any) => c.track === 'price_1');
  const two = set.shadow.candidates.find((c: any) => c.track === 'price_2');
  assert.equal(one.runs, 1200);
  assert.equal(one.mismatches, 36);
  assert.equal(one.matches, 1164);
  assert.equal(one.ignored, 0);
  assert.equal(one.errors + one.timeouts, 0);
  assert.deepEqual(one.skipped, { concurrency: 0, guardrail: 0 });
  assert.equal(one.mismatchRate.count, 36);
  assert.equal(one.mismatchRate.of, 1200);
  assert.equal(one.mismatchRate.estimate, 0.03);
  // scipy.stats.binomtest(36, 1200).proportion_ci(method='wilson')
  assert.ok(Math.abs(one.mismatchRate.interval[0] - 0.021747466532775372) < 1e-12, String(one.mismatchRate.interval));
  assert.ok(Math.abs(one.mismatchRate.interval[1] - 0.041252074033795466) < 1e-12);
  const seq = one.mismatchRate.sequentialInterval;
  assert.ok(seq[0] <= one.mismatchRate.interval[0] && seq[1] >= one.mismatchRate.interval[1], 'the always-valid interval is wider');
  assert.equal(two.ignored, 120);
  assert.equal(two.mismatches, 0);
  // binomtest(0, 1200) wilson: [0, 0.0031910006027349243]
  assert.equal(two.mismatchRate.estimate, 0);
  assert.ok(Math.abs(two.mismatchRate.interval[1] - 0.0031910006027349243) < 1e-12);
  assert.equal(one.latency.pairs, 1200);
  assert.deepEqual(one.latency.difference.map((d: any) => d.q), [0.5, 0.95]);
  // samples: cleaned (no note), only of price_1, at most 5 per minute by default
  assert.ok(set.shadow.samples.length >= 1 && set.shadow.samples.length <= 20);
  for (const s of set.shadow.samples) {
    assert.equal(s.track, 'price_1');
    assert.doesNotMatch(s.baseline + s.candidate, /secret/);
  }
  assert.equal(set.users, 0, 'shadow mode exposes no one');

  // promote, then ramp the live test to one candidate dropped
  const s = sqliteStore(store);
  try {
    assert.equal((await promoteTrackSet(s, 'g10-price-shadow')).changed, true);
    assert.equal((await rampTrackSet(s, 'g10-price-shadow', { weights: { price_2: 0 } })).changed, true);
  } finally {
    await s.close();
  }
  const recorder = configure({ store, outbox: false, flushInterval: 20 })!;
  await recorder.refreshControls();
  const names = new Map<string, number>();
  for (let i = 0; i < 900; i++) {
    const run = new Price({ key: `w${i}`, context: { vip: false } });
    run.run(i);
    assert.equal(run.reason, 'assigned');
    names.set(run.name, (names.get(run.name) ?? 0) + 1);
  }
  assert.deepEqual([...names.keys()].sort(), ['price_0', 'price_1'], 'price_2 ramped to 0 gets no one');
  await flush();
  await close();
  const live = await report(store);
  assert.equal(live.shadow.mode, 'promoted');
  assert.equal(live.shadow.candidates.find((c: any) => c.track === 'price_1').mismatches, 36, 'the shadow findings are kept');
  assert.equal(live.users, 900);
  const lastPhase = live.phases.at(-1);
  assert.deepEqual(lastPhase.configuration.weights, { price_0: 1, price_1: 1, price_2: 0 });
  assert.equal(lastPhase.users, 900);
  assert.equal(lastPhase.srm.mismatch, false);
});
