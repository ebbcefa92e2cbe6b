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

/**
 * The names of the track methods among the members of `T`.
 *
 * @example
 * ```ts
 * type DelayTrackMethods = TrackMethodNames<typeof DelayTracks>; // 'short' | 'long'
 * const tried: DelayTrackMethods[] = ['short', 'long'];
 * ```
 */
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
 *
 * @example
 * ```ts
 * class CheckoutTracks extends TrackSet {
 *   static override id = 'checkout';
 *   one_page_track() { return renderOnePage(); }
 * }
 * type CheckoutTrack = RunTrackName<CheckoutTracks>; // 'one_page' | 'control'
 * ```
 */
export type RunTrackName<Run> = [InstanceTrackNames<Run>] extends [never]
  ? string
  : InstanceTrackNames<Run> | 'control';

/**
 * Whether the compiler can see that no run of a class gets the no-op `control`. Keys outside
 * the test (ineligible, not covered, stopped, guardrail-tripped, held out) get the set's
 * baseline, and a set that adds no control but names no baseline gets a no-op `control` for
 * them (definition.ts). So both must be visible: `addControlTrack` is the literal `false`
 * (`static override addControlTrack = false as const`; a plain `= false` widens to boolean),
 * and the class has a baseline of its own (see {@link HasBaseline}).
 */
type NeverNoOpControl<C> = C extends { readonly addControlTrack: false } ? HasBaseline<C> : false;

/**
 * Whether a class names a baseline among its own tracks: it declares `static control`
 * (`static override control = 'old'`, typed `string`, or a literal; TrackSet's own declaration
 * is `string | undefined`, and a name that is no track is a TracksError at run time), or it has
 * a `control` track method. Without strictNullChecks `string | undefined` reads as `string`,
 * so there only a literal (`'old' as const`) shows a declared baseline.
 */
type HasBaseline<C> = 'control' extends TrackMethodNames<C> | InstanceTrackNames<InstanceType<ConstructorOf<C>>>
  ? true
  : C extends { readonly control: infer B }
    ? [B] extends [never]
      ? false
      : [B] extends [string]
        ? undefined extends string
          ? (string extends B ? false : true)
          : true
        : false
    : false;

type ConstructorOf<C> = C extends abstract new (...args: never) => unknown ? C : never;

/**
 * A ParamTrackSet class's track names: what its `static trackName(params)` returns, when that
 * is narrower than string (`` return `price_adjusted_by_${priceDelta}` as const ``); else never.
 */
type ParamTrackNames<C> = C extends { readonly params: readonly unknown[]; readonly trackName: (params: never) => infer N } ? (string extends N ? never : N) : never;

/**
 * The track names of a class `C`, from its static and instance track methods, plus `control`
 * unless the compiler can see that no run gets the no-op one (see {@link NeverNoOpControl}).
 *
 * @example
 * ```ts
 * type DelayTrack = ClassTrackName<typeof DelayTracks>; // 'short' | 'long' | 'control'
 * const winner: DelayTrack = 'long';
 * await stopTrackSet(store, DelayTracks.id, winner);
 * ```
 */
export type ClassTrackName<C extends abstract new (...args: never) => unknown> =
  [TrackMethodNames<C> | InstanceTrackNames<InstanceType<C>> | ParamTrackNames<C>] extends [never]
    ? string
    : TrackMethodNames<C> | InstanceTrackNames<InstanceType<C>> | ParamTrackNames<C> | (NeverNoOpControl<C> extends true ? never : 'control');

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
 * instance's untyped `run(...args: unknown[])` and compiled. A string, not a unique symbol: a
 * user's declaration files must be able to name it (an exported function returning a run
 * failed with TS4058), and `~` keeps it last in an editor's completions (as Standard Schema's
 * `~standard`).
 */
type StaticTracksKey = '~staticTracks';

/** The static track methods a run type carries (see {@link StaticTracksKey}), or `never`. */
type StaticTracksOf<T> = T extends { readonly [K in StaticTracksKey]: infer M extends (...args: never) => unknown } ? M : never;

/** The track methods `run()` may call on `T`: those it carries from its class, else its own. */
type RunMethodsOf<T> = [StaticTracksOf<T>] extends [never] ? TrackMethodsOf<T> : StaticTracksOf<T>;

type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : never;
type ResultOf<F> = F extends (...args: never) => infer R ? R : never;

