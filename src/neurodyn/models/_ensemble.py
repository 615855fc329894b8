"""What every neurodyn network shares: E members as one module, inputs shared or per member,
noise drawn per member from its own generator, one member taken out as a network of its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Self

import torch
from torch import Tensor, nn

from neurodyn.errors import ShapeError


class EnsembleNetwork(nn.Module):
    """Base of the networks: `spec` (a frozen dataclass with `seeds`, `n_inputs`), parameters
    with a leading member axis E."""

    spec: Any

    @property
    def ensemble_size(self) -> int:
        return len(self.spec.seeds)

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
