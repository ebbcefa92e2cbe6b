import { chiSquareSf } from '../stats/distributions.js';
import { srmCheck } from '../stats/srm-check.js';
import type { SrmCheckResult } from '../stats/srm-check.js';
import type { PhaseSums, TrackSetSums } from '../model/sums.js';
import { isShadowTrip } from '../model/shadow.js';
import type { ArmSums } from './metric-spec.js';

/** Below this p-value a split is a mismatch (the usual convention: one false alarm in a thousand checks). */
const THRESHOLD = 0.001;

/** One phase's users per track and the weights it ran with. */
interface PhaseSplit {
  readonly tracks: readonly ArmSums[];
  readonly weights: ReadonlyMap<string, number>;
  /**
   * Tracks a guardrail switched off by the end of the phase ({@link trippedBy}): left out of
   * the check, the others checked against their own weights renormalized.
   */
  readonly tripped?: ReadonlySet<string> | undefined;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The tracks of the live test a guardrail switched off during a phase (`startedAt` to
 * `endedAt`, epoch ms; null: open). A tripped track's new keys are served the baseline and
 * record no exposure in the process that tripped it, so from the trip on it gains fewer users
 * while the others keep their weights' ratios: its users no longer follow the phase's weights,
 * the other tracks' still do. Trips are per process and last until it restarts, so a later
 * phase is checked whole (its warning names the earlier trips: {@link trippedBefore}), never
 * left without a check.
 */
export function trippedBy(guardrails: TrackSetSums['guardrails'], phase: Pick<PhaseSums, 'startedAt' | 'endedAt' | 'stretches'>): ReadonlySet<string> {
  // A phase that came back is in force in its stretches only, not in the phases between them.
  const stretches = phase.stretches ?? [{ from: phase.startedAt, to: phase.endedAt }];
  const during = (at: number) => stretches.some(({ from, to }) => (from === null || at >= from) && (to === null || at < to));
  const tripped = guardrails.filter((g) => !isShadowTrip(g.cause) && during(g.at));
  return tripped.length === 0 ? NONE : new Set(tripped.map((g) => g.track));
}

/** The tracks of the live test a guardrail switched off before `at` (epoch ms). */
export function trippedBefore(guardrails: TrackSetSums['guardrails'], at: number | null): string[] {
  if (at === null) return [];
  return [...new Set(guardrails.filter((g) => !isShadowTrip(g.cause) && g.at < at).map((g) => g.track))];
}

/** The tracks of the phase's weights that its check leaves out (a guardrail tripped them), in weight order. */
export function leftOut(split: PhaseSplit): string[] {
  return [...split.weights.keys()].filter((name) => split.tripped?.has(name) === true);
}

/**
 * The sample-ratio check of one phase, or null when it cannot run (fewer than 2 weighted
 * tracks, no users). Tracks a guardrail tripped are left out: the rest are checked against
 * their own weights, renormalized (null when fewer than 2 remain).
 */
export function phaseSrm(split: PhaseSplit): SrmCheckResult | null {
  const names = [...split.weights.keys()].filter((name) => split.tripped?.has(name) !== true);
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
