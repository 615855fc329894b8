"""Adopt a network trained outside neurodyn: write it as a run on disk, so every analysis, the
report and the CLI (`analyze`, `fixedpoints`, `compare`, `report`, `serve`) take it as they take
a run neurodyn trained.

The run's config names the modules' classes by import path with their constructor arguments
(`model.adopted`, an `AdoptedModule`), its `model.safetensors` holds their weights, and its
`run.json` the performance on fresh trials of the task, with status `adopted`. Loading the run
(`Run.load_model`) imports the classes and rebuilds the modules: the classes must live in a
module another process can import (not `__main__` or a notebook), and loading an adopted run
runs that module's code, as importing it does.
"""

from __future__ import annotations

import contextlib
import copy
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from neurodyn._io import atomic_write
from neurodyn.errors import ConfigError, ShapeError
from neurodyn.models import AdoptedModule, AdoptedNetwork
from neurodyn.models.adopted import constructor_kwargs, import_path, module_list
from neurodyn.runs.config import ModelConfig, RunConfig, TaskEntry, check_name
from neurodyn.runs.index import INDEX, remove_from_index
from neurodyn.runs.run import WEIGHTS, Run
from neurodyn.tasks import make
from neurodyn.train import evaluate

_CHECK_TRIALS = 8  # trials the rebuilt modules must compute as the given ones do


def adopt(
    cells: nn.Module | Sequence[nn.Module],
    readouts: nn.Module | Sequence[nn.Module],
    *,
    task: TaskEntry | list[TaskEntry],
    runs: str | Path = "runs",
    name: str | None = None,
    continuous_time: bool = False,
    state_parts: int | None = None,
    n_hidden: int | None = None,
    seeds: Sequence[int] | None = None,
    cell_kwargs: dict[str, Any] | None = None,
    readout_kwargs: dict[str, Any] | None = None,
) -> Run:
    """Write a network trained outside neurodyn as a run under `runs` (never overwriting one).

    The modules are copied (to the CPU, in float32) and checked before anything is written:
    they must take the task's inputs and give its outputs, and the classes rebuilt from their
    import paths and constructor arguments must compute what the given modules compute.

    Parameters
    ----------
    cells : nn.Module, or E modules of one class (an ensemble)
        RNN cells called as `cell(u [B, I], h [B, N]) -> h_next [B, N]` (torch's `RNNCell`,
        `GRUCell`), or with a tuple state (`LSTMCell`'s `(h, c)`); see
        `neurodyn.models.AdoptedNetwork`.
    readouts : nn.Module, or E modules
        `h [..., N] -> outputs [..., O]`, e.g. `nn.Linear(N, O)`.
    task : str, mapping or list
        The task the network was trained on, as a config's `task:` gives it (`"pdm"`,
        `["pdm", "dlygo"]` with rule inputs, ...).
    runs : str or Path
        The runs folder.
    name : str, optional
        The run's folder name (and config name); by default the time and task.
    continuous_time : bool
        The cell takes Euler steps of a flow with the task's `dt_ms`: fixed points are then
        classified on the flow's eigenvalues `(lambda - 1) / dt_ms`.
    state_parts : int, optional
        Tensors of a tuple state (by default 2 for `nn.LSTMCell`, else 1).
    n_hidden : int, optional
        N, by default the cell's `hidden_size` (or the readout's `in_features`).
    seeds : E ints, optional
        Labels of the members (e.g. the seeds they were trained with); by default 0, 1, ...
    cell_kwargs, readout_kwargs : dict, optional
        Constructor arguments of the classes that cannot be read from the modules' attributes
        of the same names (torch's cells and `nn.Linear` need none).

    Returns
    -------
    Run
        The run: `run.load_model()` is an `AdoptedNetwork` (states `[T, E, B, N]`), and
        `run.info().performance` the share correct on fresh trials of each task.

    Raises
    ------
    ConfigError
        A module that cannot be called as the protocol says, or whose class another process
        cannot import or rebuild (a class of `__main__`, a constructor argument to give).
    ShapeError
        The cells take another number of inputs, or the readout gives another number of
        outputs, than the task.
    RunExists
        `runs/name` exists already.

    Example
    -------
    >>> import torch
    >>> cell, readout = torch.nn.RNNCell(3, 16), torch.nn.Linear(16, 3)  # pdm: 3 in, 3 out
    >>> run = adopt(cell, readout, task="pdm", runs=getfixture("tmp_path"), name="mine")
    >>> run.info().status, run.config.model.adopted.cell
    ('adopted', 'torch.nn.modules.rnn:RNNCell')
    """
    if name is not None:
        check_name(name, "name")
    the_task = make(task)
    cell_list = [_cpu_copy(m) for m in module_list(cells)]
    readout_list = [_cpu_copy(m) for m in module_list(readouts)]
    size = getattr(cell_list[0], "input_size", the_task.n_inputs) if cell_list else None
    if size != the_task.n_inputs:
        raise ShapeError(
            f"the cell takes {size} inputs, task {'+'.join(the_task.task_names)} gives "
            f"{the_task.n_inputs}: adopt it with the task it was trained on"
        )
    net = AdoptedNetwork(
        cell_list,
        readout_list,
        dt_ms=the_task.dt_ms,
        continuous_time=continuous_time,
        state_parts=state_parts,
        n_inputs=the_task.n_inputs,
        n_hidden=n_hidden,
        seeds=seeds,
    )
    if net.spec.n_outputs != the_task.n_outputs:
        raise ShapeError(
            f"the readout gives {net.spec.n_outputs} outputs, task "
            f"{'+'.join(the_task.task_names)} scores {the_task.n_outputs}: adopt it with the "
            "task it was trained on"
        )
    module = AdoptedModule(
        cell=import_path(cell_list[0]),
        readout=import_path(readout_list[0]),
        cell_kwargs=constructor_kwargs(cell_list[0], cell_kwargs),
        readout_kwargs=constructor_kwargs(readout_list[0], readout_kwargs),
        continuous_time=continuous_time,
        state_parts=net.spec.state_parts,
    )
    _check_rebuilt(net, module, the_task.sample(_CHECK_TRIALS, seed=0).x)
    config = RunConfig(
        task=task,
        name=name,
        model=ModelConfig(
            n_hidden=net.spec.n_hidden,
            seeds=net.spec.seeds,
            sigma_rec=0.0,
            sigma_in=0.0,
            adopted=module,
        ),
    )
    root = Path(runs)
    made = [p for p in (root, root / INDEX) if not p.exists()]
    run = Run.create(root, config, name)
    try:
        with run.writing():
            _write_weights(run, net)
            with torch.no_grad():
                evaluation = evaluate(net, the_task)
            run._update_info(
                status="adopted",
                performance=evaluation.mean,
                performance_by_member={k: list(v) for k, v in evaluation.performance.items()},
            )
    except BaseException:
        # a half-written adopted run is nothing to keep: leave no folder to block its name
        shutil.rmtree(run.path, ignore_errors=True)
        remove_from_index(root, run.id)
        for path in reversed(made):
            with contextlib.suppress(OSError):
                path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)
        raise
    return Run.open(run.path)


