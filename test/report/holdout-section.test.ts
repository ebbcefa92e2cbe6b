// The holdout section of the report: the holdout's pseudo set is marked by its recorded
// definition (holdout: true), shown apart from the tests as general users against held-out
// users on every metric, and a set merely named like one is not taken for it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackSet, TracksError, buildReport, close, configure, convert, inHoldout, memoryStore, promoteTrackSet, rampTrackSet, readAnalysis, renderReport, resumeTrackSet, stopTrackSet } from '../../src/index.js';
import type { Report } from '../../src/index.js';
import { renderHoldoutSection } from '../../src/report/holdout-section.js';
import { checkBaselineSets } from '../../src/report/build-report.js';

class CheckoutTracks extends TrackSet {
  static override id = 'holdout-section-checkout';
  static fast_track() {}
}

class LookAlike extends TrackSet {
  // Two tracks named like a holdout's, but a sticky set: not a holdout.
  static override id = 'holdout-section-lookalike';
  static override addControlTrack = false;
  static override control = 'holdout';
  static override sticky = true;
  static holdout_track() {}
  static general_track() {}
}

test('the holdout is found by its definition, split from the tests and rendered per metric', async () => {
  const store = memoryStore();
  const holdout = { id: 'h-section', share: 0.2 };
  configure({
    store,
    outbox: false,
    holdout,
    metrics: { purchase: { kind: 'conversion' }, revenue: { kind: 'sum' }, refunds: { kind: 'conversion', guardrail: true, higherIsBetter: false } },
  });
  for (let i = 0; i < 4_000; i++) {
    const key = `user-${i}`;
    new CheckoutTracks({ key }).run();
    new LookAlike({ key }).run();
    // Everything shipped helps: general users buy twice as often as held-out ones.
    if (i % (inHoldout(key, holdout) ? 10 : 5) === 0) {
      convert({ key, metric: 'purchase' });
      convert({ key, metric: 'revenue', value: 20 });
    }
    if (i % 17 === 0) convert({ key, metric: 'refunds' });
  }
  await close();

  const { sums, metrics } = await readAnalysis(store);
  assert.equal(sums.find((s) => s.trackSetId === 'h-section')!.definition!.holdout, true, 'the definition is marked');
  const report: Report = buildReport(sums, { metrics });
  const holdouts = report.trackSets.filter((s) => s.holdout);
  assert.deepEqual(holdouts.map((s) => s.id), ['h-section']);
  assert.deepEqual(report.trackSets.filter((s) => !s.holdout).map((s) => s.id).sort(), ['holdout-section-checkout', 'holdout-section-lookalike']);
  const full = renderReport(report);
  assert.ok(full.indexOf('Holdouts: general users') > full.indexOf('holdout-section-checkout  ['), 'the section comes after the tests');
  assert.doesNotMatch(full, /^h-section {2}\[/m, 'the holdout is not rendered as a test');

  // --control names tests' baselines: on a holdout it is refused, not taken and then dropped from the text.
  assert.throws(() => checkBaselineSets(sums, new Map([['h-section', 'general']])), (e: unknown) => e instanceof TracksError && /--control 'h-section'='general': 'h-section' is a holdout, which always compares its held-out users with the general users/.test(e.message));

  const text = renderHoldoutSection(holdouts);
  const lines = text.split('\n');
  assert.equal(lines[0], 'Holdouts: general users (every test) against held-out users (every baseline), per metric');
  assert.match(text, /^h-section {2}4,000 users: [\d,]+ held out \(\d+\.\d\d%\), [\d,]+ general, sample ratio p = /m);
  const purchase = lines.find((l) => l.trimStart().startsWith('purchase'))!;
  assert.match(purchase, /^ {2}purchase\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\+\d+\.\d% \[\+\d+\.\d%, \+\d+\.\d%\] \* better/);
  assert.ok(lines.some((l) => l.trimStart().startsWith('revenue/user')));
  // The guardrail apart, after the goal metrics, its label whole (it was cut to 'refunds (guardrai…lower is better)').
  const apart = lines.indexOf('  Guardrail metrics (must not get worse):');
  assert.ok(apart > lines.indexOf(purchase), 'guardrails come after the goal metrics');
  assert.match(lines.slice(apart).find((l) => l.includes('refunds'))!, /^ {2}refunds \(lower is better\)\s/);
  assert.ok(!lines.slice(0, apart).some((l) => l.includes('refunds')), 'not among the goal metrics');
  assert.equal(renderHoldoutSection([]), '');
});

test('a holdout cannot be stopped, resumed, ramped or promoted: it would end its own conversion window', async () => {
  const store = memoryStore();
  configure({ store, outbox: false, holdout: { id: 'h-controls', share: 0.1 } });
  for (let i = 0; i < 50; i++) new CheckoutTracks({ key: `k${i}` }).run();
  await close();
  const acts = [() => stopTrackSet(store, 'h-controls'), () => resumeTrackSet(store, 'h-controls'), () => rampTrackSet(store, 'h-controls', { coverage: 0.5 }), () => promoteTrackSet(store, 'h-controls')];
  for (const act of acts) {
    await assert.rejects(act(), (e: unknown) => e instanceof TracksError && /'h-controls' is a holdout \(configure\(\{ holdout \}\)\), not a test: it cannot be stopped, resumed, ramped or promoted/.test(e.message));
  }
  assert.deepEqual(await store.readControls(), []);
});

test('the holdout section states each metric cap and what CUPED did, as a set does', async () => {
  const store = memoryStore();
  const holdout = { id: 'h-notes', share: 0.3 };
  configure({ store, outbox: false, holdout, metrics: { revenue: { kind: 'sum', cap: { value: 15 } } } });
  const at = Date.now();
  for (let i = 0; i < 2_000; i++) {
    const key = `user-${i}`;
    // History before the exposure (CUPED's covariate), correlated with what comes after.
    const spend = 5 + (i % 7);
    convert({ key, metric: 'revenue', value: spend, at: at - 3 * 86_400_000 });
    new CheckoutTracks({ key }).run();
    convert({ key, metric: 'revenue', value: spend + (i % 3) });
  }
  await close();
  const { sums, metrics } = await readAnalysis(store, { cuped: { windowDays: 14 } });
  const report = buildReport(sums, { metrics, cuped: { windowDays: 14 } });
  const text = renderHoldoutSection(report.trackSets.filter((s) => s.holdout));
  assert.match(text, /\n {2}revenue: capped: each user's total at most 15\.00\n/);
  assert.match(text, /\n {2}CUPED on general \(revenue\): variance -\d+\.\d%; unadjusted [+-]\d+\.\d% \[[+-]\d+\.\d%, [+-]\d+\.\d%\], p \S+/);
});

test('a holdout whose share was raised: --phase N says "phase N of 2 alone", and --all-phases adds each phase alone, as under a set', async () => {
  const store = memoryStore();
  const record = (share: number, from: number, to: number) => {
    configure({ store, outbox: false, holdout: { id: 'h-phases', share }, metrics: { purchase: { kind: 'conversion' } } });
    for (let i = from; i < to; i++) {
      const key = `phased-${i}`;
      new CheckoutTracks({ key }).run();
      if (i % 4 === 0) convert({ key, metric: 'purchase' });
    }
  };
  record(0.1, 0, 2_000);
  await close();
  // The share raised a moment later: a new phase of the holdout.
  await new Promise((resolve) => setTimeout(resolve, 5));
  record(0.2, 2_000, 3_000);
  await close();
  const { sums, metrics } = await readAnalysis(store);
  const section = (options: { phase?: number; allPhases?: boolean }) =>
    renderHoldoutSection(buildReport(sums, { metrics, ...options }).trackSets.filter((s) => s.holdout));
  const one = section({ phase: 1 });
  assert.match(one, /^h-phases {2}2,000 users: .* general, phase 1 of 2 alone/m);
  assert.doesNotMatch(one, /phases combined/);
  const all = section({ allPhases: true });
  assert.match(all, /^h-phases {2}3,000 users: .* general, 2 phases combined/m);
  assert.match(all, /\n {2}phase 1 alone \(\d{4}-\d\d-\d\d \d\d:\d\d, 2,000 users\)\n {2}metric +holdout +general/);
  assert.match(all, /\n {2}phase 2 alone \(\d{4}-\d\d-\d\d \d\d:\d\d, 1,000 users\)\n {2}metric +holdout +general/);
  // renderReport's times: false (output that compares equal across runs) reaches the holdout's headings.
  const timeless = renderReport(buildReport(sums, { metrics, allPhases: true }), { times: false });
  assert.match(timeless, /\n {2}phase 1 alone \(2,000 users\)\n/);
  assert.doesNotMatch(timeless, /phase \d alone \(\d{4}-/);
});
