import { isFinishing } from '../model/finishing-call.js';
import type { CallOptions } from '../model/store.js';
import { StoreError } from '../model/store-error.js';

/**
 * Runs one store or outbox call with a deadline: it resolves, rejects, or rejects with a
 * transient `TRACKS_TIMEOUT` StoreError after `ms`, whatever the store does. The call gets the
 * deadline and a signal that aborts at it, so a store can give up its work and discard the
 * connection it used (a silent one would otherwise hold it forever).
 *
 * A call that is committing when its signal aborts says so (model/finishing-call.ts): its
 * outcome decides whether the events were written, so it is waited for, up to another `ms`,
 * instead of being taken for a failure and written a second time.
 */
export async function withDeadline<T>(ms: number, what: string, call: (options: Required<CallOptions>) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const deadline = Date.now() + ms;
  // Recording's calls run in the background: neither they nor their deadline keep the process
  // alive (a process with nothing else to do ends; its beforeExit flush keeps it alive, bounded).
  const pending = call({ signal: controller.signal, deadline, background: true });
  let timer: NodeJS.Timeout | undefined;
  const after = (wait: number) => new Promise<typeof EXPIRED>((resolve) => (timer = setTimeout(resolve, wait, EXPIRED).unref()));
  try {
    const outcome = await Promise.race([pending, after(ms)]);
    if (outcome !== EXPIRED) return outcome;
    const error = new StoreError(`tracks: ${what} did not finish within ${Math.round(ms)} ms`, { transient: true, code: 'TRACKS_TIMEOUT' });
    controller.abort(error);
    if (isFinishing(controller.signal)) {
      clearTimeout(timer);
      const late = await Promise.race([pending, after(ms)]);
      if (late !== EXPIRED) return late;
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

const EXPIRED: unique symbol = Symbol('expired');
