import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TYPE_LABELS, chancePercent, liftText, signedPercent, table, wrap } from '../../src/report/text-table.js';
import { chancePercent as dashboardChancePercent } from '../../src/dashboard/client/dom.js';
import { signedMs as dashboardSignedMs, signedPercent as dashboardSignedPercent } from '../../src/dashboard/client/dom.js';
import { liftText as dashboardLiftText } from '../../src/dashboard/client/trackset.js';

test('signedPercent: a change that rounds to zero carries no sign, in the report and the dashboard', () => {
  for (const format of [signedPercent, dashboardSignedPercent]) {
    assert.equal(format(0), '0.0%');
    assert.equal(format(-0.0004), '0.0%');
    assert.equal(format(0.0004), '0.0%');
    assert.equal(format(0.0005 + 1e-12), '+0.1%');
    assert.equal(format(-0.0123), '-1.2%');
    assert.equal(format(0.5), '+50.0%');
  }
  assert.equal(signedPercent(Infinity), '+inf');
  assert.equal(dashboardSignedPercent(-Infinity), '−∞');
});

test('table: wider than 100 columns, columns go one space apart, then the names are clipped; numbers are never cut', () => {
  const header = ['track', 'users', 'purchase', 'lift (CI)', 'p', 'p adj', 'P(better)'];
  const row = (name: string) => [name, '2,619', '15.85%', '+28.5% [+11.9%, +45.1%] * better', '< 0.001', '0.0022', '100%'];
  const fits = table(header, [row('price_adjusted_by_-5')]);
  for (const line of fits.split('\n')) assert.ok(line.length <= 100, `${line.length}: ${line}`);
  assert.ok(fits.includes('price_adjusted_by_-5'), 'one space apart is enough here: the name is whole');
  const long = table(header, [row('a_track_name_far_longer_than_any_terminal_column_would_show_in_full_by_itself')]);
  for (const line of long.split('\n')) assert.ok(line.length <= 100, `${line.length}: ${line}`);
  assert.ok(long.includes('…') && long.includes('+28.5% [+11.9%, +45.1%] * better') && long.includes('0.0022'));
  // Clipped in the middle, and never so far that two names read the same (the table grows instead).
  for (const pair of [
    ['price_adjusted_by_minus_5_percent_of_the_list_price', 'price_adjusted_by_minus_10_percent_of_the_list_price'],
    ['a_long_prefix_shared_by_both_names_that_goes_on_and_on_x', 'a_long_prefix_shared_by_both_names_that_goes_on_and_on_y'],
  ]) {
    const two = table(header, pair.map(row));
    const names = two.split('\n').slice(2).map((line) => line.trim().split(' ')[0]);
    assert.equal(new Set(names).size, 2, names.join(' / '));
  }
  // A table that fits keeps two spaces between columns.
  assert.equal(table(['a', 'b'], [['x', '1']]), '  a  b\n  -  -\n  x  1');
});

test('liftText: a relative interval that crosses zero where the absolute one does not gives way to the absolute difference, marked Δ', () => {
  // The holdout a newcomer saw: 11.8% against 26.5% over 51 held-out users; the z-test is
  // significant, the delta method's relative interval is not.
  const absolute = { estimate: 0.147, interval: [0.048, 0.246] as [number, number] };
  const relative = { estimate: 1.253, interval: [-0.505, 3.01] as [number, number] };
  assert.equal(liftText(relative, absolute), 'Δ+0.147 [0.048, 0.246]');
  // Agreeing intervals keep the relative form; a metric with no relative lift is absolute, unmarked.
  assert.equal(liftText({ estimate: 0.2, interval: [0.05, 0.35] }, absolute), '+20.0% [+5.0%, +35.0%]');
  assert.equal(liftText(null, absolute), '0.147 [0.048, 0.246]');
  // The dashboard's cells follow the same rule.
  for (const rel of [relative, { estimate: 0.2, interval: [0.05, 0.35] as [number, number] }, null]) {
    assert.equal(dashboardLiftText(rel, absolute), liftText(rel, absolute));
  }
});

test('liftText: an absolute lift and its interval share one number of decimals, the one of the largest', () => {
  // A newcomer read `Δ+1.36 [0.0790, 2.64]` (three formats in one cell).
  const cases: [number, number, number, string][] = [
    [1.36, 0.079, 2.64, '1.36 [0.08, 2.64]'],
    [0.00123, 0.000456, 0.00201, '0.00123 [0.00046, 0.00201]'],
    [150.4, -20.25, 321.7, '150 [-20, 322]'],
    [0, 0, 0, '0.00 [0.00, 0.00]'],
    [2.5, -Infinity, Infinity, '2.50 [-inf, +inf]'],
    // A bound that would round to 0 keeps its digits: the interval excludes 0, and must say so.
    [1.36, 0.004, 2.716, '1.36 [0.00400, 2.72]'],
    [250, 0.4, 499.6, '250 [0.400, 500]'],
    [-1.2, -2.5, -0.003, '-1.20 [-2.50, -0.00300]'],
    // Tiny numbers keep number()'s form, not a row of zeros.
    [3e-9, 1e-9, 5e-9, '3.00e-9 [1.00e-9, 5.00e-9]'],
  ];
  for (const [estimate, low, high, text] of cases) {
    const absolute = { estimate, interval: [low, high] as [number, number] };
    assert.equal(liftText(null, absolute), text);
    assert.equal(dashboardLiftText(null, absolute), text.replace('-inf', '−∞').replace('+inf', '+∞'));
  }
});

