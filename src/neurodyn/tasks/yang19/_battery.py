"""The battery of Yang et al. (2019): its 20 tasks in the paper's order, the paper's sampling
weights, and `battery`, the whole set (or part of it) as one network's `Multitask`."""

from __future__ import annotations

from neurodyn.errors import ConfigError
from neurodyn.tasks.multitask import LATEST_STREAM, Multitask
from neurodyn.tasks.yang19._decision import (
    DM1,
    DM2,
    ContextDelayDM1,
    ContextDelayDM2,
    ContextDM1,
    ContextDM2,
    DelayDM1,
    DelayDM2,
    DelayedDecision,
    ImmediateDecision,
    MultiSensoryDelayDM,
    MultiSensoryDM,
)
from neurodyn.tasks.yang19._go import Anti, DelayAnti, DelayGo, Go, ReactAnti, ReactGo
from neurodyn.tasks.yang19._matching import DMC, DMS, DNMC, DNMS
from neurodyn.tasks.yang19._trial import Yang19Task

# The paper's order (its rule inputs follow it).
BATTERY: tuple[type[Yang19Task], ...] = (
    Go,
    ReactGo,
    DelayGo,
    Anti,
    ReactAnti,
    DelayAnti,
    DM1,
    DM2,
    ContextDM1,
    ContextDM2,
    MultiSensoryDM,
    DelayDM1,
    DelayDM2,
    ContextDelayDM1,
    ContextDelayDM2,
    MultiSensoryDelayDM,
    DMS,
    DNMS,
    DMC,
    DNMC,
)

# The paper's training samples Ctx DM 1 and Ctx DM 2 five times as often as each other task
# (experiment.py, train_all: rule_prob_map).
PAPER_WEIGHTS: dict[str, float] = {"contextdm1": 5.0, "contextdm2": 5.0}


# the public code's `easy_task`: immediate decisions' coherences x10, delayed ones' x2
EASY_COHERENCES = {"immediate": (0.1, 0.2, 0.4, 0.8), "delayed": (0.16, 0.32, 0.64)}


def _easy(cls: type, easy: bool) -> dict[str, object]:
    if easy and issubclass(cls, ImmediateDecision):
        return {"coherences": EASY_COHERENCES["immediate"]}
    if easy and issubclass(cls, DelayedDecision):
        return {"coherences": EASY_COHERENCES["delayed"]}
    return {}


def battery(
    tasks: tuple[str, ...] | list[str] | None = None,
    weights: dict[str, float] | None = None,
    only: tuple[str, ...] | list[str] | None = None,
    easy: bool = False,
    interleave: str = "trial",
    stream: int = LATEST_STREAM,
    **params: object,
) -> Multitask:
    """The battery as one `Multitask` with shared rings and the 20 rule inputs (85 inputs, 33
    outputs, as the paper's network), or a subset of it (`tasks`: code names, e.g.
    `("fdgo", "fdanti")`; the rule inputs are then those of the subset).

    `weights` (task -> relative frequency, others 1) default to the paper's: Ctx DM 1 and 2
    five times as often. `only` samples just these tasks while keeping the whole layout (the
    others get weight 0: a curriculum stage of a continual-learning run, whose network has
    every rule input from the start). `easy` is the public code's `easy_task` (used for its
    continual-learning networks): the immediate decisions' coherences ten times larger
    (0.1-0.8), the delayed decisions' twice (0.16-0.64). `interleave` is the `Multitask`'s:
    every task in each batch ('trial') or one task per batch ('batch'). `stream` is the
    `Multitask`'s random stream: 2 and 3 (3 the default: stream 2's trials, the noise's normals
    from a cheaper sampler) add the input noise to the rule inputs too, as the public code
    does; 1 gives the trials of runs made before stream 2. `params` set a
    field of every task (e.g. `dt_ms`, or `timing="per_batch"` for one set of epoch durations
    per batch, as the public code draws them).
    """
    by_name = {cls.name: cls for cls in BATTERY}
    chosen = list(by_name) if tasks is None else list(tasks)
    unknown = [t for t in chosen if t not in by_name]
    if unknown:
        raise ConfigError(
            f"not tasks of the Yang et al. battery: {unknown}; its tasks: {list(by_name)}"
        )
    weights = PAPER_WEIGHTS if weights is None else weights
    stray = set(weights) - set(by_name)
    if stray:
        raise ConfigError(f"weights name tasks outside the battery: {sorted(stray)}")
    if only is not None and (not only or set(only) - set(chosen)):
        raise ConfigError(f"`only` must name some of the battery's tasks {chosen}; got {only}")
    made = tuple(
        by_name[t](**params, **_easy(by_name[t], easy))  # type: ignore[arg-type]
        for t in chosen
    )
    return Multitask(
        made,
        shared_io=True,
        weights=tuple(
            float(weights.get(t, 1.0)) if only is None or t in only else 0.0 for t in chosen
        ),
        interleave=interleave,
        stream=stream,
    )
