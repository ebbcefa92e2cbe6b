import { TracksError } from '../errors.js';
import { normalQuantile } from './distributions.js';
import { readAlpha, type Interval } from './inference.js';
import { cannotCompute, computed, type StatResult } from './result.js';
import { assertOptions, assertPositive } from './validate.js';

/**
 * Options of {@link rateInterval}: the level of both intervals is 1 − `alpha` (default 0.05);
 * `tuningParameter` (default 10,000) is the number of compared runs at which the sequential
 * interval is tightest. Any positive value keeps its guarantee; a poor one only widens it.
 *
 * @example
 * ```ts
 * const options: RateIntervalOptions = { alpha: 0.05, tuningParameter: 50_000 };
 * ```
 */
export interface RateIntervalOptions {
  readonly alpha?: number | undefined;
  readonly tuningParameter?: number | undefined;
}

/**
 * Result of {@link rateInterval}: a share of runs (mismatches, errors or timeouts among the
 * runs compared) with two intervals.
 *
 * - `estimate`: `count / of`.
 * - `confidenceInterval`: Wilson's score interval, for one look at a fixed number of runs.
 * - `sequentialInterval`: an always-valid interval: the chance that it ever misses the true
 *   rate, at any of any number of looks while runs accumulate, is at most alpha. Wider than
 *   the Wilson interval (about 1.5 × near the tuning parameter), never of zero width, and it
 *   always holds the estimate.
 *
 * @example
 * ```ts
 * const mismatches = rateInterval(150, 5000);
 * if (mismatches.ok) mismatches.sequentialInterval; // ≈ [0.0231, 0.0380]
 * ```
 */
export interface RateIntervalResult {
  readonly count: number;
  readonly of: number;
  readonly estimate: number;
  readonly confidenceInterval: Interval;
  readonly sequentialInterval: Interval;
}

/** The sequential interval's default tuning parameter: compared runs at which it is tightest. */
const DEFAULT_TUNING_RUNS = 10_000;

/**
 * The share `count / of` of runs with a confidence interval and an always-valid one, for a
 * shadow candidate's mismatch, error or timeout rate (often tiny, often 0).
 *
 * `confidenceInterval` is Wilson's (1927) score interval at level 1 − alpha, with z the normal
 * quantile 1 − alpha/2:
 *
 *   (count + z²/2)/(of + z²) ± z/(of + z²)·√(count·(of − count)/of + z²/4),
 *
 * exactly 0 (1) at its lower (upper) end when count is 0 (of). Unlike the Wald interval it
 * does not collapse to a point at 0 mismatches.
 *
 * `sequentialInterval` is a confidence sequence from a Beta-mixture likelihood ratio (Robbins
 * 1970; Howard, Ramdas, McAuliffe & Sekhon 2021, section 3, "conjugate mixtures"): for each
 * candidate rate p the runs' likelihood under a Beta(c·p, c·(1 − p)) mixture of rates
 * around p over their likelihood under p,
 *
 *   M(p) = B(c·p + count, c·(1 − p) + of − count) / B(c·p, c·(1 − p)) / (p^count·(1 − p)^(of − count)),
 *
 * is a nonnegative martingale with mean 1 while p is the true rate, so by Ville's inequality
 * it ever reaches 1/alpha with probability at most alpha. The interval is the set of rates
 * with M(p) < 1/alpha: exact for 0/1 outcomes at every number of runs (no normal
 * approximation), and never empty or of zero width. The mixture's variance p(1 − p)/(c + 1)
 * is, up to the + 1, the normal mixture's of {@link confidenceSequence}, so the prior strength
 * is c = N* / (−2 ln α + ln(1 − 2 ln α)) runs for N* = `tuningParameter`. The set is an
 * interval (M falls up to count/of and rises after it, checked numerically by the reference
 * script); its ends are found numerically.
 * Formula and simulations: docs/statistics.md, "Shadow comparisons".
 *
 * Cannot compute when `of` is 0. Throws TracksError for counts that are not whole numbers of
 * runs, or `count` above `of`.
 *
 * @example
 * ```ts
 * const none = rateInterval(0, 5000);
 * if (none.ok) {
 *   none.confidenceInterval; // [0, 0.000768]: Wilson
 *   none.sequentialInterval; // [0, 0.00100]: holds at every look
 * }
 * ```
 */
