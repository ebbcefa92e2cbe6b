// The one doubling wait recording uses for the store, the outbox and refusal probes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from '../../src/recording/backoff.js';

test('each failure doubles the wait from first up to max; a success starts over; skip tries now and keeps the doubling', () => {
  const b = new Backoff(100, 350);
  const failAt = (now: number) => (b.fail(now), b.until - now);
  assert.equal(b.waiting(0), false);
  assert.equal(failAt(1_000), 100);
  assert.equal(b.waiting(1_099), true);
  assert.equal(b.waiting(1_100), false);
  assert.equal(failAt(2_000), 200);
  assert.equal(failAt(3_000), 350, 'capped at max');
  b.skip();
  assert.equal(b.until, 0);
  assert.equal(failAt(4_000), 350, 'skip kept the doubling');
  b.notAfter(4_010);
  assert.equal(b.until, 4_010);
  b.notAfter(9_000);
  assert.equal(b.until, 4_010, 'never later');
  b.succeed();
  assert.equal(b.until, 0);
  assert.equal(failAt(5_000), 100, 'a success started over');
});

test('with jitter, waits spread over ±20% of the doubling', () => {
  const waits = Array.from({ length: 200 }, () => {
    const b = new Backoff(1_000, 10_000, true);
    b.fail(0);
    return b.until;
  });
  assert.ok(Math.min(...waits) >= 800 && Math.max(...waits) <= 1_200);
  assert.ok(Math.max(...waits) - Math.min(...waits) > 200, 'spread');
});
