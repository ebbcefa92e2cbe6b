// The store's tests, defined as code: the seed's DelayTracks and PricingTracks, and both at once.
import { MultiTrackSet, ParamTrackSet, TrackSet } from 'tracks';
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
