import type { Store } from '../model/store.js';
import { withDeadline } from './deadline.js';
import type { ErrorReporter } from './error-reporter.js';

/**
 * Keeps this process's view of stop/resume in step with the store: reads every track set's
 * control state every `controlInterval`, one read at a time, each under the write deadline.
 * When a read fails the last known state stays (a store outage never resumes a stopped test).
 */
export class ControlPoller {
  readonly #store: Store;
  readonly #errors: ErrorReporter;
  readonly #writeTimeout: number;
  readonly #timer: NodeJS.Timeout;
  /** Stopped sets: the track each serves, or null for its baseline. */
  #stopped = new Map<string, string | null>();
  #reading: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(store: Store, errors: ErrorReporter, options: { controlInterval: number; writeTimeout: number }) {
    this.#store = store;
    this.#errors = errors;
    this.#writeTimeout = options.writeTimeout;
    this.#timer = setInterval(() => void this.refresh(), options.controlInterval);
    this.#timer.unref();
    void this.refresh();
  }

  /** The track a stopped set serves to everyone (null: its baseline), or undefined when it runs. */
  serving(trackSetId: string): string | null | undefined {
    return this.#stopped.size === 0 ? undefined : this.#stopped.get(trackSetId);
  }

  /**
   * Reads the control state now (the timer does it every `controlInterval`). A read already
   * under way may have started before the change the caller waits for: one more follows it.
   */
  refresh(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#next ??= this.#reading.then(() => {
        this.#next = undefined;
        return this.refresh();
      });
      return this.#next;
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #read(): Promise<void> {
    try {
      const controls = await withDeadline(this.#writeTimeout, `reading stop/resume state from ${this.#store.description}`, (call) =>
        this.#store.readControls(call),
      );
      const stopped = new Map<string, string | null>();
      for (const c of controls) if (c.stopped) stopped.set(c.trackSetId, c.serve);
      this.#stopped = stopped;
    } catch (error) {
      this.#errors.report('controls', error);
    }
  }
}
