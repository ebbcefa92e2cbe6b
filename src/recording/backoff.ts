import { monotonicNow } from './clock.js';

/**
 * A wait after failures that doubles with each one, from `first` up to `max`, and starts over
 * after a success: when to try a failing thing (the store, the outbox, a probe) again.
 *
 * @example
 * ```ts
 * const retry = new Backoff(100, 5_000, true);
 * retry.fail();          // try again in 80-120 ms
 * retry.fail();          // then 160-240 ms
 * if (!retry.waiting()) write();
 * retry.succeed();       // the next failure waits 100 ms again
 * ```
 */
export class Backoff {
  readonly #first: number;
  readonly #max: number;
  readonly #jitter: boolean;
  #delay = 0;
  #until = 0;

  /** With `jitter`, each wait is ±20% of the doubling, so processes that failed together do not retry together. */
  constructor(first: number, max: number, jitter = false) {
    this.#first = first;
    this.#max = max;
    this.#jitter = jitter;
  }

  /** A failure at `now` (monotonic ms): the next wait doubles (the first is `first`), at most `max`. */
  fail(now = monotonicNow()): void {
    this.#delay = Math.min(this.#max, this.#delay === 0 ? this.#first : this.#delay * 2);
    this.#until = now + this.#delay * (this.#jitter ? 0.8 + 0.4 * Math.random() : 1);
  }

  /** A success: no wait, and the next failure waits `first` again. */
  succeed(): void {
    this.#delay = 0;
    this.#until = 0;
  }

  /** Tries again now, once (a flush), keeping the doubling for the next failure. */
  skip(): void {
    this.#until = 0;
  }

  /** Brings the next try forward to `at` (monotonic ms) when that is sooner. */
  notAfter(at: number): void {
    this.#until = Math.min(this.#until, at);
  }

  /** When the next try may be (monotonic ms; 0: now). */
  get until(): number {
    return this.#until;
  }

  /** Whether the next try must still wait. */
  waiting(now = monotonicNow()): boolean {
    return now < this.#until;
  }
}
