import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from neurodyn.analysis.task_variance import (
    TaskVariance,
    UnitClusters,
    cluster_units,
    fractional_variance,
    lesion_effects,
    lesioned,
    lesioned_copies,
    silhouette_score,
    task_variance,
)
from neurodyn.analysis.task_vectors import (
    analogy,
    task_vectors,
)
from neurodyn.errors import ShapeError, TaskNotFound
from neurodyn.models import CTRNN, NetworkSpec
from neurodyn.plot.task_variance import (
    plot_fractional_variance,
    plot_lesion_effects,
    plot_silhouette,
    plot_task_variance_matrix,
    plot_task_vectors,
)

F64 = torch.float64
N_COND, N_PRE, N_EPOCH = 8, 3, 5


def planted_network(amplitudes: np.ndarray, *, seed: int = 0):
    """States of a synthetic network whose unit u varies with the condition in task k as
    `amplitudes[u, k] * cos(theta_b + phase_u)`, over 8 equally spaced conditions theta_b.

    Over equally spaced angles cos has mean 0 and mean square 1/2, so the variance across
    conditions is exactly `amplitudes**2 / 2` at every step of the epoch. Before the epoch
    (the fixation steps, masked out) every unit varies strongly with the condition, and a
    time course common to all trials is added throughout (no variance across trials).
    """
    g = torch.Generator().manual_seed(seed)
    n_units, n_tasks = amplitudes.shape
    theta = 2 * torch.pi * torch.arange(N_COND, dtype=F64) / N_COND
    phase = 2 * torch.pi * torch.rand(n_units, generator=g, dtype=F64)
    tuning = torch.cos(theta[:, None] + phase[None])  # [B, N]
    n_steps = N_PRE + N_EPOCH
    common = torch.randn(n_steps, 1, n_units, generator=g, dtype=F64)
    mask = torch.zeros(n_steps, N_COND, dtype=torch.bool)
    mask[N_PRE:] = True
    states, masks = {}, {}
    for k in range(n_tasks):
        amp = torch.as_tensor(amplitudes[:, k], dtype=F64)
        h = common + (amp * tuning)[None].expand(n_steps, -1, -1)
        h[:N_PRE] += 10 * tuning  # large variance outside the epoch, which must not count
        states[f"task{k}"], masks[f"task{k}"] = h, mask
    return states, masks


def test_task_variance_is_the_planted_variance_and_finds_the_tuned_tasks():
    amplitudes = np.zeros((7, 4))
    amplitudes[0, 0] = 1.0  # tuned to task 0 only
    amplitudes[1, 2] = 2.0  # task 2 only
    amplitudes[2, [1, 3]] = [0.5, 1.0]  # tasks 1 and 3
    amplitudes[3] = 0.01  # varies a little everywhere: summed variance 2e-4, inactive
    amplitudes[5, :] = 1.0  # every task
    # units 4 and 6 never vary with the condition
    tv = task_variance(*planted_network(amplitudes))
    assert tv.tasks == ["task0", "task1", "task2", "task3"]
    np.testing.assert_allclose(tv.variance, amplitudes**2 / 2, atol=1e-12)
    assert tv.active.tolist() == [True, True, True, False, False, True, False]
    # each unit's variance divided by its max over tasks
    np.testing.assert_allclose(tv.normalised[2], [0.0, 0.25, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(tv.normalised[5], [1.0, 1.0, 1.0, 1.0])
    assert np.isnan(tv.normalised[~tv.active]).all()
    tuned = [set(np.flatnonzero(row > 1e-6)) for row in tv.normalised[tv.active]]
    assert tuned == [{0}, {2}, {1, 3}, {0, 1, 2, 3}]
    total = task_variance(*planted_network(amplitudes), normalisation="sum").normalised
    np.testing.assert_allclose(np.nansum(total, 1)[tv.active], 1.0)


def test_task_variance_with_trials_that_differ_in_their_epochs():
    # step 0 keeps trials {0, 1} (values 0, 2: variance 1); step 1 keeps {0, 1, 2} (0, 0, 3:
    # variance 2); step 2 keeps one trial only, which has no variance and is left out
    h = torch.tensor([[0.0, 2.0, 50.0], [0.0, 0.0, 3.0], [7.0, 1.0, 9.0]], dtype=F64)[..., None]
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [0, 0, 1]], dtype=torch.bool)
    tv = task_variance({"a": h}, {"a": mask})
    assert tv.variance[0, 0] == pytest.approx(1.5)


