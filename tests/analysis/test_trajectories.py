import numpy as np
import pytest
import torch

from neurodyn.analysis import (
    PCATrajectories,
    RecurrentInputRatio,
    StepTuning,
    pca_trajectories,
    recurrent_input_ratio,
    step_tuning,
)
from neurodyn.errors import ShapeError
from neurodyn.models import CTRNN, NetworkSpec


def test_pca_recovers_a_planted_plane():
    g = torch.Generator().manual_seed(0)
    n_steps, batch, n = 30, 40, 20
    basis, _ = torch.linalg.qr(torch.randn(n, 2, generator=g, dtype=torch.float64))
    latents = torch.randn(n_steps, batch, 2, generator=g, dtype=torch.float64) * torch.tensor(
        [3.0, 1.0], dtype=torch.float64
    )
    states = latents @ basis.T + 0.01 * torch.randn(
        n_steps, batch, n, generator=g, dtype=torch.float64
    )
    result = pca_trajectories(states, n_components=3)
    # the top two components span the planted plane
    overlap = np.linalg.svd(result.components[:2] @ basis.numpy(), compute_uv=False)
    assert np.all(overlap > 0.999)
    # explained variance matches numpy's SVD of the same data
    flat = states.reshape(-1, n).numpy()
    s = np.linalg.svd(flat - flat.mean(0), compute_uv=False) ** 2
    np.testing.assert_allclose(result.explained_variance_ratio, (s / s.sum())[:3], rtol=1e-8)
    assert result.explained_variance_ratio[0] == pytest.approx(9 / 10, abs=0.03)


def test_pca_condition_means_and_mask():
    states = torch.zeros(4, 6, 3, dtype=torch.float64)
    states[..., 0] = torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])  # two conditions along unit 0
    states[..., 1] = torch.arange(4.0, dtype=torch.float64)[:, None]  # time along unit 1
    condition = torch.tensor([0.5, 0.5, 0.5, -0.5, -0.5, -0.5])
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[3, 0] = False
    result = pca_trajectories(states, mask=mask, condition=condition, n_components=2)
    assert result.condition_values.tolist() == [-0.5, 0.5]
    assert result.condition_means.shape == (2, 4, 2)
    assert np.isnan(result.projections[3, 0]).all() and not np.isnan(result.projections[3, 1]).any()
    # the two condition means differ only along the condition axis, by its full separation
    diff = result.condition_means[1, 0] - result.condition_means[0, 0]
    assert np.linalg.norm(diff) == pytest.approx(2.0)


def test_step_tuning_recovers_planted_preferred_steps():
    n_units, batch, k_len = 6, 5, 8
    preferred = torch.tensor([0, 2, 2, 5, 7, 3])
    start = torch.tensor([2, 3, 4, 2, 5])
    n_steps = int(start.max()) + k_len + 2
    states = torch.zeros(n_steps, batch, n_units)
    for b in range(batch):
        for k in range(k_len):
            states[start[b] + k, b] = torch.exp(-0.5 * (k - preferred.float()) ** 2)
    states[:, :, 5] = 0.0  # a silent unit
    result = step_tuning(states, start, start + k_len, epoch="stimulus")
    assert result.preferred_step.tolist() == [0, 2, 2, 5, 7, -1]
    assert result.histogram.tolist() == [1, 0, 2, 0, 0, 1, 0, 1]
    assert result.n_trials.tolist() == [batch] * k_len


