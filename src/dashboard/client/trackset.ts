import type { MetricResult, Report, TrackResult, TrackSetResult } from '../../report/report-model.js';
import { isSerious, statusBadge, warningBadges } from './badges.js';
import type { ChartPanel } from './charts.js';
import { errorChart, latencyChart, liftChart, rateChart } from './charts.js';
import { confirmDialog } from './dialog.js';
import { count, el, ms, number, numberCell, percent, pValue, signedPercent, table, when } from './dom.js';

/** What the view's buttons do. */
export interface ControlActions {
  stop(serve: string): Promise<void>;
  resume(): Promise<void>;
}

/** A rendered view: its element and the charts to draw once it is in the document. */
export interface View {
  readonly element: HTMLElement;
  readonly charts: readonly ChartPanel[];
}

/** One track set: status, warnings, Stop/Resume, and per metric the report's table and charts. */
export function trackSetView(report: Report, set: TrackSetResult, actions: ControlActions): View {
  const charts: ChartPanel[] = [];
  const metrics = set.tracks[0]?.metrics.map((m) => m.metric) ?? [];
  const sections: HTMLElement[] = metrics.map((metric) => {
    const kind = set.tracks[0]?.metrics.find((m) => m.metric === metric)?.kind ?? 'proportion';
    const panels = [rateChart(set, metric, report.alpha), liftChart(set, metric)].filter((p): p is ChartPanel => p !== null);
    charts.push(...panels);
    return el('section', { data: { metric } }, [
      el('h2', { text: `${metric} (${kind === 'proportion' ? 'conversion rate' : 'mean per user'})` }),
      metricTable(set, metric),
      el('div', { class: 'charts' }, panels.map((p) => p.element)),
    ]);
  });
  const health = [latencyChart(set, report), errorChart(set)].filter((p): p is ChartPanel => p !== null);
  charts.push(...health);

  const element = el('section', { data: { view: 'trackset', trackset: set.id } }, [
    el('a', { text: '← All track sets', attrs: { href: '#/' } }),
    el('h1', {}, [el('span', { text: set.id, data: { field: 'id' } }), statusBadge(set), ...warningBadges(set.warnings)]),
    meta(set),
    set.warnings.length === 0
      ? null
      : el(
          'ul',
          { class: 'warnings' },
          set.warnings.map((w) => el('li', { text: w.message, class: isSerious(w) ? 'bad' : '', data: { warning: w.kind } })),
        ),
    controls(set, actions),
    ...(metrics.length === 0 ? [el('p', { class: 'empty', text: 'No conversions recorded yet: call convert() to record outcomes.' })] : sections),
    el('section', { data: { section: 'health' } }, [
      el('h2', { text: 'Code path health' }),
      healthTable(set),
      el('div', { class: 'charts' }, health.map((p) => p.element)),
    ]),
    set.guardrails.length === 0
      ? null
      : el('section', {}, [
          el('h2', { text: 'Guardrail trips' }),
          table(
            ['Track', 'Cause', 'At'],
            set.guardrails.map((g) => el('tr', {}, [el('td', { text: g.track }), el('td', { text: g.cause }), el('td', { text: when(g.at) })])),
          ),
        ]),
  ]);
  return { element, charts };
}

function meta(set: TrackSetResult): HTMLElement {
  const items = [
    `${count(set.users)} users`,
    set.baseline === null ? 'no baseline' : `baseline ${set.baseline}`,
    set.srm === null ? null : `sample ratio p = ${pValue(set.srm.pValue)}`,
    set.firstExposureAt === null ? null : `${when(set.firstExposureAt)} – ${when(set.lastExposureAt)}`,
  ];
  return el(
    'p',
    { class: 'meta' },
    items.filter((t): t is string => t !== null).map((text) => el('span', { text })),
  );
}

