import { AsyncLocalStorage } from 'node:async_hooks';
import { TracksError } from '../errors.js';
import { serializeKey } from './key.js';
import { checkOptionNames } from './suggest.js';
import type { ShadowContext } from './shadow-context.js';

/**
 * What a request scope carries: the key runs are assigned by (the user's id, or an anonymous
 * visitor's) and the context their eligibility rules read.
 *
 * @example
 * ```ts
 * const scope: TracksScope<{ plan: string }> = { key: job.userId, context: { plan: job.plan } };
 * await withTracksScope(scope, () => new DelayTracks().run());
 * ```
 */
export interface TracksScope<Context = unknown> {
  /**
   * The key of every run in the scope that is given none. Undefined, null or `''`: a fresh
   * random assignment per run, as with no key (an empty id, `job.userId ?? ''`, is nobody's: as
   * the framework adapters and the OpenFeature provider read it, not one key shared by all).
   */
  readonly key?: unknown;
  /** The context of every run in the scope that is given none. */
  readonly context?: Context | undefined;
}

/** A scope as runs read it. */
export interface ScopeState {
  /** The scope's key, serialized; null when it has none. */
  readonly key: string | null;
  readonly context: unknown;
  /** The track each set chose in this scope for its key, by set id (the last run's, when a set ran twice). */
  readonly chosen: Record<string, string>;
  /** Whether `key` is known without resolving it (a lazy scope resolves its key on first use, and may set a cookie then; its context when first read). */
  readonly settled: boolean;
  /** In a shadow candidate's run (see runInShadowScope), its shadow context: nothing run in it is recorded. */
  readonly shadowRun?: ShadowContext | undefined;
}

const storage = new AsyncLocalStorage<ScopeState>();
// A service that never opens a scope pays nothing: runs skip the lookup until the first one.
let used = false;

/**
 * Runs `fn` in a request scope: inside it, and in everything it calls, awaited or not,
 * `new DelayTracks()` with no key uses the scope's key and context (an explicit key still
 * wins, and then the scope's context, which is its user's, is not used either), and
 * `convert({ metric })` with no key or runId credits the scope's key. The framework
 * adapters (`tracks/express`, `tracks/fastify`, `tracks/hono`) open one per request; open one
 * by hand for jobs, queue consumers and tests. Scopes nest; the inner one wins.
 *
 * @example
 * ```ts
 * await withTracksScope({ key: job.userId, context: { plan: job.plan } }, async () => {
 *   await new DelayTracks().run();            // assigned by job.userId
 *   convert({ metric: 'purchase' });          // credited to job.userId
 * });
 * ```
 */
export function withTracksScope<T>(scope: TracksScope, fn: () => T): T {
  if (typeof scope !== 'object' || scope === null) {
    throw new TracksError(`withTracksScope: pass { key, context } as the first argument, not ${scope === null ? 'null' : typeof scope}`);
  }
  if (typeof fn !== 'function') throw new TracksError('withTracksScope: pass the function to run in the scope as the second argument');
  // A misspelt `contxt` would leave every run in the scope without its context, silently.
  checkOptionNames(scope, ['key', 'context'], 'withTracksScope');
  return runInScope(scopeStateOf(scope), fn);
}

/** A scope's state, for adapters whose framework runs a request in several callbacks (Fastify's hooks). */
export function scopeStateOf(scope: TracksScope): ScopeState {
  const key = scope.key === undefined || scope.key === null || scope.key === '' ? null : serializeKey(scope.key);
  return { key, context: scope.context, chosen: Object.create(null) as Record<string, string>, settled: true };
}

/**
 * A scope whose key and context are read on first use (the first run that needs them), not
 * when the request begins: frameworks authenticate in hooks that may run after the adapter's.
 * Each is read on its own: a context function that throws (at every read of the context) does
 * not take the key with it, so a conversion, which needs only the key, is still recorded.
 */
export function lazyScopeState(resolveKey: () => unknown, resolveContext?: () => unknown): ScopeState {
  return new LazyScopeState(resolveKey, resolveContext);
}

// A class, not an object literal with getters: adapters make one per request, and a literal's
// getters are new closures defined on a slow path each time (1.7 µs and garbage per request).
class LazyScopeState implements ScopeState {
  readonly chosen = Object.create(null) as Record<string, string>;
  #resolveKey: (() => unknown) | undefined;
  #resolveContext: (() => unknown) | undefined;
  #key: string | null = null;
  #context: unknown;

