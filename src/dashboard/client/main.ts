import type { Report } from '../../report/report-model.js';
import { fetchDimensions, sendControl, sendRamp } from './api.js';
import { reportOf, takeEarlyReport, viewInHash } from './boot.js';
import { loadChartLibrary } from './chart-library.js';
import { el, visible, when } from './dom.js';
import { overviewView } from './overview.js';
import { trackSetView } from './trackset.js';

/**
 * The page's entry point: picks the view from the URL hash (`#/` for the list of track sets,
 * `#/set/<id>` for one, `#/set/<id>?by=<dimension>` for one broken down by a dimension),
 * fetches its report and renders it. When the view's data is on the
 * page and its charts are drawn, `<html data-ready="...">` says so (tests and the benchmark
 * wait for it).
 */

const app = document.getElementById('app')!;
let generation = 0;

async function render(): Promise<void> {
  const mine = ++generation;
  delete document.documentElement.dataset.ready;
  const wanted = viewInHash(location.hash);
  const { trackSetId, by } = wanted;
  try {
    const report = await (takeEarlyReport(wanted) ?? reportOf(wanted));
    // Asked after the report, which makes the set known to the server: asked together, each
    // would summarize the whole set to tell whether it exists (routes' KnownSets).
    const dimensions = trackSetId === undefined ? [] : await fetchDimensions(trackSetId);
    if (mine !== generation) return;
    showHeader(report);
    if (trackSetId === undefined) {
      app.replaceChildren(overviewView(report));
      document.title = 'tracks dashboard';
      document.documentElement.dataset.ready = 'overview';
      return;
    }
    const set = report.trackSets.find((s) => s.id === trackSetId);
    if (set === undefined) throw new Error(`unknown track set '${trackSetId}'`);
    const view = trackSetView(report, set, { dimensions, by }, {
      stop: async (serve) => {
        await sendControl('stop', set.id, serve);
        await render();
        afterChange('stop');
      },
      resume: async () => {
        await sendControl('resume', set.id);
        await render();
        afterChange('resume');
      },
      ramp: async (change) => {
        await sendRamp(set.id, change);
        await render();
        afterChange('ramp');
      },
      promote: async () => {
        await sendControl('promote', set.id);
        await render();
        afterChange('promote');
      },
      // A new address (so the breakdown can be linked and survives a reload); hashchange renders it.
      breakDown: (dimension) => {
        location.hash = trackSetHash(set.id, dimension);
      },
    });
    await loadChartLibrary();
    if (mine !== generation) return;
    app.replaceChildren(view.element);
    for (const chart of view.charts) chart.draw();
    document.title = `${set.id} · tracks dashboard`;
    document.documentElement.dataset.ready = 'trackset';
  } catch (error) {
    if (mine !== generation) return;
    app.replaceChildren(
      el('p', { class: 'error', text: error instanceof Error ? error.message : String(error) }),
      el('a', { text: '← All track sets', attrs: { href: '#/' } }),
    );
    document.documentElement.dataset.ready = 'error';
  }
}

/**
 * After a change, once the view is drawn again (its controls replaced): focus goes back to the
 * control used, or the first one still enabled (Resume, after a stop), so a keyboard user keeps
 * their place, and the status line says it was saved.
 */
function afterChange(action: string): void {
  const buttons = [...app.querySelectorAll<HTMLButtonElement>('.controls button')];
  (buttons.find((b) => b.dataset.action === action && !b.disabled) ?? buttons.find((b) => !b.disabled))?.focus();
  const status = app.querySelector('[data-field="control-message"]');
  if (status !== null) status.textContent = 'Saved.';
}

/** The hash of a set's view, broken down by `by` when given. */
function trackSetHash(id: string, by: string | undefined): string {
  return `#/set/${encodeURIComponent(id)}${by === undefined ? '' : `?by=${encodeURIComponent(by)}`}`;
}

function showHeader(report: Report): void {
  document.getElementById('store')!.textContent = visible(report.store);
  document.getElementById('generated')!.textContent = `report of ${when(report.generatedAt)}`;
}

window.addEventListener('hashchange', () => void render());
void render();
