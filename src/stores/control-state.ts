import { nameProblem } from '../core/names.js';
import { quoted, shown } from '../text.js';
import { checkBaselineWeight } from '../core/baseline-weight.js';
import { isUsableWeight, weightFix } from '../core/definition.js';
import { TracksError } from '../errors.js';
import { eventTime } from '../model/event-time.js';
import type { ControlState } from '../model/events.js';
import type { Store } from '../model/store.js';
import { StoreError } from '../model/store-error.js';
import type { RecordedDefinition, TrackSetSums } from '../model/sums.js';
import { phaseIdOf } from '../model/phase-id.js';
import { shadowEndedByDeploy } from '../model/shadow.js';
import { randomUUID } from 'node:crypto';
import { isObjectArgument, optionsError } from '../core/arguments.js';

/**
 * Stopping and resuming a test: the one place that writes a track set's control state, used
 * by `tracks stop`, `tracks resume` and the dashboard's Stop and Resume buttons.
 */

/**
 * How to stop or resume.
 *
 * @example
 * ```ts
 * const options: ControlOptions = { force: true }; // pricing is not deployed yet
 * await stopTrackSet(store, 'pricing', undefined, options);
 * ```
 */
export interface ControlOptions {
  /** Act on a set the store has never seen (no exposure, no definition): a set about to be deployed. */
  readonly force?: boolean | undefined;
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
export async function stopTrackSet(store: Store, trackSetId: string, serve?: string, options: ControlOptions = {}): Promise<ControlChange> {
  checkCall('stopTrackSet', store, trackSetId, options);
  if (serve !== undefined && typeof serve !== 'string') {
    throw new TracksError(
      `stopTrackSet: the track to serve is ${shown(serve)}; give its name, e.g. stopTrackSet(store, 'delay', 'long'), or leave it out for the baseline (options such as { force: true } come fourth)`,
    );
  }
  if (serve !== undefined) {
    if (serve.trim() === '') throw new TracksError('the track to serve is empty; name a track, or leave it out for the baseline');
    checkName('track to serve', serve);
  }
  const sums = await recordedSet(store, trackSetId, options ?? {});
  const known = sums === undefined ? undefined : tracksOf(sums);
  if (serve !== undefined && known !== undefined && known.length > 0 && !known.includes(serve)) {
    throw new TracksError(`${quoted(trackSetId)} has no track ${quoted(serve)}; its tracks are ${known.map(quoted).join(', ')}`);
  }
  return writeNext(store, trackSetId, { stopped: true, serve: serve ?? null }, sums);
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
export async function resumeTrackSet(store: Store, trackSetId: string, options: ControlOptions = {}): Promise<ControlChange> {
  checkCall('resumeTrackSet', store, trackSetId, options);
  const sums = await recordedSet(store, trackSetId, options ?? {});
  return writeNext(store, trackSetId, { stopped: false, serve: null }, sums);
}

/**
 * Promotes a shadow set (`static shadow`) to a live A/B test: every process recording to
 * `store` stops serving everyone the baseline and assigns tracks by the set's declared weights
 * within its control interval, as a new phase; the report keeps the shadow phase's findings
 * beside the live test's. A stop or a weights ramp made during the shadow phase ends with it
 * (a coverage ramp stays: the live test may start small). The store must hold shadow runs of the set (or `force` given, for a
 * set about to be deployed); `tracks stop` and `resume` then work as for any set.
 *
 * @example
 * ```ts
 * await promoteTrackSet(store, 'catalog-query');
 * ```
 */
export async function promoteTrackSet(store: Store, trackSetId: string, options: ControlOptions = {}): Promise<ControlChange> {
  checkCall('promoteTrackSet', store, trackSetId, options);
  options ??= {};
  const shadow = (await store.readShadow?.(trackSetId))?.tracks ?? [];
  // A live test is said to be one at once: --force, which the message below offers, would not help it.
  if (shadow.length === 0) await refuseLiveTest(store, trackSetId);
  else await refuseEndedShadow(store, trackSetId, Math.max(...shadow.map((t) => t.lastMinute)));
  if (shadow.length === 0 && !options.force) {
    throw new TracksError(
      `${quoted(trackSetId)} has no shadow runs in ${store.description}: promote turns a set declared with static shadow, whose candidates have run, into a live test; ` +
        'check the id, or pass --force to the CLI ({ force: true } from code) to promote a set before any process has recorded it',
    );
  }
  const sums = await recordedSet(store, trackSetId, { force: options.force === true || shadow.length > 0 });
  // Promoted once for good: a later stop, resume or ramp is kept (a second promote changes
  // nothing). Else live, with the declared weights: a stop or a weights ramp made during the
  // shadow phase ends here (a coverage ramp stays, to start the live test small).
  return writeNext(store, trackSetId, (current) => (current?.promoted === true ? { promoted: true } : { promoted: true, stopped: false, serve: null, weights: null }), sums);
}

/**
 * Refuses to promote a live test: force is for a shadow set no process has run yet, and
 * promoting a live one would start a phase and end every user's conversion window for nothing.
 */
async function refuseLiveTest(store: Store, trackSetId: string): Promise<void> {
  const sums = (await summaries(store, trackSetId))[0];
  if (sums?.definition?.holdout === true) throw holdoutRefused(trackSetId);
  const users = sums?.tracks.reduce((n, t) => n + t.users, 0) ?? 0;
  if (users === 0) return;
  throw new TracksError(
    `${quoted(trackSetId)} is a live test (${users.toLocaleString('en-US')} ${users === 1 ? 'user' : 'users'} exposed) with no shadow runs in ${store.description}: promote turns a set declared with static shadow into a live test; ` +
      'this one is live already (change it with tracks ramp, stop or resume)',
  );
}

/**
 * Refuses to promote a set whose shadow mode a deploy ended (its code no longer declares
 * `static shadow`): it is a live test already, and a promotion would start a phase for nothing.
 */
async function refuseEndedShadow(store: Store, trackSetId: string, lastShadowMinute: number): Promise<void> {
  const sums = (await summaries(store, trackSetId))[0];
  if (sums === undefined || sums.control?.promoted === true || !shadowEndedByDeploy(sums.phases, lastShadowMinute)) return;
  throw new TracksError(
    `${quoted(trackSetId)} is a live test already: a deploy ended its shadow mode (its code no longer declares static shadow, and users are assigned tracks); ` +
      'promote is for a set in shadow mode (change this one with tracks ramp, stop or resume)',
  );
}

/**
 * What `tracks ramp` changes: coverage, weights of the tracks named, or both.
 *
 * @example
 * ```ts
 * const ramp: Ramp = { coverage: 0.5, weights: { short: 1, long: 3 } };
 * await rampTrackSet(store, 'delay', ramp);
 * ```
 */
export interface Ramp {
  /** The share of eligible keys in the test, 0 to 1. */
  readonly coverage?: number | undefined;
  /** New weights by track name; tracks not named keep theirs. */
  readonly weights?: ReadonlyMap<string, number> | Readonly<Record<string, number>> | undefined;
}

/**
 * Changes a running test without a deploy: every process recording to `store` applies the new
 * coverage or weights within its control interval, and a new phase begins (the report compares
 * each phase's users within it, so the change cannot bias the answer). Assignment is
 * rendezvous hashing: a change of one weight or of the coverage moves only the keys that must
 * (several weights at once move somewhat more); sticky sets keep every user's track.
 * The set must be recorded (or `force` given, for a set no process has recorded), and every
 * track named one of its tracks.
 *
 * @example
 * ```ts
 * await rampTrackSet(store, 'pricing', { coverage: 0.1 });
 * await rampTrackSet(store, 'delay', { weights: { short: 1, long: 3 } });
 * ```
 */
export async function rampTrackSet(store: Store, trackSetId: string, ramp: Ramp, options: ControlOptions = {}): Promise<ControlChange> {
  checkCall('rampTrackSet', store, trackSetId, options);
  if (!isObjectArgument(ramp)) {
    throw new TracksError(`rampTrackSet: the change is ${shown(ramp)}; give { coverage, weights }, e.g. rampTrackSet(store, 'pricing', { coverage: 0.1 })`);
  }
  if (ramp.weights !== undefined && !isObjectArgument(ramp.weights)) {
    throw new TracksError(`rampTrackSet: weights is ${shown(ramp.weights)}; give weights by track name, e.g. { weights: { slow: 1, fast: 3 } }`);
  }
  const given = ramp.weights === undefined ? undefined : ramp.weights instanceof Map ? new Map(ramp.weights) : new Map(Object.entries(ramp.weights));
  if (ramp.coverage === undefined && (given === undefined || given.size === 0)) {
    throw new TracksError('rampTrackSet: a ramp changes coverage or weights: give coverage (0 to 1) or weights by track name, e.g. { coverage: 0.1 }');
  }
  if (ramp.coverage !== undefined && !(typeof ramp.coverage === 'number' && ramp.coverage >= 0 && ramp.coverage <= 1)) {
    throw new TracksError(`rampTrackSet: coverage is ${shown(ramp.coverage)}; give a share from 0 to 1, e.g. 0.1 for 10% of keys`);
  }
  for (const [track, weight] of given ?? []) {
    checkName('track', track);
    if (!isUsableWeight(weight)) {
      throw new TracksError(`rampTrackSet: the weight of ${quoted(track)} is ${shown(weight)}; ${weightFix(weight, 'give')}, e.g. { slow: 1, fast: 3 }`);
    }
  }
  const sums = await recordedSet(store, trackSetId, options ?? {});
  const recorded = sums?.definition?.weights;
  if (given !== undefined && recorded !== undefined) {
    // The tracks of the configuration in force: one a deploy removed has users in the store
    // but no weight to change (processes would ignore it, and the ramp read as a no-op).
    const known = [...recorded.keys()];
    for (const track of given.keys()) {
      if (!known.includes(track)) {
        const removed = tracksOf(sums!).includes(track) ? ' any more (a deploy removed it)' : '';
        throw new TracksError(`${quoted(trackSetId)} has no track ${quoted(track)}${removed}; its tracks are ${known.map(quoted).join(', ')}`);
      }
    }
    const merged = new Map([...recorded, ...given]);
    if (![...merged.values()].some((w) => w > 0)) throw new TracksError(`the weights would leave no track of ${quoted(trackSetId)} a positive weight; give at least one track a weight above 0`);
    checkBaselineWeight(trackSetId, sums!.definition!.control, sums!.definition!.sticky === true, given);
  }
  return writeNext(
    store,
    trackSetId,
    (current) => ({
      coverage: ramp.coverage ?? current?.coverage ?? null,
      weights: given === undefined ? (current?.weights ?? null) : Object.assign(Object.create(null) as Record<string, number>, current?.weights ?? {}, Object.fromEntries(given)),
    }),
    sums,
  );
}

/**
 * The control state after a stop, resume or ramp, and whether it changed anything.
 *
 * @example
 * ```ts
 * const change: ControlChange = await stopTrackSet(store, 'delay', 'long');
 * if (!change.changed) console.log('delay already served long to everyone');
 * ```
 */
export type ControlChange = ControlState & {
  /**
   * False when the set already was so (resuming a running set, stopping a stopped one the
   * same way, a ramp to the configuration in force): nothing was written, and no phase began.
   */
  readonly changed: boolean;
};

/** A change to a control state, or how to make it from the current state. */
type ControlDelta = Partial<Pick<ControlState, 'stopped' | 'serve' | 'coverage' | 'weights' | 'promoted'>>;

/** How many times a change is read and written again after another change came first. */
const CONTROL_WRITE_ATTEMPTS = 8;

/**
 * Writes the set's next control state: `change` over its current one (a stop keeps a ramp, a
 * ramp keeps a stop), with the epoch raised, so every process starts a new phase; and records
 * that phase's definition at once, so reports show it before any process picks it up. Writes
 * nothing when the change changes nothing: a phase ends every earlier user's conversions, so a
 * needless one would cost data. The write replaces only the epoch it read: when another change
 * (another operator's ramp) came in between, the state is read again and this change applied
 * over that one, so neither is lost.
 */
async function writeNext(
  store: Store,
  trackSetId: string,
  change: ControlDelta | ((current: ControlState | undefined) => ControlDelta),
  sums: TrackSetSums | undefined,
): Promise<ControlChange> {
  for (let attempt = 1; ; attempt++) {
    const written = await writeOver(store, trackSetId, change, sums);
    if (written !== 'conflict') return written;
    if (attempt === CONTROL_WRITE_ATTEMPTS) {
      throw new TracksError(`${quoted(trackSetId)} was changed by others ${CONTROL_WRITE_ATTEMPTS} times while this change was being written, so it was not; try again`);
    }
  }
}

/** One try of writeNext: 'conflict' when the stored epoch changed since it was read. */
async function writeOver(
  store: Store,
  trackSetId: string,
  change: ControlDelta | ((current: ControlState | undefined) => ControlDelta),
  sums: TrackSetSums | undefined,
): Promise<ControlChange | 'conflict'> {
  const current = (await store.readControls()).find((c) => c.trackSetId === trackSetId);
  const before = {
    stopped: current?.stopped ?? false,
    serve: current?.serve ?? null,
    coverage: current?.coverage ?? null,
    weights: current?.weights ?? null,
    promoted: current?.promoted ?? false,
  };
  const after = { ...before, ...(typeof change === 'function' ? change(current) : change) };
  const recorded = sums?.definition ?? null;
  const sameStop = before.stopped === after.stopped && (!after.stopped || before.serve === after.serve);
  const sameRamp = recorded !== null
    ? sameConfiguration(effectiveOf(recorded, before), effectiveOf(recorded, after))
    : before.coverage === after.coverage && JSON.stringify(before.weights) === JSON.stringify(after.weights);
  const now = eventTime();
  if (sameStop && sameRamp && before.promoted === after.promoted) return { trackSetId, ...before, epoch: current?.epoch ?? 0, at: current?.at ?? now, changed: false };
  const state: ControlState = { trackSetId, ...after, epoch: (current?.epoch ?? 0) + 1, at: now };
  if ((await store.writeControl(state, { ifEpoch: current?.epoch ?? 0 })) === false) return 'conflict';
  // A change that drops a weights ramp (a promotion) goes back to the code's weights, which no
  // recorded definition holds any more (each recorded the ramp): the processes record that
  // phase when they apply the change, with the weights they serve.
  const unramped = before.weights !== null && after.weights === null;
  if (recorded !== null && recorded.sticky !== null && !unramped) {
    // The phase every process will compute for this state (same configuration, same epoch,
    // same shadow mode: a change during shadow starts a shadow phase there).
    const effective = effectiveOf(recorded, after);
    const shadow = !after.promoted && (await inShadowMode(store, trackSetId, sums!));
    const weights = Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(effective.weights));
    await store.write([
      {
        kind: 'definition',
        eventId: randomUUID(),
        trackSetId,
        weights,
        coverage: effective.coverage,
        control: recorded.control,
        phase: phaseIdOf(effective.weights, effective.coverage, recorded.control, recorded.sticky, state.epoch!, shadow),
        sticky: recorded.sticky,
        stopped: state.stopped,
        // As the processes record it: said for a set in shadow mode, or one that was (recorded so).
        ...(shadow || recorded.shadow !== null ? { shadow } : {}),
        at: state.at,
      },
    ]);
  }
  return { ...state, changed: true };
}

/**
 * Whether the set runs in shadow mode now, as far as the store tells (the processes know it from
 * the code's `static shadow`): it has shadow runs, is not promoted, and no deploy ended its
 * shadow mode (see shadowEndedByDeploy).
 *
 * @example
 * ```ts
 * if (await inShadowMode(store, 'catalog-query')) console.log('everyone is served the baseline');
 * ```
 */
export async function inShadowMode(store: Store, trackSetId: string, sums?: TrackSetSums): Promise<boolean> {
  const runs = (await store.readShadow?.(trackSetId).catch(() => undefined))?.tracks ?? [];
  if (runs.length === 0) return false;
  const set = sums ?? (await summaries(store, trackSetId))[0];
  if (set?.control?.promoted === true) return false;
  return !shadowEndedByDeploy(set?.phases ?? [], Math.max(...runs.map((t) => t.lastMinute)));
}

/**
 * A recorded configuration with a control state's ramp applied, as processes apply it
 * (adjustDefinition, whose rules this must keep: a weight past MAX_WEIGHT is ignored there, so
 * here too): weights of the tracks named, when some track keeps a positive weight; coverage
 * when it is a share.
 */
function effectiveOf(recorded: RecordedDefinition, ramp: { coverage: number | null; weights: Readonly<Record<string, number>> | null }): { weights: Map<string, number>; coverage: number } {
  let weights = new Map(recorded.weights);
  if (ramp.weights) {
    const adjusted = new Map([...weights].map(([track, w]) => {
      const given = Object.hasOwn(ramp.weights!, track) ? ramp.weights![track]! : undefined;
      return [track, given !== undefined && isUsableWeight(given) ? given : w] as const;
    }));
    if ([...adjusted.values()].some((w) => w > 0)) weights = adjusted;
  }
  const coverage = ramp.coverage !== null && ramp.coverage >= 0 && ramp.coverage <= 1 ? ramp.coverage : recorded.coverage;
  return { weights, coverage };
}

function sameConfiguration(a: { weights: Map<string, number>; coverage: number }, b: { weights: Map<string, number>; coverage: number }): boolean {
  return a.coverage === b.coverage && JSON.stringify([...a.weights]) === JSON.stringify([...b.weights]);
}

/** The baseline a recorded set declares, if the store knows it. */
export async function recordedBaseline(store: Store, trackSetId: string): Promise<string | null> {
  const sums = await summaries(store, trackSetId);
  return sums[0]?.definition?.control ?? null;
}

/** A holdout is no test: a stop, ramp or promotion would record a phase of its own and end its conversion window. */
function holdoutRefused(trackSetId: string): TracksError {
  return new TracksError(
    `${quoted(trackSetId)} is a holdout (configure({ holdout })), not a test: it cannot be stopped, resumed, ramped or promoted; change its share in configure, or remove it`,
  );
}

/**
 * The set's recorded sums; a TracksError naming the recorded sets when the store holds nothing
 * of it, unless `force` (then undefined).
 */
async function recordedSet(store: Store, trackSetId: string, options: ControlOptions): Promise<TrackSetSums | undefined> {
  const [sums] = await summaries(store, trackSetId);
  if (sums?.definition?.holdout === true) {
    // A stop or ramp would record a phase of its own and end the holdout's conversion window.
    throw holdoutRefused(trackSetId);
  }
  if (sums !== undefined || options.force) return sums;
  const known = (await summaries(store)).map((s) => quoted(s.trackSetId));
  throw new TracksError(
    `unknown track set ${quoted(trackSetId)}: the store holds nothing of it (${known.length > 0 ? `recorded sets are ${known.join(', ')}` : 'nothing is recorded yet'}); ` +
      'check the id, or pass --force to the CLI ({ force: true } from code) to act on a set before any process has recorded it',
  );
}

/** Sums of one set or all, none when the store holds no tracks data yet. */
async function summaries(store: Store, trackSetId?: string): Promise<TrackSetSums[]> {
  try {
    // Definitions, tracks and users: no metric (the join of every exposure with its conversions).
    return await store.summarize(trackSetId === undefined ? { daily: false, metrics: false } : { trackSetId, daily: false, metrics: false });
  } catch (error) {
    if (error instanceof StoreError && error.code === 'TRACKS_NO_DATA') return [];
    throw error;
  }
}

/** Every track the store knows of a set: from its definition, and from its rows. */
function tracksOf(sums: TrackSetSums): string[] {
  return [...new Set([...(sums.definition?.weights.keys() ?? []), ...sums.tracks.map((t) => t.track)])];
}

/** The arguments every control call shares: a store first, then a set id, options last (an object, or left out). */
function checkCall(fn: string, store: Store, trackSetId: string, options: ControlOptions | undefined | null): void {
  if (typeof store !== 'object' || store === null || typeof (store as Partial<Store>).summarize !== 'function') {
    throw new TracksError(`${fn}: the store is ${shown(store)}; pass the store first, e.g. ${fn}(sqliteStore('tracks.db'), 'delay')`);
  }
  checkName('track set id', trackSetId);
  if (options !== undefined && options !== null && !isObjectArgument(options)) throw optionsError(fn, options, '{ force: true }');
}

function checkName(what: string, name: string): void {
  if (typeof name !== 'string') throw new TracksError(`the ${what} is ${shown(name)}; give it as a string, e.g. 'delay'`);
  const problem = nameProblem(name);
  if (problem !== undefined) throw new TracksError(`the ${what} ${quoted(name)} ${problem}`);
}