export function rateInterval(
  count: number,
  of: number,
  options: RateIntervalOptions = {},
): StatResult<RateIntervalResult> {
  assertOptions('rateInterval', options);
  assertRuns('of', of);
  assertRuns('count', count);
  if (count > of) {
    throw new TracksError(`count counts runs among the of (${of}) runs compared and must be at most of, got ${count}`);
  }
  const alpha = readAlpha(options.alpha, 'rateInterval');
  const tuningParameter = options.tuningParameter ?? DEFAULT_TUNING_RUNS;
  assertPositive('tuningParameter', tuningParameter);
  if (of === 0) return cannotCompute('there are no runs (of is 0)');
  return computed({
    count,
    of,
    estimate: count / of,
    confidenceInterval: wilsonInterval(count, of, alpha),
    sequentialInterval: sequentialInterval(count, of, alpha, tuningParameter),
  });
}

function assertRuns(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TracksError(`${name} must be a whole number of runs, got ${String(value)}`);
  }
}

/** The last alpha's normal quantile: a dashboard asks for many rates at one level. */
let lastZ: { readonly alpha: number; readonly z: number } | undefined;

function wilsonInterval(count: number, of: number, alpha: number): Interval {
  if (lastZ?.alpha !== alpha) lastZ = { alpha, z: normalQuantile(1 - alpha / 2) };
  return wilsonScoreInterval(count, of, lastZ.z);
}

/**
 * Wilson's score interval for `count` of `of` at the normal quantile `z` (its ends exactly 0
 * and 1 where the count is). Internal to the statistics layer (proportionTest's Newcombe interval).
 *
 * @example
 * ```ts
 * wilsonScoreInterval(0, 28, 1.959963984540054); // [0, 0.1206]
 * ```
 */
export function wilsonScoreInterval(count: number, of: number, z: number): Interval {
  const z2 = z * z;
  const centre = (count + z2 / 2) / (of + z2);
  const half = (z / (of + z2)) * Math.sqrt((count * (of - count)) / of + z2 / 4);
  return [count === 0 ? 0 : Math.max(0, centre - half), count === of ? 1 : Math.min(1, centre + half)];
}

/**
 * The Beta mixture's prior strength c (in runs) for a tuning parameter N*: c = 1/ρ², with
 * ρ² the normal mixture's mixing variance per unit variance (confidence-sequence.ts).
 * Exported for the tests, not from the barrel.
 *
 * @example
 * ```ts
 * mixtureStrength(0.05, 10_000); // ≈ 1260 runs
 * ```
 */
export function mixtureStrength(alpha: number, tuningParameter: number): number {
  const twoLogInverseAlpha = -2 * Math.log(alpha);
  return tuningParameter / (twoLogInverseAlpha + Math.log(twoLogInverseAlpha + 1));
}

/**
 * ln M(p), the log of the Beta-mixture likelihood ratio above, for `count` of `of` runs and
 * a rate 0 < p < 1. Exported for the tests (not from the barrel): the sequential interval is
 * exactly the rates where this is below ln(1/alpha).
 *
 * @example
 * ```ts
 * logMixtureRatio(150, 5000, 0.03, mixtureStrength(0.05, 10_000)); // < ln 20: 0.03 is inside
 * ```
 */
export function logMixtureRatio(count: number, of: number, p: number, strength: number): number {
  return logMixture(strength, count, of - count, p, 1 - p, Math.log(p), Math.log1p(-p));
}

