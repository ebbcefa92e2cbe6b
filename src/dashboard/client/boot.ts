import type { Report } from '../../report/report-model.js';
import { fetchOverview, fetchReport } from './api.js';
import { loadChartLibrary } from './chart-library.js';

/**
 * The first request of the page, made as early as it can be: loaded as an async module before
 * anything else, it asks for the report of the view in the URL at once, so that the store's
 * summary (most of the load time on a big store) runs while the browser still fetches and
 * compiles the other modules (and Chart.js, for a track set's view, which draws charts). main.ts
 * takes the answer for its first render.
 */

/** A view of the page: every track set, or one (broken down by a dimension). */
export interface View {
  readonly trackSetId?: string;
  readonly by?: string;
}

/**
 * The view a URL hash names: `#/set/<id>` (the id URI-encoded, so a `?` in it is `%3F`), with
 * `?by=<dimension>` after it for a breakdown; anything else is the list of track sets.
 *
 * @example
 * ```ts
 * viewInHash('#/set/checkout%3Fdelay?by=country'); // { trackSetId: 'checkout?delay', by: 'country' }
 * ```
 */
export function viewInHash(hash: string): View {
  const match = /^#\/set\/([^?]+)(?:\?(.*))?$/.exec(hash);
  if (match === null) return {};
  try {
    const by = new URLSearchParams(match[2] ?? '').get('by');
    return { trackSetId: decodeURIComponent(match[1]!), ...(by === null || by === '' ? {} : { by }) };
  } catch {
    return {};
  }
}

const first = viewInHash(location.hash);
let early: Promise<Report> | undefined = reportOf(first);
// Handled where it is taken; this keeps a failure from being reported as unhandled before then.
early.catch(() => undefined);
if (first.trackSetId !== undefined) loadChartLibrary().catch(() => undefined);

/** The report a view shows: the list of sets (the overview's lighter report), or one set's. */
export function reportOf(view: View): Promise<Report> {
  return view.trackSetId === undefined ? fetchOverview() : fetchReport(view.trackSetId, view.by);
}

/**
 * The report requested while the page loaded, if it is of `view`; once (a later render of the
 * same view asks again, for fresh numbers).
 *
 * @example
 * ```ts
 * const report = await (takeEarlyReport(view) ?? reportOf(view));
 * ```
 */
export function takeEarlyReport(view: View): Promise<Report> | undefined {
  if (early === undefined || view.trackSetId !== first.trackSetId || view.by !== first.by) return undefined;
  const report = early;
  early = undefined;
  return report;
}
