import { TracksError } from '../errors.js';
import { murmur3, scrambleLabel } from './murmur3.js';
import { nameProblem } from './names.js';
import { quoted, shown } from '../text.js';
import type { Candidate } from './rendezvous.js';
import { readShadow, type ShadowDefinition } from './shadow-definition.js';

/** How a track runs: a method of the class, one entry of a ParamTrackSet, or the no-op control. */
export interface TrackDefinition extends Candidate {
  /** The method it came from, or the params it was built from, for error messages. */
  readonly origin: string;
  /** Runs the track for a run (`self`) with the caller's arguments. */
  readonly invoke: (self: object, args: readonly unknown[]) => unknown;
}

/** A track as the class describes it, before validation. */
export interface RawTrack {
  readonly name: string;
  readonly origin: string;
  readonly invoke: (self: object, args: readonly unknown[]) => unknown;
}

/** What a TrackSet or ParamTrackSet class defines, validated and precomputed once per class. */
export interface TrackSetDefinition {
  /** The class this definition was built for. */
  readonly owner: object;
  readonly className: string;
  readonly id: string;
  /** `murmur3(id)` scrambled: the per-track-set salt mixed into the key hash. */
  readonly salt: number;
  readonly tracks: readonly TrackDefinition[];
  readonly byName: ReadonlyMap<string, TrackDefinition>;
  /**
   * The track served to keys outside the test (ineligible, not covered, stopped without a
   * track named): the baseline, or a no-op one when the set has none.
   */
  readonly control: TrackDefinition;
  /**
   * The baseline every other track is compared with: `static control`, else the `control`
   * track (added or the class's own), else null (a report then asks for one).
   */
  readonly baseline: string | null;
  readonly equalWeights: boolean;
  readonly coverage: number;
  /** Weight of the whole set inside a MultiTrackSet. */
  readonly weight: number;
  /** Whether the class overrides `isEligible`; when it does not, nobody is ineligible. */
  readonly hasEligibilityRule: boolean;
  /** `static sticky`: a key keeps the track it first got, even after tracks or weights change. */
  readonly sticky: boolean;
  /** `static shadow`, validated; null when the set does not run in shadow mode. */
  readonly shadow: ShadowDefinition | null;
  /** Whether a run of the class was checked for tracks written as instance fields (track-set.ts); set once, at the first. */
  instanceFieldsChecked: boolean;
}

/** The static side every track set class has, as the definition reads it. */
export interface TrackSetStatics {
  readonly name: string;
  readonly id?: unknown;
  readonly addControlTrack?: unknown;
  readonly weights?: unknown;
  readonly coverage?: unknown;
  readonly weight?: unknown;
  readonly sticky?: unknown;
  readonly control?: unknown;
  readonly shadow?: unknown;
}

export const CONTROL = 'control';

/**
 * The largest weight a track may have (weights are relative: a million to one is far past any
 * test's need). Near the largest double, sums of weights overflow and shares become NaN.
 */
export const MAX_WEIGHT = 1_000_000;

/**
 * The smallest positive weight, for the same reason: a score is `-ln(u) / weight`, and below
 * about 1e-307 that overflows to Infinity, which no comparison can rank (a TypeError deep in
 * the choice). A millionth keeps every score finite and exact enough.
 */
export const MIN_POSITIVE_WEIGHT = 0.000001;

/** Whether `weight` is a usable weight: 0, or from MIN_POSITIVE_WEIGHT to MAX_WEIGHT. */
export function isUsableWeight(weight: unknown): weight is number {
  return typeof weight === 'number' && (weight === 0 || (weight >= MIN_POSITIVE_WEIGHT && weight <= MAX_WEIGHT));
}

/** The end of a message about an unusable weight: what to give instead (`verb` as the message's others). */
export function weightFix(weight: unknown, verb: 'use' | 'give' = 'use'): string {
  return typeof weight === 'number' && weight > 0 && weight < MIN_POSITIVE_WEIGHT
    ? `${verb} 0, or at least 0.000001 (weights are relative: scale them all up)`
    : `${verb} a number from 0 to 1,000,000 (weights are relative)`;
}

/** `murmur3('tracks:coverage', 1)` scrambled: the label of the coverage draw (docs/assignment.md). */
export const COVERAGE_LABEL = scrambleLabel(murmur3('tracks:coverage', 1));

const noop = (): undefined => undefined;

/** The salt of a track set or MultiTrackSet id, as used by assignment. */
export function saltOf(id: string): number {
  return scrambleLabel(murmur3(id));
}