/**
 * ln M for `count` runs counted and `rest` not, at a rate p (q = 1 − p, and their logs, each
 * passed in at full precision). With a = c·p and b = c·q,
 *
 *   ln M = ln Γ(a + k) − ln Γ(a) + ln Γ(b + r) − ln Γ(b) − ln Γ(c + n) + ln Γ(c) − k ln p − r ln q,
 *
 * grouped so that the larger count only appears in the one term that also holds the other:
 * for k ≤ r, [ln Γ(a + k) − ln Γ(a) − k ln p] + [ln Γ(c) − ln Γ(b)] − [ln Γ(c + n) − ln Γ(b + r)]
 * − r ln q. Each bracket is a ln Γ ratio of moderate size, where the plain sum would cancel
 * terms of order n·ln n (3e13 at a trillion runs) down to a few units.
 */
function logMixture(
  strength: number,
  count: number,
  rest: number,
  p: number,
  q: number,
  logP: number,
  logQ: number,
): number {
  const a = strength * p;
  const b = strength * q;
  if (count <= rest) {
    return (
      (count === 0 ? 0 : logGammaRatio(a, count) - count * logP) +
      logGammaRatio(b, a) -
      logGammaRatio(b + rest, a + count) -
      (rest === 0 ? 0 : rest * logQ)
    );
  }
  return (
    logGammaRatio(b, rest) -
    rest * logQ +
    logGammaRatio(a, b) -
    logGammaRatio(a + count, b + rest) -
    count * logP
  );
}

function sequentialInterval(count: number, of: number, alpha: number, tuningParameter: number): Interval {
  const strength = mixtureStrength(alpha, tuningParameter);
  const threshold = -Math.log(alpha);
  const rest = of - count;
  // ln M − ln(1/alpha) at the rate with log-odds x, from p and 1 − p each computed directly,
  // so that a rate near 0 or near 1 keeps its full precision.
  const excess = (x: number): number => {
    const logP = -Math.log1p(Math.exp(-x));
    const logQ = -Math.log1p(Math.exp(x));
    return logMixture(strength, count, rest, Math.exp(logP), Math.exp(logQ), logP, logQ) - threshold;
  };
  // Where the normal mixture with the variance p(1 − p) of each rate tried would end, which
  // the sequence approaches when counts are large: (count − of·p)² = K·p(1 − p).
  const k = (of + strength) * (2 * threshold + Math.log1p(of / strength));
  const root = Math.sqrt(k * (k + 4 * count * rest));
  const lowerGuess = (2 * count * count) / (2 * count * of + k + root);
  const lower = count <= 1 ? Number.NEGATIVE_INFINITY : lowerRoot(excess, count / of, lowerGuess);
  // The upper end is the lower end with the rates mirrored (x → −x, count and of − count
  // swapped; ln M is symmetric under the swap), converted back without rounding 1 − p.
  const upperGuess = (2 * rest * rest) / (2 * rest * of + k + root); // of 1 − the end
  const upper = rest <= 1 ? Number.NEGATIVE_INFINITY : lowerRoot((x) => excess(-x), rest / of, upperGuess);
  return [1 / (1 + Math.exp(-lower)), 1 / (1 + Math.exp(upper))];
}

/** ln(p/(1 − p)), kept within ±700 so that both e^x and e^−x stay finite. */
function logOdds(p: number): number {
  return Math.min(700, Math.max(-700, Math.log(p) - Math.log1p(-p)));
}

/**
 * The lower end of the sequential interval in log-odds: the root of `excess` below the
 * estimate, searched from the rate `guess`; −Infinity (a rate of 0) when the excess is still
 * negative at 1e-304. With no run counted p = 0 is in the interval (M(0) = 1); with one,
 * M(p) tends to c/(c + of − 1) < 1 as p → 0, so every rate down to 0 is in it (0 itself,
 * impossible after a counted run, is its closure): the caller handles both. From two on, M(p)
 * grows without bound as p → 0 and is at most 1 at the estimate, decreasing in between.
 */
