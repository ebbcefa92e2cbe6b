"""Reference values for tracks' latency quantiles read from histograms (quantileInterval,
quantileDifference).

An independent implementation in numpy/scipy of the method in docs/statistics.md ("Latency
quantiles"): the histogram is read as a distribution whose log-duration density is, within a
bucket, exponential with the slope of the neighbouring buckets (uniform where a neighbour holds
fewer than 10 runs or |curvature|*w^2 > 4, linear from 0 in the first bucket); Woodruff's
(1952) interval maps the ranks n*q -/+ z*sqrt(n*q*(1-q)) back through it; each end is widened
in quadrature by the resolution margin (the size of the slope correction plus
|curvature|*w^3/(72*sqrt(3))), never past its bucket's edge, and is that edge where the
bucket's shape is unknown. The standard error is the interval's width / (2z). Differences and
ratios (on the log scale) combine the two tracks' intervals end by end, in quadrature (MOVER,
Zou and Donner, Statistics in Medicine 27, 2008), except that where the shape of the
quantile's bucket is unknown, an end's distance up to the bucket's edge is a bound and adds
linearly (the rest in quadrature); a side whose end is such an edge is lt - uc (ut - lc)
exactly, open (the next double inward) where the end it subtracts from is a bucket's lower
edge; the p-value is the smallest level whose interval
excludes "no change" (found with scipy.optimize.brentq on log(alpha); 1e-12 at the least). It also checks
the normal-approximation ranks against the exact binomial order-statistic ranks
(scipy.stats.binom), the interval of Conover's Practical Nonparametric Statistics (3rd ed.,
1999, chapter 3).

Run: python3 scripts/reference/latency_quantiles.py > test/fixtures/stats/latency-quantiles.json
"""
import json
import numpy as np
import scipy
from scipy import integrate, optimize, stats

SOURCE = ("numpy %s / scipy %s, scripts/reference/latency_quantiles.py (independent implementation of "
          "the Woodruff 1952 interval through the interpolated histogram, docs/statistics.md 'Latency quantiles'; "
          "in-bucket shape inverted with scipy.integrate.quad and scipy.optimize.brentq; z from scipy.stats.norm.ppf; "
          "differences and ratios by MOVER, Zou and Donner 2008, bucket-edge ends added linearly; p-values by inverting the intervals with scipy.optimize.brentq)" % (np.__version__, scipy.__version__))

BOUNDS = 0.05 * 2.0 ** (np.arange(66) / 3.0)  # the recorder's LATENCY_BUCKET_BOUNDS_MS
MIN_NEIGHBOUR_RUNS = 10  # fewer runs in a neighbour: no slope, the bucket is read log-linearly
MAX_CURVATURE = 4  # largest |curvature| * w^2 of the log density for which the slope is used


def counts_of(sparse):
    c = np.zeros(66, dtype=np.int64)
    for i, k in sparse.items():
        c[int(i)] = k
    return c


def read(c, r):
    """Bucket, interpolated duration and margin (or None) of the run at fractional rank r."""
    cum = np.cumsum(c)
    occupied = np.nonzero((c > 0) & (cum >= r))[0]
    i = int(occupied[0])
    f = min(1.0, max(0.0, (r - (cum[i] - c[i])) / c[i]))
    if i == 0:
        return i, BOUNDS[0] * f, None
    if i == len(c) - 1:
        return i, BOUNDS[i - 1], None
    lo, w = np.log(BOUNDS[i - 1]), np.log(BOUNDS[i] / BOUNDS[i - 1])
    plain = f * w
    if i < 2 or i > len(c) - 3 or c[i - 1] < MIN_NEIGHBOUR_RUNS or c[i + 1] < MIN_NEIGHBOUR_RUNS:
        return i, np.exp(lo + plain), None
    # log densities at the neighbours' centres (geometric mean of their bounds)
    wb, wa = np.log(BOUNDS[i - 1] / BOUNDS[i - 2]), np.log(BOUNDS[i + 1] / BOUNDS[i])
    cb, ca = np.log(BOUNDS[i - 2]) + wb / 2, np.log(BOUNDS[i]) + wa / 2
    a = (np.log(c[i + 1] / wa) - np.log(c[i - 1] / wb)) / (ca - cb)
    # curvature: second derivative of the parabola through the three log densities
    w0 = np.log(BOUNDS[i] / BOUNDS[i - 1])
    xs = [cb, np.log(BOUNDS[i - 1]) + w0 / 2, ca]
    ys = [np.log(c[i - 1] / wb), np.log(c[i] / w0), np.log(c[i + 1] / wa)]
    kappa = 2 * np.polyfit(xs, ys, 2)[0]
    if abs(kappa) * w0 ** 2 > MAX_CURVATURE:  # too bent for a slope to describe the bucket
        return i, np.exp(lo + plain), None
    # invert the cumulative share of the density exp(a*u) on [0, w] by root finding on its
    # integral (scipy.integrate.quad), not with tracks' closed form
    total = integrate.quad(lambda u: np.exp(a * u), 0, w, epsabs=0, epsrel=1e-13)[0]
    shaped = optimize.brentq(
        lambda x: integrate.quad(lambda u: np.exp(a * u), 0, x, epsabs=0, epsrel=1e-13)[0] / total - f,
        0.0, w, xtol=1e-15, rtol=1e-15) if 0 < f < 1 else f * w
    return i, np.exp(lo + shaped), abs(shaped - plain) + abs(kappa) * w ** 3 / (72 * np.sqrt(3))


