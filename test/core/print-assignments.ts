/**
 * Prints the assignments of 1,000 keys in a few track sets and a MultiTrackSet, as JSON:
 * determinism.test.ts runs it in a separate process and compares with its own.
 */
import { MultiTrackSet, TrackSet, bucketOf } from '../../src/index.js';

export class DelayTracks extends TrackSet {
  static override id = 'delay';
  static short_track() {}
  static long_track() {}
}
export class CheckoutTracks extends TrackSet {
  static override id = 'checkout';
  static override weights = { control: 2, fast: 1, slow: 0.7 };
  static override coverage = 0.6;
  static fast_track() {}
  static slow_track() {}
}
export class HeavyTracks extends TrackSet {
  static override id = 'heavy';
  static override weight = 1000;
  static aTrack() {}
}

export function assignments(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 1_000; i++) {
    const key = i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? i : { country: i % 2 ? 'NL' : 'DE', articleId: i, tag: 'é☃' };
    const multi = new MultiTrackSet([DelayTracks, CheckoutTracks, HeavyTracks], { key });
    out.push([bucketOf(DelayTracks, key), new CheckoutTracks({ key }).name, multi.trackSet?.id, multi.name].join('/'));
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(JSON.stringify(assignments()));
