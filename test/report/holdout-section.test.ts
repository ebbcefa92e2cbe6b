// The holdout section the report can show (src/report/holdout-section.ts): the holdout's pseudo
// set is recognised among the summarized sets by its recorded definition, split from the
// tests, and rendered as general users against held-out users on every metric.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackSet, buildReport, close, configure, convert, inHoldout, memoryStore, readAnalysis } from '../../src/index.js';
import { holdoutIdsOf, isHoldoutDefinition, renderHoldoutSection, splitHoldouts } from '../../src/report/holdout-section.js';

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
  configure({ store, outbox: false, holdout, metrics: { purchase: { kind: 'conversion' }, revenue: { kind: 'sum' } } });
  for (let i = 0; i < 4_000; i++) {
    const key = `user-${i}`;
    new CheckoutTracks({ key }).run();
    new LookAlike({ key }).run();
    // Everything shipped helps: general users buy twice as often as held-out ones.
    if (i % (inHoldout(key, holdout) ? 10 : 5) === 0) {
      convert({ key, metric: 'purchase' });
      convert({ key, metric: 'revenue', value: 20 });
    }
  }
  await close();

  const { sums, metrics } = await readAnalysis(store);
  assert.deepEqual([...holdoutIdsOf(sums)], ['h-section']);
  assert.equal(isHoldoutDefinition(sums.find((s) => s.trackSetId === 'holdout-section-lookalike')!.definition), false);
  assert.equal(isHoldoutDefinition(null), false);

  const report = buildReport(sums, { metrics });
  const { trackSets, holdouts } = splitHoldouts(report, holdoutIdsOf(sums));
  assert.deepEqual(holdouts.map((s) => s.id), ['h-section']);
  assert.deepEqual(trackSets.map((s) => s.id).sort(), ['holdout-section-checkout', 'holdout-section-lookalike']);

  const text = renderHoldoutSection(holdouts);
  const lines = text.split('\n');
  assert.equal(lines[0], 'Holdouts: general users (every test) against held-out users (every baseline), per metric');
  assert.match(text, /^h-section {2}4,000 users: [\d,]+ held out \(\d+\.\d\d%\), [\d,]+ general, sample ratio p = /m);
  const purchase = lines.find((l) => l.trimStart().startsWith('purchase'))!;
  assert.match(purchase, /^ {2}purchase\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\+\d+\.\d% \[\+\d+\.\d%, \+\d+\.\d%\] \* better/);
  assert.ok(lines.some((l) => l.trimStart().startsWith('revenue/user')));
  assert.equal(renderHoldoutSection([]), '');
});
