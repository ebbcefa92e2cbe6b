import { TracksError } from '../errors.js';
import { trackNameOfMethod } from './definition.js';

/** The static fields a track set class is read by (ParamTrackSet's `params` too). */
const STATIC_OPTIONS = ['id', 'weights', 'coverage', 'addControlTrack', 'control', 'sticky', 'weight', 'shadow', 'params'] as const;

/**
 * A TracksError when a class's own static field looks like a misspelt option (`static coverag
 * = 0.1`, `weigths`, `addControlTrak`, `Sticky`): TypeScript cannot see it, and the set would
 * run without the option, at full coverage say, with nothing to tell. A name counts as
 * misspelt when it is an option's in another case, one edit away (a letter added, dropped,
 * changed, or two swapped), or two away from an option of eight letters or more. Track methods
 * and names of two letters or fewer are left alone.
 *
 * @example
 * ```ts
 * checkStaticOptions('DelayTracks', ['id', 'coverag', 'long_track']); // throws: did you mean static coverage?
 * ```
 */
export function checkStaticOptions(className: string, names: readonly string[]): void {
  for (const name of names) {
    if (name.length <= 2 || (STATIC_OPTIONS as readonly string[]).includes(name) || trackNameOfMethod(name) !== undefined) continue;
    const lower = name.toLowerCase();
    for (const option of STATIC_OPTIONS) {
      const distance = editDistance(lower, option.toLowerCase());
      if (distance <= 1 || (distance === 2 && option.length >= 8)) {
        throw new TracksError(
          `${className}: static ${name} is not an option of a track set; did you mean static ${option}? ` +
            `(the options are ${STATIC_OPTIONS.filter((o) => o !== 'params').join(', ')}, and params for a ParamTrackSet)`,
        );
      }
    }
  }
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}
