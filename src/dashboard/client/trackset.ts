import type { Comparison, Heterogeneity, LatencyQuantile, MetricResult, MetricType, PhaseResult, Report, SegmentResult, SegmentsResult, TrackResult, TrackSetResult } from '../../report/report-model.js';
import { holdoutBadge, isSerious, shadowBadge, statusBadge, warningBadges } from './badges.js';
import type { ChartPanel } from './charts.js';
import { TYPE_LABELS, errorChart, latencyChart, liftChart, rateChart } from './charts.js';
import { confirmDialog, rampDialog } from './dialog.js';
import { chancePercent, count, coveragePercent, el, holdControls, latency, ms, number, numberCell, numbersAlike, percent, pText, pValue, resolutionOf, signedMs, signedPercent, table, upper, when } from './dom.js';
import { shadowSection } from './shadow.js';

/** What the view's buttons and choices do. */
export interface ControlActions {
  stop(serve: string): Promise<void>;
  resume(): Promise<void>;
  ramp(change: { coverage?: number; weights?: Record<string, number> }): Promise<void>;
  /** Promotes a shadow set to a live A/B test. */
  promote(): Promise<void>;
  /** Shows the set broken down by a dimension, or by none. */
  breakDown(dimension: string | undefined): void;
}

/** The set's dimensions (what it can be broken down by), and the one the report was broken down by. */
export interface Breakdown {
  readonly dimensions: readonly string[];
  readonly by: string | undefined;
}

/** A rendered view: its element and the charts to draw once it is in the document. */
export interface View {
  readonly element: HTMLElement;
  readonly charts: readonly ChartPanel[];
}

/**
 * One track set: status, warnings, Stop/Resume/Ramp, its phases on a timeline, its segments
 * (when it records dimensions), and per metric the report's table and charts (goal metrics,
 * then guardrail metrics apart). A shadow set's findings come first while it is in shadow mode
 * (they are all there is to see: every user gets the baseline), after the live test's once
 * it was promoted. The phase selector shows the comparisons of every phase
 * combined (the default) or of one phase alone. A holdout's pseudo set is labelled as such,
 * without the controls (a holdout is changed in `configure`, not stopped or ramped).
 */