def test_task_variance_checks_its_inputs():
    h = torch.zeros(4, 3, 2)
    with pytest.raises(ShapeError, match="masks"):
        task_variance({"a": h}, {"a": torch.ones(4, 2, dtype=torch.bool)})
    with pytest.raises(ShapeError, match="same tasks"):
        task_variance({"a": h}, {"b": torch.ones(4, 3, dtype=torch.bool)})
    with pytest.raises(ShapeError, match="two trials"):
        one = torch.zeros(4, 3, dtype=torch.bool)
        one[:, 0] = True
        task_variance({"a": h}, {"a": one})


def test_an_ensemble_gives_each_members_task_variance_as_computed_alone(tmp_path):
    # three members planted with different amplitudes; member 2's mask drops its first
    # epoch step and one trial, so its steps and trials differ from the others'
    rng = np.random.default_rng(3)
    members = [planted_network(rng.uniform(0, 1, (5, 3)), seed=e) for e in range(3)]
    tasks = list(members[0][0])
    masks_e = {t: torch.stack([m[1][t] for m in members], 1).clone() for t in tasks}
    for t in tasks:
        masks_e[t][N_PRE, 2] = False
        masks_e[t][:, 2, 1] = False
    states_e = {t: torch.stack([m[0][t] for m in members], 1) for t in tasks}  # [T, E, B, N]
    tv = task_variance(states_e, masks_e)
    assert tv.is_ensemble and tv.variance.shape == (3, 5, 3) and tv.active.shape == (3, 5)
    for e in range(3):
        alone = task_variance(
            {t: states_e[t][:, e] for t in tasks}, {t: masks_e[t][:, e] for t in tasks}
        )
        one = tv.member(e)
        np.testing.assert_allclose(one.variance, alone.variance, rtol=1e-12, atol=0)
        np.testing.assert_allclose(one.normalised, alone.normalised, rtol=1e-12, atol=0)
        assert one.active.tolist() == alone.active.tolist()
    # a [T, B] mask applies to every member alike
    shared = task_variance(states_e, {t: members[0][1][t] for t in tasks})
    np.testing.assert_allclose(
        shared.member(1).variance, task_variance(*members[1]).variance, rtol=1e-12, atol=0
    )
    loaded = TaskVariance.load(tv.save(tmp_path / "tv.npz"))
    np.testing.assert_array_equal(loaded.variance, tv.variance)
    # the one-network analyses ask for a member rather than misreading the E axis
    with pytest.raises(ShapeError, match=r"tv.member\(e\)"):
        cluster_units(tv)
    with pytest.raises(ShapeError, match=r"tv.member\(e\)"):
        fractional_variance(tv, "task0", "task1")
    with pytest.raises(ShapeError, match=r"same E and N"):
        task_variance(
            {"task0": states_e["task0"], "task1": states_e["task1"][:, :2]},
            {"task0": masks_e["task0"], "task1": masks_e["task1"][:, :2]},
        )


# Four planted groups of units, each a pattern of tuning amplitudes over six tasks; their
# preferred tasks are 2, 0, 4, 3, so the clusters must come out ordered g1, g0, g3, g2.
PATTERNS = np.array(
    [
        [0.0, 0.0, 1.0, 0.5, 0.0, 0.0],
        [1.0, 0.6, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.6],
        [0.0, 0.4, 0.0, 1.0, 0.0, 0.5],
    ]
)
EXPECTED_CLUSTER = {0: 1, 1: 0, 2: 3, 3: 2}  # planted group -> cluster


