import type { RecordedEvent } from '../model/events.js';
import type { Outbox } from '../model/outbox.js';
import type { Store } from '../model/store.js';
import { isTransient } from '../model/store-error.js';
import { codeOf, messageOf } from '../errors.js';
import { Backoff } from './backoff.js';
import { monotonicNow } from './clock.js';
import { eventTime } from '../model/event-time.js';
import { withDeadline } from './deadline.js';
import type { ErrorReporter } from './error-reporter.js';
import type { Batch, EventBuffer } from './event-buffer.js';
import { narrowDown } from './narrow-down.js';
import type { NarrowingSteps } from './narrow-down.js';
import { RefusalNarrowing } from './refusal-narrowing.js';

/** How delivery behaves: see `RecorderOptions` for each. */
export interface DeliveryOptions {
  readonly batchSize: number;
  readonly writeTimeout: number;
  readonly retryDelay: number;
  readonly maxRetryDelay: number;
  readonly flushTimeout: number;
}

/** What delivery did, as `stats()` reports it. */
export interface DeliveryCounts {
  written: number;
  retried: number;
  spilled: number;
  drained: number;
  quarantined: number;
  dropped: number;
}

type Outcome = 'written' | 'transient';

/** How long an outbox seen empty is trusted to stay so (another process may share the file). */
const OUTBOX_LOOK_AGAIN_MS = 10_000;

/** A write taking longer than this means the store is slow: queued events may spill. */
const SLOW_WRITE_MS = 200;
/** The least time the outbox gets to open (start its worker, create or migrate its file), whatever writeTimeout is. */
const OUTBOX_OPEN_MS = 5_000;
/** How often a spill waiting for the outbox to open looks at its deadline again. */
const OPENING_SLICE_MS = 50;
/**
 * The longest an overflow spill (on the application's thread) waits for the outbox's lock.
 * Not shorter: in an outage, processes sharing an outbox reach their memory bounds together,
 * and a sibling's overflow spill of 10,000 events holds the lock 50-130 ms (measured); a
 * spill that gave up sooner would drop events the outbox exists to keep. The price is that
 * wait on this event loop while another process holds the outbox for longer.
 */
const OVERFLOW_WAIT_MS = 100;

/** A flush waiting for every event before `seq` to settle. */
interface Waiter {
  readonly seq: number;
  resolve(): void;
}

/** The write under way: its events, and how to settle it on the spot when the store offers that. */
interface WriteUnderWay {
  readonly events: readonly RecordedEvent[];
  settle?: ((waitMs: number) => boolean) | undefined;
}

/**
 * Moves events from the buffer to the store, and only that: one batch at a time, each store
 * call under a deadline. A transient failure (unreachable, busy, silent, timed out) puts the
 * batch back and waits (doubling, with jitter); a permanent one is narrowed down by halving
 * until the events at fault are found, which are quarantined while every other event is
 * written. When the store falls behind (failing, slow or hung) queued events spill to the
 * outbox; when the store takes writes again, the outbox drains back into it, oldest first,
 * through the same narrowing, so no event can block the ones behind it.
 */
export class Delivery {
  readonly #store: Store;
  readonly #outbox: Outbox | undefined;
  readonly #buffer: EventBuffer;
  readonly #errors: ErrorReporter;
  readonly #options: DeliveryOptions;
  readonly counts: DeliveryCounts = { written: 0, retried: 0, spilled: 0, drained: 0, quarantined: 0, dropped: 0 };
  /** Events quarantined while no outbox could hold them (the last 1,000), for inspection. */
  readonly quarantineInMemory: Array<{ event: RecordedEvent; error: string; at: number }> = [];

