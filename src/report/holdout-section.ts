import { GENERAL_TRACK, HOLDOUT_TRACK } from '../core/holdout.js';
import { escapeControl as text } from '../core/names.js';
import type { RecordedDefinition, TrackSetSums } from '../model/sums.js';
import { formatP } from './build-report.js';
import type { MetricResult, Report, TrackSetResult } from './report-model.js';

/**
 * Holdouts in the report. `configure({ holdout: { id, share } })` records each keyed unit that
 * reaches a set as an exposure of a pseudo track set whose id is the holdout's, with track
 * `holdout` or `general` and a definition of weights `{ holdout: share, general: 1 - share }`,
 * coverage 1, baseline `holdout`, not sticky. The report analyses it as any set (phases, SRM,
 * every declared metric, `general` against the baseline `holdout`); these functions find such
 * sets and show them apart, as the cumulative effect of everything shipped.
 *
 * Until the definition event carries a flag of its own, a holdout is recognised by that shape:
 * exactly the two tracks `holdout` and `general`, baseline `holdout`, coverage 1, not sticky.
 */

/**
 * Whether a recorded definition is a holdout's pseudo set (see the module comment).
 *
 * @example
 * ```ts
 * isHoldoutDefinition(sums.find((s) => s.trackSetId === 'h2026q4')!.definition); // true
 * ```
 */
export function isHoldoutDefinition(definition: RecordedDefinition | null): boolean {
  if (definition === null) return false;
  const names = [...definition.weights.keys()];
  return (
    names.length === 2 &&
    definition.weights.has(HOLDOUT_TRACK) &&
    definition.weights.has(GENERAL_TRACK) &&
    definition.control === HOLDOUT_TRACK &&
    definition.coverage === 1 &&
    definition.sticky !== true
  );
}

/**
 * The ids of the holdouts among a store's summarized sets (by each set's latest definition).
 *
 * @example
 * ```ts
 * const { sums, metrics } = await readAnalysis(store);
 * const holdouts = holdoutIdsOf(sums); // Set { 'h2026q4' }
 * ```
 */
export function holdoutIdsOf(sums: readonly TrackSetSums[]): ReadonlySet<string> {
  return new Set(sums.filter((set) => isHoldoutDefinition(set.definition)).map((set) => set.trackSetId));
}

/**
 * A report's sets split into the holdouts (`ids`, from {@link holdoutIdsOf}) and the rest, in
 * their order: render the rest as before and the holdouts with {@link renderHoldoutSection}.
 *
 * @example
 * ```ts
 * const { trackSets, holdouts } = splitHoldouts(report, holdoutIdsOf(sums));
 * console.log(renderReport({ ...report, trackSets }) + '\n\n' + renderHoldoutSection(holdouts));
 * ```
 */
export function splitHoldouts(report: Report, ids: ReadonlySet<string>): { trackSets: TrackSetResult[]; holdouts: TrackSetResult[] } {
  const trackSets: TrackSetResult[] = [];
  const holdouts: TrackSetResult[] = [];
  for (const set of report.trackSets) (ids.has(set.id) ? holdouts : trackSets).push(set);
  return { trackSets, holdouts };
}

/**
 * The holdout section of the text report: per holdout, its users (held out and general, and
 * the share held out), phases and sample-ratio check, its warnings, then one line per metric
 * comparing general users with held-out users (each group's value, the lift of general over
 * the holdout with its interval, p, p adjusted, P(better)): the cumulative effect of everything
 * the tests shipped to general users. Empty when there is no holdout.
 *
 * @example
 * ```ts
 * console.log(renderHoldoutSection(splitHoldouts(report, holdoutIdsOf(sums)).holdouts));
 * ```
 */
export function renderHoldoutSection(holdouts: readonly TrackSetResult[]): string {
  if (holdouts.length === 0) return '';
  const blocks = holdouts.map(renderHoldout);
  return ['Holdouts: general users (every test) against held-out users (every baseline), per metric', ...blocks].join('\n\n');
}

function renderHoldout(set: TrackSetResult): string {
  const held = set.tracks.find((t) => t.name === HOLDOUT_TRACK);
  const general = set.tracks.find((t) => t.name === GENERAL_TRACK);
  const heldUsers = held?.users ?? 0;
  const share = set.users > 0 ? ` (${percent(heldUsers / set.users)})` : '';
  const phases = set.phases.length > 1 ? `, ${set.phases.length} phases combined` : '';
  const srm = set.srm ? `, sample ratio p = ${formatP(set.srm.pValue)}` : '';
  const lines = [
    `${text(set.id)}  ${count(set.users)} users: ${count(heldUsers)} held out${share}, ${count(general?.users ?? 0)} general${phases}${srm}`,
  ];
  for (const warning of set.warnings) lines.push(...wrap(text(warning.message), WIDTH - 4).map((l, i) => `${i === 0 ? '  ! ' : '    '}${l}`));
  if (held === undefined || general === undefined) return lines.join('\n');
  const rows = general.metrics.map((m) => {
    const baseline = held.metrics.find((x) => x.metric === m.metric);
    const c = m.comparison;
    const lift = c === null ? (m.cannotCompute ? `n/a: ${text(m.cannotCompute)}` : '') : `${liftText(c)}${c.verdict === 'inconclusive' ? '' : ` * ${c.verdict}`}`;
    return [
      `${TYPE_LABELS[m.type](text(m.metric))}${m.guardrail ? ' (guardrail)' : ''}${m.higherIsBetter === false ? ' (lower is better)' : ''}`,
      baseline === undefined ? '' : value(baseline),
      value(m),
      lift,
      c === null ? '' : formatP(c.pValue),
      c === null ? '' : formatP(c.adjustedPValue),
      c === null || c.chanceToBeatControl === null ? '' : percent(c.chanceToBeatControl, 0),
    ];
  });
  if (rows.length === 0) lines.push('  no conversions recorded yet');
  else lines.push(table(['metric', 'holdout', 'general', 'lift of general (CI)', 'p', 'p adj', 'P(better)'], rows));
  return lines.join('\n');
}

/** As the report labels a metric's value per user. */
const TYPE_LABELS: Readonly<Record<MetricResult['type'], (name: string) => string>> = {
  conversion: (name) => name,
  sum: (name) => `${name}/user`,
  count: (name) => `${name} count/user`,
  mean: (name) => `avg ${name}`,
  ratio: (name) => name,
};

/** The report's width. */
const WIDTH = 100;

/** Word-wraps `words` to lines of at most `width` characters. */
function wrap(words: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '';
    }
    line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function value(m: MetricResult): string {
  return m.type === 'conversion' ? percent(m.value) : number(m.value);
}

function liftText(c: NonNullable<MetricResult['comparison']>): string {
  const r = c.relative;
  return r
    ? `${signedPercent(r.estimate)} [${signedPercent(r.interval[0])}, ${signedPercent(r.interval[1])}]`
    : `${number(c.absolute.estimate)} [${number(c.absolute.interval[0])}, ${number(c.absolute.interval[1])}]`;
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

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function percent(x: number | null, digits = 2): string {
  return x === null ? '' : `${(x * 100).toFixed(digits)}%`;
}

function signedPercent(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : '-inf';
  const s = `${(x * 100).toFixed(1)}%`;
  return x >= 0 ? `+${s}` : s;
}

function number(x: number | null): string {
  if (x === null) return '';
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : '-inf';
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}
