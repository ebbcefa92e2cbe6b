import { chiSquareSf } from '../stats/distributions.js';
import { srmCheck } from '../stats/srm-check.js';
import type { SrmCheckResult } from '../stats/srm-check.js';
import type { ArmSums } from './metric-spec.js';

/** Below this p-value a split is a mismatch (the usual convention: one false alarm in a thousand checks). */
const THRESHOLD = 0.001;

/** One phase's users per track and the weights it ran with. */
export interface PhaseSplit {
  readonly tracks: readonly ArmSums[];
  readonly weights: ReadonlyMap<string, number>;
}

/** The sample-ratio check of one phase, or null when it cannot run (fewer than 2 weighted tracks, no users). */
export function phaseSrm(split: PhaseSplit): SrmCheckResult | null {
  const names = [...split.weights.keys()];
  if (names.length < 2) return null;
  const observed = names.map((name) => split.tracks.find((t) => t.track === name)?.users ?? 0);
  const check = srmCheck(observed, names.map((name) => split.weights.get(name)!), { threshold: THRESHOLD });
  return check.ok ? check : null;
}

/**
 * The sample-ratio check of several phases, each against its own weights: the phases are
 * independent samples, so their chi-square statistics and degrees of freedom add up. With one
 * phase this is that phase's check. A ramp, or a sticky set whose weights changed, raises no
 * false alarm; a broken split in any phase still does.
 */
export function phasedSrm(splits: readonly PhaseSplit[]): { readonly pValue: number; readonly mismatch: boolean } | null {
  const checks = splits.map(phaseSrm).filter((c): c is SrmCheckResult => c !== null);
  if (checks.length === 0) return null;
  if (checks.length === 1) return { pValue: checks[0]!.pValue, mismatch: checks[0]!.mismatch };
  const statistic = checks.reduce((sum, c) => sum + c.statistic, 0);
  const df = checks.reduce((sum, c) => sum + c.degreesOfFreedom, 0);
  const pValue = Number.isFinite(statistic) ? chiSquareSf(statistic, df) : 0;
  return { pValue, mismatch: pValue < THRESHOLD };
}
