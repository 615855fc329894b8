"""Latent networks fitted to recordings: any registered cell (a CTRNN by default) whose
outputs are the recorded neurons' log-rates (Poisson) or rates (Gaussian), trained by the
BPTT trainer on the recording's likelihood, with the ensemble axis (several seeds, sizes by
several runs), and written as a run like any other, so `analyze`, `fixedpoints`, `dynamics`,
`compare` and `report` work on it unchanged.

A fit config (YAML, or a mapping) is a run config without `task`, plus a `recording` section:

```yaml
recording:
  heldout_neurons: 0.25   # held out for co-smoothing (neurodyn.analysis.co_smoothing)
  heldout_trials: 0.2     # held out for testing
  split_seed: 0
  warmup_bins: 5          # the first bins' activity is the per-trial initial-state encoder's
  observation: null       # poisson for counts, gaussian for rates (default from the data)
  load: {}                # an NWB file's options: bin_ms, align_to, window_ms, series
model: {n_hidden: 32, seeds: [1, 2, 3], activation: tanh, sigma_rec: 0.0}
train: {steps: 2000, batch_size: 32, lr: 0.003}
```

The run's task is the recording restricted to the held-in neurons and training trials
(`neurodyn.tasks.RecordingTask`), so the run records its own split (`fitted_split`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from neurodyn._yaml import read_yaml
from neurodyn.data import Split, load_recording, split
from neurodyn.errors import ArgumentError, ConfigError
from neurodyn.models import Network
from neurodyn.runs import Run, parse_config, train_run
from neurodyn.runs.config import RunConfig
from neurodyn.tasks import RecordingTask

# What a fit uses where its config says nothing: a noise-free tanh network (noise would only
# blur the likelihood of the data), a step size suited to the Poisson likelihood.
MODEL_DEFAULTS: dict[str, Any] = {"n_hidden": 32, "activation": "tanh", "sigma_rec": 0.0}
TRAIN_DEFAULTS: dict[str, Any] = {"steps": 2000, "batch_size": 32, "lr": 3e-3}
RECORDING_DEFAULTS: dict[str, Any] = {
    "heldout_neurons": 0.25,
    "heldout_trials": 0.2,
    "split_seed": 0,
    "warmup_bins": 5,
    "observation": None,
    "load": {},
}


def fit_config(data: str | Path, config: Mapping[str, Any] | str | Path | None = None) -> RunConfig:
    """The run config of a latent fit of the recording `data` (see the module docstring).

    Parameters
    ----------
    data : path of a recording (`.npz`, `.nwb`)
    config : a fit config (mapping or YAML file), optional

    Returns
    -------
    RunConfig
        Its task is `{recording: DATA, params: {neurons, trials, warmup_bins, ...}}`: the
        held-in neurons and training trials of the split.
    """
    if isinstance(config, str | Path):
        path = Path(config)
        if not path.is_file():
            raise ConfigError(f"fit config {path} does not exist")
        config = read_yaml(path) or {}
    given = dict(copy.deepcopy(config or {}))
    if not isinstance(given, dict):
        raise ConfigError(f"a fit config is a mapping, got {type(config).__name__}")
    if "task" in given:
        raise ConfigError(
            "a fit config has no `task`: the recording is the task (neurodyn fit DATA); "
            "say how to read and split it under `recording`"
        )
    options = given.pop("recording", None) or {}
    if not isinstance(options, Mapping):
        raise ConfigError(f"recording: must be a mapping of options, got {options!r}")
    unknown = set(options) - set(RECORDING_DEFAULTS)
    if unknown:
        raise ConfigError(
            f"recording: unknown options {sorted(unknown)}; it takes {sorted(RECORDING_DEFAULTS)}"
        )
    options = {**RECORDING_DEFAULTS, **options}
    path = Path(data).resolve()
    try:
        rec = load_recording(path, **dict(options["load"] or {}))
        chosen = split(
            rec.n_trials,
            rec.n_neurons,
            heldout_trials=float(options["heldout_trials"]),
            heldout_neurons=float(options["heldout_neurons"]),
            seed=int(options["split_seed"]),
        )
    except ArgumentError as err:
        raise ConfigError(str(err)) from None
    params: dict[str, Any] = {
        "neurons": chosen.heldin_neurons.tolist(),
        "trials": chosen.train_trials.tolist(),
        "warmup_bins": int(options["warmup_bins"]),
        "observation": options["observation"],
    }
    if options["load"]:
        params["load"] = dict(options["load"])
    given["task"] = {"recording": str(path), "params": params}
    given["model"] = {**MODEL_DEFAULTS, **(given.get("model") or {})}
    given["train"] = {**TRAIN_DEFAULTS, **(given.get("train") or {})}
    given.setdefault("name", f"fit-{path.stem}")
    return parse_config(given)


def fit_latent(
    data: str | Path,
    config: Mapping[str, Any] | str | Path | None = None,
    *,
    runs: str | Path = "runs",
    name: str | None = None,
    progress: bool = True,
) -> Run:
    """Fit latent networks to the recording `data` and write them as a run under `runs`.

    The readout starts at each neuron's mean (its log for Poisson) with small weights, so
    training starts from the model that predicts every bin by the neuron's mean.

    Parameters
    ----------
    data : path of a recording (`.npz` as `Recording.save` writes, or `.nwb`)
    config : a fit config (mapping or YAML path; see the module docstring), optional
    runs : the runs folder
    name : the run's folder name, optional
    progress : show a progress bar

    Returns
    -------
    Run
        A finished run; `run.load_model()` gives E networks, `W_rec [E, N, N]`, outputs the
        held-in neurons `[T, E, B, N_in]`.
    """
    run_config = fit_config(data, config)
    task = run_config.make_task()
    assert isinstance(task, RecordingTask)

    def start_at_the_mean(model: Network) -> None:
        batch = task.trials_batch(task.trial_index)
        fitted = batch.mask[:, :, 0] > 0
        mean = batch.y[fitted].mean(0)  # [O]
        bias = mean.clamp(min=1e-3).log() if task.loss == "poisson" else mean
        readout = dict(model.named_parameters())
        readout["b_out"].copy_(bias.expand_as(readout["b_out"]))
        readout["W_out"].mul_(0.1)

    return train_run(run_config, runs, run_id=name, progress=progress, prepare=start_at_the_mean)


def fitted_split(run: Run) -> Split:
    """The split a fitted run was trained on.

    Parameters
    ----------
    run : Run
        A run fitted to a recording.

    Returns
    -------
    Split
        Its held-in neurons and training trials, and the rest of the recording's (`seed` -1:
        read from the run, not drawn).
    """
    task = run.task
    if not isinstance(task, RecordingTask):
        raise ArgumentError(
            f"run {run.id} was not fitted to a recording (its task is {task.task_names})"
        )
    rec = task.recording
    heldin, train = task.neuron_index, task.trial_index
    rest_n = torch.tensor(
        sorted(set(range(rec.n_neurons)) - set(heldin.tolist())), dtype=torch.long
    )
    rest_t = torch.tensor(sorted(set(range(rec.n_trials)) - set(train.tolist())), dtype=torch.long)
    return Split(train, rest_t, heldin, rest_n, seed=-1)


@torch.no_grad()
def fitted_trajectories(run: Run, trials: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The fitted networks' states and outputs on recording trials (noise-free).

    Parameters
    ----------
    run : a run fitted to a recording
    trials : Tensor [B], optional
        Recording trials (default: all).

    Returns
    -------
    states : Tensor [T, E, B, N]
    outputs : Tensor [T, E, B, O]
        Log-rates per bin (Poisson) or rates (Gaussian) of the held-in neurons.
    """
    task = run.task
    if not isinstance(task, RecordingTask):
        raise ArgumentError(f"run {run.id} was not fitted to a recording")
    chosen = torch.arange(task.recording.n_trials) if trials is None else trials
    batch = task.trials_batch(chosen)
    traj = run.load_model()(batch.x, noise=False)
    return traj.states, traj.outputs


def predicted_rates(outputs: Tensor, observation: str) -> Tensor:
    """Expected activity per bin from a fitted network's outputs.

    Parameters
    ----------
    outputs : Tensor [T, (E,) B, O]
    observation : {"poisson", "gaussian"}

    Returns
    -------
    Tensor, the shape of `outputs`
        `exp(outputs)` for Poisson (log-rates), the outputs themselves for Gaussian.
    """
    return outputs.exp() if observation == "poisson" else outputs
