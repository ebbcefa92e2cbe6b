import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport, memoryStore, renderReport } from '../../src/index.js';
import { DAY, writeFixedData } from './fixed-data.js';

test('the human report is an aligned table that fits 100 columns', async () => {
  const store = memoryStore();
  await writeFixedData(store);
  const text = renderReport(buildReport(await store.summarize(), { now: new Date(DAY) }));
  const lines = text.split('\n');
  for (const line of lines) assert.ok(line.length <= 100, `too wide (${line.length}): ${line}`);
  assert.match(text, /^delay {2}\[running\] {2}3,000 users, baseline control/m);
  assert.match(text, /long +1,000 +60 +6\.00% +-40\.0% \[.*\] \*/, 'long: users, converted, rate, relative lift, significance mark');
  assert.match(text, /track +users +converted +purchase/, 'a table that fits shows how many users converted');
  assert.match(text, /revenue\/user/, 'a continuous metric is shown as a mean per user');
  assert.match(text, /! still running/);
  // Columns line up: every row of a table starts its numbers at the same place.
  const header = lines.find((l) => l.trimStart().startsWith('track') && l.includes('purchase'))!;
  const usersEnd = header.indexOf('users') + 'users'.length;
  for (const row of lines.filter((l) => /^ {2}(control|short|long) /.test(l)).slice(0, 3)) {
    assert.equal(row.slice(0, usersEnd).trimEnd().length, usersEnd, `aligned: ${row}`);
  }
});

test('an empty store says so', async () => {
  assert.match(renderReport(buildReport([], { store: 'sqlite:x.db' })), /No track set has recorded exposures in sqlite:x.db/);
});

test('a comparison that cannot be computed has its reason in full under the table, where the cell clips it', async () => {
  const store = memoryStore();
  const at = DAY;
  await store.write([
    { kind: 'definition', eventId: 'd', trackSetId: 'flat', weights: { control: 1, b: 1 }, coverage: 1, control: 'control', phase: 'p', sticky: false, stopped: false, at },
    ...Array.from({ length: 40 }, (_, i) => [
      { kind: 'exposure' as const, eventId: `e${i}`, trackSetId: 'flat', track: i % 2 ? 'b' : 'control', unit: `u${i}`, at: at + i, phase: 'p' },
      { kind: 'conversion' as const, eventId: `c${i}`, unit: `u${i}`, metric: 'revenue', value: 5, at: at + 1000 + i },
    ]).flat(),
  ]);
  const text = renderReport(buildReport(await store.summarize(), { now: new Date(DAY + 86_400_000) }));
  assert.match(text, /b +20 +20 +5\.00 +n\/a: both tracks have zero va…/, 'the cell is clipped');
  assert.match(text, /^ {2}n\/a \(b\): both tracks have zero variance$/m, 'the reason in full, with its track');
});

test('long track names that differ only at the end stay apart in every table, within 100 columns', async () => {
  const store = memoryStore();
  const names = ['control', 'semantic_reranking_with_embedding_cache_variant_one', 'semantic_reranking_with_embedding_cache_variant_two'];
  await store.write([
    { kind: 'definition', eventId: 'd', trackSetId: 'long', weights: Object.fromEntries(names.map((n) => [n, 1])), coverage: 1, control: 'control', phase: 'p', sticky: false, stopped: false, at: DAY },
    ...Array.from({ length: 300 }, (_, i) => [
      { kind: 'exposure' as const, eventId: `e${i}`, trackSetId: 'long', track: names[i % 3]!, unit: `u${i}`, at: DAY + i, phase: 'p' },
      { kind: 'conversion' as const, eventId: `c${i}`, unit: `u${i}`, metric: 'checkout_completed_within_first_session', value: 1, at: DAY + 1000 + i },
      { kind: 'conversion' as const, eventId: `r${i}`, unit: `u${i}`, metric: 'revenue', value: 1 + (i % 7), at: DAY + 1000 + i },
    ]).flat(),
    ...names.map((track, i) => ({ kind: 'health' as const, eventId: `h${i}`, trackSetId: 'long', track, minute: DAY / 60_000, runs: 100, errors: 0, totalMs: 5, histogram: [0, 0, 0, 100] })),
  ]);
  const text = renderReport(buildReport(await store.summarize(), { now: new Date(DAY + 86_400_000) }));
  for (const line of text.split('\n')) assert.ok(line.length <= 100, `too wide (${line.length}): ${line}`);
  // In each table, the two rows of the long tracks start differently.
  const rows = text.split('\n').filter((l) => l.startsWith('  semantic'));
  assert.ok(rows.length >= 6, `the long tracks appear in each table (${rows.length} rows)`);
  for (let i = 0; i + 1 < rows.length; i += 2) {
    const [one, two] = [rows[i]!.trim().split(' ')[0], rows[i + 1]!.trim().split(' ')[0]];
    assert.notEqual(one, two, `rows read the same: ${one}`);
  }
});