export function trackSetView(report: Report, set: TrackSetResult, breakdown: Breakdown, actions: ControlActions): View {
  const charts: ChartPanel[] = [];
  const all = set.tracks[0]?.metrics ?? [];
  const section = (m: MetricResult): HTMLElement => {
    const panels = [rateChart(set, m.metric, report.alpha), liftChart(set, m.metric)].filter((p): p is ChartPanel => p !== null);
    charts.push(...panels);
    return el('section', { data: { metric: m.metric, type: m.type } }, [
      el('h2', { text: `${m.metric} (${metricLabel(m)})` }),
      el('div', { data: { field: 'metric-table' } }, [metricTable(set.tracks, m.metric)]),
      el('div', { class: 'metric-notes', data: { field: 'metric-notes' } }, metricNotes(set.tracks, m.metric, analysedOf(set))),
      el('div', { class: 'charts' }, panels.map((p) => p.element)),
    ]);
  };
  const goals = all.filter((m) => !m.guardrail).map(section);
  const guardrails = all.filter((m) => m.guardrail);
  const sections: HTMLElement[] = [
    // A track's value pools the phases; its lift compares users within their phase.
    ...(set.analysedPhases.length > 1
      ? [el('p', { class: 'muted', data: { field: 'pooled-note' }, text: 'Values pool the phases; lift, p-values and chance to beat compare users within their phase, then combine them.' })]
      : []),
    ...goals,
    ...(guardrails.length === 0
      ? []
      : [el('section', { class: 'guardrail-metrics', data: { section: 'guardrail-metrics' } }, [el('h2', { text: 'Guardrail metrics (must not get worse)' }), ...guardrails.map(section)])]),
  ];
  const metrics = all.map((m) => m.metric);
  // A holdout runs no code path of its own: no health to show.
  const health = set.holdout ? [] : [latencyChart(set, report), errorChart(set)].filter((p): p is ChartPanel => p !== null);
  charts.push(...health);

  const shadow = shadowSection(report, set, { promote: () => actions.promote() });
  const inShadow = set.shadow?.mode === 'shadow';
  const element = el('section', { data: { view: 'trackset', trackset: set.id } }, [
    el('a', { text: '← All track sets', attrs: { href: '#/' } }),
    el('h1', {}, [el('span', { text: set.id, data: { field: 'id' } }), set.holdout ? holdoutBadge() : null, statusBadge(set), shadowBadge(set), ...warningBadges(set.warnings)]),
    set.holdout ? holdoutMeta(set) : meta(set),
    set.warnings.length === 0
      ? null
      : el(
          'ul',
          { class: 'warnings' },
          set.warnings.map((w) => el('li', { text: w.message, class: isSerious(w) ? 'bad' : '', data: { warning: w.kind } })),
        ),
    set.holdout
      ? el('p', { class: 'holdout-note', data: { field: 'holdout-note' }, text: 'Holdout: general users (every test) against held-out users (every baseline).' })
      : controls(set, actions),
    inShadow ? shadow : null,
    phasesSection(set, (tracks) => {
      const phase = set.phases.find((p) => p.results === tracks);
      for (const holder of element.querySelectorAll<HTMLElement>('section[data-metric]')) {
        holder.querySelector('[data-field="metric-table"]')!.replaceChildren(metricTable(tracks, holder.dataset.metric!));
        holder.querySelector('[data-field="metric-notes"]')!.replaceChildren(...metricNotes(tracks, holder.dataset.metric!, phase === undefined ? analysedOf(set) : [phase]));
      }
      // Health as well: a phase alone has the runs, errors and latency of its own minutes (the
      // charts below keep the whole test's timeline).
      element.querySelector('table[data-section="health"]')?.replaceWith(healthTable(set, tracks, report.latencyBucketBoundsMs, report.alpha));
    }),
    set.inferredMetrics.length === 0
      ? null
      : el('p', { class: 'muted', data: { field: 'inferred' }, text: `${set.inferredMetrics.join(', ')}: type inferred from the data; declare metrics in configure({ metrics }) to analyse them as you mean them.` }),
    segmentsSection(set, breakdown, actions),
    ...(metrics.length === 0 ? [el('p', { class: 'empty', text: 'No conversions recorded yet: call convert() to record outcomes.' })] : sections),
    set.holdout
      ? null
      : el('section', { data: { section: 'health' } }, [
          el('h2', { text: 'Code path health' }),
          healthTable(set, set.tracks, report.latencyBucketBoundsMs, report.alpha),
          el('div', { class: 'charts' }, health.map((p) => p.element)),
        ]),
    inShadow ? null : shadow,
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
    srmText(set),
    set.firstExposureAt === null ? null : `${when(set.firstExposureAt)} – ${when(set.lastExposureAt)}`,
  ];
  return el(
    'p',
    { class: 'meta' },
    items.filter((t): t is string => t !== null).map((text) => el('span', { text })),
  );
}

/** The sample ratio, naming the tracks left out because a guardrail switched them off (as the text report does). */
function srmText(set: TrackSetResult): string | null {
  const excluded = set.srmExcluded.join(', ');
  const where = set.phases.length > 1 ? `, phase ${set.phases.filter((p) => p.srmExcluded.length > 0).map((p) => p.index).join(', ')}` : '';
  if (set.srm !== null) return `sample ratio ${pText(set.srm.pValue)}` + (excluded === '' ? '' : ` without ${excluded} (guardrail${where})`);
  return excluded === '' || set.users === 0 ? null : `no sample-ratio check: fewer than 2 tracks left without ${excluded} (guardrail${where})`;
}

/** A holdout's users: held out (the baseline, `holdout`) and general, with the share held out. */
function holdoutMeta(set: TrackSetResult): HTMLElement {
  const held = set.tracks.find((t) => t.isBaseline);
  const general = set.tracks.filter((t) => !t.isBaseline).reduce((n, t) => n + t.users, 0);
  const share = held !== undefined && set.users > 0 ? ` (${percent(held.users / set.users, 1)})` : '';
  const items = [
    `${count(set.users)} users: ${count(held?.users ?? 0)} held out${share}, ${count(general)} general`,
    set.srm === null ? null : `sample ratio ${pText(set.srm.pValue)}`,
    set.firstExposureAt === null ? null : `${when(set.firstExposureAt)} – ${when(set.lastExposureAt)}`,
  ];
  return el('p', { class: 'meta', data: { field: 'holdout-users', heldOut: String(held?.users ?? 0), general: String(general) } }, items.filter((t): t is string => t !== null).map((text) => el('span', { text })));
}

function metricLabel(m: MetricResult): string {
  return [TYPE_LABELS[m.type], m.higherIsBetter === false ? 'lower is better' : null, m.declared ? null : 'inferred'].filter((x) => x !== null).join(' · ');
}

/**
 * The phases: a timeline (one bar per phase, its width its share of the test's time), a table
 * of their configurations, and the choice of what the metric tables show.
 */
function phasesSection(set: TrackSetResult, show: (tracks: readonly TrackResult[]) => void): HTMLElement | null {
  if (set.phases.length === 0) return null;
  // Each stretch of time a phase was in force, in order: a phase the set came back to (a
  // rollback deploy) has a bar and a row `N again` where it began again.
  const stretches = set.phases
    .flatMap((p) => p.stretches.map((stretch, k) => ({ p, again: k > 0, stretch, from: stretch.from === null ? null : Date.parse(stretch.from), to: stretch.to === null ? null : Date.parse(stretch.to) })))
    .sort((a, b) => (a.from ?? -Infinity) - (b.from ?? -Infinity));
  const first = stretches.find((s) => s.from !== null)?.from ?? Date.now();
  const end = set.lastExposureAt === null ? Date.now() : Math.max(Date.parse(set.lastExposureAt), Date.now());
  const span = Math.max(1, end - first);
  const bars = stretches.map(({ p, again, from, to }) => {
    const bar = el('div', {
      class: `phase-bar${p.stopped ? ' stopped' : ''}`,
      text: `${p.index}`,
      attrs: { title: `phase ${p.index}${again ? ' again' : ''}: ${phaseSummary(p)}` },
      data: { phase: String(p.index) },
    });
    bar.style.width = `${Math.max(2, (((to ?? end) - (from ?? first)) / span) * 100)}%`;
    return bar;
  });
  const rows = stretches.map(({ p, again, stretch }) =>
    el('tr', { data: again ? { phase: String(p.index), again: 'true' } : { phase: String(p.index) } }, [
      el('td', { text: `${p.index}${again ? ' again' : ''}${p.shadow === true ? ' (shadow)' : ''}${p.stopped ? ' (stopped)' : ''}` }),
      el('td', { text: when(stretch.from) }),
      el('td', { text: stretch.to === null ? 'now' : when(stretch.to) }),
      again ? numberCell('users', null, '') : numberCell('users', p.users, count(p.users)),
      el('td', { text: phaseSummary(p), data: { field: 'configuration' } }),
      again ? numberCell('srm', null, '') : numberCell('srm', p.srm?.pValue ?? null, pValue(p.srm?.pValue ?? null), p.srm?.mismatch ? 'bad' : undefined),
    ]),
  );
  const select = el('select', { attrs: { name: 'phase', 'aria-label': 'Phases analysed' }, data: { field: 'phase-select' } }, [
    el('option', { text: set.phases.length > 1 ? `All ${set.phases.length} phases combined (phase-aware)` : 'The only phase', attrs: { value: 'all' } }),
    ...set.phases.filter((p) => p.results !== undefined && p.users > 0).map((p) => el('option', { text: `Phase ${p.index} alone`, attrs: { value: String(p.index) } })),
  ]);
  select.addEventListener('change', () => {
    const phase = set.phases.find((p) => String(p.index) === select.value);
    show(phase?.results ?? set.tracks);
  });
  return el('section', { data: { section: 'phases' } }, [
    el('h2', { text: `Phases (${set.phases.length})` }),
    el('p', {
      class: 'muted',
      text:
        'Every stop, resume, ramp or change of the set starts a phase. Each user is compared within the phase of their first exposure, and the phases are combined, so a change of weights or coverage cannot bias the lift.' +
        (stretches.some((s) => s.again) ? ' “N again”: the set came back to phase N’s configuration, as after a rollback; its users are one phase.' : ''),
    }),
    el('div', { class: 'phase-timeline', data: { field: 'phase-timeline' } }, bars),
    table(['Phase', 'From', 'To', 'Users', 'Configuration', 'SRM p'], rows, { section: 'phases' }),
    el('label', { text: 'Compare: ' }, [select]),
  ]);
}

function phaseSummary(p: PhaseResult): string {
  if (p.stopped) return p.serving === null ? 'stopped' : `stopped, serving ${p.serving}`;
  if (p.shadow === true) return 'shadow: everyone served the baseline, candidates run beside it';
  const c = p.configuration;
  if (c === null) return 'configuration not recorded';
  const weights = Object.entries(c.weights).map(([t, w]) => `${t}=${w}`).join(', ');
  return `coverage ${coveragePercent(c.coverage)}, weights ${weights}${c.sticky ? ', sticky' : ''}`;
}

function controls(set: TrackSetResult, actions: ControlActions): HTMLElement {
  // A status line: screen readers read out "Saving…", an error, "Saved." as they come.
  const message = el('span', { class: 'muted', data: { field: 'control-message' }, attrs: { role: 'status' } });
  const names = set.tracks.map((t) => t.name);
  // What a stop may serve: the set's tracks, its baseline among them (a set without an added
  // control names its own, so 'control' is offered only when the baseline is not known).
  const baseline = set.baseline ?? 'control';
  const serveOptions = names.includes(baseline) ? names : [baseline, ...names];
  const stop = el('button', { text: 'Stop test…', class: 'danger', attrs: { type: 'button' }, data: { action: 'stop' } });
  const resume = el('button', { text: 'Resume test…', attrs: { type: 'button' }, data: { action: 'resume' } });
  const ramp = el('button', { text: 'Ramp…', attrs: { type: 'button' }, data: { action: 'ramp' } });
  stop.disabled = set.status === 'stopped';
  resume.disabled = set.status !== 'stopped';
  const run = async (work: () => Promise<void>) => {
    // One change at a time, Promote's included: a second one begun while the first saves would start a phase of its own.
    const release = holdControls();
    message.textContent = 'Saving…';
    try {
      await work();
    } catch (error) {
      message.textContent = error instanceof Error ? error.message : String(error);
      message.className = 'error';
      release();
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
  ramp.addEventListener('click', async () => {
    const current = set.phases.at(-1)?.configuration ?? null;
    const change = await rampDialog({
      title: `Ramp ${set.id}?`,
      message:
        'Every process recording to this store applies the new coverage or weights within its control interval (default 10 s), and a new phase begins. Only the keys that must move change track; a sticky set keeps every user.',
      coverage: current?.coverage ?? 1,
      weights: current?.weights ?? Object.fromEntries(set.tracks.map((t) => [t.name, 1])),
    });
    if (change !== null) await run(() => actions.ramp(change));
  });
  resume.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Resume ${set.id}?`,
      message: 'Every process goes back to assigning tracks within its control interval; keys get the tracks they had before the stop.',
      confirmLabel: 'Resume test',
    });
    if (ok !== null) await run(() => actions.resume());
  });
  return el('div', { class: 'controls' }, [stop, resume, ramp, message]);
}

function metricTable(tracks: readonly TrackResult[], metric: string): HTMLTableElement {
  const rows = tracks.map((track) => metricRow(track, track.metrics.find((m) => m.metric === metric)!));
  const type = tracks[0]?.metrics.find((m) => m.metric === metric)?.type ?? 'conversion';
  return table(
    ['Track', 'Users', 'Expected share', 'Converted', type === 'conversion' ? 'Rate' : TYPE_LABELS[type].replace(/^./, (c) => c.toUpperCase()), 'Lift (interval)', 'p', 'p adj', 'P(better)', 'Risk'],
    rows,
    { metric },
  );
}

function metricRow(track: TrackResult, m: MetricResult): HTMLTableRowElement {
  const c = m.comparison;
  const value = m.type === 'conversion' ? numberCell('rate', m.value, percent(m.value)) : numberCell('value', m.value, number(m.value));
  return el('tr', { class: track.isBaseline ? 'baseline' : '', data: { track: track.name } }, [
    el('td', { text: track.name, data: { field: 'track' } }),
    numberCell('users', track.users, count(track.users)),
    numberCell('expectedShare', track.expectedShare, percent(track.expectedShare, 1)),
    numberCell('conversions', m.conversions, count(m.conversions)),
    value,
    liftCell(track.isBaseline, c, m.cannotCompute),
    numberCell('pValue', c?.pValue ?? null, pValue(c?.pValue ?? null)),
    numberCell('adjustedPValue', c?.adjustedPValue ?? null, pValue(c?.adjustedPValue ?? null)),
    numberCell('chanceToBeatControl', c?.chanceToBeatControl ?? null, chancePercent(c?.chanceToBeatControl ?? null)),
    numberCell('risk', c?.risk ?? null, c?.risk === null || c?.risk === undefined ? '' : signedPercent(c.risk)),
  ]);
}

/**
 * A track's lift over the baseline: relative with its interval (absolute when the baseline is
 * 0), coloured by the verdict; the estimate and interval in data-value, data-low, data-high.
 */
function liftCell(isBaseline: boolean, c: Comparison | null, cannotCompute: string | null): HTMLTableCellElement {
  const text = isBaseline ? 'baseline' : c === null ? (cannotCompute === null ? '' : `n/a: ${cannotCompute}`) : liftText(c.relative, c.absolute);
  // Colours follow the verdict, in the metric's direction: a drop in latency is good news.
  const verdictClass = c === null ? '' : c.verdict === 'better' ? ' num-sig num-better' : c.verdict === 'worse' ? ' num-sig num-worse' : c.verdict === 'changed' ? ' num-sig num-changed' : '';
  const lift = el('td', { text, class: `num${verdictClass}`, data: { field: 'lift', value: c?.relative ? String(c.relative.estimate) : '', verdict: c?.verdict ?? '' } });
  if (c?.relative) {
    lift.dataset.low = String(c.relative.interval[0]);
    lift.dataset.high = String(c.relative.interval[1]);
  }
  if (c?.significant) lift.title = `significant after adjustment: ${c.verdict}`;
  return lift;
}

/** A metric's value as its table shows it: a rate for a conversion, else a number. */
function valueText(type: MetricType, value: number | null): string {
  return type === 'conversion' ? percent(value) : number(value);
}

/**
 * Segments (`static dimensions`): the choice of a dimension to break the set down by and, once
 * chosen, per goal metric a table of each segment's tracks (users, value, lift, p adjusted
 * across every segment's comparisons, the segment's sample-ratio check), and under it, per
 * track, whether its effect differs between segments (Cochran's Q), as `tracks report --by`.
 * Nothing when the set records no dimensions.
 */
function segmentsSection(set: TrackSetResult, breakdown: Breakdown, actions: ControlActions): HTMLElement | null {
  const { dimensions, by } = breakdown;
  if (dimensions.length === 0 && by === undefined) return null;
  // A dimension named in the address but not (yet) in the sample of exposures still shows as chosen.
  const choices = by === undefined || dimensions.includes(by) ? dimensions : [...dimensions, by];
  const select = el('select', { attrs: { name: 'by', 'aria-label': 'Break down by' }, data: { field: 'by-select' } }, [
    el('option', { text: 'none', attrs: { value: '' } }),
    ...choices.map((d) => el('option', { text: d, attrs: { value: d } })),
  ]);
  select.value = by ?? '';
  select.addEventListener('change', () => actions.breakDown(select.value === '' ? undefined : select.value));
  const segments = set.segments;
  const goals = set.tracks[0]?.metrics.filter((m) => !m.guardrail) ?? [];
  return el('section', { data: { section: 'segments', ...(segments ? { dimension: segments.dimension } : {}) } }, [
    el('h2', { text: segments ? `By ${segments.dimension} (${segments.values.length} segment${segments.values.length === 1 ? '' : 's'})` : 'Segments' }),
    el('label', { text: 'Break down by: ' }, [select]),
    segments === undefined
      ? by === undefined
        ? null
        : el('p', {
            class: 'muted',
            data: { field: 'no-segments' },
            text: `No exposure of this set records the dimension ${by}${dimensions.length > 0 ? `; its dimensions are ${dimensions.join(', ')}` : '; it records none'} (from static dimensions(context)).`,
          })
      : el('p', {
          class: 'muted',
          text:
            `The largest segments (at most 10; the rest added up as "other"; "(none)": users recorded without ${segments.dimension})` +
            `${set.analysedPhases.length > 1 ? ', every phase combined' : ''}. p adj is corrected across every segment's comparisons; ` +
            'SRM p checks each segment\'s split against the weights.',
        }),
    ...(segments === undefined ? [] : segmentTables(segments, goals)),
  ]);
}