def edges(c, i):
    return (0.0 if i == 0 else BOUNDS[i - 1]), (np.inf if i == len(c) - 1 else BOUNDS[i])


def interval(c, q, alpha=0.05):
    n = int(c.sum())
    z = stats.norm.ppf(1 - alpha / 2)
    r, h = n * q, z * np.sqrt(n * q * (1 - q))
    i, est, middle_margin = read(c, r)
    above = i == len(c) - 1
    if above:
        est = BOUNDS[i - 1]
    low = read(c, r - h) if r - h > 0 else None
    high = read(c, r + h) if r + h <= n else None
    if low is None:
        lower = 0.0
    elif low[2] is None:
        lower = edges(c, low[0])[0]
    else:
        lower = max(edges(c, low[0])[0], est * np.exp(-np.hypot(np.log(est / low[1]), low[2])))
    if high is None:
        upper = np.inf
    elif high[2] is None:
        upper = edges(c, high[0])[1]
    else:
        upper = min(edges(c, high[0])[1], est * np.exp(np.hypot(np.log(high[1] / est), high[2])))
    if low is None or high is None or high[0] == len(c) - 1 or above:
        se = np.inf
    else:
        se = (upper - lower) / (2 * z)
    b_lo, b_hi = edges(c, i)
    return {"estimate": est, "standardError": se, "ciLower": lower, "ciUpper": upper, "_bucketLower": b_lo, "_bucketUpper": b_hi,
            "_shapeKnown": middle_margin is not None}


def mover(d, below, above, z):
    """Interval d - z*below, d + z*above and two-sided p from the side facing 0."""
    se = below if d >= 0 else above
    return se, d - z * below, d + z * above, min(1.0, 2 * stats.norm.sf(abs(d) / se))


SMALLEST_P = 1e-12


def inverted_p(excluded):
    """The smallest level alpha whose interval excludes "no change": scipy's brentq on log(alpha)
    over the interval's near end; SMALLEST_P when even that level excludes it, 1 when 0.999 does not."""
    if excluded(SMALLEST_P) > 0:
        return SMALLEST_P
    if excluded(0.999) <= 0:
        return 1.0
    root = optimize.brentq(lambda x: excluded(np.exp(x)), np.log(SMALLEST_P), np.log(0.999), xtol=1e-13, rtol=1e-13)
    return float(np.exp(root))


def near_end(cc, ct, q, which, none):
    """How far the interval at a level lies beyond "no change" on the side facing it (> 0: excluded)."""
    def at(alpha):
        try:
            r = difference_at(cc, ct, q, alpha)
        except (ZeroDivisionError, FloatingPointError):
            return -np.inf
        lower, upper = r[which + "CiLower"], r[which + "CiUpper"]
        if not (np.isfinite(lower) and np.isfinite(upper)) or not np.isfinite(r[which + ("StandardError" if which == "difference" else "LogStandardError")]):
            return -np.inf
        return max(lower - none, none - upper)
    return at


def difference(cc, ct, q, alpha=0.05):
    r = difference_at(cc, ct, q, alpha)
    r["differencePValue"] = inverted_p(near_end(cc, ct, q, "difference", 0.0))
    r["ratioPValue"] = inverted_p(near_end(cc, ct, q, "ratio", 1.0))
    return r


def reach(parts):
    """One side's distance from the estimate: each end's bound part (the distance to its own
    bucket's edge when the bucket's shape is unknown) adds linearly, the rest in quadrature."""
    return sum(b for d, b in parts) + np.sqrt(sum((d - b) ** 2 for d, b in parts))


