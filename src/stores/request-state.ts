import { StoreError } from '../model/store-error.js';

/**
 * One worker request's state, in memory both threads see, so that a request its caller gave
 * up on is never carried out late: the caller's timeout and the worker's start and commit are
 * each one atomic step on it. Without it, a batch whose write timed out in the queue (a cold
 * worker, a lock) was later committed anyway, after the caller had spilled or retried it:
 * stored twice.
 *
 * queued -> running (the worker takes it) -> committing (its last step, which decides);
 * queued or running -> abandoned (the caller gave up: the worker skips it, or rolls back).
 * Beside the state, the worker notes when it began the request and how long it took, so the
 * caller knows its store's queue while its own thread is busy (Store.writeQueue).
 *
 * @example
 * ```ts
 * const state = new RequestState(); // the caller; state.buffer goes with the request
 * new RequestState(request.state).start(); // the worker: false when it was abandoned
 * ```
 */
export class RequestState {
  readonly buffer: SharedArrayBuffer;
  /** [0]: the state; [1]: how long the worker took, in µs (0 until it finished). */
  readonly #cell: Int32Array;
  /** [1]: when the worker began the request (epoch ms; 0 before). */
  readonly #began: BigInt64Array;

  constructor(buffer = new SharedArrayBuffer(16)) {
    this.buffer = buffer;
    this.#cell = new Int32Array(buffer, 0, 2);
    this.#began = new BigInt64Array(buffer, 0, 2);
  }

  /**
   * How long the worker has been on the request, in ms, while it runs (undefined when it has
   * not begun, or has finished): the caller sees a write stalled on a lock at once.
   */
  runningFor(now = Date.now()): number | undefined {
    const state = Atomics.load(this.#cell, 0);
    if (state !== RUNNING && state !== COMMITTING) return undefined;
    if (Atomics.load(this.#cell, 1) !== 0) return undefined;
    const began = Number(Atomics.load(this.#began, 1));
    return began === 0 ? undefined : Math.max(0, now - began);
  }

  /** The worker finished the request, in `ms`: the caller sees it at once, before the answer is read. */
  finished(ms: number): void {
    Atomics.store(this.#cell, 1, Math.max(1, Math.min(2 ** 31 - 1, Math.round(ms * 1000))));
  }

  /** How long the worker took, in ms, once it finished; undefined before. */
  get tookMs(): number | undefined {
    const micros = Atomics.load(this.#cell, 1);
    return micros === 0 ? undefined : micros / 1000;
  }

  /** The caller gives up: true unless the worker is committing (then its answer decides). */
  abandon(): boolean {
    for (;;) {
      const now = Atomics.load(this.#cell, 0);
      if (now === COMMITTING) return false;
      if (now === ABANDONED || Atomics.compareExchange(this.#cell, 0, now, ABANDONED) === now) return true;
    }
  }

  /** Whether the request still waits for the worker to take it (nor has its caller given up). */
  get waiting(): boolean {
    return Atomics.load(this.#cell, 0) === QUEUED;
  }

  /** The worker takes the request: false when its caller already gave up. */
  start(): boolean {
    Atomics.store(this.#began, 1, BigInt(Date.now()));
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

/** Commits whatever the caller does: a call on the caller's own thread, which cannot be given up under it. */
export const always = (): boolean => true;

/** A write whose caller gave up before it committed: rolled back, so that the caller's retry or spill stores the events once. */
export function abandoned(path: string): StoreError {
  return new StoreError(`tracks: a write to ${path} was given up by its caller before it committed; rolled back`, { transient: true, code: 'TRACKS_TIMEOUT' });
}
