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

/**
 * Whether the compiler can see that a class adds no `control` track: its `addControlTrack` is
 * the literal `false` (`static override addControlTrack = false as const`; a plain `= false`
 * widens to boolean, and then `control` stays possible).
 */
type AddsNoControl<C> = C extends { readonly addControlTrack: false } ? true : false;

/**
 * A ParamTrackSet class's track names: what its `static trackName(params)` returns, when that
 * is narrower than string (`` return `price_adjusted_by_${priceDelta}` as const ``); else never.
 */
type ParamTrackNames<C> = C extends { readonly params: readonly unknown[]; readonly trackName: (params: never) => infer N } ? (string extends N ? never : N) : never;

/** The track names of a class `C`, from its static and instance track methods, plus `control` unless it adds none. */
export type ClassTrackName<C extends abstract new (...args: never) => unknown> =
  [TrackMethodNames<C> | InstanceTrackNames<InstanceType<C>> | ParamTrackNames<C>] extends [never]
    ? string
    : TrackMethodNames<C> | InstanceTrackNames<InstanceType<C>> | ParamTrackNames<C> | (AddsNoControl<C> extends true ? never : 'control');

/** The track methods of `T` (a run type, or a class for its static tracks), as one union. */
type TrackMethodsOf<T> = {
  [K in TrackKeys<T>]: T[K] extends (...args: infer A) => infer R ? (...args: A) => R : never;
}[TrackKeys<T>];

/** A ParamTrackSet class's `static track(params, ...args)` as `run()` calls it (the arguments after the params), or `never`. */
type ParamTrackOf<C> = C extends { readonly params: readonly unknown[]; readonly track: (params: never, ...args: infer A) => infer R } ? (...args: A) => R : never;

/** A class's static track methods as one union: its `*_track` methods, or a ParamTrackSet's `track`. */
type StaticTrackMethodsOf<C> = [TrackMethodsOf<C>] extends [never] ? ParamTrackOf<C> : TrackMethodsOf<C>;

/**
 * A type-only key (nothing has it at run time): a run made by `choose()` or `with()` carries
 * its class's static track methods under it, so the instance's own `run()`, typed from `this`,
 * takes their parameters too. Without it, a call that fits no static track fell through to the
 * instance's untyped `run(...args: unknown[])` and compiled.
 */
export declare const staticTracks: unique symbol;

/** The static track methods a run type carries (see {@link staticTracks}), or `never`. */
type StaticTracksOf<T> = T extends { readonly [staticTracks]: infer M extends (...args: never) => unknown } ? M : never;

/** The track methods `run()` may call on `T`: those it carries from its class, else its own. */
type RunMethodsOf<T> = [StaticTracksOf<T>] extends [never] ? TrackMethodsOf<T> : StaticTracksOf<T>;

type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : never;
type ResultOf<F> = F extends (...args: never) => infer R ? R : never;

/**
 * What `run()` takes: the parameters of the set's track methods (of any of them, since any may
 * be chosen); `unknown[]` where the compiler sees no track method (static tracks from `new`).
 */
export type TrackArgs<T> = [RunMethodsOf<T>] extends [never] ? unknown[] : ArgsOf<RunMethodsOf<T>>;

/**
 * What `run()` returns: the union of the track methods' return types, and `undefined` for the
 * added no-op control; `unknown` where the compiler sees no track method.
 */
export type TrackResult<T> = [RunMethodsOf<T>] extends [never] ? unknown : ResultOf<RunMethodsOf<T>> | undefined;

/** What a class's tracks take: its static track methods' parameters, else its instance ones' (`unknown[]` where none is seen). */
export type ClassTrackArgs<C extends abstract new (...args: never) => unknown> = [StaticTrackMethodsOf<C>] extends [never]
  ? TrackArgs<InstanceType<C>>
  : ArgsOf<StaticTrackMethodsOf<C>>;

/**
 * The typed `run()` of a class whose tracks are static, for runs made by `choose()` and
 * `with()`: without `undefined` when the class adds no control (see AddsNoControl).
 */
export type StaticRun<C> = [StaticTrackMethodsOf<C>] extends [never]
  ? unknown
  : {
      run(...args: ArgsOf<StaticTrackMethodsOf<C>>): AddsNoControl<C> extends true ? ResultOf<StaticTrackMethodsOf<C>> : ResultOf<StaticTrackMethodsOf<C>> | undefined;
      readonly [staticTracks]: StaticTrackMethodsOf<C>;
    };

/** A class's constructor options with `force` narrowed to its track names (for `choose()` and `with()`). */
export type ForcedOptions<P extends readonly unknown[], Name> = P extends [infer O]
  ? [options: O & { readonly force?: Name | undefined }]
  : P extends [(infer O)?]
    ? [options?: O & { readonly force?: Name | undefined }]
    : P;