def _cpu_copy(module: nn.Module) -> nn.Module:
    """A copy on the CPU in float32 (what runs store and the analyses start from); the
    caller's module is left as it is."""
    if not isinstance(module, nn.Module):
        raise ConfigError(f"adopt takes nn.Module cells and readouts, got {type(module).__name__}")
    return copy.deepcopy(module).to("cpu", torch.float32)


def _check_rebuilt(net: AdoptedNetwork, module: AdoptedModule, x: torch.Tensor) -> None:
    """`ConfigError` unless the modules rebuilt from `module` compute what `net`'s do."""
    rebuilt = AdoptedNetwork.from_module(
        module,
        n_inputs=net.spec.n_inputs,
        n_hidden=net.spec.n_hidden,
        dt_ms=net.spec.dt_ms,
        seeds=net.spec.seeds,
    )
    try:
        rebuilt.load_state_dict(net.state_dict())
    except RuntimeError as err:
        raise ConfigError(
            f"{module.cell} rebuilt with {module.cell_kwargs} does not take the given module's "
            f"weights ({' '.join(str(err).split())[:120]}): give cell_kwargs= / readout_kwargs="
        ) from None
    with torch.no_grad():
        mine, theirs = net(x, noise=False), rebuilt(x, noise=False)
    if not torch.allclose(mine.outputs, theirs.outputs, rtol=1e-5, atol=1e-6):
        raise ConfigError(
            f"{module.cell} rebuilt with {module.cell_kwargs} (and the readout with "
            f"{module.readout_kwargs}) computes something else than the modules given: give "
            "the constructor arguments the attributes do not show in cell_kwargs= / "
            "readout_kwargs="
        )


def _write_weights(run: Run, net: AdoptedNetwork) -> None:
    weights = {k: v.detach().contiguous() for k, v in net.state_dict().items()}

    def save(tmp: Path) -> None:
        safetensors.torch.save_file(weights, tmp, metadata={"steps_done": "0"})

    atomic_write(run.writable(WEIGHTS), save)
