// Runs are Disposable (`using`): the declarations name that lib, so a project whose `types`
// or `lib` leave it out (TypeScript 7 loads no @types by default) still compiles them.
/// <reference lib="esnext.disposable" preserve="true" />
import { randomUUID } from 'node:crypto';
import { TracksError } from '../errors.js';
import { escapeControl, quoted, shown } from '../text.js';
import { CONTROL, readSetWeight, saltOf } from './definition.js';
import type { TrackSetDefinition } from './definition.js';
import { forcedTrack } from './forcing.js';
import type { ForcedTracks } from './forcing.js';
import { serializeKey } from './key.js';
import { currentScope } from './request-scope.js';
import { mixInt, murmur3, scrambleLabel } from './murmur3.js';
import { rendezvous } from './rendezvous.js';
import type { Candidate } from './rendezvous.js';
import type { Reason } from './run-hooks.js';
import { TrackSet, checkRunOptions, constructWithKey, definitionOf, disposeAfter, ELIGIBLE, keyHashOf } from './track-set.js';
import type { Track, TrackSetClass } from './track-set.js';
import type { ClassTrackName, ClassTrackResult, EveryClassTrackArgs } from './track-names.js';

/** The context a track set class's runs need (`undefined` when it needs none). */
export type ContextOf<C> = C extends abstract new (...args: never) => infer Run ? (Run extends { readonly context: infer X } ? X : never) : never;

type UnionToIntersection<U> = (U extends unknown ? (k: U) => void : never) extends (k: infer I) => void ? I : never;

/** The context every member of `Sets` needs at once, or `never` when none needs one. */
export type ContextOfSets<Sets extends readonly TrackSetClass[]> = [Exclude<ContextOf<Sets[number]>, undefined>] extends [never]
  ? never
  : UnionToIntersection<Exclude<ContextOf<Sets[number]>, undefined>>;

/** `true` for a set class whose runs need a context (their context type does not allow undefined). */
type NeedsContext<C> = C extends unknown ? ([ContextOf<C>] extends [never] ? never : undefined extends ContextOf<C> ? never : true) : never;

/**
 * The options argument for `Sets`: `context` is required when a member set needs one; when
 * every member that reads one allows undefined (`TrackSet<Visitor | undefined>`, as a set run
 * in a request scope declares), the options may be left out, as a TrackSet's may.
 */
export type MultiTrackSetArgs<Sets extends readonly TrackSetClass[]> = [ContextOfSets<Sets>] extends [never]
  ? [options?: MultiTrackSetOptions]
  : [NeedsContext<Sets[number]>] extends [never]
    ? [options?: MultiTrackSetOptions<ContextOfSets<Sets> | undefined>]
    : [options: MultiTrackSetOptions<ContextOfSets<Sets>> & { readonly context: ContextOfSets<Sets> }];

/** The track names of the sets, distributed over them; `string` where the compiler sees none (a subclass's `static trackSets`). */
export type MultiTrackName<Sets extends readonly TrackSetClass[]> = Sets[number] extends infer C ? (C extends TrackSetClass ? ClassTrackName<C> | 'control' : never) : never;
/**
 * What a MultiTrackSet's `run()` takes: the arguments every track of every member set takes
 * (any of them may be chosen); `unknown[]` where the compiler sees no track method of a set (a
 * subclass's `static trackSets`: TrackSetClass alone).
 */
export type MultiTrackArgs<Sets extends readonly TrackSetClass[]> = EveryClassTrackArgs<Sets[number]>;
/** What a MultiTrackSet's `run()` returns: any member set's track result, or undefined (no set chosen, or a no-op control). */
export type MultiTrackResult<Sets extends readonly TrackSetClass[]> = (Sets[number] extends infer C ? (C extends TrackSetClass ? ClassTrackResult<C> : never) : never) | undefined;

/**
 * What a MultiTrackSet run is given: the key and context every member set sees.
 *
 * @example
 * ```ts
 * const options = { key: user.id, context: { user }, force: { delay: 'long' } } satisfies MultiTrackSetOptions<{ user: User }>;
 * using multitrack = new MultiTrackSet([DelayTracks, PricingTracks], options);
 * await multitrack.run();
 * ```
 */
export interface MultiTrackSetOptions<Context = unknown> {
  /** Who is assigned; omit for the request scope's key (and context), or outside one for a fresh draw per run. */
  readonly key?: unknown;
  /** Passed to every member set's `isEligible` and instance tracks. */
  readonly context?: Context | undefined;
  /** Forces track sets to tracks, by set id, for QA: the first forced member is chosen. */
  readonly force?: ForcedTracks | undefined;
}

