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
  assert.match(text, /long +1,000 +6\.00% +-40\.0% \[.*\] \*/, 'long: rate, relative lift, significance mark');
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
