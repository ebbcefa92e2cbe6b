import { TracksError } from '../errors.js';
import { quoted } from '../text.js';

/**
 * Refuses a weight of 0 for the baseline of a set that is not sticky, as `tracks ramp` and
 * `tracks simulate --weights` propose: without baseline users a phase has nothing to compare
 * with, and its users would be lost to the analysis. A sticky set keeps its baseline users, so
 * it may (a rollout to newcomers). To give one track to everyone, a set is stopped instead.
 */
export function checkBaselineWeight(trackSetId: string, baseline: string | null, sticky: boolean, weights: ReadonlyMap<string, number>): void {
  if (baseline === null || sticky || weights.get(baseline) !== 0) return;
  throw new TracksError(
    `the weight of ${quoted(baseline)} would be 0, but it is the baseline of ${quoted(trackSetId)}: every phase compares its tracks with it. To give one track to everyone, stop the set serving it: stopTrackSet(store, ${quoted(trackSetId)}, <track>) (tracks stop ${trackSetId} --serve <track>)`,
  );
}
