import { nameProblem, quoted } from '../core/names.js';
import { TracksError } from '../errors.js';
import type { ControlState } from '../model/events.js';
import type { Store } from '../model/store.js';
import { StoreError } from '../model/store-error.js';
import type { TrackSetSums } from '../model/sums.js';

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
  checkName('track set id', trackSetId);
  if (serve.trim() === '') throw new TracksError('the track to serve is empty; name a track, e.g. control');
  checkName('track to serve', serve);
  const sums = await recorded(store, trackSetId);
  const known = sums?.definition ? [...sums.definition.weights.keys()] : undefined;
  if (known !== undefined && serve !== 'control' && !known.includes(serve)) {
    throw new TracksError(`${quoted(trackSetId)} has no track ${quoted(serve)}; its tracks are ${known.map(quoted).join(', ')}`);
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
  checkName('track set id', trackSetId);
  const state: ControlState = { trackSetId, stopped: false, serve: null, at: Date.now() };
  await store.writeControl(state);
  return state;
}

/** The set's recorded sums, or undefined when the store holds nothing of it (or nothing at all yet). */
async function recorded(store: Store, trackSetId: string): Promise<TrackSetSums | undefined> {
  try {
    return (await store.summarize({ trackSetId, daily: false }))[0];
  } catch (error) {
    if (error instanceof StoreError && error.code === 'TRACKS_NO_DATA') return undefined;
    throw error;
  }
}

function checkName(what: string, name: string): void {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new TracksError(`the ${what} ${quoted(name)} ${problem}`);
}