function segmentTables(segments: SegmentsResult, goals: readonly MetricResult[]): HTMLElement[] {
  const parts: HTMLElement[] = [];
  const mismatched = segments.values.filter((v) => v.srm?.mismatch);
  if (mismatched.length > 0) {
    parts.push(
      el('p', {
        class: 'warning-line bad',
        data: { field: 'segment-srm-warning' },
        text: `Sample-ratio mismatch in ${mismatched.map((v) => `${v.value} (p ${pValue(v.srm!.pValue)})`).join(', ')}: that segment's users were not split as the weights say, so its numbers cannot be trusted.`,
      }),
    );
  }
  if (goals.length === 0) parts.push(el('p', { class: 'empty', text: 'No conversions recorded yet: nothing to break down.' }));
  for (const m of goals) {
    parts.push(
      el('div', { class: 'segment-metric' }, [
        el('h3', { text: `${m.metric} by ${segments.dimension}` }),
        segmentTable(segments, m),
        el('ul', { class: 'heterogeneity' }, segments.heterogeneity.filter((h) => h.metric === m.metric).map((h) => heterogeneityLine(h, segments.dimension))),
      ]),
    );
  }
  return parts;
}

/** One goal metric by segment: a group of rows per segment (one per track), its name and SRM p spanning them. */
function segmentTable(segments: SegmentsResult, metric: MetricResult): HTMLTableElement {
  const rows = segments.values.flatMap((segment) => segmentRows(segment, metric));
  const valueHead = metric.type === 'conversion' ? 'Rate' : TYPE_LABELS[metric.type].replace(/^./, (c) => c.toUpperCase());
  return table([segments.dimension, 'Track', 'Users', valueHead, 'Lift (interval)', 'p adj', 'SRM p'], rows, { segmentsMetric: metric.metric, dimension: segments.dimension });
}

