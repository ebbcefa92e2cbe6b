import { AsyncLocalStorage } from 'node:async_hooks';
import { TracksError } from '../errors.js';
import { knownTrackSetIds, knownTracksOf } from './known-sets.js';
import { quoted, shown } from '../text.js';

/**
 * Track names by track set id, forced for the duration of a callback.
 *
 * @example
 * ```ts
 * const qa: ForcedTracks = { delay: 'long', pricing: 'price_adjusted_by_0' };
 * await forceTracks(qa, () => handler(request));
 * ```
 */
export type ForcedTracks = Readonly<Record<string, string>>;

const scope = new AsyncLocalStorage<ForcedTracks>();
// Production code never forces, so the hot path skips the AsyncLocalStorage lookup until
// the first override in the process; after that it always looks (work an override started
// may outlive its callback).
let used = false;

/**
 * Runs `fn` with tracks forced by track set id, for everything it calls, awaited or not: a
 * request-scoped override for QA, previews and tests. Forced runs are not in the test and
 * record no exposure. Overrides nest; the inner one wins for the ids it names. A set this
 * process has read is checked at once (a TracksError for a track it does not have); an id no
 * set has is a TracksError when `fn` is done (its promise rejects), since the set may be
 * first used inside `fn`.
 *
 * @example
 * ```ts
 * await forceTracks({ delay: 'long' }, () => handler(request));
 * ```
 */
export function forceTracks<T>(tracks: ForcedTracks, fn: () => T): T {
  if (typeof tracks !== 'object' || tracks === null || Array.isArray(tracks)) {
    throw new TracksError(`forceTracks takes tracks by track set id, e.g. forceTracks({ delay: 'long' }, fn), not ${Array.isArray(tracks) ? 'an array' : shown(tracks)}`);
  }
  if (typeof fn !== 'function') {
    throw new TracksError(`forceTracks: pass the function to run with the tracks forced as the second argument, e.g. forceTracks({ delay: 'long' }, () => handler(request))`);
  }
  // A set this process knows is checked now; one it has not read yet (it may be first used
  // inside fn) is checked when fn is done: an id that no set has by then is a typo.
  const unknown: string[] = [];
  for (const [id, track] of Object.entries(tracks)) {
    if (typeof track !== 'string') throw new TracksError(`forceTracks: the track forced for ${quoted(id)} is ${typeof track}; give a track name`);
    const names = knownTracksOf(id);
    if (names === undefined) unknown.push(id);
    else if (!names.includes(track)) throw new TracksError(`forceTracks: ${quoted(id)} has no track ${quoted(track)}; its tracks are ${names.map(quoted).join(', ')}`);
  }
  const result = runForced(tracks, fn);
  if (unknown.length === 0) return result;
  if (result instanceof Promise) return result.then((value: unknown) => (checkKnown(unknown), value)) as T;
  checkKnown(unknown);
  return result;
}

/**
 * Internal: runs `fn` with `tracks` forced, over any override around it, with no checks: for
 * callers that checked the names themselves (the adapters' QA header, which answers a bad one
 * with a 400 and cannot throw once the request has gone on).
 */
export function runForced<T>(tracks: ForcedTracks, fn: () => T): T {
  used = true;
  // A null-prototype copy: a set id such as 'constructor' or '__proto__' is a plain key here.
  const merged: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const layer of [scope.getStore() ?? {}, tracks]) {
    for (const [id, track] of Object.entries(layer)) merged[id] = track;
  }
  return scope.run(merged, fn);
}

/** A TracksError when an id forced no set this process has read, even by the end of the scope. */
function checkKnown(ids: readonly string[]): void {
  const missing = ids.filter((id) => knownTracksOf(id) === undefined);
  if (missing.length === 0) return;
  const known = knownTrackSetIds();
  throw new TracksError(
    `forceTracks named ${missing.map(quoted).join(', ')}, which no track set in this process has (${known.length > 0 ? `known sets: ${known.map(quoted).join(', ')}` : 'no set has been used yet'}); check the id (static id of the class)`,
  );
}

/** The track forced for `id` in the current async context, if any. */
export function forcedTrack(id: string): string | undefined {
  if (!used) return undefined;
  const forced = scope.getStore();
  return forced !== undefined && Object.hasOwn(forced, id) ? forced[id] : undefined;
}
