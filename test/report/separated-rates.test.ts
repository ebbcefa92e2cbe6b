// The report's edges found by an adversarial review of the 0%-against-100% comparison and the
// relative lift over |control|: a conversion at 0% and 100% is compared (two users a track at
// least, never adjusted with CUPED, its interval within [-1, 1]); a metric with a negative
// mean keeps the sign of its difference in the relative lift, P(better) and the verdict.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport, memoryStore, proportionTest, readAnalysis, renderReport } from '../../src/index.js';
import type { MetricDeclaration, RecordedEvent, Report } from '../../src/index.js';
import { seededRandom } from '../support/random.js';

const AT = Date.UTC(2026, 9, 1);
const DAY = 86_400_000;

interface User {
  readonly track: 'control' | 'fast';
  /** Values of the metric after exposure (a conversion is one value of 1). */
  readonly values: readonly number[];
  /** Values in the week before exposure (CUPED's history). */
  readonly history?: readonly number[];
}

async function reportOf(users: readonly User[], metric: MetricDeclaration, options: Parameters<typeof buildReport>[1] = {}): Promise<Report> {
  const events: RecordedEvent[] = [{ kind: 'definition', eventId: 'd', trackSetId: 'edges', weights: { control: 1, fast: 1 }, coverage: 1, control: 'control', phase: 'p1', at: AT }];
  users.forEach((user, i) => {
    const unit = `u${i}`;
    const at = AT + 3_600_000 + i;
    events.push({ kind: 'exposure', eventId: `x${i}`, trackSetId: 'edges', track: user.track, unit, at, phase: 'p1' });
    user.values.forEach((value, k) => events.push({ kind: 'conversion', eventId: `c${i}-${k}`, unit, metric: 'm', value, at: at + 60_000 }));
    user.history?.forEach((value, k) => events.push({ kind: 'conversion', eventId: `h${i}-${k}`, unit, metric: 'm', value, at: at - 7 * DAY }));
  });
  const store = memoryStore();
  await store.write(events);
  const { sums } = await readAnalysis(store);
  return buildReport(sums, { metrics: new Map([['m', metric]]), ...options });
}

const failures: MetricDeclaration = { kind: 'conversion', guardrail: true, higherIsBetter: false };
const users = (track: User['track'], n: number, converted: boolean, history?: number[]): User[] =>
  Array.from({ length: n }, () => ({ track, values: converted ? [1] : [], ...(history ? { history } : {}) }));
const fast = (report: Report) => report.trackSets[0]!.tracks.find((t) => t.name === 'fast')!.metrics.find((m) => m.metric === 'm')!;

test('a one-user track is no evidence of a rate: 1 of 1 against 0 of 40 stays "n/a", not significant', async () => {
  const m = fast(await reportOf([...users('control', 1, true), ...users('fast', 40, false)], failures));
  assert.equal(m.comparison, null);
  assert.match(m.cannotCompute ?? '', /fewer than 2 users|zero variance/);
});

test('0% against 100% with history is compared unadjusted, with no contradictory "CUPED not applied" line', async () => {
  const report = await reportOf([...users('control', 30, false, [1]), ...users('fast', 30, true, [1]), ...users('fast', 2, true)], failures);
  const c = fast(report).comparison!;
  assert.equal(c.absolute.estimate, 1);
  assert.equal(c.cuped, null);
  assert.equal(c.cupedNotApplied, null);
  assert.doesNotMatch(renderReport(report), /CUPED not applied/);
  // 100% to 0% has no relative interval, and says why in words that fit a computed comparison.
  const down = fast(await reportOf([...users('control', 30, true), ...users('fast', 30, false)], { kind: 'conversion' })).comparison!;
  assert.equal(down.relative, null);
  assert.match(down.relativeCannotCompute ?? '', /each track is at 0% or 100%/);
  assert.equal(down.verdict, 'worse');
});

test('a conversion interval never leaves [-1, 1]: sequential (always-valid) at 0% against 100%', async () => {
  const c = fast(await reportOf([...users('control', 28, false), ...users('fast', 32, true)], failures, { sequential: true })).comparison!;
  assert.ok(c.absolute.interval[0] >= -1 && c.absolute.interval[1] <= 1, `[${c.absolute.interval}]`);
  assert.equal(c.absolute.interval[1], 1);
});

test('one-sided, each track at 0% or 100%: the bound is the two-sided Newcombe interval at 2 alpha', () => {
  const control = { n: 28, sum: 0, sumSquares: 0 };
  const treatment = { n: 32, sum: 32, sumSquares: 32 };
  const greater = proportionTest(control, treatment, { alternative: 'greater', alpha: 0.05 });
  const less = proportionTest(control, treatment, { alternative: 'less', alpha: 0.05 });
  const twoSided = proportionTest(control, treatment, { alpha: 0.1 });
  assert.ok(greater.ok && less.ok && twoSided.ok);
  assert.equal(greater.confidenceInterval[0], twoSided.confidenceInterval[0]);
  assert.equal(less.confidenceInterval[1], twoSided.confidenceInterval[1]);
});

test('a sum with a negative mean (a net balance): the relative lift, P(better) and the verdict keep the sign of the difference, with CUPED and without', async () => {
  // Each user's balance is about -50 (history: the week before), 'fast' about 3 lower.
  const normal = seededRandom(5);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - normal())) * Math.cos(2 * Math.PI * normal());
  const people: User[] = [];
  for (let i = 0; i < 400; i++) {
    const track = i % 2 ? 'fast' : 'control';
    const x = -50 + 10 * gauss();
    const y = x + 5 * gauss() - (track === 'fast' ? 3 : 0);
    people.push({ track, values: [y], history: [x] });
  }
  for (const cuped of [undefined, false] as const) {
    const report = await reportOf(people, { kind: 'sum' }, cuped === false ? { cuped: false } : {});
    const c = fast(report).comparison!;
    assert.ok(c.absolute.estimate < 0, `difference ${c.absolute.estimate}`);
    assert.ok(c.relative!.estimate < 0, `relative ${c.relative!.estimate} has the difference's sign`);
    assert.ok(c.chanceToBeatControl! < 0.05, `P(better) ${c.chanceToBeatControl}`);
    assert.equal(c.verdict, 'worse');
    if (cuped === undefined) {
      assert.ok(c.cuped, 'adjusted with the history');
      assert.ok(c.cuped.unadjusted.relative!.estimate < 0, 'the unadjusted relative lift beside it agrees');
    }
  }
});