function segmentRows(segment: SegmentResult, metric: MetricResult): HTMLTableRowElement[] {
  const tracks = segment.tracks.filter((t) => t.metrics.some((x) => x.metric === metric.metric));
  return tracks.map((t, i) => {
    const m = t.metrics.find((x) => x.metric === metric.metric)!;
    const c = m.comparison;
    const first = i === 0;
    const span = { rowspan: String(tracks.length) };
    return el('tr', { class: `${t.isBaseline ? 'baseline' : ''}${first ? ' segment-first' : ''}`, data: { segment: segment.value, track: t.name } }, [
      first ? el('td', { text: segment.value, class: 'segment', data: { field: 'segment', users: String(segment.users) }, attrs: { ...span, title: `${count(segment.users)} users` } }) : null,
      el('td', { text: t.name, data: { field: 'track' } }),
      numberCell('users', t.users, count(t.users)),
      numberCell(metric.type === 'conversion' ? 'rate' : 'value', m.value, valueText(metric.type, m.value)),
      liftCell(t.isBaseline, c, m.cannotCompute),
      numberCell('adjustedPValue', c?.adjustedPValue ?? null, pValue(c?.adjustedPValue ?? null)),
      first ? srmCell(segment, span) : null,
    ]);
  });
}

/** A segment's sample-ratio check, flagged on a mismatch. */
function srmCell(segment: SegmentResult, span: Readonly<Record<string, string>>): HTMLTableCellElement {
  const srm = segment.srm;
  const cell = numberCell('srm', srm?.pValue ?? null, pValue(srm?.pValue ?? null), srm?.mismatch ? 'bad' : undefined);
  for (const [name, value] of Object.entries(span)) cell.setAttribute(name, value);
  cell.dataset.mismatch = String(srm?.mismatch ?? false);
  if (srm?.mismatch) {
    cell.prepend(el('span', { class: 'badge warn-badge bad', text: 'mismatch', data: { flag: 'srm' } }), ' ');
    cell.title = `sample-ratio mismatch: p = ${srm.pValue}; this segment's users were not split as the weights say`;
  }
  return cell;
}

