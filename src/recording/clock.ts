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

/**
 * The wall clock's time for an event: epoch milliseconds as a whole number, as every store keeps
 * it and as `convert({ at })` is rounded. `Date.now()` is whole unless shimmed (a
 * high-resolution clock, a test's fake one), and a fraction would make every store refuse the
 * event (quarantined, not stored).
 *
 * @example
 * ```ts
 * const exposure = { ...fields, at: eventTime() };
 * ```
 */
export function eventTime(): number {
  return Math.round(Date.now());
}
