/**
 * Keeps the process alive until `work` settles: a referenced timer, cleared then. For the calls
 * whose own handles do not hold the event loop open (recording's connections are unreferenced,
 * so that a process with nothing else to do can end: see CallOptions.background), when a caller
 * waits for them: a script's `await flush()`, a foreground read of the store.
 *
 * @example
 * ```ts
 * await keepingAlive(store.write(events, { background: true }));
 * ```
 */
export function keepingAlive<T>(work: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, KEEP_ALIVE_MS);
  return work.finally(() => clearInterval(timer));
}

/** Any interval will do: the timer only holds the loop open; its callback does nothing. */
const KEEP_ALIVE_MS = 60_000;
