"""Where a network keeps what it remembers (Haviv, Rivkind & Barak 2019): the slow points that
each class of a delayed-classification network's memories settles at.

`class_slow_points` starts the fixed-point finder from the network's own states during the
memory period (after the class image, before the query), under that period's mean input, and
records which slow point the states of each class reach: each class at a slow point of its
own, or classes sharing one.

A slow point is a local minimum of the speed `q = 0.5 |F(h) - h|^2` that the starts converge
to. What counts as slow is relative: a trained memory need not be an exact fixed point (Haviv
et al.'s speed regulariser exists to make it slower), so by default a minimum is kept when its
q is below 1% of the median q of the network's own memory-period states (`relative_slow`).
A shallow minimum is also located less sharply than a fixed point, so minima closer than 1%
of the median state norm count as one point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.fixed_points import FixedPointOptions, model_fixed_points, speed
from neurodyn.models import Network
from neurodyn.tasks import Task
from neurodyn.tasks.haviv import class_centres


@dataclass(frozen=True)
class ClassSlowPoints(SavableResult):
    """The slow point each class's memory states reach, per network.

    Attributes
    ----------
    classes : [C]               class labels (those that occurred)
    point : [E, C, N]           the slow point most of the class's starts reached (NaN: none)
    q : [E, C]                  its speed 0.5 |F(h) - h|^2
    share : [E, C]              the share of the class's starts that reached it
    centre : [E, C, N]          the class's centre of mass over the memory period
    distance : [E, C]           |point - centre|
    n_distinct : [E]            distinct points the classes use (C: a point per class)
    start_q : [E, C]            median q of the class's start states (its memory trajectory)
    """

    classes: np.ndarray
    point: np.ndarray
    q: np.ndarray
    share: np.ndarray
    centre: np.ndarray
    distance: np.ndarray
    n_distinct: np.ndarray
    start_q: np.ndarray


def class_slow_points(
    model: Network,
    task: Task,
    *,
    n_trials: int = 256,
    starts_per_class: int = 32,
    seed: int = 0,
    options: FixedPointOptions | None = None,
    relative_slow: float = 0.01,
    max_iters: int = 5000,
) -> ClassSlowPoints:
    """Slow points of the memory of each class (see the module docstring).

    `task` needs the trial facts `shown`, `query` and `label` (e.g. `delayed_classification`).
    Starts: up to `starts_per_class` states per class drawn from the memory period of
    `n_trials` noise-free trials; each is searched under its class's mean memory-period input.
    Minima are kept as slow points below `relative_slow` times the median q of all starts, and
    merged within 1% of the starts' median norm (unless `options` is given: then its `slow_q`
    and `tol_unique`).
    """
    batch = task.sample(n_trials, seed=seed)
    with torch.no_grad():  # the trajectories only; the finder needs gradients
        states = model(batch.x, noise=False).states[: batch.n_steps]  # [T, E, B, N]
    labels = batch.trial["label"]
    classes = torch.unique(labels)
    n_classes = int(classes.max()) + 1
    with torch.no_grad():
        memories = class_centres(states, batch.x, batch.trial, n_classes)
    centres, mean_input = memories.centres, memories.mean_input
    steps = torch.arange(batch.n_steps)[:, None]
    memory = (steps > batch.trial["shown"][None]) & (steps < batch.trial["query"][None])  # [T, B]
    g = torch.Generator().manual_seed(seed)
    picks, start_class = [], []
    for c in classes.tolist():
        t_idx, b_idx = torch.nonzero(memory & (labels[None] == c), as_tuple=True)
        chosen = torch.randperm(len(t_idx), generator=g)[:starts_per_class]
        picks.append((t_idx[chosen], b_idx[chosen]))
        start_class += [c] * len(chosen)
    t_all = torch.cat([p[0] for p in picks])
    b_all = torch.cat([p[1] for p in picks])
    start_class_t = torch.tensor(start_class)
    initial = states[t_all, :, b_all].transpose(0, 1)  # [E, K, N]
    inputs = mean_input[:, start_class_t]  # [E, K, I]
    with torch.no_grad():
        start_speed = speed(model.step, initial, inputs)  # [E, K]
    if options is None:
        options = FixedPointOptions(
            slow_q=relative_slow * float(start_speed.median()),
            tol_unique=0.01 * float(initial.norm(dim=-1).median()),
            max_iters=max_iters,
        )
    found = model_fixed_points(model, initial, inputs, condition=start_class_t, options=options)
    n_members, n_units = model.ensemble_size, model.state_size  # (h, c) for an LSTM
    point = np.full((n_members, len(classes), n_units), np.nan)
    q = np.full((n_members, len(classes)), np.nan)
    share = np.zeros((n_members, len(classes)))
    n_distinct = np.zeros(n_members, dtype=int)
    start_q = np.stack(
        [start_speed[:, start_class_t == c].median(dim=1).values.numpy() for c in classes.tolist()],
        axis=1,
    )
    for e in range(n_members):
        mine_member = found.initial_member == e
        used = set()
        for i, c in enumerate(classes.tolist()):
            starts = mine_member & (found.initial_condition == c)
            reached = found.assignment[starts]
            reached = reached[reached >= 0]
            if len(reached) == 0:
                continue
            values, counts = np.unique(reached, return_counts=True)
            best = int(values[counts.argmax()])
            point[e, i], q[e, i] = found.states[best], found.q[best]
            share[e, i] = counts.max() / starts.sum()
            used.add(best)
        n_distinct[e] = len(used)
    centre = centres[:, classes].numpy()
    return ClassSlowPoints(
        classes=classes.numpy(),
        point=point,
        q=q,
        share=share,
        centre=centre,
        distance=np.linalg.norm(point - centre, axis=-1),
        n_distinct=n_distinct,
        start_q=start_q,
    )
