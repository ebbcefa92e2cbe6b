import type { ChosenRun, RunHooks } from '../core/run-hooks.js';
import type { RecordedEvent } from '../model/events.js';
import type { Outbox } from '../model/outbox.js';
import type { Store } from '../model/store.js';
import { messageOf } from '../errors.js';
import { keepingAlive } from '../model/keep-alive.js';
import { UnitOfKey } from '../model/unit.js';
import { conversionEventOf } from './conversion-event.js';
import type { Conversion } from './conversion-event.js';
import { ClockCheck } from './clock-check.js';
import { ControlPoller } from './control-poller.js';
import { monotonicNow } from './clock.js';
import { eventTime } from '../model/event-time.js';
import { withDeadline } from './deadline.js';
import { Delivery } from './delivery.js';
import { ErrorReporter } from './error-reporter.js';
import { EventBuffer } from './event-buffer.js';
import { Exposures } from './exposures.js';
import { HealthRecorder } from './health-recorder.js';
import { MetricPublisher } from './metric-publisher.js';
import { Phases } from './phases.js';
import type { TrackSetDefinition } from '../core/definition.js';
import { resolveOptions, warnUnsaltedOnce } from './recorder-options.js';
import type { RecorderOptions, ResolvedOptions } from './recorder-options.js';
import { SeenUnits } from './seen-units.js';
import { StickyAssignments } from './sticky-assignments.js';
import { SegmentValues } from './segment-values.js';
import { ShadowRecorder } from './shadow-recorder.js';
import { shadowOutcomesPending, shadowRunsReported } from '../core/shadow-runner.js';
import { inShadowRun } from '../core/request-scope.js';
import { TracksError } from '../errors.js';
import { conversionOrderCheck } from './conversion-order.js';
import { nextConversion } from '../core/conversion-sequence.js';
import { conversionsAtNewOf } from '../core/track-set.js';
import type { ConversionOrder } from './conversion-order.js';
import { quoted, shown } from '../text.js';
import { isObjectArgument, optionsError } from '../core/arguments.js';

const DONE: FlushResult = { complete: true, pending: 0 };

/**
 * Counters of what recording did, from {@link stats}. They stay readable after `close()`.
 *
 * @example
 * ```ts
 * const { written, spilled, dropped }: RecordingStats = stats();
 * if (dropped > 0) log.warn({ written, spilled, dropped }, 'tracks lost events');
 * ```
 */
export interface RecordingStats {
  /** Events in memory now: waiting, being written or being spilled. */
  readonly buffered: number;
  /** Their estimated size in bytes (bounded by `maxBufferedBytes`). */
  readonly bufferedBytes: number;
  /** Events the store confirmed, from memory. */
  readonly written: number;
  /** Events whose write failed for a reason that may pass, and were tried again (once per failed attempt). */
  readonly retried: number;
  /** Events moved to the outbox (the store failing, slow or hung, or a shutdown during an outage). */
  readonly spilled: number;
  /** Events from the outbox that the store then confirmed. */
  readonly drained: number;
  /** Events refused when recorded (a malformed `convert()`): never buffered, reported to `onError`. */
  readonly rejected: number;
  /** Events the store refused for good, narrowed down and set aside in the outbox's quarantine table. */
  readonly quarantined: number;
  /**
   * Events lost: memory at its bound while the outbox could not take them (or there is none),
   * recorded after `close()`, or left at exit with no outbox; and shadow candidate runs still
   * running when `close()` stopped waiting for them. Each is reported to `onError`.
   */
  readonly dropped: number;
}

/** A stopped set serving its baseline: one object for every run of it. */
const STOPPED = Object.freeze({ reason: 'stopped' } as const);

/**
 * What a {@link flush} did within its bound.
 *
 * @example
 * ```ts
 * const { complete, pending } = await flush();
 * if (!complete) console.warn(`${pending} events are only in memory: the store and the outbox both fail`);
 * ```
 */
