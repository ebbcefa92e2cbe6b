import { nameProblem } from '../core/names.js';
import { quoted, shown } from '../text.js';
import { TracksError } from '../errors.js';
import type { MetricEvent } from './events.js';

/**
 * Metrics declared once, in `configure({ metrics })`, and analysed as declared: shared by
 * recording (which publishes the declarations to the store) and the report (which reads them).
 */

/**
 * What a metric measures per unit, and so how it is compared.
 *
 * @example
 * ```ts
 * const kind: MetricDeclarationKind = 'ratio';
 * ```
 */
export type MetricDeclarationKind = 'conversion' | 'sum' | 'count' | 'mean' | 'ratio';

/** What every declaration may say besides its kind. */
interface DeclarationBase {
  /**
   * Whether a higher value is better (default true, except for a guardrail). `false` (latency,
   * refunds) flips what "better", "chance to beat" and the colours mean.
   */
  readonly higherIsBetter?: boolean | undefined;
  /**
   * A metric that must not get worse: shown apart, and a warning when it moves the wrong way
   * significantly. Declare its direction with `higherIsBetter`; without one, any significant
   * move warns (verdict `changed`), since a guardrail may be one that must not rise (refunds).
   */
  readonly guardrail?: boolean | undefined;
  /**
   * CUPED's pre-exposure window for this metric (default 14 days, or the report's), or `false`
   * to analyse it unadjusted. The covariate is the unit's value of the same metric in the
   * window before its first exposure. Not for ratios.
   */
  readonly cuped?: false | { readonly windowDays: number } | undefined;
  /**
   * Winsorization: each unit's value is capped at `value`, or at the `percentile` (0.5 to 1,
   * exclusive) of every unit's value in the set and phase, zeros included, before the
   * comparison, so one whale cannot move a mean. For sum, count and mean metrics.
   */
  readonly cap?: MetricCap | undefined;
}

/**
 * A metric's cap (winsorization): a fixed value, or a percentile over the units of each set
 * and phase.
 *
 * @example
 * ```ts
 * const fixed: MetricCap = { value: 1000 };
 * const top1: MetricCap = { percentile: 0.99 };
 * ```
 */
export type MetricCap = { readonly value: number } | { readonly percentile: number };

/**
 * What a declaration says about the analysis beyond kind and direction, as stored with it.
 *
 * @example
 * ```ts
 * const analysis: MetricAnalysis = { cuped: { windowDays: 28 }, cap: { percentile: 0.99 } };
 * const revenue: MetricDeclaration = { kind: 'sum', ...analysis };
 * ```
 */
export type MetricAnalysis = Pick<DeclarationBase, 'cuped' | 'cap'>;

/**
 * How one metric is analysed.
 * - `conversion`: did the unit convert at least once after exposure (binomial, whatever the count).
 * - `sum`: the unit's total value (the mean per unit, Welch's t-test).
 * - `count`: the unit's number of conversions (the mean per unit, Welch's t-test).
 * - `mean`: the average value of the unit's conversions, over the units that converted (Welch).
 * - `ratio`: the sum of one metric over the sum of another, across units (delta method).
 *
 * @example
 * ```ts
 * const revenue: MetricDeclaration = { kind: 'sum' };
 * const ordersPerVisit: MetricDeclaration = { kind: 'ratio', numerator: 'order', denominator: 'visit' };
 * ```
 */
export type MetricDeclaration =
  | (DeclarationBase & { readonly kind: Exclude<MetricDeclarationKind, 'ratio'> })
  | (DeclarationBase & {
      readonly kind: 'ratio';
      /** The metric whose per-unit totals are summed above the line. */
      readonly numerator: string;
      /** The metric whose per-unit totals are summed below it. */
      readonly denominator: string;
    });

/**
 * Declarations by metric name, as `configure({ metrics })` takes them.
 *
 * @example
 * ```ts
 * const metrics: MetricDeclarations = {
 *   purchase: { kind: 'conversion' },
 *   latency_ms: { kind: 'mean', higherIsBetter: false },
 *   refunds: { kind: 'conversion', guardrail: true, higherIsBetter: false },
 * };
 * ```
 */
export type MetricDeclarations = Readonly<Record<string, MetricDeclaration>>;

/**
 * Declare your metrics here to have `convert({ metric })` checked by the compiler: augment it
 * with the type of the declarations you pass to `configure({ metrics })`. Without it, a
 * metric is any string.
 *
 * @example
 * ```ts
 * export const metrics = defineMetrics({ purchase: { kind: 'conversion' }, revenue: { kind: 'sum' } });
 * declare module 'tracks' {
 *   interface TracksRegister {
 *     metrics: typeof metrics;
 *   }
 * }
 * convert({ key, metric: 'purchase' }); // ok
 * convert({ key, metric: 'purchse' });  // compile error
 * ```
 */
