import type { CallOptions } from '../model/store.js';
import { StoreError } from '../model/store-error.js';

/**
 * Runs one store or outbox call with a deadline: it resolves, rejects, or rejects with a
 * transient `TRACKS_TIMEOUT` StoreError after `ms`, whatever the store does. The call gets the
 * deadline and a signal that aborts at it, so a store can give up its work and discard the
 * connection it used (a silent one would otherwise hold it forever).
 */
export async function withDeadline<T>(ms: number, what: string, call: (options: Required<CallOptions>) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const deadline = Date.now() + ms;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new StoreError(`tracks: ${what} did not finish within ${ms} ms`, { transient: true, code: 'TRACKS_TIMEOUT' });
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([call({ signal: controller.signal, deadline }), expired]);
  } finally {
    clearTimeout(timer);
  }
}
