import { TracksError } from '../errors.js';
import { escapeControl as text, shown } from '../text.js';
import type { Comparison, MetricResult, PhaseResult, Report, TrackResult, TrackSetResult } from './report-model.js';
import { formatP, pText } from './build-report.js';
import { TYPE_LABELS, WIDTH, chancePercent, clip, count, coveragePercent, fitsUnclipped, liftText, number, percent, relativeDisagrees, signedPercent, table, wrap } from './text-table.js';
import { renderHoldoutSection } from './holdout-section.js';
import { analysedPhasesText, phaseAloneHeading } from './phase-text.js';
import { renderShadow } from './shadow-section.js';
import { analysedPhaseUsers, capNote, cupedNotes } from './metric-notes.js';
import { formatLatency, formatMs } from './latency.js';
import { LATENCY_BUCKET_BOUNDS_MS } from '../model/latency-histogram.js';
import { isObjectArgument, optionsError } from '../core/arguments.js';
import { nearestName } from '../core/suggest.js';

/**
 * What {@link renderReport} shows besides the analysis.
 *
 * @example
 * ```ts
 * const options: RenderOptions = { latency: false, times: false, samples: false }; // text that compares equal
 * assert.equal(renderReport(report, options), expected);
 * ```
 */
export interface RenderOptions {
  /**
   * Latency (default true): the latency columns of the health table, the p95 comparison with
   * the baseline, and the warnings about a slower p95. Measured durations vary from run to run.
   */
  readonly latency?: boolean | undefined;
  /** When each phase began (default true). */
  readonly times?: boolean | undefined;
  /** A shadow set's latest mismatch samples (default true); which are kept depends on when runs came. */
  readonly samples?: boolean | undefined;
}

/**
 * The report as aligned text tables for a terminal, at most 100 columns wide: per track set,
 * a status line, warnings, its phases, one table per metric (guardrail metrics apart) and one
 * for the code path's health. Measured latencies and clock times vary from run to run; turn
 * them off for output that must compare equal.
 *
 * @example
 * ```ts
 * console.log(renderReport(buildReport(await store.summarize())));
 * console.log(renderReport(report, { latency: false, times: false }));
 * ```
 */
export function renderReport(report: Report, options: RenderOptions = {}): string {
  if (typeof report !== 'object' || report === null || !Array.isArray((report as Partial<Report>).trackSets)) {
    throw new TracksError(`renderReport: the report is ${shown(report)}; pass what buildReport returns`);
  }
  if (!isObjectArgument(options)) throw optionsError('renderReport', options, '{ latency: false }');
  if (report.trackSets.length === 0) {
    return `No track set has recorded exposures in ${text(report.store) || 'this store'} yet.`;
  }
  const blocks = report.trackSets.filter((set) => !set.holdout).map((set) => renderTrackSet(set, options));
  const holdouts = renderHoldoutSection(report.trackSets.filter((set) => set.holdout), { times: options.times ?? true });
  if (holdouts !== '') blocks.push(holdouts);
  // Sets still in shadow mode have assigned no one: nothing compared, so no legend for it.
  if (report.trackSets.every(onlyShadowed)) return blocks.join('\n\n');
  const mode = report.sequential ? 'sequential (always-valid)' : 'fixed-horizon';
  const footer =
    `alpha ${report.alpha}, ${mode} intervals, p adj: ${report.correction === 'holm' ? 'Holm' : 'Benjamini-Hochberg'}` +
    ` across each set's tracks and metrics; * = significant after adjustment` +
    (report.cuped
      ? `; CUPED: adjusted for each user's last ${report.cuped.windowDays} days before exposure (a metric's own cuped window where it declares one) where they have any (--no-cuped: off)`
      : '') +
    (showsAbsoluteLift(report)
      ? '; Δ = the absolute difference, shown where the relative interval disagrees with it about zero (too few users for the delta method)'
      : '');
  return [...blocks, wrap(footer, WIDTH).join('\n')].join('\n\n');
}

/** Whether any track's lift, the set's or a segment's (`--by`), is shown as an absolute difference (liftText's Δ). */
function showsAbsoluteLift(report: Report): boolean {
  const disagrees = (m: { readonly comparison: Comparison | null }) => m.comparison?.relative != null && relativeDisagrees(m.comparison.relative, m.comparison.absolute);
  return report.trackSets.some(
    (set) =>
      set.tracks.some((t) => t.metrics.some(disagrees)) ||
      (set.segments?.values.some((segment) => segment.tracks.some((t) => t.metrics.some(disagrees))) ?? false),
  );
}