export interface TracksRegister {}

// Written out in one mapped type, not through a named helper: a compile error then lists the
// names ('"purchase" | "order" | "visit"'), not the helper's unexpanded alias.
/**
 * The metric names `convert()` takes: when you registered your declarations, the keys of
 * `TracksRegister['metrics']`, a ratio's numerator and denominator in place of its own name
 * (a ratio is computed from its two parts, never recorded), else any string.
 *
 * @example
 * ```ts
 * const metric: MetricName = 'purchase';
 * ```
 */
export type MetricName = TracksRegister extends { readonly metrics: infer M }
  ? Extract<{ [K in keyof M]: M[K] extends { readonly kind: 'ratio'; readonly numerator: infer N; readonly denominator: infer D } ? N | D : K }[keyof M], string>
  : string;

/**
 * Keeps the literal names of metric declarations for {@link TracksRegister} (and checks them
 * as `configure({ metrics })` would): the identity at run time.
 *
 * @example
 * ```ts
 * export const metrics = defineMetrics({ purchase: { kind: 'conversion' } });
 * configure({ store, metrics });
 * ```
 */
export function defineMetrics<const M extends MetricDeclarations>(metrics: M): M {
  checkMetrics(metrics);
  return metrics;
}

const KINDS: readonly MetricDeclarationKind[] = ['conversion', 'sum', 'count', 'mean', 'ratio'];
const FIELDS = new Set(['kind', 'higherIsBetter', 'guardrail', 'numerator', 'denominator', 'cuped', 'cap']);

/**
 * Checks `configure({ metrics })`: a TracksError naming the metric and the field at fault, and
 * the fix. Returns the declarations as a Map (names like `constructor` are ordinary keys).
 *
 * @example
 * ```ts
 * checkMetrics({ purchase: { kind: 'conversion' } }); // Map { 'purchase' => { kind: 'conversion' } }
 * ```
 */
export function checkMetrics(metrics: unknown): Map<string, MetricDeclaration> {
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
    throw new TracksError(`metrics must be an object of declarations by name, e.g. { purchase: { kind: 'conversion' } }, not ${Array.isArray(metrics) ? 'an array' : String(metrics)}`);
  }
  const declared = new Map<string, MetricDeclaration>();
  for (const [name, value] of Object.entries(metrics)) {
    const at = `metrics.${name}`;
    const problem = nameProblem(name);
    if (problem !== undefined) throw new TracksError(`the metric name ${quoted(name)} ${problem}`);
    if (typeof value !== 'object' || value === null) {
      throw new TracksError(`${at} must be a declaration such as { kind: 'conversion' }, not ${String(value)}`);
    }
    const d = value as Record<string, unknown>;
    for (const field of Object.keys(d)) {
      if (!FIELDS.has(field)) throw new TracksError(`${at} has an unknown field ${quoted(field)}; a declaration has kind, higherIsBetter, guardrail, cuped, cap (and numerator, denominator for a ratio)`);
    }
    if (!KINDS.includes(d.kind as MetricDeclarationKind)) {
      throw new TracksError(`${at}.kind is ${d.kind === undefined ? 'missing' : quoted(String(d.kind))}; use one of ${KINDS.map((k) => `'${k}'`).join(', ')}`);
    }
    for (const flag of ['higherIsBetter', 'guardrail'] as const) {
      if (d[flag] !== undefined && typeof d[flag] !== 'boolean') throw new TracksError(`${at}.${flag} must be true or false, not ${String(d[flag])}`);
    }
    const analysisProblem = analysisProblemOf(d.kind as MetricDeclarationKind, d);
    if (analysisProblem !== undefined) throw new TracksError(`${at}.${analysisProblem}`);
    if (d.kind === 'ratio') {
      for (const part of ['numerator', 'denominator'] as const) {
        const partProblem = typeof d[part] === 'string' ? nameProblem(d[part]) : 'is missing';
        if (partProblem !== undefined) {
          throw new TracksError(`${at}.${part} ${partProblem}; a ratio names the metrics it divides, e.g. { kind: 'ratio', numerator: 'order', denominator: 'visit' }`);
        }
        if (d[part] === name) throw new TracksError(`${at}.${part} is the ratio itself; name the recorded metric it divides`);
      }
      if (d.numerator === d.denominator) {
        throw new TracksError(`${at} divides ${quoted(String(d.numerator))} by itself, which is 1 for every track; name two different metrics, e.g. { kind: 'ratio', numerator: 'order', denominator: 'visit' }`);
      }
    } else if (d.numerator !== undefined || d.denominator !== undefined) {
      throw new TracksError(`${at} has a numerator or denominator, which only a ratio has; use kind: 'ratio', or leave them out`);
    }
    declared.set(name, Object.freeze({ ...d }) as unknown as MetricDeclaration);
  }
  for (const [name, d] of declared) {
    if (d.kind !== 'ratio') continue;
    for (const part of [d.numerator, d.denominator]) {
      if (declared.get(part)?.kind === 'ratio') throw new TracksError(`metrics.${name} divides ${quoted(part)}, itself a ratio; a ratio divides recorded metrics`);
    }
  }
  return declared;
}

