import type { ReportWarning, TrackSetResult, WarningKind } from '../../report/report-model.js';
import { el } from './dom.js';

/** Status and warning badges, shared by the overview and the track set view. */

const WARNING_LABELS: Readonly<Record<WarningKind, string>> = {
  'sample-ratio-mismatch': 'sample-ratio mismatch',
  'too-few-users': 'too few users',
  guardrail: 'guardrail',
  'guardrail-metric': 'guardrail metric',
  'no-baseline': 'no baseline',
  peeking: 'peeking',
  latency: 'slower p95',
  shadow: 'shadow differs',
  'holdout-intake': 'cut by holdout',
  'unknown-serve': 'serves its baseline',
  'no-health': 'no health in phase',
};

/** Warnings that mean the numbers cannot be trusted yet. */
const SERIOUS: ReadonlySet<WarningKind> = new Set(['sample-ratio-mismatch', 'guardrail', 'guardrail-metric']);

/** Warnings worth a badge in the list (peeking applies to every running fixed-horizon test). */
const BADGED: ReadonlySet<WarningKind> = new Set(['sample-ratio-mismatch', 'too-few-users', 'guardrail', 'guardrail-metric', 'no-baseline', 'latency', 'shadow', 'holdout-intake', 'unknown-serve']);

/** The set's status: running, stopped (serving a track) or guardrail tripped. */
export function statusBadge(set: TrackSetResult): HTMLElement {
  const text =
    set.status === 'stopped' ? `stopped · serving ${set.serving ?? 'control'}` : set.status === 'guardrail' ? 'guardrail tripped' : 'running';
  return el('span', { class: `badge status-${set.status}`, text, data: { status: set.status } });
}

/** Marks a holdout's pseudo set (`configure({ holdout })`): not a test, shown apart. */
export function holdoutBadge(): HTMLElement {
  return el('span', { class: 'badge holdout-badge', text: 'holdout', data: { badge: 'holdout' }, attrs: { title: 'users held out of every test, against everyone else' } });
}

/**
 * Marks a set in shadow mode (`static shadow`): every user gets the baseline while candidates
 * run beside it; nothing for any other set, a promoted one included.
 */
export function shadowBadge(set: TrackSetResult): HTMLElement | null {
  if (set.shadow?.mode !== 'shadow') return null;
  return el('span', {
    class: 'badge shadow-badge',
    text: 'shadow',
    data: { badge: 'shadow' },
    attrs: { title: `shadow mode: every user is served ${set.shadow.baseline}; candidates run beside it and are compared, unseen` },
  });
}

/** One badge per kind of warning that matters at a glance. */
export function warningBadges(warnings: readonly ReportWarning[]): HTMLElement[] {
  const kinds = [...new Set(warnings.map((w) => w.kind))].filter((k) => BADGED.has(k));
  return kinds.map((kind) =>
    el('span', {
      class: `badge warn-badge${SERIOUS.has(kind) ? ' bad' : ''}`,
      text: WARNING_LABELS[kind],
      data: { warning: kind },
      attrs: { title: warnings.filter((w) => w.kind === kind).map((w) => w.message).join('\n') },
    }),
  );
}

/** Whether a warning is one of the serious kinds. */
export function isSerious(warning: ReportWarning): boolean {
  return SERIOUS.has(warning.kind);
}
