import type { LatencyQuantile } from '../../report/report-model.js';

/**
 * Building the page with DOM APIs only. Every piece of text, names from user code included,
 * goes in through `textContent`, so it is shown, never parsed as HTML, and through
 * {@link visible}, so a right-to-left override in a name cannot reorder the page's own text.
 */

/** Attributes and text of an element made by {@link el}. */
export interface ElementSpec {
  readonly class?: string;
  readonly text?: string;
  readonly attrs?: Readonly<Record<string, string>>;
  readonly data?: Readonly<Record<string, string>>;
}

/** A child of {@link el}: an element, text, or nothing. */
export type Child = Node | string | null | undefined | false;

/**
 * Creates an element with text and children.
 *
 * @example
 * ```ts
 * el('td', { text: track.name, data: { field: 'track' } });
 * ```
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, spec: ElementSpec = {}, children: readonly Child[] = []): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (spec.class !== undefined) node.className = spec.class;
  if (spec.text !== undefined) node.textContent = visible(spec.text);
  for (const [name, value] of Object.entries(spec.attrs ?? {})) node.setAttribute(name, value);
  for (const [name, value] of Object.entries(spec.data ?? {})) node.dataset[name] = value;
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(visible(child)) : child);
  }
  return node;
}

/**
 * `text` as the page shows it: control characters (but tab and line breaks, which a shadow
 * sample's text keeps), bidirectional overrides, isolates and marks, line separators and
 * unpaired surrogates written as escapes (`\x1b`, `\u{202e}`), as `tracks report` writes them
 * (src/text.ts escapeControl, which the page cannot import: a test keeps the two the same). Without it a track named `\u202egnp.exe` reads as "exe.png", and the
 * heading around it backwards. Display only: the names sent back in requests stay as they are.
 *
 * @example
 * ```ts
 * visible('\u202eevil'); // '\\u{202e}evil'
 * ```
 */
