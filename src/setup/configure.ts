import { installRunHooks } from '../core/run-hooks.js';
import { TracksError } from '../errors.js';
import type { Conversion } from '../recording/conversion-event.js';
import { Recorder } from '../recording/recorder.js';
import type { FlushResult, RecordingStats } from '../recording/recorder.js';
import { RECORDER_OPTIONS, resolveOptions } from '../recording/recorder-options.js';
import { checkOptionNames } from '../core/suggest.js';
import type { RecorderOptions } from '../recording/recorder-options.js';
import { storeFrom } from '../stores/open-store.js';
import type { StoreSpec } from '../stores/open-store.js';
import type { Outbox } from '../model/outbox.js';
import type { Store } from '../model/store.js';
import type { PostgresStoreOptions } from '../stores/postgres-store.js';
import { sqliteOutbox } from '../stores/sqlite-outbox.js';
import { defaultOutboxPath } from './default-outbox.js';
import { handleShutdown } from './shutdown.js';
import type { ShutdownHandlers } from './shutdown.js';

/**
 * What {@link configure} takes: where to record, and how.
 *
 * @example
 * ```ts
 * const options: RecordingOptions = { store: 'tracks.db', outbox: '/var/lib/app/tracks.outbox', onError: (e) => log.warn(e) };
 * configure(options);
 * ```
 */
export interface RecordingOptions extends RecorderOptions {
  /**
   * Where events go: a file path (embedded SQLite), a `postgres://` URL or a `pg.Pool`,
   * `memoryStore()` for tests, `callbackStore(fn)` for your own pipeline. Without one nothing
   * is recorded.
   */
  readonly store?: StoreSpec | null | undefined;
  /** The PostgreSQL schema for the tracks_ tables, when `store` is a URL or pool (default `public`). */
  readonly schema?: PostgresStoreOptions['schema'] | undefined;
  /**
   * The local SQLite file events spill to when the store cannot take them in time, and where
   * events no store takes are quarantined; `false` for none (events past the memory bound are
   * then dropped). Default: beside a SQLite store (`tracks.db.outbox`), else in the state
   * directory (`$TRACKS_STATE_DIR`, `$XDG_STATE_HOME/tracks` or `~/.local/state/tracks`).
   * It needs the SQLite driver, `better-sqlite3` (an optional peer dependency): without it,
   * `configure()` throws a TracksError saying to install it or to pass `false`.
   */
  readonly outbox?: string | false | undefined;
  /** Most events waiting in the outbox; spills past it are refused and the events dropped (default 5,000,000). */
  readonly maxOutboxEvents?: number | undefined;
  /** Flush on SIGTERM, `beforeExit` and `exit` (default true); see the README's shutdown section. */
  readonly handleSignals?: boolean | undefined;
}

/** The options configure() adds to the recorder's. */
const CONFIGURE_OPTIONS = ['store', 'schema', 'outbox', 'maxOutboxEvents', 'handleSignals'] as const satisfies readonly (keyof RecordingOptions)[];

/** The one recorder of the process; kept after close() so that stats() reads its final counts. */
let current: Recorder | undefined;
let uninstall: (() => void) | undefined;
let shutdown: ShutdownHandlers | undefined;
/** Earlier configurations still closing (a newer one's SIGTERM flow waits for them). */
const closing = new Set<Promise<void>>();

/**
 * Starts recording: exposures, per-track health and conversions go to the store, in batches,
 * off the request path. Calling it again replaces the earlier configuration (which is flushed
 * and closed). Recording never throws into your requests: failures go to `onError` and
 * {@link stats}. A bad option is a TracksError, thrown here.
 *
 * @example
 * ```ts
 * configure({ store: 'tracks.db' });                      // embedded SQLite
 * configure({ store: process.env.DATABASE_URL });          // PostgreSQL
 * configure({ store: memoryStore(), onError: (e) => log.warn(e) });
 * ```
 */
