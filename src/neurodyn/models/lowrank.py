"""The low-rank leaky rate RNN: the CTRNN with recurrent weights `W_rec = m n^T / N` of rank r.

Mastrogiuseppe & Ostojic 2018 ("Linking connectivity, dynamics, and computations in low-rank
recurrent neural networks", Neuron 99) show that a network whose connectivity is a sum of r
outer products `m_k n_k^T / N` has its recurrent dynamics confined to r collective variables,
`kappa = n^T h / N [E, B, r]`: the recurrent drive `W_rec h = m kappa` always lies in the span
of the r columns of m. Fitted to data, such a network is a latent model whose dynamics are
r-dimensional and read directly off its weights (Valente, Pillow & Ostojic 2022, "Extracting
computational mechanisms from neural data using low-rank RNNs", NeurIPS).

Dynamics are the CTRNN's (`neurodyn.models.ctrnn`), with the same loops and analyses:

    h_t = (1 - alpha) h_{t-1} + alpha f(W_in x_t + m n^T h_{t-1} / N + b + noise_t)

Parameters: `m [E, N, r]` and `n [E, N, r]` in place of `W_rec`, which is a property computed
from them (`[E, N, N]`, read-only: changing it changes nothing), so every analysis that reads
`W_rec` reads the low-rank matrix. Initialisation: m and n Gaussian with variance
`rec_gain * sqrt(N)`, so each of the r nonzero eigenvalues of `W_rec` has a spread of about
`rec_gain` (as the Gaussian CTRNN's spectral radius is about `rec_gain`). Of the CTRNN's
structure options only the input and readout masks apply: Dale's law, areas, recurrent masks
and removed autapses would each make `W_rec` full rank.
"""

from __future__ import annotations

import math
from typing import Self

import torch
from torch import Tensor, nn

from neurodyn.errors import ConfigError
from neurodyn.models.ctrnn import CTRNN
from neurodyn.models.spec import NetworkSpec


class LowRankRNN(CTRNN):
    """Leaky rate RNN whose recurrent weights have rank `spec.rank` (default 1).

    Parameters: `W_in [E, N, I]`, `m [E, N, r]`, `n [E, N, r]`, `b [E, N]`, `W_out [E, O, N]`,
    `b_out [E, O]`; `W_rec [E, N, N] = m n^T / N` is computed from m and n.

    Example
    -------
    >>> model = LowRankRNN(NetworkSpec(n_inputs=3, n_hidden=16, n_outputs=3, cell="lowrank",
    ...                                rank=2, seeds=(1, 2)))
    >>> int(torch.linalg.matrix_rank(model.W_rec[0].detach())), tuple(model.m.shape)
    (2, (2, 16, 2))
    """

    m: nn.Parameter
    n: nn.Parameter

    cell_name = "lowrank"
    low_rank = True  # the spec's `rank` applies (NetworkSpec refuses it for other cells)

    @classmethod
    def check_spec(cls, spec: NetworkSpec) -> None:
        rank = cls.rank_of(spec)
        if not 1 <= rank <= spec.n_hidden:
            raise ConfigError(f"rank must lie in [1, n_hidden={spec.n_hidden}], got {rank}")
        if spec.rec_init != "gaussian":
            raise ConfigError(
                f"rec_init={spec.rec_init!r} sets a full-rank W_rec; the lowrank cell draws m "
                "and n (leave rec_init at gaussian)"
            )
        full_rank = {
            "excitatory_fraction": spec.excitatory_fraction is not None,
            "autapses": not spec.autapses,
            "areas": spec.areas is not None,
            "mask_rec": spec.mask_rec is not None,
        }
        used = [name for name, set_ in full_rank.items() if set_]
        if used:
            raise ConfigError(
                f"{', '.join(used)} would make the lowrank cell's W_rec = m n^T / N full "
                "rank: remove them, or use the ctrnn cell"
            )

    @staticmethod
    def rank_of(spec: NetworkSpec) -> int:
        """The rank r of a spec (`spec.rank`, 1 when None)."""
        return 1 if spec.rank is None else int(spec.rank)

    def _init_member(self, seed: int) -> dict[str, Tensor]:
        # drawn in the CTRNN's order (inputs, recurrence, readout) from the member's own seed
        s = self.spec
        rank = self.rank_of(s)
        g = torch.Generator().manual_seed(int(seed))
        w_in = torch.randn(s.n_hidden, s.n_inputs, generator=g) / math.sqrt(s.n_inputs)
        scale = math.sqrt(s.rec_gain) * s.n_hidden**0.25
        m = scale * torch.randn(s.n_hidden, rank, generator=g)
        n = scale * torch.randn(s.n_hidden, rank, generator=g)
        return {
            "W_in": w_in,
            "m": m,
            "n": n,
            "b": torch.zeros(s.n_hidden),
            "W_out": torch.randn(s.n_outputs, s.n_hidden, generator=g) / math.sqrt(s.n_hidden),
            "b_out": torch.zeros(s.n_outputs),
        }

    @property
    def W_rec(self) -> Tensor:  # type: ignore[override]  # the CTRNN's parameter, computed here
        """`m n^T / N`, `[E, N, N]` (`W_rec[e, i, j]`: from unit j onto unit i)."""
        return torch.bmm(self.m, self.n.transpose(1, 2)) / self.spec.n_hidden

    def collective(self, states: Tensor) -> Tensor:
        """The r collective variables `kappa = n^T h / N` of states.

        Parameters
        ----------
        states : Tensor [T, E, B, N] or [E, B, N]

        Returns
        -------
        Tensor [T, E, B, r] or [E, B, r]
            The recurrent drive of each state is `m kappa`.
        """
        n = self.n / self.spec.n_hidden  # [E, N, r]
        if states.dim() == 4:
            return torch.einsum("tebn,enr->tebr", states, n)
        return torch.bmm(states, n)

    @torch.no_grad()
    def constrain_(self) -> Self:
        """Apply the input and readout masks (the only structure the cell takes), in place."""
        if self.spec.mask_in is not None or self.spec.mask_out is not None:
            st = self.structure()
            self.W_in.mul_(st["mask_in"].to(self.W_in.device))
            self.W_out.mul_(st["mask_readout"].to(self.W_out.device))
        return self
