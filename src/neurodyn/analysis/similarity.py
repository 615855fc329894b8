"""Representational similarity between many networks at once: CKA, Procrustes and CCA shape
distances, and RSA.

Every function takes the K networks' responses to the same M conditions (or time points) as
a list of `[M, N_k]` tensors (unit counts may differ) or one `[K, M, N]` tensor, and returns a
`SimilarityMatrix` of all K x K pairs computed in batched calls, not a loop over pairs.

References: Kornblith et al. (2019), CKA; Williams, Kunz, Kornblith & Linderman (2021),
generalized shape metrics (Procrustes and CCA distances); Kriegeskorte et al. (2008), RSA;
Raghu et al. (2017), SVCCA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform
from torch import Tensor

from neurodyn.analysis._result import SavableResult, ShortRepr
from neurodyn.errors import ArgumentError, ShapeError

Responses = Sequence[Tensor] | Tensor


@dataclass(frozen=True)
class SimilarityMatrix(SavableResult):
    """All pairs of K networks under one metric.

    Attributes
    ----------
    values : [K, K]
    metric : str            e.g. 'linear_cka', 'procrustes'
    kind : str              'similarity' (1 = identical) or 'distance' (0 = identical)
    labels : list of str    one per network
    """

    values: np.ndarray
    metric: str
    kind: str
    labels: list[str] = field(default_factory=list)


def as_distance(result: SimilarityMatrix) -> np.ndarray:
    """The matrix as distances (similarities s become 1 - s), symmetric, zero diagonal."""
    d = result.values if result.kind == "distance" else 1.0 - result.values
    d = np.clip((d + d.T) / 2, 0, None)
    np.fill_diagonal(d, 0.0)
    return d


def classical_mds(distance: np.ndarray, dims: int = 2) -> np.ndarray:
    """Coordinates `[K, dims]` whose Euclidean distances best match `distance` (Torgerson)."""
    k = len(distance)
    h = np.eye(k) - 1.0 / k
    b = -0.5 * h @ (distance**2) @ h
    values, vectors = np.linalg.eigh(b)
    order = np.argsort(values)[::-1][:dims]
    return vectors[:, order] * np.sqrt(np.clip(values[order], 0, None))


def run_of(label: str) -> str:
    """The run a network's label (`run:seed`) belongs to."""
    return label.rsplit(":", 1)[0]


@dataclass(frozen=True)
class SimilarityLayout(SavableResult):
    """A similarity matrix laid out to be seen: the networks in clustering order, and placed
    in a plane by MDS.

    Attributes
    ----------
    order : [K] int           the networks in the leaf order of average-linkage clustering of
                              the distances (similar networks side by side)
    coordinates : [K, D]      classical MDS of the distances: Euclidean distances between rows
                              approximate the networks' distances
    groups : list of str      the run of each network (`run_of` its label)
    """

    order: np.ndarray
    coordinates: np.ndarray
    groups: list[str] = field(default_factory=list)


def similarity_layout(result: SimilarityMatrix, *, dims: int = 2) -> SimilarityLayout:
    """Order the K networks of `result` by average-linkage clustering of `as_distance(result)`
    and embed them in `dims` dimensions by classical MDS (what `plot_comparison` draws).

    Example
    -------
    >>> import numpy as np
    >>> x = np.array([0.0, 1.0, 5.0])
    >>> m = SimilarityMatrix(np.abs(x[:, None] - x), "d", "distance", ["a:0", "a:1", "b:0"])
    >>> layout = similarity_layout(m)
    >>> np.round(np.abs(layout.coordinates[:, 0] - layout.coordinates[0, 0]), 6).tolist()
    [0.0, 1.0, 5.0]
    """
    distance = as_distance(result)
    order = (
        leaves_list(linkage(squareform(distance, checks=False), "average"))
        if len(distance) > 2
        else np.arange(len(distance))
    )
    return SimilarityLayout(
        order=np.asarray(order, dtype=np.int64),
        coordinates=classical_mds(distance, dims),
        groups=[run_of(label) for label in result.labels],
    )


