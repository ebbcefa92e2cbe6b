import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TracksError } from '../errors.js';
import { serializeKey } from '../core/key.js';
import type { ChosenRun, RunHooks, ServeInstead } from '../core/run-hooks.js';
import { definitionOf } from '../core/track-set.js';
import type { GuardrailEvent, RecordedEvent, Store } from '../stores/store.js';
import { newEventId } from './event-id.js';
import { Guardrails } from './guardrails.js';
import type { GuardrailOptions } from './guardrails.js';
import { HealthAggregator, healthEvents } from './health-aggregator.js';
import { Outbox } from './outbox.js';
import { SeenUnits } from './seen-units.js';
import { StickyCache } from './sticky-cache.js';
import { unitOfKey, unitOfRun } from './unit.js';

/** How recording behaves; only `store` is needed. See {@link configure}. */
export interface RecorderOptions {
  /** Hash keys (SHA-256) before storing them, so the store never holds raw user ids (default false). */
  readonly hashKeys?: boolean;
  /** Most events written in one batch (default 10,000). */
  readonly batchSize?: number;
  /** How often buffered events are written, in ms (default 1,000). */
  readonly flushInterval?: number;
  /** Events kept in memory while the store is unreachable before they spill to the outbox (default 100,000). */
  readonly maxBuffered?: number;
  /** The local SQLite file events spill to during an outage, or false for none (default: a file in the temp directory named for the store). */
  readonly outbox?: string | false;
  /** How often stop/resume changes are picked up from the store, in ms (default 10,000). */
  readonly controlInterval?: number;
  /** First wait after a failed write, in ms; doubles up to `maxRetryDelay` (default 100). */
  readonly retryDelay?: number;
  /** Longest wait between retries, in ms (default 5,000). */
  readonly maxRetryDelay?: number;
  /** How long `flush()` keeps retrying an unreachable store before spilling to the outbox, in ms (default 10,000). */
  readonly flushTimeout?: number;
  /** Keys remembered per process to skip repeat exposures (default 1,000,000). */
  readonly dedupeSize?: number;
  /** Sticky assignments cached per process (default 1,000,000). */
  readonly stickyCacheSize?: number;
  /** Switch tracks off in this process when they do much worse than control; off unless given. */
  readonly guardrails?: GuardrailOptions | false;
  /** Called for every recording failure (store unreachable, file not writable, ...); recording never throws. */
  readonly onError?: (error: Error) => void;
  /** Called when a guardrail switches a track off. */
  readonly onGuardrail?: (event: Omit<GuardrailEvent, 'kind' | 'eventId'>) => void;
}

/** Counters of what recording did, from {@link stats}. */
export interface RecordingStats {
  /** Events in memory, not yet written (including a batch being written). */
  readonly buffered: number;
  /** Events the store has confirmed. */
  readonly written: number;
  /** Events whose write failed and was tried again. */
  readonly retried: number;
  /** Events moved to the local outbox file during an outage. */
  readonly spilled: number;
  /** Events lost: the store and the outbox both failed at close. */
  readonly dropped: number;
}

/** What {@link convert} takes: who converted (key or runId), on which metric, and how much. */
export interface Conversion {
  /** The key the runs were given. */
  readonly key?: unknown;
  /** The `runId` of a run without a key. */
  readonly runId?: string;
  /** The outcome's name, e.g. 'purchase'. */
  readonly metric: string;
  /** The amount, for continuous metrics such as revenue (default 1). */
  readonly value?: number;
  /** When it happened, epoch ms (default now). */
  readonly at?: number;
}


/**
 * Records exposures, health and conversions into a store, off the request path: the run
 * hooks append to memory, a timer writes batches. Created by {@link configure}.
 */
export class Recorder {
  readonly store: Store;
  readonly #hashKeys: boolean;
  readonly #batchSize: number;
  readonly #maxBuffered: number;
  readonly #retryDelay: number;
  readonly #maxRetryDelay: number;
  readonly #flushTimeout: number;
  readonly #onError: ((error: Error) => void) | undefined;
  readonly #onGuardrail: RecorderOptions['onGuardrail'];
  readonly #outbox: Outbox | undefined;
  readonly #seen: SeenUnits;
  readonly #sticky: StickyCache;
  readonly #stickyIds = new Set<string>();
  readonly #defined = new Set<string>();
  readonly #health = new HealthAggregator();
  readonly #guardrails: Guardrails | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #controlTimer: NodeJS.Timeout;
  readonly #clockTimer: NodeJS.Timeout;
  /** Date.now(), refreshed every 250 ms: health needs only the minute, and the hot path skips a clock read. */
  #now = Date.now();
  #buffer: RecordedEvent[] = [];
  #inFlight = 0;
  #written = 0;
  #retried = 0;
  #spilled = 0;
  #dropped = 0;
  #retryAt = 0;
  #backoff = 0;
  #chain: Promise<void> = Promise.resolve();
  #busy = false;
  #soon = false;
  #closed = false;
  #lastLoggedAt = 0;
  #stopped = new Map<string, string>();
  #lookups = new Map<string, Set<string>>();