function renderTrackSet(set: TrackSetResult, options: RenderOptions): string {
  const latency = options.latency ?? true;
  const times = options.times ?? true;
  // Names come from the store, written by any tool: escaped, so none can steer the terminal.
  const status = set.status === 'stopped' ? `stopped, serving ${text(set.serving ?? 'control')}` : set.shadow?.mode === 'shadow' ? 'shadow' : set.status;
  const phases = set.phases.length;
  const analysis = analysedPhasesText(set);
  const lines = wrap(
    `${text(set.id)}  [${status}]  ${count(set.users)} users` +
      (set.baseline ? `, baseline ${text(set.baseline)}` : '') +
      analysis +
      srmText(set),
    WIDTH,
  );
  for (const warning of set.warnings.filter((w) => latency || w.kind !== 'latency')) lines.push(...wrap(text(warning.message), WIDTH - 4).map((l, i) => `${i === 0 ? '  ! ' : '    '}${l}`));
  if (set.inferredMetrics.length > 0) {
    // A metric one or two edits from a declared one is most likely a misspelt convert().
    const declared = [...new Set(set.tracks.flatMap((t) => t.metrics.filter((m) => m.declared).map((m) => m.metric)))];
    const named = set.inferredMetrics.map((m) => {
      const near = nearestName(m, declared);
      return near === undefined ? text(m) : `${text(m)} (not declared: did you mean ${text(near)}?)`;
    });
    const note = `${named.join(', ')}: type inferred from the data (a conversion while every user's total is 1, else a sum); declare metrics in configure({ metrics })`;
    lines.push(...wrap(note, WIDTH - 4).map((l, i) => `${i === 0 ? '  i ' : '    '}${l}`));
  }
  if (phases > 1) lines.push('', phaseTable(set.phases, times));
  if (set.phases.some((p) => p.stretches.length > 1)) {
    lines.push('  (N again: back to phase N\'s configuration, as after a rollback deploy; its users are one phase)');
  }
  // A track's own value pools its users across phases; only the comparison is stratified, so the two may seem to disagree.
  if (set.analysedPhases.length > 1) lines.push('  (values pool the phases; lift, p and P(better) compare users within their phase, then combine)');
  // A set still in shadow mode has assigned no one: its answers are the shadow block's alone.
  const assigned = !onlyShadowed(set);
  if (assigned) {
    lines.push(...metricTables(set.tracks, analysedPhaseUsers(set)));
    const health = set.tracks.map(healthRow);
    const columns = ['track', 'runs', 'errors', 'mean', 'p50', 'p95 [CI]', 'p99'];
    lines.push('', latency ? table(columns, health) : table(columns.slice(0, 3), health.map((row) => row.slice(0, 3))));
    if (latency) lines.push(...p95Lines(set));
  }
  if (set.segments) lines.push(...segmentLines(set));
  if (set.shadow !== null) lines.push(...(assigned ? [''] : []), renderShadow(set, { latency, samples: options.samples ?? true }));
  // Health is counted per minute: one phase's analysis reads the minutes it was in effect at the start of.
  if (set.analysedPhases.length === 1 && phases > 1) lines.push(`  (runs and latency: the minutes of phase ${set.analysedPhases[0]}, each counted in the phase in effect at its start)`);
  for (const phase of set.phases) {
    if (phase.results === undefined || phase.users === 0) continue;
    lines.push('', phaseAloneHeading(phase, times));
    lines.push(...metricTables(phase.results));
  }
  return lines.join('\n');
}

/**
 * The set's sample-ratio check for its status line, naming the tracks it leaves out because a
 * guardrail switched them off (they gain no users from the trip on), and saying so when that
 * leaves no check at all.
 */
function srmText(set: TrackSetResult): string {
  const excluded = set.srmExcluded.map(text).join(', ');
  // With phases, say in which ones a track was left out: it is in the others' checks.
  const where = set.phases.length > 1 ? `, phase ${set.phases.filter((p) => p.srmExcluded.length > 0).map((p) => p.index).join(', ')}` : '';
  if (set.srm !== null) return `, sample ratio ${pText(set.srm.pValue)}` + (excluded === '' ? '' : ` without ${excluded} (guardrail${where})`);
  return excluded === '' || set.users === 0 ? '' : `, no sample-ratio check: fewer than 2 tracks left without ${excluded} (guardrail${where})`;
}

/**
 * The reasons a comparison could not be computed, in full where the table clipped them, and
 * why a lift is shown as an absolute difference with no chance to beat the baseline (a
 * baseline of 0: no relative lift); one line each, with its tracks.
 */
