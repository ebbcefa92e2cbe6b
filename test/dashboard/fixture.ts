/**
 * A realistic recorded data set for the dashboard's tests, screenshots and demo: real runs of
 * track sets through the recording layer into a SQLite file, with conversions, latency,
 * errors, a guardrail trip, a sample-ratio mismatch and a track set named like an XSS probe;
 * metrics declared (one a guardrail, one capped), and checkout-delay ramped mid-way (a second
 * phase). checkout-delay records each shopper's country and plan (`static dimensions`): the
 * short delay (an order review step) lifts purchases in Germany only, so its effect differs by
 * country. A holdout (h2026q4) keeps a tenth of the users out of every test (they get every
 * baseline). Returning customers bought in the days before the test, so CUPED adjusts purchase
 * and revenue. Latency: checkout-delay's control does work (its slower tracks have a p95
 * ratio), the other sets' controls are no-ops (quantiles below the histogram's resolution).
 * Runs are spread over several days (Date.now is moved day by day) so lift over time has
 * daily points. Deterministic apart from measured latencies.
 */
import { mock } from 'node:test';
import { ParamTrackSet, TrackSet, close, configure, convert, flush, rampTrackSet, sqliteStore } from '../../src/index.js';
import type { Recorder } from '../../src/index.js';
import { seededRandom as random } from '../support/random.js';

/**
 * The name used for the track set, a track and a metric: must show as text, never run, and
 * its right-to-left override must show as an escape (else "live" reads for "evil", and the
 * page's text around it backwards).
 */
export const XSS_NAME = '<img src=x onerror=alert(1)>\u202eevil';
/** XSS_NAME as the page (and tracks report) shows it. */
export const XSS_SHOWN = '<img src=x onerror=alert(1)>\\u{202e}evil';

/** Spins for about `ms` milliseconds (a stand-in for real work, so latencies differ). */
function work(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}


/** Who is at checkout: what checkout-delay breaks its results down by. */
export interface Shopper {
  readonly country: string;
  readonly plan: string;
}

/** checkout-delay's shoppers come from three countries. */
export const COUNTRIES = ['US', 'DE', 'BR'] as const;

/** The holdout the fixture configures: a tenth of users get every baseline. */
export const HOLDOUT = { id: 'h2026q4', share: 0.1 } as const;

export class CheckoutDelay extends TrackSet<{ shopper: Shopper }> {
  static override id = 'checkout-delay';
  static override dimensions(context: { shopper: Shopper }) {
    return { country: context.shopper.country, plan: context.shopper.plan };
  }
  static override weights = { control: 1, short_delay: 1, long_delay: 1 };
  // Checkout's own work, so the control is not a no-op: the delays' p95 has a ratio to it.
  static override addControlTrack = false;
  static control_track() {
    work(0.1);
  }
  static short_delay_track() {
    work(0.3);
  }
  static long_delay_track(fail: boolean) {
    work(0.5);
    if (fail) throw new Error('timeout');
  }
}

export class SearchRanking extends TrackSet<{ shopper: Shopper }> {
  static override id = 'search-ranking';
  // The logging bug below writes exposures without it: the mismatch is in the "(none)" segment.
  static override dimensions(context: { shopper: Shopper }) {
    return { country: context.shopper.country };
  }
  static bm25_track() {
    work(0.05);
  }
}

export class NewCache extends TrackSet {
  static override id = 'new-cache';
  static lru_track(fail: boolean) {
    if (fail) throw new Error('cache miss storm');
  }
}

/** A set whose baseline is declared in the class (no added control track). */
export class Pricing extends ParamTrackSet {
  static override id = 'pricing';
  static override params = [0, 1];
  static override addControlTrack = false;
  static override control = 'price_adjusted_by_0';
  static override trackName(delta: number) {
    return `price_adjusted_by_${delta}`;
  }
  static override track(delta: number) {
    return delta;
  }
}

export class XssProbe extends ParamTrackSet {
  static override id = XSS_NAME;
  static override params = [{ variant: 1 }];
  static override trackName() {
    return XSS_NAME;
  }
  // A segment named like the probe too (one segment: nothing to compare across).
  static override dimensions() {
    return { variant: XSS_NAME };
  }
  static override track() {
    return 'ok';
  }
}

/** Conversion chance per track of checkout-delay: the long delay hurts. */
const CHECKOUT_RATE: Readonly<Record<string, number>> = { control: 0.1, short_delay: 0.1, long_delay: 0.07 };

/** In Germany the short delay (an order review step) triples purchases; elsewhere it changes nothing. */
function checkoutRate(track: string, shopper: Shopper): number {
  return track === 'short_delay' && shopper.country === 'DE' ? 0.3 : CHECKOUT_RATE[track]!;
}

/** Returning customers (two in five): they bought before the test, and buy more, and more often, in it. */
function isReturning(i: number): boolean {
  return i % 5 < 2;
}

