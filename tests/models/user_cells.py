"""RNN cells as a user writes them in plain PyTorch (parameters that require grad, torch's
`cell(u, h)` signature), importable by path so adopted runs of them load in another process."""

import torch
from torch import nn


class LinearCell(nn.Module):
    """h' = W h + B u + b: an affine map, whose one fixed point under u solves (I - W) h = B u + b."""

    def __init__(self, n_inputs: int, n_hidden: int, gain: float = 0.5) -> None:
        super().__init__()
        self.n_inputs, self.n_hidden, self.gain = n_inputs, n_hidden, gain
        self.W = nn.Parameter(gain * torch.randn(n_hidden, n_hidden) / n_hidden**0.5)
        self.B = nn.Parameter(torch.randn(n_hidden, n_inputs))
        self.b = nn.Parameter(torch.randn(n_hidden))

    def forward(self, u: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return h @ self.W.T + u @ self.B.T + self.b


class LeakyTanhCell(nn.Module):
    """h' = h + alpha (-h + tanh(W_rec h + W_in u + b)): the Euler step of a flow, the
    equations of neurodyn's CTRNN with a tanh activation and alpha = dt / tau."""

    def __init__(self, input_size: int, hidden_size: int, alpha: float = 0.2) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.alpha = input_size, hidden_size, alpha
        self.W_in = nn.Parameter(torch.randn(hidden_size, input_size) / input_size**0.5)
        self.W_rec = nn.Parameter(1.5 * torch.randn(hidden_size, hidden_size) / hidden_size**0.5)
        self.b = nn.Parameter(torch.zeros(hidden_size))

    def forward(self, u: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return h + self.alpha * (-h + torch.tanh(h @ self.W_rec.T + u @ self.W_in.T + self.b))


class StateOnlyCell(nn.Module):
    """A cell whose forward takes the state alone: it does not fit the protocol."""

    def __init__(self, hidden_size: int = 4) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.W = nn.Parameter(torch.eye(hidden_size))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.W.T


class OpaqueCell(nn.Module):
    """A cell that keeps its constructor's argument under another name: adopting it needs
    cell_kwargs."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.size = width
        self.input_size, self.hidden_size = 3, width
        self.cell = nn.RNNCell(3, width)

    def forward(self, u: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.cell(u, h)


class HalvingCell(nn.Module):
    """A cell that returns half its state: callable as the protocol says, but of the wrong shape."""

    def __init__(self, input_size: int = 3, hidden_size: int = 4) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.W = nn.Parameter(torch.eye(hidden_size))

    def forward(self, u: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return (h @ self.W.T)[..., : self.hidden_size // 2]
