"""Linear functionals of white noise with a memory kernel (`memory_kernel`).

The task family of Li, Han, E & Li (2022), "Approximation and optimization theory for linear
continuous-time recurrent neural networks" (JMLR 23; ICLR 2021 as "On the curse of memory in
recurrent neural networks"): the input x(t) is white noise and the target is the linear
functional

    H_t(x) = integral_0^inf x(t - s) rho(s) ds

of a memory kernel rho. A linear RNN's input-output map is exactly such a functional, with a
kernel that is a sum of exponentials (`neurodyn.analysis.memory_kernels`); how well, and how
fast, it can learn rho depends on how rho decays: an exponential kernel is one term of the
sum, a power law `rho(s) ~ s^-(1 + omega)` needs ever more terms as omega shrinks (the curse
of memory). A kernel that does not decay is not a functional any RNN can approximate (the
paper's Theorem 7 needs the integral of |rho| to be finite) and is refused.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.errors import ConfigError, excerpt
from neurodyn.tasks._base import Batch, Duration, Task, between, ensemble_view

KERNELS = ("exponential", "power_law")
# a given kernel must have fallen to this share of its largest value by its last lag: a kernel
# cut off while still large does not decay within the lags it names
DECAYED = 0.01


def kernel_values(
    kernel: str | tuple[float, ...], lags_ms: Tensor, *, memory_ms: float, omega: float
) -> Tensor:
    """The memory kernel rho at the lags `lags_ms [K]` (unnormalised).

    Parameters
    ----------
    kernel : str or tuple of float
        "exponential": `rho(s) = exp(-s / memory_ms)`; "power_law":
        `rho(s) = (1 + s / memory_ms) ** -(1 + omega)`; a tuple: rho's values at lags 0, dt,
        2 dt, ... (zero beyond its last value).
    lags_ms : Tensor [K]
        Lags s in ms, multiples of the step for a tuple kernel.
    memory_ms, omega : float
        The exponential's time constant, the power law's onset and its memory exponent.

    Returns
    -------
    Tensor [K] (float64)
    """
    lags = lags_ms.double()
    if kernel == "exponential":
        return torch.exp(-lags / memory_ms)
    if kernel == "power_law":
        return (1 + lags / memory_ms) ** -(1 + omega)
    assert not isinstance(kernel, str)
    given = torch.tensor(kernel, dtype=torch.float64)
    out = torch.zeros(len(lags), dtype=torch.float64)
    n = min(len(given), len(lags))
    out[:n] = given[:n]
    return out


@dataclass(frozen=True)
class MemoryKernel(Task):
    """Reproduce a linear functional of white noise: `y_t = sum_k w_k x_{t-k}`.

    Input `[T, B, 1]`: white noise, independent N(0, 1) values at every step. Target
    `[T, B, 1]`: the Riemann sum of `H_t(x) = integral x(t - s) rho(s) ds` on the step grid,
    `w_k = rho(k dt) / norm`, over the trial's own history (the network also starts from
    rest), scaled so that the sum of `w_k^2` over the trial is 1: the target's stationary
    variance is 1 whatever the kernel, so the mean squared error is the share of the target's
    variance missed (the scale of rho is immaterial to a linear network, whose read-out
    scales with it). MSE on every step.

    Kernels (`kernel`): "exponential" `rho(s) = exp(-s / memory_ms)`; "power_law"
    `rho(s) = (1 + s / memory_ms) ** -(1 + omega)`, whose memory lengthens as the exponent
    `omega > 0` shrinks; or the values of a kernel of your own at lags 0, dt, 2 dt, ... (zero
    after them). Kernels that do not decay are refused: omega <= 0, memory_ms not finite and
    positive, a given kernel whose last value is over 1% of its largest.

    Performance: the share of the target's variance explained, `1 - MSE / mean(y^2)` over the
    batch, at least 0.

    `weights()` gives `w [T]`, the target's discrete kernel, for the analyses
    (`neurodyn.analysis.memory_kernels`).

    Reference: Li, Han, E & Li (2022), JMLR 23(42), eq. (23) and Section 4.
    """

    name: ClassVar[str] = "memory_kernel"
    description: ClassVar[str] = (
        "white noise in, its convolution with a memory kernel out (Li, Han, E & Li 2022)"
    )
    n_inputs: ClassVar[int] = 1
    n_outputs: ClassVar[int] = 1
    loss: ClassVar = "mse"

    dt_ms: float = 10.0
    trial_ms: Duration = 2000.0
    kernel: str | tuple[float, ...] = "exponential"
    memory_ms: float = 100.0
    omega: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.kernel, list | tuple):
            values = tuple(self.kernel)
            if not values or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in values
            ):
                raise ConfigError(
                    f"memory_kernel: a given kernel must be a list of finite numbers (rho at "
                    f"lags 0, dt, 2 dt, ...), got {excerpt(self.kernel)}"
                )
            object.__setattr__(self, "kernel", tuple(float(v) for v in values))
        elif self.kernel not in KERNELS:
            raise ConfigError(
                f"memory_kernel: kernel must be one of {', '.join(KERNELS)} or a list of rho's "
                f"values at lags 0, dt, 2 dt, ..., got {excerpt(self.kernel)}"
            )
        super().__post_init__()
        if not (isinstance(self.memory_ms, int | float) and 0 < self.memory_ms < math.inf):
            raise ConfigError(
                f"memory_kernel: memory_ms must be a finite positive number of ms (a kernel "
                f"that does not decay cannot be approximated), got {excerpt(self.memory_ms)}"
            )
        if self.kernel == "power_law" and not (
            isinstance(self.omega, int | float) and 0 < self.omega < math.inf
        ):
            raise ConfigError(
                f"memory_kernel: the power law (1 + s / memory_ms)^-(1 + omega) is not "
                f"integrable for omega <= 0 (it does not decay fast enough): give omega > 0, "
                f"got {excerpt(self.omega)}"
            )
        if isinstance(self.kernel, tuple):
            given = torch.tensor(self.kernel).abs()
            if float(given.max()) == 0:
                raise ConfigError("memory_kernel: the given kernel is zero at every lag")
            if float(given[-1]) > DECAYED * float(given.max()):
                raise ConfigError(
                    f"memory_kernel: the given kernel does not decay (its last value "
                    f"{self.kernel[-1]:g} is over {DECAYED:.0%} of its largest): give its "
                    "values up to where it has decayed"
                )

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {"stimulus": self.trial_ms}

    def weights(self, n_steps: int | None = None) -> Tensor:
        """The target's discrete kernel `w [K]` (float64, K = the trial's steps unless
        given): `rho(k dt)` scaled so that the sum of `w_k^2` over the trial's steps is 1."""
        return self._weights(self.n_steps if n_steps is None else n_steps)

    @functools.lru_cache(maxsize=4)  # noqa: B019 (tasks are frozen and few)
    def _weights(self, n_steps: int) -> Tensor:
        lags = torch.arange(max(n_steps, self.n_steps), dtype=torch.float64) * self.dt_ms
        values = kernel_values(self.kernel, lags, memory_ms=self.memory_ms, omega=self.omega)
        norm = values[: self.n_steps].pow(2).sum().sqrt()
        return (values / norm)[:n_steps]

    def _fill(self, bounds, end, generator):
        n_steps, batch_size, device = self.n_steps, end.shape[0], end.device
        in_trial = between(n_steps, torch.zeros_like(end), end)  # [T, B]
        x = torch.randn(n_steps, batch_size, generator=generator, device=device) * in_trial
        w = self._weights(n_steps).to(device)
        # y_t = sum_{k <= t} w_k x_{t-k}: the lower-triangular Toeplitz matrix of w times x
        lag = torch.arange(n_steps, device=device)
        lag = lag[:, None] - lag[None, :]
        toeplitz = torch.where(lag >= 0, w[lag.clamp_min(0)], 0.0)
        y = (toeplitz @ x.double()).float() * in_trial
        return x[..., None], y[..., None], in_trial.float()[..., None], {}

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, _, squeeze = ensemble_view(outputs, batch)
        targets = batch.y if batch.y.dim() == 4 else batch.y[:, None]
        mask = batch.mask if batch.mask.dim() == 4 else batch.mask[:, None]
        missed = ((outputs - targets) ** 2 * mask).sum((0, 2, 3))
        total = (targets**2 * mask).sum((0, 2, 3)).clamp_min(1e-12)
        perf = (1 - missed / total).clamp_min(0)
        return perf[0] if squeeze else perf
