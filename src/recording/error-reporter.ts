/**
 * Where recording's failures go: your `onError`, or stderr. Recording never throws; instead it
 * reports, and counts in `stats()`. A storm of one kind of failure (the store down at 20,000
 * requests a second, a bug that converts with a bad metric on every request) must not become
 * a storm of log lines, so each kind is passed on at most {@link BURST} times per window; the
 * rest are summed up in one message when the window ends. The counters are always exact.
 */
import { monotonicNow } from './clock.js';

/** What a failure is about: each kind has its own allowance. */
export type FailureKind = 'rejected' | 'write' | 'spill' | 'quarantined' | 'dropped' | 'controls' | 'sticky' | 'outbox' | 'guardrail' | 'dimensions' | 'shadow' | 'clock';

/** Failures of one kind passed on per window. */
const BURST = 100;
/** The window of `onError`, in ms. */
const WINDOW_MS = 10_000;
/** Without `onError`, one line per kind per this long goes to stderr. */
const LOG_INTERVAL_MS = 60_000;
/** How long a message already logged under another kind holds its kind back. */
const DUPLICATE_HOLD_MS = 1_000;

interface Allowance {
  windowStart: number;
  passed: number;
  suppressed: number;
  lastLogged: number;
  timer: NodeJS.Timeout | undefined;
}

/** Passes failures on to `onError` (or stderr), rate-limited per kind; see the module comment. */
export class ErrorReporter {
  readonly #onError: ((error: Error) => void) | undefined;
  readonly #allowances = new Map<FailureKind, Allowance>();
  /** Without `onError`: each message logged to stderr, and when (one failure seen by several parts is one line). */
  readonly #logged = new Map<string, number>();

  constructor(onError: ((error: Error) => void) | undefined) {
    this.#onError = onError;
  }

  report(kind: FailureKind, error: unknown): void {
    this.reportMade(kind, () => (error instanceof Error ? error : new Error(String(error))));
  }

  /**
   * As {@link report}, for a failure that may repeat on every request (an event dropped while
   * memory is full): `make` builds the error only when it is passed on, so the failures held
   * back cost a counter, not an Error with its stack and message each.
   */
  reportMade(kind: FailureKind, make: () => Error): void {
    const now = monotonicNow();
    let allowance = this.#allowances.get(kind);
    if (allowance === undefined) {
      allowance = { windowStart: now, passed: 0, suppressed: 0, lastLogged: -Infinity, timer: undefined };
      this.#allowances.set(kind, allowance);
    }
    if (this.#onError === undefined) {
      this.#log(kind, make, allowance, now);
      return;
    }
    if (now - allowance.windowStart >= WINDOW_MS) this.#summarize(kind, allowance, now);
    if (allowance.passed < BURST) {
      allowance.passed++;
      this.#call(make());
      return;
    }
    allowance.suppressed++;
    allowance.timer ??= setTimeout(() => this.#summarize(kind, allowance!, monotonicNow()), allowance.windowStart + WINDOW_MS - now).unref();
  }

  /** Reports now what the current windows held back (before the recorder closes). */
  flushSuppressed(): void {
    for (const [kind, allowance] of this.#allowances) this.#summarize(kind, allowance, monotonicNow());
  }

  #summarize(kind: FailureKind, allowance: Allowance, now: number): void {
    if (allowance.timer) clearTimeout(allowance.timer);
    allowance.timer = undefined;
    const suppressed = allowance.suppressed;
    allowance.windowStart = now;
    allowance.passed = 0;
    allowance.suppressed = 0;
    if (suppressed > 0) {
      this.#call(new Error(`tracks: ${suppressed} more ${kind} failures in the last ${WINDOW_MS / 1000} s were not reported one by one (see stats())`));
    }
  }

  #call(error: Error): void {
    try {
      const result: unknown = this.#onError!(error);
      // An async hook that rejects must not become an unhandled rejection (which ends the process).
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') (result as PromiseLike<unknown>).then(undefined, () => {});
    } catch {
      // A failing error hook must not break recording either.
    }
  }

  #log(kind: FailureKind, make: () => Error, allowance: Allowance, now: number): void {
    if (now - allowance.lastLogged < LOG_INTERVAL_MS) {
      allowance.suppressed++;
      return;
    }
    const message = make().message;
    // A store that cannot open fails writes, control reads and sticky lookups alike: the same
    // message under several kinds is logged once per interval (each kind still counts it). A
    // duplicate holds its kind back for a second only, so that a different failure of the
    // kind is still logged, and builds its message at most once a second meanwhile.
    for (const [logged, at] of this.#logged) if (now - at >= LOG_INTERVAL_MS) this.#logged.delete(logged);
    if (this.#logged.has(message)) {
      allowance.lastLogged = now - LOG_INTERVAL_MS + DUPLICATE_HOLD_MS;
      allowance.suppressed++;
      return;
    }
    allowance.lastLogged = now;
    this.#logged.set(message, now);
    const more = allowance.suppressed > 0 ? ` (and ${allowance.suppressed} more ${kind} failures since the last message)` : '';
    allowance.suppressed = 0;
    console.error(`${message}${more} (tracks does not throw; pass onError to configure() to handle these)`);
  }
}
