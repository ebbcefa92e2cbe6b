import { createRequire } from 'node:module';
import type normalCdfType from '@stdlib/stats-base-dists-normal-cdf';
import type normalPdfType from '@stdlib/stats-base-dists-normal-pdf';
import type tCdfType from '@stdlib/stats-base-dists-t-cdf';
import type tQuantileType from '@stdlib/stats-base-dists-t-quantile';
import type gammaincType from '@stdlib/math-base-special-gammainc';
import type gammalnType from '@stdlib/math-base-special-gammaln';
import type erfcinvType from '@stdlib/math-base-special-erfcinv';
import { TracksError } from '../errors.js';
import { assertFiniteNumber, assertNumber, assertOpenUnitInterval } from './validate.js';

// Loaded on first use: @stdlib is about 140 small modules, and a service that only assigns
// tracks should not load them at start-up by importing 'tracks'.
const require = createRequire(import.meta.url);
let stdlib:
  | {
      normalCdf: typeof normalCdfType;
      normalPdf: typeof normalPdfType;
      tCdf: typeof tCdfType;
      tQuantile: typeof tQuantileType;
      gammainc: typeof gammaincType;
      gammaln: typeof gammalnType;
      erfcinv: typeof erfcinvType;
    }
  | undefined;

function lib(): NonNullable<typeof stdlib> {
  return (stdlib ??= {
    normalCdf: require('@stdlib/stats-base-dists-normal-cdf') as typeof normalCdfType,
    normalPdf: require('@stdlib/stats-base-dists-normal-pdf') as typeof normalPdfType,
    tCdf: require('@stdlib/stats-base-dists-t-cdf') as typeof tCdfType,
    tQuantile: require('@stdlib/stats-base-dists-t-quantile') as typeof tQuantileType,
    gammainc: require('@stdlib/math-base-special-gammainc') as typeof gammaincType,
    gammaln: require('@stdlib/math-base-special-gammaln') as typeof gammalnType,
    erfcinv: require('@stdlib/math-base-special-erfcinv') as typeof erfcinvType,
  });
}

/** Degrees of freedom: positive, and `Infinity` means the normal law. */
function assertDegreesOfFreedom(df: number): void {
  if (typeof df !== 'number' || Number.isNaN(df) || df <= 0) {
    throw new TracksError(`df must be a positive number or Infinity, got ${String(df)}`);
  }
}

// Thin wrappers over @stdlib, the one place the statistics layer touches special functions.
// Upper tails are computed directly (cdf(-|x|) for symmetric laws, the upper regularized
// incomplete gamma for chi-square) rather than as 1 - cdf(x), which would round to 0 once
// cdf(x) rounds to 1 (already at z ≈ 8.3).

/**
 * The smallest positive double. Tail probabilities that are smaller than this underflow; we
 * report this value instead of 0 so that a p-value is never exactly zero for finite evidence.
 *
 * @example
 * ```ts
 * normalSf(40); // 0: the true tail, ~3.7e-350, underflows
 * twoSidedNormalPValue(40) === SMALLEST_PROBABILITY; // true: p-values are raised to it
 * ```
 */
export const SMALLEST_PROBABILITY = Number.MIN_VALUE;

function atLeastSmallest(p: number): number {
  return p > 0 ? p : SMALLEST_PROBABILITY;
}

/**
 * Standard normal cumulative distribution function, P(Z <= x).
 *
 * @example
 * ```ts
 * normalCdf(1.959963984540054); // 0.975
 * ```
 */
export function normalCdf(x: number): number {
  assertNumber('x', x);
  return lib().normalCdf(x, 0, 1);
}

/**
 * Standard normal survival function, P(Z > x), accurate far into the tail.
 *
 * @example
 * ```ts
 * normalSf(10); // 7.62e-24, not 0
 * ```
 */
export function normalSf(x: number): number {
  assertNumber('x', x);
  return lib().normalCdf(-x, 0, 1);
}

/**
 * Standard normal density.
 *
 * @example
 * ```ts
 * normalPdf(0); // 0.3989422804014327
 * ```
 */
export function normalPdf(x: number): number {
  assertNumber('x', x);
  return lib().normalPdf(x, 0, 1);
}

/**
 * Standard normal quantile (inverse cdf) for a probability strictly between 0 and 1.
 *
 * @example
 * ```ts
 * normalQuantile(0.975); // 1.959963984540054
 * ```
 */
export function normalQuantile(p: number): number {
  assertOpenUnitInterval('p', p);
  // −√2·erfcinv(2p), not @stdlib's normal quantile √2·erfinv(2p − 1): 2p − 1 rounds to −1 for
  // p below 1.1e−16 (giving −Infinity) and loses digits from p ≈ 1e−8 down. 2p is exact, and
  // erfcinv works from 2 − 2p for p ≥ 0.5, which is exact too.
  return -Math.SQRT2 * lib().erfcinv(2 * p);
}