/** "short_delay across country: Q = 27.7 (df 2), p < 0.001, I² 93%: effect differs by segment". */
function heterogeneityLine(h: Heterogeneity, dimension: string): HTMLElement {
  const differs = h.pValue !== null && h.pValue < 0.05;
  const data: Record<string, string> = {
    field: 'heterogeneity',
    track: h.track,
    metric: h.metric,
    segments: String(h.segments),
    q: h.q === null ? '' : String(h.q),
    df: h.degreesOfFreedom === null ? '' : String(h.degreesOfFreedom),
    pValue: h.pValue === null ? '' : String(h.pValue),
    iSquared: h.iSquared === null ? '' : String(h.iSquared),
    differs: String(differs),
  };
  const verdict =
    h.pValue === null
      ? 'fewer than 2 segments to compare'
      : `Q = ${h.q!.toFixed(1)} (df ${h.degreesOfFreedom}), p ${pValue(h.pValue)}, I² ${percent(h.iSquared, 0)}: `;
  return el('li', { class: differs ? 'differs' : '', data }, [
    el('strong', { text: h.track }),
    ` across ${dimension}: ${verdict}`,
    h.pValue === null ? null : differs ? el('span', { class: 'badge warn-badge', text: 'effect differs by segment', data: { flag: 'differs' } }) : 'no evidence it differs',
  ]);
}

