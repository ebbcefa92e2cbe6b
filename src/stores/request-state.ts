import { StoreError } from '../model/store-error.js';

/**
 * One worker request's state, in memory both threads see, so that a request its caller gave
 * up on is never carried out late: the caller's timeout and the worker's start and commit are
 * each one atomic step on it. Without it, a batch whose write timed out in the queue (a cold
 * worker, a lock) was later committed anyway, after the caller had spilled or retried it:
 * stored twice.
 *
 * queued -> running (the worker takes it) -> committing (its last step, which decides) ->
 * committed or failed; queued or running -> abandoned (the caller gave up: the worker skips it,
 * or rolls back).
 *
 * @example
 * ```ts
 * const state = new RequestState(); // the caller; state.buffer goes with the request
 * new RequestState(request.state).start(); // the worker: false when it was abandoned
 * ```
 */
export class RequestState {
  readonly buffer: SharedArrayBuffer;
  readonly #cell: Int32Array;

  constructor(buffer = new SharedArrayBuffer(4)) {
    this.buffer = buffer;
    this.#cell = new Int32Array(buffer);
  }

  /** The caller gives up: true unless the worker is committing or committed (then its answer decides). */
  abandon(): boolean {
    for (;;) {
      const now = Atomics.load(this.#cell, 0);
      if (now === COMMITTING || now === COMMITTED) return false;
      if (now === ABANDONED || Atomics.compareExchange(this.#cell, 0, now, ABANDONED) === now) return true;
    }
  }

  /**
   * The caller settles the request on the spot (its thread can no longer wait for an answer:
   * the process is exiting): gives it up unless it is committing, else waits for the commit's
   * end, up to `waitMs`. True when it committed.
   */
  settleNow(waitMs: number): boolean {
    if (this.abandon()) return false;
    const until = Date.now() + waitMs;
    for (let left = waitMs; Atomics.load(this.#cell, 0) === COMMITTING && left > 0; left = until - Date.now()) {
      Atomics.wait(this.#cell, 0, COMMITTING, left);
    }
    return Atomics.load(this.#cell, 0) === COMMITTED;
  }

  /** The worker is done with the request: committed (or answered), or failed. */
  finish(ok: boolean): void {
    Atomics.store(this.#cell, 0, ok ? COMMITTED : FAILED);
    Atomics.notify(this.#cell, 0);
  }

  /** The worker takes the request: false when its caller already gave up. */
  start(): boolean {
    return Atomics.compareExchange(this.#cell, 0, QUEUED, RUNNING) === QUEUED;
  }

  /**
   * The worker is about to commit: false when the caller gave up meanwhile (then it rolls back).
   * True again for a retry of the same transaction (a commit that failed on a lock and is tried
   * again): the caller, once told it is committing, waits for its answer.
   */
  mayCommit(): boolean {
    const before = Atomics.compareExchange(this.#cell, 0, RUNNING, COMMITTING);
    return before === RUNNING || before === COMMITTING;
  }
}

const QUEUED = 0;
const RUNNING = 1;
const ABANDONED = 2;
const COMMITTING = 3;
const COMMITTED = 4;
const FAILED = 5;

/** Commits whatever the caller does: a call on the caller's own thread, which cannot be given up under it. */
export const always = (): boolean => true;

/** A write whose caller gave up before it committed: rolled back, so that the caller's retry or spill stores the events once. */
export function abandoned(path: string): StoreError {
  return new StoreError(`tracks: a write to ${path} was given up by its caller before it committed; rolled back`, { transient: true, code: 'TRACKS_TIMEOUT' });
}
