import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CallOptions } from '../model/store.js';
import { StoreError } from '../model/store-error.js';
import { FILE_REPLACED } from './file-identity.js';
import { markFinishing } from '../model/finishing-call.js';
import { RequestState } from './request-state.js';
import { WorkerLifecycle } from './worker-lifecycle.js';
import { unpackAnswer } from './packed-events.js';

/** What a worker thread hosts: the SQLite store's database or an outbox file. */
export interface WorkerInit {
  readonly role: 'store' | 'outbox';
  readonly path: string;
  readonly options: Readonly<Record<string, number | boolean>>;
  /** Shared with the main thread: see WorkerLifecycle. */
  readonly lifecycle?: SharedArrayBuffer | undefined;
}

/** A request to the worker; `deadline` is when the caller stops waiting (epoch ms). */
export interface WorkerRequest {
  readonly id: number;
  readonly op: string;
  readonly args: readonly unknown[];
  readonly deadline: number;
  /** The request's RequestState, shared with the worker. */
  readonly state: SharedArrayBuffer;
}

/** A failure as it crosses the thread boundary. */
interface WorkerFailure {
  readonly message: string;
  readonly code: string | undefined;
  readonly transient: boolean;
}

/** The worker's answer to one request. */
export type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WorkerFailure };

interface Pending {
  readonly state: RequestState;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** How long a call without a deadline may wait on a lock before the worker gives up. */
const DEFAULT_WAIT_MS = 30_000;

/**
 * Runs a SQLite file's work on a worker thread, so a lock held by another process, a slow disk
 * or a big batch never blocks the application's event loop. Calls are answered in order; one
 * whose caller gave up (its signal aborted) is answered with a transient timeout at once, and
 * the worker ends its work by the caller's deadline. A worker that dies is started again on
 * the next call. The thread keeps the process alive only while a call is pending.
 */
export class WorkerClient {
  readonly #init: WorkerInit;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 0;
  #closed = false;

  constructor(init: WorkerInit) {
    this.#init = init;
  }

