// Runs are Disposable (`using`): the declarations name that lib, so a project whose `types`
// or `lib` leave it out (TypeScript 7 loads no @types by default) still compiles them.
/// <reference lib="esnext.disposable" preserve="true" />
import { randomUUID } from 'node:crypto';
import { TracksError } from '../errors.js';
import { assign } from './assign.js';
import { buildDefinition, trackNameOfMethod } from './definition.js';
import type { RawTrack, TrackDefinition, TrackSetDefinition } from './definition.js';
import { forcedTrack } from './forcing.js';
import { holdoutTrackOf } from './holdout.js';
import { serializeKey } from './key.js';
import { murmur3Int } from './murmur3.js';
import { checkIdIsFree, rememberDefinition } from './known-sets.js';
import { currentScope, inShadowRun } from './request-scope.js';
import type { ScopeState } from './request-scope.js';
import { runHooks } from './run-hooks.js';
import { runWithShadow } from './shadow-runner.js';
import { checkStaticOptions } from './static-options.js';
import { conversionSequence } from './conversion-sequence.js';
import type { ShadowOptions } from './shadow-definition.js';
import type { ChosenRun, Reason } from './run-hooks.js';
import type { ClassTrackName, ForcedOptions, RunTrackName, StaticRun, TrackArgs, TrackResult } from './track-names.js';
import { escapeControl, quoted, shown } from '../text.js';

/**
 * What a run of a track set is given. `key` pins the user to a track (any supported value,
 * see {@link serializeKey}); without it every run draws afresh. `context` is what
 * `isEligible` and instance tracks read. `force` serves one track for QA.
 *
 * @example
 * ```ts
 * const options: TrackSetOptions<{ user: User }> = { key: user.id, context: { user } };
 * using pricing = new PricingTracks(options);
 * using qa = new DelayTracks({ key: userId, force: 'long' }); // QA: not in the test
 * ```
 */
export type TrackSetOptions<Context> = {
  /** Who is assigned: a user id, or any value tracks can serialize. Omit for a fresh draw per run. */
  readonly key?: unknown;
  /** Forces this track (for QA and tests); the run is then not in the test. */
  readonly force?: string | undefined;
} & (undefined extends Context ? { readonly context?: Context } : { readonly context: Context });

/**
 * A chosen track: its name and weight.
 *
 * @example
 * ```ts
 * using track = new DelayTracks({ key: userId });
 * const { name, weight }: Track = track.track;
 * log.info({ track: name, weight }, 'delay track chosen');
 * ```
 */
export interface Track {
  readonly name: string;
  readonly weight: number;
}

/**
 * A track set class, as MultiTrackSet and the helpers take it.
 *
 * @example
 * ```ts
 * const sets: TrackSetClass[] = [DelayTracks, PricingTracks];
 * for (const set of sets) console.log(set.id, bucketOf(set, userId));
 * ```
 */
export type TrackSetClass = (abstract new (...args: never) => TrackSet<unknown>) & TrackSetStaticSide;

/** A value `static dimensions(context)` may give a dimension; undefined and null leave it out. */
type DimensionValue = string | number | boolean | null | undefined;

/**
 * The static members every track set class has.
 *
 * @example
 * ```ts
 * function idOf(set: TrackSetStaticSide): string {
 *   return set.id;
 * }
 * idOf(DelayTracks); // 'delay'
 * ```
 */
export interface TrackSetStaticSide {
  readonly id: string;
  readonly prototype: TrackSet<unknown>;
}

