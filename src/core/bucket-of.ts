import { assign } from './assign.js';
import { serializeKey } from './key.js';
import { murmur3Int } from './murmur3.js';
import { definitionOf } from './track-set.js';
import type { TrackSetClass } from './track-set.js';
import type { ClassTrackName } from './track-names.js';

/**
 * The track a key is assigned to in a track set, as if the user were eligible: the pure
 * function of docs/assignment.md, with no run, no eligibility rule, no forcing and no
 * recording. Keys outside `coverage` get `control`. Useful for simulations and audits.
 *
 * @example
 * ```ts
 * bucketOf(DelayTracks, 'user-42'); // 'short'
 * ```
 */
export function bucketOf<C extends TrackSetClass>(trackSet: C, key: unknown): ClassTrackName<C> {
  const definition = definitionOf(trackSet);
  const track = assign(definition, murmur3Int(serializeKey(key)));
  return (track ?? definition.control).name as ClassTrackName<C>;
}
