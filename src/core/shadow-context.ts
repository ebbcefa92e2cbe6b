import { TracksError } from '../errors.js';

/**
 * What a track can learn about the run it is in: whether it runs as a shadow candidate, the
 * AbortSignal that fires at the shadow's `timeout`, and a guard for writes.
 */
export interface ShadowContext {
  /** True in a shadow candidate's run; false when the track serves a user. */
  readonly inShadow: boolean;
  /** Aborts when the candidate's `timeout` passes (never, outside a shadow run): pass it to queries and fetches. */
  readonly signal: AbortSignal;
  /**
   * Runs a write: as given outside a shadow run; in a shadow run of a set declared
   * `readOnly`, throws a TracksError instead (the run counts as a candidate error), so a
   * candidate that writes is caught, not run twice on real traffic.
   */
  write<T>(fn: () => T): T;
}

const NEVER = new AbortController().signal;

const SERVING: ShadowContext = { inShadow: false, signal: NEVER, write: (fn) => fn() };

// The context of the candidate being invoked, set only during its synchronous start: a
// module variable costs the served path nothing, where an AsyncLocalStorage would slow every
// promise of the process.
let current: ShadowContext = SERVING;

/**
 * The context of the run being started. Read it at the top of the track, before its first
 * `await`, and keep it: after an `await` it no longer knows which run it is in.
 *
 * @example
 * ```ts
 * static new_track(category: string) {
 *   const shadow = shadowContext();
 *   return db.query(NEW_CATALOG_SQL, [category], { signal: shadow.signal });
 * }
 * ```
 */
export function shadowContext(): ShadowContext {
  return current;
}

/** Internal: the context of a candidate run. `onWrite` sees every write it attempts. */
export function candidateContext(signal: AbortSignal, readOnly: boolean, trackSetId: string, track: string, onWrite?: () => void): ShadowContext {
  return {
    inShadow: true,
    signal,
    write<T>(fn: () => T): T {
      onWrite?.();
      if (readOnly) {
        throw new TracksError(`${trackSetId}: the shadow candidate '${track}' tried to write, but the set declares readOnly; keep writes out of candidates, or drop readOnly`);
      }
      return fn();
    },
  };
}

/** Internal: invokes `start` with `context` as the current shadow context. */
export function withShadowContext<T>(context: ShadowContext, start: () => T): T {
  const before = current;
  current = context;
  try {
    return start();
  } finally {
    current = before;
  }
}
