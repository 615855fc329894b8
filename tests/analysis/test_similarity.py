import itertools
import math

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.stats import spearmanr

from neurodyn.analysis.similarity import (
    SimilarityMatrix,
    _feature_space_cka,
    cca_distance,
    cca_similarity,
    classical_mds,
    group_separation,
    linear_cka,
    procrustes_distance,
    rbf_cka,
    rdm,
    rsa,
    similarity_layout,
)
from neurodyn.errors import ArgumentError, ShapeError

F64 = torch.float64


def rotation(n, seed):
    q, _ = torch.linalg.qr(
        torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=F64)
    )
    return q


def test_cka_is_one_for_rotated_scaled_copies_and_near_zero_for_independent_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 8, generator=g, dtype=F64)
    noise = torch.randn(500, 8, generator=g, dtype=F64)
    result = linear_cka([x, 2.5 * x @ rotation(8, 1) + 3.0, noise])
    assert result.values[0, 1] == pytest.approx(1.0, abs=1e-12)
    assert result.values[0, 2] < 0.05
    assert np.allclose(result.values, result.values.T)
    rbf = rbf_cka([x, 2.5 * x @ rotation(8, 1), noise])
    assert rbf.values[0, 1] == pytest.approx(1.0, abs=1e-9) and rbf.values[0, 2] < 0.1


def test_linear_cka_matches_its_feature_space_formula():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(50, 4, generator=g, dtype=F64), torch.randn(50, 7, generator=g, dtype=F64)
    xc, yc = x - x.mean(0), y - y.mean(0)
    expected = (yc.T @ xc).norm() ** 2 / ((xc.T @ xc).norm() * (yc.T @ yc).norm())
    assert linear_cka([x, y]).values[0, 1] == pytest.approx(float(expected), rel=1e-10)


def gram_form_cka(x, y):
    """Kornblith et al. (2019) eq. 3: HSIC of the centred linear Gram matrices, pair by pair."""
    m = x.shape[0]
    h = torch.eye(m, dtype=F64) - 1.0 / m
    gram_x, gram_y = h @ x @ x.T @ h, h @ y @ y.T @ h
    return float((gram_x * gram_y).sum() / (gram_x.norm() * gram_y.norm()))


@pytest.mark.parametrize("n_rows", [40, 6])  # more rows than units (feature form), and fewer
def test_linear_cka_equals_the_gram_form_pair_by_pair(n_rows):
    g = torch.Generator().manual_seed(11)
    widths = (3, 7, 5, 7, 1, 4)
    xs = [
        torch.randn(n_rows, n, generator=g, dtype=F64) @ torch.randn(n, n, generator=g, dtype=F64)
        + 2.0
        for n in widths
    ]
    values = linear_cka(xs).values
    for i, j in itertools.product(range(len(xs)), repeat=2):
        assert values[i, j] == pytest.approx(gram_form_cka(xs[i], xs[j]), abs=1e-10)
    # blocks of a network or two (columns of a block: at least one network's) give the same
    if n_rows > max(widths):
        blocked = _feature_space_cka(xs, block_columns=10).numpy()
        np.testing.assert_allclose(blocked, values, rtol=0, atol=1e-12)


def test_linear_cka_of_an_orthogonal_map_is_one_and_of_independent_blocks_near_zero():
    g = torch.Generator().manual_seed(12)
    m, n = 4000, 16
    xs = [torch.randn(m, n, generator=g, dtype=F64) for _ in range(6)]
    values = linear_cka([xs[0], xs[0] @ rotation(n, 13), *xs[1:]]).values
    assert values[0, 1] == pytest.approx(1.0, abs=1e-12)
    # independent standard Gaussian [M, N] blocks: E||Y^T X||_F^2 = M N^2 and
    # E||X^T X||_F^2 = N M^2 + N^2 M (diagonal and off-diagonal entries), so CKA is about
    # N / (M + N) = 0.004 here, with a relative spread of about sqrt(2 / N^2) = 9%
    expected = n / (m + n)
    off = values[2:, 2:][~np.eye(5, dtype=bool)]
    assert np.all(np.abs(off / expected - 1) < 0.4)


def test_procrustes_distance_is_zero_for_rotations_and_matches_scipy():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(40, 6, generator=g, dtype=F64)
    y = torch.randn(40, 6, generator=g, dtype=F64)
    d = procrustes_distance([x, 4 * x @ rotation(6, 3) - 1, y]).values
    assert d[0, 1] == pytest.approx(0.0, abs=1e-6)
    # reference: the optimal rotation from scipy, then the angle between the aligned shapes
    xc, yc = (x - x.mean(0)).numpy(), (y - y.mean(0)).numpy()
    xc, yc = xc / np.linalg.norm(xc), yc / np.linalg.norm(yc)
    r, _ = orthogonal_procrustes(yc, xc)
    assert d[0, 2] == pytest.approx(math.acos(np.sum(xc * (yc @ r))), abs=1e-10)


