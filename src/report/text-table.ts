import type { Comparison, MetricResult } from './report-model.js';

/**
 * The text report's building blocks: aligned tables at most 100 columns wide, word wrap and
 * the number formats, shared by the sets' blocks and the holdout section.
 */

/** How a metric's value per user is labelled. */
export const TYPE_LABELS: Readonly<Record<MetricResult['type'], (name: string) => string>> = {
  conversion: (name) => name,
  sum: (name) => `${name}/user`,
  count: (name) => `${name} count/user`,
  // A metric already named as an average ('avg', 'avg_basket', 'basket_avg', 'mean_ms') is not 'avg avg'.
  mean: (name) => (/(^|_|-|\b)(avg|average|mean)(_|-|\b|$)/i.test(name) ? name : `avg ${name}`),
  ratio: (name) => name,
};

/**
 * A lift for people: relative with its interval when there is one and it agrees with the
 * absolute interval about zero; else absolute, marked Δ where a relative one was left out.
 * (With few users the delta method's relative interval can cross zero while the test, on the
 * absolute difference, is significant: "+125% [-50%, +301%] * better" would contradict itself.)
 */
export function liftText(relative: Comparison['relative'], absolute: Pick<Comparison['absolute'], 'estimate' | 'interval'>): string {
  if (relative && !relativeDisagrees(relative, absolute)) {
    return `${signedPercent(relative.estimate)} [${signedPercent(relative.interval[0])}, ${signedPercent(relative.interval[1])}]`;
  }
  const [estimate, low, high] = numbersAlike([absolute.estimate, ...absolute.interval]);
  const text = `${estimate} [${low}, ${high}]`;
  return relative ? `Δ${absolute.estimate >= 0 ? '+' : ''}${text}` : text;
}

/** Whether a relative interval contains zero where the absolute one does not, or the other way round. */
export function relativeDisagrees(relative: NonNullable<Comparison['relative']>, absolute: Pick<Comparison['absolute'], 'interval'>): boolean {
  const excludesZero = ([low, high]: readonly [number, number]) => low > 0 || high < 0;
  return excludesZero(relative.interval) !== excludesZero(absolute.interval);
}

/**
 * An aligned table, indented by two, the first column left-aligned and the rest right-aligned.
 * Wider than {@link WIDTH}, its columns are set one space apart, then its first column (the
 * names) is clipped in the middle, down to 12 characters but never so far that two names read
 * the same: the numbers are never cut.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columnWidths(header, rows);
  const total = (gap: number) => tableWidth(widths, gap);
  const gap = total(2) > WIDTH ? ' ' : '  ';
  const full = widths[0]!;
  widths[0] = Math.max(Math.min(full, 12), full - Math.max(0, total(gap.length) - WIDTH));
  // Never so short that two names read the same: a wider table is better than a wrong row.
  // Settled before the headers give up room below, so that they give what this takes back.
  const distinct = (w: number) => new Set(rows.map((r) => clipMiddle(r[0] ?? '', w))).size === new Set(rows.map((r) => r[0] ?? '')).size;
  while (widths[0]! < full && !distinct(widths[0]!)) widths[0]!++;
  // Still too wide: a header longer than its column's values gives up its excess (clipped).
  for (let c = 1; c < widths.length && total(gap.length) > WIDTH; c++) {
    const values = Math.max(8, ...rows.map((r) => (r[c] ?? '').length));
    // Narrowed, never widened: a column already under 8 keeps its width.
    widths[c] = Math.min(widths[c]!, Math.max(values, widths[c]! - (total(gap.length) - WIDTH)));
  }
  const line = (row: readonly string[]): string =>
    row
      .map((cell, c) => (c === 0 ? clipMiddle(cell, widths[0]!).padEnd(widths[0]!) : clip(cell, widths[c]!).padStart(widths[c]!)))
      .join(gap)
      .trimEnd();
  // Trimmed as the rows are: a last column with nothing in it (a flag column) leaves no trailing gap.
  const rule = widths.map((w) => '-'.repeat(w)).join(gap).trimEnd();
  return [line(header), rule, ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

/** Whether {@link table} sets these rows within {@link WIDTH} with its usual two spaces apart, clipping nothing. */
export function fitsUnclipped(header: readonly string[], rows: readonly (readonly string[])[]): boolean {
  return tableWidth(columnWidths(header, rows), 2) <= WIDTH;
}

/** Each column's width: its widest cell, the header's included. */
function columnWidths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  const all = [header, ...rows];
  return header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
}