test('table: no line ends with a space, even with an empty last column (a flag column)', () => {
  const text = table(['p95 vs control', 'change [CI]', 'p', ''], [['fast', 'both < 0.05 ms', '1.0', ''], ['slow', '+2% [-10%, +14%]', '0.7', '']]);
  for (const line of text.split('\n')) assert.equal(line, line.trimEnd(), JSON.stringify(line));
});

test('table: narrowing a table too wide for the page never widens a column', () => {
  const rows = [['a-track-with-a-name-long-enough-to-push-the-table-past-one-hundred-columns-wide', '12345', 'x'.repeat(100), '1']];
  const text = table(['track', 'pairs', 'detail', 'n'], rows);
  const rule = text.split('\n')[1]!.trim().split(/\s+/);
  assert.equal(rule[1]!.length, 5, "'pairs' stays 5 wide");
  assert.equal(rule[3]!.length, 1);
});

test('wrap keeps a comparison with both its sides on one line', () => {
  const status = `delay  [stopped, serving long]  4,985 users, baseline control, 12 phases combined, sample ratio p = 0.62`;
  const lines = wrap(status, 100);
  assert.ok(lines.every((l) => l.length <= 100));
  assert.equal(lines.at(-1), 'p = 0.62');
  assert.deepEqual(wrap('a b p < 0.001 c', 10), ['a b', 'p < 0.001', 'c']);
  assert.deepEqual(wrap('x =', 10), ['x ='], 'a sign at the end stays a word');
});

test("TYPE_LABELS: a mean metric already named as an average is not labelled 'avg avg'", () => {
  assert.equal(TYPE_LABELS.mean('basket'), 'avg basket');
  assert.equal(TYPE_LABELS.mean('avg'), 'avg');
  assert.equal(TYPE_LABELS.mean('avg_basket'), 'avg_basket');
  assert.equal(TYPE_LABELS.mean('mean_latency_ms'), 'mean_latency_ms');
  assert.equal(TYPE_LABELS.mean('basket_avg'), 'basket_avg');
  assert.equal(TYPE_LABELS.mean('meanwhile'), 'avg meanwhile');
  assert.equal(TYPE_LABELS.mean('ravg'), 'avg ravg');
});

test('chancePercent: a chance is never rounded to a certainty, in the text report and the dashboard alike', () => {
  const cases: [number, string][] = [[0.9974, '> 99%'], [0.995, '> 99%'], [0.994, '99%'], [0.5, '50%'], [0.006, '1%'], [0.0049, '< 1%'], [0, '< 1%'], [1, '> 99%']];
  for (const [x, text] of cases) {
    assert.equal(chancePercent(x), text, String(x));
    assert.equal(dashboardChancePercent(x), text, `dashboard ${x}`);
  }
});

test('the dashboard prints an interval end open at 0 (the smallest double) as "> 0", as the text report does', () => {
  assert.equal(dashboardSignedMs(Number.MIN_VALUE), '> 0');
  assert.equal(dashboardSignedMs(-Number.MIN_VALUE), '< 0');
  assert.equal(dashboardSignedMs(0.015), '+0.015 ms');
});

test('coveragePercent: a coverage to 3 digits, never 0% above 0, in the report and the dashboard alike', async () => {
  const { coveragePercent } = await import('../../src/report/text-table.js');
  const { coveragePercent: dashboardCoveragePercent } = await import('../../src/dashboard/client/dom.js');
  for (const [x, text] of [[1, '100%'], [0.5, '50%'], [0.12345, '12.3%'], [0.0004, '0.04%'], [0, '0%'], [0.1 + 0.2, '30%']] as const) {
    assert.equal(coveragePercent(x), text);
    assert.equal(dashboardCoveragePercent(x), text);
  }
});

test('table: names that must stay apart take their room from a header longer than its values (a long metric name), and the table still fits 100 columns', () => {
  const header = ['track', 'users', `metric_${'z'.repeat(25)}`, 'lift (CI)', 'p', 'p adj', 'P(better)'];
  const rows = [1, 2, 3].map((n) => [`variant_${n}_yyyyyyyyyyyy`, '222', '35.14%', '+7.2% [-20.2%, +34.6%]', '0.59', '1.0', '70%']);
  const lines = table(header, rows).split('\n');
  for (const line of lines) assert.ok(line.length <= 100, `${line.length}: ${line}`);
  const names = lines.slice(2).map((line) => line.trim().split(' ')[0]);
  assert.equal(new Set(names).size, 3, names.join(' / '));
  assert.ok(lines.every((line, i) => i < 2 || line.includes('+7.2% [-20.2%, +34.6%]') || line.includes('[')), 'numbers whole');
});

test('clip and a clipped name never cut an emoji in half (a lone surrogate prints as a replacement character)', async () => {
  const { clip } = await import('../../src/report/text-table.js');
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  const name = '🥥'.repeat(30);
  for (let width = 2; width < name.length; width++) assert.doesNotMatch(clip(name, width), lone, `clip at ${width}`);
  for (const pad of ['', 'a', 'ab']) {
    const header = ['track', 'users', 'conversion', 'lift (CI)', 'p', 'p adj', 'P(better)', `metric_${'z'.repeat(30)}`];
    const rows = [`${pad}${'🥥'.repeat(40)}`, `${pad}${'🍍'.repeat(40)}`].map((n) => [n, '222', '35.14%', '+7.2% [-20.2%, +34.6%]', '0.59', '1.0', '70%', '1']);
    const text = table(header, rows);
    assert.doesNotMatch(text, lone, text);
    assert.match(text, /…/, 'the names were clipped');
  }
});
