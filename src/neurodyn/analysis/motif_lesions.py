"""Cluster lesions and their effect per task and per task period (Driscoll, Shenoy & Sussillo
2024, Fig. 6), every cluster lesioned at once along the ensemble axis.

A lesion silences a unit as in the public code (`network.py`, `Model.lesion_units`, which
Driscoll et al. keep from Yang et al.): its outgoing weights, to the other units and to the
outputs, are zeroed. The paper measures, for each unit cluster lesioned, the change of
performance on every task (`tools_lnd.py`, `lesions`: 16 batches of 16 random trials per task,
with the training noise). To say which task periods fail, the output cost of each task period
(the masked squared error of the period's steps) is measured as well.

Rather than one network per lesion, one ensemble of C + 1 copies of the network is run, copy 0
intact and copy c + 1 with cluster c silenced, on the same trials and the same noise: one
batched forward pass for all the lesions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.lesions import _cut_outgoing
from neurodyn.analysis.motifs import period_label
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.models import Network
from neurodyn.tasks import Multitask, Task

# floats of states one forward pass of the lesioned copies may hold (256 MB of float32)
_STATE_BUDGET = 64_000_000


def lesion_ensemble(model: Network, groups: Sequence[Sequence[int] | np.ndarray]) -> Network:
    """One network as an ensemble of `1 + len(groups)` copies, copy 0 intact and copy g + 1
    with the units of `groups[g]` lesioned (their outgoing weights zeroed).

    Parameters
    ----------
    model : Network with one member (`model.member(e)` of an ensemble)
    groups : G sequences of unit indices

    Returns
    -------
    Network
        With `E = G + 1` members; `out.member(g + 1)` equals `lesioned(model, groups[g])`.

    Example
    -------
    >>> from neurodyn.models import CTRNN, NetworkSpec
    >>> net = CTRNN(NetworkSpec(n_inputs=1, n_hidden=3, n_outputs=1))
    >>> ens = lesion_ensemble(net, [[0], [1, 2]])
    >>> ens.ensemble_size, bool((ens.W_rec[2, :, 1:] == 0).all()), bool((ens.W_rec[0] != 0).all())
    (3, True, True)
    """
    if model.ensemble_size != 1:
        raise ShapeError(
            f"lesion_ensemble takes one network, got {model.ensemble_size}; use model.member(e)"
        )
    n_hidden = model.spec.n_hidden
    copies = 1 + len(groups)
    spec = replace(model.spec, seeds=tuple(model.spec.seeds[0] + i for i in range(copies)))
    ensemble = type(model)(spec).to(model.W_rec.device)
    with torch.no_grad():
        for name, p in ensemble.named_parameters():
            p.copy_(getattr(model, name).expand_as(p))
        for g, units in enumerate(groups, start=1):
            index = torch.as_tensor(np.asarray(units), dtype=torch.long).reshape(-1)
            if len(index) and (index.min() < 0 or index.max() >= n_hidden):
                raise ShapeError(f"unit indices must lie in [0, {n_hidden}), got {index.tolist()}")
            _cut_outgoing(ensemble, g, index)
    return ensemble


@dataclass(frozen=True)
class PeriodLesions(SavableResult):
    """Performance per task and output cost per task period, intact and with each cluster
    lesioned.

    Attributes
    ----------
    tasks : list of K task names
    labels : list of P task-period names (`"<task> <epoch>"`, every epoch with a cost)
    cluster_sizes : [C]
    performance : [C + 1, K]    row 0 the intact network, row c + 1 with cluster c lesioned
    cost : [C + 1, P]           masked squared output error in each task period
    performance_change : [C, K] lesioned minus intact (negative: the cluster is needed)
    cost_ratio : [C, P]         lesioned over intact cost (above 1: the period fails)
    """

    tasks: list[str]
    labels: list[str]
    cluster_sizes: np.ndarray
    performance: np.ndarray
    cost: np.ndarray
    performance_change: np.ndarray
    cost_ratio: np.ndarray


def period_lesion_effects(
    model: Network,
    unit_labels: np.ndarray | Tensor,
    task: Task | Multitask,
    *,
    trials: int = 256,
    seed: int = 0,
    noise: bool = True,
) -> PeriodLesions:
    """Lesion each unit cluster and measure performance per task and cost per task period.

    Every cluster is lesioned at once, as one ensemble (`lesion_ensemble`), on the same trials
    and, with `noise`, the same recurrent noise.

    Parameters
    ----------
    model : Network with one member (`model.member(e)` of an ensemble)
    unit_labels : [N] int
        Cluster of each unit, -1 for none (`MotifClusters.unit_labels`).
    task : the task or tasks the network was trained on (a run's `run.task`)
    trials : trials per task (the paper: 256, with the training noise)
    seed : seeds the trials and the noise
    noise : run with the network's recurrent noise (the paper's lesions do; the tasks add
        their input noise in any case)

    Returns
    -------
    PeriodLesions
    """
    labels = np.asarray(unit_labels.cpu() if isinstance(unit_labels, Tensor) else unit_labels)
    if labels.shape != (model.spec.n_hidden,):
        raise ShapeError(
            f"unit_labels must be [N] = ({model.spec.n_hidden},), one per unit, got {labels.shape}"
        )
    clusters = np.unique(labels[labels >= 0])
    if len(clusters) == 0:
        raise ArgumentError("no unit has a cluster (every label is -1): nothing to lesion")
    groups = [np.flatnonzero(labels == c) for c in clusters]
    ensemble = lesion_ensemble(model, groups)
    n_tasks = len(task.tasks) if isinstance(task, Multitask) else 1
    copies = ensemble.ensemble_size
    device = model.W_rec.device
    batch = task.sample(
        trials * n_tasks, generator=torch.Generator(device=device).manual_seed(seed)
    )
    # the same noise in every copy: the lesions alone tell them apart
    streams = [torch.Generator(device=device).manual_seed(seed + 1) for _ in range(copies)]
    # in chunks of trials, so that the copies' states [T, E, b, N] stay within the budget
    n_steps, n_trials = batch.x.shape[0], batch.x.shape[1]
    chunk = max(1, _STATE_BUDGET // (copies * n_steps * model.spec.n_hidden))
    pieces = []
    with torch.no_grad():
        for rows in torch.arange(n_trials).split(chunk):
            run = ensemble(batch.x[:, rows], noise=noise, generators=streams)
            pieces.append(run.outputs)  # [T, E, b, O]
    outputs = torch.cat(pieces, 2)
    performance, costs, names, tasks = [], [], [], []
    for one, out, part in task.split(outputs, batch):
        tasks.append(one.name)
        performance.append(one.performance(out, part).cpu().numpy())
        error = (out - part.y[:, None]) ** 2  # [T, E, B, O]
        for epoch in part.epochs:
            weight = part.mask * part.epoch_mask(epoch)[..., None]  # [T, B, O]
            if not (weight > 0).any():
                continue  # no cost in this period (the first 100 ms)
            cost = (weight[:, None] * error).sum((0, 2, 3)) / (weight > 0).sum()
            costs.append(cost.cpu().numpy())
            names.append(period_label(one.name, epoch))
    performance_table = np.stack(performance, 1).astype(float)  # [C + 1, K]
    cost_table = np.stack(costs, 1).astype(float)  # [C + 1, P]
    return PeriodLesions(
        tasks=tasks,
        labels=names,
        cluster_sizes=np.array([len(g) for g in groups]),
        performance=performance_table,
        cost=cost_table,
        performance_change=performance_table[1:] - performance_table[:1],
        cost_ratio=cost_table[1:] / np.maximum(cost_table[:1], 1e-12),
    )


__all__ = ["PeriodLesions", "lesion_ensemble", "period_lesion_effects"]
