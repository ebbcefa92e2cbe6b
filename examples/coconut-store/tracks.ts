// The store's tests, defined as code: the seed's DelayTracks and PricingTracks, and both at once.
import { MultiTrackSet, ParamTrackSet, TrackSet } from 'tracks';
import type { ShadowOptions } from 'tracks';
import type { CatalogResponse, User } from './catalog.js';
import { sleep } from './catalog.js';

/** How a slower catalog page affects conversion. VIPs stay out of the test (they get control). */
export class DelayTracks extends TrackSet<{ user: User }> {
  static id = 'delay';

  static short_track(): Promise<void> {
    return sleep(0.5);
  }

  static long_track(): Promise<void> {
    return sleep(2);
  }

  get isEligible(): boolean {
    return !this.context.user.isVip;
  }
}

/** Eleven prices, from five below to five above today's; { priceDelta: 0 } is the control group. */
export class PricingTracks extends ParamTrackSet<{ user: User }> {
  static id = 'pricing';
  static params = Array.from({ length: 11 }, (_, i) => ({ priceDelta: i - 5 }));
  static addControlTrack = false;
  static control = 'price_adjusted_by_0';

  static trackName({ priceDelta }: { priceDelta: number }): string {
    return `price_adjusted_by_${priceDelta}`;
  }

  static track({ priceDelta }: { priceDelta: number }, response: CatalogResponse): void {
    for (const coconut of response.coconuts) coconut.price += priceDelta;
  }

  get isEligible(): boolean {
    return !this.context.user.isVip;
  }
}

/** Both tests at once, mutually exclusive: each user is in at most one of them. */
export class CatalogTests extends MultiTrackSet {
  static trackSets = [DelayTracks, PricingTracks];
}

/** Coconuts in stock of a variety on a day, as the current query counts them. */
function stockToday(variety: string, day: number): number {
  return 20 + ((variety.length * 7 + day * 3) % 11);
}

/**
 * The stock query is being rewritten. Before the rewrite serves anyone, it runs in shadow on a
 * tenth of the visits, after the page is served, and its answers are compared with the current
 * query's. The rewrite has a bug: on every tenth day it counts one king coconut too few.
 */
export class StockQuery extends TrackSet {
  static id = 'stock-query';
  static addControlTrack = false;
  static control = 'current';
  static shadow: ShadowOptions<number> = { sample: 0.1, timeout: 5_000, maxConcurrent: 1_000 };

  static current_track(variety: string, day: number): number {
    return stockToday(variety, day);
  }

  static async rewrite_track(variety: string, day: number): Promise<number> {
    await Promise.resolve();
    return stockToday(variety, day) - (variety === 'King coconut' && day % 10 === 0 ? 1 : 0);
  }
}