  /** The hooks core calls; bound once so the hot path does no allocation. */
  readonly hooks: RunHooks;

  constructor(store: Store, options: RecorderOptions = {}) {
    this.store = store;
    this.#hashKeys = options.hashKeys ?? false;
    this.#batchSize = positive(options.batchSize, 'batchSize', 10_000);
    this.#maxBuffered = positive(options.maxBuffered, 'maxBuffered', 100_000);
    this.#retryDelay = positive(options.retryDelay, 'retryDelay', 100);
    this.#maxRetryDelay = positive(options.maxRetryDelay, 'maxRetryDelay', 5_000);
    this.#flushTimeout = positive(options.flushTimeout, 'flushTimeout', 10_000);
    this.#onError = options.onError;
    this.#onGuardrail = options.onGuardrail;
    this.#seen = new SeenUnits(positive(options.dedupeSize, 'dedupeSize', 1_000_000));
    this.#sticky = new StickyCache(positive(options.stickyCacheSize, 'stickyCacheSize', 1_000_000));
    this.#guardrails = options.guardrails ? new Guardrails(options.guardrails) : undefined;
    const outbox = options.outbox ?? defaultOutboxPath(store);
    this.#outbox = outbox === false ? undefined : new Outbox(outbox);

    const guardrails = this.#guardrails;
    this.hooks = {
      serveInstead: (id) => this.#serveInstead(id),
      stickyTrack: (id, key) => this.#stickyTrack(id, key),
      tripped: guardrails ? (id, track) => guardrails.isTripped(id, track) : undefined,
      exposed: (run) => this.#exposed(run),
      ran: (run, ms, failed) => this.#ran(run, ms, failed),
    };
    this.#timer = setInterval(() => this.#tick(), positive(options.flushInterval, 'flushInterval', 1_000));
    this.#timer.unref();
    this.#controlTimer = setInterval(() => void this.refreshControls(), positive(options.controlInterval, 'controlInterval', 10_000));
    this.#controlTimer.unref();
    this.#clockTimer = setInterval(() => (this.#now = Date.now()), 250);
    this.#clockTimer.unref();
    void this.refreshControls();
  }

  // ---- hot path: memory only, never throws ----

