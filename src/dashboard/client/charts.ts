import type { Chart as ChartClass, ChartConfiguration, ChartDataset, LegendItem } from 'chart.js';
import type { MetricType, Report, TrackSetResult } from '../../report/report-model.js';
import { el, ms } from './dom.js';

/**
 * The charts of a track set, drawn with Chart.js (loaded by the page from this package as a
 * global). Each chart only draws numbers the report already holds: no statistic is computed
 * here.
 */
declare const Chart: typeof ChartClass;

/** A chart waiting to be drawn once its canvas is in the document (Chart.js sizes to it). */
export interface ChartPanel {
  readonly element: HTMLElement;
  draw(): void;
}

type Config = ChartConfiguration<'bar' | 'line', (number | [number, number] | null)[], string>;

const BASELINE_COLOR = '#8c959f';
const PALETTE = ['#0969da', '#bf3989', '#1a7f37', '#bc4c00', '#8250df', '#cf222e', '#0a3069', '#4d2d00'];

/** A colour per track: grey for the baseline, the palette for the others, in report order. */
export function trackColors(set: TrackSetResult): Map<string, string> {
  const colors = new Map<string, string>();
  let next = 0;
  for (const track of set.tracks) colors.set(track.name, track.isBaseline ? BASELINE_COLOR : PALETTE[next++ % PALETTE.length]!);
  return colors;
}

/** How each metric type's value reads. */
export const TYPE_LABELS: Readonly<Record<MetricType, string>> = {
  conversion: 'conversion rate',
  sum: 'total per user',
  count: 'conversions per user',
  mean: 'average value',
  ratio: 'ratio',
};

/**
 * Each track's conversion rate (or mean per user) as a bar with its own confidence interval,
 * beside the baseline's, whose value is also drawn as a dashed line.
 */
export function rateChart(set: TrackSetResult, metric: string, alpha: number): ChartPanel {
  const colors = trackColors(set);
  const rows = set.tracks.map((t) => ({ track: t, m: t.metrics.find((x) => x.metric === metric) }));
  const type = rows.find((r) => r.m !== undefined)?.m?.type ?? 'conversion';
  const kind = type === 'conversion' ? 'proportion' : 'mean';
  const scale = kind === 'proportion' ? 100 : 1;
  const valueOf = (m: (typeof rows)[number]['m']): number | null => {
    const v = m?.value;
    return v === null || v === undefined ? null : v * scale;
  };
  const baseRow = rows.find((r) => r.track.isBaseline);
  const base = baseRow === undefined ? null : valueOf(baseRow.m);
  const labels = rows.map((r) => r.track.name);
  const intervals = rows.map((r): [number, number] | null => {
    const interval = r.m?.interval;
    return interval === null || interval === undefined ? null : [interval[0] * scale, interval[1] * scale];
  });
  const datasets: ChartDataset<'bar' | 'line', (number | [number, number] | null)[]>[] = [
    {
      type: 'bar',
      label: kind === 'proportion' ? `${metric} rate (%)` : `${metric} (${TYPE_LABELS[type]})`,
      data: rows.map((r) => valueOf(r.m)),
      backgroundColor: rows.map((r) => `${colors.get(r.track.name)}b3`),
      borderColor: rows.map((r) => colors.get(r.track.name)!),
      borderWidth: 1,
      grouped: false,
      barPercentage: 0.7,
      order: 2,
    },
    {
      type: 'bar',
      label: `${percentOf(1 - alpha)} interval`,
      data: intervals,
      backgroundColor: '#1f2328',
      grouped: false,
      barPercentage: 0.06,
      order: 1,
    },
  ];
  if (base !== null) {
    datasets.push({
      type: 'line',
      label: `baseline (${baseRow!.track.name})`,
      data: labels.map(() => base),
      borderColor: BASELINE_COLOR,
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 0,
      fill: false,
      order: 0,
    });
  }
  return panel(
    `${metric}: ${TYPE_LABELS[type]} per track`,
    `Black bars: the ${percentOf(1 - alpha)} confidence interval of each track's value. Dashed line: the baseline's value.`,
    'rate',
    { type: 'bar', data: { labels, datasets }, options: baseOptions(kind === 'proportion' ? '%' : '') },
  );
}