interface Member extends Candidate {
  readonly cls: TrackSetClass;
  readonly definition: TrackSetDefinition;
  /** `cls.weight` as it was when this member was built; a change rebuilds the definition. */
  readonly declaredWeight: unknown;
}

interface MultiDefinition {
  readonly className: string;
  readonly members: readonly Member[];
  readonly salt: number;
  readonly equalWeights: boolean;
}

/** Default salt of MultiTrackSet choices; a subclass's `static id` replaces it. */
const MULTI_SALT_ID = 'tracks:multi';
const byClass = new WeakMap<object, MultiDefinition>();

/**
 * Runs several tests at once with mutual exclusion: each user gets exactly one of the track
 * sets they are eligible for, chosen by the sets' `static weight` (default 100), then a
 * track inside it. Adding, removing or re-weighting a set moves only the users who go to or
 * come from it. Users eligible for no set get `control` and `run()` does nothing.
 *
 * @example
 * ```ts
 * using multitrack = new MultiTrackSet([DelayTracks, PricingTracks], { key: userId });
 * await multitrack.run(response);
 * multitrack.trackSet?.id; // 'delay' or 'pricing'
 * multitrack.name;         // the chosen track, e.g. 'long' or 'price_adjusted_by_-2'
 *
 * // or as a class:
 * class CoconutTests extends MultiTrackSet {
 *   static trackSets = [DelayTracks, PricingTracks];
 * }
 * ```
 */
export class MultiTrackSet<const Sets extends readonly TrackSetClass[] = readonly TrackSetClass[]>
  implements Disposable
{
  /** The member track sets of a subclass. */
  declare static trackSets: readonly TrackSetClass[] | undefined;
  /** Salts the choice of set; optional, and changing it re-randomizes which set users get. */
  declare static id: string | undefined;

  /** The chosen set's run, or null when the user is eligible for none. */
  readonly trackSet: RunOf<Sets[number]> | null;
  /** The serialized key, or null without one. */
  readonly key: string | null;
  #runId: string | undefined;

  constructor(trackSets: Sets, ...options: MultiTrackSetArgs<Sets>);
  constructor(options?: MultiTrackSetOptions);
  constructor(setsOrOptions?: Sets | MultiTrackSetOptions, maybeOptions?: MultiTrackSetOptions) {
    const given = Array.isArray(setsOrOptions);
    const options = (given ? maybeOptions : setsOrOptions) as MultiTrackSetOptions | undefined;
    const definition = given
      ? listedDefinitionOf(setsOrOptions as readonly TrackSetClass[], new.target)
      : multiDefinitionOf(new.target);
    // Check the options, as a TrackSet run does: a positional key or a misspelt option name
    // would draw a fresh random set on every request, or be ignored, silently.
    if (options !== undefined) {
      checkRunOptions(definition.className, options, `new ${definition.className}(${given ? '[...sets], ' : ''}{ key: userId })`);
    }
    const rawKey = options?.key;
    // No key given: the request scope's, with its context, as a TrackSet run takes them.
    const scope = rawKey === undefined ? currentScope() : undefined;
    this.key = scope !== undefined ? scope.key : rawKey === undefined || rawKey === null ? null : serializeKey(rawKey);
    const keyHash = keyHashOf(this.key);
    const chosenWith = scope !== undefined && options?.context === undefined ? { ...options, context: scope.context } : options;
    this.trackSet = choose(definition, this.key, keyHash, chosenWith) as RunOf<Sets[number]> | null;
  }

  /** The chosen track (name and weight), or null when the user is eligible for no set. */
  get track(): Track | null {
    return this.#run()?.track ?? null;
  }

  /** The chosen track's name; `control` when the user is eligible for no set. Typed as the union of the sets' track names where the compiler sees them (sets listed in `new MultiTrackSet([...])`). */
  get name(): MultiTrackName<Sets> {
    return (this.#run()?.name ?? CONTROL) as MultiTrackName<Sets>;
  }

  /** Whether the run counts in the chosen set's test. */
  get inTest(): boolean {
    return this.#run()?.inTest ?? false;
  }

  /** Why this run got its track; `ineligible` when no set would take the user. */
  get reason(): Reason {
    return this.#run()?.reason ?? 'ineligible';
  }

  /** The chosen set's run id, or a fresh one when no set was chosen. */
  get runId(): string {
    return this.#run()?.runId ?? (this.#runId ??= randomUUID());
  }

  /**
   * Runs the chosen track with `args`; does nothing (returns undefined) when no set was chosen.
   * Typed from the sets' track methods where the compiler sees them: the arguments of any of
   * them (any may be chosen), the union of their results and undefined.
   */
  run(...args: MultiTrackArgs<Sets>): MultiTrackResult<Sets> {
    return this.#run()?.run(...(args as unknown[])) as MultiTrackResult<Sets>;
  }

  #run(): AnyRun | null {
    return this.trackSet as AnyRun | null;
  }

  /** Ends the run (the `using` statement calls it). */
  [Symbol.dispose](): void {
    this.#run()?.[Symbol.dispose]();
  }

  /**
   * The callback form of `using`: creates a run as `new` does (of the class it is called on, so
   * a subclass's `static trackSets` and `static id` hold), passes it to `fn`, disposes it when
   * `fn` returns or its promise settles, and returns what `fn` returns.
   *
   * @example
   * ```ts
   * await MultiTrackSet.with([DelayTracks, PricingTracks], { key: userId }, (multitrack) => multitrack.run(response));
   * await CoconutTests.with({ key: userId }, (multitrack) => multitrack.run(response)); // static trackSets
   * ```
   */
  static with<M extends MultiTrackSet, R>(this: new (options?: MultiTrackSetOptions) => M, options: MultiTrackSetOptions | undefined, fn: (run: M) => R): R;
  static with<const S extends readonly TrackSetClass[], R>(trackSets: S, options: MultiTrackSetArgs<S>[0], fn: (run: MultiTrackSet<S>) => R): R;
  static with(this: typeof MultiTrackSet, ...args: unknown[]): unknown {
    const fn = args.at(-1);
    if (typeof fn !== 'function') {
      throw new TracksError(
        `${this.name}.with: pass a callback last, e.g. ${this.name}.with({ key: userId }, (multitrack) => multitrack.run())`,
      );
    }
    // The list form when sets are given; else the class's own static trackSets.
    const run = Array.isArray(args[0])
      ? new this(args[0] as readonly TrackSetClass[], args[1] as MultiTrackSetOptions | undefined)
      : new this(args.length > 1 ? (args[0] as MultiTrackSetOptions | undefined) : undefined);
    return disposeAfter(run, fn as (run: MultiTrackSet) => unknown);
  }
}

