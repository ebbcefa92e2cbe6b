import { isFinishing } from '../model/finishing-call.js';
import type { CallTiming } from '../model/store.js';
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
export async function withDeadline<T>(ms: number, what: string, call: (options: CallTiming) => Promise<T>, giveUp?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const deadline = Date.now() + ms;
  // Recording's calls run in the background: neither they nor their deadline keep the process
  // alive (a process with nothing else to do ends; its beforeExit flush keeps it alive, bounded).
  const pending = call({ signal: controller.signal, deadline, background: true });
  let timer: NodeJS.Timeout | undefined;
  const after = (wait: number) => new Promise<typeof EXPIRED>((resolve) => (timer = setTimeout(resolve, wait, EXPIRED).unref()));
  // `giveUp` ends the wait early, as the deadline would (recording is closing: see Delivery.stopWriting).
  let onGiveUp: (() => void) | undefined;
  const givenUp = giveUp === undefined ? undefined : new Promise<typeof GIVEN_UP>((resolve) => {
    onGiveUp = () => resolve(GIVEN_UP);
    if (giveUp.aborted) onGiveUp();
    else giveUp.addEventListener('abort', onGiveUp, { once: true });
  });
  try {
    const outcome = await Promise.race(givenUp === undefined ? [pending, after(ms)] : [pending, after(ms), givenUp]);
    if (outcome !== EXPIRED && outcome !== GIVEN_UP) return outcome;
    const error =
      outcome === GIVEN_UP
        ? new StoreError(`tracks: ${what} was given up: recording is closing`, { transient: true, code: 'TRACKS_CLOSED' })
        : new StoreError(`tracks: ${what} did not finish within ${Math.round(ms)} ms`, { transient: true, code: 'TRACKS_TIMEOUT' });
    controller.abort(error);
    // Given up: the store was asked to stop (a SQLite write not yet committing is dropped at
    // once); what it does instead, it says by the call's own deadline, which the caller bounds.
    if (outcome === GIVEN_UP) {
      clearTimeout(timer);
      // Its failure is this one (closing, not news): a store that stops rejects with its own.
      const late = await Promise.race([pending, after(Math.max(0, deadline - Date.now()))]).catch((): typeof EXPIRED => EXPIRED);
      if (late !== EXPIRED) return late;
    } else if (isFinishing(controller.signal)) {
      clearTimeout(timer);
      const late = await Promise.race([pending, after(ms)]);
      if (late !== EXPIRED) return late;
    }
    throw error;
  } finally {
    clearTimeout(timer);
    if (onGiveUp !== undefined) giveUp!.removeEventListener('abort', onGiveUp);
  }
}

const EXPIRED: unique symbol = Symbol('expired');
const GIVEN_UP: unique symbol = Symbol('given up');
