/**
 * Waits until `condition` holds, checking every few milliseconds; fails with `what` after
 * `timeoutMs`. For conditions a background part brings about (a worker thread's answer, a
 * timer's write), so tests wait for the fact, not for a guessed duration.
 */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
