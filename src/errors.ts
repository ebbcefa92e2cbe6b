/**
 * The one error type tracks throws for bad input: a bad track set definition, a key that
 * cannot be serialized, an unknown forced track, a bad option. Its message names the class
 * or argument at fault and what to do about it.
 *
 * @example
 * ```ts
 * try {
 *   new MultiTrackSet([], { key: userId });
 * } catch (error) {
 *   if (error instanceof TracksError) console.error(error.message);
 * }
 * ```
 */
export class TracksError extends Error {
  override readonly name = 'TracksError';
}

/**
 * The message of any thrown value.
 *
 * @example
 * ```ts
 * messageOf(new Error('disk full')); // 'disk full'
 * messageOf('nope');                 // 'nope'
 * ```
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `code` property of any thrown value, as a string, if it has one.
 *
 * @example
 * ```ts
 * codeOf(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' })); // 'SQLITE_BUSY'
 * ```
 */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return code === undefined || code === null ? undefined : String(code);
}
