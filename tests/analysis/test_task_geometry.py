import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy import stats

from neurodyn.analysis.task_geometry import (
    connectivity_spectrum,
    count_outliers,
    linear_separability,
    low_rank_approximation,
    variance_ratio,
)

F64 = torch.float64


def test_separability_of_far_apart_and_of_identical_sets():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(400, 10, generator=g, dtype=F64)
    # 6 standard deviations apart: the Bayes accuracy is Phi(3) = 0.9987
    far = torch.randn(400, 10, generator=g, dtype=F64) + torch.tensor([6.0] + [0.0] * 9, dtype=F64)
    assert linear_separability(a, far).accuracy > 0.98
    same_distribution = torch.randn(400, 10, generator=g, dtype=F64)
    assert abs(linear_separability(a, same_distribution).accuracy - 0.5) < 0.08


def test_separability_is_about_the_bayes_accuracy_of_two_gaussians():
    # two unit-variance Gaussians whose means are d apart: the best linear rule gets Phi(d/2)
    d = 1.0
    g = torch.Generator().manual_seed(1)
    a = torch.randn(2000, 5, generator=g, dtype=F64)
    b = torch.randn(2000, 5, generator=g, dtype=F64)
    b[:, 0] += d
    expected = 0.5 * (1 + math.erf(d / 2 / math.sqrt(2)))
    assert linear_separability(a, b).accuracy == pytest.approx(expected, abs=0.03)


def test_f_ratio_of_planted_clusters():
    # two clusters of M points, centres delta apart, isotropic noise sigma in N dimensions:
    # E[between] = M/2 delta^2 + N sigma^2, E[within] = (2M - 2) N sigma^2, so
    # F ~ (M/2 delta^2 + N sigma^2) / (N sigma^2)
    m, n, delta, sigma = 2000, 8, 2.0, 0.5
    g = torch.Generator().manual_seed(2)
    a = sigma * torch.randn(m, n, generator=g, dtype=F64)
    b = sigma * torch.randn(m, n, generator=g, dtype=F64)
    b[:, 0] += delta
    result = variance_ratio(a, b)
    expected = (m / 2 * delta**2 + n * sigma**2) / (n * sigma**2)
    assert result.f_ratio == pytest.approx(expected, rel=0.05)
    # and exactly the textbook formula on these points
    mu = torch.cat([a, b]).mean(0)
    between = m * ((a.mean(0) - mu) ** 2).sum() + m * ((b.mean(0) - mu) ** 2).sum()
    within = ((a - a.mean(0)) ** 2).sum() + ((b - b.mean(0)) ** 2).sum()
    assert result.f_ratio == pytest.approx(float(between / (within / (2 * m - 2))))


def test_f_ratio_of_one_distribution_follows_fishers_f():
    # two groups of M points from one isotropic Gaussian in N dimensions: between / sigma^2 is
    # chi^2 with N degrees of freedom (M/2 |mean_a - mean_b|^2), within / sigma^2 chi^2 with
    # N (2M - 2), independent; so F = between / (within / (2M - 2)) is Fisher's F(N, N (2M - 2)):
    # mean d2 / (d2 - 2) = 1.00006 and standard deviation about sqrt(2 / N) = 0.5 here
    m, n, replicates = 2000, 8, 300
    g = torch.Generator().manual_seed(3)
    ratios = np.array(
        [
            variance_ratio(
                torch.randn(m, n, generator=g, dtype=F64), torch.randn(m, n, generator=g, dtype=F64)
            ).f_ratio
            for _ in range(replicates)
        ]
    )
    reference = stats.f(n, n * (2 * m - 2))
    # the mean of 300 draws is within 4 standard errors (4 x 0.5 / sqrt(300) = 0.12) of 1
    assert abs(ratios.mean() - reference.mean()) < 4 * reference.std() / math.sqrt(replicates)
    assert ratios.std() == pytest.approx(reference.std(), rel=0.15)
    # and the whole distribution: a Kolmogorov-Smirnov test does not reject it
    assert stats.kstest(ratios, reference.cdf).pvalue > 0.01


def test_planted_low_rank_outliers_are_counted():
    # random bulk of radius 0.5 plus three rank-one terms with eigenvalues 1.5, 2, 3
    n = 200
    g = torch.Generator().manual_seed(3)
    bulk = 0.5 * torch.randn(n, n, generator=g, dtype=F64) / math.sqrt(n)
    q, _ = torch.linalg.qr(torch.randn(n, 3, generator=g, dtype=F64))
    planted = q @ torch.diag(torch.tensor([1.5, 2.0, 3.0], dtype=F64)) @ q.T
    spectrum = connectivity_spectrum(bulk + planted)
    assert spectrum.n_outliers == 3
    np.testing.assert_allclose(np.sort(np.abs(spectrum.eigenvalues[:3])), [1.5, 2.0, 3.0], atol=0.1)
    assert connectivity_spectrum(bulk).n_outliers == 0
    approx = low_rank_approximation(bulk + planted, 3)
    assert torch.linalg.matrix_rank(approx) == 3
    # Eckart-Young: no rank-3 matrix is closer to W than the best one, planted included
    w = bulk + planted
    assert torch.linalg.norm(w - approx) <= torch.linalg.norm(w - planted)


def near_unit_circle(seed):
    """A float32 `[32, 32]` matrix whose exact eigenvalues are known: 16 complex pairs from 2 x 2
    blocks `[[a, 1], [c, a]]` (|lambda|^2 = a^2 - c, computed exactly from the float32 entries),
    8 of them within 1e-6 of the unit circle, coupled block-upper-triangularly (which keeps
    the blocks' eigenvalues) and permuted. Returns the matrix and its true count."""
    g = torch.Generator().manual_seed(seed)
    w = 0.3 * torch.triu(torch.randn(32, 32, generator=g), 2)
    truth = 0
    for i in range(16):
        a = -0.9 + 0.25 * i if i < 8 else -0.5 + 0.1 * (i - 8)
        delta = [3e-7, -3e-7, 1e-6, -1e-6][i % 4] if i < 8 else -0.6
        block = torch.tensor([[a, 1.0], [-(1 + delta - a * a), a]])
        w[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = block
        fa, fc = Fraction(float(block[0, 0])), Fraction(float(block[1, 0]))
        truth += 2 * int(fa * fa - fc > 1)
    p = torch.randperm(32, generator=g)
    return w[p][:, p], truth


def test_outliers_are_counted_in_float64_whatever_the_weights_dtype():
    # eigenvalues 1.5e-7 to 5e-7 from the circle: float32 arithmetic misplaces some of them
    # (17 of these 20 matrices), the float64 count is exact on every one
    cases = [near_unit_circle(seed) for seed in range(20)]
    assert all(truth == 8 for _, truth in cases)
    float32_counts = [int((torch.linalg.eigvals(w).abs() > 1).sum()) for w, _ in cases]
    assert sum(c != 8 for c in float32_counts) > 0  # the case needs float64
    ensemble = torch.stack([w for w, _ in cases])  # [E, N, N]
    assert count_outliers(ensemble).tolist() == [8] * 20
    assert int(count_outliers(cases[0][0])) == 8
    assert connectivity_spectrum(cases[0][0]).n_outliers == 8
    assert count_outliers(torch.diag(torch.tensor([2.0, 0.5])), radius=0.4).tolist() == 2