@dataclass(frozen=True)
class GroupSeparation(ShortRepr):
    """Do the networks of each group (e.g. run) sit closer to each other than to the rest?

    Attributes
    ----------
    groups : list of str          the groups, in order of first appearance
    within : [G]                  mean distance between two networks of the group
    between : [G]                 mean distance from the group's networks to all others
    nearest_same : float          share of networks whose nearest other network is in their
                                  group (chance: about the group's share of the others)
    p_value : float               permutation test of mean(between) - mean(within) under
                                  shuffled group labels (one-sided, with the +1 correction)
    """

    groups: list[str]
    within: np.ndarray
    between: np.ndarray
    nearest_same: float
    p_value: float


def _within_minus_between(distance: np.ndarray, codes: np.ndarray) -> float:
    same = codes[:, None] == codes[None, :]
    off = ~np.eye(len(codes), dtype=bool)
    return float(distance[~same].mean() - distance[same & off].mean())


def group_separation(
    result: SimilarityMatrix,
    groups: Sequence[str] | None = None,
    *,
    n_permutations: int = 2000,
    seed: int = 0,
) -> GroupSeparation:
    """Separation of groups of networks in a distance (or similarity) matrix; groups default
    to each label's run (`run:seed` -> `run`). Needs at least two groups, one of them with
    two networks.

    Parameters
    ----------
    result : SimilarityMatrix
        `values: [K, K]` among K networks.
    groups : sequence of str, optional
        The group of each of the K networks; default each label's run.
    n_permutations : int
        Label shuffles of the permutation test.
    seed : int
        Seed of the shuffles.

    Returns
    -------
    GroupSeparation
        Within and between distances per group `[G]`, the nearest-neighbour share and the
        permutation test's p-value.
    """
    distance = as_distance(result)
    names = list(groups) if groups is not None else [run_of(x) for x in result.labels]
    if len(names) != len(distance):
        raise ShapeError(f"{len(names)} group names for {len(distance)} networks")
    order = list(dict.fromkeys(names))
    codes = np.array([order.index(n) for n in names])
    counts = np.bincount(codes)
    if len(order) < 2 or counts.max() < 2:
        raise ArgumentError(
            "group separation needs two groups and a group of two networks or more; give `groups`"
        )
    within, between = [], []
    for g in range(len(order)):
        inside = codes == g
        block = distance[np.ix_(inside, inside)]
        within.append(
            block[np.triu_indices(int(inside.sum()), 1)].mean() if inside.sum() > 1 else np.nan
        )
        between.append(distance[np.ix_(inside, ~inside)].mean())
    masked = distance + np.diag(np.full(len(distance), np.inf))
    nearest_same = float(np.mean(codes[masked.argmin(1)] == codes))
    observed = _within_minus_between(distance, codes)
    rng = np.random.default_rng(seed)
    null = np.array(
        [_within_minus_between(distance, rng.permutation(codes)) for _ in range(n_permutations)]
    )
    return GroupSeparation(
        groups=order,
        within=np.array(within),
        between=np.array(between),
        nearest_same=nearest_same,
        p_value=float((1 + np.sum(null >= observed)) / (1 + n_permutations)),
    )


def _as_list(responses: Responses) -> list[Tensor]:
    items = list(responses.unbind(0)) if isinstance(responses, Tensor) else list(responses)
    if len(items) < 2:
        raise ShapeError("need the responses of at least two networks")
    m = items[0].shape[0]
    for k, x in enumerate(items):
        if x.dim() != 2 or x.shape[0] != m:
            raise ShapeError(
                f"network {k}: responses must be [M, N_k] with the same M = {m} conditions, "
                f"got {tuple(x.shape)}"
            )
    return [x.detach().to(torch.float64) for x in items]


def _centred(x: Tensor) -> Tensor:
    return x - x.mean(0, keepdim=True)


def _labels(labels: Sequence[str] | None, k: int) -> list[str]:
    return list(labels) if labels is not None else [str(i) for i in range(k)]


def _gram_similarity(grams: Tensor) -> Tensor:
    """Cosine similarity of centred Gram matrices `[K, M, M]`, all pairs in one matmul."""
    m = grams.shape[-1]
    h = torch.eye(m, dtype=grams.dtype, device=grams.device) - 1.0 / m
    centred = (h @ grams @ h).reshape(len(grams), -1)
    norms = centred.norm(dim=1)
    return (centred @ centred.T) / (norms[:, None] * norms[None, :]).clamp(min=1e-300)


