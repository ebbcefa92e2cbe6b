import { TracksError } from '../errors.js';
import { trackNameOfMethod } from './definition.js';
import { nearestName } from './suggest.js';

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
    // Stricter than an option object's: a class may have statics of its own.
    const option = nearestName(name, STATIC_OPTIONS, (o) => (o.length >= 8 ? 2 : 1));
    if (option !== undefined) {
      throw new TracksError(
        `${className}: static ${name} is not an option of a track set; did you mean static ${option}? ` +
          `(the options are ${STATIC_OPTIONS.filter((o) => o !== 'params').join(', ')}, and params for a ParamTrackSet)`,
      );
    }
  }
}