export function configure(options: RecordingOptions): Recorder | undefined {
  if (typeof options !== 'object' || options === null) {
    throw new TracksError("configure: pass an options object, e.g. configure({ store: 'tracks.db' })");
  }
  checkOptionNames(options, [...RECORDER_OPTIONS, ...CONFIGURE_OPTIONS]);
  const { store: spec, schema, outbox: outboxOption, maxOutboxEvents, handleSignals, ...recorderOptions } = options;
  resolveOptions(recorderOptions); // a bad option throws here, before the current configuration is replaced
  if (handleSignals !== undefined && typeof handleSignals !== 'boolean') {
    throw new TracksError(`configure: handleSignals is ${String(handleSignals)}; use true (default: flush on SIGTERM and exit) or false`);
  }
  // So do a bad store, outbox or maxOutboxEvents: both are made here (nothing opens or
  // connects until used), so a configure() that throws leaves the current one recording.
  let store: Store | undefined;
  let outbox: Outbox | undefined;
  if (spec !== undefined && spec !== null) {
    if (outboxOption !== undefined && outboxOption !== false && (typeof outboxOption !== 'string' || outboxOption.trim() === '')) {
      throw new TracksError("configure: outbox is not a file path; give one (e.g. '/var/lib/app/tracks.outbox') or false for none");
    }
    const limits = maxOutbox(maxOutboxEvents);
    store = storeFrom(spec, {
      ...(schema === undefined ? {} : { schema }),
      ...(recorderOptions.writeTimeout === undefined ? {} : { timeoutMs: recorderOptions.writeTimeout }),
    });
    const outboxPath = outboxOption === undefined ? defaultOutboxPath(store) : outboxOption || undefined;
    // Beside a SQLite store, the outbox's directory is the store's: not made when missing.
    const beside = outboxOption === undefined && store.description.startsWith('sqlite:');
    outbox = outboxPath === undefined ? undefined : sqliteOutbox(outboxPath, beside ? { ...limits, createDirectory: false } : limits);
  }
  const previous = current;
  const previousShutdown = shutdown;
  shutdown = undefined;
  uninstall?.();
  uninstall = undefined;
  current = undefined;
  // The earlier configuration's exit handler stays until its close() ends: a process that exits
  // meanwhile still spills what that configuration held. So does its SIGTERM handler, unless
  // this configuration installs its own, which waits for that close before the signal.
  if (previous) {
    const closed = previous.close().finally(() => {
      closing.delete(closed);
      previousShutdown?.remove();
    });
    closing.add(closed);
    if (spec !== undefined && spec !== null && handleSignals !== false) previousShutdown?.releaseSignal();
  }
  if (store === undefined) return undefined;
  const recorder = new Recorder(store, recorderOptions, outbox);
  current = recorder;
  uninstall = installRunHooks(recorder.hooks);
  if (handleSignals !== false) shutdown = handleShutdown(recorder, () => Promise.all([...closing]));
  return recorder;
}

function maxOutbox(value: number | undefined): { maxEvents?: number } {
  if (value === undefined) return {};
  if (typeof value !== 'number' || !(value > 0) || !Number.isInteger(value)) {
    throw new TracksError(`configure: maxOutboxEvents is ${String(value)}; use a positive whole number (default 5,000,000)`);
  }
  return { maxEvents: value };
}

/**
 * Records that a key (or a run without a key) reached an outcome. Analysis counts it for the
 * tracks the key was exposed to at or before it. Does nothing when recording is not
 * configured; after `close()` it is counted as dropped. A malformed call never throws: it goes
 * to `onError` and `stats().rejected`.
 *
 * @example
 * ```ts
 * convert({ key: userId, metric: 'purchase' });
 * convert({ key: userId, metric: 'revenue', value: 12.5 });
 * convert({ runId: track.runId, metric: 'clicked' });
 * ```
 */
export function convert(conversion: Conversion): void {
  current?.convert(conversion);
}

/**
 * Resolves once recording knows the store's stop, resume and ramp state and its sticky
 * assignments (the first reads answered, or failed within `writeTimeout`). A SQLite store is
 * read as `configure()` runs; with PostgreSQL, runs before this resolves follow the code (and a
 * sticky set's returning users may get their current assignment), so await it before serving
 * traffic if you stop or ramp sets live or use sticky sets. Resolves at once when recording is
 * not configured.
 *
 * @example
 * ```ts
 * configure({ store: process.env.DATABASE_URL });
 * await ready();
 * server.listen(8080);
 * ```
 */
export async function ready(): Promise<void> {
  await current?.ready();
}

/**
 * Writes everything recorded so far. Resolves once the store has it, or, when the store stays
 * unreachable past `flushTimeout`, once it is safe in the outbox file: within
 * `flushTimeout + writeTimeout` (15 s by default), under steady traffic too. Never rejects.
 * An earlier configuration that `configure()` replaced and that is still closing is waited
 * for too (within its own bound), since it holds events recorded before the call.
 *
 * Resolves with `{ complete, pending }`: when the store and the outbox both failed until the
 * bound, `pending` events recorded before the call are still only in memory (also reported to
 * `onError`), and a process killed then would lose them.
 *
 * @example
 * ```ts
 * const { complete, pending } = await flush();
 * if (!complete) console.warn(`${pending} events not yet safe`);
 * ```
 */
export async function flush(): Promise<FlushResult> {
  // An earlier configuration still closing holds events recorded before this call too.
  const [result] = await Promise.all([current?.flush(), ...closing]);
  return result ?? { complete: true, pending: 0 };
}

/**
 * Flushes and stops recording: timers stop, the store and outbox close. Events recorded after
 * it are counted as dropped (and reported once), and {@link stats} keeps the final counts.
 * Earlier configurations that `configure()` replaced and that are still closing are waited for.
 *
 * @example
 * ```ts
 * process.on('SIGINT', async () => { await close(); process.exit(0); });
 * ```
 */
export async function close(): Promise<void> {
  await Promise.all([current?.close(), ...closing]);
  shutdown?.remove();
  shutdown = undefined;
}

/**
 * Counters of what recording did: events `buffered` in memory (and `bufferedBytes`), `written`
 * to the store, `retried`, `spilled` to the outbox and `drained` from it, `rejected` as
 * malformed, `quarantined` as refused by the store, `dropped` (lost). Readable after `close()`.
 *
 * @example
 * ```ts
 * const { buffered, dropped } = stats();
 * ```
 */
export function stats(): RecordingStats {
  return (
    current?.stats() ?? { buffered: 0, bufferedBytes: 0, written: 0, retried: 0, spilled: 0, drained: 0, rejected: 0, quarantined: 0, dropped: 0 }
  );
}
