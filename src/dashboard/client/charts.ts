import type { Chart as ChartClass, ChartConfiguration, ChartDataset, LegendItem, Plugin, TooltipItem } from 'chart.js';
import type { LatencyQuantile, MetricType, Report, TrackSetResult } from '../../report/report-model.js';
import { el, latency, ms, resolutionOf, upper, visible } from './dom.js';

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
type ScatterConfig = ChartConfiguration<'scatter', ({ x: number; y: number } | null)[]>;

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
  const datasets: ChartDataset<'line' | 'bar', (number | [number, number] | null)[]>[] = [];
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
    const lower = series((r) => r.interval[0]);
    const upper = series((r) => r.interval[1]);
    bands.add(datasets.length);
    datasets.push({ label: `${track} lower`, data: lower, borderWidth: 0, pointRadius: 0, fill: false });
    bands.add(datasets.length);
    datasets.push({ label: `${track} interval`, data: upper, borderWidth: 0, pointRadius: 0, backgroundColor: `${color}2e`, fill: '-1' });
    datasets.push({ label: track, data: series((r) => r.estimate), borderColor: color, backgroundColor: color, pointRadius: 3, borderWidth: 2, fill: false });
    // A band needs two days side by side: a day alone (the test's first, or one between days
    // without a result) gets its interval as a bar instead, or it would show no interval at all.
    const alone = days.map((_, i) => lower[i] != null && upper[i] != null && (i === 0 || upper[i - 1] == null) && (i === days.length - 1 || upper[i + 1] == null));
    if (alone.some(Boolean)) {
      bands.add(datasets.length);
      const bars: ([number, number] | null)[] = days.map((_, i) => (alone[i] ? [lower[i]!, upper[i]!] : null));
      datasets.push({ type: 'bar', label: `${track} interval, a day alone`, data: bars, backgroundColor: `${color}59`, barThickness: 4 });
    }
  }
  bands.add(datasets.length);
  datasets.push({ label: 'no change', data: days.map(() => 0), borderColor: BASELINE_COLOR, borderDash: [6, 4], borderWidth: 1, pointRadius: 0, fill: false });
  const options = baseOptions('%');
  options.plugins = { ...options.plugins, legend: { labels: { filter: (item: LegendItem) => !bands.has(item.datasetIndex ?? -1) } } };
  return panel(
    `${metric}: lift over ${set.baseline}, cumulative by day`,
    'Each point uses every user exposed up to the end of that day; the band (a bar, for a day alone) is its interval.',
    'lift',
    { type: 'line', data: { labels: days, datasets }, options } as Config,
  );
}

/** The quantiles the report gives each track, in the order they are drawn. */
const QUANTILES: readonly { readonly q: number; readonly label: string }[] = [
  { q: 0.5, label: 'p50' },
  { q: 0.95, label: 'p95' },
  { q: 0.99, label: 'p99' },
];

/** One quantile of one track as drawn: the point's position, and the interval's ends in ms. */
interface QuantileMark {
  readonly x: number;
  readonly y: number;
  readonly low: number;
  /** Infinity when the interval has no upper bound (too few runs). */
  readonly high: number;
  readonly quantile: LatencyQuantile;
}

/**
 * Each track's p50, p95 and p99 (the report's `latency.quantiles`) as points with their
 * confidence intervals as error bars, grouped by quantile, on a log scale in ms (a p99 can be
 * orders of magnitude above the p50). A quantile below the histogram's resolution (a no-op) is
 * drawn as a downward triangle at 0.05 ms, over a grey band, and reads "< 0.05 ms"; an interval
 * without an upper bound runs off the top with an arrow.
 */
