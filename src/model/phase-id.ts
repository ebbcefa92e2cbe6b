import { createHash } from 'node:crypto';

/**
 * The id of a phase: 12 base64url characters of the SHA-256 of a set's configuration (tracks
 * and weights in definition order, coverage, baseline, stickiness, shadow mode) and control epoch. Every
 * process computes the same id for the same configuration, and so can `tracks ramp`, which
 * records the phase it starts at once.
 *
 * @example
 * ```ts
 * phaseIdOf([['control', 1], ['long', 3]], 0.5, 'control', false, 2); // 'k3Vq...' (12 characters)
 * ```
 */
export function phaseIdOf(weights: Iterable<readonly [string, number]>, coverage: number, baseline: string | null, sticky: boolean, epoch: number, shadow = false): string {
  const configuration = [[...weights].map(([name, weight]) => [name, weight]), coverage, baseline, sticky, epoch];
  // Shadow mode (everyone served the baseline) is another configuration: a deploy that turns it
  // on or off starts a phase. Marked only when on, so a live set's ids stay what they were.
  if (shadow) configuration.push('shadow');
  return createHash('sha256').update(JSON.stringify(configuration)).digest('base64url').slice(0, 12);
}
