import { monotonicNow } from '../recording/clock.js';
import type { Recorder } from '../recording/recorder.js';

/** The SIGTERM handlers of every configuration, current or still closing. */
const OURS = new WeakSet<(...args: never[]) => unknown>();

/**
 * How recording ends with the process, so that nothing recorded before a graceful exit is
 * lost:
 *
 * - **SIGTERM, and the application has its own handler** (it drains: stops accepting, finishes
 *   its requests, then exits): recording flushes at once and keeps recording while the
 *   application goes on serving; whatever is recorded after is written by the usual timer, by
 *   the `beforeExit` flush, or spilled at `exit`.
 * - **SIGTERM, and no other handler**: recording flushes, and keeps recording meanwhile (the
 *   application goes on serving until the process ends); then the write under way ends or is
 *   given up (its events are then written or spilled, unless the store outlives the bound); then, in one synchronous step, what
 *   was recorded during the flush is spilled to the outbox and the signal is raised again, so
 *   no event falls between the two and the process ends as it would have without tracks, within
 *   `flushTimeout + writeTimeout` and a spill of at most 2 s (17 s by default).
 * - **`beforeExit`** (the event loop ran dry): flushes what is pending.
 * - **`exit`** (`process.exit()`, or the end): whatever is still in memory is spilled to the
 *   outbox on the spot, synchronously; it is written to the store by the next process.
 *
 * `earlier` is what an earlier configuration, still closing, has left to do: the SIGTERM flow
 * waits for it before its last spill and the signal, so that configuration's events are spilled
 * too (its own SIGTERM handler is released when this one is installed: see configure()).
 *
 * Returns the handlers' removal, all of them or the SIGTERM one alone.
 */
export function handleShutdown(recorder: Recorder, earlier: () => Promise<unknown> = () => Promise.resolve()): ShutdownHandlers {
  let exitFlushes = 0;
  let terminating = false;
  const onBeforeExit = () => {
    // beforeExit fires again after the flush's work; stop once nothing is left (or it keeps failing).
    if (recorder.pending && exitFlushes++ < 3) void recorder.flush();
  };
  const onSigterm = () => {
    // Ours runs first (prepended), so an application's handler, even a `once` one, is still
    // registered here. Another configuration's handler (one still closing) is not the application's.
    const appHandles = process.listeners('SIGTERM').some((listener) => !OURS.has(listener));
    if (appHandles) {
      void recorder.flush();
      return;
    }
    if (terminating) return;
    terminating = true;
    const since = monotonicNow();
    void Promise.all([recorder.flush(), earlier()])
      // The write under way ends (or is given up) first: else its events could be both committed and spilled.
      .finally(() => recorder.stopWriting(since))
      .finally(() => {
        // Synchronous from here to the signal: nothing can be recorded between the spill and the
        // end (a death by signal runs no 'exit' handler, so this is the last word).
        recorder.spillNow();
        process.removeListener('SIGTERM', onSigterm);
        process.kill(process.pid, 'SIGTERM');
      });
  };
  OURS.add(onSigterm);
  const onExit = () => recorder.spillNow();
  process.on('beforeExit', onBeforeExit);
  process.prependListener('SIGTERM', onSigterm);
  process.on('exit', onExit);
  return {
    remove: () => {
      process.removeListener('beforeExit', onBeforeExit);
      process.removeListener('SIGTERM', onSigterm);
      process.removeListener('exit', onExit);
    },
    releaseSignal: () => {
      process.removeListener('SIGTERM', onSigterm);
    },
  };
}

/** A configuration's shutdown handlers, to remove. */
export interface ShutdownHandlers {
  /** Removes every handler. */
  remove(): void;
  /** Removes the SIGTERM handler alone (a newer configuration's takes over, and waits for this one). */
  releaseSignal(): void;
}
