"""Lesions of units and the effect of lesioning each functional cluster (Yang et al. 2019,
Fig. 2).

What follows the paper's public code (github.com/gyyang/multitask), and where: a unit is
lesioned (`network.py`, `Model.lesion_units`; `analysis/clustering.py`, `lesions`) by zeroing
its outgoing weights, to the other units and to the outputs; its inputs and bias stay. Each
cluster is lesioned in turn; the effect is the change in performance per task from the intact
network.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.models import AdoptedNetwork, Network


def lesioned(
    model: Network, units: Tensor | Sequence[int], *, member: int | None = None
) -> Network:
    """A copy of `model` with `units` lesioned: their outgoing weights set to zero.

    As the paper's `Model.lesion_units`: the columns of `W_rec` (to every unit, itself
    included) and of `W_out` that leave the listed units are zeroed, so they no longer affect
    the network or its output; their input weights and bias are kept. The model passed in is
    not changed. An adopted network (`AdoptedNetwork`) loses the same columns of its cells'
    `weight_hh` and its linear readouts' `weight`.

    Parameters
    ----------
    model : Network with E members
    units : LongTensor [U] or sequence of int
        Unit indices (of one network: clusters are found per network).
    member : int, optional
        Lesion only this ensemble member; by default every member loses the same units.

    Returns
    -------
    CTRNN

    Example
    -------
    >>> from neurodyn.models import CTRNN, NetworkSpec
    >>> net = CTRNN(NetworkSpec(n_inputs=1, n_hidden=3, n_outputs=1))
    >>> cut = lesioned(net, [1])
    >>> bool((cut.W_rec[0, :, 1] == 0).all()), bool((net.W_rec[0, :, 1] != 0).all())
    (True, True)
    """
    index = torch.as_tensor(units, dtype=torch.long).reshape(-1)
    n_hidden = model.spec.n_hidden
    if len(index) and (index.min() < 0 or index.max() >= n_hidden):
        raise ShapeError(f"unit indices must lie in [0, {n_hidden}), got {index.tolist()}")
    if member is not None and not 0 <= member < model.ensemble_size:
        raise ShapeError(f"member must lie in [0, {model.ensemble_size}), got {member}")
    copy_ = copy.deepcopy(model)
    if isinstance(copy_, AdoptedNetwork):
        return _lesioned_adopted(copy_, index, member)
    members = slice(None) if member is None else slice(member, member + 1)
    with torch.no_grad():
        index = index.to(copy_.W_rec.device)
        copy_.W_rec[members, :, index] = 0.0
        copy_.W_out[members, :, index] = 0.0
    return copy_


def _lesioned_adopted(net: AdoptedNetwork, index: Tensor, member: int | None) -> AdoptedNetwork:
    """`net` (a copy, changed in place) with the units' outgoing weights zeroed: the columns of
    each cell's `weight_hh [G N, N]` (torch's name, as in RNNCell, GRUCell, LSTMCell) and of
    its readout's `weight [O, N]` (an `nn.Linear`)."""
    chosen = range(net.ensemble_size) if member is None else (member,)
    n = net.spec.n_hidden
    for e in chosen:
        w_hh = getattr(net.cells[e], "weight_hh", None)
        w_out = getattr(net.readouts[e], "weight", None)
        if not (isinstance(w_hh, Tensor) and isinstance(w_out, Tensor)) or (
            w_hh.shape[-1],
            w_out.shape[-1],
        ) != (n, n):
            raise ArgumentError(
                f"lesioning an adopted {type(net.cells[e]).__name__} needs the recurrent "
                f"weights as torch's cells name them (weight_hh [G N, N={n}]) and a linear "
                "readout (weight [O, N]); this cell has no such weights to cut"
            )
        with torch.no_grad():
            w_hh[:, index.to(w_hh.device)] = 0.0
            w_out[:, index.to(w_out.device)] = 0.0
    return net


@dataclass(frozen=True)
class LesionEffects(SavableResult):
    """Performance per task of the intact network and with each cluster lesioned.

    Attributes
    ----------
    tasks : list of K task names
    intact : [K]            performance of the intact network
    lesioned : [C, K]       performance with cluster c lesioned
    change : [C, K]         `lesioned - intact` (negative: the cluster is needed)
    cluster_sizes : [C]
    """

    tasks: list[str]
    intact: np.ndarray
    lesioned: np.ndarray
    change: np.ndarray
    cluster_sizes: np.ndarray


def lesion_effects(
    model: Network,
    labels: np.ndarray | Tensor,
    evaluate: Callable[[Network], Mapping[str, float]],
    *,
    member: int | None = None,
) -> LesionEffects:
    """Lesion each cluster of units in turn and measure performance per task (Fig. 2d).

    Parameters
    ----------
    model : Network
        The network whose units were clustered (for an ensemble, `model.member(e)`, or give
        `member`).
    labels : [N] int
        Cluster of each unit, -1 for units in none (`UnitClusters.labels`).
    evaluate : callable
        `evaluate(model) -> {task: performance}`, e.g. mean performance on a few hundred
        random trials per task (the paper: 256, with the training noise).
    member : int, optional
        Passed to `lesioned`.

    Returns
    -------
    LesionEffects
    """
    labels = np.asarray(labels.cpu() if isinstance(labels, Tensor) else labels, dtype=int)
    if labels.shape != (model.spec.n_hidden,):
        raise ShapeError(
            f"labels must be [N] = ({model.spec.n_hidden},), one per unit, got {labels.shape}"
        )
    intact = dict(evaluate(model))
    tasks = list(intact)
    clusters = np.unique(labels[labels >= 0])
    rows, sizes = [], []
    for c in clusters:
        units = np.flatnonzero(labels == c)
        perf = evaluate(lesioned(model, units.tolist(), member=member))
        rows.append([float(perf[t]) for t in tasks])
        sizes.append(len(units))
    base = np.array([float(intact[t]) for t in tasks])
    after = np.array(rows, dtype=float).reshape(len(clusters), len(tasks))
    return LesionEffects(
        tasks=tasks,
        intact=base,
        lesioned=after,
        change=after - base,
        cluster_sizes=np.array(sizes, dtype=int),
    )