/**
 * What is wrong with a declaration's `cuped` and `cap`, as "field is ...; fix", or undefined.
 * Shared by `checkMetrics` and the store's check of a published metric event.
 */
export function analysisProblemOf(kind: MetricDeclarationKind, d: { readonly cuped?: unknown; readonly cap?: unknown }): string | undefined {
  if (d.cuped !== undefined && d.cuped !== false) {
    const days = typeof d.cuped === 'object' && d.cuped !== null ? (d.cuped as { windowDays?: unknown }).windowDays : undefined;
    if (typeof days !== 'number' || !(days > 0 && days <= 366) || Object.keys(d.cuped as object).some((k) => k !== 'windowDays')) {
      return `cuped is ${shown(d.cuped)}; give { windowDays: 14 } (more than 0, at most 366 days) or false`;
    }
    if (kind === 'ratio') return "cuped applies to conversion, sum, count and mean metrics, not to a ratio; leave it out";
  }
  if (d.cap !== undefined) {
    if (kind === 'ratio' || kind === 'conversion') return `cap caps a unit's value of a sum, count or mean metric; a ${kind} cannot be capped, leave it out`;
    const cap = d.cap as { value?: unknown; percentile?: unknown } | null;
    const keys = typeof cap === 'object' && cap !== null ? Object.keys(cap) : [];
    const ok =
      keys.length === 1 &&
      ((keys[0] === 'value' && typeof cap!.value === 'number' && Number.isFinite(cap!.value) && cap!.value > 0) ||
        (keys[0] === 'percentile' && typeof cap!.percentile === 'number' && cap!.percentile >= 0.5 && cap!.percentile < 1));
    if (!ok) return `cap is ${shown(d.cap)}; give { value: 1000 } (a positive number) or { percentile: 0.99 } (at least 0.5, below 1)`;
  }
  return undefined;
}

/**
 * The ratios among declarations, for `store.summarize({ ratios })` (which sums the products
 * of their numerator and denominator totals).
 *
 * @example
 * ```ts
 * ratiosOf(await store.readMetrics()); // [{ numerator: 'order', denominator: 'visit' }]
 * ```
 */
export function ratiosOf(declared: ReadonlyMap<string, MetricDeclaration>): Array<{ numerator: string; denominator: string }> {
  const pairs = new Map<string, { numerator: string; denominator: string }>();
  for (const d of declared.values()) if (d.kind === 'ratio') pairs.set(JSON.stringify([d.numerator, d.denominator]), { numerator: d.numerator, denominator: d.denominator });
  return [...pairs.values()];
}

/** The event that publishes a declaration to the store. */
export function metricEventOf(name: string, declaration: MetricDeclaration, eventId: string, at: number): MetricEvent {
  return {
    kind: 'metric',
    eventId,
    name,
    metricKind: declaration.kind,
    numerator: declaration.kind === 'ratio' ? declaration.numerator : null,
    denominator: declaration.kind === 'ratio' ? declaration.denominator : null,
    // A guardrail has no default direction: "refunds" must not rise, "revenue" must not fall.
    higherIsBetter: declaration.higherIsBetter ?? (declaration.guardrail === true ? null : true),
    guardrail: declaration.guardrail ?? false,
    ...(declaration.cuped !== undefined || declaration.cap !== undefined ? { analysis: analysisOf(declaration) } : {}),
    at,
  };
}

function analysisOf(d: MetricAnalysis): MetricAnalysis {
  return { ...(d.cuped === undefined ? {} : { cuped: d.cuped }), ...(d.cap === undefined ? {} : { cap: d.cap }) };
}

/** The declaration a stored event publishes. */
export function declarationOf(event: Pick<MetricEvent, 'metricKind' | 'numerator' | 'denominator' | 'higherIsBetter' | 'guardrail' | 'analysis'>): MetricDeclaration {
  const base = {
    ...(event.higherIsBetter === null ? {} : { higherIsBetter: event.higherIsBetter }),
    guardrail: event.guardrail,
    ...(event.analysis === undefined ? {} : analysisOf(event.analysis)),
  };
  if (event.metricKind === 'ratio') return { ...base, kind: 'ratio', numerator: event.numerator ?? '', denominator: event.denominator ?? '' };
  return { ...base, kind: event.metricKind };
}
