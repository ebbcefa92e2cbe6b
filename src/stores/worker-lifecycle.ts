import type { Worker } from 'node:worker_threads';

/**
 * What the main thread and a SQLite worker tell each other about the process ending, in
 * memory both see. When the process exits (process.exit(), the end of the event loop), Node
 * stops every worker where it stands; one stopped inside a SQLite statement (waiting on
 * another process's lock, say) makes better-sqlite3 raise an error in a dying thread, and
 * the process aborts (SIGABRT) instead of exiting with its code. So on exit the main thread
 * says so and waits, briefly, for the worker to finish its request; the worker, told, stops
 * waiting on locks at once and starts no other request.
 *
 * @example
 * ```ts
 * const lifecycle = new WorkerLifecycle(); // main thread: lifecycle.buffer goes in workerData
 * lifecycle.watchExit(worker, () => pendingRequests.forEach((state) => state.abandon()));
 * const inWorker = new WorkerLifecycle(workerData.lifecycle); // the worker
 * inWorker.busy(() => answer(request)); // marks it busy while it answers
 * ```
 */
export class WorkerLifecycle {
  readonly buffer: SharedArrayBuffer;
  readonly #cells: Int32Array;
  #giveUp: () => void = () => {};

  constructor(buffer = new SharedArrayBuffer(8)) {
    this.buffer = buffer;
    this.#cells = new Int32Array(buffer);
  }

  /** Main thread: on process exit, calls `giveUp` (the caller's pending requests), tells the worker, and waits until it is idle (at most EXIT_WAIT_MS). */
  watchExit(worker: Worker, giveUp: () => void): void {
    this.#giveUp = giveUp;
    live.add(this);
    worker.once('exit', () => live.delete(this));
  }

  /** Whether the process is exiting (the worker reads it between lock waits). */
  get exiting(): boolean {
    return Atomics.load(this.#cells, EXITING) === 1;
  }

  /** Worker: runs `work`, marked busy until it settles. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    Atomics.store(this.#cells, BUSY, 1);
    try {
      return await work();
    } finally {
      Atomics.store(this.#cells, BUSY, 0);
      Atomics.notify(this.#cells, BUSY);
    }
  }

  /** Main thread, exiting: tells the worker, then waits for it to go idle until `until`. */
  #stop(until: number): void {
    this.#giveUp();
    Atomics.store(this.#cells, EXITING, 1);
    for (let left = until - Date.now(); left > 0 && Atomics.load(this.#cells, BUSY) === 1; left = until - Date.now()) {
      Atomics.wait(this.#cells, BUSY, 1, left);
    }
  }

  static {
    process.on('exit', () => {
      const until = Date.now() + EXIT_WAIT_MS;
      for (const lifecycle of live) lifecycle.#stop(until);
    });
  }
}

const EXITING = 0;
const BUSY = 1;
/** How long an exiting process waits for its SQLite workers to finish their requests, at most. */
const EXIT_WAIT_MS = 500;
const live = new Set<WorkerLifecycle>();
