import type { Report } from '../../report/report-model.js';
import { statusBadge, warningBadges } from './badges.js';
import { count, el, numberCell, table, when } from './dom.js';

/** The first view: every track set with its status, users and warnings. */
export function overviewView(report: Report): HTMLElement {
  if (report.trackSets.length === 0) {
    return el('section', {}, [
      el('h1', { text: 'Track sets' }),
      el('p', { class: 'empty', text: `No track set has recorded exposures in ${report.store || 'this store'} yet.` }),
    ]);
  }
  const rows = report.trackSets.map((set) =>
    el('tr', { data: { trackset: set.id } }, [
      el('td', {}, [el('a', { text: set.id, attrs: { href: `#/set/${encodeURIComponent(set.id)}` } })]),
      el('td', {}, [statusBadge(set)]),
      numberCell('users', set.users, count(set.users)),
      el('td', { text: set.tracks.map((t) => t.name).join(', '), data: { field: 'tracks' } }),
      el('td', { data: { field: 'warnings' } }, warningBadges(set.warnings)),
      el('td', { class: 'num', text: when(set.lastExposureAt), data: { field: 'last' } }),
    ]),
  );
  // Users are counted per set: one user in two sets counts twice, so the sum is labelled as
  // what it is, not as a number of people.
  const users = report.trackSets.reduce((n, s) => n + s.users, 0);
  return el('section', {}, [
    el('h1', { text: 'Track sets' }),
    el('p', { class: 'meta', text: `${report.trackSets.length} track sets; ${count(users)} users summed over the sets (someone in two sets counts in each)` }),
    table(['Track set', 'Status', 'Users', 'Tracks', 'Warnings', 'Last exposure'], rows, { view: 'overview' }),
  ]);
}