def planted_clusters(per_group: int = 12, n_silent: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(len(PATTERNS)), per_group)
    amplitudes = PATTERNS[group] * rng.uniform(0.9, 1.1, size=(len(group), PATTERNS.shape[1]))
    amplitudes = np.concatenate([amplitudes, np.zeros((n_silent, PATTERNS.shape[1]))])
    group = np.concatenate([group, -np.ones(n_silent, dtype=int)])
    order = rng.permutation(len(group))  # the groups are not contiguous
    return amplitudes[order], group[order]


def adjusted_rand_index(x: np.ndarray, y: np.ndarray) -> float:
    """Hubert & Arabie (1985), from the contingency table."""
    table = np.array([[np.sum((x == i) & (y == j)) for j in np.unique(y)] for i in np.unique(x)])

    def pairs(n):
        return n * (n - 1) / 2

    index = pairs(table).sum()
    rows, cols = pairs(table.sum(1)).sum(), pairs(table.sum(0)).sum()
    expected = rows * cols / pairs(len(x))
    return float((index - expected) / ((rows + cols) / 2 - expected))


def test_clustering_recovers_the_planted_groups_and_their_number():
    amplitudes, group = planted_clusters()
    tv = task_variance(*planted_network(amplitudes))
    assert tv.active.tolist() == (group >= 0).tolist()
    clusters = cluster_units(tv)
    assert clusters.n_clusters == 4
    assert list(clusters.k_values) == list(range(2, 30))
    assert np.nanargmax(clusters.silhouette) == 2  # k = 4
    assert adjusted_rand_index(clusters.labels[group >= 0], group[group >= 0]) == 1.0
    # clusters numbered by the task they prefer, as the paper's Fig. 2
    for g, c in EXPECTED_CLUSTER.items():
        assert set(clusters.labels[group == g]) == {c}
    assert clusters.preferred_task.tolist() == [0, 2, 3, 4]
    assert (clusters.labels[group < 0] == -1).all()
    sorted_labels = clusters.labels[clusters.order]
    assert (np.diff(sorted_labels) >= 0).all() and len(clusters.order) == (group >= 0).sum()
    # deterministic for a seed
    assert (cluster_units(tv).labels == clusters.labels).all()


def test_silhouette_matches_its_definition_computed_point_by_point():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(23, 3))
    labels = rng.integers(0, 4, size=23)
    labels[0] = 4  # a cluster of one point, whose silhouette is 0
    expected = []
    for i in range(len(x)):
        own = [j for j in range(len(x)) if labels[j] == labels[i] and j != i]
        if not own:
            expected.append(0.0)
            continue
        a = np.mean([np.linalg.norm(x[i] - x[j]) for j in own])
        b = min(
            np.mean([np.linalg.norm(x[i] - x[j]) for j in range(len(x)) if labels[j] == c])
            for c in set(labels) - {labels[i]}
        )
        expected.append((b - a) / max(a, b))
    assert silhouette_score(x, labels) == pytest.approx(np.mean(expected), rel=1e-12)


def test_fractional_variance_of_units_tuned_to_one_the_other_or_both_tasks():
    amplitudes = np.array([[1.0, 0.0], [0.0, 2.0], [1.5, 1.5], [0.01, 0.01], [1.0, np.sqrt(3)]])
    tv = task_variance(*planted_network(amplitudes))
    fv = fractional_variance(tv, "task0", "task1")
    assert fv.units.tolist() == [0, 1, 2, 4]  # unit 3: summed variance 1e-4, below 1e-3
    np.testing.assert_allclose(fv.values, [1.0, -1.0, 0.0, -0.5], atol=1e-12)
    assert fv.histogram.sum() == 4 and len(fv.bin_edges) == 21
    np.testing.assert_allclose(fractional_variance(tv, "task1", "task0").values, -fv.values)
    assert fv.shares() == (0.25, 0.5, 0.25)  # -1 | 0, -0.5 | +1
    assert fv.shares(edge=0.4) == (0.5, 0.25, 0.25)
    with pytest.raises(TaskNotFound, match="task0"):
        fractional_variance(tv, "task00", "task1")