function lowerRoot(excess: (x: number) => number, estimate: number, guess: number): number {
  const top = logOdds(estimate); // excess(top) ≤ −ln(1/alpha) < 0
  let a = Math.min(top, logOdds(guess));
  let fa = excess(a);
  let step = 1 / 32;
  if (fa > 0) {
    // The root is above a, and below the estimate.
    let b = Math.min(top, a + step);
    let fb = excess(b);
    while (fb > 0) {
      if (b >= top) return top; // only by rounding: ln M ≤ 0 at the estimate
      a = b;
      fa = fb;
      step *= 4;
      b = Math.min(top, b + step);
      fb = excess(b);
    }
    return findRoot(excess, a, fa, b, fb);
  }
  let b = a - step;
  let fb = excess(b);
  while (fb <= 0) {
    if (b <= -700) return Number.NEGATIVE_INFINITY; // below 1e-304: no double to report
    a = b;
    fa = fb;
    step *= 4;
    b = Math.max(-700, b - step);
    fb = excess(b);
  }
  return findRoot(excess, b, fb, a, fa);
}

/**
 * Brent's method (Brent 1973, "zeroin") for the root of f between a and b, where f(a) and
 * f(b) have opposite signs, to 5e-14 (in log-odds: a relative precision of 5e-14 in the rate
 * and in 1 − the rate).
 */
function findRoot(f: (x: number) => number, a: number, fa: number, b: number, fb: number): number {
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let iteration = 0; iteration < 200; iteration++) {
    if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tolerance = 5e-14;
    const m = (c - b) / 2;
    if (Math.abs(m) <= tolerance || fb === 0) return b;
    if (Math.abs(e) >= tolerance && Math.abs(fa) > Math.abs(fb)) {
      // Inverse quadratic interpolation, or the secant when only two points differ.
      let p: number;
      let q: number;
      const s = fb / fa;
      if (a === c) {
        p = 2 * m * s;
        q = 1 - s;
      } else {
        const r = fb / fc;
        const t = fa / fc;
        p = s * (2 * m * t * (t - r) - (b - a) * (r - 1));
        q = (t - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < Math.min(3 * m * q - Math.abs(tolerance * q), Math.abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = m;
        e = m;
      }
    } else {
      d = m;
      e = m;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tolerance ? d : m > 0 ? tolerance : -tolerance;
    fb = f(b);
  }
  return b;
}

/** Below this, ln Γ is shifted up by the recurrence before the Stirling series is used. */
const STIRLING_FROM = 10;

/**
 * ln Γ(x + s) − ln Γ(x) for x > 0 and s ≥ 0, without the cancellation of two large ln Γ:
 * the recurrence Γ(x + 1) = x·Γ(x) lifts x to 10, where the Stirling series to 1/x¹³ is good
 * to about 1e-16.
 */
function logGammaRatio(x: number, s: number): number {
  if (s === 0) return 0;
  let sum = 0;
  if (x < STIRLING_FROM) {
    // ln Γ(x + s) − ln Γ(x) = that of x + 1, less ln((x + s)/x): one logarithm of the product
    // of the ratios, but the first ratio on its own when x is tiny (it can be huge).
    sum = -Math.log1p(s / x);
    x += 1;
    let product = 1;
    for (; x < STIRLING_FROM; x += 1) {
      product *= (x + s) / x;
      if (product > 1e280) {
        sum -= Math.log(product);
        product = 1;
      }
    }
    sum -= Math.log(product);
  }
  return sum + (x - 0.5) * Math.log1p(s / x) + s * Math.log(x + s) - s + stirlingTail(x + s) - stirlingTail(x);
}

/**
 * ln Γ(y) − ((y − 1/2)·ln y − y + ln √(2π)), the Stirling series B₂ₖ/(2k(2k − 1)·y^(2k−1)):
 * 1/(12y) − 1/(360y³) + 1/(1260y⁵) − 1/(1680y⁷) + 1/(1188y⁹) − 691/(360360y¹¹) + 1/(156y¹³).
 */
function stirlingTail(y: number): number {
  const y2 = 1 / (y * y);
  return (
    (1 / 12 - y2 * (1 / 360 - y2 * (1 / 1260 - y2 * (1 / 1680 - y2 * (1 / 1188 - y2 * (691 / 360360 - y2 / 156)))))) / y
  );
}
