"""What the memory-kernels study measures (Li, Han, E & Li 2022, the curse of memory): its
config and runs, the measures of every network, the tables and the summary.

The targets are the `memory_kernel` task's (white noise in, its convolution with a kernel rho
out, scaled to unit variance). On white noise the expected loss of a linear RNN is exactly
`sum_k (rho_hat_k - w_k)^2` (`neurodyn.analysis.approximation_error`), so most networks are
trained on that exact loss, every kernel and seed of a width as one batch:

- `exact`: Adam on the exact loss, one network per kernel, width m and seed: the
  approximation error against width and memory, and the learned eigenvalues;
- `descent`: plain gradient descent on the exact loss (the gradient flow the paper analyses,
  stepped) from a small start (read-in and read-out weights scaled by `init_scale`): the
  plateaus of training against memory;
- `sampled`: neurodyn's trainer on the `memory_kernel` task itself (Adam on fresh white noise
  every step), one run per kernel of `sampled_kernels` at one width, an ensemble of the
  seeds: the check that training on data reaches what the exact loss does.

Each network's `error` is the exact error of its final kernel, `dominant_ms` the time
constant of the exponential that carries most of it, `plateau_steps` the longest plateau of
its error curve (`find_plateaus`) and `steps_to_fit` the first step with an error under
`fit_error`. `eigenvalues.csv` lists every learned exponential.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import progress as progress_bar
from neurodyn.analysis import (
    LinearKernel,
    approximation_error,
    find_plateaus,
    linear_kernel,
    model_linear_kernel,
)
from neurodyn.errors import ConfigError
from neurodyn.models import CTRNN, NetworkSpec
from neurodyn.runs import Run, parse_config
from neurodyn.studies._study import check_fields
from neurodyn.tasks import MemoryKernel

__all__ = [
    "KernelsConfig",
    "NetworkResult",
    "dominant_timescale_ms",
    "eigenvalue_rows",
    "kernel_by_doubling",
    "measure",
    "rows",
    "runs",
    "summary",
    "tables",
    "train_exact",
]


# the loss (1 at a zero network) above which gradient descent has diverged
DIVERGED = 1e3


@dataclass(frozen=True)
class KernelsConfig:
    """The study's settings (see config.yaml for each field's meaning)."""

    task: dict[str, Any]
    kernels: dict[str, dict[str, Any]]
    widths: tuple[int, ...]
    model: dict[str, Any]
    exact: dict[str, Any]
    descent: dict[str, Any]
    sampled_width: int | None
    sampled_kernels: tuple[str, ...]
    train: dict[str, Any]
    plateau: dict[str, Any]
    fit_error: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KernelsConfig:
        """The config from every field (`load_config` merges a user's file over config.yaml);
        checks every run config and kernel before anything trains."""
        check_fields("memory-kernels", (f.name for f in dataclasses.fields(cls)), data)
        sampled = data["sampled_width"]
        config = cls(
            task=dict(data["task"]),
            kernels={str(k): dict(v) for k, v in dict(data["kernels"]).items()},
            widths=tuple(int(m) for m in data["widths"]),
            model=dict(data["model"]),
            exact=dict(data["exact"]),
            descent=dict(data["descent"]),
            sampled_width=None if sampled is None else int(sampled),
            sampled_kernels=tuple(str(k) for k in data["sampled_kernels"] or ()),
            train=dict(data["train"]),
            plateau=dict(data["plateau"]),
            fit_error=float(data["fit_error"]),
        )
        if (
            not config.widths
            or min(config.widths) < 1
            or len(set(config.widths)) != len(config.widths)
        ):
            raise ConfigError(f"widths must be distinct positive numbers, got {config.widths}")
        if not config.kernels:
            raise ConfigError("kernels must name at least one kernel")
        if "activation" in config.model or "n_hidden" in config.model:
            raise ConfigError(
                "model sets neither activation (the networks are linear) nor n_hidden (the "
                "widths are the study's own)"
            )
        for section, keys in (
            ("model", ("tau_ms", "seeds")),
            ("exact", ("lr", "steps")),
            ("descent", ("width", "tau_ms", "lr", "steps", "init_scale")),
        ):
            for key in keys:
                if key not in getattr(config, section):
                    raise ConfigError(f"{section} needs {key!r} (see the study's config.yaml)")
        for label in config.kernels:
            config.target(label)  # a kernel that does not decay is refused here
        unknown_sampled = set(config.sampled_kernels) - set(config.kernels)
        if unknown_sampled:
            raise ConfigError(
                f"sampled_kernels names kernels not in kernels: {sorted(unknown_sampled)}"
            )
        for run_config in config.run_configs().values():
            parse_config(run_config)  # every field checked before anything trains
        return config

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)} | {
            "widths": list(self.widths),
            "sampled_kernels": list(self.sampled_kernels),
        }

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.model["seeds"])

    def target(self, label: str) -> MemoryKernel:
        """The task of kernel `label`."""
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in self.kernels[label].items()}
        return MemoryKernel(**{**self.task, **params})

    def run_configs(self) -> dict[str, dict[str, Any]]:
        """The `sampled` runs' configs (the `sampled_kernels` at `sampled_width`), keyed by
        run name (`kernels-<label>-m<width>`)."""
        if self.sampled_width is None:
            return {}
        m = self.sampled_width
        return {
            f"kernels-{label}-m{m}": {
                "name": f"kernels-{label}-m{m}",
                "task": {"name": MemoryKernel.name, "params": {**self.task, **params}},
                "model": {**self.model, "n_hidden": m, "activation": "linear", "sigma_rec": 0.0},
                "train": self.train,
            }
            for label, params in self.kernels.items()
            if label in self.sampled_kernels
        }


@dataclass(frozen=True)
class NetworkResult:
    """One network's measures (see the module docstring): `experiment` is "exact", "descent"
    or "sampled"; `error` and `dominant_ms` are NaN for a network that diverged."""

    experiment: str
    kernel: str
    family: str
    memory_ms: float
    omega: float
    width: int
    seed: int
    error: float
    plateau_steps: float
    steps_to_fit: float
    dominant_ms: float

    def row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def kernel_by_doubling(
    w_rec: torch.Tensor, w_in: torch.Tensor, w_out: torch.Tensor, alpha: float, n_steps: int
) -> torch.Tensor:
    """The kernel `alpha c^T A^k U` of single-input single-output linear RNNs, differentiably.

    Parameters
    ----------
    w_rec : Tensor [E, N, N]
    w_in : Tensor [E, N, 1]
    w_out : Tensor [E, 1, N]
    alpha : float
    n_steps : int

    Returns
    -------
    Tensor [E, K]
        Built by doubling, `[U, A U, ..., A^(2n-1) U] = [K_n, A^n K_n]`: log2(K) matrix
        products instead of K (the same numbers as `neurodyn.analysis.linear_kernel`).
    """
    n = w_rec.shape[-1]
    step = (1 - alpha) * torch.eye(n, dtype=w_rec.dtype) + alpha * w_rec
    krylov, power = alpha * w_in, step
    while krylov.shape[-1] < n_steps:
        krylov = torch.cat([krylov, power @ krylov], dim=-1)
        power = power @ power
    return (w_out @ krylov[..., :n_steps])[:, 0]


def train_exact(
    targets: torch.Tensor,
    *,
    width: int,
    alpha: float,
    dt_ms: float,
    optimiser: str,
    lr: float,
    steps: int,
    seeds: tuple[int, ...],
    init_scale: float = 1.0,
    rec_gain: float = 0.5,
    progress: bool = False,
) -> tuple[np.ndarray, LinearKernel]:
    """Train linear RNNs on the exact white-noise loss `sum_k (rho_hat_k - w_k)^2`, every
    target and seed at once.

    Parameters
    ----------
    targets : Tensor [M, K]
        Target kernels w (`MemoryKernel.weights()`).
    width, alpha, dt_ms : the networks' N, dt / tau and step.
    optimiser : "adam" or "sgd"
        Adam, or plain gradient descent (each network's own gradient: the loss is a sum over
        networks).
    lr, steps : the step size and number of steps.
    seeds : tuple of int
        One network per seed and target, initialised as the CTRNN of that seed.
    init_scale : float
        The read-in and read-out weights of the initialisation times this (small: training
        starts near the saddle at zero output, as the paper's analysis).

    Returns
    -------
    loss : ndarray [M * S, steps]
        Each network's loss at each step (target-major: network `m * S + s`); NaN from the
        step its loss passed `DIVERGED` (an eigenvalue outside the unit circle) on.
    kernel : LinearKernel
        The final networks' kernels (`[M * S, ...]`).
    """
    if optimiser not in ("adam", "sgd"):
        raise ConfigError(f"optimiser must be adam or sgd, got {optimiser!r}")
    spec = NetworkSpec(
        n_inputs=1,
        n_hidden=width,
        n_outputs=1,
        activation="linear",
        dt_ms=dt_ms,
        tau_ms=dt_ms / alpha,
        rec_gain=rec_gain,
        seeds=seeds,
    )
    init = CTRNN(spec).double()
    n_targets = targets.shape[0]
    params = [
        getattr(init, name).detach().repeat(n_targets, 1, 1).clone()
        for name in ("W_rec", "W_in", "W_out")
    ]
    params[1] *= init_scale
    params[2] *= init_scale
    for p in params:
        p.requires_grad_(True)
    step_rule = (
        torch.optim.Adam(params, lr=lr) if optimiser == "adam" else torch.optim.SGD(params, lr=lr)
    )
    goal = targets.double().repeat_interleave(len(seeds), dim=0)
    curves = torch.full((goal.shape[0], steps), math.nan, dtype=torch.float64)
    alive = torch.ones(goal.shape[0], dtype=torch.bool)
    for step in progress_bar(range(steps), desc=f"{optimiser}, width {width}", enabled=progress):
        kernel = kernel_by_doubling(params[0], params[1], params[2], alpha, goal.shape[1])
        loss = ((kernel - goal) ** 2).sum(-1)
        # a network whose eigenvalue crossed the unit circle blows up: it stops there (its
        # curve is NaN from then on), the others go on
        alive &= torch.isfinite(loss.detach()) & (loss.detach() < DIVERGED)
        if not alive.any():
            break
        curves[alive, step] = loss.detach()[alive]
        step_rule.zero_grad()
        torch.where(alive, loss, 0).sum().backward()
        step_rule.step()
    final = linear_kernel(*(p.detach() for p in params), alpha=alpha, dt_ms=dt_ms)
    return curves.numpy(), final


def dominant_timescale_ms(kernel: LinearKernel, member: int = 0) -> float:
    """The time constant (ms) of the exponential carrying most of a kernel: the largest
    `|a_i|^2 / (1 - |lambda_i|^2)` (its squared norm over all lags) among the stable ones."""
    eig = kernel.eigenvalues[member]
    weight = np.abs(kernel.amplitudes[member, :, 0, 0]) ** 2
    stable = np.abs(eig) < 1
    if not stable.any():
        return math.inf
    norm = np.where(stable, weight / np.maximum(1 - np.abs(eig) ** 2, 1e-300), -1)
    return float(kernel.timescales_ms[member][int(np.argmax(norm))])


def eigenvalue_rows(
    kernel: LinearKernel, *, experiment: str, label: str, width: int, seeds: tuple[int, ...]
) -> list[dict[str, Any]]:
    """eigenvalues.csv: every learned exponential of every member of `kernel`."""
    rates, timescales = kernel.rates_per_ms, kernel.timescales_ms
    return [
        {
            "experiment": experiment,
            "kernel": label,
            "width": width,
            "seed": seed,
            "eigenvalue_real": float(kernel.eigenvalues[e, i].real),
            "eigenvalue_imag": float(kernel.eigenvalues[e, i].imag),
            "rate_per_ms": float(rates[e, i].real),
            "frequency_per_ms": float(rates[e, i].imag),
            "timescale_ms": float(timescales[e, i]),
            "amplitude": float(np.abs(kernel.amplitudes[e, i, 0, 0])),
        }
        for e, seed in enumerate(seeds)
        for i in range(kernel.eigenvalues.shape[1])
    ]


@dataclass(frozen=True)
class KernelsResults:
    """Every network's measures, every learned exponential, and the curves the figures draw:
    `curves[(experiment, kernel, width)] = (steps [S], error [E, S])`."""

    networks: list[NetworkResult]
    eigenvalues: list[dict[str, Any]]
    curves: dict[tuple[str, str, int], tuple[np.ndarray, np.ndarray]]
    learned: dict[str, tuple[np.ndarray, np.ndarray]]  # kernel -> (target [K], learned [K])
    dt_ms: float


def _first_below(curve: np.ndarray, steps: np.ndarray, level: float) -> float:
    below = np.nonzero(curve < level)[0]
    return float(steps[below[0]]) if len(below) else math.nan


def _kernel_facts(config: KernelsConfig, label: str) -> dict[str, Any]:
    task = config.target(label)
    family = task.kernel if isinstance(task.kernel, str) else "given"
    omega = task.omega if family == "power_law" else math.nan
    return {"kernel": label, "family": family, "memory_ms": task.memory_ms, "omega": omega}


def _curve_measures(
    config: KernelsConfig, curves: np.ndarray, steps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each curve's longest plateau and its first step under `fit_error`, over its finite
    part (a diverged curve is measured up to where it diverged)."""
    longest = np.zeros(len(curves))
    for e, curve in enumerate(curves):
        finite = np.isfinite(curve)
        n = len(curve) if finite.all() else int(np.argmin(finite))
        if n > 1:
            found = find_plateaus(np.maximum(curve[:n], 1e-300), steps[:n], **config.plateau)
            longest[e] = found.longest[0]
    fit = np.array([_first_below(c, steps, config.fit_error) for c in curves])
    return longest, fit


def _record(
    results: KernelsResults,
    config: KernelsConfig,
    *,
    experiment: str,
    label: str,
    width: int,
    seeds: tuple[int, ...],
    kernel: LinearKernel,
    steps: np.ndarray,
    curves: np.ndarray,
) -> None:
    """One kernel's networks (`kernel`, `curves [S, T]` over `steps`) into `results`."""
    target = config.target(label).weights().numpy()
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged network's kernel overflows
        error = approximation_error(_values(kernel, len(target)), target)
    longest, fit = _curve_measures(config, curves, steps)
    results.curves[(experiment, label, width)] = (steps, curves)
    results.eigenvalues.extend(
        eigenvalue_rows(kernel, experiment=experiment, label=label, width=width, seeds=seeds)
    )
    for e, seed in enumerate(seeds):
        diverged = not np.isfinite(curves[e, -1])
        results.networks.append(
            NetworkResult(
                experiment=experiment,
                width=width,
                seed=seed,
                error=math.nan if diverged else float(error[e]),
                plateau_steps=float(longest[e]),
                steps_to_fit=float(fit[e]),
                dominant_ms=math.nan if diverged else dominant_timescale_ms(kernel, e),
                **_kernel_facts(config, label),
            )
        )


def _members(kernel: LinearKernel, members: slice) -> LinearKernel:
    return LinearKernel(
        eigenvalues=kernel.eigenvalues[members],
        amplitudes=kernel.amplitudes[members],
        dt_ms=kernel.dt_ms,
    )


def measure_exact(
    config: KernelsConfig, results: KernelsResults, experiment: str, progress: bool
) -> None:
    """The `exact` (Adam, every width) or `descent` (gradient descent, one width, small
    start) experiment, every kernel and seed of a width as one batch."""
    labels = list(config.kernels)
    targets = torch.stack([config.target(label).weights() for label in labels])
    dt_ms = float(config.target(labels[0]).dt_ms)
    if experiment == "exact":
        settings, widths = config.exact, config.widths
        tau_ms, optimiser, init_scale = float(config.model["tau_ms"]), "adam", 1.0
    else:
        settings, widths = config.descent, (int(config.descent["width"]),)
        tau_ms, optimiser = float(config.descent["tau_ms"]), "sgd"
        init_scale = float(config.descent["init_scale"])
    seeds = config.seeds
    for width in widths:
        curves, kernel = train_exact(
            targets,
            width=width,
            alpha=dt_ms / tau_ms,
            dt_ms=dt_ms,
            optimiser=optimiser,
            lr=float(settings["lr"]),
            steps=int(settings["steps"]),
            seeds=seeds,
            init_scale=init_scale,
            rec_gain=float(config.model.get("rec_gain", 0.5)),
            progress=progress,
        )
        steps = np.arange(curves.shape[1], dtype=float)
        for i, label in enumerate(labels):
            members = slice(i * len(seeds), (i + 1) * len(seeds))
            _record(
                results,
                config,
                experiment=experiment,
                label=label,
                width=width,
                seeds=seeds,
                kernel=_members(kernel, members),
                steps=steps,
                curves=curves[members],
            )
            if experiment == "exact" and width == max(widths):
                target = targets[i].numpy()
                results.learned[label] = (target, _values(kernel, len(target))[i * len(seeds)])


def measure_sampled(
    config: KernelsConfig, trained_runs: Mapping[str, Run], results: KernelsResults
) -> None:
    """The `sampled` runs (neurodyn's trainer on the task): the exact error over their kept
    weights."""
    for run_id, run in trained_runs.items():
        label = next(k for k in config.kernels if run_id == f"kernels-{k}-m{config.sampled_width}")
        target = config.target(label).weights().numpy()
        history = run.weight_history()
        steps = np.array([s for s, _ in history], dtype=float)
        curves = np.stack(
            [
                approximation_error(_values(model_linear_kernel(model), len(target)), target)
                for _, model in history
            ],
            axis=1,
        )  # [E, S]
        _record(
            results,
            config,
            experiment="sampled",
            label=label,
            width=int(run.config.model.n_hidden),
            seeds=tuple(int(s) for s in run.config.model.seeds),
            kernel=model_linear_kernel(run.load_model()),
            steps=steps,
            curves=curves,
        )


def _values(kernel: LinearKernel, n_steps: int) -> np.ndarray:
    """`[E, K]`: the single-input single-output kernel's values."""
    return kernel.values(n_steps)[:, :, 0, 0]


def runs(config: KernelsConfig, root: Path) -> dict[str, dict[str, Any]]:
    """The study's runs, in training order (`Study.runs`)."""
    return config.run_configs()


def measure(
    config: KernelsConfig, trained_runs: Mapping[str, Run], out: Path, progress: bool
) -> KernelsResults:
    """The three experiments (`Study.measure`)."""
    results = KernelsResults(
        networks=[], eigenvalues=[], curves={}, learned={}, dt_ms=float(config.task["dt_ms"])
    )
    measure_exact(config, results, "exact", progress)
    measure_exact(config, results, "descent", progress)
    measure_sampled(config, trained_runs, results)
    return results


def rows(results: KernelsResults) -> list[dict[str, Any]]:
    """measures.csv: one row per network and experiment."""
    return [r.row() for r in results.networks]


def tables(results: KernelsResults) -> dict[str, list[dict[str, Any]]]:
    """eigenvalues.csv beside measures.csv."""
    return {"eigenvalues.csv": results.eigenvalues}


def _mean(values: list[float], digits: str) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "-"
    missing = len(values) - len(finite)
    return f"{np.mean(finite):{digits}}" + (f" ({missing} never)" if missing else "")


def summary(results: KernelsResults) -> str:
    """Markdown, one row per kernel, means over the seeds: the approximation error per width
    (Adam on the exact loss) and the dominant learned time constant at the largest width;
    the error of the networks trained on sampled data; the longest plateau, steps to fit and
    error under gradient descent from a small start."""
    nets = results.networks
    labels = list(dict.fromkeys(r.kernel for r in nets))
    widths = sorted({r.width for r in nets if r.experiment == "exact"})
    sampled = sorted({r.width for r in nets if r.experiment == "sampled"})
    head = [f"error m={m}" for m in widths] + ["time constant (ms)"]
    head += [f"sampled error m={m}" for m in sampled]
    head += ["descent plateau", "descent steps to fit", "descent error"]
    lines = ["| kernel | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for label in labels:
        mine = [r for r in nets if r.kernel == label]
        exact = [r for r in mine if r.experiment == "exact"]
        gd = [r for r in mine if r.experiment == "descent"]
        cells = [_mean([r.error for r in exact if r.width == m], ".1e") for m in widths]
        cells.append(_mean([r.dominant_ms for r in exact if r.width == max(widths)], ".0f"))
        cells += [
            _mean([r.error for r in mine if r.experiment == "sampled" and r.width == m], ".1e")
            for m in sampled
        ]
        cells += [
            _mean([r.plateau_steps for r in gd], ".0f"),
            _mean([r.steps_to_fit for r in gd], ".0f"),
            _mean([r.error for r in gd], ".1e"),
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