def two_pathway_network(ensemble: int = 1) -> CTRNN:
    """Input 0 drives unit 0, which drives unit 1, which drives output 0; input 1 likewise
    through units 2 and 3 to output 1."""
    seeds = tuple(range(ensemble))
    model = CTRNN(NetworkSpec(n_inputs=2, n_hidden=4, n_outputs=2, sigma_rec=0.0, seeds=seeds))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.W_in[:, 0, 0] = model.W_in[:, 2, 1] = 1.0
        model.W_rec[:, 1, 0] = model.W_rec[:, 3, 2] = 1.0
        model.W_out[:, 0, 1] = model.W_out[:, 1, 3] = 1.0
    return model


def performance(model: CTRNN) -> dict[str, float]:
    """Task A: output 0 reports input 0; task B: output 1 reports input 1 (per member, then
    averaged)."""
    result = {}
    for task, channel in (("A", 0), ("B", 1)):
        x = torch.zeros(40, 1, 2)
        x[:, :, channel] = 1.0
        out = model(x, noise=False).outputs[-1, :, 0, channel]  # [E]
        result[task] = float((out > 0.1).double().mean())
    return result


def test_lesioning_a_cluster_drops_only_its_task():
    model = two_pathway_network()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    effects = lesion_effects(model, np.array([0, 0, 1, 1]), performance)
    assert effects.tasks == ["A", "B"]
    assert effects.intact.tolist() == [1.0, 1.0]
    assert effects.change.tolist() == [[-1.0, 0.0], [0.0, -1.0]]
    assert effects.cluster_sizes.tolist() == [2, 2]
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])  # the original is untouched
    # silencing unit 0 alone cuts pathway A upstream: its recurrent output is gone too
    assert performance(lesioned(model, torch.tensor([0]))) == {"A": 0.0, "B": 1.0}


def test_lesions_report_each_evaluation(capsys):
    # a paper-size network takes seconds per evaluation: each one is reported, in both modes
    model = two_pathway_network()
    lesion_effects(model, np.array([0, 0, 1, 1]), performance, progress=True, desc="cut")
    err = capsys.readouterr().err
    assert "cut 0/3" in err and "cut 3/3: cluster 1 lesioned, done" in err
    lesion_effects(
        model, np.array([0, 0, 1, 1]), per_member(performance), members_per_call=2, progress=True
    )
    assert "lesions 3/3: done" in capsys.readouterr().err
    lesion_effects(model, np.array([0, 0, 1, 1]), performance)
    assert capsys.readouterr().err == ""


def per_member(evaluate):
    """`evaluate` (one network -> {task: float}) applied to each member of an ensemble."""

    def batched(model: CTRNN) -> dict[str, list[float]]:
        results = [evaluate(model.member(e)) for e in range(model.ensemble_size)]
        return {task: [r[task] for r in results] for task in results[0]}

    return batched


def mean_outputs(model: CTRNN) -> dict[str, np.ndarray]:
    """Two continuous 'performances' per member: the mean of each output over fixed inputs."""
    x = torch.sin(torch.arange(30 * 4 * 5, dtype=F64).reshape(30, 4, 5)).to(model.W_rec.dtype)
    with torch.no_grad():
        out = model(x, noise=False).outputs  # [T, E, B, O]
    return {"o0": out[..., 0].mean((0, 2)).numpy(), "o1": out[..., 1].mean((0, 2)).numpy()}


