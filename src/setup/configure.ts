import { installRunHooks } from '../core/run-hooks.js';
import { TracksError } from '../errors.js';
import { storeFrom } from '../stores/open-store.js';
import type { StoreSpec } from '../stores/open-store.js';
import type { PostgresStoreOptions } from '../stores/postgres-store.js';
import { Recorder } from './recorder.js';
import type { Conversion, RecorderOptions, RecordingStats } from './recorder.js';

/** What {@link configure} takes: where to record, and how. */
export interface RecordingOptions extends RecorderOptions {
  /**
   * Where events go: a file path (embedded SQLite), a `postgres://` URL or a `pg.Pool`,
   * `memoryStore()` for tests, `callbackStore(fn)` for your own pipeline. Without one nothing
   * is recorded.
   */
  readonly store?: StoreSpec;
  /** The PostgreSQL schema for the tracks_ tables, when `store` is a URL or pool (default `public`). */
  readonly schema?: PostgresStoreOptions['schema'];
  /** Flush on SIGTERM and `beforeExit` (default true). */
  readonly handleSignals?: boolean;
}

let current: Recorder | undefined;
let uninstall: (() => void) | undefined;
let removeSignals: (() => void) | undefined;

/**
 * Starts recording: exposures, per-track health and conversions go to the store, in batches,
 * off the request path. Calling it again replaces the earlier configuration (which is flushed
 * and closed). Recording never throws into your requests: failures go to `onError` and
 * {@link stats}.
 *
 * @example
 * ```ts
 * configure({ store: 'tracks.db' });                      // embedded SQLite
 * configure({ store: process.env.DATABASE_URL });          // PostgreSQL
 * configure({ store: memoryStore(), hashKeys: true, onError: (e) => log.warn(e) });
 * ```
 */
export function configure(options: RecordingOptions): Recorder | undefined {
  if (typeof options !== 'object' || options === null) {
    throw new TracksError("configure: pass an options object, e.g. configure({ store: 'tracks.db' })");
  }
  const previous = current;
  stopRecording();
  if (previous) void previous.close();
  if (options.store === undefined || options.store === null) return undefined;
  const recorder = new Recorder(storeFrom(options.store, options.schema === undefined ? {} : { schema: options.schema }), options);
  current = recorder;
  uninstall = installRunHooks(recorder.hooks);
  if (options.handleSignals !== false) removeSignals = flushOnExit(recorder);
  return recorder;
}

function stopRecording(): void {
  uninstall?.();
  removeSignals?.();
  uninstall = undefined;
  removeSignals = undefined;
  current = undefined;
}

/**
 * Records that a key (or a run without a key) reached an outcome. Analysis counts it for the
 * tracks the key was exposed to before it. Does nothing when recording is not configured.
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
 * Writes everything recorded so far (and anything waiting in the outbox). Resolves once the
 * store has it, or, when the store stays unreachable past `flushTimeout`, once it is safe in
 * the outbox file. Never rejects.
 *
 * @example
 * ```ts
 * await flush();
 * ```
 */
export async function flush(): Promise<void> {
  await current?.flush();
}

/**
 * Flushes and stops recording: timers stop, hooks are removed, the store is closed.
 *
 * @example
 * ```ts
 * process.on('SIGINT', async () => { await close(); process.exit(0); });
 * ```
 */
export async function close(): Promise<void> {
  const recorder = current;
  stopRecording();
  await recorder?.close();
}

/**
 * Counters of what recording did: events `buffered` in memory, `written` to the store,
 * `retried` after a failure, `spilled` to the outbox file, `dropped` (lost).
 *
 * @example
 * ```ts
 * const { buffered, dropped } = stats();
 * ```
 */
export function stats(): RecordingStats {
  return current?.stats() ?? { buffered: 0, written: 0, retried: 0, spilled: 0, dropped: 0 };
}

/**
 * Flushes on SIGTERM and before a natural exit. On SIGTERM, once flushed, the process ends as
 * it would have without tracks: the signal is raised again unless the app has its own handler.
 */
function flushOnExit(recorder: Recorder): () => void {
  let exitFlushes = 0;
  const onBeforeExit = () => {
    // beforeExit fires again after the flush's work; stop once nothing is left (or it keeps failing).
    if (recorder.pending && exitFlushes++ < 3) void recorder.flush();
  };
  const onSigterm = () => {
    process.removeListener('SIGTERM', onSigterm);
    const appHandles = process.listenerCount('SIGTERM') > 0;
    void recorder.close().finally(() => {
      if (!appHandles) process.kill(process.pid, 'SIGTERM');
    });
  };
  process.on('beforeExit', onBeforeExit);
  process.on('SIGTERM', onSigterm);
  return () => {
    process.removeListener('beforeExit', onBeforeExit);
    process.removeListener('SIGTERM', onSigterm);
  };
}
