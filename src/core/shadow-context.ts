import { setMaxListeners } from 'node:events';
import { TracksError } from '../errors.js';
import { currentScope, runInShadowScope } from './request-scope.js';

/**
 * What a track can learn about the run it is in: whether it runs as a shadow candidate, the
 * AbortSignal that fires at the shadow's `timeout`, and a guard for writes.
 *
 * @example
 * ```ts
 * static async new_track(sku: string) {
 *   const shadow: ShadowContext = shadowContext(); // before any await
 *   const row = await db.query(NEW_SQL, [sku], { signal: shadow.signal });
 *   shadow.write(() => cache.set(sku, row)); // refused in a shadow run of a readOnly set
 *   return row;
 * }
 * ```
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
// One signal for every served run: without this, an eleventh concurrent run passing it to a
// fetch or a driver would make Node warn of a listener leak (it never aborts, so none is one).
setMaxListeners(0, NEVER);

// Set by assertReadOnlyShadow while it runs a candidate alone: then a write through any
// context counts, even one a candidate defers past its own run (a timer's, a listener's).
let auditing: (() => void) | undefined;

const SERVING: ShadowContext = {
  inShadow: false,
  signal: NEVER,
  write<T>(fn: () => T): T {
    if (auditing !== undefined) {
      auditing();
      throw new TracksError('a shadow candidate checked by assertReadOnlyShadow tried to write; keep writes out of candidates');
    }
    return fn();
  },
};

// The context of the candidate being invoked, during its synchronous start; after that, its
// shadow scope's (runInShadowScope). The served path reads neither: a served run has no scope
// of its own.
let current: ShadowContext = SERVING;

/**
 * The context of the run the code is in: a shadow candidate's (with its AbortSignal and its
 * write guard), before an `await` and after it, or the serving one.
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
  if (current !== SERVING) return current;
  // After an await: the candidate's scope, if this is one (served runs have none of their own).
  return currentScope()?.shadowRun ?? SERVING;
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

/**
 * Internal: runs `check` with every write through any shadow context reported to `onWrite` and
 * refused, until `check` settles or `signal` aborts: a candidate that ignores its timeout may
 * never settle, and served writes must not be refused for the rest of the process.
 */
export async function auditWrites<T>(onWrite: () => void, check: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const before = auditing;
  auditing = onWrite;
  // Only while it is still this audit's: a hung check settling late must not end a later one.
  const end = () => {
    if (auditing === onWrite) auditing = before;
  };
  signal?.addEventListener('abort', end, { once: true });
  try {
    return await check();
  } finally {
    signal?.removeEventListener('abort', end);
    end();
  }
}

/**
 * Internal: invokes `start` with `context` as the current shadow context: the module's while
 * it starts, and its scope's (runInShadowScope) in everything it awaits, so that nothing the
 * candidate does is recorded and `shadowContext()` still knows the run after an `await`.
 */
export function withShadowContext<T>(context: ShadowContext, start: () => T): T {
  const before = current;
  current = context;
  try {
    return runInShadowScope(context, start);
  } finally {
    current = before;
  }
}
