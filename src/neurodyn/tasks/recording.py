"""A recording as a task: networks fitted to neural data train, evaluate and are analysed
through the same trainer, runs and analyses as networks trained on cognitive tasks.

A batch draws trials of the recording (with replacement, from the trials the task may use):
`x` holds the recorded task inputs (where known), `y` the activity of the neurons the task
fits, and the network's outputs are read as each neuron's log firing rate per bin (Poisson
loss, for spike counts) or its rate (squared error, for rates and fluorescence).

With `warmup_bins > 0` the network also sees the observed activity of the trial's first bins as
extra inputs, and is scored only after them: this is its per-trial initial-state encoder (the
network itself infers where each trial starts from its first bins, as LFADS' encoder does from
the whole trial); after the warm-up those inputs are zero, so the dynamics it is scored on, and
that the analyses study, run on the task inputs alone.

Config entry: `task: {recording: PATH, params: {neurons: [...], trials: [...], warmup_bins: 5}}`
(`neurodyn fit` writes it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from neurodyn.data import Recording, load_recording
from neurodyn.errors import ArgumentError, ConfigError
from neurodyn.tasks._base import Batch, Duration, Task, batch_generator, ensemble_view

OBSERVATIONS = ("poisson", "gaussian")


@dataclass(frozen=True)
class RecordingTask(Task):
    """Trials of a recording (an `.npz` or NWB file) as a task; see the module docstring.

    Parameters: `path` (the file), `load` (options of `load_recording` for NWB files, as
    (name, value) pairs: bin_ms, align_to, window_ms, series), `neurons` and `trials` (the
    indices the task fits, default all: the held-in neurons and training trials of a split),
    `warmup_bins` (bins of observations given as inputs, then not scored), `observation`
    ("poisson" for counts, "gaussian" for rates; default from the recording's kind).
    `dt_ms` is the recording's bin width.
    """

    name: ClassVar[str] = "recording"
    description: ClassVar[str] = "trials of a neural recording (neurodyn.tasks.RecordingTask)"

    path: str = ""
    load: tuple[tuple[str, Any], ...] = ()
    neurons: tuple[int, ...] | None = None
    trials: tuple[int, ...] | None = None
    warmup_bins: int = 0
    observation: str | None = None

    def __post_init__(self) -> None:
        if self.observation is not None and self.observation not in OBSERVATIONS:
            raise ConfigError(
                f"recording: observation must be one of {OBSERVATIONS} or null, got "
                f"{self.observation!r}"
            )
        rec = self.recording  # load now, so a bad file fails when the task is made
        if not math.isclose(rec.bin_ms, self.dt_ms):
            raise ConfigError(
                f"recording {self.path}: dt_ms={self.dt_ms} differs from its bin width "
                f"{rec.bin_ms} ms; make the task with from_recording"
            )
        if not 0 <= self.warmup_bins < rec.n_bins:
            raise ConfigError(
                f"recording {self.path}: warmup_bins must lie in [0, {rec.n_bins}) (its bins), "
                f"got {self.warmup_bins}"
            )
        for what, chosen, size in (
            ("neurons", self.neurons, rec.n_neurons),
            ("trials", self.trials, rec.n_trials),
        ):
            if chosen is not None and (not chosen or min(chosen) < 0 or max(chosen) >= size):
                raise ConfigError(
                    f"recording {self.path}: {what} must be a non-empty list of indices in "
                    f"[0, {size})"
                )
        super().__post_init__()

    @functools.cached_property
    def recording(self) -> Recording:
        """The whole recording, every neuron and trial."""
        try:
            return load_recording(self.path, **dict(self.load))
        except ArgumentError as err:
            raise ConfigError(str(err)) from None

    @property
    def loss(self) -> str:  # type: ignore[override]
        return "poisson" if self.observation_model == "poisson" else "mse"

    @property
    def observation_model(self) -> str:
        """'poisson' (outputs are log-rates per bin) or 'gaussian' (outputs are rates)."""
        if self.observation is not None:
            return self.observation
        return "poisson" if self.recording.kind == "counts" else "gaussian"

    @property
    def neuron_index(self) -> Tensor:
        """The fitted neurons `[O]`, indices into the recording's N_obs."""
        rec = self.recording
        return torch.arange(rec.n_neurons) if self.neurons is None else torch.tensor(self.neurons)

    @property
    def trial_index(self) -> Tensor:
        """The trials batches draw from, indices into the recording's B."""
        rec = self.recording
        return torch.arange(rec.n_trials) if self.trials is None else torch.tensor(self.trials)

    @property
    def n_inputs(self) -> int:  # type: ignore[override]
        warm = len(self.neuron_index) if self.warmup_bins > 0 else 0
        # a network has at least one input: without any, one channel of zeros
        return max(self.recording.n_inputs + warm, 1)

    @property
    def n_outputs(self) -> int:  # type: ignore[override]
        return len(self.neuron_index)

    @property
    def n_steps(self) -> int:
        return self.recording.n_bins

    def epoch_durations_ms(self) -> dict[str, Duration]:
        fitted = (self.recording.n_bins - self.warmup_bins) * self.dt_ms
        if self.warmup_bins == 0:
            return {"fit": fitted}
        return {"warmup": self.warmup_bins * self.dt_ms, "fit": fitted}

    def _fill(self, bounds, end, generator):  # pragma: no cover - sample() is overridden
        raise NotImplementedError

    def sample(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> Batch:
        """`batch_size` trials drawn with replacement from the task's trials."""
        generator = batch_generator(batch_size, generator, seed)
        pool = self.trial_index
        pick = pool[torch.randint(len(pool), (batch_size,), generator=generator, device="cpu")]
        return self.trials_batch(pick).to(generator.device)

    def trials_batch(self, trials: Tensor) -> Batch:
        """The batch of the given recording trials `[B]`, in order (no draw)."""
        rec = self.recording
        observed = rec.activity[:, trials][:, :, self.neuron_index]  # [T, B, O]
        parts = [] if rec.inputs is None else [rec.inputs[:, trials]]
        if self.warmup_bins > 0:
            warm = torch.zeros_like(observed)
            # counts enter scaled to order one, as the network's other inputs
            scale = observed.mean().clamp(min=1e-6) if rec.kind == "counts" else 1.0
            warm[: self.warmup_bins] = observed[: self.warmup_bins] / scale
            parts.append(warm)
        x = torch.cat(parts, dim=-1) if parts else observed.new_zeros(*observed.shape[:2], 1)
        mask = torch.ones_like(observed)
        mask[: self.warmup_bins] = 0.0
        trial = {k: v[trials] for k, v in rec.conditions.items()}
        trial.update({k: v[trials] for k, v in rec.epochs.items()})
        n = len(trials)
        start = torch.zeros(n, dtype=torch.long)
        warm_end = torch.full((n,), self.warmup_bins, dtype=torch.long)
        end = torch.full((n,), rec.n_bins, dtype=torch.long)
        if self.warmup_bins > 0:
            trial.update(warmup_start=start, warmup_end=warm_end)
        trial.update(fit_start=warm_end, fit_end=end, end=end, trial=trials.clone())
        return Batch(x=x, y=observed, mask=mask, trial=trial, epochs=self.epochs, dt_ms=self.dt_ms)

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        """The fraction of the activity's deviance (Poisson) or variance (Gaussian) the
        outputs explain beyond each neuron's mean over the batch, clipped to [0, 1]."""
        outputs, _, squeeze = ensemble_view(outputs, batch)
        y, mask = batch.y, batch.mask
        if y.dim() == 3:
            y, mask = y[:, None], mask[:, None]
        y, mask = y.expand_as(outputs), mask.expand_as(outputs)
        dims = (0, 2)  # bins and trials: one mean per member and neuron
        mean = (y * mask).sum(dims, keepdim=True) / mask.sum(dims, keepdim=True).clamp(min=1)
        if self.observation_model == "poisson":
            model = poisson_deviance(outputs, y)
            null = poisson_deviance(mean.clamp(min=1e-9).log().expand_as(y), y)
        else:
            model, null = (outputs - y) ** 2, (mean - y) ** 2
        explained = 1 - (model * mask).sum((0, 2, 3)) / (null * mask).sum((0, 2, 3)).clamp(min=1e-9)
        perf = explained.clamp(0.0, 1.0)
        return perf[0] if squeeze else perf


def poisson_deviance(log_rate: Tensor, counts: Tensor) -> Tensor:
    """Per-entry Poisson deviance `2 (y log(y / rate) - (y - rate))` (0 where it is exact)."""
    rate = log_rate.exp()
    y_log_y = torch.xlogy(counts, counts)
    return 2 * (y_log_y - counts * log_rate - counts + rate)


def from_recording(path: str, **params: Any) -> RecordingTask:
    """The recording at `path` as a task.

    Parameters
    ----------
    path : str
        A recording file (`.npz` as `Recording.save` writes, or `.nwb`).
    **params
        `RecordingTask`'s parameters (`neurons`, `trials`, `warmup_bins`, `observation`) and,
        for NWB files, `load`: a mapping of `load_recording` options.

    Returns
    -------
    RecordingTask
        Batches `x [T, B, I]`, `y [T, B, N_fit]` of the recording's trials.
    """
    load = params.pop("load", None) or {}
    if not isinstance(load, Mapping):
        raise ConfigError(f"recording: load must be a mapping of options, got {load!r}")
    load_items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in load.items()))
    for key in ("neurons", "trials"):
        if params.get(key) is not None:
            params[key] = tuple(int(i) for i in params[key])
    try:
        rec = load_recording(path, **dict(load_items))
    except ArgumentError as err:
        raise ConfigError(str(err)) from None
    unknown = set(params) - {"neurons", "trials", "warmup_bins", "observation"}
    if unknown:
        raise ConfigError(
            f"recording: unknown parameters {sorted(unknown)}; it takes neurons, trials, "
            "warmup_bins, observation and load"
        )
    return RecordingTask(dt_ms=rec.bin_ms, path=str(path), load=load_items, **params)