export function buildDefinition(
  cls: TrackSetStatics,
  rawTracks: readonly RawTrack[],
  hasEligibilityRule: boolean,
): TrackSetDefinition {
  const className = cls.name || 'an anonymous track set class';
  const id = cls.id;
  if (typeof id !== 'string' || id.trim() === '') {
    throw new TracksError(
      `${className}: static id is ${id === undefined ? 'missing' : `not a usable id (${String(id)})`}; ` +
        `add a stable, non-empty string such as static id = '${suggestId(className)}' (renaming it later re-randomizes users)`,
    );
  }
  // A subclass that does not declare its own id would share its parent's users and rows
  // without anyone deciding so.
  const owner = ownerOf(cls, 'id');
  if (owner !== cls) {
    const parent = (owner as { name?: string } | undefined)?.name || 'its parent';
    throw new TracksError(
      `${className} inherits static id '${id}' from ${parent}; give it its own (static id = '${suggestId(className)}'), ` +
        `or write static id = ${parent}.id to share the parent's users and rows on purpose`,
    );
  }
  const idProblem = nameProblem(id);
  if (idProblem !== undefined) {
    throw new TracksError(`${className}: static id ${quoted(id)} ${idProblem}; every store and report must hold it as written`);
  }
  const addControlTrack = readFlag(cls, className, 'addControlTrack', true);
  const sticky = readFlag(cls, className, 'sticky', false);
  const coverage = readNumber(cls, className, 'coverage', 1);
  if (coverage > 1) {
    throw new TracksError(`${className}: static coverage is ${coverage}; use a share of keys between 0 and 1`);
  }
  const weight = readNumber(cls, className, 'weight', 100);

  const seen = new Map<string, RawTrack>();
  for (const track of rawTracks) {
    if (track.name === '') {
      throw new TracksError(`${className}: ${track.origin} gives an empty track name; give the track a name`);
    }
    const problem = nameProblem(track.name);
    if (problem !== undefined) {
      throw new TracksError(`${className}: ${track.origin} gives the track name ${quoted(track.name)}, which ${problem}`);
    }
    const earlier = seen.get(track.name);
    if (earlier) {
      throw new TracksError(
        `${className}: ${earlier.origin} and ${track.origin} both define the track '${track.name}'; rename one of them`,
      );
    }
    seen.set(track.name, track);
  }
  if (seen.size === 0) {
    throw new TracksError(
      `${className} has no tracks; add static methods whose names end in _track or Track (static long_track() { ... })`,
    );
  }
  const userControl = seen.get(CONTROL);
  if (userControl && addControlTrack) {
    throw new TracksError(
      `${className}: ${userControl.origin} defines a 'control' track beside the one addControlTrack adds; ` +
        `set static addControlTrack = false to use yours, or rename it`,
    );
  }
  const all: RawTrack[] = [...seen.values()];
  const controlRaw: RawTrack = userControl ?? { name: CONTROL, origin: 'the added control track', invoke: noop };
  if (addControlTrack) all.unshift(controlRaw);

  const weights = readWeights(cls, className, all);
  const tracks: TrackDefinition[] = all.map((track) => ({
    ...track,
    weight: weights.get(track.name) ?? 1,
    scrambled: scrambleLabel(murmur3(track.name)),
  }));
  const positive = tracks.filter((t) => t.weight > 0);
  if (positive.length === 0) {
    throw new TracksError(`${className}: every track has weight 0; give at least one track a positive weight`);
  }
  const byName = new Map(tracks.map((t) => [t.name, t] as const));
  const baseline = readBaseline(cls, className, byName, addControlTrack);
  const control = (baseline === null ? undefined : byName.get(baseline)) ?? { ...controlRaw, weight: 0, scrambled: scrambleLabel(murmur3(CONTROL)) };
  const shadow = readShadow(cls.shadow, className, id, { name: baseline, added: addControlTrack && baseline === CONTROL });

  return {
    owner: cls,
    className,
    id,
    salt: saltOf(id),
    tracks,
    byName,
    control,
    baseline,
    equalWeights: tracks.every((t) => t.weight === tracks[0]!.weight),
    coverage,
    weight,
    hasEligibilityRule,
    sticky,
    instanceFieldsChecked: false,
    shadow,
  };
}

/** Live changes to a set's configuration (a ramp), applied over what its class says. */
export interface Overrides {
  /** Share of eligible keys in the test, replacing `static coverage`. */
  readonly coverage?: number | undefined;
  /** Weights by track name, replacing the class's for the tracks named (names that are not tracks are ignored). */
  readonly weights?: ReadonlyMap<string, number> | undefined;
}

/**
 * The definition with live overrides applied: new coverage, new weights for the tracks they
 * name. Assignment stays rendezvous, so a new weight or coverage moves only the keys that must
 * move. Overrides that would leave no track a positive weight, or that are out of range, are
 * ignored (the command that wrote them checks them; a later deploy may have changed the tracks).
 */