  constructor(resolveKey: () => unknown, resolveContext: (() => unknown) | undefined) {
    this.#resolveKey = resolveKey;
    this.#resolveContext = resolveContext;
  }

  get key(): string | null {
    if (this.#resolveKey !== undefined) {
      const key = this.#resolveKey();
      this.#key = key === undefined || key === null ? null : serializeKey(key);
      this.#resolveKey = undefined; // settled; the request it closes over is released
    }
    return this.#key;
  }

  get context(): unknown {
    if (this.#resolveContext !== undefined) {
      this.#context = this.#resolveContext();
      this.#resolveContext = undefined;
    }
    return this.#context;
  }

  /** The key is known (the context is read when first asked for). */
  get settled(): boolean {
    return this.#resolveKey === undefined;
  }
}

/**
 * Internal: starts a shadow candidate in a scope of its own, marked with its shadow context
 * (which `shadowContext()` finds there after an `await` too), so that nothing it does is
 * recorded, awaited or not, until it settles ({@link endShadowRun}): the user was served the
 * baseline, which records its own exposures and conversions, and a candidate that runs the same
 * code (`convert()`, other sets' runs) would record them a second time, for users it never
 * served. The scope has the request's key and context (read as lazily as the request's own
 * scope reads them) and a list of chosen tracks of its own, so the request's (`req.tracks`)
 * lists only what it served.
 */
export function runInShadowScope<T>(context: ShadowContext, start: () => T): T {
  activeShadowRuns++;
  return runInScope(new ShadowScopeState(context, used ? storage.getStore() : undefined), start);
}

/**
 * Internal: the candidate run of `context` settled. What it left behind in its async context
 * (a timer, a listener, a queue a dependency it first used started) is no shadow run any more:
 * it records, and writes, as the request's code would.
 */
export function endShadowRun(context: ShadowContext): void {
  if (endedRuns.has(context)) return;
  endedRuns.add(context);
  activeShadowRuns--;
}

/**
 * Whether the code runs in a shadow candidate's run now. Free while no candidate runs (one
 * number compared), so the served path pays nothing for it.
 */
export function inShadowRun(): boolean {
  return activeShadowRuns > 0 && storage.getStore()?.shadowRun !== undefined;
}

/** Candidate runs started and not settled: while none is, no code is in one. */
let activeShadowRuns = 0;
const endedRuns = new WeakSet<ShadowContext>();

class ShadowScopeState implements ScopeState {
  readonly chosen = Object.create(null) as Record<string, string>;
  readonly #run: ShadowContext;
  readonly #request: ScopeState | undefined;

  constructor(run: ShadowContext, request: ScopeState | undefined) {
    this.#run = run;
    this.#request = request;
  }

  get shadowRun(): ShadowContext | undefined {
    return endedRuns.has(this.#run) ? undefined : this.#run;
  }

  get key(): string | null {
    return this.#request === undefined ? null : this.#request.key;
  }

  get context(): unknown {
    return this.#request?.context;
  }

  get settled(): boolean {
    return this.#request === undefined || this.#request.settled;
  }
}

/** Runs `fn` in a scope state made by scopeStateOf: each of a request's callbacks re-enters the same scope. */
export function runInScope<T>(state: ScopeState, fn: () => T): T {
  used = true;
  // A scope opened inside a candidate's run (withTracksScope in code it calls) is still that
  // run: it keeps the shadow marking, with the new scope's key and context.
  const shadowRun = activeShadowRuns > 0 && state.shadowRun === undefined ? storage.getStore()?.shadowRun : undefined;
  return storage.run(shadowRun === undefined ? state : new ShadowScopeState(shadowRun, state), fn);
}

/** The request scope of the current async context, if any. */
export function currentScope(): ScopeState | undefined {
  return used ? storage.getStore() : undefined;
}

/**
 * The tracks chosen so far for the current request scope's key, by track set id (for logging):
 * runs for other keys in the same request are not listed. An empty object outside any scope.
 *
 * @example
 * ```ts
 * logger.info({ tracks: scopeTracks() }, 'checkout done');
 * ```
 */
export function scopeTracks(): Readonly<Record<string, string>> {
  return { ...currentScope()?.chosen };
}
