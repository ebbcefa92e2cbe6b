import { escapeControl as text } from '../core/names.js';
import type { MetricResult, Report, TrackResult, TrackSetResult } from './report-model.js';
import { formatP } from './build-report.js';

/**
 * The report as aligned text tables for a terminal, at most 100 columns wide: per track set,
 * a status line, warnings, one table per metric and one for the code path's health.
 *
 * @example
 * ```ts
 * console.log(renderReport(buildReport(await store.summarize())));
 * ```
 */
export function renderReport(report: Report): string {
  if (report.trackSets.length === 0) {
    return `No track set has recorded exposures in ${text(report.store) || 'this store'} yet.`;
  }
  const blocks = report.trackSets.map((set) => renderTrackSet(set, report));
  const mode = report.sequential ? 'sequential (always-valid)' : 'fixed-horizon';
  const footer =
    `alpha ${report.alpha}, ${mode} intervals, p adj: ${report.correction === 'holm' ? 'Holm' : 'Benjamini-Hochberg'}` +
    ` across each set's tracks and metrics; * = significant after adjustment`;
  return [...blocks, wrap(footer, WIDTH).join('\n')].join('\n\n');
}

function renderTrackSet(set: TrackSetResult, report: Report): string {
  // Names come from the store, written by any tool: escaped, so none can steer the terminal.
  const status = set.status === 'stopped' ? `stopped, serving ${text(set.serving ?? 'control')}` : set.status;
  const lines = wrap(
    `${text(set.id)}  [${status}]  ${count(set.users)} users` +
      (set.baseline ? `, baseline ${text(set.baseline)}` : '') +
      (set.srm ? `, sample ratio p = ${formatP(set.srm.pValue)}` : ''),
    WIDTH,
  );
  for (const warning of set.warnings) lines.push(...wrap(text(warning.message), WIDTH - 4).map((l, i) => `${i === 0 ? '  ! ' : '    '}${l}`));
  const metrics = set.tracks[0]?.metrics.map((m) => m.metric) ?? [];
  for (const metric of metrics) {
    lines.push('', table(metricHeader(metric, set.tracks, metric), set.tracks.map((t) => metricRow(t, t.metrics.find((m) => m.metric === metric)!, report))));
  }
  lines.push('', table(['track', 'runs', 'errors', 'mean', 'p50', 'p95', 'p99'], set.tracks.map(healthRow)));
  return lines.join('\n');
}

function metricHeader(metric: string, tracks: readonly TrackResult[], name: string): string[] {
  const kind = tracks[0]?.metrics.find((m) => m.metric === name)?.kind;
  return ['track', 'users', kind === 'mean' ? `${clip(text(metric), 12)}/user` : clip(text(metric), 16), 'lift (CI)', 'p', 'p adj', 'P(beat)'];
}

function metricRow(track: TrackResult, m: MetricResult, report: Report): string[] {
  const value = m.kind === 'mean' ? number(m.mean) : percent(m.rate);
  const c = m.comparison;
  if (track.isBaseline) return [clip(text(track.name), 28), count(track.users), value, 'baseline', '', '', ''];
  if (c === null) return [clip(text(track.name), 28), count(track.users), value, m.cannotCompute ? clip(`n/a: ${text(m.cannotCompute)}`, 30) : '', '', '', ''];
  const lift = c.relative
    ? `${signedPercent(c.relative.estimate)} [${signedPercent(c.relative.interval[0])}, ${signedPercent(c.relative.interval[1])}]`
    : `${number(c.absolute.estimate)} [${number(c.absolute.interval[0])}, ${number(c.absolute.interval[1])}]`;
  void report;
  return [
    clip(text(track.name), 28),
    count(track.users),
    value,
    `${lift}${c.significant ? ' *' : ''}`,
    formatP(c.pValue),
    formatP(c.adjustedPValue),
    c.chanceToBeatControl === null ? '' : percent(c.chanceToBeatControl, 0),
  ];
}

function healthRow(track: TrackResult): string[] {
  const l = track.latency;
  const errors = l.runs === 0 ? '' : `${count(l.errors)} (${percent(l.errorRate)})`;
  return [clip(text(track.name), 28), count(l.runs), errors, ms(l.meanMs), ms(l.p50Ms), ms(l.p95Ms), ms(l.p99Ms)];
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

/** The report's width: it must read well in a 100-column terminal. */
const WIDTH = 100;

/** Word-wraps `text` to lines of at most `width` characters (a longer word is cut). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '';
    }
    line = line === '' ? clip(word, width) : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function percent(x: number | null, digits = 2): string {
  return x === null ? '' : `${(x * 100).toFixed(digits)}%`;
}

function signedPercent(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : '-inf';
  const text = `${(x * 100).toFixed(1)}%`;
  return x >= 0 ? `+${text}` : text;
}

function number(x: number | null): string {
  if (x === null) return '';
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : '-inf';
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

function ms(x: number | null): string {
  if (x === null) return '';
  return x >= 1000 ? `${(x / 1000).toFixed(2)}s` : x >= 10 ? `${x.toFixed(0)}ms` : `${x.toPrecision(2)}ms`;
}
