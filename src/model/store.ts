/**
 * The contract every store implements (SQLite, PostgreSQL, memory, callback, your own), and
 * the one recording and the `tracks` commands use. Reads never create or migrate anything;
 * writes create and migrate the tables on first use.
 */
import type { ControlState, RecordedEvent } from './events.js';
import type { ShadowSums } from './shadow.js';
import type { MetricDeclaration } from './metrics.js';
import type { SummarizeOptions, TrackSetSums } from './sums.js';

/**
 * What every store call takes: a signal that says the caller stopped waiting.
 *
 * @example
 * ```ts
 * const options: CallOptions = { signal: AbortSignal.timeout(5_000), deadline: Date.now() + 5_000 };
 * const controls = await store.readControls(options);
 * ```
 */
export interface CallOptions {
  /**
   * Aborted when the caller's deadline passes. A store then gives up the call and discards
   * whatever connection it was using (it may be silent, or mid-statement).
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * When the caller stops waiting, in epoch ms (the moment `signal` aborts). Stores use it for
   * the server-side or busy timeouts of the work they start, so it ends by then too.
   */
  readonly deadline?: number | undefined;
  /**
   * The call is recording's own, in the background (a batch, a poll, a lookup): it need not
   * keep the process alive. A store may then let its connections not hold the event loop open,
   * so that a process with nothing else to do ends (recording then flushes on `beforeExit`,
   * keeping the process alive itself, within its bound). Calls without it keep the process
   * alive until they settle, as any awaited I/O does.
   */
  readonly background?: boolean | undefined;
  /**
   * For a write: the store may hand the caller, at once, a way to settle the write on the spot,
   * with nothing asynchronous left to run (the process's `exit`): it gives the write up when it
   * has not begun committing, else waits for its commit (up to `waitMs`), and says whether it
   * committed. Recording's last spill at exit then leaves out events already stored.
   */
  readonly settleNow?: ((settle: (waitMs: number) => boolean) => void) | undefined;
}

/** A call's timing as a store's own work carries it: signal, deadline and whether it is recording's own. */
export type CallTiming = Required<Pick<CallOptions, 'signal' | 'deadline' | 'background'>>;

/**
 * How to write a control state: a call's options, and the epoch the write expects to replace.
 *
 * @example
 * ```ts
 * const current = (await store.readControls()).find((c) => c.trackSetId === 'delay');
 * const written = await store.writeControl({ ...next, epoch: (current?.epoch ?? 0) + 1 }, { ifEpoch: current?.epoch ?? 0 });
 * if (written === false) {
 *   // another change came first: read again, and apply this one over it
 * }
 * ```
 */
export interface WriteControlOptions extends CallOptions {
  /**
   * Write only if the set's stored epoch is this one (0 for a set with no state yet), and
   * resolve false otherwise: two changes made at once (two operators' `tracks ramp`) cannot
   * silently lose one. Without it, the state is written whatever is stored.
   */
  readonly ifEpoch?: number | undefined;
}

/**
 * A place events are written to and summaries read from.
 *
 * @example
 * ```ts
 * const store = storeFrom('tracks.db');
 * await store.write([{ kind: 'exposure', eventId: 'e1', trackSetId: 'delay', track: 'long', unit: 'u1', at: Date.now() }]);
 * const [delay] = await store.summarize({ trackSetId: 'delay' });
 * await store.close();
 * ```
 */
