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
    assert d[0, 1] < 1e-3
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
