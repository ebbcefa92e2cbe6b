// A newcomer's audit: converting between `new` and the run's first use, every user's conversion
// came just before their exposure and counted as history; the report flagged a track "worse"
// (p = 0.019) although every user converted, and nothing said why. Recording now warns, once per
// process, when conversions keep coming less than a second before their unit's first exposure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrackSet, close, configure, convert, flush, memoryStore } from '../../src/index.js';
import type { RecordedEvent } from '../../src/index.js';
import { ConversionOrder } from '../../src/recording/conversion-order.js';
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

// First in this file: the warning is said once per process.
test('conversions recorded between new and the first read of the track: one warning, naming the metric, the set and what to do', async () => {
  const seen = warnings();
  configure({ store: memoryStore(), outbox: false, handleSignals: false });
  try {
    // Read first, then converted: the right order, no warning.
    for (let i = 0; i < 30; i++) {
      new OrderTracks({ key: `right-${i}` }).run();
      convert({ key: `right-${i}`, metric: 'purchase' });
    }
    await sleep(5);
    assert.equal(seen.list.length, 0);
    // The newcomer's order.
    for (let i = 0; i < 30; i++) {
      const track = new OrderTracks({ key: `wrong-${i}` });
      convert({ key: `wrong-${i}`, metric: 'purchase' });
      await sleep(2);
      track.run();
    }
    await flush();
    await sleep(5);
    assert.equal(seen.list.length, 1, seen.list.map((w) => w.message).join('\n'));
    assert.match(seen.list[0]!.message, /10 conversions in this process came less than a second before their user's first exposure \(the latest: 'purchase', \d+ ms before the exposure to 'conversion-order'\)/);
    assert.match(seen.list[0]!.message, /read the track first/);
    // Once per process, whatever comes after, even after configure() again.
    await close();
    configure({ store: memoryStore(), outbox: false, handleSignals: false });
    for (let i = 0; i < 30; i++) {
      const track = new OrderTracks({ key: `again-${i}` });
      convert({ key: `again-${i}`, metric: 'purchase' });
      await sleep(2);
      track.run();
    }
    await sleep(5);
    assert.equal(seen.list.length, 1);
  } finally {
    seen.stop();
    await close();
  }
});

const conversion = (unit: string, at: number): RecordedEvent => ({ kind: 'conversion', eventId: `c-${unit}-${at}`, unit, metric: 'purchase', value: 1, at });
const exposure = (unit: string, at: number): RecordedEvent => ({ kind: 'exposure', eventId: `e-${unit}-${at}`, trackSetId: 'set', track: 'a', unit, at });

test('ConversionOrder counts only conversions less than a second before the exposure, not in its millisecond or after it, and needs ten', () => {
  const order = new ConversionOrder();
  const t = Date.UTC(2026, 11, 7);
  let warned = false;
  const see = (event: RecordedEvent) => {
    warned = order.saw(event) || warned;
  };
  for (let i = 0; i < 20; i++) {
    see(conversion(`same-${i}`, t)); // the same millisecond: counted after the exposure
    see(exposure(`same-${i}`, t));
    see(conversion(`old-${i}`, t - 1_001)); // more than a second before: a returning customer
    see(exposure(`old-${i}`, t));
    see(exposure(`after-${i}`, t));
    see(conversion(`after-${i}`, t + 5)); // after: the right order
  }
  assert.equal(warned, false);
  for (let i = 0; i < 9; i++) {
    see(conversion(`near-${i}`, t - 3));
    see(exposure(`near-${i}`, t));
  }
  assert.equal(warned, false, 'nine could be real customers');
  see(conversion('near-9', t - 3));
  see(exposure('near-9', t));
  assert.equal(warned, true);
});

test('ConversionOrder keeps the latest 1,024 conversions only', () => {
  const order = new ConversionOrder();
  const t = Date.UTC(2026, 11, 7);
  for (let i = 0; i < 10; i++) order.saw(conversion(`first-${i}`, t - 3));
  for (let i = 0; i < 1_024; i++) order.saw(conversion(`later-${i}`, t - 3));
  // The first ten are forgotten: their exposures say nothing.
  for (let i = 0; i < 10; i++) assert.equal(order.saw(exposure(`first-${i}`, t)), false);
  for (let i = 0; i < 9; i++) assert.equal(order.saw(exposure(`later-${i}`, t)), false);
  assert.equal(order.saw(exposure('later-9', t)), true);
});
