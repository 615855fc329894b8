"""`neurodyn fit DATA --config FIT.yaml`: one entry point for both fits, written as runs.

The fit config's `method` picks the fit:

- `latent` (the default): networks of any registered cell trained by BPTT on the recording's
  likelihood (`fit_latent`; `model: {cell: lowrank, rank: 2}` for a low-rank one);
- `rates`: the fast rate fit (`fit_rates`), one unit per held-in neuron, all weights from one
  ridge solve per strength, written as a CTRNN run (`fit_rate_run`): no training.

```yaml
method: rates
rates:
  activation: tanh        # the units' activation (tanh or softplus)
  ridge: [0.001, 0.01]    # one member per strength
  rank: null              # a rank-r W_rec (reduced-rank ridge)
  smooth_bins: null       # Gaussian smoothing of counts, in bins (default 2; 0 for rates)
recording: {heldout_neurons: 0.25, heldout_trials: 0.2}
model: {tau_ms: 100.0}    # the units' time constant
```

Each fitted run keeps what made it in `RUN/fit.yaml` (method, options, truth). With `truth:
{run: PATH, member: 0}` in the config (or `--truth RUN`), a synthetic recording saved with its
truth (`SyntheticRecording.save`) is scored against the network that made it: every member's
`Recovery` row is kept under `RUN/analysis/` and `neurodyn report` shows the recovery table.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
import yaml

from neurodyn._io import atomic_write, atomic_write_text
from neurodyn._progress import stage
from neurodyn._yaml import read_yaml
from neurodyn.analysis import Recovery, affine_map, fit_poisson_glm
from neurodyn.data import load_synthetic
from neurodyn.errors import ConfigError
from neurodyn.fit.latent import fit_config, fit_latent
from neurodyn.fit.rate import fit_rates
from neurodyn.fit.truth import recovery
from neurodyn.models import CTRNN
from neurodyn.runs import Run, parse_config
from neurodyn.runs.recovery import save_recovery
from neurodyn.runs.run import WEIGHTS
from neurodyn.tasks import RecordingTask
from neurodyn.train import evaluate

METHODS = ("latent", "rates")
RATE_DEFAULTS: dict[str, Any] = {
    "activation": "tanh",
    "ridge": [1e-3, 1e-2, 1e-1],
    "rank": None,
    "smooth_bins": None,
}
RATE_ACTIVATIONS = ("tanh", "softplus")
FIT_RECORD = "fit.yaml"


def _read(config: Mapping[str, Any] | str | Path | None) -> dict[str, Any]:
    if isinstance(config, str | Path):
        path = Path(config)
        if not path.is_file():
            raise ConfigError(f"fit config {path} does not exist")
        config = read_yaml(path) or {}
    if not isinstance(config, Mapping | type(None)):
        raise ConfigError(f"a fit config is a mapping, got {type(config).__name__}")
    return dict(copy.deepcopy(config or {}))


def fit_recording(
    data: str | Path,
    config: Mapping[str, Any] | str | Path | None = None,
    *,
    runs: str | Path = "runs",
    name: str | None = None,
    truth: str | Path | None = None,
    truth_member: int | None = None,
    n_starts: int | None = None,
    progress: bool = True,
) -> Run:
    """Fit the recording `data` as the config's `method` says and write the run.

    Parameters
    ----------
    data : path of a recording (`.npz`, `.nwb`)
    config : a fit config (mapping or YAML path; see the module docstring), optional
    runs : the runs folder
    name : the run's folder name, optional
    truth : path of the run whose network made `data` (a synthetic recording saved with
        `SyntheticRecording.save`), optional; overrides the config's `truth`
    truth_member : its ensemble member (default 0), only with `truth`
    n_starts : starts of each fixed-point search when scoring against a truth (default 128),
        only with one (`truth` or the config's)
    progress : progress on stderr

    Returns
    -------
    Run
        With `fit.yaml`, and with `analysis/recovery-member<e>.npz` when a truth was given.
    """
    given = _read(config)
    method = given.pop("method", "latent")
    if method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {method!r}")
    rate_options = given.pop("rates", None)
    truth_entry = given.pop("truth", None)
    if truth is not None:
        truth_entry = {"run": str(truth), "member": 0 if truth_member is None else truth_member}
    elif truth_member is not None:
        raise ConfigError(
            f"truth_member (--truth-member {truth_member}) is the member of the truth given "
            "beside it (--truth RUN); give one, or set the member in the config's truth: "
            "{run: PATH, member: E}"
        )
    truth_run = _truth_run(truth_entry)
    if n_starts is not None and (isinstance(n_starts, bool) or n_starts < 1):
        raise ConfigError(f"n_starts (--starts) must be at least 1, got {n_starts}")
    if truth_run is None and n_starts is not None:
        raise ConfigError(
            f"n_starts (--starts {n_starts}) sets the fixed-point searches that score a fit "
            "against its truth, and none is given: add --truth RUN (or truth: in the config) "
            "or leave it out"
        )
    member = truth_entry.get("member", 0) if truth_entry is not None else 0
    if truth_run is not None:
        # refused before the fit, not after it: a latent fit trains for minutes, and a wrong
        # member or a recording without its truth would otherwise leave a run and an error
        truth_run.check_member(member, len(truth_run.config.model.seeds))
        load_synthetic(data, truth_run.load_model(), member=member)
    if method == "latent":
        if rate_options is not None:
            raise ConfigError("rates: options belong to method: rates; remove them or say so")
        start = time.perf_counter()
        run = fit_latent(data, given, runs=runs, name=name, progress=progress)
        options: dict[str, Any] = {}
    else:
        start = time.perf_counter()
        run, options = fit_rate_run(data, given, rate_options, runs=runs, name=name)
    run.record_seconds("fit", time.perf_counter() - start)
    record: dict[str, Any] = {"method": method, "data": str(Path(data).resolve()), **options}
    if truth_run is not None:
        record["truth"] = {"run": str(truth_run.path.resolve()), "member": member}
    with run.writing():
        atomic_write_text(run.writable(FIT_RECORD), yaml.safe_dump(record, sort_keys=False))
    if truth_run is not None:
        stage(f"recovery against {truth_run.id}", enabled=progress)
        score_against_truth(
            run, truth_run, member=member, n_starts=128 if n_starts is None else n_starts
        )
    return run


def _truth_run(entry: Any) -> Run | None:
    if entry is None:
        return None
    if not isinstance(entry, Mapping) or set(entry) - {"run", "member"} or "run" not in entry:
        raise ConfigError(f"truth: must be {{run: PATH, member: 0}}, got {entry!r}")
    member = entry.get("member", 0)
    if isinstance(member, bool) or not isinstance(member, int):
        raise ConfigError(f"truth: member is a whole number (an ensemble member), got {member!r}")
    return Run.open(entry["run"])


def fit_record(run: Run) -> dict[str, Any]:
    """What made a fitted run (`RUN/fit.yaml`).

    Parameters
    ----------
    run : Run

    Returns
    -------
    dict
        `method`, `data`, the rate fit's `rates` options and `truth` (`run`, `member`) where
        given; empty for a run that was not fitted, or fitted before fits kept it.
    """
    path = run.path / FIT_RECORD
    return dict(read_yaml(path) or {}) if path.is_file() else {}


def score_against_truth(
    run: Run, truth: Run, *, member: int = 0, n_starts: int = 128, seed: int = 0
) -> list[Recovery]:
    """Score every member of a fitted run against the network that made its recording, and
    keep the rows under `RUN/analysis/` (`neurodyn report` shows them).

    Parameters
    ----------
    run : a run fitted to a synthetic recording saved with its truth
    truth : the run whose network (member `member`) made the recording
    n_starts : starts of each fixed-point search
    seed : draws the starts

    Returns
    -------
    list of Recovery
        One row per member of `run`.
    """
    task = run.task
    if not isinstance(task, RecordingTask):
        raise ConfigError(f"run {run.id} was not fitted to a recording")
    truth.check_member(member, len(truth.config.model.seeds))
    synth = load_synthetic(task.path, truth.load_model(), member=member)
    rows = [
        recovery(run, synth, member=e, n_starts=n_starts, seed=seed)
        for e in range(len(run.config.model.seeds))
    ]
    with run.writing():
        save_recovery(run, rows)
    return rows


def _smooth(activity: torch.Tensor, sigma_bins: float) -> torch.Tensor:
    """Gaussian smoothing along time of `activity [T, B, N]` (edges renormalised)."""
    if sigma_bins <= 0:
        return activity
    half = max(1, math.ceil(3 * sigma_bins))
    offsets = torch.arange(-half, half + 1, dtype=activity.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma_bins) ** 2)
    n_steps, n_trials, n = activity.shape
    flat = activity.permute(1, 2, 0).reshape(-1, 1, n_steps)
    ones = torch.ones_like(flat)
    k = kernel.reshape(1, 1, -1)
    summed = torch.nn.functional.conv1d(flat, k, padding=half)
    weight = torch.nn.functional.conv1d(ones, k, padding=half)
    return (summed / weight).reshape(n_trials, n, n_steps).permute(2, 0, 1)


def _into_range(rates: torch.Tensor, activation: str) -> torch.Tensor:
    """Each neuron's rates mapped affinely into the activation's range: tanh, centred and
    scaled to three standard deviations (most bins inside (-1, 1)); softplus, shifted to a
    small positive minimum and scaled to unit spread."""
    flat = rates.reshape(-1, rates.shape[-1])
    spread = flat.std(0).clamp(min=1e-6)
    if activation == "tanh":
        return (rates - flat.mean(0)) / (3 * spread)
    return (rates - flat.min(0).values) / spread + 0.05


def fit_rate_run(
    data: str | Path,
    config: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    *,
    runs: str | Path = "runs",
    name: str | None = None,
) -> tuple[Run, dict[str, Any]]:
    """The fast rate fit of `data` written as a run of CTRNNs, one member per ridge strength.

    The held-in neurons' activity on the training trials (counts smoothed in time) is mapped
    per neuron into the activation's range, and `fit_rates` gives one unit per neuron. Each
    member starts every trial at the mean first-bin state (a learned `h0`), and its readout
    is fitted to the held-in neurons from the network's own free-running states: a Poisson GLM
    for counts (outputs are log-rates, as a latent fit's), least squares for rates.

    Parameters
    ----------
    data : path of a recording
    config : the fit config without `method` and `rates` (`recording`, `model: {tau_ms}`)
    options : the `rates` section (see `RATE_DEFAULTS`)
    runs, name : where to write the run

    Returns
    -------
    run : Run
        Status `fitted`, the members' performance (deviance or variance explained on
        trials drawn from the training trials) in `run.json`.
    options : dict
        The rate-fit options used (the `rates` section with its defaults).
    """
    given = dict(options or {})
    unknown = set(given) - set(RATE_DEFAULTS)
    if unknown:
        raise ConfigError(
            f"rates: unknown options {sorted(unknown)}; it takes {sorted(RATE_DEFAULTS)}"
        )
    chosen = {**RATE_DEFAULTS, **given}
    if chosen["activation"] not in RATE_ACTIVATIONS:
        raise ConfigError(
            f"rates: activation must be one of {RATE_ACTIVATIONS}, got {chosen['activation']!r}"
        )
    ridge = chosen["ridge"]
    strengths = [float(ridge)] if isinstance(ridge, int | float) else [float(r) for r in ridge]
    if "train" in config:
        raise ConfigError(
            "the rate fit trains nothing: remove the train section (or use method: latent)"
        )
    model_given = dict(config.get("model") or {})
    extra = set(model_given) - {"tau_ms"}
    if extra:
        raise ConfigError(
            f"model: the rate fit sets {sorted(extra)} itself (one unit per held-in neuron, one "
            "member per ridge strength); it takes only tau_ms"
        )
    first = fit_config(data, {**config, "model": {"n_hidden": 1}})
    task = first.make_task()
    assert isinstance(task, RecordingTask)
    n_units = task.n_outputs
    model_section = {
        **first.to_dict()["model"],
        "n_hidden": n_units,
        "seeds": list(range(len(strengths))),
        "activation": chosen["activation"],
        "sigma_rec": 0.0,
        "sigma_in": 0.0,
        "learn_initial_state": True,
        **model_given,
    }
    data_dict = {**first.to_dict(), "model": model_section}
    if name is None and data_dict.get("name"):
        data_dict["name"] = f"{data_dict['name']}-rates"
    run_config = parse_config(data_dict)
    spec = run_config.model.spec(task)

    rec = task.recording
    batch = task.trials_batch(task.trial_index)  # x [T, B, I], y [T, B, N_in]
    smooth = chosen["smooth_bins"]
    sigma = (2.0 if rec.kind == "counts" else 0.0) if smooth is None else float(smooth)
    units = _into_range(_smooth(batch.y.float(), sigma), chosen["activation"])
    fit = fit_rates(
        units,
        inputs=batch.x,
        dt_ms=spec.dt_ms,
        tau_ms=spec.tau_ms,
        activation=chosen["activation"],
        ridge=strengths,
        rank=chosen["rank"],
    )
    model = CTRNN(spec)
    scored = slice(task.warmup_bins, None)
    with torch.no_grad():
        model.W_rec.copy_(fit.W_rec)
        model.W_in.copy_(fit.W_in)
        model.b.copy_(fit.b)
        model.h0.copy_(units[0].mean(0).expand_as(model.h0))
        states = model(batch.x, noise=False).states[scored]  # [T', E, B, N]
        observed = batch.y[scored].reshape(-1, n_units)
        for e in range(len(strengths)):
            features = states[:, e].reshape(-1, n_units)
            if task.observation_model == "poisson":
                weights = fit_poisson_glm(features, observed)
            else:
                weights = affine_map(features, observed)
            model.W_out[e].copy_(weights[:-1].T.float())
            model.b_out[e].copy_(weights[-1].float())
    run = Run.create(runs, run_config, name)
    with run.writing():
        tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        atomic_write(
            run.writable(WEIGHTS),
            lambda tmp: safetensors.torch.save_file(tensors, tmp, metadata={"steps_done": "0"}),
        )
        with torch.no_grad():
            evaluation = evaluate(model, task)
        run._update_info(
            status="fitted",
            performance=evaluation.mean,
            performance_by_member={k: list(v) for k, v in evaluation.performance.items()},
        )
    used = {**chosen, "ridge": strengths, "smooth_bins": sigma, "drive_r2": fit.r2.tolist()}
    return Run.open(run.path), {"rates": used}
