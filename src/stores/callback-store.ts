import type { RecordedEvent, Store } from './store.js';

/**
 * A store that hands each batch of events to your function, for your own pipeline (a queue,
 * a log, a warehouse loader). Batches are retried when the function throws or rejects, so
 * the same event may reach it more than once: deduplicate on `eventId`. Nothing is read
 * back: controls and summaries are empty, and sticky sets keep tracks only in memory.
 *
 * @example
 * ```ts
 * configure({ store: callbackStore(async (events) => { await queue.send(events); }) });
 * ```
 */
export function callbackStore(fn: (events: readonly RecordedEvent[]) => void | Promise<void>): Store {
  return {
    description: 'callback',
    async write(events) {
      await fn(events);
    },
    async readControls() {
      return [];
    },
    async writeControl() {
      throw new Error('a callbackStore cannot hold stop/resume state; use a SQLite or PostgreSQL store');
    },
    async readAssignments() {
      return new Map();
    },
    async summarize() {
      return [];
    },
    async close() {},
  };
}
