import type { RecordedEvent } from '../model/events.js';
import type { Store } from '../model/store.js';
import { StoreError } from '../model/store-error.js';
import { noTracksData } from './migrations.js';

/**
 * A store that hands each batch of events to your function, for your own pipeline (a queue,
 * a log, a warehouse loader). A batch whose function throws or rejects is tried again (and
 * spilled to the outbox during a long outage), so the same event may reach it more than once:
 * deduplicate on `eventId`. Throw an error with `transient: false` (or a `StoreError` saying so)
 * for a batch you will never take: recording then narrows it down to the events at fault and
 * quarantines them. Nothing is read back: controls are empty, sticky sets keep tracks only in
 * memory, and a report finds no data.
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
