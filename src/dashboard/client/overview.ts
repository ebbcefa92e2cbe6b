import type { Report, TrackSetResult } from '../../report/report-model.js';
import { holdoutBadge, shadowBadge, statusBadge, warningBadges } from './badges.js';
import { count, el, numberCell, percent, table, when } from './dom.js';

/**
 * The first view: every track set with its status (and a "shadow" badge while a shadow set
 * only runs its candidates beside the baseline), users and warnings; holdouts
 * (`configure({ holdout })`) apart, after the tests, with the share of users held out.
 */
export function overviewView(report: Report): HTMLElement {
  if (report.trackSets.length === 0) {
    return el('section', {}, [
      el('h1', { text: 'Track sets' }),
      el('p', { class: 'empty', text: `No track set has recorded exposures in ${report.store || 'this store'} yet.` }),
    ]);
  }
  const tests = report.trackSets.filter((set) => !set.holdout);
  const holdouts = report.trackSets.filter((set) => set.holdout);
  const rows = tests.map((set) =>
    el('tr', { data: { trackset: set.id } }, [
      el('td', {}, [link(set)]),
      el('td', {}, [statusBadge(set), shadowBadge(set)]),
      numberCell('users', set.users, count(set.users)),
      el('td', { text: set.tracks.map((t) => t.name).join(', '), data: { field: 'tracks' } }),
      el('td', { data: { field: 'warnings' } }, warningBadges(set.warnings)),
      el('td', { class: 'num', text: when(set.lastExposureAt), data: { field: 'last' } }),
    ]),
  );
  // Users are counted per set: one user in two sets counts twice, so the sum is labelled as
  // what it is, not as a number of people.
  const users = tests.reduce((n, s) => n + s.users, 0);
  return el('section', {}, [
    el('h1', { text: 'Track sets' }),
    el('p', { class: 'meta', text: `${tests.length} track set${tests.length === 1 ? '' : 's'}; ${count(users)} users summed over the sets (someone in two sets counts in each)` }),
    tests.length === 0 ? el('p', { class: 'empty', text: 'Only holdouts have recorded exposures yet.' }) : table(['Track set', 'Status', 'Users', 'Tracks', 'Warnings', 'Last exposure'], rows, { view: 'overview' }),
    holdouts.length === 0 ? null : holdoutTable(holdouts),
  ]);
}

/** Holdouts: users held out of every test (they get every baseline) against everyone else. */
function holdoutTable(holdouts: readonly TrackSetResult[]): HTMLElement {
  const rows = holdouts.map((set) => {
    const held = set.tracks.find((t) => t.isBaseline)?.users ?? 0;
    const share = set.users > 0 ? held / set.users : null;
    return el('tr', { data: { trackset: set.id, holdout: 'true' } }, [
      el('td', {}, [link(set), ' ', holdoutBadge()]),
      numberCell('users', set.users, count(set.users)),
      numberCell('heldOut', held, `${count(held)}${share === null ? '' : ` (${percent(share, 1)})`}`),
      el('td', { data: { field: 'warnings' } }, warningBadges(set.warnings)),
      el('td', { class: 'num', text: when(set.lastExposureAt), data: { field: 'last' } }),
    ]);
  });
  return el('section', { data: { section: 'holdouts' } }, [
    el('h2', { text: 'Holdouts' }),
    el('p', { class: 'muted', text: 'General users (every test) against held-out users (every baseline): the cumulative effect of everything the tests shipped.' }),
    table(['Holdout', 'Users', 'Held out', 'Warnings', 'Last exposure'], rows, { view: 'holdouts' }),
  ]);
}

function link(set: TrackSetResult): HTMLElement {
  return el('a', { text: set.id, attrs: { href: `#/set/${encodeURIComponent(set.id)}` } });
}
