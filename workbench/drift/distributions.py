"""The distribution functions drift p-values need, in NumPy and ``math``, without SciPy.

``import scipy.stats`` costs 0.6-2.4 s and ``scipy.special`` 0.2-0.3 s of every CLI call,
more than the drift computation itself; these few functions are all the engine used them
for. Each one evaluates the same mathematical quantity as the SciPy function it replaces
(named in its docstring) and follows SciPy's choices where they change the number (which
algorithm runs where, ks_2samp's exact/asymptotic switch, rounding of the statistic), so
scores equal SciPy's, hence Evidently's, to ~1e-12 relative; ``tests/drift`` compare them
with SciPy over grids of arguments.

Two-sample Kolmogorov-Smirnov p-values follow ``scipy.stats.ks_2samp(method="auto")``:
exact (Hodges' lattice-path counts) while both samples have at most 10,000 values, else
``kstwo.sf(d, round(n1 n2 / (n1 + n2)))``, the distribution of the one-sample statistic,
computed as Simard and L'Ecuyer (2011) choose: Durbin's matrix, Pomeranz's recursion,
Pelz-Good's series or Smirnov's exact one-sided sum.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["chi2_sf", "ks_2samp_pvalue", "kstwo_sf", "normal_cdf", "rel_entr", "smirnov_sf"]

# ks_2samp(method="auto") is exact up to this many values per side.
KS_MAX_EXACT = 10_000


# -- normal, chi-square, relative entropy ---------------------------------------------------
def normal_cdf(x: float) -> float:
    """Standard normal CDF, as ``scipy.special.ndtr`` (erf near 0, erfc in the tails)."""
    if math.isnan(x):
        return math.nan
    t = x * math.sqrt(0.5)
    if abs(t) < math.sqrt(0.5):
        return 0.5 + 0.5 * math.erf(t)
    y = 0.5 * math.erfc(abs(t))
    return 1.0 - y if x > 0 else y


def chi2_sf(x: float, df: float) -> float:
    """Chi-square survival function, as ``scipy.special.chdtrc(df, x)``."""
    if math.isnan(x) or math.isnan(df) or df < 0 or x < 0:
        return math.nan
    if df == 0:  # one category: all the mass at 0
        return 0.0 if x > 0 else math.nan
    if x == 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    return _gamma_q(df / 2.0, x / 2.0)


def _gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x): the power series of P below a + 1 (Q =
    1 - P is then at least ~0.4, so nothing is lost), Lentz's continued fraction above."""
    log_front = a * math.log(x) - x - math.lgamma(a)
    if log_front < -745.2:  # exp underflows: the tail is below the smallest double
        return 0.0 if x >= a + 1 else 1.0
    front = math.exp(log_front)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(100_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return 1.0 - total * front
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return h * front


def rel_entr(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Elementwise ``p log(p / q)`` with 0 log 0 = 0, as ``scipy.special.rel_entr``."""
    out = np.empty(len(p), dtype=np.float64)
    for i, (a, b) in enumerate(zip(p.tolist(), q.tolist(), strict=True)):
        if math.isnan(a) or math.isnan(b):
            out[i] = math.nan
        elif a > 0 and b > 0:
            out[i] = a * math.log(a / b)
        elif a == 0 and b >= 0:
            out[i] = 0.0
        else:
            out[i] = math.inf
    return out


# -- two-sample Kolmogorov-Smirnov ----------------------------------------------------------
def ks_2samp_pvalue(d: float, n1: int, n2: int) -> float:
    """Two-sided p-value of ``scipy.stats.ks_2samp`` (method "auto") for statistic ``d``."""
    if max(n1, n2) <= KS_MAX_EXACT:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        h = round(d * lcm)
        d = h / lcm  # scipy continues with the statistic rounded to the lattice
        if h == 0:
            return 1.0
        if n1 == n2:
            prob = _paths_outside_square(n1, h)
        else:
            prob = _paths_leaving_band(n1, n2, g, h)
        if 0 <= prob <= 1:
            return float(prob)
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(min(max(kstwo_sf(d, float(round(en))), 0.0), 1.0))


def _paths_outside_square(n: int, h: int) -> float:
    """P(D_{n,n} >= h/n): 2 (C(2n, n-h) - C(2n, n-2h) + ...) / C(2n, n), each term a ratio
    to the previous so that nothing overflows, summed from the smallest (Horner)."""
    total = 0.0
    k = n // h
    while k >= 0:
        ratio = 1.0
        for j in range(h):
            ratio = (n - k * h - j) * ratio / (n + k * h + j + 1)
        total = ratio * (1.0 - total)
        k -= 1
    return 2 * total


def _paths_leaving_band(m: int, n: int, g: int, h: int) -> float:
    """Share of lattice paths (0,0) -> (m,n) that touch |x/m - y/n| >= h/lcm (Hodges), by
    Viehmann's recursion for 1 - p: B(i,j) = (i B(i-1,j) + j B(i,j-1)) / (i+j), 1 outside.

    Cells are swept by anti-diagonals i + j = s, each a NumPy step over the band's cells:
    every cell's arithmetic is the same as in SciPy's column-by-column loop.
    """
    if m < n:
        m, n = n, m
    mg, ng = m // g, n // g
    i = np.arange(m + 1, dtype=np.int64)
    lo = np.minimum(np.maximum((ng * i - h) // mg + 1, 0), n)  # first j inside column i
    hi = np.minimum(-(-(ng * i + h) // mg), n + 1)  # first j past it
    if np.any(hi[1:] <= lo[1:]):
        return 1.0
    first = i + lo  # a cell (i, s - i) is inside when first[i] <= s < last[i]
    last = i + hi
    prev_a, prev = 0, np.zeros(1)  # diagonal 0: the cell (0, 0)
    for s in range(1, m + n + 1):
        a = int(np.searchsorted(last, s, side="right"))
        b = int(np.searchsorted(first, s, side="right")) - 1
        # previous diagonal at i-1 (left) and i (below), for i in a..b; 1 outside the band
        around = np.ones(b - a + 2)
        lo_k, hi_k = max(a - 1, prev_a), min(b, prev_a + len(prev) - 1)
        if lo_k <= hi_k:
            around[lo_k - (a - 1) : hi_k - (a - 1) + 1] = prev[lo_k - prev_a : hi_k - prev_a + 1]
        ii = i[a : b + 1]
        jj = s - ii
        prev = (around[:-1] * ii + around[1:] * jj) / (ii + jj)
        prev_a = a
    return float(prev[-1])


# -- kstwo: the one-sample two-sided statistic ------------------------------------------------
def kstwo_sf(x: float, n: float) -> float:
    """P(D_n >= x) for the one-sample two-sided KS statistic, as ``scipy.stats.kstwo.sf``."""
    if math.isnan(x) or math.isnan(n) or n < 1 or n != int(n):
        return math.nan
    n = int(n)
    if x <= 0.5 / n:
        return 1.0
    if x >= 1.0:
        return 0.0
    t = n * x
    if t <= 1.0:  # Ruben-Gambino: 1/2n < x <= 1/n
        if n <= 140:
            cdf = float(np.prod(np.arange(1, n + 1) * (1.0 / n) * (2 * t - 1)))
        else:
            cdf = math.exp(_log_factorial_over_power(n) + n * math.log(2 * t - 1))
        return _clip(1.0 - cdf)
    if t >= n - 1:  # Ruben-Gambino
        return _clip(2 * (1.0 - x) ** n)
    if x >= 0.5:
        return _clip(2 * smirnov_sf(n, x))
    nxx = t * x
    if n <= 140:
        if nxx <= 0.754693:
            return _clip(1.0 - _durbin_cdf(n, x))
        if nxx <= 4:
            return _clip(1.0 - _pomeranz_cdf(n, x))
        return _clip(2 * smirnov_sf(n, x))
    if nxx >= 370.0:
        return 0.0
    if nxx >= 2.2:
        return _clip(2 * smirnov_sf(n, x))
    if n <= 100_000 and n * x**1.5 <= 1.4:
        return _clip(1.0 - _durbin_cdf(n, x))
    return _clip(1.0 - _pelz_good_cdf(n, x))


def _clip(p: float) -> float:
    return min(max(p, 0.0), 1.0)


# Bernoulli numbers B_2j / (2j (2j-1)), j = 8..1: Stirling's series for log n!.
_STIRLING = [
    -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
    8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
    -2.7777777777777777778e-3, 8.3333333333333333333e-2,
]  # fmt: skip


def _log_factorial_over_power(n: int) -> float:
    """log(n! / n^n) by Stirling's series, with n log n taken out first."""
    rn = 1.0 / n
    series = 0.0
    for c in _STIRLING:
        series = series * (rn / n) + c
    return math.log(n) / 2 - n + math.log(2 * math.pi) / 2 + rn * series


_SCALE = 128  # rescale by 2^128 to keep intermediate products in range


def _durbin_cdf(n: int, d: float) -> float:
    """P(D_n < d) by Durbin's matrix method in Marsaglia, Tsang and Wang's form: the middle
    entry of H^n times n!/n^n, with H of size 2k-1 for d = (k - h)/n."""
    k = math.ceil(n * d)
    h = k - n * d
    m = 2 * k - 1
    powers = np.arange(1, m + 1)
    v = 1.0 - h**powers
    w = np.empty(m)
    fact = 1.0
    for j in powers.tolist():
        w[j - 1] = fact
        fact /= j
        v[j - 1] *= fact
    corner = max(2 * h - 1.0, 0) ** m - 2 * h**m
    v[-1] = (1.0 + corner) * fact
    mat = np.zeros((m, m))
    for col in range(1, m):
        mat[col - 1 :, col] = w[: m - col + 1]
    mat[:, 0] = v
    mat[-1, :] = v[::-1]
    big, small = np.ldexp(np.longdouble(1), _SCALE), np.ldexp(np.longdouble(1), -_SCALE)
    result = np.eye(m)
    exponent = mat_exponent = 0
    left = n
    while left > 0:
        if left % 2:
            result = np.matmul(result, mat)
            exponent += mat_exponent
        mat = np.matmul(mat, mat)
        mat_exponent *= 2
        if np.abs(mat[k - 1, k - 1]) > big:
            mat /= big
            mat_exponent += _SCALE
        left //= 2
    p = result[k - 1, k - 1]
    for i in range(1, n + 1):
        p = i * p / n
        if np.abs(p) < small:
            p *= big
            exponent -= _SCALE
    if exponent:
        p = np.ldexp(p, exponent)
    return _clip(float(p))


def _pomeranz_bounds(i: int, n: int, ll: int, ceilf: int, roundf: int) -> tuple[int, int]:
    """Index range of the non-zero entries of row ``i`` of Pomeranz's recursion."""
    if i == 0:
        j1, j2 = -ll - ceilf - 1, ll + ceilf - 1
    else:
        half, odd = divmod(i + 1, 2)
        if odd == 0:
            if half == n + 1:
                j1, j2 = n - ll - ceilf - 1, n + ll + ceilf - 1
            else:
                j1, j2 = half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1
        else:
            j1, j2 = half - 1 - ll - 1, half + ll + roundf - 1
    return max(j1 + 2, 0), min(j2, n)


def _pomeranz_cdf(n: int, x: float) -> float:
    """P(D_n < x) by Pomeranz's recursion: rows are convolutions with Poisson-like terms."""
    t = n * x
    ll = int(math.floor(t))
    f = 1.0 * (t - ll)
    g = min(f, 1.0 - f)
    ceilf = 1 if f > 0 else 0
    roundf = 1 if f > 0.5 else 0
    size = 2 * (ll + 1)
    gpow, twog, onem2g = np.empty(size), np.empty(size), np.empty(size)
    gpow[0] = twog[0] = onem2g[0] = 1.0
    a1, a2, a3 = g / n, 2 * g / n, (1 - 2 * g) / n
    for m in range(1, size):
        gpow[m] = gpow[m - 1] * a1 / m
        twog[m] = twog[m - 1] * a2 / m
        onem2g[m] = onem2g[m - 1] * a3 / m
    big, small = np.ldexp(np.longdouble(1), _SCALE), np.ldexp(np.longdouble(1), -_SCALE)
    row0, row1 = np.zeros(size), np.zeros(size)
    row1[0] = 1
    start0 = start1 = 0
    exponent = 0
    j1, _ = _pomeranz_bounds(0, n, ll, ceilf, roundf)
    for i in range(1, 2 * n + 2):
        k1 = j1
        row0, row1 = row1, row0
        start0, start1 = start1, start0
        row1.fill(0.0)
        j1, j2 = _pomeranz_bounds(i, n, ll, ceilf, roundf)
        if i == 1 or i == 2 * n + 1:
            terms = gpow
        else:
            terms = twog if i % 2 else onem2g
        width = j2 - k1 + 1
        if width > 0:
            conv = np.convolve(row0[k1 - start0 : k1 - start0 + width], terms[:width])
            row1[: j2 - j1 + 1] = conv[j1 - k1 : j1 - k1 + j2 - j1 + 1]
            if 0 < np.max(row1) < small:
                row1 *= big
                exponent -= _SCALE
            start1 = start0 + j1 - k1
    ans = row1[n - start1]
    for m in range(1, n + 1):
        if np.abs(ans) > big:
            ans *= small
            exponent += _SCALE
        ans *= m
    if exponent:
        ans = np.ldexp(ans, exponent)
    return _clip(float(ans))


def _pelz_good_cdf(n: int, x: float) -> float:
    """P(D_n < x) by Pelz and Good's series (Li-Chien and Korolyuk's expansion to n^-3/2,
    turned into fast-converging theta-function sums for small sqrt(n) x)."""
    z = math.sqrt(n) * x
    z2, z3, z4, z6 = z**2, z**3, z**4, z**6
    pi2, pi4, pi6 = math.pi**2, math.pi**4, math.pi**6
    qlog = -pi2 / 8 / z2
    if qlog < -708:
        return 0.0
    q = math.exp(qlog)
    k1a, k1b = -z2, pi2 / 4
    k2a, k2b, k2c = 6 * z6 + 2 * z4, (2 * z4 - 5 * z2) * pi2 / 4, pi4 * (1 - 2 * z2) / 16
    k3d = pi6 * (5 - 30 * z2) / 64
    k3c = pi4 * (-60 * z2 + 212 * z4) / 16
    k3b = pi2 * (135 * z4 - 96 * z6) / 4
    k3a = -30 * z6 - 90 * z**8
    sums = np.zeros(4)
    top = int(math.ceil(16 * z / math.pi))
    for k in range(top, 0, -1):  # Horner in q over odd m = 2k - 1
        m = 2 * k - 1
        m2, m4, m6 = m**2, m**4, m**6
        sums *= np.power(q, 8 * k)
        sums += np.array(
            [
                1.0,
                k1a + k1b * m2,
                k2a + k2b * m2 + k2c * m4,
                k3a + k3b * m2 + k3c * m4 + k3d * m6,
            ]
        )
    sums *= q
    sums *= math.sqrt(2 * math.pi)
    sums /= np.array([z, 6 * z4, 72 * z**7, 6480 * z**10])
    q = math.exp(-pi2 / 2 / z2)
    ks = np.arange(top, 0, -1)
    k2 = ks**2
    sqrt3z, kpi = math.sqrt(3) * z, math.pi * ks
    qk = q**k2
    sums[2] += np.sum(k2 * qk) * (pi2 * math.sqrt(2 * math.pi) / (-36 * z3))
    extra = np.sum((sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qk)
    sums[3] += extra * (pi2 * math.sqrt(2 * math.pi) / (216 * z6))
    sums /= np.power(n * 1.0, np.arange(4) / 2.0)
    return float(sum(sums))


# -- Smirnov: the one-sided statistic --------------------------------------------------------
def smirnov_sf(n: int, x: float) -> float:
    """P(D+_n >= x), as ``scipy.special.smirnov(n, x)``: Birnbaum and Tingey's sum
    x * sum_{v < n(1-x)} C(n,v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v), all terms positive.

    Terms are summed relative to the largest in logs: consecutive log-ratios are O(1) and
    computed without cancellation, so the sum keeps ~1e-12 relative precision at n = 1e6.
    """
    if n == 1:
        return 1.0 - x
    if x <= 0:
        return 1.0
    if x >= 1:
        return 0.0
    from fractions import Fraction

    nx = Fraction(x) * n
    floor_nx = math.floor(nx)
    if floor_nx == 0 or nx == 1:  # x <= 1/n
        return 1.0 - x * (1.0 + x) ** (n - 1)
    if -2 * n * x * x < -708.3964185322641:
        return 0.0
    if floor_nx >= n - 1:
        return (1.0 - x) ** n
    if n > 1_000_000:  # scipy's approximation for such n: e^(-(6nx+1)^2 / 18n)
        logp = -((6.0 * n * x + 1) ** 2) / 18.0 / n
        return math.exp(logp) if logp < -math.log(2) else 1.0 + math.expm1(logp)
    last = n - floor_nx - 1  # v < n(1-x)
    v = np.arange(1, last + 1, dtype=np.float64)
    u = x + (v - 1) / n  # x + (v-1)/n
    w = (n - v + 1) / n - x  # 1 - x - (v-1)/n
    # log(A_v / A_{v-1})
    ratio = (
        np.log((n - v + 1) / v)
        + (v - 1) * np.log1p((1.0 / n) / u)
        + np.log(u)
        + (n - v) * np.log1p(-(1.0 / n) / w)
        - np.log(w)
    )
    peak = int(np.argmax(np.concatenate(([0.0], np.cumsum(ratio)))))
    # log(A_v / A_peak), accumulated outward from the peak
    rel = np.empty(last + 1)
    rel[peak] = 0.0
    rel[peak + 1 :] = np.cumsum(ratio[peak:])
    rel[:peak] = -np.cumsum(ratio[:peak][::-1])[::-1]
    log_peak = _log_term(n, x, peak)
    total = float(np.sum(np.exp(rel)))
    return _clip(x * math.exp(log_peak) * total)


def _log_term(n: int, x: float, v: int) -> float:
    """log[C(n,v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v)] in 40-digit decimals: its parts reach
    1e7 at n = 1e6 and cancel, which would leave ~1e-10 of error in doubles."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 40
        big_n, big_v = Decimal(n), Decimal(v)
        u = Decimal(x) + big_v / big_n
        return float(_log_binomial(n, v) + (big_v - 1) * u.ln() + (big_n - big_v) * (1 - u).ln())


_PI = "3.141592653589793238462643383279502884197"


def _log_binomial(n: int, k: int) -> Any:
    """log C(n, k) as a Decimal in the caller's context (Stirling's series for large k)."""
    from decimal import Decimal

    k = min(k, n - k)
    if k < 30:
        return sum((Decimal(n - k + i) / i).ln() for i in range(1, k + 1)) + Decimal(0)
    big_n, big_k, rest = Decimal(n), Decimal(k), Decimal(n - k)
    two_pi = 2 * Decimal(_PI)
    head = -big_k * (big_k / big_n).ln() - rest * (rest / big_n).ln()
    head += (big_n / (two_pi * big_k * rest)).ln() / 2
    tails = _stirling_tail(n) - _stirling_tail(k) - _stirling_tail(n - k)
    return head + Decimal(tails)


def _stirling_tail(m: int) -> float:
    """log m! - [(m + 1/2) log m - m + log(2 pi)/2] for m >= 30 (below 3e-3, so a double
    carries it to ~1e-19)."""
    r = 1.0 / m
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))
