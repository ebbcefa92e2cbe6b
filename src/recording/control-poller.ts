import type { Overrides } from '../core/definition.js';
import type { ControlState } from '../model/events.js';
import type { Store } from '../model/store.js';
import { withDeadline } from './deadline.js';
import type { ErrorReporter } from './error-reporter.js';

/**
 * Keeps this process's view of stop/resume and ramps in step with the store: reads every track
 * set's control state every `controlInterval`, one read at a time, each under the write
 * deadline. When a read fails the last known state stays (a store outage never resumes a
 * stopped test, nor undoes a ramp).
 */
export class ControlPoller {
  readonly #store: Store;
  readonly #errors: ErrorReporter;
  readonly #writeTimeout: number;
  readonly #timer: NodeJS.Timeout;
  /** Stopped sets: the track each serves, or null for its baseline. */
  #stopped = new Map<string, string | null>();
  /** Every set with a control state: its ramp and epoch. */
  #live = new Map<string, Live>();
  #promoted = new Set<string>();
  /** The control states last applied. */
  #applying: readonly ControlState[] = [];
  #reading: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  readonly #onChange: (() => void) | undefined;
  readonly #beforeChange: ((trackSetIds: ReadonlySet<string>) => Promise<void>) | undefined;
  readonly #first: Promise<void>;
  /** Whether a read has been applied: the first is the process's starting state, not a change. */
  #applied = false;

  /**
   * `onChange` is called after a read that found a set's state changed (a stop, resume or
   * ramp); `beforeChange`, awaited before such a change takes effect here, with the sets it
   * ramps or resumes (not for a stop, nor for the first state read).
   */
  constructor(
    store: Store,
    errors: ErrorReporter,
    options: { controlInterval: number; writeTimeout: number },
    onChange?: () => void,
    beforeChange?: (trackSetIds: ReadonlySet<string>) => Promise<void>,
  ) {
    this.#onChange = onChange;
    this.#beforeChange = beforeChange;
    this.#store = store;
    this.#errors = errors;
    this.#writeTimeout = options.writeTimeout;
    this.#timer = setInterval(() => void this.refresh(), options.controlInterval);
    this.#timer.unref();
    // A store that can answer at once (a SQLite file) does, so a process started while a set is
    // stopped or ramped never serves a run of it as the code says; others answer after one
    // round trip (see ready()).
    const now = readAtOnce(store, errors);
    if (now !== undefined) this.#apply(now);
    this.#first = this.refresh();
  }

  /** Resolves when the first read of the store has answered or failed (within the write deadline). */
  ready(): Promise<void> {
    return this.#first;
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

  /** Whether `tracks promote` made the shadow set a live test. */
  promoted(trackSetId: string): boolean {
    return this.#promoted.size > 0 && this.#promoted.has(trackSetId);
  }

  /** A set's live overrides (a ramp) and epoch; undefined when the store has no control state for it. */
  live(trackSetId: string): Live | undefined {
    return this.#live.size === 0 ? undefined : this.#live.get(trackSetId);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #read(): Promise<void> {
    try {
      const controls = await withDeadline(this.#writeTimeout, `reading stop/resume state from ${this.#store.description}`, (call) =>
        this.#store.readControls(call),
      );
      if (this.#beforeChange !== undefined && this.#applied) {
        // A stop takes effect at once (it is the kill switch); a ramp or resume after the hook.
        const changed = new Set(controls.filter((c) => !c.stopped && !sameState(this.#live.get(c.trackSetId), c)).map((c) => c.trackSetId));
        if (changed.size > 0) {
          // Meanwhile every other set takes the state read: a stop read with a sticky ramp does
          // not wait for the ramp's reload (up to the write deadline).
          const others = [...this.#applying.filter((c) => changed.has(c.trackSetId)), ...controls.filter((c) => !changed.has(c.trackSetId))];
          if (this.#apply(others)) this.#onChange?.();
          await this.#beforeChange(changed);
        }
      }
      if (this.#apply(controls)) this.#onChange?.();
    } catch (error) {
      this.#errors.report('controls', error);
    }
  }

  /** Takes the store's control states; true when some set's state changed. */
  #apply(controls: readonly ControlState[]): boolean {
    {
      const stopped = new Map<string, string | null>();
      const live = new Map<string, Live>();
      const promoted = new Set<string>();
      for (const c of controls) {
        if (c.stopped) stopped.set(c.trackSetId, c.serve);
        if (c.promoted === true) promoted.add(c.trackSetId);
        const before = this.#live.get(c.trackSetId);
        const weights = c.weights ? new Map(Object.entries(c.weights)) : undefined;
        const overrides: Overrides = { ...(c.coverage === null || c.coverage === undefined ? {} : { coverage: c.coverage }), ...(weights ? { weights } : {}) };
        // The same write is the same state: keep the object, so what was derived from it stays cached.
        live.set(c.trackSetId, sameState(before, c) ? before! : { epoch: c.epoch ?? 0, at: c.at, overrides });
      }
      const changed = live.size !== this.#live.size || [...live].some(([id, state]) => this.#live.get(id) !== state);
      this.#stopped = stopped;
      this.#live = live;
      this.#promoted = promoted;
      this.#applying = [...controls];
      this.#applied = true;
      return changed;
    }
  }
}

/** Whether the stored state is the one this process has (every change raises the epoch or writes a new time). */
function sameState(before: Live | undefined, stored: ControlState): boolean {
  return before !== undefined && before.epoch === (stored.epoch ?? 0) && before.at === stored.at;
}

function readAtOnce(store: Store, errors: ErrorReporter): readonly ControlState[] | undefined {
  try {
    return store.readControlsNow?.();
  } catch (error) {
    errors.report('controls', error);
    return undefined;
  }
}

/** A set's live state beside stop/resume: its ramp, and the epoch every change raises. */
export interface Live {
  readonly epoch: number;
  /** When the state was written (two writers racing to one epoch still differ here). */
  readonly at: number;
  readonly overrides: Overrides;
}