export function adjustDefinition(definition: TrackSetDefinition, overrides: Overrides): TrackSetDefinition {
  const coverage = overrides.coverage !== undefined && overrides.coverage >= 0 && overrides.coverage <= 1 ? overrides.coverage : definition.coverage;
  const weights = overrides.weights;
  let tracks = definition.tracks;
  if (weights !== undefined && weights.size > 0) {
    const adjusted = tracks.map((t) => {
      const weight = weights.get(t.name);
      return weight !== undefined && isUsableWeight(weight) ? { ...t, weight } : t;
    });
    if (adjusted.some((t) => t.weight > 0)) tracks = adjusted;
  }
  if (coverage === definition.coverage && tracks === definition.tracks) return definition;
  return {
    ...definition,
    tracks,
    byName: tracks === definition.tracks ? definition.byName : new Map(tracks.map((t) => [t.name, t] as const)),
    equalWeights: tracks.every((t) => t.weight === tracks[0]!.weight),
    coverage,
  };
}

/** `static control`, checked against the tracks: the baseline's name, or null when the set has none. */
function readBaseline(cls: TrackSetStatics, className: string, byName: ReadonlyMap<string, TrackDefinition>, addControlTrack: boolean): string | null {
  const value = cls.control;
  if (value === undefined) return byName.has(CONTROL) ? CONTROL : null;
  const tracks = [...byName.keys()].map((name) => `'${name}'`).join(', ');
  if (typeof value !== 'string' || !byName.has(value)) {
    throw new TracksError(`${className}: static control is ${typeof value === 'string' ? quoted(value) : String(value)}, which is not one of its tracks (${tracks}); name the baseline track`);
  }
  if (addControlTrack && value !== CONTROL) {
    throw new TracksError(
      `${className}: static control names '${value}' as the baseline, but the set also adds a 'control' track; ` +
        'set static addControlTrack = false so that the baseline is the only control',
    );
  }
  return value;
}

/** The class in `cls`'s chain that defines `field` itself (a static field is an own property of its class). */
function ownerOf(cls: object, field: string): object | undefined {
  for (let c: object | null = cls; c !== null && c !== Function.prototype; c = Object.getPrototypeOf(c) as object | null) {
    if (Object.hasOwn(c, field)) return c;
  }
  return undefined;
}

/**
 * A set's `static weight` inside a MultiTrackSet, validated. Read again whenever it changes,
 * so `DelayTracks.weight = 1000` (as the seed suggests) works at any time.
 */
export function readSetWeight(cls: TrackSetStatics): number {
  return readNumber(cls, cls.name || 'an anonymous track set class', 'weight', 100);
}

function readFlag(cls: TrackSetStatics, className: string, field: 'addControlTrack' | 'sticky', fallback: boolean): boolean {
  const value = cls[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TracksError(`${className}: static ${field} is ${shown(value)}; set it to true or false`);
  }
  return value;
}

function readNumber(cls: TrackSetStatics, className: string, field: 'coverage' | 'weight', fallback: number): number {
  const value = cls[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (field === 'weight' && !isUsableWeight(value))) {
    const range = field === 'coverage' ? 'use a share of keys between 0 and 1' : `${weightFix(value)}; the default is 100`;
    throw new TracksError(`${className}: static ${field} is ${shown(value)}; ${range}`);
  }
  return value;
}

function readWeights(cls: TrackSetStatics, className: string, tracks: readonly RawTrack[]): Map<string, number> {
  const weights = new Map<string, number>();
  const value = cls.weights;
  if (value === undefined) return weights;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TracksError(`${className}: static weights must be an object of track name to weight, like { long: 2 }`);
  }
  const names = new Set(tracks.map((t) => t.name));
  for (const [name, weight] of Object.entries(value)) {
    if (!names.has(name)) {
      throw new TracksError(
        `${className}: static weights names '${name}', which is not a track; rename it to one of the tracks (${[...names].join(', ')}) or remove it`,
      );
    }
    if (!isUsableWeight(weight)) {
      throw new TracksError(`${className}: weight of '${name}' is ${shown(weight)}; ${weightFix(weight)}`);
    }
    weights.set(name, weight);
  }
  return weights;
}

/** An id to suggest for a class: `CheckoutTracks` gives 'checkout'. */
export function suggestId(className: string): string {
  const base = className.replace(/Tracks?$/, '') || 'my-test';
  return base.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** The track name a method name gives (`long_track` and `longTrack` give `long`), or undefined. */
export function trackNameOfMethod(method: string): string | undefined {
  if (method.endsWith('_track')) return method.slice(0, -'_track'.length);
  if (method.endsWith('Track')) return method.slice(0, -'Track'.length);
  return undefined;
}
