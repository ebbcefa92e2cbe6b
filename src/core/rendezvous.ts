import { mixInt } from './murmur3.js';

/** One candidate of a weighted rendezvous choice: a track, or a track set inside a MultiTrackSet. */
export interface Candidate {
  readonly name: string;
  readonly weight: number;
  /** `scrambleLabel(murmur3(name))`, precomputed. */
  readonly scrambled: number;
}

const TWO_32 = 4294967296;

/**
 * Weighted rendezvous (highest random weight) choice: candidate `c` draws
 * `x = mix(hash, label(c))`, `u = (x + 0.5) / 2^32`, scores `-ln(u) / weight`, and the lowest
 * score wins (ties, which need equal 32-bit draws, go to the smaller name). Each score is an
 * exponential race, so `c` wins with probability `weight(c) / sum of weights`; and because a
 * candidate's score never depends on the others, adding, removing or re-weighting one
 * candidate only moves keys to or from it. With equal weights the lowest score is simply
 * the highest `x`, which needs no logarithm.
 *
 * Returns the index of the winner, or -1 when no candidate has a positive weight.
 */
export function rendezvous(hash: number, candidates: readonly Candidate[], equalWeights: boolean): number {
  let best = -1;
  if (equalWeights) {
    // Unsigned order of the draws, compared as signed int32: flipping the sign bit maps one
    // onto the other.
    let bestDraw = 0;
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i]!;
      const draw = mixInt(hash, candidate.scrambled) ^ 0x80000000;
      if (best === -1 || draw > bestDraw || (draw === bestDraw && candidate.name < candidates[best]!.name)) {
        bestDraw = draw;
        best = i;
      }
    }
    return best;
  }
  let bestScore = Infinity;
  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i]!;
    if (!(candidate.weight > 0)) continue;
    const u = ((mixInt(hash, candidate.scrambled) >>> 0) + 0.5) / TWO_32;
    const score = -Math.log(u) / candidate.weight;
    if (score < bestScore || (score === bestScore && candidate.name < candidates[best]!.name)) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

/** Whether a 32-bit draw (signed or unsigned form) falls inside a share in [0, 1]: `x / 2^32 < share`. */
export function within(draw: number, share: number): boolean {
  return draw >>> 0 < share * TWO_32;
}