  #exposed(run: ChosenRun): void {
    try {
      const key = run.key;
      if (key !== null && !this.#seen.add(run.id, key)) return;
      if (!this.#defined.has(run.id)) this.#define(run);
      const unit = key === null ? unitOfRun(run.runId) : unitOfKey(key, this.#hashKeys);
      if (key !== null && this.#stickyIds.has(run.id)) this.#sticky.remember(run.id, key, run.name);
      this.#push({ kind: 'exposure', eventId: newEventId(), trackSetId: run.id, track: run.name, unit, at: Date.now() });
    } catch (error) {
      this.#report(error);
    }
  }

  #ran(run: ChosenRun, durationMs: number, failed: boolean): void {
    // Only runs in the test: control's health must describe the same users as the tracks it
    // is compared with, not also the VIPs and uncovered keys it serves outside the test.
    if (run.reason !== 'assigned') return;
    try {
      this.#health.record(run.id, run.name, durationMs, failed, this.#now);
    } catch (error) {
      this.#report(error);
    }
  }

  #serveInstead(id: string): ServeInstead | undefined {
    if (this.#stopped.size === 0) return undefined;
    const track = this.#stopped.get(id);
    return track === undefined ? undefined : { track, reason: 'stopped' };
  }

  #stickyTrack(id: string, key: string): string | undefined {
    this.#stickyIds.add(id);
    const cached = this.#sticky.get(id, key);
    if (cached !== undefined) return cached;
    try {
      const unit = unitOfKey(key, this.#hashKeys);
      if (this.store.readAssignmentSync) {
        const track = this.store.readAssignmentSync(id, unit);
        if (track !== undefined) this.#sticky.learn(id, key, track);
        return track;
      }
      // Stores without synchronous reads answer in the background; until then this process
      // serves the current assignment, and the store keeps the first track recorded.
      let keys = this.#lookups.get(id);
      if (keys === undefined) this.#lookups.set(id, (keys = new Set()));
      keys.add(key);
    } catch (error) {
      this.#report(error);
    }
    return undefined;
  }

  #define(run: ChosenRun): void {
    this.#defined.add(run.id);
    const definition = definitionOf((run as object).constructor);
    const weights: Record<string, number> = {};
    for (const track of definition.tracks) weights[track.name] = track.weight;
    this.#push({ kind: 'definition', eventId: newEventId(), trackSetId: run.id, weights, coverage: definition.coverage, at: Date.now() });
  }

  #push(event: RecordedEvent): void {
    if (this.#closed) return;
    this.#buffer.push(event);
    if (this.#buffer.length >= this.#batchSize && !this.#soon) {
      this.#soon = true;
      setImmediate(() => {
        this.#soon = false;
        this.#tick();
      }).unref();
    }
  }

  /**
   * Records a conversion; see {@link convert}. Never throws: a malformed call is a TracksError
   * passed to `onError` and counted as dropped, since it usually runs in a request.
   */
  convert(conversion: Conversion): void {
    try {
      this.#push(conversionEvent(conversion, this.#hashKeys));
    } catch (error) {
      this.#dropped++;
      this.#report(error);
    }
  }

  // ---- off the hot path ----

  /** Counters of what recording did. */
  stats(): RecordingStats {
    return {
      buffered: this.#buffer.length + this.#inFlight,
      written: this.#written,
      retried: this.#retried,
      spilled: this.#spilled,
      dropped: this.#dropped,
    };
  }

  /** Reads stop/resume state from the store now (the timer does it every `controlInterval`). */
  async refreshControls(): Promise<void> {
    try {
      const controls = await this.store.readControls();
      const stopped = new Map<string, string>();
      for (const c of controls) if (c.stopped) stopped.set(c.trackSetId, c.serve ?? 'control');
      this.#stopped = stopped;
    } catch (error) {
      this.#report(error);
    }
  }

  /** Writes everything recorded so far, including the outbox; resolves when done or spilled. */
  flush(): Promise<void> {
    return this.#enqueue(true);
  }

  /** Flushes, stops the timers and closes the store and outbox. */
  async close(): Promise<void> {
    if (this.#closed) return this.#chain;
    clearInterval(this.#timer);
    clearInterval(this.#controlTimer);
    clearInterval(this.#clockTimer);
    await this.flush();
    this.#closed = true;
    if (this.#buffer.length > 0) {
      this.#dropped += this.#buffer.length;
      this.#report(new Error(`tracks: ${this.#buffer.length} events could not be written or spilled and are lost`));
      this.#buffer = [];
    }
    this.#outbox?.close();
    try {
      await this.store.close();
    } catch (error) {
      this.#report(error);
    }
  }

  /** Whether anything waits to be written (for the beforeExit flush). */
  get pending(): boolean {
    return this.#buffer.length > 0 || this.#health.pending;
  }

  #tick(): void {
    if (this.#busy || this.#closed) return;
    void this.#enqueue(false);
  }

  #enqueue(untilEmpty: boolean): Promise<void> {
    const run = this.#chain.then(() => this.#drain(untilEmpty));
    this.#chain = run;
    return run;
  }

  async #drain(untilEmpty: boolean): Promise<void> {
    this.#busy = true;
    this.#now = Date.now();
    try {
      this.#collectHealth();
      await this.#lookUpSticky();
      const deadline = Date.now() + this.#flushTimeout;
      for (;;) {
        if (!untilEmpty && Date.now() < this.#retryAt) return;
        if (this.#buffer.length === 0) {
          if (!(await this.#drainOutbox())) return;
          continue;
        }
        const batch = this.#buffer.length <= this.#batchSize ? this.#buffer : this.#buffer.slice(0, this.#batchSize);
        this.#buffer = batch === this.#buffer ? [] : this.#buffer.slice(batch.length);
        if (await this.#write(batch)) continue;
        this.#buffer = batch.concat(this.#buffer);
        if (this.#buffer.length > this.#maxBuffered) this.#spill();
        if (!untilEmpty) return;
        if (Date.now() + this.#backoff > deadline) {
          this.#spill();
          return;
        }
        await sleep(this.#backoff);
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Writes a batch; on failure counts it, reports it and sets the backoff. */
  async #write(batch: RecordedEvent[]): Promise<boolean> {
    this.#inFlight = batch.length;
    try {
      await this.store.write(batch);
      this.#written += batch.length;
      this.#backoff = 0;
      this.#retryAt = 0;
      return true;
    } catch (error) {
      this.#retried += batch.length;
      this.#backoff = Math.min(this.#maxRetryDelay, this.#backoff === 0 ? this.#retryDelay : this.#backoff * 2);
      this.#retryAt = Date.now() + this.#backoff;
      const code = (error as { code?: unknown } | null)?.code;
      if (code !== 'SQLITE_BUSY') this.#report(error);
      return false;
    } finally {
      this.#inFlight = 0;
    }
  }

  /** Moves the buffer to the outbox file; keeps it in memory when the file fails too. */
  #spill(): void {
    if (this.#outbox === undefined || this.#buffer.length === 0) return;
    try {
      this.#outbox.spill(this.#buffer);
      this.#spilled += this.#buffer.length;
      this.#buffer = [];
    } catch (error) {
      this.#report(new Error(`tracks: cannot spill to the outbox ${this.#outbox.path}: ${errorMessage(error)}`, { cause: error }));
    }
  }

  /** Writes one batch from the outbox; false when it is empty or the store failed. */
  async #drainOutbox(): Promise<boolean> {
    if (this.#outbox === undefined) return false;
    let batch: ReturnType<Outbox['peek']>;
    try {
      batch = this.#outbox.peek(this.#batchSize);
    } catch (error) {
      this.#report(error);
      return false;
    }
    if (batch === undefined) return false;
    if (!(await this.#write(batch.events))) return false;
    try {
      this.#outbox.remove(batch.upTo);
    } catch (error) {
      this.#report(error);
      return false;
    }
    return true;
  }

  #collectHealth(): void {
    const cells = this.#health.drain();
    if (cells.length === 0) return;
    for (const event of healthEvents(cells)) this.#buffer.push(event);
    if (this.#guardrails === undefined) return;
    for (const trip of this.#guardrails.observe(cells, Date.now())) {
      this.#buffer.push(trip);
      try {
        this.#onGuardrail?.({ trackSetId: trip.trackSetId, track: trip.track, cause: trip.cause, at: trip.at });
      } catch (error) {
        this.#report(error);
      }
    }
  }

  async #lookUpSticky(): Promise<void> {
    if (this.#lookups.size === 0) return;
    const lookups = this.#lookups;
    this.#lookups = new Map();
    for (const [id, keys] of lookups) {
      const byUnit = new Map([...keys].map((key) => [unitOfKey(key, this.#hashKeys), key] as const));
      try {
        const found = await this.store.readAssignments(id, [...byUnit.keys()]);
        for (const [unit, track] of found) this.#sticky.learn(id, byUnit.get(unit)!, track);
      } catch (error) {
        this.#report(error);
      }
    }
  }

  #report(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (this.#onError) {
      try {
        this.#onError(err);
      } catch {
        // A failing error hook must not break recording either.
      }
      return;
    }
    // No hook: say it on stderr, at most once a minute, rather than flood the log.
    const now = Date.now();
    if (now - this.#lastLoggedAt > 60_000) {
      this.#lastLoggedAt = now;
      console.error(`${err.message} (tracks keeps the events and retries; pass onError to configure() to handle this)`);
    }
  }
}

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new TracksError(`configure: ${name} is ${String(value)}; use a positive number (default ${fallback})`);
  }
  return value;
}

/** A file in the temp directory named for the store, so a restarted process finds its outbox. */
function defaultOutboxPath(store: Store): string | false {
  if (store.description === 'memory') return false;
  // A SQLite path or a URL names one store; a callback or a pool's description may be the same
  // for two applications on one machine, so the application (where it runs, what it runs)
  // keeps their outboxes apart.
  const unique = /^(sqlite:|postgres(ql)?:\/\/)/.test(store.description);
  const identity = unique ? store.description : `${store.description}\u0000${process.cwd()}\u0000${process.argv[1] ?? ''}`;
  const name = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return join(tmpdir(), 'tracks-outbox', `${name}.db`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The event a {@link Conversion} records, or a TracksError saying what is wrong with it. */
function conversionEvent(conversion: Conversion, hashKeys: boolean): RecordedEvent {
  const { key, runId, metric } = conversion ?? ({} as Conversion);
  const value = conversion?.value ?? 1;
  if (typeof metric !== 'string' || metric === '') {
    throw new TracksError(`convert: metric is ${String(metric)}; name the outcome, e.g. convert({ key, metric: 'purchase' })`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TracksError(`convert: value is ${String(value)}; give a finite number (or leave it out for 1)`);
  }
  const hasKey = key !== undefined && key !== null;
  if (hasKey === (runId !== undefined)) {
    throw new TracksError(`convert: give either key (the runs' key) or runId (of a run without a key), not ${hasKey ? 'both' : 'neither'}`);
  }
  if (!hasKey && (typeof runId !== 'string' || runId === '')) {
    throw new TracksError(`convert: runId is ${String(runId)}; pass the runId of the run that converted`);
  }
  const unit = hasKey ? unitOfKey(serializeKey(key), hashKeys) : unitOfRun(runId!);
  return { kind: 'conversion', eventId: newEventId(), unit, metric, value, at: conversion.at ?? Date.now() };
}
