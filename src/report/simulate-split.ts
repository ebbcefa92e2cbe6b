import { assign } from '../core/assign.js';
import { checkBaselineWeight } from '../core/baseline-weight.js';
import type { TrackDefinition, TrackSetDefinition } from '../core/definition.js';
import { murmur3Int, murmur3, scrambleLabel } from '../core/murmur3.js';
import { serializeKey } from '../core/key.js';
import { definitionOf } from '../core/track-set.js';
import type { TrackSetClass } from '../core/track-set.js';
import { TracksError } from '../errors.js';
import { srmCheck } from '../stats/srm-check.js';
import { quoted } from '../text.js';

/**
 * A proposed change to a track set: new weights, tracks added or removed, new coverage.
 *
 * @example
 * ```ts
 * const change: ProposedChange = { addTracks: { medium: 1 }, removeTracks: ['short'] };
 * const simulation = simulateSplit(DelayTracks, keys, change);
 * console.log(simulation.change?.movedShare);
 * ```
 */
export interface ProposedChange {
  /** New weights by track name (tracks not named keep theirs): a Map, or an object of own properties. */
  readonly weights?: ReadonlyMap<string, number> | Readonly<Record<string, number>> | undefined;
  /** Tracks to add, with their weights: a Map, or an object of own properties. */
  readonly addTracks?: ReadonlyMap<string, number> | Readonly<Record<string, number>> | undefined;
  readonly removeTracks?: readonly string[] | undefined;
  readonly coverage?: number | undefined;
}

/**
 * One bucket of a split: a track, or `<baseline> (not covered)` for keys outside coverage, named by
 * the track they get (`control (not covered)`, or `price_adjusted_by_0 (not covered)` for a set
 * whose `static control` is that track).
 *
 * @example
 * ```ts
 * const rows: readonly SplitRow[] = simulateSplit(DelayTracks, keys).split;
 * for (const row of rows) console.log(row.track, row.share, row.expectedShare);
 * ```
 */
export interface SplitRow {
  readonly track: string;
  readonly keys: number;
  readonly share: number;
  readonly expectedShare: number;
}

/**
 * What `simulateSplit` (`tracks simulate`) found: the split of sampled keys per track, its
 * sample-ratio check, and with a proposed change, the keys it would move.
 *
 * @example
 * ```ts
 * const keys = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
 * const simulation: Simulation = simulateSplit(DelayTracks, keys, { weights: { long: 0 } });
 * console.log(simulation.change?.movedShare);
 * ```
 */
export interface Simulation {
  readonly trackSetId: string;
  readonly keys: number;
  readonly split: readonly SplitRow[];
  /** Chi-square goodness of fit of the split to the weights (within coverage). */
  readonly srmPValue: number | null;
  /** Present when a change was proposed. */
  readonly change?: {
    readonly split: readonly SplitRow[];
    /** Share of all keys served another track after the change. */
    readonly movedShare: number;
    /** Moves from one track to another, largest first. */
    readonly moves: readonly { readonly from: string; readonly to: string; readonly keys: number; readonly share: number }[];
    /**
     * Share of all keys served the same track that enter or leave the test (a change of
     * coverage): they run the same code path, so they have not moved, but their exposures
     * start or stop counting in the test.
     */
    readonly coverageOnlyShare: number;
    /** Those keys, by way (`control -> control (not covered)`), largest first. */
    readonly coverageOnly: readonly { readonly from: string; readonly to: string; readonly keys: number; readonly share: number }[];
    /** The least share of keys any change to these shares must serve another track (total variation distance over the tracks served). */
    readonly minimumShare: number;
  };
}

/**
 * The row of keys outside coverage. They are served the set's baseline (its `static control`, its
 * control track, or a no-op `control`), so the row says which: a set without a control track showed
 * 'control (not covered)' before, naming a track it does not have (a tester).
 */
function notCovered(definition: TrackSetDefinition): string {
  return `${definition.control.name} (not covered)`;
}

/**
 * The split of serialized keys across a track set's tracks, its sample-ratio check, and, for
 * a proposed change, exactly which keys would move and where. Pure: uses the assignment of
 * docs/assignment.md, ignoring eligibility rules (they depend on your users' context).
 *
 * @example
 * ```ts
 * simulateSplit(DelayTracks, ['user-1', 'user-2'], { weights: { long: 2 } });
 * ```
 */
export function simulateSplit(trackSet: TrackSetClass, keys: readonly unknown[], change?: ProposedChange): Simulation {
  const definition = definitionOf(trackSet);
  const hashes = keys.map((key) => murmur3Int(serializeKey(key)));
  const outside = notCovered(definition);
  const before = hashes.map((h) => assign(definition, h)?.name ?? outside);
  const split = splitOf(definition, before);
  const inCoverage = split.filter((row) => row.track !== outside);
  const srm = srmCheck(inCoverage.map((r) => r.keys), inCoverage.map((r) => r.expectedShare));
  const result: Simulation = { trackSetId: definition.id, keys: keys.length, split, srmPValue: srm.ok ? srm.pValue : null };
  if (change === undefined) return result;

  const proposed = proposedDefinition(definition, change);
  const after = hashes.map((h) => assign(proposed, h)?.name ?? outside);
  // A key outside coverage is served the baseline: between it and the baseline in the test it
  // changes whether it counts in the test, not the code path it runs, so it has not moved.
  const served = (name: string): string => (name === outside ? definition.control.name : name);
  const moves = new Map<string, number>();
  const coverageOnly = new Map<string, number>();
  let moved = 0;
  let inOrOut = 0;
  for (let i = 0; i < keys.length; i++) {
    if (before[i] === after[i]) continue;
    const same = served(before[i]!) === served(after[i]!);
    if (same) inOrOut++;
    else moved++;
    const edges = same ? coverageOnly : moves;
    const edge = `${before[i]}\0${after[i]}`;
    edges.set(edge, (edges.get(edge) ?? 0) + 1);
  }
  const share = (n: number): number => (keys.length === 0 ? 0 : n / keys.length);
  const listed = (edges: ReadonlyMap<string, number>) =>
    [...edges]
      .map(([edge, n]) => {
        const [from, to] = edge.split('\0') as [string, string];
        return { from, to, keys: n, share: share(n) };
      })
      .sort((a, b) => b.keys - a.keys);
  const splitAfter = splitOf(proposed, after);
  return {
    ...result,
    change: {
      split: splitAfter,
      movedShare: share(moved),
      moves: listed(moves),
      coverageOnlyShare: share(inOrOut),
      coverageOnly: listed(coverageOnly),
      minimumShare: minimumShare(split, splitAfter, served),
    },
  };
}

