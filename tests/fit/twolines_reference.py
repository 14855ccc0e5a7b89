#!/usr/bin/env python3
# The expected numbers of tests/fit/test_twolines.c's worked examples.
# An independent computation of Simonsohn's two-lines test (pure Python,
# no GSL): saturated-means or cubic flexible fit, type-7 quantiles,
# interrupted regressions with HC3 (HC1 at leverage 1), t p-values from
# the regularized incomplete beta function (continued fraction).
import math

def inv(M):
    n = len(M); A = [row[:] + [1.0 if i == j else 0.0 for j in range(n)] for i, row in enumerate(M)]
    for c in range(n):
        piv = max(range(c, n), key=lambda r: abs(A[r][c])); A[c], A[piv] = A[piv], A[c]
        p = A[c][c]; A[c] = [v / p for v in A[c]]
        for r in range(n):
            if r != c:
                f = A[r][c]; A[r] = [a - f * b for a, b in zip(A[r], A[c])]
    return [row[n:] for row in A]

def ols(X, y):
    p = len(X[0]); XtX = [[sum(r[a] * r[b] for r in X) for b in range(p)] for a in range(p)]
    A = inv(XtX); Xty = [sum(r[a] * yi for r, yi in zip(X, y)) for a in range(p)]
    beta = [sum(A[a][b] * Xty[b] for b in range(p)) for a in range(p)]
    e = [yi - sum(r[a] * beta[a] for a in range(p)) for r, yi in zip(X, y)]
    return beta, A, e

def betacf(a, b, x):
    qab, qap, qam = a + b, a + 1, a - 1; c = 1.0; d = 1 - qab * x / qap; d = 1 / d; h = d
    for m in range(1, 300):
        m2 = 2 * m; aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d; c = 1 + aa / c; d = 1 / d; h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d; c = 1 + aa / c; d = 1 / d; de = d * c; h *= de
        if abs(de - 1) < 1e-15: break
    return h

def ibeta(a, b, x):
    if x <= 0: return 0.0
    if x >= 1: return 1.0
    bt = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x))
    if x < (a + 1) / (a + b + 2): return bt * betacf(a, b, x) / a
    return 1 - bt * betacf(b, a, 1 - x) / b

def p_two_sided(t, df): return ibeta(df / 2, 0.5, df / (df + t * t))

def q7(v, q):
    v = sorted(v); h = (len(v) - 1) * q; lo = math.floor(h)
    return v[lo] + (h - lo) * (v[min(lo + 1, len(v) - 1)] - v[lo])

def interrupted(x, y, xc, line):
    mine = [(xi <= xc) if line == 1 else (xi >= xc) for xi in x]
    other = sorted(set(xi for xi, m in zip(x, mine) if not m))
    X = []
    for xi, m in zip(x, mine):
        r = [1.0, (xi - xc) if m else 0.0]
        if len(other) >= 1: r.append(0.0 if m else 1.0)
        if len(other) >= 2: r.append(0.0 if m else xi - xc)
        X.append(r)
    n, p = len(x), len(X[0])
    beta, A, e = ols(X, y)
    h = [sum(r[a] * A[a][b] * r[b] for a in range(p) for b in range(p)) for r in X]
    hc1 = any(hi > 1 - 1e-9 for hi in h)
    w = [ei * ei if hc1 else ei * ei / (1 - hi) ** 2 for ei, hi in zip(e, h)]
    v = sum(sum(A[1][b] * r[b] for b in range(p)) ** 2 * wi for r, wi in zip(X, w))
    if hc1: v *= n / (n - p)
    se = math.sqrt(v); t = beta[1] / se
    return dict(slope=beta[1], se=se, t=t, p=p_two_sided(t, n - p), df=n - p, kind="HC1" if hc1 else "HC3",
                distinct=len(set(xi for xi, m in zip(x, mine) if m)), n=sum(mine))

def twolines(x, y):
    n, xs = len(x), sorted(set(x)); d = len(xs)
    if n - d >= 2:
        means = {v: sum(yi for xi, yi in zip(x, y) if xi == v) / x.count(v) for v in xs}
        yhat = [means[xi] for xi in x]
        sd = math.sqrt(sum((yi - yh) ** 2 for yi, yh in zip(y, yhat)) / (n - d))
        se = [sd / math.sqrt(x.count(xi)) for xi in x]
    else:
        X = [[1, xi, xi * xi, xi ** 3] for xi in x]
        beta, A, e = ols(X, y)
        s2 = sum(ei * ei for ei in e) / (n - 4)
        yhat = [yi - ei for yi, ei in zip(y, e)]
        se = [math.sqrt(s2 * sum(r[a] * A[a][b] * r[b] for a in range(4) for b in range(4))) for r in X]
    x10, x90 = q7(x, 0.1), q7(x, 0.9)
    mid = [i for i in range(n) if x10 < x[i] < x90]
    ymost = min(yhat[i] for i in mid)
    flat = sorted(x[i] for i in mid if yhat[i] - se[i] < ymost or yhat[i] == ymost)
    xmid = q7(flat, 0.5)
    z1 = abs(interrupted(x, y, xmid, 1)["t"]); z2 = abs(interrupted(x, y, xmid, 2)["t"])
    xc = q7(flat, z2 / (z1 + z2))
    return dict(flat=(flat[0], flat[-1]), xmid=xmid, z1=z1, z2=z2, xc=xc,
                left=interrupted(x, y, xc, 1), right=interrupted(x, y, xc, 2))

if __name__ == "__main__":
    # example 1: 9 rho x 2 seeds, a U near 0.6 with hand-picked noise
    xs = [i / 8 for i in range(9)]
    noise = [0.004, -0.003, -0.005, 0.002, 0.001, -0.004, 0.006, 0.000, -0.002,
             -0.001, 0.003, 0.004, -0.006, 0.002, 0.005, -0.003, 0.001, 0.002]
    x = [v for v in xs for s in range(2)]
    y = [4 + 0.5 * (xi - 0.6) ** 2 + noise[k] for k, xi in enumerate(x)]
    print("example 1 y =", ", ".join("%.17g" % v for v in y))
    print(twolines(x, y))
    # example 2: 9 rho x 1 seed (the cubic flexible fit), a hockey stick
    x2 = [i / 8 for i in range(9)]
    y2 = [3.871, 3.862, 3.866, 3.859, 3.868, 3.880, 3.901, 3.935, 3.978]
    print(twolines(x2, y2))
