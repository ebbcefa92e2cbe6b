/**
 * Type-level track names: `short_track` and `shortTrack` both name the track `short`.
 * These types mirror the runtime rule in definition.ts.
 */

/** The track name a method name gives, or `never` when it is not a track method. */
export type TrackNameOfMethod<K> = K extends `${infer Name}_track`
  ? Name extends '' ? never : Name
  : K extends `${infer Name}Track`
    ? Name extends '' ? never : Name
    : never;

/** The names of the track methods among the members of `T`. */
export type TrackMethodNames<T> = TrackMethodNamesOf<T, TrackKeys<T>>;

// Filter keys by their suffix before reading their types (distributively, one key at a time).
type TrackMethodNamesOf<T, K extends keyof T> = K extends unknown
  ? T[K] extends (...args: never) => unknown
    ? TrackNameOfMethod<K>
    : never
  : never;

type TrackKeys<T> = Extract<keyof T, `${string}_track` | `${string}Track`>;

/**
 * Track names of a run (instance) type, by member name only: reading the member types of a
 * run type means resolving `name`, which is typed from this, and narrowing such a run
 * (`assert.equal(run.name, 'long')`) then recursed without end (TS2589).
 */
type InstanceTrackNames<T> = TrackNameOfMethod<TrackKeys<T>>;

/**
 * The name a run of `Run` (an instance type) can take: its instance track methods plus
 * `control` when it has any; `string` when its tracks are static (the compiler cannot see a
 * class's static side from an instance; `DelayTracks.choose()` can, and narrows it).
 */
export type RunTrackName<Run> = [InstanceTrackNames<Run>] extends [never]
  ? string
  : InstanceTrackNames<Run> | 'control';

/** The track names of a class `C`, from its static and instance track methods, plus `control`. */
export type ClassTrackName<C extends abstract new (...args: never) => unknown> =
  [TrackMethodNames<C> | InstanceTrackNames<InstanceType<C>>] extends [never]
    ? string
    : TrackMethodNames<C> | InstanceTrackNames<InstanceType<C>> | 'control';
