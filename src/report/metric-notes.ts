import { escapeControl as text } from '../text.js';
import { formatP } from './build-report.js';
import type { MetricResult, TrackResult, TrackSetResult } from './report-model.js';
import { WIDTH, clip, liftText, number, signedPercent, wrap } from './text-table.js';

// The lines under a metric's table in the text report, for sets and holdouts alike: the cap
// used, and what CUPED removed with the unadjusted result beside it.

/**
 * Under a capped metric's table: the cap declared and what it came to. `label` names the
 * metric where one table holds several (a holdout's); `phaseUsers`, the users of each analysed
 * phase, tells a phase without users from one whose percentile is 0.
 */
export function capNote(m: MetricResult, label?: string, phaseUsers?: readonly number[]): string[] {
  const cap = m.cap;
  if (cap === null) return [];
  const unit = m.type === 'count' ? 'conversions' : m.type === 'mean' ? 'average value' : 'total';
  const capped = `${label === undefined ? '' : `${label}: `}capped`;
  if (cap.value !== undefined) return [`  ${capped}: each user's ${unit} at most ${number(cap.value)}`];
  const values = cap.applied.map((v, i) => (v !== null ? number(v) : phaseUsers?.[i] === 0 ? 'no users' : 'none (it is 0 or less)'));
  const list = values.length === 1 ? values[0]! : values.map((v, i) => `phase ${i + 1}: ${v}`).join(', ');
  return wrap(`${capped}: each user's ${unit} at the ${percentileName(cap.percentile!)} percentile of the set's users: ${list}`, WIDTH - 2).map((l, i) => `${i === 0 ? '  ' : '    '}${l}`);
}

/** The users of each phase a set's comparisons combine, in the order of `analysedPhases` (for {@link capNote}). */
export function analysedPhaseUsers(set: TrackSetResult): number[] {
  return set.analysedPhases.map((index) => set.phases.find((p) => p.index === index)?.users ?? 0);
}

function percentileName(q: number): string {
  const p = Number((q * 100).toPrecision(6));
  const last = Math.floor(p) % 10;
  const teen = Math.floor(p) % 100 >= 11 && Math.floor(p) % 100 <= 13;
  return `${p}${!Number.isInteger(p) || teen ? 'th' : last === 1 ? 'st' : last === 2 ? 'nd' : last === 3 ? 'rd' : 'th'}`;
}

/** Under a metric's table: what CUPED removed on each track, and the unadjusted lift beside it. */
export function cupedNotes(tracks: readonly TrackResult[], metric: string, label?: string): string[] {
  const notes: string[] = [];
  for (const t of tracks) {
    const c = t.metrics.find((x) => x.metric === metric)?.comparison;
    if (typeof c?.cupedNotApplied === 'string') notes.push(...wrap(`CUPED not applied on ${clip(text(t.name), 28)}${label === undefined ? '' : ` (${label})`}: ${text(c.cupedNotApplied)}`, WIDTH - 4).map((l, i) => `${i === 0 ? '  ' : '    '}${l}`));
    if (!c?.cuped) continue;
    const u = c.cuped.unadjusted;
    notes.push(
      `  CUPED on ${clip(text(t.name), 28)}${label === undefined ? '' : ` (${label})`}: variance ${signedPercent(-c.cuped.varianceReduction)}; unadjusted ${liftText(u.relative, u.absolute)}, p ${formatP(u.pValue)}`,
    );
  }
  return notes;
}
