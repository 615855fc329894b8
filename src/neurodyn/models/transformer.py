"""A small causal transformer over state sequences, built from torch's own modules.

The sequence model of Park et al. (ICLR 2025) for mixtures of Markov chains is a GPT-style
decoder: token and learned position embeddings, `n_layers` pre-norm blocks (causal
multi-head self-attention, then a GELU MLP of width 4 d, each added to the residual stream),
a final layer norm and a linear read-out to the K next-state logits (their public code: 2
layers, d = 64, 4 heads, learned positions). Here every piece is torch's: `nn.Embedding`,
`nn.MultiheadAttention`, `nn.LayerNorm`, `nn.Linear`.

It is not a cell of the registry: a transformer has no fixed-size state to step (`F(h, x)`),
so the fixed-point and dynamics analyses do not apply; `neurodyn.analysis.icl` reads its
predictions and its attention (`forward(..., return_attention=True)`). Sequences are
time-major as everywhere in neurodyn: states `[T, B]`, logits `[T, B, K]`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from neurodyn.errors import ConfigError, ShapeError

__all__ = ["CausalTransformer", "TransformerSpec"]


@dataclass(frozen=True)
class TransformerSpec:
    """The sizes of a `CausalTransformer`.

    Attributes
    ----------
    n_tokens : int
        K, the vocabulary (the chain's states).
    max_length : int
        The longest sequence it reads (its learned position embeddings).
    d_model : int
        Width of the residual stream (64 in the paper).
    n_heads : int
        Attention heads per layer (4 in the paper); must divide `d_model`.
    n_layers : int
        Blocks (2 in the paper).
    seed : int
        Seed of the initial weights.
    """

    n_tokens: int = 10
    max_length: int = 128
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_tokens", "max_length", "d_model", "n_heads", "n_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"transformer {name} must be a positive integer, got {value!r}")
        if self.d_model % self.n_heads:
            raise ConfigError(
                f"transformer d_model ({self.d_model}) must be a multiple of n_heads "
                f"({self.n_heads})"
            )


class _Block(nn.Module):
    """Pre-norm block: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.norm_attention = nn.LayerNorm(d_model)
        self.attention = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.norm_mlp = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model)
        )

    def forward(self, x: Tensor, causal: Tensor, weights: bool) -> tuple[Tensor, Tensor | None]:
        h = self.norm_attention(x)
        mixed, attention = self.attention(
            h, h, h, attn_mask=causal, need_weights=weights, average_attn_weights=False
        )
        x = x + mixed
        return x + self.mlp(self.norm_mlp(x)), attention


class CausalTransformer(nn.Module):
    """A GPT-style causal transformer predicting the next state (see the module docstring).

    Parameters
    ----------
    spec : TransformerSpec
        Its sizes and seed.

    Example
    -------
    >>> model = CausalTransformer(TransformerSpec(max_length=16, d_model=8, n_heads=2))
    >>> logits, attention = model(torch.zeros(16, 3, dtype=torch.long), return_attention=True)
    >>> tuple(logits.shape), tuple(attention.shape)  # [T, B, K], [L, H, B, T, T]
    ((16, 3, 10), (2, 2, 3, 16, 16))
    """

    def __init__(self, spec: TransformerSpec) -> None:
        super().__init__()
        self.spec = spec
        generator_state = torch.random.get_rng_state()
        # torch's modules initialise from the global generator: seed it for this model only,
        # and give the caller's random state back
        torch.manual_seed(spec.seed)
        try:
            self.token_embedding = nn.Embedding(spec.n_tokens, spec.d_model)
            self.position_embedding = nn.Embedding(spec.max_length, spec.d_model)
            self.blocks = nn.ModuleList(
                [_Block(spec.d_model, spec.n_heads) for _ in range(spec.n_layers)]
            )
            self.norm = nn.LayerNorm(spec.d_model)
            self.readout = nn.Linear(spec.d_model, spec.n_tokens)
        finally:
            torch.random.set_rng_state(generator_state)

    def forward(
        self, states: Tensor, *, return_attention: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Next-state logits after every prefix.

        Parameters
        ----------
        states : Tensor [T, B] long
            The sequences, T at most `spec.max_length`.
        return_attention : bool
            Also return every head's attention weights (slower: they are materialised).

        Returns
        -------
        logits : Tensor [T, B, K]
        attention : Tensor [L, H, B, T, T], only with `return_attention`
            Queries by keys; zero above the diagonal.
        """
        if states.dim() != 2:
            raise ShapeError(f"states must be [T, B], got {tuple(states.shape)}")
        n_steps = states.shape[0]
        if n_steps > self.spec.max_length:
            raise ShapeError(
                f"sequences of {n_steps} states are longer than this transformer's "
                f"max_length {self.spec.max_length}; build it with a larger max_length"
            )
        tokens = states.T  # attention is batch-first inside
        positions = torch.arange(n_steps, device=states.device)
        x = self.token_embedding(tokens) + self.position_embedding(positions)[None]
        causal = torch.triu(
            torch.ones(n_steps, n_steps, dtype=torch.bool, device=states.device), diagonal=1
        )
        attentions = []
        for block in self.blocks:
            x, attention = block(x, causal, return_attention)
            if attention is not None:
                attentions.append(attention)
        logits = self.readout(self.norm(x)).transpose(0, 1)
        if return_attention:
            return logits, torch.stack(attentions).transpose(1, 2)  # [L, H, B, T, T]
        return logits
