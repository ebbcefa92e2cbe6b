import { TracksError } from '../errors.js';
import { quoted } from '../text.js';

/**
 * Edits between two names (optimal string alignment: a character added, dropped or changed,
 * or two neighbours swapped, each counts one), for "did you mean" suggestions.
 *
 * @example
 * ```ts
 * editDistance('weigths', 'weights'); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The name of `known` nearest to `given` (by {@link editDistance}, letter case aside), if one is
 * within `within(name)` edits (2 by default): the one "did you mean" suggestion for a misspelt
 * option, a CLI flag or a static member.
 *
 * @example
 * ```ts
 * nearestName('flushIntervall', ['store', 'flushInterval']); // 'flushInterval'
 * ```
 */
export function nearestName(given: string, known: readonly string[], within: (name: string) => number = () => 2): string | undefined {
  let nearest: string | undefined;
  let best = Number.POSITIVE_INFINITY;
  const lower = given.toLowerCase();
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= within(name) && distance < best) [nearest, best] = [name, distance];
  }
  return nearest;
}

/**
 * Throws a TracksError for an option that is not in `known`, suggesting the nearest name: a
 * misspelt option (`flushIntervall`, `stor`) would otherwise be ignored in silence. `where`
 * names what took the options (`configure`, `tracks/express`, ...).
 *
 * @example
 * ```ts
 * checkOptionNames({ stor: 'tracks.db' }, ['store']); // TracksError: unknown option 'stor'; did you mean 'store'?
 * ```
 */
export function checkOptionNames(options: object, known: readonly string[], where = 'configure'): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const near = nearestName(name, known);
    throw new TracksError(`${where}: unknown option ${quoted(name)}${near ? `; did you mean '${near}'?` : `; the options are ${known.join(', ')}`}`);
  }
}
