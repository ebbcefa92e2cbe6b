// A newcomer's audit: converting between `new` and the run's first use, every user's conversion
// came just before their exposure and counted as history; the report flagged a track "worse"
// (p = 0.019) although every user converted, and nothing said why. Recording now warns, once per
// process, when conversions keep being recorded between a run's new and its first use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackSet, close, configure, convert, flush, memoryStore } from '../../src/index.js';
import type { ConversionEvent, ExposureEvent } from '../../src/index.js';
import { ConversionOrder } from '../../src/recording/conversion-order.js';
import { conversionCameAfter } from '../../src/core/conversion-sequence.js';
import { sleep } from '../support/pace.js';

class OrderTracks extends TrackSet {
  static override id = 'conversion-order';
  static a_track() {}
  static b_track() {}
}

function warnings(): { list: Error[]; stop: () => void } {
  const list: Error[] = [];
  const listener = (warning: Error) => {
    if ((warning as Error & { code?: string }).code === 'TRACKS_CONVERTED_BEFORE_EXPOSURE') list.push(warning);
  };
  process.on('warning', listener);
  return { list, stop: () => process.off('warning', listener) };
}

class RecsTracks extends TrackSet {
  static override id = 'conversion-order-recs';
  static a_track() {}
  static b_track() {}
}

// First in this file: the warning is said once per process.
test('conversions recorded between new and the first use of the run: one warning, naming the metric, the set and what to do; none for the right order or another test met after converting', async () => {
  const seen = warnings();
  configure({ store: memoryStore(), outbox: false, handleSignals: false });
  try {
    // Read first, then converted: the right order.
    for (let i = 0; i < 30; i++) {
      new OrderTracks({ key: `right-${i}` }).run();
      convert({ key: `right-${i}`, metric: 'purchase' });
    }
    // Bought in one test, then met another on the thank-you page at once: that run was made after the purchase.
    for (let i = 0; i < 30; i++) {
      new OrderTracks({ key: `thanks-${i}` }).run();
      convert({ key: `thanks-${i}`, metric: 'purchase' });
      new RecsTracks({ key: `thanks-${i}` }).run();
    }
    // A run made at login and kept, read first on the thank-you page a while after the purchase.
    const kept = Array.from({ length: 30 }, (_, i) => new OrderTracks({ key: `session-${i}` }));
    for (let i = 0; i < 30; i++) convert({ key: `session-${i}`, metric: 'purchase', at: Date.now() - 5_000 });
    for (const run of kept) run.run();
    await sleep(5);
    assert.equal(seen.list.length, 0, seen.list.map((w) => w.message).join('\n'));
    // The newcomer's order.
    for (let i = 0; i < 30; i++) {
      const track = new OrderTracks({ key: `wrong-${i}` });
      convert({ key: `wrong-${i}`, metric: 'purchase' });
      await sleep(1);
      track.run();
    }
    await flush();
    await sleep(5);
    assert.equal(seen.list.length, 1, seen.list.map((w) => w.message).join('\n'));
    assert.match(seen.list[0]!.message, /10 conversions in this process were recorded between a run's new and its first use, moments before it \(the latest: 'purchase', \d+ ms before the exposure to 'conversion-order'\)/);
    assert.match(seen.list[0]!.message, /read the track first/);
    // Once per process, whatever comes after, even after configure() again.
    await close();
    configure({ store: memoryStore(), outbox: false, handleSignals: false });
    for (let i = 0; i < 30; i++) {
      const track = new OrderTracks({ key: `again-${i}` });
      convert({ key: `again-${i}`, metric: 'purchase' });
      track.run();
    }
    await sleep(5);
    assert.equal(seen.list.length, 1);
  } finally {
    seen.stop();
    await close();
  }
});

const at = Date.UTC(2026, 11, 7);
const conversion = (unit: string): ConversionEvent => ({ kind: 'conversion', eventId: `c-${unit}`, unit, metric: 'purchase', value: 1, at });
const exposure = (unit: string): ExposureEvent => ({ kind: 'exposure', eventId: `e-${unit}`, trackSetId: 'set', track: 'a', unit, at });

test('ConversionOrder counts a conversion only when it came after the run was made, less than a second before the exposure, and needs ten', () => {
  const order = new ConversionOrder();
  let sequence = 100;
  for (let i = 0; i < 20; i++) {
    order.converted(conversion(`before-${i}`), ++sequence);
    assert.equal(order.exposed(exposure(`before-${i}`), sequence), false, 'the run was made after the conversion');
    assert.equal(order.exposed(exposure(`unknown-${i}`), sequence - 1), false, 'no conversion of that unit');
    order.converted(conversion(`not-a-run-${i}`), ++sequence);
    assert.equal(order.exposed(exposure(`not-a-run-${i}`), undefined), false, 'not a run of a TrackSet');
    const made = sequence;
    order.converted({ ...conversion(`long-before-${i}`), at: at - 1_001 }, ++sequence);
    assert.equal(order.exposed(exposure(`long-before-${i}`), made), false, 'more than a second before the exposure');
  }
  for (let i = 0; i < 9; i++) {
    const made = sequence;
    order.converted(conversion(`between-${i}`), ++sequence);
    assert.equal(order.exposed(exposure(`between-${i}`), made), false, 'nine could be deliberate');
  }
  const made = sequence;
  order.converted(conversion('between-9'), ++sequence);
  assert.equal(order.exposed(exposure('between-9'), made), true);
});

test('ConversionOrder keeps the latest 1,024 conversions only', () => {
  const order = new ConversionOrder();
  for (let i = 0; i < 10; i++) order.converted(conversion(`first-${i}`), 10 + i);
  for (let i = 0; i < 1_024; i++) order.converted(conversion(`later-${i}`), 100 + i);
  // The first ten are forgotten: their exposures say nothing.
  for (let i = 0; i < 10; i++) assert.equal(order.exposed(exposure(`first-${i}`), 0), false);
  for (let i = 0; i < 9; i++) assert.equal(order.exposed(exposure(`later-${i}`), 0), false);
  assert.equal(order.exposed(exposure('later-9'), 0), true);
});

test('conversionCameAfter holds across the sequence wrapping at 2^30', () => {
  const top = 2 ** 30 - 1;
  assert.equal(conversionCameAfter(5, 3), true);
  assert.equal(conversionCameAfter(3, 3), false);
  assert.equal(conversionCameAfter(2, 3), false);
  assert.equal(conversionCameAfter(1, top), true, 'wrapped: 1 comes after 2^30 - 1');
  assert.equal(conversionCameAfter(top, 1), false);
});