export function visible(text: string): string {
  if (!UNSAFE.test(text)) return text;
  return text
    .replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(UNSAFE_OTHER, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
const BIDI_AND_SEPARATORS = '[\\u202a-\\u202e\\u2066-\\u2069\\u200e\\u200f\\u061c\\u2028\\u2029]';
const LONE_SURROGATE = '[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const UNSAFE = new RegExp(`${CONTROL.source}|${BIDI_AND_SEPARATORS}|${LONE_SURROGATE}`);
const UNSAFE_OTHER = new RegExp(`${BIDI_AND_SEPARATORS}|${LONE_SURROGATE}`, 'g');

/** A table cell showing `text`, with the exact number in `data-value` (for tests and copying). */
export function numberCell(field: string, value: number | null, text: string, className?: string): HTMLTableCellElement {
  return el('td', {
    text,
    data: { field, value: value === null ? '' : String(value) },
    class: className === undefined ? 'num' : `num ${className}`,
    ...(value === null ? {} : { attrs: { title: String(value) } }),
  });
}

/** A table from a header row and body rows; a column of numbers (as in the first row) is right-aligned. */
export function table(header: readonly string[], rows: readonly HTMLTableRowElement[], data: Readonly<Record<string, string>> = {}): HTMLTableElement {
  const numeric = (i: number) => rows[0]?.cells[i]?.classList.contains('num') ?? false;
  // scope="col": a screen reader reads each cell with its column's head.
  const heads = header.map((h, i) => el('th', { text: h, attrs: { scope: 'col' }, ...(numeric(i) ? { class: 'num' } : {}) }));
  return el('table', { data }, [el('thead', {}, [el('tr', {}, heads)]), el('tbody', {}, rows)]);
}

/** 12,345 */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 4.56% (empty for null). */
export function percent(x: number | null, digits = 2): string {
  return x === null ? '' : `${(x * 100).toFixed(digits)}%`;
}

/** A chance in whole percents, never rounded to a certainty (`> 99%`, `< 1%`), as the text report prints it. */
export function chancePercent(x: number | null): string {
  if (x === null) return '';
  return x >= 0.995 ? '> 99%' : x < 0.005 ? '< 1%' : percent(x, 0);
}

/** +4.5% or -1.2% */
export function signedPercent(x: number | null): string {
  if (x === null) return '';
  if (!Number.isFinite(x)) return x > 0 ? '+∞' : '−∞';
  const text = `${(x * 100).toFixed(1)}%`;
  // A change that rounds to zero has no sign ("-0.0%" reads as a loss), as in the text report.
  if (text === '0.0%' || text === '-0.0%') return '0.0%';
  return x >= 0 ? `+${text}` : text;
}

/** A number with about three significant digits. */
export function number(x: number | null): string {
  if (x === null) return '';
  if (!Number.isFinite(x)) return x > 0 ? '+∞' : '−∞';
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

/** Numbers read together (an estimate and its interval) with the decimals {@link number} gives the largest, as the text report prints them (its numbersAlike: a value that would read as 0 keeps its own digits). */
export function numbersAlike(xs: readonly number[]): string[] {
  const largest = Math.max(0, ...xs.filter(Number.isFinite).map(Math.abs));
  if (largest < 1e-6) return xs.map(number);
  const decimals = largest >= 100 ? 0 : largest >= 1 ? 2 : 2 - Math.floor(Math.log10(largest));
  return xs.map((x) => {
    if (!Number.isFinite(x)) return number(x);
    const text = x.toFixed(decimals);
    return x !== 0 && Number(text) === 0 ? number(x) : text;
  });
}

/** A p-value as `tracks report` prints it: `< 0.001` below that, else two significant digits. */
export function pValue(p: number | null): string {
  if (p === null) return '';
  return p < 0.001 ? '< 0.001' : p.toPrecision(2);
}

/** "p = 0.012", or "p < 0.001" (not "p = < 0.001"), for sentences, as the text report writes it. */
export function pText(p: number): string {
  return p < 0.001 ? 'p < 0.001' : `p = ${pValue(p)}`;
}

/** Milliseconds: 0.84 ms, 23 ms, 1.20 s (∞ for an unbounded interval's end). */
export function ms(x: number | null): string {
  if (x === null) return '';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : x >= 10 ? `${x.toFixed(0)} ms` : `${x.toPrecision(2)} ms`;
}

/** A coverage as a percentage to 3 digits: 50%, 12.3%, 0.04% (never 0% for a coverage above 0), as the text report writes it. */
export function coveragePercent(x: number): string {
  return `${Number((x * 100).toPrecision(3))}%`;
}

/** +0.11 ms or -2.3 ms: a difference of latencies. */
export function signedMs(x: number): string {
  // An interval's end open at 0 (tracks a bucket apart) is the next double, 5e-324: "> 0".
  if (x !== 0 && Math.abs(x) < 1e-9) return x > 0 ? '> 0' : '< 0';
  return `${x >= 0 ? '+' : '-'}${ms(Math.abs(x))}`;
}

/**
 * The upper end of an interval: `Infinity` in the report model is `null` once the report has
 * been through JSON (as the page reads it), and means "no bound".
 */
export function upper(x: number | null | undefined): number {
  return x === null || x === undefined || Number.isNaN(x) ? Infinity : x;
}

/**
 * A latency quantile as `tracks report` prints it (formatLatency in src/report/latency.ts, which
 * the page cannot import: it lives with the statistics): "< 0.05 ms" below the histogram's
 * resolution (a no-op is not shown as the first bucket's bound), "> 132112 ms" in its open last
 * bucket, else the estimate interpolated within its bucket. `bounds` are the report's
 * `latencyBucketBoundsMs`.
 */
export function latency(quantile: LatencyQuantile | undefined, bounds: readonly number[]): string {
  if (quantile === undefined) return '';
  if (quantile.belowResolution) return `< ${resolutionOf(bounds)} ms`;
  if (quantile.aboveRange) return `> ${Math.round(bounds[bounds.length - 2] ?? Infinity)} ms`;
  return ms(quantile.estimateMs);
}

/** The histogram's resolution: the first bucket's upper bound (0.05 ms). */
export function resolutionOf(bounds: readonly number[]): number {
  return bounds[0] ?? 0.05;
}

/** A timestamp in the reader's time zone, to the minute. */
export function when(iso: string | null): string {
  if (iso === null) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/**
 * Disables every control of the view while a change saves (stop, resume, ramp and promote:
 * each would start a phase of its own), and returns what enables again the ones that were
 * enabled, for when saving fails (on success the view is drawn anew).
 *
 * @example
 * ```ts
 * const release = holdControls();
 * try { await save(); } catch { release(); }
 * ```
 */
export function holdControls(): () => void {
  const held = [...document.querySelectorAll<HTMLButtonElement>('.controls button')].filter((button) => !button.disabled);
  for (const button of held) button.disabled = true;
  return () => {
    for (const button of held) button.disabled = false;
  };
}