/** A key already serialized and hashed by a MultiTrackSet, so a member set does not hash it again. */
interface PreparedKey {
  readonly key: string | null;
  readonly keyHash: number;
}
/** A run's state (see TrackSet's #s). */
interface RunState {
  readonly definition: TrackSetDefinition;
  /** The serialized key, or null without one. */
  readonly key: string | null;
  /** Given, or the scope's; the scope's too for an explicit key that is the scope's own (set when choosing). */
  context: unknown;
  /**
   * Set only when a MultiTrackSet hashed the key already; otherwise hashed when choosing, so
   * no number is stored per run (an int32 field would often be boxed).
   */
  readonly keyHash: number | undefined;
  /** Whether the key is the request scope's (none was given). */
  readonly keyOfScope: boolean;
  track: TrackDefinition | undefined;
  reason: Reason;
  runId: string | undefined;
  disposed: boolean;
  /** `isEligible`, once asked; null while it is being asked (see ELIGIBLE). */
  eligible: boolean | null | undefined;
  /**
   * Chosen inside a shadow candidate's run, so served to no one yet: what choosing records (the
   * exposure, the holdout's, the place in the scope's chosen tracks) waits for the run's first
   * use outside one (a run object the request shares with the candidate, chosen there first).
   * Undefined when nothing waits (every run but those).
   */
  heldBack: { holdout: string | undefined } | undefined;
  /** The conversion sequence when the run was made (core/conversion-sequence.ts). */
  readonly conversionsAtNew: number;
}

// Handed from constructWithKey() to the constructor it calls synchronously.
let preparedKey: PreparedKey | undefined;

/**
 * The conversion sequence when `run` was made (core/conversion-sequence.ts), or undefined for
 * an object that is not a run: recording compares it with a conversion's, for runs read after
 * their user converted (see recording/conversion-order.ts).
 */
export function conversionsAtNewOf(run: object): number | undefined {
  return readConversionsAtNew(run);
}
/** Set in TrackSet's static block, where the run's private state is in reach. */
let readConversionsAtNew: (run: object) => number | undefined;

/** Constructs a run of `cls` for a key that is already serialized and hashed. */
export function constructWithKey<Run>(cls: new (options: object) => Run, options: object, key: string | null, keyHash: number): Run {
  preparedKey = { key, keyHash };
  try {
    return new cls(options);
  } finally {
    preparedKey = undefined;
  }
}

// The definition is cached on the class itself: faster than a WeakMap on the hot path.
// `owner` guards against a subclass reading its parent's inherited entry.
const DEFINITION = Symbol('tracks.definition');

/**
 * Reads and validates a track set class once, on first use; bad definitions throw a
 * {@link TracksError} naming the class and the fix.
 */
export function definitionOf(cls: object): TrackSetDefinition {
  let definition = cls === null || cls === undefined ? undefined : (cls as { [DEFINITION]?: TrackSetDefinition })[DEFINITION];
  if (definition === undefined || definition.owner !== cls) {
    if (cls instanceof TrackSet) {
      // A run, not its class: reading its name would choose a track (and record an exposure).
      const name = cls.constructor.name || 'the track set class';
      throw new TracksError(`got a run of ${name} where a track set class is expected; pass ${name} itself, not new ${name}(...)`);
    }
    const statics = cls as typeof TrackSet;
    if (typeof cls !== 'function' || cls === TrackSet || !(statics.prototype instanceof TrackSet)) {
      throw new TracksError(
        `${typeof cls === 'function' ? statics.name || 'this class' : shown(cls)} is not a track set; extend TrackSet (or ParamTrackSet) and give it tracks`,
      );
    }
    const rule = findGetter(statics.prototype, 'isEligible');
    const hasEligibilityRule = rule !== findGetter(TrackSet.prototype, 'isEligible');
    // A method would be read as a function, always truthy: everyone, VIPs too, in the test.
    if (hasEligibilityRule && typeof rule === 'function' && !isGetter(statics.prototype, 'isEligible')) {
      throw new TracksError(
        `${statics.name || 'this class'}: isEligible is a method; make it a getter, get isEligible() { return ... }, ` +
          'which tracks reads as a property',
      );
    }
    const names: string[] = [];
    for (let c: object = statics; c !== TrackSet && c !== null; c = Object.getPrototypeOf(c) as object) names.push(...Object.getOwnPropertyNames(c));
    checkStaticOptions(statics.name || 'this class', names);
    definition = buildDefinition(statics, statics[COLLECT_TRACKS](), hasEligibilityRule);
    // Before the definition is cached on the class: a refused class is refused at every use.
    checkIdIsFree(definition);
    Object.defineProperty(cls, DEFINITION, { value: definition, configurable: true });
    rememberDefinition(definition);
  }
  return definition;
}

