"""Reference values for proportionTest's interval when each track is at 0% or 100%.

There the unpooled (Wald) interval has zero width, so tracks uses Newcombe's hybrid score
interval (Newcombe, Statistics in Medicine 17, 1998, method 10): each track's Wilson score
interval, from scipy.stats.binomtest(...).proportion_ci(method='wilson'), combined as
  L = d - sqrt((t - lt)^2 + (uc - c)^2),  U = d + sqrt((ut - t)^2 + (c - lc)^2),  d = t - c.
The z and p-value are the pooled two-proportion z-test's (R's prop.test(correct = FALSE)).

Writes test/fixtures/stats/proportion-newcombe.json: python3 scripts/reference/newcombe_interval.py
"""
import json
import math
import pathlib

from scipy.stats import binomtest, norm

CASES = [
    # (control converted, control n, treatment converted, treatment n, confidence level)
    (0, 28, 32, 32, 0.95),
    (28, 28, 0, 32, 0.95),
    (0, 10, 7, 7, 0.99),
    (0, 500, 3, 3, 0.95),
    (40, 40, 0, 1000, 0.90),
]


def wilson(x, n, level):
    ci = binomtest(x, n).proportion_ci(confidence_level=level, method='wilson')
    return ci.low, ci.high


cases = []
for xc, nc, xt, nt, level in CASES:
    c, t = xc / nc, xt / nt
    lc, uc = wilson(xc, nc, level)
    lt, ut = wilson(xt, nt, level)
    d = t - c
    pooled = (xc + xt) / (nc + nt)
    z = d / math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nt))
    cases.append({
        'name': f'{xc}/{nc} against {xt}/{nt} at {level:.0%}',
        'source': 'scipy.stats.binomtest(x, n).proportion_ci(method="wilson") per track, combined by Newcombe (1998) method 10; z and p from the pooled two-proportion z-test (scipy.stats.norm.sf); scripts/reference/newcombe_interval.py',
        'inputs': {'control': {'n': nc, 'conversions': xc}, 'treatment': {'n': nt, 'conversions': xt}, 'alpha': round(1 - level, 10)},
        'expected': {'low': d - math.hypot(t - lt, uc - c), 'high': d + math.hypot(ut - t, c - lc), 'z': z, 'pValue': 2 * norm.sf(abs(z))},
        'tolerance': {'relative': 1e-9, 'absolute': 1e-12},
    })

out = pathlib.Path(__file__).resolve().parents[2] / 'test' / 'fixtures' / 'stats' / 'proportion-newcombe.json'
out.write_text(json.dumps({
    'description': "proportionTest's interval where each track is at 0% or 100% (the Wald interval has zero width there): Newcombe's hybrid score interval.",
    'cases': cases,
}, indent=2) + '\n')
print(f'wrote {len(cases)} cases to {out}')
