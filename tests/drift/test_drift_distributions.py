"""Our distribution functions equal SciPy's (the oracle; imported by the tests only)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from workbench.drift import distributions as dist

RTOL = 1e-10


def _close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, float(theirs), rel_tol=RTOL, abs_tol=1e-300) or (
        math.isnan(ours) and math.isnan(theirs)
    )


def test_normal_cdf() -> None:
    for x in [*np.linspace(-40, 40, 801), -0.7071, 0.7071, 0.0, math.inf, -math.inf, math.nan]:
        assert _close(dist.normal_cdf(float(x)), special.ndtr(x)), x
    # the z-test's p = 2 (1 - cdf(|z|)) in the tail, where rounding of 1 - cdf decides
    for z in np.linspace(0, 9, 181):
        assert _close(2 * (1 - dist.normal_cdf(z)), 2 * (1 - stats.norm.cdf(z))), z


def test_chi2_sf_edges() -> None:
    for df, x in ((0, 0.0), (0, 1e-30), (0, 3.0), (1, 0.0), (2, -1.0), (3, math.inf)):
        assert _close(dist.chi2_sf(x, df), special.chdtrc(df, x)), (df, x)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 9, 10, 19, 50, 99, 400, 999, 4000])
def test_chi2_sf(df) -> None:
    for scale in (0.0, 0.01, 0.1, 0.5, 0.8, 0.95, 1.0, 1.05, 1.2, 1.5, 2, 3, 5, 10, 40):
        x = df * scale + (scale > 0) * 0.37
        assert _close(dist.chi2_sf(x, df), special.chdtrc(df, x)), (df, x)


def test_relative_entropy_and_jensen_shannon() -> None:
    from scipy.spatial import distance

    rng = np.random.default_rng(2)
    for k in (2, 5, 30, 500):
        p, q = rng.random(k), rng.random(k)
        p[0] = 0.0
        np.testing.assert_allclose(
            dist.rel_entr(p, q), special.rel_entr(p, q), rtol=1e-13, atol=1e-16
        )
        m = (p / p.sum() + q / q.sum()) / 2
        ours = math.sqrt(
            (dist.rel_entr(p / p.sum(), m).sum() + dist.rel_entr(q / q.sum(), m).sum()) / 2
        )
        assert _close(ours, distance.jensenshannon(p, q))


def _ks_cases() -> list[tuple[int, int]]:
    return [(5, 7), (7, 5), (40, 40), (100, 37), (600, 500), (1000, 1000), (3000, 2500),
            (2000, 9000), (10_000, 10_000), (10_001, 500), (30_000, 25_000), (12_000, 90),
            (20_000, 12), (200_000, 150_000)]  # fmt: skip


@pytest.mark.parametrize(("n1", "n2"), _ks_cases())
def test_ks_2samp_pvalue_matches_scipy(n1, n2) -> None:
    """Exact (square and band methods) and asymptotic paths, at several distances."""
    rng = np.random.default_rng(n1 * 7 + n2)
    a = rng.normal(0, 1, n1)
    for shift in (0.0, 0.05, 0.2, 0.6, 2.0):
        b = rng.normal(shift, 1 + shift / 4, n2)
        res = stats.ks_2samp(a, b)
        assert _close(dist.ks_2samp_pvalue(float(res.statistic), n1, n2), res.pvalue), shift


def test_kstwo_sf_every_branch() -> None:
    """Ruben-Gambino ends, Durbin, Pomeranz, Pelz-Good and Smirnov, small and large n."""
    for n in (1, 2, 3, 10, 80, 140, 141, 500, 5000, 60_000, 100_001, 400_000):
        xs = np.unique(
            np.concatenate(
                [
                    np.linspace(0.4 / n, 3.0 / n, 9),
                    np.sqrt(np.array([0.3, 0.7, 0.76, 1.5, 2.1, 2.3, 3.9, 4.1, 10, 50, 300]) / n),
                    [0.49, 0.5, 0.7, 1 - 1.5 / n, 0.999],
                ]
            )
        )
        for x in xs[(xs > 0) & (xs < 1.2)]:
            assert _close(dist.kstwo_sf(float(x), n), stats.kstwo.sf(x, n)), (n, x)


def test_smirnov_matches_scipy() -> None:
    for n in (2, 5, 30, 141, 999, 20_000, 500_000, 1_000_000, 2_000_000):
        for x in (0.3 / n, 1.0 / n, 1.7 / n, 0.5 / math.sqrt(n), 2 / math.sqrt(n), 0.1, 0.5, 0.9):
            if 0 < x < 1:
                assert _close(dist.smirnov_sf(n, x), special.smirnov(n, x)), (n, x)
