import { TracksError } from '../errors.js';
import { forceTracks } from './forcing.js';
import { definitionOf } from './track-set.js';
import type { TrackSetClass } from './track-set.js';
import type { ClassTrackName } from './track-names.js';

/**
 * Runs `body` once under every track of a track set, each time with that track forced for
 * everything `body` calls, one after the other; resolves when all are done. Lets you
 * unit-test code that contains tracks. A set that adds no control and names no baseline
 * (`static control`) serves keys outside the test a no-op `control`: `body` runs under it
 * too, first, and its `name` is typed to include it.
 *
 * @example
 * ```ts
 * await forEachTrack(DelayTracks, async (name) => {
 *   const response = await handler(request);
 *   assert.equal(response.status, 200, `under track ${name}`);
 * });
 * ```
 */
export async function forEachTrack<C extends TrackSetClass>(
  trackSet: C,
  body: (name: ClassTrackName<C>) => unknown,
): Promise<void> {
  const definition = definitionOf(trackSet);
  if (typeof body !== 'function') {
    throw new TracksError(`forEachTrack(${definition.className}): pass the test body as the second argument, e.g. forEachTrack(${definition.className}, async (name) => { ... })`);
  }
  const names = definition.tracks.map((t) => t.name);
  if (!names.includes(definition.control.name)) names.unshift(definition.control.name);
  for (const name of names) {
    await forceTracks({ [definition.id]: name }, () => body(name as ClassTrackName<C>));
  }
}
