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

/** How to stop or resume. */
export interface ControlOptions {
  /** Act on a set the store has never seen (no exposure, no definition): a set about to be deployed. */
  readonly force?: boolean;
}

/**
 * Stops a test in every process recording to `store`: each serves `serve` (by default the
 * set's baseline) to everyone and records no exposures, within its control interval. The set
 * must be recorded in the store (or `force` given), and `serve` one of its tracks.
 *
 * @example
 * ```ts
 * await stopTrackSet(store, 'delay');          // everyone gets the baseline
 * await stopTrackSet(store, 'delay', 'long');  // roll the winner out to everyone
 * ```
 */
export async function stopTrackSet(store: Store, trackSetId: string, serve?: string, options: ControlOptions = {}): Promise<ControlState> {
  checkName('track set id', trackSetId);
  if (serve !== undefined) {
    if (serve.trim() === '') throw new TracksError('the track to serve is empty; name a track, or leave it out for the baseline');
    checkName('track to serve', serve);
  }
  const sums = await recordedSet(store, trackSetId, options);
  const known = sums === undefined ? undefined : tracksOf(sums);
  if (serve !== undefined && known !== undefined && known.length > 0 && !known.includes(serve)) {
    throw new TracksError(`${quoted(trackSetId)} has no track ${quoted(serve)}; its tracks are ${known.map(quoted).join(', ')}`);
  }
  return writeNext(store, trackSetId, { stopped: true, serve: serve ?? null });
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
export async function resumeTrackSet(store: Store, trackSetId: string, options: ControlOptions = {}): Promise<ControlState> {
  checkName('track set id', trackSetId);
  await recordedSet(store, trackSetId, options);
  return writeNext(store, trackSetId, { stopped: false, serve: null });
}

/**
 * Writes the set's next control state: `change` over its current one (a stop keeps a ramp, a
 * ramp keeps a stop), with the epoch raised, so every process starts a new phase.
 */
async function writeNext(store: Store, trackSetId: string, change: Partial<Pick<ControlState, 'stopped' | 'serve' | 'coverage' | 'weights'>>): Promise<ControlState> {
  const current = (await store.readControls()).find((c) => c.trackSetId === trackSetId);
  const state: ControlState = {
    trackSetId,
    stopped: current?.stopped ?? false,
    serve: current?.serve ?? null,
    coverage: current?.coverage ?? null,
    weights: current?.weights ?? null,
    ...change,
    epoch: (current?.epoch ?? 0) + 1,
    at: Date.now(),
  };
  await store.writeControl(state);
  return state;
}

/** The baseline a recorded set declares, if the store knows it. */
export async function recordedBaseline(store: Store, trackSetId: string): Promise<string | null> {
  const sums = await summaries(store, trackSetId);
  return sums[0]?.definition?.control ?? null;
}

/**
 * The set's recorded sums; a TracksError naming the recorded sets when the store holds nothing
 * of it, unless `force` (then undefined).
 */
async function recordedSet(store: Store, trackSetId: string, options: ControlOptions): Promise<TrackSetSums | undefined> {
  const [sums] = await summaries(store, trackSetId);
  if (sums !== undefined || options.force) return sums;
  const known = (await summaries(store)).map((s) => quoted(s.trackSetId));
  throw new TracksError(
    `unknown track set ${quoted(trackSetId)}: the store holds nothing of it (${known.length > 0 ? `recorded sets are ${known.join(', ')}` : 'nothing is recorded yet'}); ` +
      'check the id, or pass --force to act on a set before any process has recorded it',
  );
}

/** Sums of one set or all, none when the store holds no tracks data yet. */
async function summaries(store: Store, trackSetId?: string): Promise<TrackSetSums[]> {
  try {
    return await store.summarize(trackSetId === undefined ? { daily: false } : { trackSetId, daily: false });
  } catch (error) {
    if (error instanceof StoreError && error.code === 'TRACKS_NO_DATA') return [];
    throw error;
  }
}

/** Every track the store knows of a set: from its definition, and from its rows. */
function tracksOf(sums: TrackSetSums): string[] {
  return [...new Set([...(sums.definition?.weights.keys() ?? []), ...sums.tracks.map((t) => t.track)])];
}

function checkName(what: string, name: string): void {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new TracksError(`the ${what} ${quoted(name)} ${problem}`);
}
