// Waiting out another process's lock on a SQLite file, within the caller's deadline.
import { codeOf } from '../errors.js';
import { StoreError } from '../model/store-error.js';

/** A word to sleep on (Atomics.wait): nothing ever notifies it. */
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

/** Whether a SQLite error is a lock held by someone else (worth waiting for). */
function isBusy(error: unknown): boolean {
  const code = codeOf(error);
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code?.startsWith('SQLITE_BUSY_') === true || code?.startsWith('SQLITE_LOCKED_') === true;
}

let stopWaiting: () => boolean = () => false;

/** Makes untilDeadline stop waiting on locks once `check` says so (the worker: when the process exits). */
export function stopWaitingWhen(check: () => boolean): void {
  stopWaiting = check;
}

/**
 * Runs `fn`, trying again while another process holds the lock, until `deadline` (epoch ms).
 * Connections wait only a short busy timeout per attempt, so the caller's deadline decides how
 * long a lock is waited out, not SQLite's. Blocks the thread: for worker threads only.
 */
export function untilDeadline<T>(fn: () => T, deadline: number): T {
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      return fn();
    } catch (error) {
      if (!isBusy(error) || Date.now() + wait > deadline) throw error;
      if (stopWaiting()) throw new StoreError('tracks: the process is exiting', { transient: true, code: 'TRACKS_CLOSED' });
      Atomics.wait(SLEEP, 0, 0, wait);
    }
  }
}