function controls(set: TrackSetResult, actions: ControlActions): HTMLElement {
  const message = el('span', { class: 'muted', data: { field: 'control-message' } });
  const names = set.tracks.map((t) => t.name);
  const serveOptions = names.includes('control') ? names : ['control', ...names];
  const stop = el('button', { text: 'Stop test…', class: 'danger', attrs: { type: 'button' }, data: { action: 'stop' } });
  const resume = el('button', { text: 'Resume test…', attrs: { type: 'button' }, data: { action: 'resume' } });
  stop.disabled = set.status === 'stopped';
  resume.disabled = set.status !== 'stopped';
  const run = async (work: () => Promise<void>) => {
    stop.disabled = resume.disabled = true;
    message.textContent = 'Saving…';
    try {
      await work();
    } catch (error) {
      message.textContent = error instanceof Error ? error.message : String(error);
      message.className = 'error';
      stop.disabled = set.status === 'stopped';
      resume.disabled = set.status !== 'stopped';
    }
  };
  stop.addEventListener('click', async () => {
    const serve = await confirmDialog({
      title: `Stop ${set.id}?`,
      message: 'Every process recording to this store serves one track to everyone and records no exposures, within its control interval (default 10 s).',
      confirmLabel: 'Stop test',
      danger: true,
      choice: { label: 'Serve to everyone:', options: serveOptions, selected: set.baseline ?? serveOptions[0]! },
    });
    if (serve !== null) await run(() => actions.stop(serve));
  });
  resume.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Resume ${set.id}?`,
      message: 'Every process goes back to assigning tracks within its control interval; keys get the tracks they had before the stop.',
      confirmLabel: 'Resume test',
    });
    if (ok !== null) await run(() => actions.resume());
  });
  return el('div', { class: 'controls' }, [stop, resume, message]);
}

function metricTable(set: TrackSetResult, metric: string): HTMLTableElement {
  const rows = set.tracks.map((track) => metricRow(track, track.metrics.find((m) => m.metric === metric)!));
  const kind = set.tracks[0]?.metrics.find((m) => m.metric === metric)?.kind;
  return table(
    ['Track', 'Users', 'Expected share', 'Converted', kind === 'mean' ? 'Mean / user' : 'Rate', 'Lift (interval)', 'p', 'p adj', 'P(beat baseline)', 'Risk'],
    rows,
    { metric },
  );
}

function metricRow(track: TrackResult, m: MetricResult): HTMLTableRowElement {
  const c = m.comparison;
  const value = m.kind === 'mean' ? numberCell('mean', m.mean, number(m.mean)) : numberCell('rate', m.rate, percent(m.rate));
  const liftText = track.isBaseline
    ? 'baseline'
    : c === null
      ? m.cannotCompute === null ? '' : `n/a: ${m.cannotCompute}`
      : c.relative !== null
        ? `${signedPercent(c.relative.estimate)} [${signedPercent(c.relative.interval[0])}, ${signedPercent(c.relative.interval[1])}]`
        : `${number(c.absolute.estimate)} [${number(c.absolute.interval[0])}, ${number(c.absolute.interval[1])}]`;
  const lift = el('td', { text: liftText, class: c?.significant ? 'num num-sig' : 'num', data: { field: 'lift', value: c?.relative ? String(c.relative.estimate) : '' } });
  if (c?.relative) {
    lift.dataset.low = String(c.relative.interval[0]);
    lift.dataset.high = String(c.relative.interval[1]);
  }
  if (c?.significant) lift.title = 'significant after adjustment';
  return el('tr', { class: track.isBaseline ? 'baseline' : '', data: { track: track.name } }, [
    el('td', { text: track.name, data: { field: 'track' } }),
    numberCell('users', track.users, count(track.users)),
    numberCell('expectedShare', track.expectedShare, percent(track.expectedShare, 1)),
    numberCell('conversions', m.conversions, count(m.conversions)),
    value,
    lift,
    numberCell('pValue', c?.pValue ?? null, pValue(c?.pValue ?? null)),
    numberCell('adjustedPValue', c?.adjustedPValue ?? null, pValue(c?.adjustedPValue ?? null)),
    numberCell('chanceToBeatControl', c?.chanceToBeatControl ?? null, percent(c?.chanceToBeatControl ?? null, 0)),
    numberCell('risk', c?.risk ?? null, c?.risk === null || c?.risk === undefined ? '' : signedPercent(c.risk)),
  ]);
}

function healthTable(set: TrackSetResult): HTMLTableElement {
  const rows = set.tracks.map((t) => {
    const l = t.latency;
    return el('tr', { data: { track: t.name } }, [
      el('td', { text: t.name, data: { field: 'track' } }),
      numberCell('runs', l.runs, count(l.runs)),
      numberCell('errors', l.errors, count(l.errors)),
      numberCell('errorRate', l.errorRate, percent(l.errorRate)),
      numberCell('meanMs', l.meanMs, ms(l.meanMs)),
      numberCell('p50Ms', l.p50Ms, ms(l.p50Ms)),
      numberCell('p95Ms', l.p95Ms, ms(l.p95Ms)),
      numberCell('p99Ms', l.p99Ms, ms(l.p99Ms)),
    ]);
  });
  return table(['Track', 'Runs', 'Errors', 'Error rate', 'Mean', 'p50', 'p95', 'p99'], rows, { section: 'health' });
}
