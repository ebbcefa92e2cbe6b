/**
 * A small recorded shadow set for the dashboard's tests: real runs of a `static shadow` set
 * through the recording layer into a SQLite file. Its candidate answers differently on one
 * query in ten, and on a query that looks like an XSS probe (run first, so its mismatch is
 * among the samples kept), which shows up as text in the sample's input and both results.
 * Beside it, an ordinary A/B set with exposures: promote must refuse it.
 */
import { TrackSet, close, configure, flush } from '../../src/index.js';
import type { ShadowOptions } from '../../src/index.js';

/** The shadow set's id, its baseline and its candidate. */
export const SHADOW = { id: 'catalog-query', baseline: 'old', candidate: 'new' } as const;

/** An ordinary A/B set in the same store (no shadow). */
export const PLAIN_ID = 'plain-set';

/** A query whose text must show as typed in the samples, never as HTML. */
export const XSS_QUERY = '<img src=x onerror=alert(1)>';

/** How many runs the shadow set records, and the queries its candidate answers differently. */
export const SHADOW_RUNS = 200;
const differs = (query: string): boolean => query === XSS_QUERY || query.endsWith('0');

class CatalogQuery extends TrackSet {
  static override id = SHADOW.id;
  static override addControlTrack = false;
  static override control = SHADOW.baseline;
  static override shadow: ShadowOptions = { sample: 1, timeout: 2_000, maxConcurrent: 10_000, samples: { perMinute: 5 } };
  static old_track(query: string) {
    return { query, hits: 3 };
  }
  static async new_track(query: string) {
    await Promise.resolve();
    return { query, hits: differs(query) ? 4 : 3 };
  }
}

class PlainSet extends TrackSet {
  static override id = PLAIN_ID;
  static fast_track() {
    return 'fast';
  }
}

/**
 * Records the shadow set (and the plain one) into a SQLite file at `path` (created).
 *
 * @example
 * ```ts
 * await recordShadowFixture(join(dir, 'tracks.db'));
 * ```
 */
export async function recordShadowFixture(path: string): Promise<void> {
  configure({ store: path, outbox: false, handleSignals: false, flushInterval: 60_000 });
  try {
    for (let i = 0; i < SHADOW_RUNS; i++) {
      // The probe first: samples are kept per candidate and minute, so it is surely one of them.
      const served = new CatalogQuery({ key: `user-${i}` }).run(i === 0 ? XSS_QUERY : `q${i}`);
      if ((served as { hits: number }).hits !== 3) throw new Error('a shadow set serves its baseline');
    }
    for (let i = 0; i < 20; i++) new PlainSet({ key: `user-${i}` }).run();
    await flush();
  } finally {
    await close();
  }
}

/** Mismatches the candidate makes in the fixture: the probe, and q10, q20, ... */
export const SHADOW_MISMATCHES = 1 + Array.from({ length: SHADOW_RUNS - 1 }, (_, i) => `q${i + 1}`).filter(differs).length;
