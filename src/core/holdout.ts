import { TracksError } from '../errors.js';
import { assign } from './assign.js';
import { MIN_POSITIVE_WEIGHT, saltOf } from './definition.js';
import type { TrackDefinition, TrackSetDefinition } from './definition.js';
import { serializeKey } from './key.js';
import { murmur3, murmur3Int, scrambleLabel } from './murmur3.js';
import { nameProblem } from './names.js';
import { quoted } from '../text.js';

/**
 * A holdout (`configure({ holdout })`): a share of keys that gets every track set's baseline,
 * chosen by its own salt, so that comparing them with everyone else measures the cumulative
 * effect of everything shipped.
 *
 * @example
 * ```ts
 * const holdout: HoldoutOptions = { id: 'h2026q4', share: 0.05 };
 * configure({ store: 'tracks.db', holdout });
 * ```
 */
export interface HoldoutOptions {
  /**
   * The holdout's stable id, e.g. `'h2026q4'`: it salts who is held out (a new id draws a new
   * holdout) and is the id its exposures are recorded under, so it must not be a track set's id.
   */
  readonly id: string;
  /** The share of keys held out, in (0, 0.5] and at least 0.000001: 0.05 holds out 5%. Raising it only adds keys. */
  readonly share: number;
}

/** The track of held-out keys in the holdout's pseudo track set (its baseline). */
export const HOLDOUT_TRACK = 'holdout';
/** The track of every other key in the holdout's pseudo track set. */
export const GENERAL_TRACK = 'general';

const HOLDOUT_FIELDS: readonly string[] = ['id', 'share'];
const noop = (): undefined => undefined;

/**
 * The holdout as a track set definition, checked: id `holdout.id`, tracks `holdout` (weight
 * `share`, the baseline) and `general` (weight `1 - share`), coverage 1, not sticky. Assigning
 * a key in it (docs/assignment.md) is the holdout draw, and recording publishes it like any
 * set, so the report compares `general` with `holdout`. A bad option is a TracksError naming
 * `holdout.id` or `holdout.share` and the fix.
 */
export function holdoutDefinition(holdout: unknown, caller = 'configure'): TrackSetDefinition {
  if (typeof holdout !== 'object' || holdout === null || Array.isArray(holdout)) {
    throw new TracksError(
      `${caller}: holdout is ${holdout === null ? 'null' : Array.isArray(holdout) ? 'an array' : typeof holdout}; ` +
        "pass { id: 'h2026q4', share: 0.05 } (the holdout's id and the share of keys it holds out), or leave it out",
    );
  }
  for (const field of Object.keys(holdout)) {
    if (!HOLDOUT_FIELDS.includes(field)) {
      throw new TracksError(`${caller}: holdout has an unknown field ${quoted(field)}; a holdout is { id, share }, e.g. { id: 'h2026q4', share: 0.05 }`);
    }
  }
  const { id, share } = holdout as { id?: unknown; share?: unknown };
  const idProblem = id === undefined ? 'is missing' : nameProblem(id);
  if (idProblem !== undefined) {
    throw new TracksError(
      `${caller}: holdout.id ${typeof id === 'string' ? `${quoted(id)} ` : ''}${idProblem}; give the holdout a stable id ` +
        "such as 'h2026q4' (it salts who is held out, and its exposures are recorded under it)",
    );
  }
  // At least a millionth, as every positive weight (MIN_POSITIVE_WEIGHT): a share near 1e-308
  // made the holdout's score Infinity, which the choice cannot rank.
  if (typeof share !== 'number' || !(share >= MIN_POSITIVE_WEIGHT && share <= 0.5)) {
    throw new TracksError(
      `${caller}: holdout.share is ${share === undefined ? 'missing' : typeof share === 'number' ? share : `${typeof share} ${quoted(String(share))}`}; ` +
        'use the share of keys to hold out, a number in (0, 0.5], e.g. 0.05 for 5% (at least 0.000001)',
    );
  }
  return buildHoldoutDefinition(id as string, share);
}

function buildHoldoutDefinition(id: string, share: number): TrackSetDefinition {
  const track = (name: string, weight: number): TrackDefinition => ({
    name,
    weight,
    scrambled: scrambleLabel(murmur3(name)),
    origin: `the holdout's ${name} track`,
    invoke: noop,
  });
  const held = track(HOLDOUT_TRACK, share);
  const tracks = [held, track(GENERAL_TRACK, 1 - share)];
  return {
    owner: {},
    className: `holdout ${quoted(id)}`,
    id,
    salt: saltOf(id),
    tracks,
    byName: new Map(tracks.map((t) => [t.name, t] as const)),
    control: held,
    baseline: HOLDOUT_TRACK,
    equalWeights: tracks[0]!.weight === tracks[1]!.weight,
    coverage: 1,
    weight: 100,
    hasEligibilityRule: false,
    sticky: false,
    shadow: null,
    instanceFieldsChecked: true,
  };
}

/**
 * The holdout track of a key hash (`holdout` or `general`): the pure assignment of
 * docs/assignment.md in the holdout's definition, whose weighted rendezvous between the two
 * tracks means that raising the share only moves keys from `general` into `holdout`.
 */
export function holdoutTrackOf(definition: TrackSetDefinition, keyHash: number): TrackDefinition {
  // Coverage is 1 and both weights are positive: assign always answers.
  return assign(definition, keyHash)!;
}

// The last holdout inHoldout was asked about: callers ask about one holdout, key after key.
let last: { readonly id: unknown; readonly share: unknown; readonly definition: TrackSetDefinition } | undefined;

/**
 * Whether a key is in a holdout: the same answer `configure({ holdout })` serves by, in every
 * process. The draw is salted by the holdout's id, so it is independent of every track set's
 * assignment, and weighted rendezvous between `holdout` (weight `share`) and `general`
 * (`1 - share`), so raising the share only adds keys to the holdout. A key is serialized as a
 * run's is; without one (null or undefined) the answer is false, as runs without a key are
 * never held out. Use it to keep code outside track sets off for held-out users too.
 *
 * @example
 * ```ts
 * const HOLDOUT = { id: 'h2026q4', share: 0.05 };
 * configure({ store: 'tracks.db', holdout: HOLDOUT });
 * if (!inHoldout(userId, HOLDOUT)) showNewOnboarding(); // shipped outside tracks, held out too
 * ```
 */
export function inHoldout(key: unknown, holdout: HoldoutOptions): boolean {
  if (key === undefined || key === null) return false;
  let cached = last;
  if (cached === undefined || cached.id !== holdout?.id || cached.share !== holdout?.share) {
    cached = last = { id: holdout?.id, share: holdout?.share, definition: holdoutDefinition(holdout, 'inHoldout') };
  }
  return holdoutTrackOf(cached.definition, murmur3Int(serializeKey(key))) === cached.definition.control;
}