function splitOf(definition: TrackSetDefinition, names: readonly string[]): SplitRow[] {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  const total = definition.tracks.reduce((a, t) => a + t.weight, 0);
  const rows: SplitRow[] = definition.tracks.map((t) => ({
    track: t.name,
    keys: counts.get(t.name) ?? 0,
    share: names.length === 0 ? 0 : (counts.get(t.name) ?? 0) / names.length,
    expectedShare: (definition.coverage * t.weight) / total,
  }));
  if (definition.coverage < 1) {
    const n = counts.get(notCovered(definition)) ?? 0;
    rows.push({ track: notCovered(definition), keys: n, share: names.length === 0 ? 0 : n / names.length, expectedShare: 1 - definition.coverage });
  }
  return rows;
}

/**
 * Total variation distance between the expected shares of each track served (keys outside
 * coverage with the baseline's, as `served` names them): no assignment can move fewer keys.
 */
function minimumShare(before: readonly SplitRow[], after: readonly SplitRow[], served: (name: string) => string): number {
  const shares = (rows: readonly SplitRow[]) => {
    const byTrack = new Map<string, number>();
    for (const r of rows) byTrack.set(served(r.track), (byTrack.get(served(r.track)) ?? 0) + r.expectedShare);
    return byTrack;
  };
  const a = shares(before);
  const b = shares(after);
  let distance = 0;
  for (const name of new Set([...a.keys(), ...b.keys()])) distance += Math.abs((a.get(name) ?? 0) - (b.get(name) ?? 0));
  return distance / 2;
}

/** The definition a change would give, built as the class would be (not registered). */
function proposedDefinition(definition: TrackSetDefinition, change: ProposedChange): TrackSetDefinition {
  const removed = new Set(change.removeTracks ?? []);
  const known = () => `its tracks are ${[...definition.byName.keys()].map(quoted).join(', ')}`;
  for (const name of removed) {
    if (!definition.byName.has(name)) throw new TracksError(`cannot remove ${quoted(name)}: ${quoted(definition.id)} has no such track (${known()}); name one of them in removeTracks (--remove-track)`);
  }
  // As a weight of 0 (checkBaselineWeight): the phases to come would have no baseline.
  if (definition.baseline !== null && removed.has(definition.baseline) && !definition.sticky) {
    throw new TracksError(
      `cannot remove ${quoted(definition.baseline)}: it is the baseline of ${quoted(definition.id)}, which every phase compares its tracks with; name another track as the class's baseline first (static control = '<track>'), or simulate other weights (weights, --weights)`,
    );
  }
  const weights = asMap(change.weights);
  const tracks: TrackDefinition[] = definition.tracks
    .filter((t) => !removed.has(t.name))
    .map((t) => ({ ...t, weight: weights.get(t.name) ?? t.weight }));
  for (const [name, weight] of asMap(change.addTracks)) {
    if (tracks.some((t) => t.name === name)) throw new TracksError(`cannot add ${quoted(name)}: ${quoted(definition.id)} already has that track; change its weight with weights (--weights) instead`);
    tracks.push({ name, weight, origin: 'proposed', invoke: () => undefined, scrambled: scrambleLabel(murmur3(name)) });
  }
  for (const name of weights.keys()) {
    if (!tracks.some((t) => t.name === name)) throw new TracksError(`cannot weigh ${quoted(name)}: ${quoted(definition.id)} has no such track (${known()}); add it with addTracks (--add-track), or fix the name`);
  }
  for (const t of tracks) {
    if (!Number.isFinite(t.weight) || t.weight < 0) throw new TracksError(`the proposed weight of ${quoted(t.name)} is ${t.weight}; use a finite number >= 0`);
  }
  // The rule of rampTrackSet (tracks ramp), so that a simulated change is one a ramp can make.
  checkBaselineWeight(definition.id, definition.baseline, definition.sticky, weights);
  if (!tracks.some((t) => t.weight > 0)) throw new TracksError(`the proposed change leaves no track of ${quoted(definition.id)} with a positive weight; give at least one track a weight above 0`);
  const coverage = change.coverage ?? definition.coverage;
  if (!(coverage >= 0 && coverage <= 1)) throw new TracksError(`the proposed coverage is ${coverage}; use a share between 0 and 1 (0.25 covers a quarter of keys)`);
  return {
    ...definition,
    tracks,
    byName: new Map(tracks.map((t) => [t.name, t] as const)),
    equalWeights: tracks.every((t) => t.weight === tracks[0]!.weight),
    coverage,
  };
}

/** Names to numbers as a Map: any name (`constructor`, `__proto__`) is a plain key. */
function asMap(value: ReadonlyMap<string, number> | Readonly<Record<string, number>> | undefined): ReadonlyMap<string, number> {
  if (value === undefined) return new Map();
  return value instanceof Map ? value : new Map(Object.entries(value));
}
