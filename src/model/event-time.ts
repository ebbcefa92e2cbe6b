/**
 * The wall clock's time for an event: epoch milliseconds as a whole number, as every store keeps
 * it and as `convert({ at })` is rounded. `Date.now()` is whole unless shimmed (a high-resolution
 * clock, a test's fake one), and a fraction would make every store refuse the event (quarantined,
 * not stored). Here, below recording and the stores, since both stamp events.
 *
 * @example
 * ```ts
 * const exposure = { ...fields, at: eventTime() };
 * ```
 */
export function eventTime(): number {
  return Math.round(Date.now());
}
