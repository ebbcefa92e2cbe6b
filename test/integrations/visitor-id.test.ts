// The anonymous visitor's id: a UUID version 7 whose ids sort in the order they were made, in
// a tight loop (many in one millisecond) and across milliseconds, with the time it was made.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { visitorId } from '../../src/integrations/visitor-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string) => parseInt(id.replace('-', '').slice(0, 12), 16);

test('ids made one after another are UUIDs version 7, all distinct, each sorting after the one before', () => {
  const ids = Array.from({ length: 20_000 }, () => visitorId());
  for (const id of ids) assert.match(id, V7);
  assert.equal(new Set(ids).size, ids.length);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} then ${ids[i]}`);
});

test('the first 48 bits are the time in milliseconds; 5,000 ids in one millisecond keep their order by borrowing the next', () => {
  const at = Date.UTC(2031, 4, 6, 7, 8, 9, 123);
  mock.method(Date, 'now', () => at);
  let ids: string[];
  try {
    ids = Array.from({ length: 5_000 }, () => visitorId());
    assert.equal(timeOf(ids[0]!), at);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!);
    // The counter holds 4,096 ids a millisecond at most, starting below 2,048: 5,000 need a second or third.
    assert.ok(timeOf(ids.at(-1)!) > at && timeOf(ids.at(-1)!) <= at + 2);
  } finally {
    mock.restoreAll();
  }
  // The clock back in 2026 (a step back, as after an NTP correction): ids still sort after.
  assert.ok(visitorId() > ids.at(-1)!);
});
