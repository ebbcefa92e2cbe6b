import { stats } from '../../src/index.js';

/** A sleep, for pacing traffic in tests (never for waiting on a result: see eventually()). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `record(i)` for i = 0..count-1 at about `perSecond`, as a service's requests arrive
 * (a few at a time, the event loop free in between; more at once when timers run late, as
 * requests queue on a busy server), and calls `at(ms)` hooks on the way.
 * Returns the peak of `stats().buffered` and `stats().bufferedBytes` seen meanwhile.
 */
export async function paced(
  count: number,
  perSecond: number,
  record: (i: number) => void,
  hooks: ReadonlyArray<readonly [afterMs: number, run: () => unknown]> = [],
): Promise<{ peakBuffered: number; peakBytes: number }> {
  const start = Date.now();
  const pending = [...hooks].sort((a, b) => a[0] - b[0]);
  let peakBuffered = 0;
  let peakBytes = 0;
  const slice = Math.max(1, Math.round(perSecond / 500)); // one slice every 2 ms
  const running: Promise<unknown>[] = [];
  // Behind schedule (a loaded machine: timers late), a turn records what is due, up to 50 ms
  // of traffic: the offered rate stays the one asked, so a store meant to fall behind does.
  const most = Math.max(slice, Math.round(perSecond / 20));
  for (let i = 0; i < count; ) {
    const due = Math.floor(((Date.now() - start) / 1000) * perSecond);
    const turn = Math.min(most, Math.max(slice, due - i));
    for (let j = 0; j < turn && i < count; j++, i++) record(i);
    const s = stats();
    peakBuffered = Math.max(peakBuffered, s.buffered);
    peakBytes = Math.max(peakBytes, s.bufferedBytes);
    while (pending.length > 0 && Date.now() - start >= pending[0]![0]) running.push(Promise.resolve(pending.shift()![1]()));
    await sleep(Math.max(0, start + (i / perSecond) * 1000 - Date.now()));
  }
  for (const [, run] of pending) running.push(Promise.resolve(run()));
  await Promise.all(running);
  return { peakBuffered, peakBytes };
}