export interface FixtureOptions {
  /** Users entering checkout-delay per day (default 200). */
  readonly usersPerDay?: number;
  /** Days of data, ending today (default 5). */
  readonly days?: number;
}

/**
 * Records the data set into a SQLite file at `path` (created), through configure/convert/flush.
 *
 * @example
 * ```ts
 * await recordFixture(join(dir, 'tracks.db'));
 * ```
 */
export async function recordFixture(path: string, options: FixtureOptions = {}): Promise<void> {
  const usersPerDay = options.usersPerDay ?? 200;
  const days = options.days ?? 5;
  const rand = random(42);
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate(), 12);
  let now = today - (days - 1) * 86_400_000;
  const clock = mock.method(Date, 'now', () => now);
  try {
    const recorder = configure({
      store: path,
      outbox: false,
      handleSignals: false,
      guardrails: { minRuns: 15, maxErrorRateIncrease: 0.2, maxLatencyRatio: 1e6 },
      holdout: HOLDOUT,
      metrics: {
        purchase: { kind: 'conversion' },
        // One whale cannot move the mean: each user's revenue is capped at the set's 99th percentile.
        revenue: { kind: 'sum', cap: { percentile: 0.99 } },
        clicked_result: { kind: 'conversion' },
        refund: { kind: 'conversion', guardrail: true, higherIsBetter: false },
      },
    }) as Recorder;
    // Two days before the test, returning customers buy: each user's history for CUPED (its
    // own random stream, so the test's draws below stay as they were).
    const history = random(7);
    const spend = new Map<string, number>();
    now = today - (days + 1) * 86_400_000;
    for (let day = 0; day < days; day++) {
      for (let i = 0; i < usersPerDay; i++) {
        if (!isReturning(i)) continue;
        const key = `user-${day}-${i}`;
        const value = Math.round(30 + history() * 170);
        spend.set(key, value);
        now += 10;
        convert({ key, metric: 'purchase' });
        convert({ key, metric: 'revenue', value });
      }
    }
    await flush();
    for (let day = 0; day < days; day++) {
      now = today - (days - 1 - day) * 86_400_000;
      if (days > 1 && day === Math.floor(days / 2)) {
        // Mid-way, the team ramps the short delay up: a new phase of checkout-delay (a test one day old has none).
        const control = sqliteStore(path);
        await rampTrackSet(control, 'checkout-delay', { weights: { short_delay: 2 } });
        await control.close();
        await recorder.refreshControls();
      }
      for (let i = 0; i < usersPerDay; i++) {
        const key = `user-${day}-${i}`;
        now += 100;
        const shopper: Shopper = { country: COUNTRIES[i % COUNTRIES.length]!, plan: i % 4 === 0 ? 'pro' : 'free' };
        const checkout = new CheckoutDelay({ key, context: { shopper } });
        try {
          checkout.run(rand() < 0.03);
        } catch {
          // the long delay sometimes times out
        }
        const before = spend.get(key);
        if (rand() < checkoutRate(checkout.name, shopper) * (before === undefined ? 1 : 4)) {
          convert({ key, metric: 'purchase' });
          // A returning customer spends about what they spent before.
          convert({ key, metric: 'revenue', value: before === undefined ? Math.round(20 + rand() * 80) : Math.round(before * (0.6 + rand() * 0.8)) });
          if (rand() < (checkout.name === 'long_delay' ? 0.3 : 0.05)) convert({ key, metric: 'refund' });
        }
        const search = new SearchRanking({ key, context: { shopper } });
        search.run();
        if (rand() < (search.name === 'bm25' ? 0.32 : 0.3)) convert({ key, metric: 'clicked_result' });
        if (i % 2 === 0) {
          const cache = new NewCache({ key });
          try {
            cache.run(rand() < 0.6);
          } catch {
            // the new cache fails often: the guardrail switches it off
          }
        }
        if (i % 3 === 0) {
          const pricing = new Pricing({ key });
          pricing.run();
          if (rand() < (pricing.name === 'price_adjusted_by_1' ? 0.08 : 0.1)) convert({ key, metric: 'price_accepted' });
        }
        if (i % 20 === 0) {
          new XssProbe({ key }).run();
          if (rand() < 0.5) convert({ key, metric: XSS_NAME });
        }
      }
      await flush();
    }
    await close();
  } finally {
    clock.mock.restore();
  }
  // A logging bug in one process: search-ranking exposures recorded twice as often for bm25.
  const store = sqliteStore(path);
  const extra = Array.from({ length: Math.round(usersPerDay * days * 0.25) }, (_, i) => ({
    kind: 'exposure' as const,
    eventId: `dup-${i}`,
    trackSetId: 'search-ranking',
    track: 'bm25',
    unit: `dup-user-${i}`,
    at: today - Math.floor(i / usersPerDay) * 86_400_000,
  }));
  await store.write(extra);
  await store.close();
}
