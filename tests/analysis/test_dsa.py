import numpy as np
import pytest
import torch

from neurodyn.analysis.dsa import angular_distance, dsa, havok_operator, wasserstein_spectral
from neurodyn.errors import ShapeError

F64 = torch.float64


def simulate(a, trials=10, steps=50, noise=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = a.shape[0]
    x = [torch.randn(trials, n, generator=g, dtype=F64)]
    for _ in range(steps - 1):
        x.append(x[-1] @ a.T + noise * torch.randn(trials, n, generator=g, dtype=F64))
    return torch.stack(x)  # [T, B, N]


def random_system(n, seed, radius=0.9):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=F64)
    return radius * a / torch.linalg.eigvals(a).abs().max()


def orthogonal(n, seed, det):
    q, _ = torch.linalg.qr(
        torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=F64)
    )
    if torch.linalg.det(q) * det < 0:
        q[:, 0] = -q[:, 0]
    return q


def test_operator_is_least_squares_in_singular_coordinates():
    x = simulate(random_system(4, 0))
    a = havok_operator(x, ridge=0.0)
    flat = x.transpose(0, 1).reshape(-1, 4)  # trial by trial
    u = torch.linalg.svd(flat, full_matrices=False)[0]
    # each column signed so that its entry of largest magnitude is positive
    u = u * torch.stack([torch.sign(col[col.abs().argmax()]) for col in u.T])
    v = u.reshape(10, 50, 4)
    expected = torch.linalg.lstsq(v[:, :-1].reshape(-1, 4), v[:, 1:].reshape(-1, 4)).solution.T
    torch.testing.assert_close(a, expected)


@pytest.mark.parametrize("det", [1, -1])
def test_a_system_and_its_rotated_or_reflected_copy_score_zero(det):
    a = random_system(4, 1)
    x = simulate(a)
    q = orthogonal(4, 2, det)
    other = simulate(random_system(4, 3), seed=1)
    d = dsa([x, x @ q.T, other]).values
    assert d[0, 1] < 1e-6
    assert d[0, 2] > 0.2 and d[1, 2] > 0.2
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)


def test_angular_distance_of_similar_operators_in_a_batch():
    g = torch.Generator().manual_seed(4)
    a = torch.randn(6, 5, 5, generator=g, dtype=F64)
    qs = torch.stack([orthogonal(5, s, 1 if s % 2 else -1) for s in range(6)])
    b = qs.transpose(1, 2) @ a @ qs  # a = q b q^T
    assert angular_distance(a, b, restarts=16).max() < 1e-3
    # theta is the angle between a and the best-aligned b: never more than without aligning
    c = torch.randn(6, 5, 5, generator=g, dtype=F64)
    plain = torch.arccos((a * c).sum((1, 2)) / (a.norm(dim=(1, 2)) * c.norm(dim=(1, 2))))
    assert torch.all(angular_distance(a, c, iters=300) <= plain + 1e-9)


def test_wasserstein_spectral_is_zero_for_similar_matrices_and_matches_a_hand_case():
    a = torch.diag(torch.tensor([0.5, 0.9], dtype=F64))
    b = torch.diag(torch.tensor([0.5, 0.7], dtype=F64))
    q = orthogonal(2, 0, 1)
    w = wasserstein_spectral(torch.stack([a, a]), torch.stack([q @ a @ q.T, b]))
    assert float(w[0]) == pytest.approx(0.0, abs=1e-20)
    assert float(w[1]) == pytest.approx(0.2**2 / 2)


def test_unequal_ranks_are_refused_with_advice():
    with pytest.raises(ShapeError, match="give `rank`"):
        dsa([simulate(random_system(3, 0)), simulate(random_system(4, 0))])


def test_an_ensemble_tensor_is_compared_like_the_list_of_its_members():
    members = [simulate(random_system(4, s), seed=s) for s in range(3)]
    ensemble = torch.stack(members, 1)  # [T, E, B, N]
    np.testing.assert_array_equal(dsa(ensemble).values, dsa(members).values)
    with pytest.raises(ShapeError, match=r"\[T, E, B, N\]"):
        dsa(members[0])


def test_the_trials_first_order_is_read_only_when_named_and_warns():
    x = simulate(random_system(4, 0))
    with pytest.warns(DeprecationWarning, match="time-major"):
        old = havok_operator(x.transpose(0, 1), layout="trials-first")
    torch.testing.assert_close(old, havok_operator(x), rtol=0, atol=0)
    with pytest.warns(DeprecationWarning):
        dsa([x.transpose(0, 1), x.transpose(0, 1)], layout="trials-first")


# (n_delays, rank) of the exact-match tests: full rank and truncated, with and without delays
EMBEDDINGS = [(1, None), (2, None), (3, None), (3, 6), (2, 5), (4, 3)]


@pytest.mark.parametrize(("n_delays", "rank"), EMBEDDINGS)
def test_the_operator_does_not_depend_on_the_basis_of_the_states(n_delays, rank):
    # the SVD's free signs are fixed by the data, so the same system in 10 other orthogonal
    # bases (rotations and reflections) gives the same operator, not a sign-conjugated one
    x = simulate(random_system(4, n_delays), seed=n_delays)
    a = havok_operator(x, n_delays=n_delays, rank=rank)
    for s in range(10):
        q = orthogonal(4, 10 * n_delays + s, 1 if s % 2 else -1)
        torch.testing.assert_close(
            havok_operator(x @ q.T, n_delays=n_delays, rank=rank), a, rtol=0, atol=1e-9
        )


@pytest.mark.parametrize(("n_delays", "rank"), EMBEDDINGS)
def test_a_system_against_itself_in_any_orthogonal_basis_scores_zero_at_defaults(n_delays, rank):
    # 6 embeddings x 10 bases (5 rotations, 5 reflections) = 60 random bases, all pairs of
    # the 11 copies scored at the default settings: every one must be the exact optimum
    x = simulate(random_system(4, 20 + n_delays), seed=20 + n_delays)
    copies = [x] + [x @ orthogonal(4, 100 * n_delays + s, 1 if s % 2 else -1).T for s in range(10)]
    d = dsa(copies, n_delays=n_delays, rank=rank).values
    assert d.max() < 1e-6


def test_operators_that_differ_only_in_coordinate_signs_score_zero_from_the_sign_start():
    # without the canonical signs (as for operators fitted elsewhere), the per-pair sign
    # start finds the diagonal of +-1 that relates them: exact at the default settings
    g = torch.Generator().manual_seed(5)
    a = torch.randn(40, 10, 10, generator=g, dtype=F64)
    signs = torch.randint(0, 2, (40, 10), generator=g).to(F64) * 2 - 1
    b = torch.diag_embed(signs) @ a @ torch.diag_embed(signs)
    assert angular_distance(a, b).max() < 1e-6