def _feature_space_cka(xs: list[Tensor], *, block_columns: int = 2048) -> Tensor:
    """Linear CKA of all pairs from cross-covariances: `||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)`
    on centred `[M, N_k]` responses, which costs `K^2 M N^2` instead of the Gram form's
    `K M^2 (N + K)` and never holds an `[M, M]` matrix.

    The networks, centred and padded with zero units to a common N (zero units change no
    norm), sit side by side in one `[M, K N]` matrix; its Gram matrix is computed in blocks of
    about `block_columns` columns so memory stays bounded, and each `[N, N]` block's squared
    Frobenius norm is one pair's `||X_i^T X_j||_F^2`.
    """
    k, m = len(xs), xs[0].shape[0]
    n = max(x.shape[1] for x in xs)
    side_by_side = torch.zeros(m, k * n, dtype=torch.float64, device=xs[0].device)
    for i, x in enumerate(xs):
        side_by_side[:, i * n : i * n + x.shape[1]] = _centred(x)
    per_block = max(1, block_columns // n)
    cross = torch.empty(k, k, dtype=torch.float64, device=xs[0].device)
    for i in range(0, k, per_block):
        rows = side_by_side[:, i * n : (i + per_block) * n]
        for j in range(i, k, per_block):
            product = rows.T @ side_by_side[:, j * n : (j + per_block) * n]
            bi, bj = product.shape[0] // n, product.shape[1] // n
            squared = product.reshape(bi, n, bj, n).square().sum((1, 3))
            cross[i : i + bi, j : j + bj] = squared
            cross[j : j + bj, i : i + bi] = squared.T
    norms = cross.diagonal().sqrt()
    return cross / (norms[:, None] * norms[None, :]).clamp(min=1e-300)


def linear_cka(responses: Responses, *, labels: Sequence[str] | None = None) -> SimilarityMatrix:
    """Linear centred kernel alignment: 1 for representations equal up to rotation and
    isotropic scaling, near 0 for unrelated ones.

    With more conditions than units (M > N, the usual case for states over trials and time)
    all pairs come from the feature-space form `||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)` on
    centred responses, in blocked matrix products over the networks side by side; otherwise
    from the centred `[M, M]` Gram matrices (Kornblith et al. 2019, eq. 3 and 4; the two are
    equal). It runs on the responses' device.

    Parameters
    ----------
    responses : list of Tensor [M, N_k], or Tensor [K, M, N]

    Returns
    -------
    SimilarityMatrix
        `[K, K]`, metric 'linear_cka', kind 'similarity'.

    Example
    -------
    >>> x = torch.randn(100, 5, dtype=torch.float64)
    >>> q, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))
    >>> round(float(linear_cka([x, 3 * x @ q]).values[0, 1]), 6)
    1.0
    """
    xs = _as_list(responses)
    if xs[0].shape[0] > max(x.shape[1] for x in xs):
        values = _feature_space_cka(xs)
    else:
        values = _gram_similarity(torch.stack([x @ x.T for x in xs]))
    return SimilarityMatrix(
        values.cpu().numpy(), "linear_cka", "similarity", _labels(labels, len(xs))
    )


def rbf_cka(
    responses: Responses, *, bandwidth: float = 1.0, labels: Sequence[str] | None = None
) -> SimilarityMatrix:
    """CKA with Gaussian kernels whose width is `bandwidth` times each network's median
    pairwise distance."""
    xs = _as_list(responses)
    grams = []
    for x in xs:
        d2 = torch.cdist(x, x).square()
        sigma2 = (bandwidth**2) * d2[d2 > 0].median() if bool((d2 > 0).any()) else 1.0
        grams.append(torch.exp(-d2 / (2 * sigma2)))
    return SimilarityMatrix(
        _gram_similarity(torch.stack(grams)).cpu().numpy(),
        "rbf_cka",
        "similarity",
        _labels(labels, len(xs)),
    )


def _padded_normalised(xs: list[Tensor]) -> Tensor:
    """Centred, unit-Frobenius-norm responses padded with zero units to a common N:
    `[K, M, N_max]`. Padding does not change Procrustes distances (Williams et al. 2021)."""
    n_max = max(x.shape[1] for x in xs)
    out = torch.zeros(len(xs), xs[0].shape[0], n_max, dtype=torch.float64, device=xs[0].device)
    for k, x in enumerate(xs):
        c = _centred(x)
        out[k, :, : x.shape[1]] = c / c.norm().clamp(min=1e-300)
    return out


def procrustes_distance(
    responses: Responses, *, labels: Sequence[str] | None = None
) -> SimilarityMatrix:
    """Angular Procrustes shape distance `arccos(max_Q <X, Y Q>)` over orthogonal Q, after
    centring and scaling each representation to unit norm. A metric (symmetric, zero only for
    representations equal up to rotation, reflection, translation and scale, and obeying the
    triangle inequality); between 0 and pi/2.

    The optimum is the nuclear norm of `X^T Y`, so all pairs need only one batched
    singular-value computation.
    """
    x = _padded_normalised(_as_list(responses))
    cross = torch.einsum("imn,jmp->ijnp", x, x)  # [K, K, N, N]
    fit = torch.linalg.svdvals(cross).sum(-1).clamp(-1.0, 1.0)
    distance = torch.arccos(fit)
    distance.fill_diagonal_(0.0)
    return SimilarityMatrix(
        distance.cpu().numpy(), "procrustes", "distance", _labels(labels, len(x))
    )


def _whitened_bases(xs: list[Tensor], keep_variance: float | None) -> list[Tensor]:
    bases = []
    for x in xs:
        c = _centred(x)
        u, s, _ = torch.linalg.svd(c, full_matrices=False)
        rank = int((s > s[0] * 1e-10).sum())
        if keep_variance is not None:  # SVCCA: keep the leading directions first
            share = torch.cumsum(s**2, 0) / (s**2).sum()
            rank = min(rank, int((share < keep_variance).sum()) + 1)
        bases.append(u[:, :rank])
    return bases


def cca_similarity(
    responses: Responses,
    *,
    keep_variance: float | None = None,
    labels: Sequence[str] | None = None,
) -> SimilarityMatrix:
    """Mean canonical correlation of every pair (CCA; with `keep_variance`, e.g. 0.99,
    SVCCA: each representation is first reduced to the principal components that explain
    that share of its variance)."""
    bases = _whitened_bases(_as_list(responses), keep_variance)
    k = len(bases)
    values = torch.eye(k, dtype=torch.float64, device=bases[0].device)
    for i in range(k):
        for j in range(i + 1, k):
            corr = torch.linalg.svdvals(bases[i].T @ bases[j])
            n = min(bases[i].shape[1], bases[j].shape[1])
            values[i, j] = values[j, i] = corr[:n].clamp(max=1.0).mean()
    metric = "svcca" if keep_variance is not None else "cca"
    return SimilarityMatrix(values.cpu().numpy(), metric, "similarity", _labels(labels, k))


def cca_distance(responses: Responses, *, labels: Sequence[str] | None = None) -> SimilarityMatrix:
    """The CCA shape distance of Williams et al. (2021): `arccos` of the mean canonical
    correlation (a metric on whitened representations)."""
    sim = cca_similarity(responses, labels=labels)
    distance = np.arccos(np.clip(sim.values, -1.0, 1.0))
    np.fill_diagonal(distance, 0.0)
    return SimilarityMatrix(distance, "cca_distance", "distance", sim.labels)


def rdm(x: Tensor) -> Tensor:
    """Representational dissimilarity matrix `[M, M]`: 1 - Pearson correlation between the
    population patterns of each pair of conditions."""
    c = x.detach().double()
    c = c - c.mean(1, keepdim=True)
    c = c / c.norm(dim=1, keepdim=True).clamp(min=1e-300)
    return 1 - c @ c.T


def _ranks(v: Tensor) -> Tensor:
    """Ranks along the last axis (ties broken by order; fine for continuous data)."""
    return torch.argsort(torch.argsort(v, dim=-1), dim=-1).double()


def rsa(responses: Responses, *, labels: Sequence[str] | None = None) -> SimilarityMatrix:
    """Representational similarity analysis: Spearman correlation between the networks'
    RDMs (upper triangles), all pairs at once."""
    xs = _as_list(responses)
    m = xs[0].shape[0]
    upper = torch.triu_indices(m, m, offset=1)
    vectors = torch.stack([rdm(x)[upper[0], upper[1]] for x in xs])
    ranked = _ranks(vectors)
    ranked = ranked - ranked.mean(1, keepdim=True)
    ranked = ranked / ranked.norm(dim=1, keepdim=True)
    return SimilarityMatrix(
        (ranked @ ranked.T).cpu().numpy(), "rsa", "similarity", _labels(labels, len(xs))
    )