def test_procrustes_is_a_metric_on_random_triples_with_different_widths():
    g = torch.Generator().manual_seed(4)
    xs = [torch.randn(30, n, generator=g, dtype=F64) for n in (3, 5, 5, 8, 4)]
    d = procrustes_distance(xs).values
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0) and np.all(d >= 0)
    for i, j, k in itertools.permutations(range(5), 3):
        assert d[i, k] <= d[i, j] + d[j, k] + 1e-12


def test_cca_and_svcca():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(200, 5, generator=g, dtype=F64)
    mixed = x @ torch.randn(5, 5, generator=g, dtype=F64)  # any invertible linear map
    other = torch.randn(200, 5, generator=g, dtype=F64)
    sim = cca_similarity([x, mixed, other]).values
    assert sim[0, 1] == pytest.approx(1.0, abs=1e-10) and sim[0, 2] < 0.3
    assert cca_distance([x, mixed]).values[0, 1] == pytest.approx(0.0, abs=1e-6)
    # SVCCA drops a low-variance direction that CCA would align
    noisy = torch.cat([x, 1e-4 * torch.randn(200, 1, generator=g, dtype=F64)], 1)
    assert cca_similarity([x, noisy], keep_variance=0.99).values[0, 1] > 0.99


def test_rsa_matches_scipy_spearman_of_rdms():
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(12, 20, generator=g, dtype=F64), torch.randn(12, 9, generator=g, dtype=F64)
    upper = np.triu_indices(12, 1)
    expected = spearmanr(rdm(x).numpy()[upper], rdm(y).numpy()[upper]).statistic
    assert rsa([x, y]).values[0, 1] == pytest.approx(expected, abs=1e-12)


def test_result_round_trip_and_shape_errors(tmp_path):
    result = linear_cka(torch.randn(3, 10, 4, dtype=F64), labels=["a", "b", "c"])
    back = SimilarityMatrix.load(result.save(tmp_path / "s.npz"))
    assert back.labels == ["a", "b", "c"] and np.array_equal(back.values, result.values)
    with pytest.raises(ShapeError, match="same M"):
        linear_cka([torch.randn(10, 3), torch.randn(9, 3)])


def test_group_separation_sees_planted_groups_and_not_random_labels():
    rng = np.random.default_rng(0)
    # two planted clusters of 6 networks each, as points whose distances form the matrix
    points = np.concatenate([rng.normal(0, 1, (6, 3)), rng.normal(4, 1, (6, 3))])
    distance = np.linalg.norm(points[:, None] - points[None], axis=-1)
    labels = [f"a:{i}" for i in range(6)] + [f"b:{i}" for i in range(6)]
    planted = group_separation(SimilarityMatrix(distance, "x", "distance", labels))
    assert planted.groups == ["a", "b"] and planted.nearest_same == 1.0
    assert planted.p_value < 0.01 and np.all(planted.within < planted.between)
    mixed = [labels[i] for i in rng.permutation(12)]
    assert group_separation(SimilarityMatrix(distance, "x", "distance", mixed)).p_value > 0.05
    # a similarity matrix is read as 1 - s
    sim = group_separation(
        SimilarityMatrix(1 - distance / distance.max(), "s", "similarity", labels)
    )
    assert sim.p_value < 0.01
    with pytest.raises(ArgumentError, match="two groups"):
        group_separation(SimilarityMatrix(distance, "x", "distance", [f"{i}:0" for i in range(12)]))


def test_classical_mds_recovers_planar_points_up_to_rotation():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(10, 2))
    coords = classical_mds(np.linalg.norm(points[:, None] - points[None], axis=-1))
    np.testing.assert_allclose(
        np.linalg.norm(coords[:, None] - coords[None], axis=-1),
        np.linalg.norm(points[:, None] - points[None], axis=-1),
        atol=1e-10,
    )


def test_similarity_layout_puts_networks_on_a_line_at_their_distances():
    # two tight groups on a line, in shuffled order: clustering puts each group together,
    # and MDS reproduces every distance along one axis
    position = np.array([0.0, 10.0, 0.5, 10.4, 1.0])
    labels = ["a:0", "b:0", "a:1", "b:1", "a:2"]
    matrix = SimilarityMatrix(np.abs(position[:, None] - position), "d", "distance", labels)
    layout = similarity_layout(matrix)
    coords = layout.coordinates
    np.testing.assert_allclose(
        np.linalg.norm(coords[:, None] - coords[None], axis=-1),
        np.abs(position[:, None] - position),
        atol=1e-9,
    )
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-6)  # sqrt of a rounding error
    groups = [labels[i][0] for i in layout.order]
    assert groups in (["a"] * 3 + ["b"] * 2, ["b"] * 2 + ["a"] * 3)
    assert sorted(layout.order.tolist()) == list(range(5))
    assert layout.groups == ["a", "b", "a", "b", "a"]