export interface FlushResult {
  /** Whether every event recorded before the call is stored, spilled to the outbox, quarantined or dropped (counted). */
  readonly complete: boolean;
  /**
   * Events recorded before the call still only in memory when it returned: the store did not
   * take them within its bound, and the outbox could not either (or there is none); reported to
   * `onError`. They go to whichever takes them first; a process killed now would lose them.
   */
  readonly pending: number;
}

/**
 * Records exposures, health and conversions into a store, off the request path: the run hooks
 * only append to a bounded buffer in memory, and the parts below do the rest, each with one
 * job. Created by {@link configure}; you rarely need it directly.
 *
 * - the edge (`Exposures`, `conversionEventOf`) turns runs and conversions into checked events;
 * - `EventBuffer` holds them, bounded in events and bytes;
 * - `Delivery` writes them in batches under deadlines, retries, narrows down and quarantines,
 *   spills to and drains from the outbox;
 * - `ControlPoller` keeps stop/resume current; `StickyAssignments` caches sticky tracks;
 *   `ClockCheck` tells when this process's clock and a remote store's differ;
 * - `HealthRecorder` counts per-track health and judges guardrails;
 * - `ShadowRecorder` counts shadow runs, keeps mismatch samples, judges shadow guardrails.
 *
 * @example
 * ```ts
 * const recorder = configure({ store: 'tracks.db' })!;
 * await recorder.flush();
 * recorder.stats().written;
 * ```
 */
export class Recorder {
  readonly store: Store;
  /** @internal The hooks core calls; bound once so the hot path does no allocation. */
  readonly hooks: RunHooks;
  readonly #options: ResolvedOptions;
  readonly #errors: ErrorReporter;
  readonly #buffer: EventBuffer;
  readonly #delivery: Delivery;
  readonly #controls: ControlPoller;
  readonly #clock: ClockCheck;
  /** The store's sticky assignments, loaded when recording starts. */
  readonly #stickyLoaded: Promise<void>;
  readonly #exposures: Exposures;
  readonly #health: HealthRecorder;
  readonly #shadows: ShadowRecorder;
  readonly #outbox: Outbox | undefined;
  readonly #units: UnitOfKey;
  readonly #timer: NodeJS.Timeout;
  readonly #metrics: MetricPublisher;
  readonly #accept = (event: RecordedEvent): void => this.#push(event);
  #rejected = 0;
  #open = true;
  readonly #usedSets = new WeakSet<TrackSetDefinition>();
  #lastUsed: TrackSetDefinition | undefined;
  readonly #isStopped = (trackSetId: string): boolean => this.#controls.serving(trackSetId) !== undefined;
  #closing: Promise<void> | undefined;
  /** The events of close()'s last spill while it is under way (see #spillOrDrop). */
  #spilling: RecordedEvent[] | undefined;
  /** Stops serving a track their set lacks, reported already (set id and track, NUL-separated). */
  readonly #unknownServes = new Set<string>();
  #soon = false;
  #droppedAfterClose = false;
  /** Conversions recorded between a run's new and its first use: warned about once per process. */
  #order: ConversionOrder | undefined = conversionOrderCheck();