/** The relative lift of each track over the baseline, cumulative by day, with its interval band. */
export function liftChart(set: TrackSetResult, metric: string): ChartPanel | null {
  const points = (set.timeline ?? []).filter((p) => p.metric === metric);
  const days = [...new Set(points.map((p) => p.day))].sort();
  const colors = trackColors(set);
  const treatments = set.tracks.filter((t) => !t.isBaseline).map((t) => t.name);
  if (days.length === 0 || treatments.length === 0 || set.baseline === null) return null;
  const datasets: ChartDataset<'line', (number | null)[]>[] = [];
  const bands = new Set<number>();
  for (const track of treatments) {
    const byDay = new Map(points.filter((p) => p.track === track).map((p) => [p.day, p.relative] as const));
    const series = (pick: (r: NonNullable<ReturnType<typeof byDay.get>>) => number): (number | null)[] =>
      days.map((day) => {
        const r = byDay.get(day);
        if (r === undefined || r === null) return null;
        const v = pick(r) * 100;
        return Number.isFinite(v) ? v : null;
      });
    const color = colors.get(track)!;
    bands.add(datasets.length);
    datasets.push({ label: `${track} lower`, data: series((r) => r.interval[0]), borderWidth: 0, pointRadius: 0, fill: false });
    bands.add(datasets.length);
    datasets.push({ label: `${track} interval`, data: series((r) => r.interval[1]), borderWidth: 0, pointRadius: 0, backgroundColor: `${color}2e`, fill: '-1' });
    datasets.push({ label: track, data: series((r) => r.estimate), borderColor: color, backgroundColor: color, pointRadius: 3, borderWidth: 2, fill: false });
  }
  bands.add(datasets.length);
  datasets.push({ label: 'no change', data: days.map(() => 0), borderColor: BASELINE_COLOR, borderDash: [6, 4], borderWidth: 1, pointRadius: 0, fill: false });
  const options = baseOptions('%');
  options.plugins = { ...options.plugins, legend: { labels: { filter: (item: LegendItem) => !bands.has(item.datasetIndex ?? -1) } } };
  return panel(
    `${metric}: lift over ${set.baseline}, cumulative by day`,
    'Each point uses every user exposed up to the end of that day; the band is its interval.',
    'lift',
    { type: 'line', data: { labels: days, datasets }, options } as Config,
  );
}

/** Each track's latency distribution: the share of its runs in each histogram bucket. */
export function latencyChart(set: TrackSetResult, report: Report): ChartPanel | null {
  const tracks = set.tracks.filter((t) => t.latency.runs > 0);
  if (tracks.length === 0) return null;
  const used = (i: number) => tracks.some((t) => (t.latency.histogram[i] ?? 0) > 0);
  const indexes = report.latencyBucketBoundsMs.map((_, i) => i);
  const first = indexes.find(used) ?? 0;
  const last = [...indexes].reverse().find(used) ?? 0;
  const range = indexes.slice(first, last + 1);
  const colors = trackColors(set);
  return panel(
    'Latency distribution per track',
    'Share of each track’s runs by duration (bucket upper bounds).',
    'latency',
    {
      type: 'bar',
      data: {
        labels: range.map((i) => `≤ ${ms(report.latencyBucketBoundsMs[i]!)}`),
        datasets: tracks.map((t) => ({
          type: 'bar' as const,
          label: t.name,
          data: range.map((i) => ((t.latency.histogram[i] ?? 0) / t.latency.runs) * 100),
          backgroundColor: `${colors.get(t.name)}cc`,
        })),
      },
      options: baseOptions('%'),
    },
  );
}

/** Each track's error rate: the share of its runs that threw. */
export function errorChart(set: TrackSetResult): ChartPanel | null {
  const tracks = set.tracks.filter((t) => t.latency.runs > 0);
  if (tracks.length === 0) return null;
  const colors = trackColors(set);
  return panel('Error rate per track', 'Share of runs that threw.', 'errors', {
    type: 'bar',
    data: {
      labels: tracks.map((t) => t.name),
      datasets: [
        {
          type: 'bar',
          label: 'error rate (%)',
          data: tracks.map((t) => (t.latency.errorRate ?? 0) * 100),
          backgroundColor: tracks.map((t) => `${colors.get(t.name)}b3`),
          borderColor: tracks.map((t) => colors.get(t.name)!),
          borderWidth: 1,
        },
      ],
    },
    options: { ...baseOptions('%'), plugins: { legend: { display: false } } },
  });
}

function panel(title: string, note: string, kind: string, config: Config): ChartPanel {
  const canvas = el('canvas', { attrs: { role: 'img', 'aria-label': title } });
  const element = el('figure', { class: 'chart', data: { chart: kind } }, [
    el('h3', { text: title }),
    el('div', { class: 'canvas-box' }, [canvas]),
    el('p', { class: 'muted', text: note }),
  ]);
  return {
    element,
    draw() {
      Chart.getChart(canvas)?.destroy();
      new Chart(canvas, config);
    },
  };
}

function baseOptions(unit: string): NonNullable<Config['options']> {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    scales: {
      y: { ticks: { callback: (value: string | number) => `${value}${unit}` } },
    },
    plugins: { legend: { position: 'bottom' } },
  };
}

function percentOf(x: number): string {
  return `${Math.round(x * 100)}%`;
}