function cannotComputeNotes(tracks: readonly TrackResult[], metric: string): string[] {
  const byReason = new Map<string, string[]>();
  for (const t of tracks) {
    const m = t.metrics.find((x) => x.metric === metric);
    const relative = m?.comparison?.relativeCannotCompute;
    if (relative != null) {
      const reason = `relative lift: ${relative}; the lift shown is the absolute difference`;
      byReason.set(reason, [...(byReason.get(reason) ?? []), text(t.name)]);
    }
    const reason = m?.cannotCompute;
    if (reason == null || `n/a: ${text(reason)}`.length <= NA_WIDTH) continue;
    byReason.set(reason, [...(byReason.get(reason) ?? []), text(t.name)]);
  }
  return [...byReason].flatMap(([reason, names]) => wrap(`n/a (${names.join(', ')}): ${text(reason)}`, WIDTH - 4).map((l, i) => `${i === 0 ? '  ' : '    '}${l}`));
}

/** The width of a metric table's "n/a: reason" cell. */
const NA_WIDTH = 30;

/** Whether a set still in shadow mode has assigned no one: its answers are its shadow block's alone. */
function onlyShadowed(set: TrackSetResult): boolean {
  return set.shadow?.mode === 'shadow' && set.users === 0;
}

/** One table per metric: goal metrics first, then the guardrails, apart; `phaseUsers`: the users of each analysed phase. */
function metricTables(tracks: readonly TrackResult[], phaseUsers?: readonly number[]): string[] {
  const metrics = tracks[0]?.metrics ?? [];
  const lines: string[] = [];
  const goals = metrics.filter((m) => !m.guardrail);
  const guardrails = metrics.filter((m) => m.guardrail);
  const metricTable = (m: MetricResult) => {
    const header = metricHeader(m);
    const ofTracks = tracks.map((t) => t.metrics.find((x) => x.metric === m.metric)!);
    const rows = tracks.map((t, i) => metricRow(t, ofTracks[i]!));
    // How many users converted, beside the users, where the table fits without it clipping a
    // track's name (`--json` always has it, as `conversions`).
    const withConverted = [withColumn(header, 'converted'), rows.map((row, i) => withColumn(row, count(ofTracks[i]!.conversions)))] as const;
    lines.push('', fitsUnclipped(...withConverted) ? table(...withConverted) : table(header, rows));
    lines.push(...capNote(m, undefined, phaseUsers), ...cupedNotes(tracks, m.metric), ...cannotComputeNotes(tracks, m.metric));
  };
  goals.forEach(metricTable);
  if (guardrails.length > 0) lines.push('', '  Guardrail metrics (must not get worse):');
  guardrails.forEach(metricTable);
  return lines;
}

/**
 * One row per phase, in time order; a phase the set came back to (a rollback deploy) has a row
 * `N again` where it began again, its users counted on its first row.
 */
function phaseTable(phases: readonly PhaseResult[], times: boolean): string {
  const rows = phases
    .flatMap((p) =>
      p.stretches.map((stretch, k) => ({
        at: stretch.from ?? '',
        row: [
          `${p.index}${k > 0 ? ' again' : ''}${p.shadow === true ? ' shadow' : ''}${p.stopped ? (p.serving === null ? ' stopped' : ` stopped, serving ${text(p.serving)}`) : ''}`,
          stretch.from?.slice(0, 16).replace('T', ' ') ?? '',
          k > 0 ? '' : count(p.users),
          p.configuration ? coveragePercent(p.configuration.coverage) : '',
          p.configuration ? clip(weightsText(p.configuration.weights), 40) : '',
          k > 0 || !p.srm ? '' : formatP(p.srm.pValue),
        ],
      })),
    )
    // Stable: phases are in order of their first start already.
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
    .map(({ row }) => row);
  const header = ['phase', 'from', 'users', 'coverage', 'weights', 'SRM p'];
  const keep = (row: string[]) => (times ? row : row.filter((_, i) => i !== 1));
  return table(keep(header), rows.map(keep));
}

/**
 * A phase's weights, `short=1 long=3`; when that is too long for its column and the tracks share
 * a prefix (a ParamTrackSet's `price_adjusted_by_-1`, `..._0`, `..._1`), the prefix once:
 * `price_adjusted_by_{-1=1 0=1 1=3}`, so that a weights ramp shows instead of being cut off.
 */