def test_batched_lesions_equal_the_loop():
    # the planted two-pathway network: batched in ensembles of 1, 2 and 3 members
    model = two_pathway_network()
    loop = lesion_effects(model, np.array([0, 0, 1, 1]), performance)
    for k in (1, 2, 3):
        batched = lesion_effects(
            model, np.array([0, 0, 1, 1]), per_member(performance), members_per_call=k
        )
        assert batched.tasks == loop.tasks
        np.testing.assert_array_equal(batched.change, loop.change)
        np.testing.assert_array_equal(batched.cluster_sizes, loop.cluster_sizes)
    # a random network, one member of an ensemble, 5 clusters and unclustered units, with a
    # continuous measure: the ensemble's arithmetic is each member's own
    net = CTRNN(NetworkSpec(n_inputs=5, n_hidden=24, n_outputs=2, seeds=(3, 4))).double()
    labels = np.array([c % 6 - 1 for c in range(24)])  # clusters 0-4, and -1 (in none)
    loop = lesion_effects(
        net.member(1).double(),
        labels,
        lambda m: {t: float(v[0]) for t, v in mean_outputs(m).items()},
    )
    batched = lesion_effects(net, labels, mean_outputs, member=1, members_per_call=4)
    np.testing.assert_allclose(batched.intact, loop.intact, rtol=0, atol=1e-12)
    np.testing.assert_allclose(batched.lesioned, loop.lesioned, rtol=0, atol=1e-12)
    assert np.abs(loop.change).min() > 1e-6  # every lesion changes the outputs
    with pytest.raises(ShapeError, match="member="):
        lesion_effects(net, labels, mean_outputs, members_per_call=4)
    with pytest.raises(ShapeError, match="one per member"):
        lesion_effects(net, labels, lambda m: {"o0": [0.0]}, member=0, members_per_call=4)


def test_lesioned_copies_hold_one_lesion_each():
    model = CTRNN(NetworkSpec(n_inputs=3, n_hidden=6, n_outputs=2, seeds=(1, 2)))
    copies = lesioned_copies(model, [[1, 4], [], [0]], member=1)
    assert copies.ensemble_size == 3
    for k, units in enumerate([[1, 4], [], [0]]):
        single = lesioned(model.member(1), units)
        for name in ("W_in", "W_rec", "b", "W_out", "b_out"):
            assert torch.equal(getattr(copies, name)[k], getattr(single, name)[0])


def test_lesioned_zeroes_exactly_the_outgoing_weights():
    model = CTRNN(NetworkSpec(n_inputs=3, n_hidden=6, n_outputs=2, seeds=(1, 2)))
    units = torch.tensor([1, 4])
    cut = lesioned(model, units)
    assert (cut.W_rec[:, :, units] == 0).all() and (cut.W_out[:, :, units] == 0).all()
    keep = torch.tensor([0, 2, 3, 5])
    assert torch.equal(cut.W_rec[:, :, keep], model.W_rec[:, :, keep])
    assert torch.equal(cut.W_out[:, :, keep], model.W_out[:, :, keep])
    assert torch.equal(cut.W_in, model.W_in) and torch.equal(cut.b, model.b)
    assert (model.W_rec[:, :, units] != 0).all()
    # one member only
    one = lesioned(model, units, member=1)
    assert torch.equal(one.W_rec[0], model.W_rec[0]) and (one.W_rec[1][:, units] == 0).all()
    with pytest.raises(ShapeError):
        lesioned(model, [6])


