import { AsyncLocalStorage } from 'node:async_hooks';

/** Track names by track set id, forced for the duration of a callback. */
export type ForcedTracks = Readonly<Record<string, string>>;

const scope = new AsyncLocalStorage<ForcedTracks>();
// Production code never forces, so the hot path skips the AsyncLocalStorage lookup until
// the first override in the process; after that it always looks (work an override started
// may outlive its callback).
let used = false;

/**
 * Runs `fn` with tracks forced by track set id, for everything it calls, awaited or not: a
 * request-scoped override for QA, previews and tests. Forced runs are not in the test and
 * record no exposure. Overrides nest; the inner one wins for the ids it names.
 *
 * @example
 * ```ts
 * await forceTracks({ delay: 'long' }, () => handler(request));
 * ```
 */
export function forceTracks<T>(tracks: ForcedTracks, fn: () => T): T {
  used = true;
  // A null-prototype copy: a set id such as 'constructor' or '__proto__' is a plain key here.
  const merged: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const layer of [scope.getStore() ?? {}, tracks]) {
    for (const [id, track] of Object.entries(layer)) merged[id] = track;
  }
  return scope.run(merged, fn);
}

/** The track forced for `id` in the current async context, if any. */
export function forcedTrack(id: string): string | undefined {
  if (!used) return undefined;
  const forced = scope.getStore();
  return forced !== undefined && Object.hasOwn(forced, id) ? forced[id] : undefined;
}
