import { COVERAGE_LABEL } from './definition.js';
import type { TrackDefinition, TrackSetDefinition } from './definition.js';
import { mixInt } from './murmur3.js';
import { rendezvous, within } from './rendezvous.js';

/**
 * The pure assignment of docs/assignment.md: the track a key hash gets in a track set, or
 * undefined when the key falls outside the set's coverage. No eligibility, forcing or
 * stopping: those are decisions about the run, made around this.
 */
export function assign(definition: TrackSetDefinition, keyHash: number): TrackDefinition | undefined {
  const hash = mixInt(keyHash, definition.salt);
  if (definition.coverage < 1 && !within(mixInt(hash, COVERAGE_LABEL), definition.coverage)) {
    return undefined;
  }
  return definition.tracks[rendezvous(hash, definition.tracks, definition.equalWeights)];
}