/**
 * The arguments every one of the track methods `F` (a union) can take: any of them may be
 * chosen, so a call must fit each. Where their parameters are the same, those; where they
 * differ, each method's parameters (a longer call is fine for a method taking fewer, as in
 * JavaScript) and no more arguments than the longest takes. A union of the parameter lists
 * let `run(5)` compile for `short_track(ms: number)` and `long_track(label: string)`, then
 * fail at run time for the users drawn to `long`.
 */
type ArgsOfEvery<F> = (
  true extends IsUnion<ArgsBoxOf<F>> ? (IntersectionOf<OpenArgsBoxOf<F>> extends { readonly args: infer A } ? A : never) & { readonly length: ArgCountOf<F> } : ArgsOf<F>
) extends infer A extends unknown[]
  ? A
  : never;
/** A method's parameter list, boxed: a method whose list is itself a union (`...args: [number] | [string]`) stays one member. */
type ArgsBoxOf<F> = F extends (...args: infer A) => unknown ? { readonly args: A } : never;
/** A method's parameters followed by any others (what a call that fits it may pass), boxed as above. */
type OpenArgsBoxOf<F> = F extends (...args: infer A) => unknown ? { readonly args: [...A, ...unknown[]] } : never;
/** How many arguments the methods take, each: from its required ones to all of them. */
type ArgCountOf<F> = F extends (...args: infer A) => unknown ? Partial<A>['length'] | A['length'] : never;
type IntersectionOf<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Whether `T` has members that are not assignable to each other (parameter lists that differ). */
type IsUnion<T, All = T> = T extends unknown ? ([All] extends [T] ? false : true) : never;

/**
 * What `run()` takes: the arguments every one of the set's track methods takes (any of them
 * may be chosen); `unknown[]` where the compiler sees no track method (static tracks from `new`).
 */
export type TrackArgs<T> = [RunMethodsOf<T>] extends [never] ? unknown[] : ArgsOfEvery<RunMethodsOf<T>>;

/**
 * What `run()` returns: the union of the track methods' return types, and `undefined` for the
 * added no-op control; `unknown` where the compiler sees no track method.
 */
export type TrackResult<T> = [RunMethodsOf<T>] extends [never] ? unknown : ResultOf<RunMethodsOf<T>> | undefined;

/** What a class's tracks take: its static track methods' parameters, else its instance ones' (`unknown[]` where none is seen). */
export type ClassTrackArgs<C extends abstract new (...args: never) => unknown> = [StaticTrackMethodsOf<C>] extends [never]
  ? TrackArgs<InstanceType<C>>
  : ArgsOfEvery<StaticTrackMethodsOf<C>>;

/** A class's track methods as one union: its static ones, else its instance ones (`never` where none is seen). */
type ClassTrackMethodsOf<C extends abstract new (...args: never) => unknown> = [StaticTrackMethodsOf<C>] extends [never]
  ? RunMethodsOf<InstanceType<C>>
  : StaticTrackMethodsOf<C>;

/**
 * What a run of several classes' tracks takes (a MultiTrackSet's `run()`): the arguments every
 * track method of every class takes; `unknown[]` where the compiler sees none of one class.
 */
export type EveryClassTrackArgs<C extends abstract new (...args: never) => unknown> = true extends (C extends unknown ? ([ClassTrackArgs<C>] extends [never] ? true : false) : never)
  ? unknown[]
  : ArgsOfEvery<C extends unknown ? ClassTrackMethodsOf<C> : never>;

/** What a class's tracks return: its static track methods' results, else its instance ones' (`unknown` where none is seen). */
export type ClassTrackResult<C extends abstract new (...args: never) => unknown> = [StaticTrackMethodsOf<C>] extends [never]
  ? TrackResult<InstanceType<C>>
  : ResultOf<StaticTrackMethodsOf<C>>;

/**
 * The typed `run()` of a class whose tracks are static, for runs made by `choose()` and
 * `with()`: without `undefined` only when no run gets the no-op control (see NeverNoOpControl).
 */
export type StaticRun<C> = [StaticTrackMethodsOf<C>] extends [never]
  ? unknown
  : {
      run(...args: ArgsOfEvery<StaticTrackMethodsOf<C>>): NeverNoOpControl<C> extends true ? ResultOf<StaticTrackMethodsOf<C>> : ResultOf<StaticTrackMethodsOf<C>> | undefined;
      readonly '~staticTracks': StaticTrackMethodsOf<C>;
    };

/** A class's constructor options with `force` narrowed to its track names (for `choose()` and `with()`). */
export type ForcedOptions<P extends readonly unknown[], Name> = P extends [infer O]
  ? [options: O & { readonly force?: Name | undefined }]
  : P extends [(infer O)?]
    ? [options?: O & { readonly force?: Name | undefined }]
    : P;