  /** Starts recording into `store`, spilling to `outbox` when there is one. Throws a TracksError for a bad option. */
  constructor(store: Store, options: RecorderOptions = {}, outbox?: Outbox) {
    if (typeof store !== 'object' || store === null || typeof (store as Partial<Store>).write !== 'function') {
      throw new TracksError(`Recorder: the store is ${shown(store)}; pass a store, e.g. new Recorder(sqliteStore('tracks.db')) (or use configure({ store }))`);
    }
    if (!isObjectArgument(options)) throw optionsError('Recorder', options, '{ onError }');
    if (outbox !== undefined && (typeof outbox !== 'object' || outbox === null || typeof (outbox as Partial<Outbox>).spill !== 'function')) {
      throw new TracksError(`Recorder: the outbox is ${shown(outbox)}; pass an outbox such as sqliteOutbox(path), or leave it out`);
    }
    const o = resolveOptions(options);
    if (o.secret === true) warnUnsaltedOnce();
    this.store = store;
    this.#options = o;
    this.#outbox = outbox;
    this.#errors = new ErrorReporter(o.onError);
    this.#buffer = new EventBuffer(o.maxBuffered, o.maxBufferedBytes);
    this.#delivery = new Delivery(store, outbox, this.#buffer, this.#errors, o);
    this.#units = new UnitOfKey(o.secret);
    const sticky = new StickyAssignments(store, this.#units, this.#errors, {
      writeTimeout: o.writeTimeout,
      maxEntries: o.stickyCacheSize,
      maxBytes: o.stickyCacheBytes,
    });
    this.#stickyLoaded = sticky.load();
    this.#controls = new ControlPoller(
      store,
      this.#errors,
      o,
      () => {
        if (this.#open) this.#exposures.markPhases(this.#isStopped, this.#accept);
      },
      // A ramp or resume takes effect once this process knows the sticky users other processes exposed.
      (ids) => this.#exposures.reloadSticky(ids),
    );
    this.#clock = new ClockCheck(store, this.#errors, o);
    const controls = this.#controls;
    const holdout = o.holdout;
    // The holdout's split is the configured share's: a ramp or stop written to the store under
    // its id does not change it, so it does not change its recorded phase either.
    const phases = new Phases(
      holdout === undefined ? (id) => controls.live(id) : (id) => (id === holdout.id ? undefined : controls.live(id)),
      (error) => this.#errors.report('controls', error),
      (id) => controls.promoted(id),
    );
    const segments = new SegmentValues(this.#units, (error) => this.#errors.report('dimensions', error));
    this.#exposures = new Exposures(this.#units, new SeenUnits(o.dedupeSize, o.dedupeBytes), sticky, phases, holdout, segments);
    this.#health = new HealthRecorder(o.guardrails, o.onGuardrail, this.#errors);
    this.#metrics = new MetricPublisher(o.metrics);
    this.#shadows = new ShadowRecorder(this.#accept, this.#errors, o.onGuardrail);
    this.hooks = {
      effective: (definition) => {
        // Most runs are of the set used last: one comparison, then the one lookup a ramp needs.
        // A set run in a shadow candidate is not published from there: it served no one.
        if (definition !== this.#lastUsed && !inShadowRun()) this.#used(definition);
        return phases.effective(definition);
      },
      serveInstead: (definition) => {
        const track = this.#controls.serving(definition.id);
        if (track === undefined) return undefined;
        if (track === null) return STOPPED;
        // A stop written with --force before the set was deployed may name a track it lacks:
        // its baseline is served, and that is said, not left for the report to contradict.
        if (!definition.byName.has(track)) return this.#servedInstead(definition, track);
        return { track, reason: 'stopped' };
      },
      stickyTrack: (id, key) => this.#exposures.stickyTrack(id, key),
      tripped: this.#health.tripped,
      exposed: (run) => this.#exposed(run),
      ran: (run, ms, failed) => this.#ran(run, ms, failed),
      holdout,
      holdoutExposed: (key, track) => this.#holdoutExposed(key, track),
      shadowMode: (id) => !this.#controls.promoted(id),
      shadowStopped: (id, track) => this.#shadows.stopped(id, track),
      shadowing: () => this.#open,
      shadowed: (outcome) => {
        if (!this.#open) return; // candidates still running at close are not counted
        try {
          this.#shadows.record(outcome);
        } catch (error) {
          this.#errors.report('shadow', error);
        }
      },
    };
    this.#timer = setInterval(() => this.#tick(), o.flushInterval);
    this.#timer.unref();
  }

  // ---- the request path: memory only, never throws ----

  /** A stop serving a track the set lacks: the baseline is served; reported once per set and track. */
  #servedInstead(definition: TrackSetDefinition, track: string): typeof STOPPED {
    const said = `${definition.id}\u0000${track}`;
    if (!this.#unknownServes.has(said)) {
      this.#unknownServes.add(said);
      this.#errors.report(
        'controls',
        new TracksError(
          `${definition.className} (${quoted(definition.id)}) is stopped serving ${quoted(track)}, which it has no track of (its tracks are ${[...definition.byName.keys()].map(quoted).join(', ')}): ` +
            `its baseline ${quoted(definition.control.name)} is served instead; stop it again naming one of its tracks (tracks stop ${definition.id} --serve <track>)`,
        ),
      );
    }
    return STOPPED;
  }