/**
 * Under a metric's table, as `tracks report` prints them: the metric's cap (declared, and what a
 * percentile came to in each analysed phase), and for each track whose lift CUPED adjusted, the
 * share of variance it removed and the unadjusted lift and p-value beside it (or why CUPED was
 * not applied although users had history).
 */
function metricNotes(tracks: readonly TrackResult[], metric: string, phases: readonly AnalysedPhase[]): HTMLElement[] {
  const notes: HTMLElement[] = [];
  const results = tracks.map((t) => ({ track: t, m: t.metrics.find((x) => x.metric === metric) }));
  const capped = results.find((r) => r.m?.cap)?.m;
  if (capped?.cap) notes.push(capNote(capped, phases));
  for (const { track, m } of results) {
    const notApplied = m?.comparison?.cupedNotApplied;
    if (typeof notApplied === 'string') {
      notes.push(el('p', { data: { field: 'cuped-not-applied', track: track.name } }, ['CUPED not applied on ', el('strong', { text: track.name }), `: ${notApplied}`]));
    }
    const cuped = m?.comparison?.cuped;
    if (!cuped) continue;
    const u = cuped.unadjusted;
    notes.push(
      el('p', { data: { field: 'cuped', track: track.name, value: String(cuped.varianceReduction), pValue: String(u.pValue) }, attrs: { title: 'The lift in the table is adjusted for each user’s history of the metric before their exposure (CUPED).' } }, [
        'CUPED on ',
        el('strong', { text: track.name }),
        `: variance ${signedPercent(-cuped.varianceReduction)}; unadjusted ${liftText(u.relative, u.absolute)}, p ${pValue(u.pValue)}`,
      ]),
    );
  }
  return notes;
}

