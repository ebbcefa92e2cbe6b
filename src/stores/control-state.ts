import { TracksError } from '../errors.js';
import type { ControlState, Store } from '../stores/store.js';

/**
 * Stopping and resuming a test: the one place that writes a track set's control state, used
 * by `tracks stop`, `tracks resume` and the dashboard's Stop and Resume buttons.
 */

/**
 * Stops a test in every process recording to `store`: each serves `serve` to everyone and
 * records no exposures, within its control interval. When the store knows the set's tracks,
 * `serve` must be `control` or one of them.
 *
 * @example
 * ```ts
 * await stopTrackSet(store, 'delay', 'long'); // roll the winner out to everyone
 * ```
 */
export async function stopTrackSet(store: Store, trackSetId: string, serve = 'control'): Promise<ControlState> {
  if (serve.trim() === '') throw new TracksError('the track to serve is empty; name a track, e.g. control');
  const [sums] = await store.summarize({ trackSetId, daily: false });
  const known = sums?.definition ? Object.keys(sums.definition.weights) : undefined;
  if (known !== undefined && serve !== 'control' && !known.includes(serve)) {
    throw new TracksError(`${trackSetId} has no track '${serve}'; its tracks are ${known.join(', ')}`);
  }
  const state: ControlState = { trackSetId, stopped: true, serve, at: Date.now() };
  await store.writeControl(state);
  return state;
}

/**
 * Resumes a stopped test: every process goes back to assigning tracks (keys get the tracks
 * they had before the stop) within its control interval.
 *
 * @example
 * ```ts
 * await resumeTrackSet(store, 'delay');
 * ```
 */
export async function resumeTrackSet(store: Store, trackSetId: string): Promise<ControlState> {
  const state: ControlState = { trackSetId, stopped: false, serve: null, at: Date.now() };
  await store.writeControl(state);
  return state;
}