def bounds_of(x):
    """Per end, the part of its distance that is a bound: none when the bucket's shape is known."""
    if x["_shapeKnown"]:
        return 0.0, 0.0
    return (min(x["estimate"] - x["ciLower"], x["estimate"] - x["_bucketLower"]),
            min(x["ciUpper"] - x["estimate"], x["_bucketUpper"] - x["estimate"]))


def difference_at(cc, ct, q, alpha=0.05):
    c, t = interval(cc, q, alpha), interval(ct, q, alpha)
    z = stats.norm.ppf(1 - alpha / 2)
    c_edge = (c["ciLower"] == c["_bucketLower"], c["ciUpper"] == c["_bucketUpper"])
    t_edge = (t["ciLower"] == t["_bucketLower"], t["ciUpper"] == t["_bucketUpper"])
    # a side with an own-bucket edge in it is lt - uc (ut - lc) exactly; open (the next double
    # inward) where the end it subtracts from is a bucket's lower edge
    tb, cb = bounds_of(t), bounds_of(c)
    exact_lo = (t_edge[0] and tb[0] > 0) or (c_edge[1] and cb[1] > 0)
    exact_hi = (t_edge[1] and tb[1] > 0) or (c_edge[0] and cb[0] > 0)
    is_lower_edge = lambda x: x > 0 and bool(np.any(BOUNDS == x))
    open_lo, open_hi = exact_lo and is_lower_edge(t["ciLower"]), exact_hi and is_lower_edge(c["ciLower"])
    d = t["estimate"] - c["estimate"]
    below = reach([(t["estimate"] - t["ciLower"], tb[0]), (c["ciUpper"] - c["estimate"], cb[1])])
    above = reach([(t["ciUpper"] - t["estimate"], tb[1]), (c["estimate"] - c["ciLower"], cb[0])])
    se, lower, upper, p = mover(d, below / z, above / z, z)
    if exact_lo:
        lower = t["ciLower"] - c["ciUpper"]
        lower = np.nextafter(lower, np.inf) if open_lo else lower
    if exact_hi:
        upper = t["ciUpper"] - c["ciLower"]
        upper = np.nextafter(upper, -np.inf) if open_hi else upper
    lb = lambda x, b: (0.0 if b[0] == 0 else np.log(x["estimate"] / (x["estimate"] - b[0])), 0.0 if b[1] == 0 else np.log((x["estimate"] + b[1]) / x["estimate"]))
    ltb, lcb = lb(t, tb), lb(c, cb)
    lbelow = reach([(np.log(t["estimate"] / t["ciLower"]), ltb[0]), (np.log(c["ciUpper"] / c["estimate"]), lcb[1])])
    labove = reach([(np.log(t["ciUpper"] / t["estimate"]), ltb[1]), (np.log(c["estimate"] / c["ciLower"]), lcb[0])])
    lr = np.log(t["estimate"] / c["estimate"])
    lse, llower, lupper, lp = mover(lr, lbelow / z, labove / z, z)
    ratio_lower, ratio_upper = np.exp(llower), np.exp(lupper)
    if exact_lo:
        ratio_lower = t["ciLower"] / c["ciUpper"]
        ratio_lower = np.nextafter(ratio_lower, np.inf) if open_lo else ratio_lower
    if exact_hi:
        ratio_upper = t["ciUpper"] / c["ciLower"]
        ratio_upper = np.nextafter(ratio_upper, -np.inf) if open_hi else ratio_upper
    return {
        "difference": d, "differenceStandardError": se,
        "differenceCiLower": lower, "differenceCiUpper": upper, "differencePValue": p,
        "ratio": t["estimate"] / c["estimate"], "ratioLogStandardError": lse,
        "ratioCiLower": ratio_lower, "ratioCiUpper": ratio_upper, "ratioPValue": lp,
    }


def lognormal_counts(seed, median, sigma, n):
    rng = np.random.default_rng(seed)
    x = median * np.exp(sigma * rng.standard_normal(n))
    i = np.ceil(np.log2(x / 0.05) * 3 - 1e-9).astype(int)
    i[x <= 0.05] = 0
    c = np.bincount(np.minimum(i, 65), minlength=66)
    return {str(k): int(v) for k, v in enumerate(c) if v > 0}


