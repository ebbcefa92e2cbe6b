import { TracksError } from '../errors.js';
import { shown } from '../text.js';
import type { RawTrack } from './definition.js';
import { serializeKey } from './key.js';
import { COLLECT_TRACKS, TrackSet, collectMethodTracks } from './track-set.js';

/**
 * A track set with one track per entry of `static params`, for many variants of one idea.
 * Each track is named by `static trackName(params)` (default: the params serialized as a key)
 * and runs as `static track(params, ...args)`.
 *
 * @example
 * ```ts
 * class PricingTracks extends ParamTrackSet {
 *   static id = 'pricing';
 *   static params = Array.from({ length: 11 }, (_, i) => ({ priceDelta: i - 5 }));
 *   static addControlTrack = false;
 *   static control = 'price_adjusted_by_0'; // { priceDelta: 0 } is our control group (else keys outside the test get a no-op)
 *   static trackName({ priceDelta }: { priceDelta: number }) { return `price_adjusted_by_${priceDelta}`; }
 *   static track({ priceDelta }: { priceDelta: number }, response: CatalogResponse) {
 *     for (const coconut of response.coconuts) coconut.price += priceDelta;
 *   }
 * }
 * ```
 */
export abstract class ParamTrackSet<Context = undefined> extends TrackSet<Context> {
  /** One track per entry. */
  declare static params: readonly unknown[];

  /** The track name for one entry of `params`. */
  static trackName(params: unknown): string {
    return serializeKey(params);
  }

  /** Runs the track for one entry of `params`, with the arguments given to `run()`. */
  static track(params: unknown, ...args: unknown[]): unknown {
    void params;
    void args;
    throw new TracksError(`${this.name}: define static track(params, ...args) to say what a track does`);
  }

  static override [COLLECT_TRACKS](this: typeof ParamTrackSet): RawTrack[] {
    const cls = this;
    const params: unknown = cls.params;
    if (!Array.isArray(params)) {
      throw new TracksError(
        `${cls.name}: static params is ${params === undefined ? 'missing' : 'not an array'}; ` +
          `give it one entry per track, like static params = [{ priceDelta: -1 }, { priceDelta: 1 }]`,
      );
    }
    if (params.length === 0) {
      throw new TracksError(`${cls.name} has no tracks: static params is empty; give it one entry per track, like [{ priceDelta: -1 }, { priceDelta: 1 }]`);
    }
    // Track methods would be silently left out (a ParamTrackSet's tracks are its params):
    // a class that mixes the two styles was meant as something else.
    const methods = collectMethodTracks(cls);
    if (methods.length > 0) {
      throw new TracksError(
        `${cls.name}: ${methods.map((m) => m.origin).join(', ')} would be ignored: a ParamTrackSet's tracks are its static params, ` +
          'each run by static track(params, ...args); move that code into static track, or make the class a TrackSet',
      );
    }
    if (cls.track === ParamTrackSet.track) {
      throw new TracksError(`${cls.name}: define static track(params, ...args) to say what a track does`);
    }
    // Checked here, at first use, not when a run calls them (a run of a forced track would be the first to fail).
    for (const method of ['track', 'trackName'] as const) {
      const value: unknown = cls[method];
      if (typeof value !== 'function') {
        throw new TracksError(
          `${cls.name}: static ${method} is ${shown(value)}, not a function; define static ${method === 'track' ? 'track(params, ...args) to say what a track does' : 'trackName(params) returning the track name, or leave it out'}`,
        );
      }
    }
    return params.map((entry: unknown, index): RawTrack => {
      let name: unknown;
      try {
        name = cls.trackName(entry);
      } catch (error) {
        // The default trackName serializes the entry as a key: say which class and entry it was.
        if (error instanceof TracksError) {
          const why = error.message.replace(/^key(?=[.:[])/, `params[${index}]`).replace(/; (use|pass) .*$/, '');
          throw new TracksError(`${cls.name}: ${why}, so it cannot name a track; use strings, numbers, arrays or plain objects in params, or define static trackName(params)`);
        }
        throw error;
      }
      if (typeof name !== 'string') {
        throw new TracksError(`${cls.name}: trackName(params[${index}]) returned ${typeof name}; return a string`);
      }
      return {
        name,
        origin: `params[${index}]`,
        invoke: (_self, args) => cls.track(entry, ...args),
      };
    });
  }
}