export interface Store {
  /** A short description for messages, e.g. `sqlite:/srv/tracks.db`. */
  readonly description: string;
  /**
   * Where the events go, named stably across versions and deploys (e.g.
   * `postgres://db:5432/app?schema=analytics`, no user or password): it names the default
   * outbox of the store, so a new version finds the events an old one spilled. Without it, the
   * default outbox is named for the description and the application.
   */
  readonly identity?: string | undefined;
  /**
   * Writes events idempotently: an eventId already stored is skipped, and so is a second
   * exposure of one unit to one set (the first wins). Rejects with a {@link StoreError}: transient
   * when trying again may work (unreachable, busy, timed out), not when the batch holds an
   * event the store cannot take (retrying cannot fix that; recording then narrows the batch
   * down to that event and quarantines it).
   */
  write(events: readonly RecordedEvent[], options?: CallOptions): Promise<void>;
  /** Every track set's control state; none when the store holds no tracks data yet. */
  readControls(options?: CallOptions): Promise<ControlState[]>;
  /**
   * The control states read synchronously, once, when recording starts (a local file can), so
   * a process started while a set is stopped or ramped serves it so from its first run.
   * Optional: without it, runs before the first `readControls` answer (one round trip; await
   * `ready()`) follow the code. Undefined when it cannot answer now.
   */
  readControlsNow?(): ControlState[] | undefined;
  /**
   * The store server's clock, epoch ms, for a store on another machine (PostgreSQL): recording
   * compares it with this process's, since every event time comes from the clock of the
   * process that recorded it (a conversion counts from its user's exposure on; a phase starts
   * when the change took effect). Optional: a local store shares the process's clock.
   */
  serverTime?(options?: CallOptions): Promise<number>;
  /**
   * Stores events at once, on the caller's thread, as `write` would. Only for stores that write
   * with no I/O (the memory store): at the memory bound recording hands them the oldest events
   * this way, where other stores' go to the outbox. Optional.
   */
  writeNow?(events: readonly RecordedEvent[]): void;
  /**
   * The metric declarations published to the store (`configure({ metrics })`), the latest per
   * name. Optional for stores of your own: without it, reports infer every metric's kind.
   */
  readMetrics?(options?: CallOptions): Promise<ReadonlyMap<string, MetricDeclaration>>;
  /**
   * The names of the dimensions a set's exposures carry (`static dimensions(context)`), sorted,
   * from every exposure of the set (the dashboard's "break down by" choices). Optional: without
   * it, `summarize({ by })` still works for a name you know.
   */
  readDimensions?(trackSetId: string, options?: CallOptions): Promise<string[]>;
  /**
   * Shadow runs (`static shadow`) added up per set and candidate, and each set's latest
   * mismatch samples; of one set, or all. Nothing when the store holds none. Optional for
   * stores of your own: without it, reports show no shadow section.
   */
  readShadow?(trackSetId?: string, options?: CallOptions): Promise<ShadowSums>;
  /**
   * Stops, resumes or ramps a track set for every process using the store. With `ifEpoch`,
   * resolves false when the stored epoch was another (nothing written), true when written; a
   * store of your own that ignores `ifEpoch` may resolve nothing, which counts as written.
   */
  writeControl(state: ControlState, options?: WriteControlOptions): Promise<boolean | void>;
  /** Earlier tracks of units in a sticky set, by unit; none when the store holds no tracks data yet. */
  readAssignments(trackSetId: string, units: readonly string[], options?: CallOptions): Promise<Map<string, string>>;
  /**
   * Earlier tracks of units in the sets whose latest definition is sticky, up to `limit` rows
   * shared evenly between those sets (each set's in the store's order), read once when recording
   * starts: a returning user keeps their track from the first run of a new process, not only
   * once a lookup answers. Optional: without it, each key is looked up on its first run and gets
   * its current assignment until the answer. With `filter`, only those sets' units exposed at or
   * after `since` (read again before a ramp takes effect in a running process).
   */
  readStickyAssignments?(limit: number, options?: CallOptions, filter?: StickyFilter): Promise<StickyAssignment[]>;
  /** The same, read synchronously (a local file can); undefined when it cannot answer now. */
  readStickyAssignmentsNow?(limit: number): StickyAssignment[] | undefined;
  /**
   * Sufficient statistics per track set and track, computed in the store. Rejects with a
   * StoreError (`code: 'TRACKS_NO_DATA'`) when the store holds no tracks tables.
   */
  summarize(options?: SummarizeOptions): Promise<TrackSetSums[]>;
  /** Ends the store: writes under way end first (each within its own deadline), then its connections or file. */
  close(): Promise<void>;
}

/**
 * Which sticky assignments to read again (see {@link Store.readStickyAssignments}): those of
 * these sets, first exposed at or after `since` (epoch ms).
 *
 * @example
 * ```ts
 * const filter: StickyFilter = { trackSetIds: ['delay'], since: Date.now() - 3_600_000 };
 * ```
 */
export interface StickyFilter {
  readonly trackSetIds: readonly string[];
  readonly since: number;
}

/**
 * A unit's track in a sticky set, as the store recorded it first (see
 * {@link Store.readStickyAssignments}).
 *
 * @example
 * ```ts
 * const row: StickyAssignment = { trackSetId: 'delay', unit: 'user-42', track: 'long' };
 * ```
 */
export interface StickyAssignment {
  readonly trackSetId: string;
  readonly unit: string;
  readonly track: string;
}
