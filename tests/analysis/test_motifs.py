"""Motif analyses: task-period variance and Ward clusters on planted unit groups (exact
recovery), the code's pooled variance, and cluster lesions of a planted modular network."""

import numpy as np
import pytest
import torch

from neurodyn import tasks
from neurodyn.analysis import (
    cluster_motifs,
    lesion_ensemble,
    lesioned,
    period_lesion_effects,
    period_variance,
)
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.models import CTRNN, NetworkSpec

NAMES = ("driscoll24.fdgo", "driscoll24.delaygo", "driscoll24.delaydm1")
# planted motifs: each group of units varies in these task periods only
PLANTED = {
    0: [
        ("driscoll24.fdgo", "stim1"),
        ("driscoll24.delaygo", "stim1"),
        ("driscoll24.delaydm1", "stim1"),
    ],
    1: [
        ("driscoll24.delaygo", "delay1"),
        ("driscoll24.delaydm1", "delay1"),
        ("driscoll24.delaydm1", "delay2"),
    ],
    2: [("driscoll24.fdgo", "go1"), ("driscoll24.delaygo", "go1")],
    3: [("driscoll24.delaydm1", "stim2"), ("driscoll24.delaydm1", "go1")],
}
PER_GROUP = 12


def planted_states(ensemble: int | None = None, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    states, batches, periods = {}, {}, {}
    group = np.repeat(np.arange(len(PLANTED)), PER_GROUP)
    for name in NAMES:
        task = tasks.get(name, input_noise=0.0)
        batch = task.sample(32, seed=1)
        shape = (batch.n_steps, *(() if ensemble is None else (ensemble,)), 32, len(group))
        h = 0.01 * torch.randn(shape, generator=g)  # a little variance everywhere
        for unit, c in enumerate(group):
            on = sum(batch.epoch_mask(e).float() for t, e in PLANTED[c] if t == name)
            if isinstance(on, torch.Tensor):
                on = on if ensemble is None else on[:, None]
                h[..., unit] += on * (1 + 0.1 * c) * torch.randn(shape[:-1], generator=g)
        states[name], batches[name], periods[name] = h, batch, task.periods
    return states, batches, periods, group


def test_period_variance_is_the_codes_pooled_variance():
    states, batches, periods, _ = planted_states()
    pv = period_variance(states, batches, periods)
    # every epoch but the context period, epoch first (the code's stable sort by name)
    assert pv.epochs == sorted(pv.epochs) and "fix1" not in pv.epochs
    assert len(pv.labels) == 2 + 3 + 5
    for p, (task, epoch) in enumerate(zip(pv.tasks, pv.epochs, strict=True)):
        h, mask = states[task], batches[task].epoch_mask(epoch)
        expected = h[mask].numpy().astype(np.float64).var(0)  # the code's var of [T * B, N]
        np.testing.assert_allclose(pv.variance[:, p], expected, rtol=1e-5)
    assert pv.active.all()
    np.testing.assert_allclose(np.nanmax(pv.normalised, 1), 1.0)


def test_ward_clusters_recover_planted_unit_groups_and_motifs_exactly():
    states, batches, periods, group = planted_states()
    pv = period_variance(states, batches, periods)
    mc = cluster_motifs(pv)
    assert mc.n_unit_clusters == len(PLANTED)
    # the same partition of the units (labels may be renumbered)
    assert len({(a, b) for a, b in zip(group, mc.unit_labels, strict=True)}) == len(PLANTED)
    for c, planted in PLANTED.items():
        cluster = mc.unit_labels[group == c][0]
        assert sorted(mc.motifs()[cluster]) == sorted(f"{t} {e}" for t, e in planted)
    # periods with the same planted profile fall in one period cluster
    by_profile = {}
    for p, label in enumerate(pv.labels):
        owner = [c for c, pl in PLANTED.items() if tuple(label.rsplit(" ", 1)) in pl]
        by_profile.setdefault(tuple(owner), set()).add(int(mc.period_labels[p]))
    assert all(len(v) == 1 for v in by_profile.values())
    assert sorted(mc.shared()) == sorted(
        mc.unit_labels[group == c][0] for c, pl in PLANTED.items() if len({t for t, _ in pl}) > 1
    )
    assert set(mc.unit_order) == set(range(len(group)))
    assert not mc.units_at_edge and "lower bound" not in mc.counts_text()


def test_a_count_at_the_largest_number_tried_is_flagged_as_a_lower_bound():
    # 4 planted groups, clusters tried only up to 4 (k_max 5): the silhouette is largest at
    # the last k tried, so the data may hold more clusters than the range allows
    states, batches, periods, _ = planted_states()
    pv = period_variance(states, batches, periods)
    mc = cluster_motifs(pv, k_max=5)
    assert list(mc.k_values_units) == [3, 4] and mc.n_unit_clusters == 4
    assert mc.units_at_edge
    assert mc.counts_text().startswith("4 unit clusters (silhouette largest at the most tried")


def test_an_ensemble_gives_each_members_own_variance():
    states, batches, periods, _ = planted_states(ensemble=2)
    pv = period_variance(states, batches, periods)
    assert pv.variance.shape == (2, len(PLANTED) * PER_GROUP, 10)
    one = period_variance({k: v[:, 1] for k, v in states.items()}, batches, periods)
    np.testing.assert_allclose(pv.member(1).variance, one.variance)
    np.testing.assert_array_equal(pv.member(-1).active, one.active)
    assert pv.member(1).labels == one.labels and pv.member(1).labels is not pv.labels
    with pytest.raises(ShapeError, match="pick a member"):
        cluster_motifs(pv)
    with pytest.raises(ArgumentError, match="member 2 is out of range: the ensemble has 2"):
        pv.member(2)
    with pytest.raises(ShapeError, match="this period variance is of one network"):
        one.member(0)


def test_tasks_without_periods_are_refused_in_one_line():
    states, batches, periods, _ = planted_states()
    periods = {**periods, NAMES[0]: {"fix1": "context"}}
    with pytest.raises(ArgumentError, match="declares no period for its epoch 'stim1'"):
        period_variance(states, batches, periods)


def test_lesion_ensemble_equals_lesioning_one_by_one():
    net = CTRNN(NetworkSpec(n_inputs=3, n_hidden=8, n_outputs=2, seeds=(4,)))
    groups = [[0, 1], [5]]
    ens = lesion_ensemble(net, groups)
    x = torch.randn(20, 5, 3, generator=torch.Generator().manual_seed(0))
    out = ens(x, noise=False).outputs
    torch.testing.assert_close(out[:, 0], net(x, noise=False).outputs[:, 0])
    for g, units in enumerate(groups, start=1):
        torch.testing.assert_close(out[:, g], lesioned(net, units)(x, noise=False).outputs[:, 0])


def modular_network() -> tuple[CTRNN, object]:
    """A network built by hand for DelayPro: units 0-1 hold fixation (they follow the fixation
    input; the fixation output reads them), units 2-5 carry the stimulus's +-sin and +-cos
    from either modality to the response outputs. Rule inputs are ignored."""
    task = tasks.make({"battery": "driscoll24", "tasks": ["fdgo"], "params": {"input_noise": 0.0}})
    net = CTRNN(NetworkSpec(n_inputs=task.n_inputs, n_hidden=6, n_outputs=3, activation="relu"))
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.W_in[0, 0:2, 0] = 1.0  # fixation module
        net.W_out[0, 0, 0:2] = 0.4
        for unit, (channel, sign) in enumerate([(0, 1), (0, -1), (1, 1), (1, -1)], start=2):
            net.W_in[0, unit, 1 + channel] = sign  # modality 1: sin, cos
            net.W_in[0, unit, 3 + channel] = sign  # modality 2
            net.W_out[0, 1 + channel, unit] = sign
    return net, task


def test_cluster_lesions_of_a_planted_modular_network():
    net, task = modular_network()
    labels = np.array([0, 0, 1, 1, 1, 1])
    effects = period_lesion_effects(net, labels, task, trials=64, noise=False)
    assert effects.tasks == ["driscoll24.fdgo"]
    assert effects.performance[0, 0] == 1.0  # the hand-built network does the task
    assert effects.labels == [
        "driscoll24.fdgo fix1",
        "driscoll24.fdgo stim1",
        "driscoll24.fdgo go1",
    ]
    fix1, stim1, go1 = range(3)
    # silencing the fixation module: fixation fails before the go cue, not after
    assert effects.cost_ratio[0, fix1] > 10 and effects.cost_ratio[0, stim1] > 2
    assert effects.cost_ratio[0, go1] <= 1.0
    # silencing the response module: the response fails, the task is lost
    assert effects.cost_ratio[1, go1] > 10 and effects.cost_ratio[1, fix1] == pytest.approx(1.0)
    # (a silent response reads as angle 0: right for the few targets within 0.1 pi of it)
    target_near_zero = 2 * 0.1 / 2  # the share of uniform angles within 0.1 pi of 0
    assert -1.0 <= effects.performance_change[1, 0] <= -1.0 + 2 * target_near_zero
    assert effects.performance_change[0, 0] == 0.0  # fixation output 0 at the end: still right
    np.testing.assert_array_equal(effects.cluster_sizes, [2, 4])
