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
export type TrackMethodNames<T> = ValuesOf<{
  // Filter keys by their suffix before reading their types: `name` itself is typed from this.
  [K in keyof T as K extends `${string}_track` | `${string}Track` ? K : never]-?: T[K] extends (
    ...args: never
  ) => unknown
    ? TrackNameOfMethod<K>
    : never;
}>;

type ValuesOf<T> = T[keyof T];

/**
 * The name a run of `Run` (an instance type) can take: its instance track methods plus
 * `control` when it has any; `string` when its tracks are static (the compiler cannot see a
 * class's static side from an instance; `DelayTracks.choose()` can, and narrows it).
 */
export type RunTrackName<Run> = [TrackMethodNames<Run>] extends [never]
  ? string
  : TrackMethodNames<Run> | 'control';

/** The track names of a class `C`, from its static and instance track methods, plus `control`. */
export type ClassTrackName<C extends abstract new (...args: never) => unknown> =
  [TrackMethodNames<C> | TrackMethodNames<InstanceType<C>>] extends [never]
    ? string
    : TrackMethodNames<C> | TrackMethodNames<InstanceType<C>> | 'control';
