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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neurodyn._progress import Progress
from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.models import AdoptedNetwork, LowRankRNN, Network


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
        _cut_outgoing(copy_, members, index)
    return copy_


def _cut_outgoing(model: Network, members: slice | int, index: Tensor) -> None:
    """Zero, in place, the recurrent and readout weights leaving units `index` of `members`.

    A low-rank cell's `W_rec = m n^T / N` is computed, not stored: its column j is
    `m n[j]^T / N`, so the rows `index` of `n` are zeroed instead (the same lesion, and the
    rank stays r).
    """
    if isinstance(model, LowRankRNN):
        model.n[members, index] = 0.0
    else:
        model.W_rec[members, :, index] = 0.0
    model.W_out[members, :, index] = 0.0


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


def lesioned_copies(model: Network, groups: Sequence[Sequence[int]], *, member: int = 0) -> Network:
    """An ensemble of `len(groups)` copies of one network, copy k with the units `groups[k]`
    lesioned as `lesioned` does (outgoing weights to the other units and to the outputs
    zeroed). Every lesion of a network then runs as one batched computation along E.

    Parameters
    ----------
    model : Network
        The network (member `member` of it, for an ensemble).
    groups : sequence of K sequences of int
        The units lesioned in each copy (an empty group: an intact copy).
    member : int
        Which member of `model` is copied.

    Returns
    -------
    Network with K members
        Of `model`'s type; member k is member `member` of `model` with `groups[k]` lesioned.

    Example
    -------
    >>> from neurodyn.models import CTRNN, NetworkSpec
    >>> net = CTRNN(NetworkSpec(n_inputs=1, n_hidden=3, n_outputs=1))
    >>> cuts = lesioned_copies(net, [[0], [1, 2], []])
    >>> cuts.ensemble_size, bool((cuts.W_rec[1, :, 1:] == 0).all()), bool(cuts.W_rec[2].ne(0).all())
    (3, True, True)
    """
    if not 0 <= member < model.ensemble_size:
        raise ShapeError(f"member must lie in [0, {model.ensemble_size}), got {member}")
    if not groups:
        raise ShapeError("groups is empty: give the units of at least one lesion")
    if isinstance(model, AdoptedNetwork):
        raise ArgumentError(
            "lesioned copies stack a neurodyn cell's weights along E; an adopted network is "
            "lesioned one copy at a time: call lesion_effects without members_per_call"
        )
    n_hidden = model.spec.n_hidden
    for units in groups:
        if any(not 0 <= int(u) < n_hidden for u in units):
            raise ShapeError(f"unit indices must lie in [0, {n_hidden}), got {list(units)}")
    # members need distinct seeds; they only seed the copies' noise, their weights are copied
    spec = replace(model.spec, seeds=tuple(range(len(groups))))
    copies = type(model)(spec).to(device=model.W_rec.device, dtype=model.W_rec.dtype)
    with torch.no_grad():
        for name, p in copies.named_parameters():
            p.copy_(getattr(model, name)[member : member + 1].expand_as(p))
        for k, units in enumerate(groups):
            index = torch.as_tensor(list(units), dtype=torch.long, device=copies.W_rec.device)
            _cut_outgoing(copies, k, index)
    return copies


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
    evaluate: Callable[[Network], Mapping[str, Any]],
    *,
    member: int | None = None,
    members_per_call: int | None = None,
    progress: bool = False,
    desc: str = "lesions",
) -> LesionEffects:
    """Lesion each cluster of units in turn and measure performance per task (Fig. 2d).

    By default each lesioned network is a copy evaluated on its own, one `evaluate` call per
    cluster. With `members_per_call=K` the intact network and its lesioned copies are
    evaluated as ensembles of up to K members (`lesioned_copies`: one copy per cluster along
    E), a few calls instead of one per cluster; `evaluate` then returns for each task one
    performance per member. Both give the same numbers (each member's arithmetic is its
    own); the batched one spends less time per call on a network the size of the paper's.

    Parameters
    ----------
    model : Network
        The network whose units were clustered (for an ensemble, `model.member(e)`, or give
        `member`).
    labels : [N] int
        Cluster of each unit, -1 for units in none (`UnitClusters.labels`).
    evaluate : callable
        `evaluate(model) -> {task: performance}`, e.g. mean performance on a few hundred
        random trials per task (the paper: 256, with the training noise); with
        `members_per_call`, `{task: [E] performances}`, one per member of the ensemble given.
    member : int, optional
        Passed to `lesioned` (with `members_per_call`: the member copied; default 0, and an
        ensemble of several members needs it named).
    members_per_call : int, optional
        Evaluate the lesions batched, up to this many networks per call (memory grows with
        it: states `[T, K, B, N]`).
    progress : bool
        Report on stderr each evaluation done (the intact network, then each lesion), under
        the name `desc`: on a network the paper's size each takes seconds.

    Returns
    -------
    LesionEffects
    """
    labels = np.asarray(labels.cpu() if isinstance(labels, Tensor) else labels, dtype=int)
    if labels.shape != (model.spec.n_hidden,):
        raise ShapeError(
            f"labels must be [N] = ({model.spec.n_hidden},), one per unit, got {labels.shape}"
        )
    clusters = np.unique(labels[labels >= 0])
    groups = [np.flatnonzero(labels == c).tolist() for c in clusters]
    sizes = [len(units) for units in groups]
    if members_per_call is None:
        with Progress(desc, len(groups) + 1, enabled=progress) as bar:
            intact = dict(evaluate(model))
            bar.advance(note="intact network")
            tasks = list(intact)
            rows = []
            for c, units in zip(clusters, groups, strict=True):
                perf = evaluate(lesioned(model, units, member=member))
                rows.append([float(perf[t]) for t in tasks])
                bar.advance(note=f"cluster {c} lesioned")
        base = np.array([float(intact[t]) for t in tasks])
    else:
        if members_per_call < 1:
            raise ShapeError(f"members_per_call must be 1 or more, got {members_per_call}")
        if member is None and model.ensemble_size > 1:
            raise ShapeError(
                f"the model has {model.ensemble_size} members: name the one to lesion (member=)"
            )
        # the intact network is member 0 of the first call, each cluster's lesion one member
        everything: list[list[int]] = [[], *groups]
        per_task: dict[str, list[float]] = {}
        with Progress(desc, len(everything), enabled=progress) as bar:
            for start in range(0, len(everything), members_per_call):
                chunk = everything[start : start + members_per_call]
                perf = evaluate(lesioned_copies(model, chunk, member=member or 0))
                bar.advance(len(chunk))
                for task, given in perf.items():
                    values = np.asarray(given, dtype=float).reshape(-1)
                    if len(values) != len(chunk):
                        raise ShapeError(
                            f"evaluate gave {len(values)} performances for {task!r} from an "
                            f"ensemble of {len(chunk)}: return one per member"
                        )
                    per_task.setdefault(task, []).extend(values.tolist())
        tasks = list(per_task)
        table = np.array([per_task[t] for t in tasks], dtype=float).T  # [1 + C, K]
        base, rows = table[0], table[1:].tolist()
    after = np.array(rows, dtype=float).reshape(len(clusters), len(tasks))
    return LesionEffects(
        tasks=tasks,
        intact=base,
        lesioned=after,
        change=after - base,
        cluster_sizes=np.array(sizes, dtype=int),
    )
