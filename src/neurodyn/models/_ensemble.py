"""What every neurodyn network shares: E members as one module, inputs shared or per member,
noise drawn per member from its own generator, one member taken out as a network of its own,
and the interface every registered cell implements (the analyses rely on nothing else)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

import torch
from torch import Tensor, nn

from neurodyn.errors import ShapeError

if TYPE_CHECKING:
    from neurodyn.models.spec import Trajectory


class EnsembleNetwork(nn.Module, ABC):
    """Base of the networks (the cells): `spec` (a `NetworkSpec`), parameters with a leading
    member axis E, among them the input, recurrent and readout weights `W_in [E, *, I]`,
    `W_rec [E, *, N]`, `W_out [E, O, N]`, `b_out [E, O]`."""

    spec: Any
    W_in: nn.Parameter
    W_rec: nn.Parameter
    W_out: nn.Parameter
    b_out: nn.Parameter
    # True: fixed points are classified on the flow (dt = spec.dt_ms); False: on the map.
    continuous_time: bool
    # True for spiking cells: their step is a discontinuous map (a threshold), so the analyses
    # of step functions (fixed points, cycles, Lyapunov spectra) refuse them
    spiking: bool = False

    @classmethod
    def check_spec(cls, spec: Any) -> None:
        """Raise `ConfigError` for an option of `spec` this cell does not take. A cell that
        takes every option (or checks them itself) keeps this one, which accepts all."""

    @property
    def ensemble_size(self) -> int:
        return len(self.spec.seeds)

    @property
    @abstractmethod
    def state_size(self) -> int:
        """Size S of the state the analyses see (`step` maps `[E, B, S]` to `[E, B, S]`)."""

    def activity(self, states: Tensor) -> Tensor:
        """The activity the state analyses read (PCA, task variance, `compare`) from the
        states a forward pass returns.

        Parameters
        ----------
        states : Tensor [..., S]
            States as `forward` returns them (`[T, E, B, S]`) or any slice of them.

        Returns
        -------
        Tensor [..., S]
            The states themselves; a spiking cell returns its filtered spike trains
            `[..., N]` instead (`LIFNetwork.activity`).
        """
        return states

    @abstractmethod
    def forward(
        self,
        x: Tensor,
        *,
        h0: Tensor | None = None,
        generators: Sequence[torch.Generator] | None = None,
        noise: bool = True,
        return_drives: bool = False,
    ) -> Trajectory:
        """Run the networks over inputs `x [T, B, I]` or `[T, E, B, I]`: states
        `[T, E, B, S]` and outputs `[T, E, B, O]`."""

    @abstractmethod
    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One noise-free step `F(h, x)`: `h [E, B, S]`, `x [E, B, I]` or `[B, I]` ->
        `[E, B, S]`."""

    @abstractmethod
    def step_jacobian(self, h: Tensor, x: Tensor) -> Tensor:
        """`dF/dh` of `step`: `[E, B, S, S]`, `J[e, b, i, j] = dF_i / dh_j`."""

    @abstractmethod
    def constrain_(self) -> Self:
        """Project the weights onto what the spec allows, in place (after every optimiser
        step); returns the network."""

    def _per_member(self, x: Tensor) -> Tensor:
        """Inputs `[T, B, I]` (shared) or `[T, E, B, I]` to `[E, T, B, I]`."""
        if x.shape[-1] != self.spec.n_inputs:
            raise ShapeError(
                f"inputs have {x.shape[-1]} channels, the network expects {self.spec.n_inputs}"
            )
        if x.dim() == 3:
            return x[None].expand(self.ensemble_size, *x.shape)
        if x.dim() == 4 and x.shape[1] == self.ensemble_size:
            return x.transpose(0, 1)
        raise ShapeError(
            f"inputs must be [T, B, I] or [T, E={self.ensemble_size}, B, I], got {tuple(x.shape)}"
        )

    def _noise(
        self, shape: Sequence[int], generators: Sequence[torch.Generator] | None, device
    ) -> Tensor:
        """Standard normal noise `[E, *shape]`, member e drawn from generators[e]."""
        if generators is None:
            return torch.randn(self.ensemble_size, *shape, device=device)
        if len(generators) != self.ensemble_size:
            raise ShapeError(
                f"need one generator per member ({self.ensemble_size}), got {len(generators)}"
            )
        return torch.stack([torch.randn(*shape, generator=g, device=device) for g in generators])

    def member(self, index: int) -> Self:
        """A new single-network model holding a copy of member `index`."""
        spec = replace(self.spec, seeds=(self.spec.seeds[index],))
        single = type(self)(spec)
        with torch.no_grad():
            for name, p in single.named_parameters():
                p.copy_(getattr(self, name)[index : index + 1])
        return single
