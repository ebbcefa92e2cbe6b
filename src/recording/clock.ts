/**
 * Milliseconds on a clock that only moves forward, in the epoch's scale: the process's start
 * time plus the time elapsed since. Recording's waits (retry backoff, outbox pauses, flush and
 * close deadlines, error-report windows) are measured on it, so a step of the wall clock (NTP,
 * a resumed VM) neither stalls delivery for the length of the step nor cuts a wait short.
 * Events keep the wall clock's time (`Date.now()`).
 *
 * @example
 * ```ts
 * const retryAt = monotonicNow() + 500; // still 500 ms away if the wall clock steps back an hour
 * ```
 */
export function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

