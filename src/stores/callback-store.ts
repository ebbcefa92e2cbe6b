import type { RecordedEvent } from '../model/events.js';
import type { Store } from '../model/store.js';
import { StoreError } from '../model/store-error.js';
import { noTracksData } from './migrations.js';

/**
 * What a `callbackStore` function gets beside the events: when tracks stops waiting for it.
 *
 * @example
 * ```ts
 * callbackStore(async (events, { signal }) => {
 *   await fetch('http://127.0.0.1:8080/events', { method: 'POST', body: JSON.stringify(events), signal });
 * });
 * ```
 */
export interface CallbackStoreCall {
  /**
   * Aborts when tracks stops waiting (`writeTimeout`, or recording closing): pass it on to your
   * client (`fetch(url, { signal })`, a queue's send) so that a batch given up is not delivered
   * later as well. The batch is tried again.
   */
  readonly signal: AbortSignal;
  /** When `signal` aborts, in epoch ms (Infinity for a call without a deadline). */
  readonly deadline: number;
}

/**
 * Event ids a call delivered after tracks stopped waiting for it, remembered (the latest
 * 100,000) so that its retry does not deliver them again.
 */
const REMEMBERED_LATE = 100_000;

/**
 * A store that hands each batch of events to your function, for your own pipeline (a queue,
 * a log, a warehouse loader). Delivery is at least once: a batch whose function throws or
 * rejects is tried again (and spilled to the outbox during a long outage), so the same event
 * may reach it more than once: deduplicate on `eventId`. A call that outlives `writeTimeout`
 * gets its `signal` aborted (pass it to your client); its retry first waits for it a while
 * longer, and leaves out the events it delivered late. Throw an error with `transient: false`
 * (or a `StoreError` saying so) for a batch you will never take: recording then narrows it
 * down to the events at fault and quarantines them. Nothing is read back: controls are empty,
 * sticky sets keep tracks only in memory, and a report finds no data.
 *
 * @example
 * ```ts
 * configure({ store: callbackStore(async (events, { signal }) => { await queue.send(events, { signal }); }) });
 * ```
 */
export function callbackStore(fn: (events: readonly RecordedEvent[], call: CallbackStoreCall) => void | Promise<void>): Store {
  // The call carrying each event, while it runs (also after tracks stopped waiting for it).
  const running = new Map<string, Promise<unknown>>();
  const deliveredLate = new Set<string>();
  return {
    description: 'callback',
    async write(events, options = {}) {
      const signal = options.signal ?? new AbortController().signal;
      const deadline = options.deadline ?? Infinity;
      const earlier = new Set<Promise<unknown>>();
      for (const event of events) {
        const call = running.get(event.eventId);
        if (call !== undefined) earlier.add(call);
      }
      // A retry of a call still running waits for it, half of its own time at most (a call
      // that never ends must not hold these events back for good), then sends what it has not.
      if (earlier.size > 0) {
        await settledOrHalfway(Promise.allSettled(earlier), signal, deadline);
        if (signal.aborted) throw new StoreError('tracks: a callbackStore call of these events is still running', { transient: true, code: 'TRACKS_TIMEOUT' });
      }
      let rest = events;
      if (deliveredLate.size > 0) {
        rest = events.filter((event) => !deliveredLate.has(event.eventId));
        for (const event of events) deliveredLate.delete(event.eventId);
      }
      if (rest.length === 0) return;
      const call = Promise.resolve().then(() => fn(rest, { signal, deadline }));
      for (const event of rest) running.set(event.eventId, call);
      void call.then(
        () => {
          // Delivered after tracks gave up on it: the retry leaves these out.
          if (!signal.aborted) return;
          for (const event of rest) deliveredLate.add(event.eventId);
          for (const id of deliveredLate) {
            if (deliveredLate.size <= REMEMBERED_LATE) break;
            deliveredLate.delete(id);
          }
        },
        () => {},
      ).finally(() => {
        for (const event of rest) if (running.get(event.eventId) === call) running.delete(event.eventId);
      });
      await call;
    },
    async readControls() {
      return [];
    },
    async writeControl() {
      throw new StoreError('tracks: a callbackStore cannot hold stop/resume state; use a SQLite or PostgreSQL store', {
        transient: false,
        code: 'TRACKS_NO_DATA',
      });
    },
    async readAssignments() {
      return new Map();
    },
    async summarize() {
      throw noTracksData('a callbackStore');
    },
    async close() {},
  };
}

/** Resolves when `settled` does, halfway to `deadline`, or when `signal` aborts, whichever comes first. */
function settledOrHalfway(settled: Promise<unknown>, signal: AbortSignal, deadline: number): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const wait = Number.isFinite(deadline) ? Math.max(0, (deadline - Date.now()) / 2) : 30_000;
    const timer = setTimeout(done, wait);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
    void settled.then(done);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