/** Whether the nearest definition of `name` in the chain is a getter. */
function isGetter(proto: object | null, name: string): boolean {
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(p, name);
    if (descriptor) return descriptor.get !== undefined;
  }
  return false;
}

function findGetter(proto: object | null, name: string): unknown {
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(p, name);
    if (descriptor) return descriptor.get ?? descriptor.value;
  }
  return undefined;
}

/** Internal: reads a run's eligibility once (see TrackSet[ELIGIBLE]). */
export const ELIGIBLE = Symbol('tracks.eligible');

/** Internal: how a class lists its raw tracks (methods here; params in ParamTrackSet). */
export const COLLECT_TRACKS = Symbol('tracks.collect');

const TWO_32 = 4294967296;

/** The key hash of docs/assignment.md, or a fresh random one for runs without a key. */
export function keyHashOf(key: string | null): number {
  return key === null ? (Math.random() * TWO_32) | 0 : murmur3Int(key);
}

/**
 * A set of variants ("tracks") of one code path, and a run of it for one user. Tracks are the
 * methods whose names end in `_track` or `Track`, static or instance; `control`, a no-op, is
 * added unless `static addControlTrack = false`. The class's `static id` salts assignment:
 * keep it stable, since renaming it re-randomizes everyone.
 *
 * Creating a run chooses nothing yet; the track is chosen, deterministically from the key,
 * the first time you read `name`, `reason` or `inTest` or call `run()`.
 *
 * @example
 * ```ts
 * class DelayTracks extends TrackSet {
 *   static id = 'delay';
 *   static short_track() { return sleep(500); }
 *   static long_track() { return sleep(2000); }
 * }
 *
 * using track = new DelayTracks({ key: userId });
 * await track.run();
 * console.log(track.name); // 'control', 'short' or 'long', the same for userId every time
 * ```
 */
export abstract class TrackSet<Context = undefined> implements Disposable {
  /** The stable id of the test. Required; renaming it re-randomizes users. */
  declare static id: string;
  /** Add a no-op `control` track (default true). */
  declare static addControlTrack: boolean;
  /** Relative weights by track name (default 1 each). */
  declare static weights: Readonly<Record<string, number>> | undefined;
  /** Share of eligible keys that enter the test at all; the rest get control (default 1). */
  declare static coverage: number;
  /** Weight of this set inside a {@link MultiTrackSet} (default 100). */
  declare static weight: number;
  /** A key keeps the track it first got, even after tracks or weights change (needs a store; default false). */
  declare static sticky: boolean;
  /**
   * The baseline track, for a set without an added control (`addControlTrack = false`):
   * ineligible, uncovered and stopped keys get it, and reports compare every track with it.
   */
  declare static control: string | undefined;
  /**
   * Segments: a few low-cardinality attributes of the run's context recorded with its
   * exposure, so `tracks report --by country` can break results down (at most 8 names, each
   * an identifier; values are strings, numbers or booleans, cut to 64 characters; 1,600 bytes
   * in all as stored, past which the rest are left out and reported; a process
   * records at most 50 distinct values per dimension, later ones as 'other'; undefined or
   * null leaves a dimension out). Called once per exposed unit, never on the request path's
   * hot loop; if it throws, the exposure is recorded without dimensions and `onError` told.
   *
   * @example
   * ```ts
   * class PricingTracks extends TrackSet<{ user: User }> {
   *   static override id = 'pricing';
   *   static override dimensions(context: { user: User }) {
   *     return { country: context.user.country, plan: context.user.plan };
   *   }
   * }
   * ```
   */
  declare static dimensions: ((context: never) => Readonly<Record<string, DimensionValue>> | undefined) | undefined;
  /**
   * Shadow mode: everyone is served the baseline, and on a sample of runs the other tracks run
   * beside it and are compared with it, until `tracks promote` makes the set a live A/B test.
   * See {@link ShadowOptions}.
   *
   * @example
   * ```ts
   * class CatalogQuery extends TrackSet {
   *   static override id = 'catalog-query';
   *   static override addControlTrack = false;
   *   static override control = 'old';
   *   static override shadow: ShadowOptions = { sample: 0.05, timeout: 200 };
   *   static old_track(category: string) { return oldQuery(category); }
   *   static new_track(category: string) { return newQuery(category); }
   * }
   * ```
   */
  declare static shadow: ShadowOptions<never> | undefined;

