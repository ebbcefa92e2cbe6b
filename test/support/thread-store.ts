// A store modelled as one working on its own thread (as the SQLite store's worker does), for
// tests of sending batches ahead: it begins each write when the one before it ends (or when it
// is sent, if later), takes wall-clock time, so it goes on while the test's thread runs a
// synchronous loop, and answers when that thread is next free (a timer), as a worker's message
// would. Like the SQLite store, it reports its queue: how many writes wait (sent, not begun), and
// how long the last one it finished took, and how long the one under way has run.
import { StoreError, memoryStore } from '../../src/index.js';
import type { RecordedEvent, Store } from '../../src/index.js';

export interface ThreadStoreOptions {
  /** Milliseconds the `call`-th write takes (0-based). */
  readonly ms: (call: number) => number;
  /** Whether the `call`-th write fails (transiently); none by default. */
  readonly fails?: (call: number) => boolean;
  /** Whether it has `writeQueue()` (default true); without, recording sends one write at a time. */
  readonly reportsQueue?: boolean;
}

export interface ThreadStore {
  readonly store: Store;
  /** The units of the exposures written, in the order the store wrote them. */
  readonly written: string[];
  /** Writes sent so far, and the most sent and not yet answered at once. */
  readonly counts: { calls: number; mostInFlight: number };
}

export function threadStore(options: ThreadStoreOptions): ThreadStore {
  const inner = memoryStore();
  const written: string[] = [];
  const counts = { calls: 0, mostInFlight: 0 };
  const writes: Array<{ begin: number; end: number }> = [];
  let busyUntil = 0;
  let inFlight = 0;
  const store: Store = {
    ...inner,
    description: 'thread',
    write(events: readonly RecordedEvent[]): Promise<void> {
      const call = counts.calls++;
      counts.mostInFlight = Math.max(counts.mostInFlight, ++inFlight);
      const begin = Math.max(busyUntil, performance.now());
      busyUntil = begin + options.ms(call);
      const end = busyUntil;
      writes.push({ begin, end });
      const fails = options.fails?.(call) ?? false;
      if (!fails) for (const event of events) if (event.kind === 'exposure') written.push(event.unit);
      return new Promise<void>((resolve, reject) => {
        setTimeout(
          () => {
            inFlight--;
            if (fails) reject(new StoreError('busy', { transient: true }));
            else void inner.write(events).then(resolve, reject);
          },
          Math.max(0, end - performance.now()),
        );
      });
    },
  };
  if (options.reportsQueue !== false) {
    store.writeQueue = () => {
      const now = performance.now();
      const done = writes.filter((write) => write.end <= now);
      const last = done[done.length - 1];
      const running = writes.find((write) => write.begin <= now && now < write.end);
      return {
        waiting: writes.filter((write) => write.begin > now).length,
        msPerWrite: last === undefined ? undefined : last.end - last.begin,
        runningMs: running === undefined ? 0 : now - running.begin,
      };
    };
  }
  return { store, written, counts };
}
