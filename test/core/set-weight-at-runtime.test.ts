import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MultiTrackSet, TrackSet, TracksError } from '../../src/index.js';

// The seed: "We could also set DelayTracks.weight to 1000 to make that one ten times as likely".
test('setting a set weight after first use takes effect, and is validated', () => {
  class LateDelay extends TrackSet {
    static id = 'late-delay';
    static short_track(): void {}
  }
  class LatePricing extends TrackSet {
    static id = 'late-pricing';
    static cheap_track(): void {}
  }
  const share = (): number => {
    let delay = 0;
    for (let i = 0; i < 100_000; i++) if (new MultiTrackSet([LateDelay, LatePricing], { key: i }).trackSet?.id === 'late-delay') delay++;
    return delay / 100_000;
  };
  assert.ok(Math.abs(share() - 0.5) < 0.01);
  (LateDelay as { weight: number }).weight = 1000;
  assert.ok(Math.abs(share() - 1000 / 1100) < 0.01, 'ten times as likely');
  (LateDelay as { weight: number }).weight = -1;
  assert.throws(() => new MultiTrackSet([LateDelay, LatePricing], { key: 1 }), (e: unknown) => e instanceof TracksError && /LateDelay: static weight is -1/.test(e.message));
});