  /** Calls `op` in the worker; rejects with a StoreError (transient on timeout, closing or a crash). */
  call<T>(op: string, args: readonly unknown[], options: CallOptions = {}): Promise<T> {
    if (this.#closed) {
      // Closed is the pipeline's state, not the data's fault: never a reason to quarantine.
      return Promise.reject(new StoreError(`tracks: ${this.#init.path} is closed`, { transient: true, code: 'TRACKS_CLOSED' }));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(timedOut(op, this.#init.path));
    const worker = this.#started();
    const id = this.#nextId++;
    const started = Date.now();
    const deadline = options.deadline ?? started + DEFAULT_WAIT_MS;
    const state = new RequestState();
    options.settleNow?.((waitMs) => state.settleNow(waitMs));
    return new Promise<T>((resolve, reject) => {
      let stuck: NodeJS.Timeout | undefined;
      // Given up before the worker commits: it skips the request or rolls it back. During its
      // commit: the caller waits for the answer, which says whether the events were written,
      // as long again as it first waited (a commit that never ends is then a timeout).
      const onAbort = () => {
        if (state.abandon()) return settle(() => reject(timedOut(op, this.#init.path)));
        markFinishing(signal!);
        stuck = setTimeout(() => settle(() => reject(timedOut(op, this.#init.path))), Math.max(0, deadline - started));
        stuck.unref();
      };
      const settle = (finish: () => void) => {
        if (!this.#pending.delete(id)) return;
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(stuck);
        if (this.#pending.size === 0) this.#worker?.unref();
        finish();
      };
      this.#pending.set(id, {
        state,
        resolve: (value) => settle(() => resolve(value as T)),
        reject: (error) => settle(() => reject(error)),
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.ref();
      worker.postMessage({ id, op, args, deadline, state: state.buffer } satisfies WorkerRequest);
    });
  }

  /** Ends the worker (after its current statement); pending calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const worker = this.#worker;
    let moved: unknown;
    if (worker !== undefined) {
      // Let the worker close its database cleanly after the calls before this one. What it says
      // of a file moved away while open (where its rows went) is passed on; nothing else is news.
      await this.call('close', [], { deadline: Date.now() + 5_000, signal: AbortSignal.timeout(6_000) }).catch((error: unknown) => {
        if (error instanceof StoreError && error.code === FILE_REPLACED) moved = error;
      });
    }
    this.#closed = true;
    this.#worker = undefined;
    this.#failAll(new StoreError(`tracks: ${this.#init.path} was closed`, { transient: true, code: 'TRACKS_CLOSED' }));
    await worker?.terminate();
    if (moved !== undefined) throw moved;
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const lifecycle = new WorkerLifecycle();
    const worker = startWorker({ ...this.#init, lifecycle: lifecycle.buffer });
    // Exiting, what was sent is given up first: a write still queued or under way is then not
    // committed, so the recorder's last spill (of every event not known written) is their only copy.
    lifecycle.watchExit(worker, () => {
      for (const pending of this.#pending.values()) pending.state.abandon();
    });
    worker.unref();
    worker.on('message', (response: WorkerResponse) => {
      const pending = this.#pending.get(response.id);
      if (pending === undefined) return; // its caller gave up already
      if (response.ok) pending.resolve(unpackAnswer(response.value));
      else pending.reject(new StoreError(response.error.message, { transient: response.error.transient, code: response.error.code }));
    });
    const onGone = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failAll(new StoreError(`tracks: the worker thread for ${this.#init.path} stopped: ${error.message}`, { transient: true, cause: error }));
    };
    worker.on('error', onGone);
    worker.on('exit', (code) => onGone(new Error(`exit code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  #failAll(error: StoreError): void {
    for (const pending of [...this.#pending.values()]) pending.reject(error);
  }
}

function timedOut(op: string, path: string): StoreError {
  return new StoreError(`tracks: ${op} on ${path} did not finish in time`, { transient: true, code: 'TRACKS_TIMEOUT' });
}

/**
 * Starts the worker on the compiled module beside this file. Run from the TypeScript sources
 * (this repository's tests), it starts on the build in dist/ when that is newer than every
 * source file, as after `npm run build`; else it first registers tsx, which a worker does not
 * inherit. A worker under tsx compiles its whole import graph again: 150-250 ms more per
 * SQLite file opened, which made the store conformance suite 15 s instead of 9.
 */
function startWorker(init: WorkerInit): Worker {
  const compiled = new URL('./worker-thread.js', import.meta.url);
  if (existsSync(compiled)) return new Worker(compiled, { workerData: init });
  const built = freshBuild();
  if (built !== undefined) return new Worker(built, { workerData: init });
  const source = new URL('./worker-thread.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

/** Run from the sources: dist/'s worker when no source file changed since it was built (checked once per process). */
let build: URL | null | undefined;
function freshBuild(): URL | undefined {
  if (build === undefined) {
    const worker = new URL('../../dist/stores/worker-thread.js', import.meta.url);
    build = builtAfterSources(fileURLToPath(worker), fileURLToPath(new URL('..', import.meta.url))) ? worker : null;
  }
  return build ?? undefined;
}

/**
 * Whether `built` exists and is newer than every file and folder under `sources` (a folder's
 * time changes when a file is added to it or removed). Internal; exported for its test.
 */
export function builtAfterSources(built: string, sources: string): boolean {
  try {
    const builtAt = statSync(built).mtimeMs;
    if (statSync(sources).mtimeMs >= builtAt) return false;
    return !readdirSync(sources, { recursive: true, encoding: 'utf8' }).some((file) => statSync(join(sources, file)).mtimeMs >= builtAt);
  } catch {
    return false; // no build (or a source gone while looking): the sources, through tsx
  }
}