  #pumping: Promise<void> | undefined;
  #spilling: Promise<void> | undefined;
  /** Until when the spill under way may run, and whether it takes everything queued (a flush out of time). */
  #spillUntil = Infinity;
  #spillAll = false;
  /** The store's: after a transient failure, doubling with jitter. */
  readonly #retry: Backoff;
  /** Until when a flush waits for the store (0: none): retries fall within it. */
  #flushingUntil = 0;
  /**
   * Until when a flush out of its time spills what memory holds (0: none): the pump leaves
   * memory's events to it. A retry would take the events a failed write put back into another
   * write, out of the spill's reach, until the flush's bound (nothing spilled, nothing stored).
   */
  #flushSpillingUntil = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** When the retry timer fires (monotonic ms). */
  #retryTimerAt = 0;
  #spillBlockedUntil = 0;
  /** Until when an overflow spill is not tried again, after one failed. */
  #overflowBlockedUntil = 0;
  /** How the pump's last look at the outbox went. */
  #lastDrain: 'more' | 'done' | 'failed' | undefined;
  /** The outbox's opening, from the store's first failure (or first spill) until it settles. */
  #outboxOpening: Promise<void> | undefined;
  #outboxOpened = false;
  /** Whether the outbox was last seen empty (no spill since), and when it was looked at. */
  #outboxEmpty = false;
  #outboxSeenAt = 0;
  /** The outbox's, after it failed to read or remove: from a second (or retryDelay), doubling up to a minute. */
  readonly #drainRetry: Backoff;
  /** Events of the outbox batch being drained that were already quarantined (a retry skips them). */
  readonly #quarantinedFromOutbox = new Set<string>();
  #waiters: Waiter[] = [];
  #stopped = false;
  /** Transient write failures so far. */
  #failures = 0;
  /** When the write under way started (0: none). */
  #writingSince = 0;
  /** When a transient failure that may be about one event is narrowed down. */
  readonly #refusals = new RefusalNarrowing();
  /** Aborted when recording closes and stops waiting for the write under way (see stopWriting). */
  readonly #giveUpWrites = new AbortController();
  /** The write under way, and how to settle it on the spot when the store offers that (see settleAtExit). */
  #writing: WriteUnderWay | undefined;

  constructor(store: Store, outbox: Outbox | undefined, buffer: EventBuffer, errors: ErrorReporter, options: DeliveryOptions) {
    this.#store = store;
    this.#outbox = outbox;
    this.#buffer = buffer;
    this.#errors = errors;
    this.#options = options;
    this.#retry = new Backoff(options.retryDelay, options.maxRetryDelay, true);
    this.#drainRetry = new Backoff(Math.max(options.retryDelay, 1_000), 60_000);
  }

  /**
   * Writes what is buffered now (unless waiting out a failure). When the store falls behind
   * (it failed, or a write has taken longer than {@link SLOW_WRITE_MS}, with two batches
   * waiting; or a quarter of the memory bound is used) the outbox is made ready; with four
   * batches waiting, or half the bound, events spill to it. Spilling early keeps few events
   * alive in memory, and so keeps garbage collection pauses short during an outage; a burst
   * that a healthy store is about to take spills nothing.
   */
  kick(ignoreBackoff = false): void {
    if (ignoreBackoff) this.#retry.skip();
    if (this.#behind(2, 4)) this.#openOutbox();
    if (this.#behind(4, 2)) void this.spill();
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = undefined;
    });
  }

