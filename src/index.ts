/**
 * tracks: simple, deterministic A/B testing of backend code paths.
 *
 * @example
 * ```ts
 * import { TrackSet } from 'tracks';
 *
 * class DelayTracks extends TrackSet {
 *   static id = 'delay';
 *   static short_track() { return sleep(500); }
 *   static long_track() { return sleep(2000); }
 * }
 *
 * using track = new DelayTracks({ key: userId });
 * await track.run();
 * ```
 *
 * @module
 */
export { TracksError } from './errors.js';
export { TrackSet } from './core/track-set.js';
export type { Track, TrackSetClass, TrackSetOptions, TrackSetStaticSide } from './core/track-set.js';
export { ParamTrackSet } from './core/param-track-set.js';
export { MultiTrackSet } from './core/multi-track-set.js';
export type { MultiTrackSetOptions } from './core/multi-track-set.js';
export { forceTracks } from './core/forcing.js';
export { forEachTrack } from './core/for-each-track.js';
export type { ForcedTracks } from './core/forcing.js';
export { serializeKey } from './core/key.js';
export { murmur3 } from './core/murmur3.js';
export { bucketOf } from './core/bucket-of.js';
export type { Reason } from './core/run-hooks.js';
export type { ClassTrackName, RunTrackName, TrackMethodNames } from './core/track-names.js';
