"""Reference values for tracks' stratified (phase-aware) lift and ratio metrics.

Computed from per-user arrays with numpy and scipy, independently of tracks' code (which
works from sufficient statistics): post-stratified difference in means (Imbens & Rubin 2015,
ch. 9) with the Neyman variance per stratum and Welch-Satterthwaite degrees of freedom; the
delta-method variance of a ratio of means (Deng, Knoblich & Lu, KDD 2018) with np.cov.

Run: python3 scripts/reference/stratified.py > test/fixtures/stats/stratified-lift.json
"""
import json
import numpy as np
from scipy import stats

rng = np.random.default_rng(20261122)
SOURCE = ("numpy %s / scipy %s, scripts/reference/stratified.py (per-user arrays, np.var/np.cov with ddof=1, "
          "scipy.stats.t), estimator of Imbens & Rubin 2015 ch. 9; ratio variance of Deng, Knoblich & Lu, KDD 2018"
          % (np.__version__, __import__('scipy').__version__))


def suff(x):
    return {"n": int(len(x)), "sum": float(np.sum(x)), "sumSquares": float(np.sum(x * x))}


def stratified(strata, alpha=0.05):
    total = sum(len(c) + len(t) for c, t in strata)
    mc = mt = vc = vt = 0.0
    cells = []
    for c, t in strata:
        w = (len(c) + len(t)) / total
        mc += w * np.mean(c)
        mt += w * np.mean(t)
        a = w * w * np.var(c, ddof=1) / len(c)
        b = w * w * np.var(t, ddof=1) / len(t)
        vc += a
        vt += b
        cells += [(a, len(c)), (b, len(t))]
    df = (vc + vt) ** 2 / sum(a * a / (n - 1) for a, n in cells)
    diff = mt - mc
    se = np.sqrt(vc + vt)
    q = stats.t.ppf(1 - alpha / 2, df)
    p = 2 * stats.t.sf(abs(diff / se), df)
    rel = mt / mc - 1
    rel_se = np.sqrt(vt / mc ** 2 + mt ** 2 * vc / mc ** 4)
    rel_p = 2 * stats.t.sf(abs(rel / rel_se), df)
    return {
        "estimate": diff, "standardError": se, "df": df, "ciLower": diff - q * se, "ciUpper": diff + q * se, "pValue": p,
        "relativeEstimate": rel, "relativeStandardError": rel_se, "relativePValue": rel_p,
    }


def proportion_strata(rates, sizes):
    out = []
    for (rc, rt), (nc, nt) in zip(rates, sizes):
        out.append(((rng.random(nc) < rc).astype(float), (rng.random(nt) < rt).astype(float)))
    return out


cases = []
# 1. Simpson's paradox: the rate drifts up over time, the treatment's share rises; no true effect.
strata = proportion_strata([(0.05, 0.05), (0.15, 0.15)], [(4500, 500), (500, 4500)])
cases.append(("two phases, rate drifts and the split flips, no true effect", "mean", strata))
# 2. Three phases, continuous values (revenue per user, skewed), a true lift.
strata = []
for (nc, nt), scale in zip([(1000, 1000), (600, 1400), (300, 2700)], [10.0, 12.0, 15.0]):
    c = rng.exponential(scale, nc) * (rng.random(nc) < 0.3)
    t = rng.exponential(scale * 1.1, nt) * (rng.random(nt) < 0.3)
    strata.append((c, t))
cases.append(("three phases of revenue per user, a 10% lift", "mean", strata))
# 3. One stratum: must equal the plain Welch lift.
c = rng.normal(5, 2, 800)
t = rng.normal(5.3, 2.5, 750)
cases.append(("one phase: the plain Welch lift", "mean", [(c, t)]))

fixture_cases = []
for name, kind, strata in cases:
    expected = {k: float(v) for k, v in stratified(strata).items()}
    fixture_cases.append({
        "name": name,
        "source": SOURCE,
        "inputs": {"kind": kind, "strata": [{"control": suff(c), "treatment": suff(t)} for c, t in strata]},
        "expected": expected,
        "tolerance": {"relative": 1e-9, "why": "the same arithmetic in double precision, from sums instead of arrays"},
    })

# Ratio metrics: orders per visit, per-user (x, y) with correlation.
ratio_cases = []
for name, n, lam, p in [("orders per visit, 2000 users", 2000, 3.0, 0.2), ("orders per visit, 150 users", 150, 1.5, 0.35)]:
    visits = rng.poisson(lam, n).astype(float) + 1
    orders = rng.binomial(visits.astype(int), p).astype(float)
    mx, my = np.mean(orders), np.mean(visits)
    cov = np.cov(orders, visits, ddof=1)
    var = (cov[0, 0] / my ** 2 - 2 * mx * cov[0, 1] / my ** 3 + mx ** 2 * cov[1, 1] / my ** 4) / n
    ratio_cases.append({
        "name": name,
        "source": SOURCE,
        "inputs": {"n": n, "sumX": float(orders.sum()), "sumY": float(visits.sum()), "sumSquaresX": float((orders ** 2).sum()),
                   "sumSquaresY": float((visits ** 2).sum()), "sumProducts": float((orders * visits).sum())},
        "expected": {"mean": float(mx / my), "squaredError": float(var)},
        "tolerance": {"relative": 1e-9, "why": "the same arithmetic in double precision, from sums instead of arrays"},
    })

print(json.dumps({
    "description": "Phase-aware (post-stratified) lift across phases of a test, and the delta-method variance of ratio metrics, from per-user arrays.",
    "cases": fixture_cases,
    "ratioCases": ratio_cases,
}, indent=1))