def spike_counts(seed, base, noise, n):
    """n runs of base * exp(noise * Z): a spin loop, within a few percent of its base."""
    rng = np.random.default_rng(seed)
    x = base * np.exp(noise * rng.standard_normal(n))
    i = np.ceil(np.log2(x / 0.05) * 3 - 1e-9).astype(int)
    i[x <= 0.05] = 0
    c = np.bincount(np.minimum(i, 65), minlength=66)
    return {str(k): int(v) for k, v in enumerate(c) if v > 0}


def clean(d):
    return {k: (None if not np.isfinite(v) else float(v)) for k, v in d.items() if not k.startswith("_")}


# The normal-approximation ranks agree with the exact binomial order-statistic interval
# (Conover 1999, chapter 3) to within about one rank at these sizes.
for n, q in [(1000, 0.5), (1000, 0.95), (5000, 0.95), (5000, 0.99)]:
    z = stats.norm.ppf(0.975)
    approx = (n * q - z * np.sqrt(n * q * (1 - q)), n * q + z * np.sqrt(n * q * (1 - q)))
    exact = (stats.binom.ppf(0.025, n, q), stats.binom.ppf(0.975, n, q) + 1)
    assert abs(approx[0] - exact[0]) <= 1 and abs(approx[1] - exact[1]) <= 1.5, (n, q, approx, exact)

two = {"24": 60, "25": 40}
spin = spike_counts(20260601, 0.11, 0.05, 2000)
spin_slower = spike_counts(20260602, 0.28, 0.05, 1500)
spread = lognormal_counts(20260501, 20.0, 0.5, 2000)
slower = lognormal_counts(20260502, 24.0, 0.5, 2000)
cases = []
for name, hist, q in [
    ("two buckets, 60 and 40 runs, p50", two, 0.5),
    ("two buckets, 60 and 40 runs, p95", two, 0.95),
    ("2,000 lognormal runs (median 20 ms, sigma 0.5), p50", spread, 0.5),
    ("2,000 lognormal runs (median 20 ms, sigma 0.5), p95", spread, 0.95),
    ("2,000 lognormal runs (median 20 ms, sigma 0.5), p99", spread, 0.99),
    ("a no-op: 1,000 runs in the first bucket (<= 0.05 ms), p95", {"0": 1000}, 0.95),
    ("a fast path: 500 runs, 40% of them below 0.05 ms, p50", {"0": 200, "1": 100, "2": 120, "3": 80}, 0.5),
    ("100 lognormal runs, p99: too few runs for an upper bound", lognormal_counts(20260503, 20.0, 0.5, 100), 0.99),
    ("a spin loop: 2,000 runs of 0.11 ms +- 5%, p95 (neighbours too few or too bent for a slope)", spin, 0.95),
    ("a neighbour of 5 runs gives no slope, p95", {"3": 93, "4": 1902, "5": 5}, 0.95),
    ("neighbours of 300 and 30 runs around 1,700 bend too much for a slope, p95", {"3": 300, "4": 1700, "5": 30}, 0.95),
]:
    cases.append({"name": name, "source": SOURCE, "function": "quantileInterval",
                  "inputs": {"counts": hist, "q": q}, "expected": clean(interval(counts_of(hist), q)),
                  "tolerance": {"relative": 1e-6}})
cases.append({"name": "2,000 runs each, median 20 ms vs 24 ms (sigma 0.5), p95", "source": SOURCE,
              "function": "quantileDifference", "inputs": {"control": spread, "treatment": slower, "q": 0.95},
              "expected": clean(difference(counts_of(spread), counts_of(slower), 0.95)),
              "tolerance": {"relative": 1e-6}})
for name, control, treatment, q in [
    ("spin loops: 2,000 runs of 0.11 ms vs 1,500 of 0.28 ms (+- 5%), p95", spin, spin_slower, 0.95),
    ("spin loops: 2,000 runs of 0.11 ms vs 1,500 of 0.28 ms (+- 5%), p50", spin, spin_slower, 0.5),
    ("every run one bucket slower: 600 + 400 runs in buckets 24, 25 vs 25, 26, p50",
     {"24": 600, "25": 400}, {"25": 600, "26": 400}, 0.5),
]:
    cases.append({"name": name, "source": SOURCE, "function": "quantileDifference",
                  "inputs": {"control": control, "treatment": treatment, "q": q},
                  "expected": clean(difference(counts_of(control), counts_of(treatment), q)),
                  "tolerance": {"relative": 1e-6}})

print(json.dumps({
    "description": "Latency quantiles from histograms with the recorder's 66 buckets (0.05 ms * 2^(i/3)); counts are sparse {bucket: runs}. ciUpper null means Infinity.",
    "cases": cases,
}, indent=1))