/** An analysed phase, as the notes under a metric name it. */
type AnalysedPhase = Pick<PhaseResult, 'index' | 'users'>;

/** The phases a set's comparisons combine, in the order of `analysedPhases`. */
function analysedOf(set: TrackSetResult): AnalysedPhase[] {
  return set.analysedPhases.map((index) => set.phases.find((p) => p.index === index) ?? { index, users: 0 });
}

/** The cap of a metric: each user's value was limited to it before the comparison. */
function capNote(m: MetricResult, phases: readonly AnalysedPhase[]): HTMLElement {
  const cap = m.cap!;
  const unit = m.type === 'count' ? 'conversions' : m.type === 'mean' ? 'average value' : 'total';
  let text: string;
  if (cap.value !== undefined) {
    text = `Capped: each user's ${unit} at most ${number(cap.value)}.`;
  } else {
    const values = cap.applied.map((v, i) => (v !== null ? number(v) : phases[i]?.users === 0 ? 'no users' : 'none (it is 0 or less)'));
    const list = values.length === 1 ? values[0]! : values.map((v, i) => `phase ${phases[i]?.index ?? i + 1}: ${v}`).join(', ');
    text = `Capped: each user's ${unit} at the ${percentileName(cap.percentile!)} percentile of the set's users: ${list}.`;
  }
  return el('p', { text, data: { field: 'cap', value: String(cap.value ?? cap.percentile), applied: JSON.stringify(cap.applied) } });
}

/** 99th, 99.5th, 95th, 51st. */
function percentileName(q: number): string {
  const p = Number((q * 100).toPrecision(6));
  const whole = Math.floor(p);
  const teen = whole % 100 >= 11 && whole % 100 <= 13;
  const suffix = !Number.isInteger(p) || teen ? 'th' : whole % 10 === 1 ? 'st' : whole % 10 === 2 ? 'nd' : whole % 10 === 3 ? 'rd' : 'th';
  return `${p}${suffix}`;
}

/**
 * A lift as the table shows it, as `tracks report` does: relative with its interval, or
 * absolute when the baseline is 0, or absolute marked Δ when the relative interval disagrees
 * with the absolute one about zero (too few users for the delta method; the verdict follows the
 * absolute difference). Kept equal to report/text-table.ts's (test/report/text-table.test.ts):
 * the client bundle imports no runtime code from the report layer.
 */
export function liftText(relative: { readonly estimate: number; readonly interval: readonly [number, number] } | null, absolute: { readonly estimate: number; readonly interval: readonly [number, number] }): string {
  const excludesZero = ([low, high]: readonly [number, number]) => low > 0 || high < 0;
  if (relative !== null && excludesZero(relative.interval) === excludesZero(absolute.interval)) {
    return `${signedPercent(relative.estimate)} [${signedPercent(relative.interval[0])}, ${signedPercent(relative.interval[1])}]`;
  }
  const [estimate, low, high] = numbersAlike([absolute.estimate, ...absolute.interval]);
  const text = `${estimate} [${low}, ${high}]`;
  return relative !== null ? `Δ${absolute.estimate >= 0 ? '+' : ''}${text}` : text;
}

/**
 * The code path's health per track: runs, errors, mean, and p50, p95 (with its interval) and p99
 * as the report prints them, then the p95 against the baseline's: the change as a ratio with its
 * interval (a difference in ms when either is below resolution), its p-value, and a "slower"
 * flag when it is significantly slower after the set's correction.
 */
/** The health of `tracks`: the set's, or one phase's alone (`phases[].results`). */
function healthTable(set: TrackSetResult, tracks: readonly TrackResult[], bounds: readonly number[], alpha: number): HTMLTableElement {
  const rows = tracks.map((t) => {
    const l = t.latency;
    const quantile = (q: number) => l.quantiles.find((x) => x.q === q);
    const vs = l.comparison?.find((c) => c.q === 0.95);
    return el('tr', { class: t.isBaseline ? 'baseline' : '', data: { track: t.name } }, [
      el('td', { text: t.name, data: { field: 'track' } }),
      numberCell('runs', l.runs, count(l.runs)),
      numberCell('errors', l.errors, count(l.errors)),
      numberCell('errorRate', l.errorRate, percent(l.errorRate)),
      numberCell('meanMs', l.meanMs, ms(l.meanMs)),
      quantileCell('p50Ms', l.p50Ms, quantile(0.5), bounds),
      quantileCell('p95Ms', l.p95Ms, quantile(0.95), bounds, true),
      quantileCell('p99Ms', l.p99Ms, quantile(0.99), bounds),
      p95VsBaselineCell(t, vs, set.baseline, tracks.find((b) => b.isBaseline)?.latency.quantiles.find((x) => x.q === 0.95)?.belowResolution === true),
      numberCell('p95PValue', vs?.pValue ?? null, pValue(vs?.pValue ?? null)),
    ]);
  });
  const confidence = `${Math.round((1 - alpha) * 100)}%`;
  return table(['Track', 'Runs', 'Errors', 'Error rate', 'Mean', 'p50', `p95 (${confidence} CI)`, 'p99', 'p95 vs baseline (CI)', 'p (p95)'], rows, { section: 'health' });
}