  /**
   * Resolves once every event recorded before the call is written, spilled, quarantined or
   * dropped, and the outbox's events are written too when the store takes them, by `spillBy`
   * (epoch ms): from `flushBy` on, what is still queued, or put back by a failing write, spills
   * to the outbox. Returns how many of those events are still only in memory (0 unless the
   * store and the outbox both failed until `spillBy`).
   */
  async flush(flushBy: number, spillBy: number): Promise<number> {
    const target = this.#buffer.nextSeq;
    const deadline = flushBy;
    this.#flushingUntil = Math.max(this.#flushingUntil, deadline);
    this.kick(true);
    // Past `flushBy` (and with an outbox to go to), the rest spills.
    if (!(await this.#settledBefore(target, deadline)) && this.#outbox !== undefined) {
      this.#flushSpillingUntil = Math.max(this.#flushSpillingUntil, spillBy);
      try {
        do await this.spill(spillBy);
        while (!(await this.#settledBefore(target, Math.min(spillBy, monotonicNow() + 50))) && monotonicNow() < spillBy);
      } finally {
        // Spilled (or out of time): the pump writes memory's events again, at once.
        if (this.#flushSpillingUntil === spillBy) this.#flushSpillingUntil = 0;
        this.kick();
      }
    }
    // The outbox next, while the store takes writes and time is left (the pump drains it,
    // between batches of new events when traffic goes on). A flush tries it now, even while
    // reading it is backing off after failures (an outbox slow to open under load, say).
    this.#lastDrain = undefined;
    this.#drainRetry.skip();
    const started = this.#failures;
    while (this.#outbox !== undefined && !this.#outboxEmpty && this.#lastDrain !== 'failed' && monotonicNow() < deadline) {
      if (this.#failures !== started) break; // the store failed during this flush: what is spilled stays spilled
      const moved = this.counts.drained + this.counts.written + this.counts.quarantined;
      this.kick();
      let timer: NodeJS.Timeout | undefined;
      const pause = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(1, Math.min(50, deadline - monotonicNow())))));
      await Promise.race([this.#pumping ?? pause, pause]);
      // A pump that ended having moved nothing (waiting out a failure from before this flush)
      // ends again at once when kicked: without the pause, this loop would run on promises
      // alone until the deadline, and no timer or I/O of the application's would run meanwhile.
      if (this.counts.drained + this.counts.written + this.counts.quarantined === moved) await pause;
      clearTimeout(timer);
    }
    return this.#buffer.heldBefore(target);
  }

  /**
   * Whether the store is behind: `batches` full batches wait while it fails or is slow, or
   * memory holds at least 1/`part` of its bound (in events or bytes), whatever the store does.
   */
  #behind(batches: number, part: number): boolean {
    const buffer = this.#buffer;
    const now = monotonicNow();
    const struggling = this.#retry.waiting(now) || (this.#writingSince > 0 && now - this.#writingSince > SLOW_WRITE_MS);
    return (
      (struggling && buffer.queued >= batches * this.#options.batchSize) || buffer.total * part >= buffer.maxEvents || buffer.bytes * part >= buffer.maxBytes
    );
  }

  /**
   * Makes room at the memory bound by moving the oldest queued events (a tenth of the bound)
   * to the outbox on this thread, at once (or into the store, when it can write at once). The asynchronous spill from half the bound keeps
   * memory below it while the application yields; a burst recorded in one synchronous loop (or
   * faster than the outbox's thread takes it) reaches the bound anyway, and would otherwise be
   * dropped. Costs the caller one outbox transaction (about a millisecond per thousand events)
   * a tenth of the bound apart, at most. False (the event is then dropped) without an
   * outbox, when it cannot take them within OVERFLOW_WAIT_MS, or for a second after it failed.
   */
  overflow(): boolean {
    const store = this.#store;
    const outbox = this.#outbox;
    // A store that writes with no I/O (the memory store) takes them itself.
    const direct = store.writeNow !== undefined;
    if ((!direct && outbox === undefined) || this.#stopped || monotonicNow() < this.#overflowBlockedUntil) return false;
    const batch = this.#buffer.take(Math.max(1, Math.floor(this.#buffer.maxEvents / 10)));
    if (batch === undefined) return false;
    try {
      if (direct) store.writeNow!(batch.events);
      else outbox!.spillNow(batch.events, OVERFLOW_WAIT_MS);
    } catch (error) {
      this.#buffer.putBack([batch]);
      this.#overflowBlockedUntil = monotonicNow() + Math.max(this.#options.retryDelay, 1_000);
      this.#reportFailure(direct ? 'write' : 'spill', error);
      return false;
    }
    if (direct) this.counts.written += batch.events.length;
    else {
      this.counts.spilled += batch.events.length;
      this.#outboxEmpty = false;
    }
    this.#settle(batch);
    return true;
  }

  /**
   * Moves queued events to the outbox (one spill at a time): until the store is no longer
   * behind, or, with a `deadline` (a flush out of time), everything queued by then.
   */
  spill(deadline?: number): Promise<void> {
    // A spill already under way takes the tighter deadline, and then everything queued.
    if (deadline !== undefined) {
      this.#spillUntil = Math.min(this.#spillUntil, deadline);
      this.#spillAll = true;
    }
    this.#spilling ??= this.#spillQueued().finally(() => {
      this.#spilling = undefined;
      this.#spillUntil = Infinity;
      this.#spillAll = false;
    });
    return this.#spilling;
  }

  /**
   * Stops (the recorder is closing, and takes what is left in memory): no more retries, and a
   * write still under way no longer puts its events back or counts them when it ends.
   */
  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /**
   * Stops, and waits for the write under way to end: until `giveUpAt` it may finish on its own;
   * then it is given up (a SQLite write not yet committing is not carried out; one committing is
   * waited for, since its outcome says whether its events were written), until `end` at most.
   * A write that ends meanwhile settles its events, so the recorder's last spill, which takes
   * every event still held, does not hold a second copy of events the store committed (one that
   * ends after that spill took them counts nothing: see `written`).
   */
  async stopWriting(giveUpAt: number, end: number): Promise<void> {
    this.stop();
    const pumping = this.#pumping;
    if (pumping === undefined) return;
    const giveUp = setTimeout(() => this.#giveUpWrites.abort(), Math.max(0, giveUpAt - monotonicNow()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pumping, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, end - monotonicNow()))))]);
    clearTimeout(giveUp);
    clearTimeout(timer);
    this.#giveUpWrites.abort();
  }

  // ---- writing ----

  /**
   * Writes batches from memory, and gives the outbox a batch's turn whenever memory is not
   * backed up (so a backlog drains under steady traffic too), until both are done or a write
   * fails.
   */
  async #pump(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      if (this.#retry.waiting()) return this.#retryLater();
      const batch = monotonicNow() < this.#flushSpillingUntil ? undefined : this.#buffer.take(this.#options.batchSize);
      if (batch !== undefined && (await this.#deliver(batch)) === 'transient') return this.#retryLater();
      if (batch !== undefined && this.#buffer.queued >= this.#options.batchSize) continue;
      if (!this.#outboxMayHoldEvents()) {
        if (batch === undefined) return;
        continue;
      }
      this.#lastDrain = await this.#drainOutboxBatch();
      if (this.#lastDrain === 'failed') return this.#retryLater();
      if (this.#lastDrain === 'done' && batch === undefined) return;
    }
  }

  /**
   * Whether the outbox may hold events: it is not known empty (or was last looked at a while
   * ago: another process sharing the file may have spilled), and reading it has not just failed.
   */
  #outboxMayHoldEvents(): boolean {
    if (this.#outbox === undefined || this.#drainRetry.waiting()) return false;
    return !this.#outboxEmpty || monotonicNow() - this.#outboxSeenAt > OUTBOX_LOOK_AGAIN_MS;
  }

  /**
   * Writes a batch taken from the buffer, narrowing it down on a permanent failure. On a
   * transient failure what is not yet written goes back to the front of the buffer.
   */
  async #deliver(batch: Batch): Promise<Outcome> {
    const waiting = await narrowDown(batch, this.#batchSteps, this.#refusals);
    if (waiting.length === 0) return 'written';
    this.counts.retried += waiting.reduce((n, b) => n + b.events.length, 0);
    this.#buffer.putBack(waiting);
    this.#wake();
    return 'transient';
  }

  /** How narrowing handles a batch taken from the buffer: settled when written or quarantined. */
  readonly #batchSteps: NarrowingSteps<Batch> = {
    events: (part) => part.events,
    write: (events) => this.#write(events),
    halves: (part) => this.#buffer.split(part),
    written: (part) => {
      // Ended after the recorder's last spill took every event still held: that spill counted them.
      if (!this.#buffer.holds(part)) return;
      this.counts.written += part.events.length;
      this.#settle(part);
    },
    quarantine: async (part, failure) => {
      await this.#quarantine(part.events[0]!, failure);
      this.#settle(part);
    },
    // Stopped meanwhile: the recorder took these events for its last spill.
    stopped: () => this.#stopped,
  };

  /** One write under the deadline; the failure, or undefined when the store confirmed it. */
  async #write(events: readonly RecordedEvent[]): Promise<unknown> {
    this.#writingSince = monotonicNow();
    const writing: WriteUnderWay = { events };
    this.#writing = writing;
    try {
      await withDeadline(
        this.#options.writeTimeout,
        `writing ${events.length} events to ${this.#store.description}`,
        (call) => this.#store.write(events, { ...call, settleNow: (settle) => (writing.settle = settle) }),
        this.#giveUpWrites.signal,
      );
      this.#retry.succeed();
      this.#refusals.wrote(undefined);
      return undefined;
    } catch (error) {
      this.#refusals.wrote(error ?? new Error('the store failed without an error'));
      if (isTransient(error)) {
        this.#failures++;
        this.#openOutbox();
        this.#retry.fail();
        // A flush (or close) waiting on this write tries again within its window, not after it:
        // a backoff longer than flushTimeout would otherwise drop or spill what a store that is
        // back could take.
        const now = monotonicNow();
        if (this.#flushingUntil > now) this.#retry.notAfter(now + Math.max(this.#options.retryDelay, (this.#flushingUntil - now) / 2));
        this.#reportFailure('write', error);
      }
      return error ?? new Error('the store failed without an error');
    } finally {
      this.#writingSince = 0;
      if (this.#writing === writing) this.#writing = undefined;
    }
  }

  /**
   * For the process's `exit`, when no promise settles any more, before the last spill: settles
   * the write under way on the spot where the store offers that (a SQLite write: given up unless
   * committing, else its commit waited for, up to `waitMs`). A batch it committed is settled and
   * counted written, so the last spill, which takes every event still held, leaves it out.
   */
  settleAtExit(waitMs: number): void {
    const writing = this.#writing;
    if (writing?.settle === undefined || !writing.settle(waitMs)) return;
    this.#writing = undefined;
    const settled = this.#buffer.settleEvents(writing.events);
    this.counts.written += settled;
  }

  #retryLater(): void {
    if (this.#stopped) return;
    if (this.#retryTimer) {
      // A retry brought forward (into a flush's or close()'s window) replaces one set for later
      // in a long backoff: kept, the later one alone would run, after the window had closed.
      if (this.#retryTimerAt <= this.#retry.until) return;
      clearTimeout(this.#retryTimer);
    }
    this.#retryTimerAt = this.#retry.until;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.kick();
    }, Math.max(0, this.#retry.until - monotonicNow()));
    this.#retryTimer.unref();
  }

  // ---- the outbox ----

  /**
   * Readies the outbox when the store first fails, so the outage's first spill does not wait for
   * it. Opening starts the outbox's worker thread and creates or migrates its file: a few
   * hundred milliseconds, more than a short writeTimeout, so it gets at least OUTBOX_OPEN_MS.
   */
  #openOutbox(): void {
    const outbox = this.#outbox;
    if (outbox === undefined || this.#outboxOpened) return;
    this.#outboxOpened = true;
    const ms = Math.max(this.#options.writeTimeout, OUTBOX_OPEN_MS);
    const opening: Promise<void> = withDeadline(ms, `opening the outbox ${outbox.path}`, (call) => outbox.open(call))
      .catch((error: unknown) => {
        this.#outboxOpened = false;
        this.#reportFailure('outbox', error);
      })
      .finally(() => {
        // A later opening (this one failed, another began) is not this one's to clear.
        if (this.#outboxOpening === opening) this.#outboxOpening = undefined;
      });
    this.#outboxOpening = opening;
  }

  /** Spills what is queued, a batch at a time so memory is freed as the outbox takes it. */
  async #spillQueued(): Promise<void> {
    const outbox = this.#outbox;
    if (outbox === undefined) return;
    // An outbox still opening is waited for (until a flush's deadline at most): a spill sent
    // to it now would time out in its queue and block spilling for a second, dropping events.
    this.#openOutbox();
    // In slices: a flush that joins this spill later may bring its deadline closer.
    while (this.#outboxOpening !== undefined && !this.#stopped && monotonicNow() < this.#spillUntil) {
      let timer: NodeJS.Timeout | undefined;
      const slice = new Promise((resolve) => (timer = setTimeout(resolve, Math.max(1, Math.min(OPENING_SLICE_MS, this.#spillUntil - monotonicNow())))));
      await Promise.race([this.#outboxOpening, slice]);
      clearTimeout(timer);
    }
    while (!this.#stopped && monotonicNow() >= this.#spillBlockedUntil && monotonicNow() < this.#spillUntil && (this.#spillAll || this.#behind(4, 2))) {
      const batch = this.#buffer.take(this.#options.batchSize);
      if (batch === undefined) return;
      const ms = Math.max(1, Math.min(this.#options.writeTimeout, this.#spillUntil - monotonicNow()));
      try {
        await withDeadline(ms, `spilling ${batch.events.length} events to the outbox ${outbox.path}`, (call) =>
          outbox.spill(batch.events, call),
        );
        if (this.#stopped) return; // the recorder's last spill takes these too: a copy twice in the outbox is stored once
        this.counts.spilled += batch.events.length;
        this.#outboxEmpty = false;
        this.#settle(batch);
      } catch (error) {
        if (this.#stopped) return;
        // The outbox cannot take them now: they stay in memory (new events past the bound are
        // dropped) and spilling is not tried again for a while.
        this.#spillBlockedUntil = monotonicNow() + Math.max(this.#options.retryDelay, 1_000);
        this.#buffer.putBack([batch]);
        this.#reportFailure('spill', error);
      }
    }
  }

  /**
   * Writes the outbox's oldest batch to the store, through the same narrowing, then removes it:
   * 'more' when one was written, 'done' when the outbox is empty, 'failed'. An event quarantined
   * on an earlier try of the same batch is skipped, and the batch counts as drained once, when
   * it is removed.
   */
  async #drainOutboxBatch(): Promise<'more' | 'done' | 'failed'> {
    const outbox = this.#outbox!;
    let batch: Awaited<ReturnType<Outbox['peek']>>;
    try {
      batch = await withDeadline(this.#options.writeTimeout, `reading the outbox ${outbox.path}`, (call) => outbox.peek(this.#options.batchSize, call));
    } catch (error) {
      this.#outboxFailed(error);
      return 'failed';
    }
    this.#outboxSeenAt = monotonicNow();
    if (batch === undefined) {
      this.#outboxEmpty = true;
      return 'done';
    }
    this.counts.quarantined += batch.quarantinedNow;
    if (batch.quarantinedNow > 0) {
      this.#errors.report('quarantined', new Error(`tracks: ${batch.quarantinedNow} events in the outbox ${outbox.path} can no longer be stored; moved to its tracks_quarantine table`));
    }
    const events = batch.events.filter((e) => !this.#quarantinedFromOutbox.has(e.eventId));
    let written = 0;
    // What was written stays in the outbox too when a part waits: written again later, and stored once.
    const waiting =
      events.length === 0
        ? []
        : await narrowDown<readonly RecordedEvent[]>(events, {
            events: (part) => part,
            write: (part) => this.#write(part),
            halves: (part) => [part.slice(0, Math.ceil(part.length / 2)), part.slice(Math.ceil(part.length / 2))],
            written: (part) => {
              written += part.length;
            },
            quarantine: async (part, failure) => {
              await this.#quarantine(part[0]!, failure);
              this.#quarantinedFromOutbox.add(part[0]!.eventId);
            },
            // The outbox keeps its events until they are removed: a close() does not end this early.
            stopped: () => false,
          }, this.#refusals);
    if (waiting.length > 0) return 'failed';
    let removed: number | undefined | void;
    try {
      removed = await withDeadline(this.#options.writeTimeout, `removing written events from the outbox ${outbox.path}`, (call) => outbox.remove(batch.upTo, call));
    } catch (error) {
      // Written but not removed: they will be written again later, and stored once.
      this.#outboxFailed(error);
      return 'failed';
    }
    // Two processes draining one outbox both write a batch (the store keeps one copy); the one
    // whose remove deleted the rows counts them.
    this.counts.drained += typeof removed === 'number' ? Math.min(written, removed) : written;
    this.#quarantinedFromOutbox.clear();
    this.#drainRetry.succeed();
    return 'more';
  }

  /** The outbox failed to read or remove: reported, and left alone for a while (doubling up to a minute). */
  #outboxFailed(error: unknown): void {
    this.#drainRetry.fail();
    this.#reportFailure('outbox', error);
  }

  /** Sets an event no store takes aside, with the reason: in the outbox's quarantine table, else in memory. */
  async #quarantine(event: RecordedEvent, failure: unknown): Promise<void> {
    const error = messageOf(failure);
    const at = eventTime();
    this.counts.quarantined++;
    let where = 'memory (no outbox)';
    if (this.#outbox !== undefined) {
      const outbox = this.#outbox;
      try {
        await withDeadline(this.#options.writeTimeout, `quarantining an event in ${outbox.path}`, (call) => outbox.quarantine([{ event, error, at }], call));
        where = `the tracks_quarantine table of ${outbox.path}`;
      } catch (cause) {
        where = `memory (the outbox failed: ${messageOf(cause)})`;
      }
    }
    if (!where.startsWith('the')) {
      this.quarantineInMemory.push({ event, error, at });
      if (this.quarantineInMemory.length > 1_000) this.quarantineInMemory.shift();
    }
    this.#errors.report('quarantined', Object.assign(new Error(`tracks: quarantined ${event.kind} ${event.eventId} in ${where}: ${error}`), { event }));
  }

  // ---- flush bookkeeping ----

  #settle(batch: Batch): void {
    this.#buffer.settle(batch);
    this.#wake();
  }

  /** Resolves the flushes whose events are all settled. */
  #wake(): void {
    if (this.#waiters.length === 0) return;
    const oldest = this.#buffer.oldestSeq();
    const waiting: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (oldest >= waiter.seq) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#waiters = waiting;
  }

  /** Waits until every event before `seq` is settled, or the deadline: true when settled. */
  #settledBefore(seq: number, deadline: number): Promise<boolean> {
    if (this.#buffer.oldestSeq() >= seq) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(false);
      }, Math.max(0, deadline - monotonicNow()));
      const waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * Reports a failed store or outbox call, unless it failed because recording is closing them
   * (a call still in flight when close() shut the outbox): that is close() working, not news.
   */
  #reportFailure(kind: 'write' | 'outbox' | 'spill', error: unknown): void {
    if (this.#stopped && codeOf(error) === 'TRACKS_CLOSED') return;
    this.#errors.report(kind, error);
  }

  /**
   * Events dropped (counted and reported) because nothing could hold them. `why` may be a
   * function: while memory is full every request drops its events, and the message is built
   * only for the drops that are passed on.
   */
  dropped(count: number, why: string | (() => string)): void {
    this.counts.dropped += count;
    this.#errors.reportMade('dropped', () => new Error(`tracks: ${count === 1 ? '1 event' : `${count} events`} dropped: ${typeof why === 'string' ? why : why()}`));
    this.#wake();
  }
}