function multiDefinitionOf(cls: typeof MultiTrackSet): MultiDefinition {
  let definition = byClass.get(cls);
  if (definition === undefined || weightsChanged(definition)) {
    const sets = cls.trackSets;
    if (sets === undefined) {
      throw new TracksError(
        `${cls.name}: no track sets given; pass them (new MultiTrackSet([DelayTracks, PricingTracks], { key })) ` +
          `or declare static trackSets = [DelayTracks, PricingTracks] in a subclass`,
      );
    }
    definition = buildMultiDefinition(sets, cls);
    byClass.set(cls, definition);
  }
  return definition;
}

// Definitions of lists passed inline (`new MultiTrackSet([A, B], ...)` builds a new array per
// request), found by their first class and compared element by element.
const byList = new WeakMap<object, { sets: readonly TrackSetClass[]; cls: object; definition: MultiDefinition }[]>();

function listedDefinitionOf(sets: readonly TrackSetClass[], cls: typeof MultiTrackSet): MultiDefinition {
  const first = sets[0];
  if (typeof first !== 'function') return buildMultiDefinition(sets, cls);
  let entries = byList.get(first);
  if (entries !== undefined) {
    for (const [i, entry] of entries.entries()) {
      if (entry.cls !== cls || !sameList(entry.sets, sets)) continue;
      if (!weightsChanged(entry.definition)) return entry.definition;
      entries.splice(i, 1);
      break;
    }
  }
  const definition = buildMultiDefinition(sets, cls);
  (entries ??= []).push({ sets: [...sets], cls, definition });
  if (entries.length > 64) entries.shift(); // lists built dynamically must not grow this forever
  byList.set(first, entries);
  return definition;
}

function weightsChanged(definition: MultiDefinition): boolean {
  for (const member of definition.members) {
    if ((member.cls as { weight?: unknown }).weight !== member.declaredWeight) return true;
  }
  return false;
}

