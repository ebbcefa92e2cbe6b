import { createHash } from 'node:crypto';

/**
 * The id of a phase: 12 base64url characters of the SHA-256 of a set's configuration (tracks
 * and weights in definition order, coverage, baseline, stickiness) and control epoch. Every
 * process computes the same id for the same configuration, and so can `tracks ramp`, which
 * records the phase it starts at once.
 *
 * @example
 * ```ts
 * phaseIdOf([['control', 1], ['long', 3]], 0.5, 'control', false, 2); // 'k3Vq...' (12 characters)
 * ```
 */
export function phaseIdOf(weights: Iterable<readonly [string, number]>, coverage: number, baseline: string | null, sticky: boolean, epoch: number): string {
  const configuration = JSON.stringify([[...weights].map(([name, weight]) => [name, weight]), coverage, baseline, sticky, epoch]);
  return createHash('sha256').update(configuration).digest('base64url').slice(0, 12);
}
