/**
 * A store call that cannot stop where it is when its caller's deadline passes: a commit is
 * under way, and whether it lands decides whether the events were written. Giving up on it
 * then would have the caller write them again (retried or spilled), storing them twice; so
 * the store says so on the call's signal, and the caller waits for its outcome instead (a
 * commit takes milliseconds). Shared by recording (which waits) and the stores (which say so).
 *
 * @example
 * ```ts
 * signal.addEventListener('abort', () => {
 *   if (commitUnderWay) markFinishing(signal); // the caller waits for this call's outcome
 *   else reject(timedOut());
 * });
 * ```
 */
const finishing = new WeakSet<AbortSignal>();

/** Marks the call of `signal` as finishing a step it cannot take back (call it from the abort listener). */
export function markFinishing(signal: AbortSignal): void {
  finishing.add(signal);
}

/** Whether the call of `signal` said, when it was aborted, that it is finishing a step it cannot take back. */
export function isFinishing(signal: AbortSignal): boolean {
  return finishing.has(signal);
}
