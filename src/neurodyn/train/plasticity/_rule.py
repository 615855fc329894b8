"""The local, reward-modulated Hebbian rule of Bredenberg, Simoncelli & Savin (2020) and the
readout's delta rule: one step's updates from running averages."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.tasks.bredenberg import StimulusTask


@dataclass(frozen=True)
class LocalRule:
    """Rates (`eta`), decays (`lambda`), the running averages' rate `a` per step, the transient
    (time units) and the overall gain A of the rule. `paper(kind)` gives the authors'."""

    lr_recurrent: float
    lr_input: float
    lr_bias: float
    lr_readout: float
    decay_recurrent: float
    decay_input: float
    decay_bias: float
    decay_readout: float
    average_rate: float = 0.0015
    transient: float = 40.0
    gain: float = 100.0

    def __post_init__(self) -> None:
        if not 0 < self.average_rate <= 1:
            raise ConfigError(f"average_rate must be in (0, 1], got {self.average_rate}")
        if self.transient < 0 or self.gain <= 0:
            raise ConfigError(f"need transient >= 0 and gain > 0; got {self}")

    @classmethod
    def paper(cls, kind: str) -> LocalRule:
        """The constants of the authors' code (estimation: N = 40; classification: N = 25)."""
        if kind == "estimation":
            return cls(5e-6, 5e-6, 5e-6, 5e-6, 0.5 / 25**2, 3 / 25**2, 3 / 25**2, 0.5 / 25**2)
        if kind == "classification":
            return cls(1e-6, 1e-6, 1e-6, 1e-8, 3 / 40**2, 25 / 40 / 10, 2 / 40, 3 / 40**2)
        raise ConfigError(f"no paper constants for task kind {kind!r}")

    def scaled(self, factor: float) -> LocalRule:
        """Every learning rate times `factor` (decays unchanged)."""
        return dataclasses.replace(
            self,
            lr_recurrent=self.lr_recurrent * factor,
            lr_input=self.lr_input * factor,
            lr_bias=self.lr_bias * factor,
            lr_readout=self.lr_readout * factor,
        )


@dataclass
class RunningAverages:
    """Each chain's running means of `r r^T [B, N, N]`, `r s^T [B, N, K]` and `r [B, N]`."""

    rr: Tensor
    rs: Tensor
    r: Tensor

    @classmethod
    def zeros(
        cls, n_chains: int, n_units: int, n_tuning: int, dtype: torch.dtype
    ) -> RunningAverages:
        z = torch.zeros
        return cls(
            z(n_chains, n_units, n_units, dtype=dtype),
            z(n_chains, n_units, n_tuning, dtype=dtype),
            z(n_chains, n_units, dtype=dtype),
        )

    def update_(self, r: Tensor, s: Tensor, rate: float) -> None:
        # <x> <- (1 - a) <x> + a x, the outer products formed inside baddbmm
        torch.baddbmm(self.rr, r[:, :, None], r[:, None, :], beta=1 - rate, alpha=rate, out=self.rr)
        torch.baddbmm(self.rs, r[:, :, None], s[:, None, :], beta=1 - rate, alpha=rate, out=self.rs)
        self.r.lerp_(r, rate)


def reward_hebbian(
    reward: Tensor, r: Tensor, s: Tensor, averages: RunningAverages
) -> tuple[Tensor, Tensor, Tensor]:
    """The rule's brackets without decay, averaged over chains: `reward [B]`, `r [B, N]`,
    `s [B, K]` -> `(dW [N, N], dC [N, K], db [N])`, where
    `dW = mean_b R_b (r_b r_b^T - <r r^T>_b)` and likewise for C and b."""
    n = reward.shape[0]
    weighted = r * reward[:, None]
    # sum_b R_b <r r^T>_b as one vector-matrix product over the flattened averages
    d_recurrent = (weighted.T @ r - (reward @ averages.rr.flatten(1)).view_as(averages.rr[0])) / n
    d_input = (weighted.T @ s - (reward @ averages.rs.flatten(1)).view_as(averages.rs[0])) / n
    d_bias = (weighted - reward[:, None] * averages.r).mean(0)
    return d_recurrent, d_input, d_bias


def readout_delta(task: StimulusTask, theta: Tensor, r: Tensor, readout: Tensor) -> Tensor:
    """The supervised readout step (the gradient of alpha in D, per the module docstring),
    averaged over chains: `theta [B]`, `r [B, N]` -> `[k, N]`."""
    drive = r @ readout.T
    if task.kind == "estimation":
        error = task.target(theta) - drive  # -(D r - y)
    else:
        error = task.gain * (task.target(theta) - task.output(drive))
    return error.T @ r / r.shape[0]
