import { GENERAL_TRACK, HOLDOUT_TRACK } from '../core/holdout.js';
import { escapeControl as text } from '../text.js';
import { formatP, pText } from './build-report.js';
import type { MetricResult, TrackResult, TrackSetResult } from './report-model.js';
import { TYPE_LABELS, WIDTH, chancePercent, clip, count, liftText, number, percent, table, wrap } from './text-table.js';
import { analysedPhaseUsers, capNote, cupedNotes } from './metric-notes.js';
import { analysedPhasesText, phaseAloneHeading } from './phase-text.js';

/**
 * The holdout section of the text report. `configure({ holdout: { id, share } })` records each
 * keyed unit that reaches a set as an exposure of a pseudo set whose id is the holdout's (track
 * `holdout` or `general`, baseline `holdout`, its definition marked `holdout`); the report
 * analyses it as any set (phases, SRM, every metric, `general` against `holdout`), and this
 * shows it apart: the cumulative effect of everything the tests shipped.
 *
 * Per holdout: its users (held out and general, the share held out), phases and sample-ratio
 * check, its warnings, then one line per metric comparing general users with held-out users.
 * Empty when there is no holdout.
 *
 * @example
 * ```ts
 * console.log(renderHoldoutSection(report.trackSets.filter((s) => s.holdout)));
 * ```
 */
export function renderHoldoutSection(holdouts: readonly TrackSetResult[], options: { readonly times?: boolean } = {}): string {
  if (holdouts.length === 0) return '';
  const blocks = holdouts.map((set) => renderHoldout(set, options.times ?? true));
  return ['Holdouts: general users (every test) against held-out users (every baseline), per metric', ...blocks].join('\n\n');
}

function renderHoldout(set: TrackSetResult, times: boolean): string {
  const held = set.tracks.find((t) => t.name === HOLDOUT_TRACK);
  const general = set.tracks.find((t) => t.name === GENERAL_TRACK);
  const heldUsers = held?.users ?? 0;
  const share = set.users > 0 ? ` (${percent(heldUsers / set.users)})` : '';
  // As a set's first line says it: one phase alone (--phase N), or the phases combined.
  const phases = analysedPhasesText(set);
  const srm = set.srm ? `, sample ratio ${pText(set.srm.pValue)}` : '';
  const lines = [`${text(set.id)}  ${count(set.users)} users: ${count(heldUsers)} held out${share}, ${count(general?.users ?? 0)} general${phases}${srm}`];
  for (const warning of set.warnings) lines.push(...wrap(text(warning.message), WIDTH - 4).map((l, i) => `${i === 0 ? '  ! ' : '    '}${l}`));
  lines.push(...holdoutTables(set, set.tracks));
  // --all-phases: each phase alone too, as under a set.
  for (const phase of set.phases) {
    if (phase.results === undefined || phase.users === 0) continue;
    lines.push('', phaseAloneHeading(phase, times));
    lines.push(...holdoutTables(set, phase.results));
  }
  return lines.join('\n');
}

/** The general users against the held-out ones, metric by metric, with each metric's notes. */
function holdoutTables(set: TrackSetResult, tracks: readonly TrackResult[]): string[] {
  const lines: string[] = [];
  const held = tracks.find((t) => t.name === HOLDOUT_TRACK);
  const general = tracks.find((t) => t.name === GENERAL_TRACK);
  if (held === undefined || general === undefined) return lines;
  const row = (m: MetricResult): string[] => {
    const baseline = held.metrics.find((x) => x.metric === m.metric);
    const c = m.comparison;
    const lift = c === null ? (m.cannotCompute ? `n/a: ${text(m.cannotCompute)}` : '') : `${liftText(c.relative, c.absolute)}${c.verdict === 'inconclusive' ? '' : ` * ${c.verdict}`}`;
    return [
      `${TYPE_LABELS[m.type](text(m.metric))}${m.higherIsBetter === false ? ' (lower is better)' : ''}`,
      baseline === undefined ? '' : value(baseline),
      value(m),
      lift,
      c === null ? '' : formatP(c.pValue),
      c === null ? '' : formatP(c.adjustedPValue),
      c === null || c.chanceToBeatControl === null ? '' : chancePercent(c.chanceToBeatControl),
    ];
  };
  // Goal metrics first, then the guardrails apart, as under a set.
  const header = ['metric', 'holdout', 'general', 'lift of general (CI)', 'p', 'p adj', 'P(better)'];
  const goals = general.metrics.filter((m) => !m.guardrail);
  const guardrails = general.metrics.filter((m) => m.guardrail);
  if (general.metrics.length === 0) lines.push('  no conversions recorded yet');
  if (goals.length > 0) lines.push(table(header, goals.map(row)));
  if (guardrails.length > 0) lines.push('  Guardrail metrics (must not get worse):', table(header, guardrails.map(row)));
  // As under a set's tables: the cap each metric used, and what CUPED removed with the unadjusted result.
  for (const m of general.metrics) {
    const label = clip(text(m.metric), 32);
    lines.push(...capNote(m, label, analysedPhaseUsers(set)), ...cupedNotes([general], m.metric, label));
  }
  return lines;
}

function value(m: MetricResult): string {
  return m.type === 'conversion' ? percent(m.value) : number(m.value);
}