def test_analogy_finds_the_planted_fourth_task():
    g = torch.Generator().manual_seed(4)
    n = 50
    names = ["go", "dly go", "anti", "dly anti", "dm1", "dm2", "dms", "dnms"]
    steady = {t: torch.randn(N_COND, n, generator=g, dtype=F64) for t in names}
    # d = c + (b - a), condition average included, plus noise small next to the task spread
    steady["dly anti"] = (
        steady["anti"]
        + steady["dly go"].mean(0)
        - steady["go"].mean(0)
        + 0.05 * torch.randn(N_COND, n, generator=g, dtype=F64)
    )
    vectors = task_vectors(steady)
    result = analogy(vectors, "go", "dly go", "anti", "dly anti")
    assert result.correct and result.nearest == "dly anti"
    assert int(np.argmin(result.distances)) == names.index("dly anti")
    assert result.relative_error < 0.1 and result.rank == 1
    # a fourth task unrelated to the others is not what the composition points to
    steady["dly anti"] = torch.randn(N_COND, n, generator=g, dtype=F64)
    unrelated = analogy(task_vectors(steady), "go", "dly go", "anti", "dly anti")
    assert not unrelated.correct and unrelated.rank > 1
    # its rank counts the tasks nearer the composed vector; leaving them out makes it nearest
    by_distance = [unrelated.tasks[i] for i in np.argsort(unrelated.distances)]
    nearer = by_distance[: by_distance.index("dly anti")]
    assert unrelated.rank == len(nearer) + 1
    narrowed = analogy(task_vectors(steady), "go", "dly go", "anti", "dly anti", exclude=nearer)
    assert narrowed.rank == 1 and narrowed.correct
    # excluding the right answer moves the nearest elsewhere
    assert analogy(vectors, "go", "dly go", "anti", "dly anti", exclude=["dly anti"]).nearest != (
        "dly anti"
    )


def test_task_vector_pca_keeps_a_planted_parallelogram():
    g = torch.Generator().manual_seed(5)
    basis, _ = torch.linalg.qr(torch.randn(30, 2, generator=g, dtype=F64))
    corners = {"go": (0.0, 0.0), "dly go": (2.0, 0.5), "anti": (0.3, 1.0), "dly anti": (2.3, 1.5)}
    steady = {t: basis @ torch.tensor(xy, dtype=F64) + 1.0 for t, xy in corners.items()}
    vectors = task_vectors(steady)
    assert vectors.explained_variance_ratio.sum() == pytest.approx(1.0)
    p = vectors.projections
    np.testing.assert_allclose(p[1] - p[0], p[3] - p[2], atol=1e-12)  # parallel arrows
    result = analogy(vectors, "go", "dly go", "anti", "dly anti")
    np.testing.assert_allclose(result.composed_projection, p[3], atol=1e-12)


def test_results_save_and_load(tmp_path):
    amplitudes, _ = planted_clusters(per_group=5)
    tv = task_variance(*planted_network(amplitudes))
    clusters = cluster_units(tv, k_range=range(2, 8), n_init=3)
    tv2 = TaskVariance.load(tv.save(tmp_path / "tv.npz"))
    assert tv2.tasks == tv.tasks and np.array_equal(tv2.variance, tv.variance)
    np.testing.assert_array_equal(tv2.normalised, tv.normalised)
    c2 = UnitClusters.load(clusters.save(tmp_path / "clusters.npz"))
    assert c2.n_clusters == clusters.n_clusters and np.array_equal(c2.labels, clusters.labels)


def test_figures_draw():
    amplitudes, _ = planted_clusters(per_group=5)
    tv = task_variance(*planted_network(amplitudes))
    clusters = cluster_units(tv, k_range=range(2, 8), n_init=3)
    pairs = [fractional_variance(tv, "task0", "task1"), fractional_variance(tv, "task2", "task3")]
    effects = lesion_effects(two_pathway_network(), np.array([0, 0, 1, -1]), performance)
    g = torch.Generator().manual_seed(0)
    vectors = task_vectors({t: torch.randn(4, 10, generator=g) for t in ["a", "b", "c", "d"]})
    figures = [
        plot_task_variance_matrix(tv, clusters),
        plot_silhouette(clusters),
        plot_fractional_variance(pairs, task_names={"task0": "Go"}),
        plot_lesion_effects(effects),
        plot_task_vectors(vectors, [analogy(vectors, "a", "b", "c", "d")]),
    ]
    for fig in figures:
        assert isinstance(fig, Figure)
        plt.close(fig)