def test_step_tuning_with_unequal_epoch_lengths():
    states = torch.arange(10.0)[:, None, None].expand(10, 2, 1).clone()
    result = step_tuning(states, torch.tensor([0, 0]), torch.tensor([4, 2]))
    assert result.n_trials.tolist() == [2, 2, 1, 1]
    assert result.unit_activity[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_recurrent_input_ratio_analytic_case():
    # W_rec = c I, W_in = I, constant input u: the drives are c h_{t-1} and u, so the ratio is
    # c ||h_{t-1}|| / ||u|| with h following h_t = (1 - a) h + a relu(u + c h_{t-1}).
    n, c, a = 4, 0.5, 0.2
    model = CTRNN(
        NetworkSpec(n_inputs=n, n_hidden=n, n_outputs=1, dt_ms=20.0, tau_ms=100.0, seeds=(0,))
    )
    with torch.no_grad():
        model.W_in.copy_(torch.eye(n)[None])
        model.W_rec.copy_(c * torch.eye(n)[None])
        model.b.zero_()
    u = torch.tensor([1.0, 2.0, 0.5, 1.5])
    x = u.expand(12, 3, n).clone()
    with torch.no_grad():
        traj = model(x, noise=False, return_drives=True)
    epochs = {"early": torch.arange(12)[:, None].expand(12, 3) < 6}
    epochs["late"] = ~epochs["early"]
    result = recurrent_input_ratio(
        traj.input_drive[:, 0], traj.recurrent_drive[:, 0], epochs=epochs
    )
    h = np.zeros(n)
    expected = []
    for _ in range(12):
        expected.append(c * np.linalg.norm(h) / np.linalg.norm(u.numpy()))
        h = (1 - a) * h + a * np.maximum(u.numpy() + c * h, 0)
    np.testing.assert_allclose(result.ratio, expected, rtol=1e-5, atol=1e-7)
    assert result.by_epoch["early"] == pytest.approx(np.mean(expected[:6]), rel=1e-5)
    assert result.epoch_bounds == {"early": [0, 5], "late": [6, 11]}
    # integration: the recurrent share grows over the trial
    assert np.all(np.diff(result.ratio) > 0)


def test_epochs_are_averaged_aligned_to_each_trials_start():
    # two trials whose delay starts at step 2 and at step 5 and lasts 4 and 6 steps; the ratio
    # at each step is 1 + the steps since the trial's delay began (10 before it). Aligned, the
    # mean is 1, 2, 3, 4 exactly; averaged by absolute step it would mix the two trials.
    t, starts, lengths = 12, [2, 5], [4, 6]
    delay = torch.zeros(t, 2, dtype=torch.bool)
    rec = torch.full((t, 2, 1), 10.0)
    for b, (first, n) in enumerate(zip(starts, lengths, strict=True)):
        delay[first : first + n, b] = True
        rec[first : first + n, b, 0] = 1.0 + torch.arange(n)
    result = recurrent_input_ratio(torch.ones(t, 2, 1), rec, epochs={"delay": delay})
    # median length 5: the 5th step has only the longer trial (5)
    np.testing.assert_allclose(result.aligned["delay"], [1, 2, 3, 4, 5])
    ensemble = recurrent_input_ratio(
        torch.ones(t, 2, 2, 1), rec[:, None].expand(t, 2, 2, 1), epochs={"delay": delay}
    )
    assert ensemble.aligned["delay"].shape == (2, 5)


def test_steps_without_input_are_left_out():
    inp = torch.zeros(3, 2, 2)
    inp[0] = 1.0
    rec = torch.ones(3, 2, 2)
    result = recurrent_input_ratio(inp, rec)
    assert result.ratio[0] == pytest.approx(1.0)
    assert np.isnan(result.ratio[1:]).all()


@pytest.mark.parametrize(
    "result",
    [
        pca_trajectories(
            torch.randn(5, 4, 3), condition=torch.tensor([0, 0, 1, 1]), condition_name="c"
        ),
        step_tuning(
            torch.rand(6, 2, 3), torch.tensor([0, 1]), torch.tensor([4, 5]), epoch="stimulus"
        ),
        recurrent_input_ratio(
            torch.rand(5, 2, 3),
            torch.rand(5, 2, 3),
            epochs={"a": torch.ones(5, 2, dtype=torch.bool)},
        ),
    ],
)
def test_results_save_and_load(tmp_path, result):
    path = result.save(tmp_path / "r.npz")
    loaded = type(result).load(path)
    for field in result.__dataclass_fields__:
        a, b = getattr(result, field), getattr(loaded, field)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        elif isinstance(a, dict) and any(isinstance(v, np.ndarray) for v in a.values()):
            assert list(a) == list(b)
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
        else:
            assert a == b
    assert isinstance(loaded, (PCATrajectories, StepTuning, RecurrentInputRatio))


def assert_same(result, expected):
    for field in result.__dataclass_fields__:
        a, b = getattr(result, field), getattr(expected, field)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        elif isinstance(a, dict):
            assert list(a) == list(b)
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
        else:
            assert a == b


def test_an_ensembles_result_is_each_members_result_stacked():
    g = torch.Generator().manual_seed(5)
    n_steps, n_members, batch, n = 12, 3, 6, 4
    states = torch.randn(n_steps, n_members, batch, n, generator=g, dtype=torch.float64)
    recurrent = torch.randn(n_steps, n_members, batch, n, generator=g, dtype=torch.float64)
    mask = torch.rand(n_steps, batch, generator=g) > 0.2
    condition = torch.tensor([0, 1, 0, 1, 2, 2])
    start, end = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([5, 6, 9, 8, 4, 7])
    epochs = {"early": torch.arange(n_steps)[:, None].expand(-1, batch) < 6}
    epochs["late"] = ~epochs["early"]
    analyses = [
        lambda x, r: pca_trajectories(x, mask=mask, condition=condition, n_components=2),
        lambda x, r: step_tuning(x, start, end, epoch="stimulus"),
        lambda x, r: recurrent_input_ratio(x, r, mask=mask, epochs=epochs),
    ]
    for analysis in analyses:
        ensemble = analysis(states, recurrent)
        members = [analysis(states[:, e], recurrent[:, e]) for e in range(n_members)]
        expected = {}
        for field in ensemble.__dataclass_fields__:
            values = [getattr(m, field) for m in members]
            if isinstance(values[0], np.ndarray):
                expected[field] = np.stack(values)
            elif field == "by_epoch":
                expected[field] = {k: np.array([v[k] for v in values]) for k in values[0]}
            elif field == "aligned":
                expected[field] = {k: np.stack([v[k] for v in values]) for k in values[0]}
            else:
                assert all(v == values[0] for v in values)
                expected[field] = values[0]
        assert_same(ensemble, type(ensemble)(**expected))
    pca = pca_trajectories(states, n_components=2)
    assert pca.components.shape == (n_members, 2, n)
    assert pca.projections.shape == (n_members, n_steps, batch, 2)


def test_other_shapes_are_refused_with_the_expected_ones():
    with pytest.raises(ShapeError, match=r"\[T, B, N\] \(one network\) or \[T, E, B, N\]"):
        pca_trajectories(torch.zeros(5, 3))