/** A table's width with its two-space indent and columns `gap` apart. */
function tableWidth(widths: readonly number[], gap: number): number {
  return 2 + widths.reduce((sum, w) => sum + w, 0) + gap * (widths.length - 1);
}

/** Signs that join the words on either side of them when a line is wrapped. */
const COMPARISONS = new Set(['=', '<', '>', '≤', '≥', '≈']);

/** The report's width: it must read well in a 100-column terminal. */
export const WIDTH = 100;

/**
 * Word-wraps `text` to lines of at most `width` characters (a longer word is cut). A
 * comparison stays on one line with both its sides ("p = 0.62", "p < 0.001").
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  const parts = text.split(' ');
  const words: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (COMPARISONS.has(part) && words.length > 0 && i + 1 < parts.length) words[words.length - 1] += ` ${part} ${parts[++i]}`;
    else words.push(part);
  }
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '';
    }
    line = line === '' ? clip(word, width) : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Cuts the middle of a name too long for `width`, keeping its start and end ('price_adj…_minus_10'): names that differ at the end stay apart. */
function clipMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  const tail = Math.floor((width - 1) / 2);
  return `${text.slice(0, pairSafe(text, width - 1 - tail))}…${text.slice(pairSafe(text, text.length - tail, 'up'))}`;
}

export function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, pairSafe(text, width - 1))}…`;
}

/**
 * A cut at `at` moved off the middle of a surrogate pair (down, or `up` for the start of a
 * kept tail): a half pair would print as a replacement character where the name had an emoji.
 */
function pairSafe(text: string, at: number, direction: 'down' | 'up' = 'down'): number {
  const low = text.charCodeAt(at);
  const high = text.charCodeAt(at - 1);
  const splitsPair = at > 0 && at < text.length && high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
  return splitsPair ? at + (direction === 'up' ? 1 : -1) : at;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** A coverage as a percentage to 3 digits: 50%, 12.3%, 0.04% (never 0% for a coverage above 0). */
export function coveragePercent(x: number): string {
  return `${Number((x * 100).toPrecision(3))}%`;
}

export function percent(x: number | null, digits = 2): string {
  return x === null ? '' : `${(x * 100).toFixed(digits)}%`;
}

/**
 * A chance (P(better)) in whole percents, never rounded to a certainty: `> 99%` from 99.5% on,
 * `< 1%` below 0.5% (0.9974 is not "100%").
 *
 * @example
 * ```ts
 * chancePercent(0.9974); // '> 99%'
 * ```
 */
export function chancePercent(x: number): string {
  return x >= 0.995 ? '> 99%' : x < 0.005 ? '< 1%' : percent(x, 0);
}

export function signedPercent(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : '-inf';
  const text = `${(x * 100).toFixed(1)}%`;
  // A change that rounds to zero has no sign ("-0.0%" reads as a loss).
  if (text === '0.0%' || text === '-0.0%') return '0.0%';
  return x >= 0 ? `+${text}` : text;
}

export function number(x: number | null): string {
  if (x === null) return '';
  if (!Number.isFinite(x)) return x > 0 ? '+inf' : '-inf';
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

/**
 * Numbers read together (an estimate and its interval) with one number of decimals, the one
 * {@link number} gives the largest: `1.36 [0.08, 2.64]`, not `1.36 [0.0790, 2.64]`. A value
 * that would read as 0 keeps its own digits (`1.36 [0.00400, 2.72]`: whether an interval
 * excludes 0 is what it is read for), and tiny numbers keep {@link number}'s form.
 *
 * @example
 * ```ts
 * numbersAlike([1.36, 0.079, 2.64]); // ['1.36', '0.08', '2.64']
 * ```
 */
export function numbersAlike(xs: readonly number[]): string[] {
  const largest = Math.max(0, ...xs.filter(Number.isFinite).map(Math.abs));
  if (largest < 1e-6) return xs.map(number);
  const decimals = decimalsFor(largest);
  return xs.map((x) => {
    if (!Number.isFinite(x)) return number(x);
    const text = x.toFixed(decimals);
    return x !== 0 && Number(text) === 0 ? number(x) : text;
  });
}

/** The decimals {@link number} shows at `magnitude`: about three significant digits. */
function decimalsFor(magnitude: number): number {
  if (magnitude >= 100) return 0;
  if (magnitude >= 1 || magnitude === 0) return 2;
  return Math.min(100, 2 - Math.floor(Math.log10(magnitude)));
}
