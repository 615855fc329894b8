"""The unit clustering's k-means and silhouette score against scikit-learn's on the same data
(the paper's code clusters with scikit-learn; neurodyn writes both in numpy so as not to
depend on it at run time)."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import silhouette_score as sklearn_silhouette  # noqa: E402

from neurodyn.analysis.task_variance import TaskVariance, cluster_units, silhouette_score  # noqa: E402


def planted_units(seed, n_clusters=4, per_cluster=30, n_tasks=6, spread=0.05):
    """Normalised task variances `[M, K]` of units in well-separated planted clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1, size=(n_clusters, n_tasks))
    truth = np.repeat(np.arange(n_clusters), per_cluster)
    x = centres[truth] + spread * rng.normal(size=(len(truth), n_tasks))
    return x, truth


def same_partition(a, b):
    """Labellings equal up to a renaming of the clusters."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_units_finds_the_partition_and_k_scikit_learn_finds(seed):
    x, truth = planted_units(seed)
    tv = TaskVariance(
        tasks=[f"t{i}" for i in range(x.shape[1])],
        variance=x,
        normalised=x,
        active=np.ones(len(x), dtype=bool),
        threshold=1e-3,
        normalisation="max",
    )
    ours = cluster_units(tv, k_range=range(2, 9))
    theirs = KMeans(4, n_init=20, random_state=0).fit_predict(x)
    assert ours.n_clusters == 4
    assert same_partition(ours.labels, theirs) and same_partition(ours.labels, truth)
    # up to the planted k, where the best partition merges whole planted clusters, each k's
    # score is scikit-learn's silhouette of scikit-learn's own clustering (beyond it, k-means
    # splits a blob along noise and two tools' local optima need not agree)
    for k, score in zip(ours.k_values[:3], ours.silhouette[:3], strict=True):
        labels = KMeans(int(k), n_init=20, random_state=0).fit_predict(x)
        assert score == pytest.approx(sklearn_silhouette(x, labels), abs=1e-6)


@pytest.mark.parametrize("case", ["planted", "random", "singleton"])
def test_silhouette_score_equals_scikit_learn(case):
    rng = np.random.default_rng(5)
    x, labels = planted_units(3)
    if case == "random":
        labels = rng.integers(0, 5, size=len(x))
    elif case == "singleton":  # a cluster of one point scores 0, as in scikit-learn
        labels = labels.copy()
        labels[0] = 9
    assert silhouette_score(x, labels) == pytest.approx(sklearn_silhouette(x, labels), abs=1e-6)
