"""The 15 tasks of Driscoll, Shenoy & Sussillo (2024), "Flexible multitask computation in
recurrent networks utilizes shared dynamical motifs", Nature Neuroscience 27, 1349-1363.

One input and output layout for every task, from the paper's public code
(lauradriscoll/flexible_multitask, `stepnet/task.py`): 1 fixation input and two modalities of
`A (sin theta, cos theta)` (5 inputs; with the 15 rule inputs of `battery()`, 20), outputs
fixation and `(sin phi, cos phi)` of the response angle (3). Each epoch of a task is one of the
paper's four task periods (`Driscoll24Task.periods`): `fix1` the context period, `stim1` and
`stim2` stimulus periods, `delay1` and `delay2` memory periods, `go1` the response period.
`_trial` holds the shared machinery (layout, targets, mask, performance), `_tasks` the tasks.

Registry names are `driscoll24.<code name>` (`driscoll24.delayanti` is the paper's MemoryAnti);
`tasks.make("driscoll24")` is the whole set as one network (`battery`).
"""

from __future__ import annotations

from neurodyn.errors import ConfigError
from neurodyn.tasks.driscoll24._tasks import (
    ContextIntModality1,
    ContextIntModality2,
    DelayAnti,
    DelayPro,
    IntegrationModality1,
    IntegrationModality2,
    IntegrationMultimodal,
    MemoryAnti,
    MemoryPro,
    ReactAnti,
    ReactCategoryAnti,
    ReactCategoryPro,
    ReactMatch2Sample,
    ReactNonMatch2Sample,
    ReactPro,
)
from neurodyn.tasks.driscoll24._trial import PERIODS, Driscoll24Task, readout_angle
from neurodyn.tasks.multitask import LATEST_STREAM, Multitask

# The public code's order (`rules_dict['all']`); the rule inputs follow it.
TASKS: tuple[type[Driscoll24Task], ...] = (
    DelayPro,
    ReactPro,
    MemoryPro,
    DelayAnti,
    ReactAnti,
    MemoryAnti,
    IntegrationModality1,
    IntegrationModality2,
    ContextIntModality1,
    ContextIntModality2,
    IntegrationMultimodal,
    ReactMatch2Sample,
    ReactNonMatch2Sample,
    ReactCategoryPro,
    ReactCategoryAnti,
)


def battery(
    tasks: tuple[str, ...] | list[str] | None = None,
    weights: dict[str, float] | None = None,
    only: tuple[str, ...] | list[str] | None = None,
    easy: bool = False,
    interleave: str = "trial",
    stream: int = LATEST_STREAM,
    **params: object,
) -> Multitask:
    """The set as one `Multitask` with shared inputs and outputs and the 15 rule inputs (20
    inputs, 3 outputs, as the paper's network), or a subset of it.

    Parameters
    ----------
    tasks : code names (`"delaygo"`, or `"driscoll24.delaygo"`), optional
        The tasks and rule inputs of the network; default all 15, in the code's order.
    weights : task -> relative frequency, optional
        The others 1 (the paper samples every task equally often).
    only : code names, optional
        Sample just these while keeping the whole layout (the others get weight 0): the
        pre-training of a transfer experiment, whose held-out task keeps its rule input.
    easy : bool
        The public code's `easy_task`: the integration tasks' coherences twice as large.
    interleave : 'trial' or 'batch'
        Every task in each batch, or one task per batch (the public code's training).
    stream : the `Multitask`'s random stream (2 and 3: input noise on the rule inputs too, as
        the public code; 3: its normal values from a cheaper sampler)
    **params
        A field of every task (e.g. `input_noise`).

    Returns
    -------
    Multitask
        `x [T, B, 20]`, `y [T, B, 3]` for the whole set.
    """
    by_name = {cls.code_name: cls for cls in TASKS}

    def code(name: str) -> str:
        short = name.removeprefix("driscoll24.")
        if short not in by_name:
            raise ConfigError(
                f"{name!r} is not a task of the Driscoll et al. set; its tasks: {list(by_name)}"
            )
        return short

    chosen = list(by_name) if tasks is None else [code(t) for t in tasks]
    weights = {code(k): float(v) for k, v in (weights or {}).items()}
    if set(weights) - set(chosen):
        raise ConfigError(
            f"weights name tasks outside the set: {sorted(set(weights) - set(chosen))}"
        )
    only_set = None if only is None else {code(t) for t in only}
    if only_set is not None and (not only_set or only_set - set(chosen)):
        raise ConfigError(f"`only` must name some of the set's tasks {chosen}; got {only}")
    if easy:
        params = {"coherence_range": (0.01, 1.6), **params}
    made = []
    for t in chosen:
        cls = by_name[t]
        fields = cls.__dataclass_fields__
        made.append(cls(**{k: v for k, v in params.items() if k in fields}))  # type: ignore[arg-type]
    stray = set(params) - {f for cls in made for f in cls.__dataclass_fields__}
    if stray:
        raise ConfigError(f"no task of the set has the parameters {sorted(stray)}")
    return Multitask(
        tuple(made),
        shared_io=True,
        weights=tuple(
            weights.get(t, 1.0) if only_set is None or t in only_set else 0.0 for t in chosen
        ),
        interleave=interleave,
        stream=stream,
    )


__all__ = [
    "PERIODS",
    "TASKS",
    "ContextIntModality1",
    "ContextIntModality2",
    "DelayAnti",
    "DelayPro",
    "Driscoll24Task",
    "IntegrationModality1",
    "IntegrationModality2",
    "IntegrationMultimodal",
    "MemoryAnti",
    "MemoryPro",
    "ReactAnti",
    "ReactCategoryAnti",
    "ReactCategoryPro",
    "ReactMatch2Sample",
    "ReactNonMatch2Sample",
    "ReactPro",
    "battery",
    "readout_angle",
]