  #exposed(run: ChosenRun): void {
    if (!this.#open) return this.#afterClose();
    try {
      const exposure = this.#exposures.record(run, this.#accept);
      // Until it has warned (once per process): nothing to look at after.
      if (exposure !== undefined && this.#order?.exposed(exposure, conversionsAtNewOf(run)) === true) this.#order = undefined;
    } catch (error) {
      this.#rejected++;
      this.#errors.report('rejected', error);
    }
  }

  /** A keyed run drew its holdout track: the unit's holdout exposure, once (see Exposures.recordHoldout). */
  #holdoutExposed(key: string, track: string): void {
    if (!this.#open) return this.#afterClose();
    try {
      this.#exposures.recordHoldout(key, track, this.#accept);
    } catch (error) {
      this.#rejected++;
      this.#errors.report('rejected', error);
    }
  }

  /**
   * A run of a set other than the last one used: on the set's first use in this process, its
   * definition is recorded, so a set is published even when none of its keys is in the test yet
   * (a test deployed at coverage 0, to ramp). Later phases are recorded by markPhases.
   */
  #used(definition: TrackSetDefinition): void {
    this.#lastUsed = definition;
    if (this.#usedSets.has(definition)) return;
    this.#usedSets.add(definition);
    if (!this.#open) return;
    try {
      this.#exposures.used(definition, this.#isStopped, this.#accept);
    } catch (error) {
      this.#errors.report('rejected', error);
    }
  }

  #ran(run: ChosenRun, durationMs: number, failed: boolean): void {
    if (!this.#open) return; // its exposure, if any, was counted as dropped
    try {
      this.#health.ran(run, durationMs, failed);
    } catch (error) {
      this.#errors.report('rejected', error);
    }
  }

  /**
   * Records a conversion; see {@link convert}. Never throws: a malformed call is a TracksError
   * passed to `onError` and counted in `stats().rejected`, since it usually runs in a request.
   */
  convert(conversion: Conversion): void {
    if (!this.#open) return this.#afterClose();
    // A shadow candidate's conversion: the baseline served the user, and records its own.
    if (inShadowRun()) return;
    let event: RecordedEvent;
    try {
      event = conversionEventOf(conversion, this.#units, eventTime());
      this.#metrics.checkRecorded(event.metric);
    } catch (error) {
      this.#rejected++;
      this.#errors.report('rejected', error);
      return;
    }
    this.#order?.converted(event, nextConversion());
    this.#push(event);
  }

  #push(event: RecordedEvent): void {
    this.#metrics.publish(this.#pushOne);
    this.#pushOne(event);
  }

  readonly #pushOne = (event: RecordedEvent): void => {
    if (this.#buffer.push(event)) {
      // A full batch to write (or, when the store is behind, to spill): act on the next turn.
      if (!this.#soon && (this.#buffer.queued >= this.#options.batchSize || this.#buffer.bytes * 4 >= this.#buffer.maxBytes)) {
        this.#soon = true;
        setImmediate(() => {
          this.#soon = false;
          this.#delivery.kick();
        }).unref();
      }
      return;
    }
    // At the bound: room in the outbox, at once, before anything is dropped.
    if (this.#delivery.overflow() && this.#buffer.push(event)) return;
    this.#delivery.kick();
    const total = this.#buffer.total;
    const bytes = this.#buffer.bytes;
    this.#delivery.dropped(
      1,
      () =>
        `memory holds ${total} events (${bytes} bytes), its bound, and ` +
        `${this.#outbox === undefined ? 'there is no outbox' : `the outbox ${this.#outbox.path} cannot take them now`}`,
    );
  };

  #afterClose(): void {
    this.#delivery.counts.dropped++;
    if (this.#droppedAfterClose) return;
    this.#droppedAfterClose = true;
    this.#errors.report(
      'dropped',
      new Error('tracks: recording was closed; events recorded after close() are dropped (counted in stats().dropped). Call configure() to record again'),
    );
  }

  // ---- off the request path ----

  /** Counters of what recording did. */
  stats(): RecordingStats {
    const counts = this.#delivery.counts;
    return {
      buffered: this.#buffer.total,
      bufferedBytes: this.#buffer.bytes,
      written: counts.written,
      retried: counts.retried,
      spilled: counts.spilled,
      drained: counts.drained,
      rejected: this.#rejected,
      quarantined: counts.quarantined,
      dropped: counts.dropped,
    };
  }

  /**
   * Resolves once the store's stop, resume and ramp state and its sticky assignments have been
   * read, and a remote store's clock compared with this process's (or the reads failed, within
   * `writeTimeout`). Until then, runs of a set follow the code
   * and a returning user of a sticky set may get their current assignment, unless the store read
   * them at once (a SQLite file does). Await it before serving traffic with a PostgreSQL store.
   */
  async ready(): Promise<void> {
    // Recording's reads run in the background; a caller waiting for them keeps the process alive.
    await keepingAlive(Promise.all([this.#controls.ready(), this.#stickyLoaded, this.#clock.checked()]));
  }

  /** Reads stop/resume state from the store now (a timer does it every `controlInterval`). */
  refreshControls(): Promise<void> {
    return keepingAlive(this.#controls.refresh());
  }

  /**
   * Resolves once everything recorded before the call is stored (or, past `flushTimeout`,
   * spilled to the outbox), the sticky lookups asked for are answered, and the outbox is
   * drained when the store takes writes: within `flushTimeout + writeTimeout`, whatever the
   * store does. Never rejects; resolves with how many of those events are still only in memory
   * (when the store and the outbox both fail), also reported to `onError`.
   */
  flush(): Promise<FlushResult> {
    // Recording's writes run in the background (they do not keep the process alive); a flush
    // someone waits for does, within its bound: a script's last `await flush()`, the beforeExit one.
    return keepingAlive(this.#flush());
  }

  async #flush(): Promise<FlushResult> {
    if (!this.#open) {
      // Closing settles every event: stored, spilled or dropped (counted).
      await this.#closing;
      return DONE;
    }
    const { flushTimeout, writeTimeout } = this.#options;
    const start = monotonicNow();
    // Shadow runs already started report within their timeout; a flush waits for them, within its bound.
    await within(shadowRunsReported(), Math.min(flushTimeout, writeTimeout));
    this.#collect();
    await within(this.#exposures.settled(), Math.min(flushTimeout, writeTimeout));
    const pending = await this.#delivery.flush(start + flushTimeout, start + flushTimeout + writeTimeout);
    if (pending === 0) return DONE;
    this.#errors.reportMade(
      'spill',
      () =>
        new Error(
          `tracks: flush() returned at its bound with ${pending} ${pending === 1 ? 'event' : 'events'} recorded before it neither stored nor spilled: ` +
            (this.#outbox === undefined
              ? 'the store failed and there is no outbox (outbox: false) to spill to (the errors before this one say why). They stay in memory until the store takes them; '
              : 'the store and the outbox both failed (the errors before this one say why). They stay in memory and go to whichever takes them first; ') +
            'a process killed now would lose them (flush() resolves with { complete: false, pending } to tell)',
        ),
    );
    return { complete: false, pending };
  }

  /**
   * Flushes, then stops: timers end, the store and outbox close. Events recorded after the call
   * are dropped (counted, reported once). Resolves within `flushTimeout + writeTimeout`.
   */
  close(): Promise<void> {
    this.#closing ??= keepingAlive(this.#close());
    return this.#closing;
  }

  async #close(): Promise<void> {
    // One time budget for every step, so that close() (and a SIGTERM) ends in bounded time.
    const { flushTimeout, writeTimeout } = this.#options;
    const start = monotonicNow();
    const end = start + flushTimeout + writeTimeout;
    clearInterval(this.#timer);
    this.#controls.stop();
    this.#clock.stop();
    // Shadow runs already started report within their timeout (bounded here too); those still
    // running after that are lost, and said to be, not left out silently.
    await within(shadowRunsReported(), Math.min(flushTimeout, writeTimeout) / 2);
    const unfinished = shadowOutcomesPending();
    this.#collect();
    this.#open = false;
    if (unfinished > 0) {
      this.#delivery.counts.dropped += unfinished;
      this.#errors.reportMade(
        'dropped',
        () =>
          new Error(
            `tracks: ${unfinished === 1 ? '1 shadow candidate run was' : `${unfinished} shadow candidate runs were`} still running when close() stopped waiting for them ` +
              `(${Math.min(flushTimeout, writeTimeout) / 2} ms, half of the lesser of flushTimeout and writeTimeout), and ${unfinished === 1 ? 'is' : 'are'} not recorded (counted in stats().dropped); ` +
              "a shadow timeout below that wait keeps every run",
          ),
      );
    }
    // Sticky lookups already asked for still record their exposures (later runs are dropped).
    await within(this.#exposures.settled(), Math.min(flushTimeout, writeTimeout) / 2);
    await this.#delivery.flush(start + flushTimeout, start + flushTimeout + writeTimeout / 2);
    // A write still under way is given up now, or, when committing, waited for: its events are
    // then either written or in the last spill (both only when the store outlives this wait).
    await this.#delivery.stopWriting(monotonicNow(), end - (3 * writeTimeout) / 8);
    this.#health.stop();
    const left = this.#buffer.everything();
    if (left.length > 0) {
      await this.#spillOrDrop(left, 'close() found the store unreachable and the outbox could not take them', end - writeTimeout / 4);
    }
    this.#errors.flushSuppressed();
    const remaining = () => Math.max(1, end - monotonicNow());
    const ending = [withDeadline(remaining(), `closing ${this.store.description}`, () => this.store.close())];
    const outbox = this.#outbox;
    if (outbox) ending.push(withDeadline(remaining(), `closing the outbox ${outbox.path}`, () => outbox.close()));
    for (const result of await Promise.allSettled(ending)) if (result.status === 'rejected') this.#errors.report('write', result.reason);
  }

  /**
   * @internal
   * For the SIGTERM flow, begun at `since` (monotonic ms), before its last spill: stops writing,
   * and lets the write under way end (a quarter of writeTimeout), else gives it up, within the
   * flow's bound of flushTimeout + writeTimeout. So the last spill never copies events the store
   * commits meanwhile.
   */
  stopWriting(since: number): Promise<void> {
    const { flushTimeout, writeTimeout } = this.#options;
    const end = since + flushTimeout + writeTimeout;
    return this.#delivery.stopWriting(Math.min(end, monotonicNow() + writeTimeout / 4), end);
  }

  /** Events still in memory at close: one last spill, by `deadline`, else dropped. */
  async #spillOrDrop(events: RecordedEvent[], why: string, deadline: number): Promise<void> {
    // Out of the buffer before the spill's first await: a write that ends meanwhile (a store that
    // ignored being given up) then finds its batch gone and counts nothing; this spill counts
    // them. Kept aside until the spill settles, for a process.exit() that comes first.
    this.#buffer.clear();
    this.#spilling = events;
    const outbox = this.#outbox;
    try {
      if (outbox === undefined) throw new Error('there is no outbox');
      const ms = Math.max(1, deadline - monotonicNow());
      await withDeadline(ms, `spilling ${events.length} events to ${outbox.path}`, (call) => outbox.spill(events, call));
      this.#delivery.counts.spilled += events.length;
    } catch (error) {
      this.#delivery.dropped(events.length, `${why} (${messageOf(error)})`);
    } finally {
      this.#spilling = undefined;
    }
  }

  /**
   * @internal
   * For the process's `exit` event, when nothing asynchronous runs any more: moves everything
   * still in memory to the outbox on this thread (or counts it as dropped without one). An
   * `onError` handler called on the way (the spill failed, events were dropped, reports held
   * back are passed on) may record events itself: those are taken too, for a few rounds, and
   * what such a handler records after that is counted as dropped without another report (each
   * report could record one more), so that nothing is left in memory, uncounted.
   */
  spillNow(): void {
    if (this.#open) this.#collect();
    // A write committing now would be stored and spilled both: its outcome is waited for first.
    this.#delivery.settleAtExit(Math.min(this.#options.writeTimeout, EXIT_COMMIT_WAIT_MS));
    for (let round = 1; ; round++) {
      const events = this.#buffer.everything();
      this.#buffer.clear();
      // close()'s last spill, under way: its events are spilled here too (the outbox may then
      // hold a copy twice, written once when it drains), never lost.
      if (round === 1 && this.#spilling !== undefined) {
        events.push(...this.#spilling);
        this.#spilling = undefined;
      }
      if (events.length > 0 && round > SPILL_NOW_ROUNDS) {
        this.#delivery.counts.dropped += events.length;
        return;
      }
      if (events.length > 0) this.#spillAtExit(events);
      this.#errors.flushSuppressed();
      if (this.#buffer.total === 0) return;
    }
  }

  /** One synchronous spill of the exit path, or the events counted (and reported) as dropped. */
  #spillAtExit(events: RecordedEvent[]): void {
    try {
      if (this.#outbox === undefined) throw new Error('there is no outbox');
      // Bounded: a process told to stop must stop (an orchestrator's grace period is short).
      this.#outbox.spillNow(events, Math.min(this.#options.writeTimeout, 2_000));
      this.#delivery.counts.spilled += events.length;
    } catch (error) {
      this.#delivery.dropped(events.length, `the process exited before they were written (${messageOf(error)})`);
    }
  }

  /** @internal Whether anything waits to be written (for the `beforeExit` flush). */
  get pending(): boolean {
    return this.#buffer.total > 0 || this.#health.pending || this.#shadows.pending;
  }

  /** The events quarantined while no outbox could hold them (the last 1,000). */
  get quarantinedInMemory(): ReadonlyArray<{ readonly event: RecordedEvent; readonly error: string; readonly at: number }> {
    return this.#delivery.quarantineInMemory;
  }

  #tick(): void {
    this.#collect();
    this.#delivery.kick();
  }

  /** Health and shadow runs counted in memory, as events. */
  #collect(): void {
    this.#health.collect(this.#accept);
    this.#shadows.collect(this.#accept);
  }
}

/** How long the exit waits for a write caught committing (a SQLite commit takes milliseconds). */
const EXIT_COMMIT_WAIT_MS = 1_000;

/** Spills at exit, at most: after them, events an onError handler records are counted as dropped (see Recorder.spillNow). */
const SPILL_NOW_ROUNDS = 3;

/** Waits for `promise`, but no longer than `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