function weightsText(weights: Readonly<Record<string, number>>): string {
  const entries = Object.entries(weights);
  const plain = entries.map(([t, w]) => `${text(t)}=${w}`).join(' ');
  if (plain.length <= 40 || entries.length < 2) return plain;
  let prefix = entries[0]![0];
  for (const [name] of entries) while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  // Never between the halves of a surrogate pair (an emoji the names share).
  if (/[\uD800-\uDBFF]$/.test(prefix)) prefix = prefix.slice(0, -1);
  if (prefix.length < 3 || entries.some(([name]) => name === prefix)) return plain;
  return `${text(prefix)}{${entries.map(([t, w]) => `${text(t.slice(prefix.length))}=${w}`).join(' ')}}`;
}

/** The row with `cell` after its users (the second column). */
function withColumn(row: readonly string[], cell: string): string[] {
  return [row[0]!, row[1]!, cell, ...row.slice(2)];
}

function metricHeader(m: MetricResult): string[] {
  const direction = m.higherIsBetter === false ? ' (lower is better)' : '';
  return ['track', 'users', clip(TYPE_LABELS[m.type](text(m.metric)) + direction, 32), 'lift (CI)', 'p', 'p adj', 'P(better)'];
}

function metricRow(track: TrackResult, m: MetricResult): string[] {
  const value = m.type === 'conversion' ? percent(m.value) : number(m.value);
  const c = m.comparison;
  if (track.isBaseline) return [text(track.name), count(track.users), value, 'baseline', '', '', ''];
  if (c === null) return [text(track.name), count(track.users), value, m.cannotCompute ? clip(`n/a: ${text(m.cannotCompute)}`, NA_WIDTH) : '', '', '', ''];
  const lift = liftText(c.relative, c.absolute);
  return [
    text(track.name),
    count(track.users),
    value,
    `${lift}${c.verdict === 'inconclusive' ? '' : ` * ${c.verdict}`}`,
    formatP(c.pValue),
    formatP(c.adjustedPValue),
    c.chanceToBeatControl === null ? '' : chancePercent(c.chanceToBeatControl),
  ];
}

function healthRow(track: TrackResult): string[] {
  const l = track.latency;
  const errors = l.runs === 0 ? '' : `${count(l.errors)} (${percent(l.errorRate)})`;
  const quantile = (q: number) => l.quantiles.find((x) => x.q === q);
  const p95 = quantile(0.95);
  const p95Interval = p95 && !p95.belowResolution && !p95.aboveRange ? ` [${formatMs(p95.interval[0])}, ${Number.isFinite(p95.interval[1]) ? formatMs(p95.interval[1]) : 'inf'}]` : '';
  return [text(track.name), count(l.runs), errors, ms(l.meanMs), formatLatency(quantile(0.5)), `${formatLatency(p95)}${p95Interval}`, formatLatency(quantile(0.99))];
}

/**
 * `--by`: per goal metric, each segment's lift of each track over the baseline, its p-value
 * corrected across every segment, the segment's sample-ratio check, and whether the effect
 * differs between segments (Cochran's Q).
 */