/**
 * A latency quantile: the estimate in data-value, "< 0.05 ms" below the histogram's
 * resolution; with its interval in brackets (and data-low / data-high, empty for no bound).
 */
function quantileCell(field: string, value: number | null, quantile: LatencyQuantile | undefined, bounds: readonly number[], withInterval = false): HTMLTableCellElement {
  const cell = numberCell(field, value, latency(quantile, bounds));
  if (quantile === undefined) return cell;
  // The interval on a line of its own (none below resolution or beyond range, as the report).
  if (withInterval && !quantile.belowResolution && !quantile.aboveRange) cell.append(intervalLine(`[${ms(quantile.interval[0])}, ${ms(upper(quantile.interval[1]))}]`));
  if (withInterval) {
    cell.dataset.low = String(quantile.interval[0]);
    cell.dataset.high = Number.isFinite(upper(quantile.interval[1])) ? String(quantile.interval[1]) : '';
  }
  if (quantile.belowResolution) {
    cell.dataset.belowResolution = 'true';
    cell.title = `under ${resolutionOf(bounds)} ms, the latency histogram's first bucket: too fast to tell from zero`;
  } else if (quantile.aboveRange) {
    cell.dataset.aboveRange = 'true';
    cell.title = "in the latency histogram's open last bucket";
  }
  return cell;
}

/**
 * A track's p95 against the baseline's: "+153% [+40%, +358%]" (ratio - 1), or the difference in
 * ms when either p95 is below resolution, or "both < 0.05 ms" when both are (the histogram
 * cannot tell them apart); flagged "slower" when significantly slower.
 */
function p95VsBaselineCell(
  track: TrackResult,
  vs: NonNullable<TrackResult['latency']['comparison']>[number] | undefined,
  baseline: string | null,
  baselineBelowResolution: boolean,
): HTMLTableCellElement {
  if (track.isBaseline) return el('td', { text: 'baseline', class: 'num', data: { field: 'p95VsBaseline', value: '' } });
  if (vs === undefined) {
    const cell = el('td', { class: 'num', data: { field: 'p95VsBaseline', value: '' } });
    if (track.latency.runs > 0 && baseline !== null) cell.title = 'too few runs to compare the p95';
    return cell;
  }
  const [low, high] = vs.ratio !== null ? [vs.ratio.interval[0], upper(vs.ratio.interval[1])] : [vs.differenceMs.interval[0], upper(vs.differenceMs.interval[1])];
  const bothBelow = vs.ratio === null && baselineBelowResolution && track.latency.quantiles.find((x) => x.q === 0.95)?.belowResolution === true;
  const [text, interval] =
    vs.ratio !== null
      ? [signedPercent(vs.ratio.estimate - 1), `[${signedPercent(low - 1)}, ${signedPercent(high - 1)}]`]
      : bothBelow
        ? ['both < 0.05 ms', '']
        : [signedMs(vs.differenceMs.estimate), `[${signedMs(low)}, ${signedMs(high)}]`];
  const cell = el('td', {
    text,
    class: vs.slower ? 'num num-sig num-worse' : 'num',
    data: {
      field: 'p95VsBaseline',
      value: vs.ratio === null ? '' : String(vs.ratio.estimate),
      differenceMs: String(vs.differenceMs.estimate),
      low: String(low),
      high: Number.isFinite(high) ? String(high) : '',
      slower: String(vs.slower),
    },
    attrs: {
      title:
        (vs.ratio === null ? `difference in ms (a p95 below resolution has no ratio); ` : `p95 ${vs.ratio.estimate.toFixed(3)}× the baseline's; `) +
        `${pText(vs.pValue)}${vs.slower ? '; significantly slower after the correction across tracks' : ''}`,
    },
  });
  if (vs.slower) cell.prepend(el('span', { class: 'badge warn-badge', text: 'slower', data: { flag: 'slower' } }), ' ');
  cell.append(intervalLine(interval));
  return cell;
}

/** An interval under the number it belongs to, in a cell. */
function intervalLine(text: string): HTMLElement {
  return el('span', { class: 'interval', text, data: { part: 'interval' } });
}
