import type { PhaseResult, TrackSetResult } from './report-model.js';
import { count } from './text-table.js';

/**
 * What a set's (or a holdout's) first line says was analysed: one phase alone (`--phase N`),
 * the phases combined, or nothing for a set of one phase.
 *
 * @example
 * ```ts
 * analysedPhasesText(set); // ', phase 2 of 3 alone', or ', 3 phases combined', or ''
 * ```
 */
export function analysedPhasesText(set: TrackSetResult): string {
  const phases = set.phases.length;
  if (set.analysedPhases.length === 1 && phases > 1) return `, phase ${set.analysedPhases[0]} of ${phases} alone`;
  return phases > 1 ? `, ${phases} phases combined` : '';
}

/**
 * The heading of one phase's own analysis (`--all-phases`), its start left out when `times` is
 * false (output that compares equal across runs).
 *
 * @example
 * ```ts
 * phaseAloneHeading(phase, true); // '  phase 2 alone (2026-06-01 10:00, 1,200 users)'
 * ```
 */
export function phaseAloneHeading(phase: PhaseResult, times: boolean): string {
  const from = times ? `${phase.startedAt?.slice(0, 16).replace('T', ' ') ?? 'start unknown'}, ` : '';
  return `  phase ${phase.index} alone (${from}${count(phase.users)} users)`;
}