/**
 * Student t cumulative distribution function with `df` degrees of freedom (df may be
 * fractional, as Welch–Satterthwaite produces; `Infinity` gives the normal law).
 *
 * @example
 * ```ts
 * studentTCdf(2.228138851986274, 10); // 0.975
 * ```
 */
export function studentTCdf(t: number, df: number): number {
  assertNumber('t', t);
  assertDegreesOfFreedom(df);
  return df === Number.POSITIVE_INFINITY ? normalCdf(t) : lib().tCdf(t, df);
}

/**
 * Student t survival function, P(T > t), computed as cdf(-t) so the upper tail keeps its
 * precision.
 *
 * @example
 * ```ts
 * studentTSf(2.228138851986274, 10); // 0.025
 * ```
 */
export function studentTSf(t: number, df: number): number {
  assertNumber('t', t);
  return studentTCdf(-t, df);
}

/**
 * Student t quantile (inverse cdf).
 *
 * @example
 * ```ts
 * studentTQuantile(0.975, 10); // 2.228138851986274
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  assertOpenUnitInterval('p', p);
  assertDegreesOfFreedom(df);
  return df === Number.POSITIVE_INFINITY ? normalQuantile(p) : lib().tQuantile(p, df);
}

/**
 * Chi-square survival function, P(X > x) with `df` degrees of freedom: the upper regularized
 * incomplete gamma function Q(df/2, x/2), so large finite statistics give small positive
 * values (at least {@link SMALLEST_PROBABILITY}); an infinite statistic gives 0.
 *
 * @example
 * ```ts
 * chiSquareSf(3.841458820694124, 1); // 0.05
 * ```
 */
export function chiSquareSf(x: number, df: number): number {
  assertDegreesOfFreedom(df);
  if (typeof x !== 'number' || Number.isNaN(x)) throw new TracksError(`x must be a number, got ${String(x)}`);
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const a = df / 2;
  const half = x / 2;
  // Where @stdlib takes its large-x series (Boost's condition; for a ≤ 1 the tail is below
  // e^−1000 and underflows anyway), the sum below.
  const largeX = half > 1000 && a > 1 && (a < half || Math.abs(a - 50) / half < 1);
  // Used directly as the p-value of the SRM check, so it is floored like the other p-values.
  return atLeastSmallest(largeX ? upperGammaLargeX(a, half) : lib().gammainc(half, a, true, true));
}

/**
 * Q(a, x) for x > 1000, where @stdlib's gammainc (0.3.1) takes Boost's large-x series but
 * starts its terms at a/x instead of (a − 1)/x, off by 0.1% to 2% once a is large enough for
 * the tail not to underflow (df ≳ 200, statistic > 2000, where it disagrees with scipy's chi2.sf).
 * The series is the finite sum, from Q(s + 1, x) = Q(s, x) + xˢe⁻ˣ/Γ(s + 1),
 *
 *   Q(a, x) = Σ over s = a − 1, a − 2, … > 0 of xˢe⁻ˣ/Γ(s + 1)  (+ Q(a − n, x) < e⁻ˣ ≈ 0),
 *
 * of positive terms, each the previous times s/x, summed relative to the first,
 * exp((a − 1)·ln x − x − ln Γ(a)). In this region a < x + 50, so they grow by at most e^1.25
 * before they fall, and fall below 1e−17 of the sum within about 9·√x terms.
 */
function upperGammaLargeX(a: number, x: number): number {
  let term = 1;
  let sum = 0;
  for (let s = a - 1; s > 0; s--) {
    sum += term;
    term *= s / x;
    if (s < x && term < 1e-17 * sum) break;
  }
  return Math.min(1, Math.exp((a - 1) * Math.log(x) - x - lib().gammaln(a) + Math.log(sum)));
}

/**
 * Two-sided p-value of a z statistic, 2·P(Z > |z|); never 0 for a finite z.
 *
 * @example
 * ```ts
 * twoSidedNormalPValue(1.959963984540054); // 0.05
 * ```
 */
export function twoSidedNormalPValue(z: number): number {
  assertFiniteNumber('z', z);
  return Math.min(1, atLeastSmallest(2 * normalSf(Math.abs(z))));
}

/**
 * Two-sided p-value of a t statistic, 2·P(T > |t|); never 0 for a finite t.
 *
 * @example
 * ```ts
 * twoSidedTPValue(2.228138851986274, 10); // 0.05
 * ```
 */
export function twoSidedTPValue(t: number, df: number): number {
  assertFiniteNumber('t', t);
  return Math.min(1, atLeastSmallest(2 * studentTSf(Math.abs(t), df)));
}

/**
 * One-sided p-value P(T > t) for the alternative "greater" (use `-t` for "less"); never 0
 * for a finite t. With `df = Infinity` it is the normal tail.
 *
 * @example
 * ```ts
 * upperTailPValue(1.6448536269514722, Infinity); // 0.05
 * ```
 */
export function upperTailPValue(t: number, df: number): number {
  assertFiniteNumber('t', t);
  return atLeastSmallest(studentTSf(t, df));
}
