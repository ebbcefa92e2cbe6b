// The worker thread's entry: hosts one SQLite file (the store's database or an outbox) and
// answers the main thread's requests in order. Everything here may block: that is the point.
import { parentPort, workerData } from 'node:worker_threads';
import { StoreError } from '../model/store-error.js';
import { codeOf, messageOf } from '../errors.js';
import { OutboxDatabase } from './outbox-database.js';
import { SqliteDatabase } from './sqlite-database.js';
import { packAnswer, unpackEvents } from './packed-events.js';
import { RequestState } from './request-state.js';
import { stopWaitingWhen } from './sqlite-lock-wait.js';
import { WorkerLifecycle } from './worker-lifecycle.js';
import type { WorkerInit, WorkerRequest, WorkerResponse } from './worker-client.js';

const init = workerData as WorkerInit;
const lifecycle = new WorkerLifecycle(init.lifecycle);
stopWaitingWhen(() => lifecycle.exiting);
const target: Record<string, unknown> =
  init.role === 'store' ? (new SqliteDatabase(init.path, init.options) as never) : (new OutboxDatabase(init.path, init.options) as never);

// One request at a time, in order: an operation that awaits (opening and migrating the file)
// finishes before the next one starts.
let queue: Promise<void> = Promise.resolve();

parentPort!.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => parentPort!.postMessage(await lifecycle.busy(() => answer(request))));
});

async function answer(request: WorkerRequest): Promise<WorkerResponse> {
  let state: RequestState | undefined;
  try {
    // The process is exiting (checked once marked busy, so the main thread waits for this
    // answer or sees the worker idle): no new statement may start in a thread about to stop.
    if (lifecycle.exiting) throw new StoreError(`tracks: the process is exiting; ${request.op} on ${init.path} was not started`, { transient: true, code: 'TRACKS_CLOSED' });
    state = new RequestState(request.state);
    // Its caller gave up while it waited in the queue: done now, it would be done twice.
    if (!state.start()) throw new StoreError(`tracks: ${request.op} on ${init.path} was given up before it started`, { transient: true, code: 'TRACKS_TIMEOUT' });
    const method = target[request.op];
    if (typeof method !== 'function') throw new Error(`unknown operation ${request.op}`);
    // Writing operations take mayCommit after the deadline and check it before they commit.
    const mayCommit = () => state!.mayCommit();
    const value: unknown = await (method as (...args: unknown[]) => unknown).apply(target, [...request.args.map(unpackEvents), request.deadline, mayCommit]);
    // Said before the answer: a caller settling at exit (no messages any more) reads it here.
    state.finish(true);
    return { id: request.id, ok: true, value: packAnswer(value) };
  } catch (error) {
    state?.finish(false);
    const transient = error instanceof StoreError ? error.transient : true;
    const code = error instanceof StoreError ? error.code : codeOf(error);
    return { id: request.id, ok: false, error: { message: messageOf(error), code, transient } };
  }
}