  // A run's whole state is one field, and the code that chooses and runs a track is functions
  // of it rather than private methods: a run's shape differs with every subclass, so each
  // field the base constructor adds and each private method's brand check goes megamorphic
  // once a few dozen track set classes are in use (choosing a track then took ~0.8 us, not ~0.1).
  readonly #s: RunState;

  constructor(...args: undefined extends Context ? [options?: TrackSetOptions<Context>] : [options: TrackSetOptions<Context>]);
  constructor(options?: TrackSetOptions<Context>) {
    const cached = (new.target as { [DEFINITION]?: TrackSetDefinition })[DEFINITION];
    const definition = cached !== undefined && cached.owner === new.target ? cached : definitionOf(new.target);
    const prepared = preparedKey;
    preparedKey = undefined;
    // Check the options: without a key, `new DelayTracks(userId)` or `{ userID }` would draw a
    // fresh random track on every request, silently; with one, a misspelt `forse` or `contxt`
    // would be ignored (QA gets the user's track, `isEligible` no context). About 5 ns.
    if (prepared === undefined && options !== undefined) checkRunOptions(definition.className, options);
    // No key given: the request scope's, if any (an explicit null still means no key).
    const scope = prepared === undefined && options?.key === undefined ? currentScope() : undefined;
    let key: string | null;
    if (prepared !== undefined) {
      key = prepared.key;
    } else {
      const given = options?.key;
      key = scope !== undefined ? scope.key : given === undefined || given === null ? null : serializeKey(given);
    }
    this.#s = {
      definition,
      key,
      // The scope's context is its user's: it goes with the scope's key only.
      context: options?.context === undefined && scope !== undefined ? scope.context : options?.context,
      keyHash: prepared?.keyHash,
      keyOfScope: scope !== undefined,
      track: undefined,
      reason: 'assigned',
      runId: undefined,
      disposed: false,
      eligible: undefined,
      heldBack: undefined,
      conversionsAtNew: conversionSequence(),
    };
    const force = options?.force;
    if (force !== undefined) {
      // Forced per call: chosen now, so an unknown name throws at the call that gave it.
      const state = this.#s;
      const track = trackNamed(state, force, 'force');
      state.track = track;
      state.reason = 'forced';
      noteChosen(state, track.name);
    }
  }

  /** The serialized key, or null when the run has none (a fresh draw per run). */
  declare readonly key: string | null;
  /** The context given to the run, read by `isEligible` and instance tracks. */
  declare readonly context: Context;

  // Read from the run's state by accessors on the prototype, yet declared as the readonly
  // properties they were: a subclass may narrow them (`declare readonly context: Ctx`), which
  // TypeScript refuses (TS2610) when the base declares an accessor.
  static {
    readConversionsAtNew = (run) => (#s in run ? run.#s.conversionsAtNew : undefined);
    Object.defineProperties(TrackSet.prototype, {
      key: {
        get(this: TrackSet<unknown>): string | null {
          return this.#s.key;
        },
        configurable: true,
      },
      context: {
        get(this: TrackSet<unknown>): unknown {
          const s = this.#s;
          // Before choosing, as choosing would: the scope's context for the scope's own key.
          if (s.track === undefined && s.context === undefined) adoptOwnScopeContext(s, currentScope());
          return s.context;
        },
        configurable: true,
      },
    });
  }

  /**
   * Whether this user may enter the test. Override it as a getter to keep users out (they
   * get control, even when `addControlTrack` is false); it can read `this.context` and `this.key`.
   */
  get isEligible(): boolean {
    return true;
  }

  /** Internal: `isEligible`, read once per run (a MultiTrackSet asks it before choosing). */
  [ELIGIBLE](): boolean {
    const s = this.#s;
    const known = s.eligible;
    if (known === null) {
      // isEligible read the track it decides: choosing asks isEligible again, without end.
      throw new TracksError(
        `${s.definition.className}: isEligible reads the run's own track (name, track, reason, inTest or run()), which isEligible decides; read this.key and this.context in it instead`,
      );
    }
    if (known !== undefined) return known;
    s.eligible = null;
    try {
      return (s.eligible = this.isEligible);
    } finally {
      // A rule that threw is asked afresh next time (the run is not chosen).
      if (s.eligible === null) s.eligible = undefined;
    }
  }

  /** The track set's id (`static id`). */
  get id(): string {
    return this.#s.definition.id;
  }

  /** The chosen track's name. */
  get name(): RunTrackName<this> {
    return chosenOf(this, this.#s).name as RunTrackName<this>;
  }

  /** The chosen track: its name and weight. */
  get track(): Track {
    const { name, weight } = chosenOf(this, this.#s);
    return { name, weight };
  }

  /** Why this run got its track. */
  get reason(): Reason {
    const s = this.#s;
    chosenOf(this, s);
    return s.reason;
  }

  /** Whether the run counts in the test: eligible, covered, not forced, stopped or held out. */
  get inTest(): boolean {
    const s = this.#s;
    chosenOf(this, s);
    return s.reason === 'assigned';
  }

  /** A unique id for this run, created on first read. */
  get runId(): string {
    return (this.#s.runId ??= randomUUID());
  }

  /**
   * Runs the chosen track with `args` and returns what it returns (a promise for an async
   * track). A track that throws throws to you unchanged.
   */
  run(...args: TrackArgs<this>): TrackResult<this> {
    return runTrack(this, this.#s, args as unknown[]) as TrackResult<this>;
  }

  /** Ends the run (the `using` statement calls it). */
  [Symbol.dispose](): void {
    this.#s.disposed = true;
  }

  /** Whether the run has been disposed. */
  get disposed(): boolean {
    return this.#s.disposed;
  }

  /**
   * What `console.log(run)` shows: the set, the key and, once chosen, the track and reason.
   * Logging a run does not choose its track (that would record an exposure). The state is one
   * private field, which Node's inspector would show as `DelayTracks {}`.
   */
  [Symbol.for('nodejs.util.inspect.custom')](_depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    const s = this.#s;
    const shown: Record<string, unknown> = { id: s.definition.id, key: s.key };
    if (s.context !== undefined) shown['context'] = s.context;
    if (s.track !== undefined) Object.assign(shown, { name: s.track.name, reason: s.reason });
    return `${this.constructor.name} ${inspect(shown, options)}`;
  }

  /**
   * Creates a run, like `new`, with `name` typed as the union of the class's track names
   * (the compiler cannot see static methods through `new`).
   *
   * @example
   * ```ts
   * using track = DelayTracks.choose({ key: userId });
   * track.name; // 'control' | 'short' | 'long'
   * ```
   */
  static choose<C extends TrackSetClass>(
    this: C,
    ...options: ForcedOptions<ConstructorParameters<C>, ClassTrackName<C>>
  ): StaticRun<C> & InstanceType<C> & { readonly name: ClassTrackName<C> } {
    const Class = this as unknown as new (...args: typeof options) => InstanceType<C>;
    return new Class(...options) as StaticRun<C> & InstanceType<C> & { readonly name: ClassTrackName<C> };
  }

  /**
   * The callback form of `using`, for code that cannot use it: creates a run, passes it to
   * `fn`, disposes it when `fn` returns or its promise settles, and returns what `fn` returns.
   *
   * @example
   * ```ts
   * const html = await DelayTracks.with({ key: userId }, async (track) => {
   *   await track.run();
   *   return render(track.name);
   * });
   * ```
   */
  static with<C extends TrackSetClass, R>(
    this: C,
    options: ForcedOptions<ConstructorParameters<C>, ClassTrackName<C>>[0],
    fn: (run: StaticRun<C> & InstanceType<C> & { readonly name: ClassTrackName<C> }) => R,
  ): R {
    if (typeof fn !== 'function') {
      throw new TracksError(`${this.name}.with: pass a callback last, e.g. ${this.name}.with({ key: userId }, (track) => track.run())`);
    }
    const Class = this as unknown as new (given: unknown) => StaticRun<C> & InstanceType<C> & { readonly name: ClassTrackName<C> };
    return disposeAfter(new Class(options), fn);
  }

  /**
   * The names of the class's tracks, `control` first when added. A set that adds no control and
   * names no baseline lists only its tracks, though keys outside the test get a no-op `control`
   * (so the element type includes `control`, as `name`'s does).
   *
   * @example
   * ```ts
   * DelayTracks.trackNames(); // ['control', 'short', 'long']
   * ```
   */
  static trackNames<C extends TrackSetClass>(this: C): ClassTrackName<C>[] {
    return trackNamesOf(definitionOf(this)) as ClassTrackName<C>[];
  }

  /** Internal: the class's track methods, static and instance. */
  static [COLLECT_TRACKS](this: typeof TrackSet): RawTrack[] {
    return collectMethodTracks(this);
  }
}

/** The run's track, chosen on first use. */
function chosenOf(run: TrackSet<unknown>, s: RunState): TrackDefinition {
  if (s.track === undefined) {
    if (!s.definition.instanceFieldsChecked) checkInstanceFields(run, s.definition);
    const scope = currentScope();
    if (scope !== undefined) {
      adoptOwnScopeContext(s, scope);
      if (scope.shadowRun !== undefined) return chooseHeldBack(run, s);
    }
    s.track = chooseFor(run, s);
    noteChosen(s, s.track.name, scope);
    // Only after #track is set: the hook reads this run's name.
    if (s.reason === 'assigned') runHooks()?.exposed?.(run as unknown as ChosenRun);
  } else if (s.heldBack !== undefined) {
    releaseHeldBack(run, s);
  }
  return s.track;
}

/**
 * A track written as an instance field (`one_page_track = () => ...`) is a property of each run,
 * not a method of the class: the definition cannot see it (the base constructor runs before a
 * subclass's fields are set), though the compiler counts it among the track names. Checked at
 * the class's first choice, once: a TracksError naming the field and the fix, rather than a
 * track that is silently never chosen.
 */
function checkInstanceFields(run: TrackSet<unknown>, definition: TrackSetDefinition): void {
  const prototype = Object.getPrototypeOf(run) as object;
  for (const field of Object.keys(run)) {
    const name = trackNameOfMethod(field);
    // A method bound in the constructor (this.x_track = this.x_track.bind(this)) is a track already.
    if (name === undefined || typeof (run as unknown as Record<string, unknown>)[field] !== 'function' || field in prototype || definition.byName.has(name)) continue;
    throw new TracksError(
      `${definition.className}: ${field} is an instance field holding a function, not a method, so it is not a track (though the compiler counts '${name}' among the track names); ` +
        `write it as a method, ${field}() { ... }, or, if it is not meant as a track, rename it (names ending in _track or Track are tracks)`,
    );
  }
  definition.instanceFieldsChecked = true;
}

/** Chooses in a shadow candidate's run: what choosing records waits for the run to serve someone. */
function chooseHeldBack(run: TrackSet<unknown>, s: RunState): TrackDefinition {
  s.heldBack = { holdout: undefined };
  try {
    return (s.track = chooseFor(run, s));
  } catch (error) {
    // Not chosen (an isEligible that threw): nothing waits; the next try starts afresh.
    s.heldBack = undefined;
    throw error;
  }
}

/** A run chosen in a candidate's run, used outside one: what choosing records, recorded now. */
function releaseHeldBack(run: TrackSet<unknown>, s: RunState): void {
  if (inShadowRun()) return;
  const held = s.heldBack!;
  s.heldBack = undefined;
  if (held.holdout !== undefined) runHooks()?.holdoutExposed?.(s.key!, held.holdout);
  noteChosen(s, s.track!.name, currentScope());
  if (s.reason === 'assigned') runHooks()?.exposed?.(run as unknown as ChosenRun);
}

function chooseFor(run: TrackSet<unknown>, s: RunState): TrackDefinition {
  const forced = forcedTrack(s.definition.id);
  if (forced !== undefined) {
    s.reason = 'forced';
    return trackNamed(s, forced, 'forceTracks');
  }
  const hooks = runHooks();
  // A ramp (live coverage or weights) changes the definition assignment uses.
  const definition = hooks?.effective?.(s.definition) ?? s.definition;
  let keyHash = s.keyHash;
  // A holdout (configure({ holdout })) comes before stops and eligibility: a held-out key
  // gets the baseline of every set, even of one stopped to roll a track out. Keys are held
  // out by their own draw, once per run; runs without a key never are.
  const holdout = hooks?.holdout;
  if (holdout !== undefined && s.key !== null) {
    keyHash ??= murmur3Int(s.key);
    const held = holdoutTrackOf(holdout, keyHash);
    // In a candidate's run, the holdout's exposure waits with the rest (see heldBack).
    if (s.heldBack !== undefined) s.heldBack.holdout = held.name;
    else hooks!.holdoutExposed?.(s.key, held.name);
    if (held === holdout.control) {
      s.reason = 'holdout';
      return definition.control;
    }
  }
  const instead = hooks?.serveInstead?.(definition);
  if (instead !== undefined) {
    s.reason = instead.reason;
    return (instead.track === undefined ? undefined : definition.byName.get(instead.track)) ?? definition.control;
  }
  if (definition.hasEligibilityRule && !run[ELIGIBLE]()) {
    s.reason = 'ineligible';
    return definition.control;
  }
  // Shadow mode (until promoted): everyone eligible is served the baseline; run() runs the
  // candidates beside it (never for users a candidate could not serve once promoted).
  if (definition.shadow !== null && (hooks?.shadowMode?.(definition.id) ?? true)) {
    s.reason = 'shadow';
    return definition.control;
  }
  const assigned = assign(definition, keyHash ?? keyHashOf(s.key));
  // A sticky set keeps every user's first track, also when a lower coverage leaves them out.
  const sticky = definition.sticky && hooks?.stickyTrack !== undefined && s.key !== null ? hooks.stickyTrack(definition.id, s.key) : undefined;
  const track = (sticky === undefined ? undefined : definition.byName.get(sticky)) ?? assigned;
  if (track === undefined) {
    s.reason = 'not covered';
    return definition.control;
  }
  if (hooks === undefined) return track;
  if (hooks.tripped?.(definition.id, track.name)) {
    s.reason = 'guardrail';
    return definition.control;
  }
  return track;
}

/**
 * A TracksError for options that are not `{ key, context, force }`; `call` is how the class
 * is constructed with a key, for the fix.
 */
export function checkRunOptions(className: string, options: unknown, call = `new ${className}({ key: userId })`): void {
  if (options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TracksError(
      `${className}: the options are ${Array.isArray(options) ? 'an array' : typeof options === 'string' ? shown(options) : `${typeof options} ${String(options)}`}, not an object; ` +
        `pass the key as an option, ${call}`,
    );
  }
  // Compared, not looked up in a Set: every run comes here (about 4 ns a run, measured; a Set 10).
  for (const name in options) {
    if (name !== 'key' && name !== 'context' && name !== 'force') {
      throw new TracksError(`${className}: unknown option ${quoted(name)}; the options are key, context and force (${call})`);
    }
  }
}

function trackNamed(s: RunState, name: string, argument: string): TrackDefinition {
  const track = s.definition.byName.get(name) ?? (name === 'control' ? s.definition.control : undefined);
  if (track === undefined) {
    throw new TracksError(
      `${argument}: ${s.definition.className} has no track '${name}'; its tracks are ${trackNamesOf(s.definition).join(', ')}`,
    );
  }
  return track;
}

/**
 * An explicit key that is the scope's own (once the scope knows its key: resolving a lazy one
 * here could set a visitor cookie) is the same user: the run takes the scope's context too, as
 * it takes its place in the scope's chosen tracks, so the two runs agree. Given no context only.
 */
function adoptOwnScopeContext(s: RunState, scope: ScopeState | undefined): void {
  if (scope !== undefined && !s.keyOfScope && s.context === undefined && s.key !== null && scope.settled && scope.key === s.key) s.context = scope.context;
}

/** Lists the track in the request scope's `chosen` when this run is for the scope's key. */
function noteChosen(s: RunState, track: string, scope = currentScope()): void {
  // An explicit key equal to the scope's counts too, once the scope knows its key (resolving
  // a lazy scope here could set a visitor cookie for a request that never used its key).
  if (scope !== undefined && (s.keyOfScope || (scope.settled && s.key !== null && scope.key === s.key))) {
    scope.chosen[s.definition.id] = track;
  }
}

function runTrack(run: TrackSet<unknown>, s: RunState, args: unknown[]): unknown {
  const track = chosenOf(run, s);
  // In a shadow candidate's run (this call's, whoever chose the track): neither timed nor
  // shadowed itself (a shadow in a shadow).
  if (inShadowRun()) return track.invoke(run, args);
  const shadowed = s.reason === 'shadow';
  if (runHooks()?.ran === undefined) return shadowed ? runWithShadow(run, s.definition, s.key, args) : track.invoke(run, args);
  const started = performance.now();
  let result: unknown;
  try {
    result = shadowed ? runWithShadow(run, s.definition, s.key, args) : track.invoke(run, args);
  } catch (error) {
    ran(run, started, true);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        ran(run, started, false);
        return value;
      },
      (error: unknown) => {
        ran(run, started, true);
        throw error;
      },
    );
  }
  ran(run, started, false);
  return result;
}

function ran(run: TrackSet<unknown>, started: number, failed: boolean): void {
  runHooks()?.ran?.(run as unknown as ChosenRun, performance.now() - started, failed);
}

function trackNamesOf(definition: TrackSetDefinition): string[] {
  return definition.tracks.map((t) => t.name);
}

/** Disposes `run` once `fn`'s result (or its promise) is done; returns that result. */
export function disposeAfter<Run extends Disposable, R>(run: Run, fn: (run: Run) => R): R {
  let result: R;
  try {
    result = fn(run);
  } catch (error) {
    run[Symbol.dispose]();
    throw error;
  }
  if (result instanceof Promise) {
    return result.finally(() => run[Symbol.dispose]()) as R;
  }
  run[Symbol.dispose]();
  return result;
}

/** Internal: a class's track methods (`*_track`, `*Track`), static or instance, as raw tracks. */
export function collectMethodTracks(cls: typeof TrackSet): RawTrack[] {
  const tracks: RawTrack[] = [];
  const taken = new Set<string>();
  const className = cls.name;
  const sides: Array<[object, object, boolean]> = [
    [cls, TrackSet, true],
    [cls.prototype, TrackSet.prototype, false],
  ];
  for (const [start, stop, isStatic] of sides) {
    for (let owner = start; owner !== stop && owner !== null; owner = Object.getPrototypeOf(owner) as object) {
      for (const method of Object.getOwnPropertyNames(owner)) {
        const name = trackNameOfMethod(method);
        if (name === undefined || taken.has(`${isStatic}:${method}`)) continue;
        const descriptor = Object.getOwnPropertyDescriptor(owner, method);
        // As messages show it: a 10,000-character method name, cut and quoted.
        const label = `${isStatic ? 'static ' : ''}${method.length > 60 ? quoted(method) : escapeControl(method)}`;
        const fn: unknown = descriptor?.value;
        // Not a method, not a track: a getter (get addControlTrack(), the option), or a track
        // switched off by a flag (static beta_track = process.env.BETA ? impl : undefined).
        if (typeof fn !== 'function') continue;
        taken.add(`${isStatic}:${method}`);
        tracks.push({
          name,
          origin: `${label}()`,
          invoke: isStatic
            ? (_self, args) => Reflect.apply(fn, cls, args)
            : (self, args) => Reflect.apply(fn, self, args),
        });
      }
    }
  }
  const kinds = new Set(tracks.map((t) => t.origin.startsWith('static ')));
  if (kinds.size > 1) {
    throw new TracksError(
      `${className} mixes static and instance track methods; make them all static or all instance methods ` +
        `(so that the type of track.name can list them)`,
    );
  }
  return tracks;
}