function segmentLines(set: TrackSetResult): string[] {
  const segments = set.segments!;
  const lines = ['', `  By ${text(segments.dimension)} (${segments.values.length} segment${segments.values.length === 1 ? '' : 's'}; p adj across every segment)`];
  const goals = set.tracks[0]?.metrics.filter((m) => !m.guardrail) ?? [];
  const metrics = goals.map((m) => m.metric);
  // Conversion rates as percentages, as in the set's own tables.
  const isRate = new Set(goals.filter((m) => m.type === 'conversion').map((m) => m.metric));
  // Values are cut to 20 characters, so the tables fit 100 columns; values that would then read
  // the same (URLs that differ in the middle) are numbered instead, and named in full below.
  const cut = segments.values.map((v) => clip(text(v.value), 20));
  const numbered = new Set(cut).size < cut.length;
  const labelOf = new Map(segments.values.map((v, i) => [v, numbered ? `${i + 1}. ${clip(text(v.value), 16)}` : cut[i]!]));
  const legend = numbered ? ['  segments:', ...segments.values.flatMap((v, i) => indented(`${i + 1}. ${text(v.value)}`, 4))] : [];
  const mismatched = segments.values.filter((v) => v.srm?.mismatch);
  if (mismatched.length > 0) lines.push(...indented(`! sample-ratio mismatch in ${mismatched.map((v) => `${labelOf.get(v)!} (${pText(v.srm!.pValue)})`).join(', ')}`));
  if (metrics.length === 0) {
    // No conversion yet: each segment's users and sample-ratio check are what there is to see
    // (an assignment or recording problem in one segment shows before any result does).
    const rows = segments.values.flatMap((segment) =>
      segment.tracks.map((t) => [labelOf.get(segment)!, clip(text(t.name), 20), count(t.users), t.isBaseline && segment.srm ? formatP(segment.srm.pValue) : '']),
    );
    lines.push('', table([text(segments.dimension), 'track', 'users', 'SRM p'], rows));
  }
  for (const metric of metrics) {
    const rows: string[][] = [];
    for (const segment of segments.values) {
      for (const t of segment.tracks) {
        const m = t.metrics.find((x) => x.metric === metric);
        if (m === undefined) continue;
        const c = m.comparison;
        rows.push([
          labelOf.get(segment)!,
          clip(text(t.name), 20),
          count(t.users),
          isRate.has(metric) ? percent(m.value) : number(m.value),
          t.isBaseline ? 'baseline' : c ? `${liftText(c.relative, c.absolute)}${c.verdict === 'inconclusive' ? '' : ` * ${c.verdict}`}` : clip(m.cannotCompute ? `n/a: ${text(m.cannotCompute)}` : '', 28),
          c ? formatP(c.adjustedPValue) : '',
          t.isBaseline && segment.srm ? formatP(segment.srm.pValue) : '',
        ]);
      }
    }
    lines.push('', table([text(segments.dimension), 'track', 'users', clip(text(metric), 16), 'lift (CI)', 'p adj', 'SRM p'], rows));
    for (const h of segments.heterogeneity.filter((x) => x.metric === metric)) {
      const verdict =
        h.pValue === null
          ? 'fewer than 2 segments to compare'
          : `Q = ${h.q!.toFixed(1)} (df ${h.degreesOfFreedom}), p ${formatP(h.pValue)}, I² ${percent(h.iSquared, 0)}: ${h.pValue < 0.05 ? 'effect differs by segment' : 'no evidence it differs'}`;
      lines.push(...wrap(`${clip(text(h.track), 20)} across ${clip(text(segments.dimension), 20)}: ${verdict}`, WIDTH - 2).map((l, i) => `${i === 0 ? '  ' : '    '}${l}`));
    }
  }
  return [...lines, ...(legend.length > 0 ? ['', ...legend] : [])];
}

/** `line` wrapped to the report's width: its first line indented by `by`, the rest by two more. */
function indented(line: string, by = 2): string[] {
  return wrap(line, WIDTH - by - 2).map((l, i) => `${' '.repeat(i === 0 ? by : by + 2)}${l}`);
}

/**
 * Under the health table: each track's p95 against the baseline's, as a ratio with its
 * interval; as a difference in ms with its interval when either is below the histogram's
 * resolution (no ratio then); "both < 0.05 ms" when both are (no difference can be told).
 */
function p95Lines(set: TrackSetResult): string[] {
  const p95 = (t: TrackResult | undefined) => t?.latency.quantiles.find((q) => q.q === 0.95);
  const baseline = p95(set.tracks.find((t) => t.isBaseline));
  const rows = set.tracks.flatMap((t) => {
    const vs = t.latency.comparison?.find((c) => c.q === 0.95);
    if (vs === undefined) return [];
    const { estimate, interval } = vs.differenceMs;
    const change = vs.ratio
      ? `${signedPercent(vs.ratio.estimate - 1)} [${signedPercent(vs.ratio.interval[0] - 1)}, ${signedPercent(vs.ratio.interval[1] - 1)}]`
      : p95(t)?.belowResolution && baseline?.belowResolution
        ? `both < ${LATENCY_BUCKET_BOUNDS_MS[0]} ms`
        : `${signedMs(estimate)} [${signedMs(interval[0])}, ${signedMs(interval[1])}]`;
    return [[text(t.name), change, formatP(vs.pValue), vs.slower ? '* slower' : '']];
  });
  if (rows.length === 0) return [];
  return ['', table([`p95 vs ${clip(text(set.baseline ?? ''), 20)}`, 'change [CI]', 'p', ''], rows)];
}

function signedMs(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : '-inf';
  // An interval's end open at 0 (tracks a bucket apart) is the next double, 5e-324: "> 0".
  if (x !== 0 && Math.abs(x) < 1e-9) return x > 0 ? '> 0' : '< 0';
  return `${x >= 0 ? '+' : '-'}${formatMs(Math.abs(x))}`;
}

function ms(x: number | null): string {
  return x === null ? '' : formatMs(x);
}