function sameList(a: readonly TrackSetClass[], b: readonly TrackSetClass[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function buildMultiDefinition(sets: readonly TrackSetClass[], cls: typeof MultiTrackSet): MultiDefinition {
  const className = cls.name;
  if (!Array.isArray(sets) || sets.length === 0) {
    throw new TracksError(`${className}: the list of track sets is empty; give it at least one TrackSet class`);
  }
  const seen = new Map<string, string>();
  const members = sets.map((set, index): Member => {
    if (typeof set !== 'function') {
      throw new TracksError(`${className}: track set #${index} is ${shown(set)}; pass TrackSet classes${set instanceof TrackSet ? ', not instances' : ''}`);
    }
    if (set === TrackSet || !((set as { prototype?: unknown }).prototype instanceof TrackSet)) {
      const name = (set as { name?: unknown }).name;
      throw new TracksError(
        `${className}: track set #${index}: ${typeof name === 'string' && name !== '' ? escapeControl(name) : 'a function'} is not a track set; extend TrackSet (or ParamTrackSet) and give it tracks`,
      );
    }
    const definition = definitionOf(set);
    const other = seen.get(definition.id);
    if (other !== undefined) {
      throw new TracksError(
        `${className}: ${other} and ${definition.className} share the id '${definition.id}'; list each track set once, each with its own id`,
      );
    }
    seen.set(definition.id, definition.className);
    const declaredWeight: unknown = (set as { weight?: unknown }).weight;
    return {
      cls: set,
      definition,
      declaredWeight,
      name: definition.id,
      weight: readSetWeight(set),
      scrambled: scrambleLabel(murmur3(definition.id)),
    };
  });
  if (members.every((m) => m.weight === 0)) {
    throw new TracksError(`${className}: every track set has weight 0; give at least one a positive static weight`);
  }
  const id = cls.id;
  if (id !== undefined && (typeof id !== 'string' || id.trim() === '')) {
    throw new TracksError(`${className}: static id is ${typeof id === 'string' ? quoted(id) : String(id)}; use a non-empty string or leave it out`);
  }
  return {
    className,
    members,
    salt: saltOf(id ?? MULTI_SALT_ID),
    equalWeights: members.every((m) => m.weight === members[0]!.weight),
  };
}

type AnyRun = TrackSet<unknown>;

/** The run type of a track set class. */
export type RunOf<C> = C extends abstract new (...args: never) => infer Run ? (Run extends TrackSet<unknown> ? Run : never) : never;

type RunConstructor = new (options: object) => AnyRun;

function choose(
  definition: MultiDefinition,
  key: string | null,
  keyHash: number,
  options: MultiTrackSetOptions | undefined,
): AnyRun | null {
  const members = definition.members;
  const context = options?.context;
  const build = (member: Member, force?: string): AnyRun =>
    constructWithKey(member.cls as unknown as RunConstructor, force === undefined ? { context } : { context, force }, key, keyHash);

  // QA forcing: the first forced member wins, and its run serves the forced track. A set id
  // that is no member is a typo, never a silent no-op.
  const given = options?.force;
  const force = given === null ? undefined : given;
  if (force !== undefined) {
    if (typeof force !== 'object' || Array.isArray(force)) {
      throw new TracksError(
        `${definition.className}: force takes tracks by set id, like { force: { ${quoted(members[0]!.definition.id)}: 'long' } }, not ${typeof force === 'string' ? quoted(force) : Array.isArray(force) ? 'an array' : String(force)}`,
      );
    }
    for (const id of Object.keys(force)) {
      if (!members.some((m) => m.definition.id === id)) {
        throw new TracksError(
          `${definition.className}: force names the set ${quoted(id)}, which is not one of its track sets (${members.map((m) => quoted(m.definition.id)).join(', ')}); fix the id`,
        );
      }
    }
  }
  for (const member of members) {
    const forced = force !== undefined && Object.hasOwn(force, member.definition.id) ? force[member.definition.id] : undefined;
    if (forced !== undefined) return build(member, forced);
    if (forcedTrack(member.definition.id) !== undefined) {
      // Chosen now, inside the scope that forced the set: read after the scope, a lazy run
      // would be assigned a track of a set it was in only by forcing, and counted in the test.
      const run = build(member);
      void run.name;
      return run;
    }
  }

  // Eligibility is evaluated once per member that has a rule; the run built to ask it is
  // kept, so the chosen set's run is built only once.
  let candidates: readonly Member[] = members;
  let probes: Map<Member, AnyRun> | undefined;
  for (const member of members) {
    if (!member.definition.hasEligibilityRule) continue;
    const probe = build(member);
    (probes ??= new Map()).set(member, probe);
    if (!probe[ELIGIBLE]()) candidates = candidates.filter((m) => m !== member);
  }
  const index = rendezvous(mixInt(keyHash, definition.salt), candidates, definition.equalWeights);
  if (index < 0) return null;
  const chosen = candidates[index]!;
  return probes?.get(chosen) ?? build(chosen);
}
