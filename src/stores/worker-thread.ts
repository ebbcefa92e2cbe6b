// The worker thread's entry: hosts one SQLite file (the store's database or an outbox) and
// answers the main thread's requests in order. Everything here may block: that is the point.
import { parentPort, workerData } from 'node:worker_threads';
import { StoreError, codeOf, messageOf } from '../model/store-error.js';
import { OutboxDatabase } from './outbox-database.js';
import { SqliteDatabase } from './sqlite-database.js';
import { unpackEvents } from './packed-events.js';
import type { WorkerInit, WorkerRequest, WorkerResponse } from './worker-client.js';

const init = workerData as WorkerInit;
const target: Record<string, unknown> =
  init.role === 'store' ? (new SqliteDatabase(init.path, init.options) as never) : (new OutboxDatabase(init.path, init.options) as never);

// One request at a time, in order: an operation that awaits (opening and migrating the file)
// finishes before the next one starts.
let queue: Promise<void> = Promise.resolve();

parentPort!.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => parentPort!.postMessage(await answer(request)));
});

async function answer(request: WorkerRequest): Promise<WorkerResponse> {
  try {
    const method = target[request.op];
    if (typeof method !== 'function') throw new Error(`unknown operation ${request.op}`);
    const value: unknown = await (method as (...args: unknown[]) => unknown).apply(target, [...request.args.map(unpackEvents), request.deadline]);
    return { id: request.id, ok: true, value };
  } catch (error) {
    const transient = error instanceof StoreError ? error.transient : true;
    const code = error instanceof StoreError ? error.code : codeOf(error);
    return { id: request.id, ok: false, error: { message: messageOf(error), code, transient } };
  }
}