export function latencyChart(set: TrackSetResult, report: Report): ChartPanel | null {
  const tracks = set.tracks.filter((t) => t.latency.runs > 0 && t.latency.quantiles.length > 0);
  if (tracks.length === 0) return null;
  const bounds = report.latencyBucketBoundsMs;
  const resolution = resolutionOf(bounds);
  const last = bounds[bounds.length - 2] ?? Infinity;
  const colors = trackColors(set);
  // Tracks side by side within each quantile's slot.
  const step = Math.min(0.2, 0.7 / tracks.length);
  const marks: (QuantileMark | null)[][] = tracks.map((t, j) =>
    QUANTILES.map(({ q }, i) => {
      const quantile = t.latency.quantiles.find((x) => x.q === q);
      if (quantile === undefined) return null;
      const y = quantile.belowResolution ? resolution : quantile.aboveRange ? last : quantile.estimateMs;
      return { x: i + (j - (tracks.length - 1) / 2) * step, y, low: quantile.interval[0], high: upper(quantile.interval[1]), quantile };
    }),
  );
  // Around every point and every finite interval end, and below the resolution when a quantile
  // is under it (so its triangle and the band show).
  const drawn = marks.flat().filter((m): m is QuantileMark => m !== null);
  const values = drawn.flatMap((m) => [m.y, m.low, m.high]).filter((v) => v > 0 && Number.isFinite(v));
  const lowest = Math.min(...values, ...(drawn.some((m) => m.quantile.belowResolution) ? [resolution / 2] : []));
  const min = lowest / 1.6;
  const max = Math.max(...values) * 1.6;
  const confidence = percentOf(1 - report.alpha);
  const datasets: ChartDataset<'scatter', ({ x: number; y: number } | null)[]>[] = tracks.map((t, j) => ({
    type: 'scatter',
    label: t.name,
    data: marks[j]!.map((m) => (m === null ? null : { x: m.x, y: m.y })),
    backgroundColor: colors.get(t.name)!,
    borderColor: colors.get(t.name)!,
    pointStyle: marks[j]!.map((m) => (m !== null && (m.quantile.belowResolution || m.quantile.aboveRange) ? 'triangle' : 'circle')),
    pointRotation: marks[j]!.map((m) => (m?.quantile.belowResolution ? 180 : 0)),
    pointRadius: 5,
    pointHoverRadius: 7,
    pointHoverBackgroundColor: colors.get(t.name)!,
    pointHoverBorderColor: colors.get(t.name)!,
  }));
  const intervals: Plugin<'scatter'> = {
    id: 'latencyIntervals',
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea: area } = chart;
      const y = chart.scales.y!;
      ctx.save();
      // Under the resolution nothing is measured apart from zero: a grey band.
      const floor = y.getPixelForValue(resolution);
      if (floor < area.bottom) {
        ctx.fillStyle = 'rgba(140, 149, 159, 0.14)';
        ctx.fillRect(area.left, floor, area.right - area.left, area.bottom - floor);
        ctx.fillStyle = '#656d76';
        ctx.font = '11px system-ui, sans-serif';
        ctx.textBaseline = 'bottom';
        ctx.fillText(`< ${resolution} ms: below the histogram's resolution`, area.left + 4, area.bottom - 3);
      }
      ctx.lineWidth = 1.5;
      marks.forEach((row, d) => {
        if (!chart.isDatasetVisible(d)) return;
        const points = chart.getDatasetMeta(d).data;
        ctx.strokeStyle = colors.get(tracks[d]!.name)!;
        row.forEach((m, i) => {
          const point = points[i];
          if (m === null || point === undefined) return;
          const x = point.x;
          const openLow = !(m.low > y.min);
          const openHigh = !(m.high < y.max);
          const bottom = openLow ? area.bottom : y.getPixelForValue(m.low);
          const top = openHigh ? area.top : y.getPixelForValue(m.high);
          ctx.beginPath();
          ctx.moveTo(x, bottom);
          ctx.lineTo(x, top);
          if (!openLow) {
            ctx.moveTo(x - 5, bottom);
            ctx.lineTo(x + 5, bottom);
          }
          if (openHigh) {
            // No upper bound: an arrow off the top.
            ctx.moveTo(x - 4, top + 7);
            ctx.lineTo(x, top);
            ctx.lineTo(x + 4, top + 7);
          } else {
            ctx.moveTo(x - 5, top);
            ctx.lineTo(x + 5, top);
          }
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };
  const markOf = (item: TooltipItem<'scatter'>) => marks[item.datasetIndex]?.[item.dataIndex] ?? null;
  return panel(
    'Latency quantiles per track (p50, p95, p99)',
    [
      `Points: each track's quantile, interpolated within its histogram bucket; bars: its ${confidence} confidence interval. Log scale.`,
      drawn.some((m) => !Number.isFinite(m.high)) ? 'An arrow: no upper bound yet (too few runs).' : null,
      drawn.some((m) => m.quantile.belowResolution) ? `A downward triangle in the grey band: below the histogram's resolution, shown as “< ${resolution} ms”.` : null,
    ]
      .filter((t) => t !== null)
      .join(' '),
    'latency',
    {
      type: 'scatter',
      data: { datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: {
            type: 'linear',
            min: -0.5,
            max: QUANTILES.length - 0.5,
            afterBuildTicks: (scale) => {
              scale.ticks = QUANTILES.map((_, i) => ({ value: i }));
            },
            ticks: { callback: (value: string | number) => QUANTILES[Number(value)]?.label ?? '' },
            grid: { display: false },
          },
          y: {
            type: 'logarithmic',
            min,
            max,
            title: { display: true, text: 'ms (log scale)' },
            // Labels at 1, 2 and 5 of each decade (logTick), not Chart.js's own thinning.
            ticks: { autoSkip: false, callback: (value: string | number) => logTick(Number(value)) },
          },
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: {
            filter: (item) => markOf(item) !== null,
            callbacks: {
              title: (items) => QUANTILES[items[0]?.dataIndex ?? -1]?.label ?? '',
              label: (item) => {
                const m = markOf(item)!;
                return `${item.dataset.label}: ${latency(m.quantile, bounds)}, ${confidence} interval [${m.low === 0 ? '0' : ms(m.low)}, ${ms(m.high)}]`;
              },
            },
          },
        },
      },
      plugins: [intervals],
    },
  );
}

/** A log axis's tick: labelled at 1, 2 and 5 of each decade, in ms or s. */
function logTick(value: number): string {
  const mantissa = value / 10 ** Math.floor(Math.log10(value) + 1e-9);
  if (![1, 2, 5].some((k) => Math.abs(mantissa - k) < 1e-6)) return '';
  return value >= 1000 ? `${Number((value / 1000).toPrecision(3))} s` : `${Number(value.toPrecision(3))} ms`;
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

function panel(title: string, note: string, kind: string, config: Config | ScatterConfig): ChartPanel {
  // The canvas draws its labels itself: names in them are made visible as the page's text is.
  const data = config.data as { labels?: unknown[]; datasets: Array<{ label?: unknown }> };
  if (Array.isArray(data.labels)) data.labels = data.labels.map((label) => (typeof label === 'string' ? visible(label) : label));
  for (const dataset of data.datasets) if (typeof dataset.label === 'string') dataset.label = visible(dataset.label);
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
      new Chart(canvas, config as ChartConfiguration);
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
