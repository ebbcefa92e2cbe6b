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
