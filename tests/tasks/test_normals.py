"""Random stream 3's normal sampler (`neurodyn.tasks._normals`) against the standard normal:
its moments, a Kolmogorov-Smirnov test (scipy), independence between values, trials and
successive draws, and reproducibility from the generator's state."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from neurodyn.tasks._normals import standard_normal

# a large draw, shared by the tests below: 4 million values
ROWS, COLUMNS = 50_000, 80


@pytest.fixture(scope="module")
def drawn():
    return standard_normal(ROWS, COLUMNS, generator=torch.Generator().manual_seed(0))


def test_the_values_have_the_moments_of_the_standard_normal(drawn):
    z = drawn.double().flatten()
    n = z.numel()
    assert drawn.shape == (ROWS, COLUMNS) and drawn.dtype == torch.float32
    # each moment within 5 standard errors of the normal's: mean 0 (se 1/sqrt(n)), variance 1
    # (se sqrt(2/n)), third moment 0 (se sqrt(15/n)), fourth 3 (se sqrt(96/n))
    assert abs(float(z.mean())) < 5 / math.sqrt(n)
    assert abs(float(z.var()) - 1) < 5 * math.sqrt(2 / n)
    assert abs(float((z**3).mean())) < 5 * math.sqrt(15 / n)
    assert abs(float((z**4).mean()) - 3) < 5 * math.sqrt(96 / n)
    # the tails: the fraction beyond 3 sd is the normal's (binomial se), nothing beyond 5.65
    beyond = float((z.abs() > 3).double().mean())
    expected = 2 * stats.norm.sf(3)
    assert abs(beyond - expected) < 5 * math.sqrt(expected / n)
    assert float(z.abs().max()) <= math.sqrt(-2 * math.log(2.0**-23)) + 1e-5


def test_the_values_pass_a_kolmogorov_smirnov_test_against_the_normal(drawn):
    z = drawn.flatten().numpy()
    assert stats.kstest(z, "norm").pvalue > 0.01
    # and each quarter of the draw on its own (the radii's and the angles' halves included)
    for quarter in np.split(z, 4):
        assert stats.kstest(quarter, "norm").pvalue > 0.01


def test_the_values_are_independent_of_each_other(drawn):
    z = drawn.double()
    n = z.numel()
    flat = z.flatten()
    half = n // 2  # a Box-Muller pair: value i and value i + n/2 share their radius
    bound = 5 / math.sqrt(half)
    pairs = [
        (flat[:-1], flat[1:]),  # neighbours
        (z[:-1].flatten(), z[1:].flatten()),  # a row and the next (trial and trial)
        (z[:, :-1].flatten(), z[:, 1:].flatten()),  # a column and the next (input channels)
        (flat[:half], flat[half:]),  # the two values of each pair
        (flat[:half] ** 2, flat[half:] ** 2),  # and their squares (one radius for both)
    ]
    for a, b in pairs:
        assert abs(float(torch.corrcoef(torch.stack([a, b]))[0, 1])) < bound


def test_a_draw_is_a_function_of_the_generators_state():
    g = torch.Generator().manual_seed(3)
    first = standard_normal(64, 85, generator=g)
    second = standard_normal(64, 85, generator=g)
    again = torch.Generator().manual_seed(3)
    assert torch.equal(standard_normal(64, 85, generator=again), first)
    assert torch.equal(standard_normal(64, 85, generator=again), second)
    # successive draws are new values, uncorrelated with the last
    r = torch.corrcoef(torch.stack([first.flatten(), second.flatten()]))[0, 1]
    assert abs(float(r)) < 5 / math.sqrt(first.numel())
    # the generator advances by two values whatever the draw's size
    a, b = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    standard_normal(3, 1, generator=a)
    standard_normal(1000, 7, generator=b)
    assert torch.equal(a.get_state(), b.get_state())
    # an odd count and an empty one
    assert standard_normal(3, 3, generator=a).shape == (3, 3)
    assert standard_normal(0, 85, generator=a).shape == (0, 85)
