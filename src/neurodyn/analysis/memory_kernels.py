"""Memory kernels of linear RNNs, their approximation error, and plateaus in loss curves.

A linear CTRNN (`activation: linear`) stepped with `alpha = dt / tau`,

    h_t = A h_{t-1} + alpha (U x_t + b),    A = (1 - alpha) I + alpha W_rec,    y_t = c^T h_t,

maps its input to its output by a convolution, `y_t = sum_k rho_hat_k x_{t-k}` (plus a
constant from the biases), whose kernel is

    rho_hat_k = alpha c^T A^k U = sum_i a_i lambda_i^k = sum_i a_i exp(r_i k dt),

a sum of exponentials, one per eigenvalue lambda_i of A (complex pairs give damped
oscillations), with rates `r_i = log(lambda_i) / dt` (as dt -> 0, `(mu_i - 1) / tau` for the
eigenvalues mu_i of W_rec: the continuous-time kernel `c^T exp(W s) U` of Li, Han, E & Li 2022,
eq. 18, with `W = (W_rec - I) / tau`) and amplitudes `a_i = alpha (c^T v_i)(w_i^T U)` from the
right and left eigenvectors. `linear_kernel` computes it from the weights; `impulse_response`
measures the same thing by simulating any network, so the two check each other.

For white-noise input of unit variance the stationary mean squared error of such a network
against a target kernel w is `sum_k (rho_hat_k - w_k)^2`, so `approximation_error` measures
how well a width-m network approximates a kernel without sampling any data. `find_plateaus`
finds the stretches of a loss curve where training stalls before it escapes, the
optimisation side of the curse of memory (the paper's Section 5: plateaus whose length grows
exponentially with the target's memory).

Reference: Li, Han, E & Li (2022), "Approximation and optimization theory for linear
continuous-time recurrent neural networks", JMLR 23(42).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ConfigError, ShapeError

__all__ = [
    "LinearKernel",
    "Plateaus",
    "approximation_error",
    "find_plateaus",
    "impulse_response",
    "linear_kernel",
    "model_linear_kernel",
]


@dataclass(frozen=True)
class LinearKernel(SavableResult):
    """The input-output kernel of linear RNNs as a sum of exponentials.

    Attributes
    ----------
    eigenvalues : ndarray [E, N] complex
        lambda_i, the eigenvalues of the one-step map `A = (1 - alpha) I + alpha W_rec`.
    amplitudes : ndarray [E, N, O, I] complex
        a_i, each exponential's weight from every input to every output.
    dt_ms : float
        The step, for the rates.
    """

    eigenvalues: np.ndarray
    amplitudes: np.ndarray
    dt_ms: float

    @property
    def rates_per_ms(self) -> np.ndarray:
        """`[E, N]` complex `log(lambda_i) / dt`: each exponential's decay rate (real part,
        negative when stable) and angular frequency (imaginary part), per ms."""
        with np.errstate(divide="ignore"):
            return np.log(self.eigenvalues.astype(complex)) / self.dt_ms

    @property
    def timescales_ms(self) -> np.ndarray:
        """`[E, N]` `-1 / Re(rate)`: each exponential's decay time, in ms (inf where it does
        not decay, negative where it grows)."""
        with np.errstate(divide="ignore"):
            return -1 / self.rates_per_ms.real

    def values(self, n_steps: int) -> np.ndarray:
        """The kernel `rho_hat [E, K, O, I]` at lags 0 .. K - 1 steps (real: conjugate
        pairs cancel their imaginary parts)."""
        powers = self.eigenvalues[:, None, :] ** np.arange(n_steps)[None, :, None]  # [E, K, N]
        return np.einsum("ekn,enoi->ekoi", powers, self.amplitudes).real


def linear_kernel(w_rec: Any, w_in: Any, w_out: Any, *, alpha: float, dt_ms: float) -> LinearKernel:
    """The kernel of linear RNNs from their weights, as a sum of exponentials.

    Parameters
    ----------
    w_rec : array or Tensor [E, N, N] (or [N, N])
        `W_rec[e, i, j]`, the weight from unit j onto unit i.
    w_in : [E, N, I] (or [N, I])
    w_out : [E, O, N] (or [O, N])
    alpha : float
        dt / tau (1 for a discrete-time RNN `h_t = W_rec h_{t-1} + U x_t`).
    dt_ms : float

    Returns
    -------
    LinearKernel
        `values(K)` is `alpha c^T A^k U` for k < K, the network's impulse response, from the
        eigen-decomposition of A (a defective A, which no trained network has, would need
        its Jordan form).

    Example
    -------
    >>> w_rec = np.array([[0.5, 0.0], [0.0, -0.5]])
    >>> kernel = linear_kernel(w_rec, np.ones((2, 1)), np.ones((1, 2)), alpha=1.0, dt_ms=1.0)
    >>> kernel.values(3)[0, :, 0, 0]  # 0.5^k + (-0.5)^k
    array([2. , 0. , 0.5])
    """
    w_rec, w_in, w_out = (
        _as_ensemble(a, name) for a, name in ((w_rec, "w_rec"), (w_in, "w_in"), (w_out, "w_out"))
    )
    n = w_rec.shape[-1]
    if w_rec.shape[-2] != n or w_in.shape[1] != n or w_out.shape[2] != n:
        raise ShapeError(
            f"linear_kernel: w_rec {w_rec.shape}, w_in {w_in.shape} and w_out {w_out.shape} "
            "must be [E, N, N], [E, N, I] and [E, O, N] with one N"
        )
    step = (1 - alpha) * np.eye(n) + alpha * w_rec  # A [E, N, N]
    eigenvalues, right = np.linalg.eig(step)  # A = V diag(lambda) V^-1
    left = np.linalg.inv(right)  # rows: the left eigenvectors, scaled so left @ right = I
    c_v = np.einsum("eon,enk->eko", w_out, right)  # [E, N, O]: c^T v_i
    w_u = np.einsum("ekn,eni->eki", left, w_in)  # [E, N, I]: w_i^T U
    amplitudes = alpha * c_v[..., :, None] * w_u[..., None, :]  # [E, N, O, I]
    return LinearKernel(eigenvalues=eigenvalues, amplitudes=amplitudes, dt_ms=float(dt_ms))


def model_linear_kernel(model: Any) -> LinearKernel:
    """`linear_kernel` of a CTRNN with the linear activation (all its ensemble members).

    Parameters
    ----------
    model : CTRNN
        With `activation: linear`; its `W_rec [E, N, N]`, `W_in [E, N, I]`, `W_out [E, O, N]`,
        alpha and dt are read.

    Returns
    -------
    LinearKernel
        Eigenvalues `[E, N]` and amplitudes `[E, N, O, I]`.

    Raises
    ------
    ConfigError
        For a network whose activation is not linear: its kernel is not a sum of
        exponentials (`impulse_response` still measures its response to an impulse).
    """
    spec = getattr(model, "spec", None)
    if spec is None or getattr(spec, "activation", None) != "linear" or spec.cell != "ctrnn":
        raise ConfigError(
            "model_linear_kernel needs a CTRNN with `activation: linear`; for other networks "
            "measure impulse_response(model, n_steps)"
        )
    return linear_kernel(
        model.W_rec.detach(),
        model.W_in.detach(),
        model.W_out.detach(),
        alpha=spec.alpha,
        dt_ms=spec.dt_ms,
    )


def impulse_response(model: Any, n_steps: int, *, size: float = 1.0) -> np.ndarray:
    """The simulated response of a network to a unit impulse on each input, less its response
    to no input, over `n_steps` steps, without noise.

    Parameters
    ----------
    model : a neurodyn network (`model(x, noise=False).outputs`: `[T, E, B, O]`)
    n_steps : int
    size : float
        The impulse's height; the response is divided by it (for a linear network any size
        gives its kernel).

    Returns
    -------
    ndarray [E, K, O, I] (float64)
        For a linear network, its kernel `rho_hat` (`linear_kernel(...).values(K)`).
    """
    n_inputs = model.spec.n_inputs
    x = torch.zeros(n_steps, n_inputs + 1, n_inputs, dtype=model.W_out.dtype)
    x[0, 1:] = size * torch.eye(n_inputs, dtype=x.dtype)  # trial 0: no input
    with torch.no_grad():
        outputs = model(x, noise=False).outputs.double()  # [T, E, 1 + I, O]
    response = (outputs[:, :, 1:] - outputs[:, :, :1]) / size  # [T, E, I, O]
    return response.permute(1, 0, 3, 2).cpu().numpy()


def approximation_error(kernel: np.ndarray, target: Any) -> np.ndarray:
    """The relative error of a learned kernel against a target kernel, for white noise.

    Parameters
    ----------
    kernel : ndarray [E, K] (or [K])
        `rho_hat` of a single-input single-output network (`LinearKernel.values(K)[..., 0,
        0]`).
    target : array [K]
        The target's discrete kernel w (`MemoryKernel.weights()`).

    Returns
    -------
    ndarray [E] (or [])
        `sum_k (rho_hat_k - w_k)^2 / sum_k w_k^2`: the stationary mean squared error of the
        network on unit-variance white noise over the target's variance (biases aside).

    Example
    -------
    >>> approximation_error(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    array(0.5)
    """
    kernel = np.asarray(kernel, dtype=float)
    target = np.asarray(target, dtype=float)
    if target.ndim != 1 or kernel.shape[-1] != target.shape[0]:
        raise ShapeError(
            f"approximation_error: kernel {kernel.shape} must end in the target's {target.shape[0]} "
            "lags (target [K], kernel [E, K])"
        )
    return np.asarray(((kernel - target) ** 2).sum(-1) / (target**2).sum())


@dataclass(frozen=True)
class Plateaus(SavableResult):
    """Stretches of loss curves where training stalls before the loss falls again.

    Attributes
    ----------
    member : ndarray [P] int
        The curve (ensemble member) each plateau belongs to.
    start_step, end_step : ndarray [P]
        Its first and last step.
    level : ndarray [P]
        Its median loss.
    longest : ndarray [E]
        Each curve's longest plateau, in steps (0 where none).
    """

    member: np.ndarray
    start_step: np.ndarray
    end_step: np.ndarray
    level: np.ndarray
    longest: np.ndarray

    @property
    def length(self) -> np.ndarray:
        """`[P]` each plateau's length in steps."""
        return self.end_step - self.start_step


def find_plateaus(
    loss: Any,
    steps: Any = None,
    *,
    band: float = 0.1,
    escape: float = 2.0,
    min_length: float = 0,
    smooth: int = 1,
) -> Plateaus:
    """The plateaus of loss curves: stretches over which the loss stays within a narrow band
    and after which it falls well below it.

    Scanning each curve from its start, a plateau is the longest stretch from a point on
    whose (smoothed) loss stays within `[m, m (1 + band)]` (m its lowest value there), at
    least `min_length` steps long, after which the loss falls below `level / escape`;
    scanning resumes after it (a stretch that joins the previous one at its level extends
    it: the slow end of a fall can start a stretch that the level's noise then cuts). A curve that converges ends without a plateau: its final
    floor is not escaped.

    Parameters
    ----------
    loss : array [E, S] (or [S])
        Loss curves, positive, one per ensemble member.
    steps : array [S], optional
        The training step of each point (default 0 .. S - 1).
    band : float
        How far (relative) the loss may move and still be flat.
    escape : float
        By how much the loss must fall after a plateau for it to count.
    min_length : float
        The shortest plateau, in steps.
    smooth : int
        A running median over this many points first (odd; 1: none), for noisy curves.

    Returns
    -------
    Plateaus

    Example
    -------
    >>> curve = np.array([1.0, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1])
    >>> found = find_plateaus(curve)
    >>> found.start_step.tolist(), found.end_step.tolist(), found.longest.tolist()
    ([1.0], [4.0], [3.0])
    """
    curves = np.asarray(loss, dtype=float)
    if curves.ndim == 1:
        curves = curves[None]
    if curves.ndim != 2:
        raise ShapeError(f"find_plateaus: loss must be [E, S] or [S], got shape {curves.shape}")
    steps = np.arange(curves.shape[1], dtype=float) if steps is None else np.asarray(steps, float)
    if steps.shape != (curves.shape[1],):
        raise ShapeError(f"find_plateaus: steps {steps.shape} must be [S] = [{curves.shape[1]}]")
    if not np.all(curves > 0) or not np.all(np.isfinite(curves)):
        raise ConfigError("find_plateaus: losses must be finite and positive")
    if band <= 0 or escape <= 1 or smooth < 1 or smooth % 2 == 0:
        raise ConfigError(
            f"find_plateaus: band must be > 0 (got {band}), escape > 1 (got {escape}) and "
            f"smooth an odd number of points (got {smooth})"
        )
    found: list[tuple[int, int, int]] = []  # (member, first index, last index)
    smoothed = np.stack([_running_median(curve, smooth) for curve in curves])
    for e, curve in enumerate(smoothed):
        # the lowest loss from each point on: what "falls after the plateau" is checked against
        later_min = np.minimum.accumulate(curve[::-1])[::-1]
        i = 0
        while i < len(curve) - 1:
            j, low, high = i, curve[i], curve[i]
            while j + 1 < len(curve):
                low, high = min(low, curve[j + 1]), max(high, curve[j + 1])
                if high > low * (1 + band):
                    break
                j += 1
            level = float(np.median(curve[i : j + 1]))
            escaped = j + 1 < len(curve) and later_min[j + 1] < level / escape
            if j > i and escaped:
                last = found[-1] if found else None
                if last and last[0] == e and last[2] == i and _close(curve, last, i, j, band):
                    # a stretch that began in the tail of the previous fall and was cut by the
                    # slow approach to the level: one plateau, not two
                    found[-1] = (e, last[1], j)
                else:
                    found.append((e, i, j))
                i = j
            else:
                i += 1
    found = [(e, i, j) for e, i, j in found if steps[j] - steps[i] >= min_length]
    longest = np.zeros(len(curves))
    for e, i, j in found:
        longest[e] = max(longest[e], steps[j] - steps[i])
    return Plateaus(
        member=np.array([e for e, _, _ in found], dtype=int),
        start_step=np.array([steps[i] for _, i, _ in found], dtype=float),
        end_step=np.array([steps[j] for _, _, j in found], dtype=float),
        level=np.array([np.median(smoothed[e, i : j + 1]) for e, i, j in found], dtype=float),
        longest=longest,
    )


def _close(curve: np.ndarray, last: tuple[int, int, int], i: int, j: int, band: float) -> bool:
    """Whether the stretch `i..j` lies at the level of the plateau `last` (within `band`)."""
    before = float(np.median(curve[last[1] : last[2] + 1]))
    now = float(np.median(curve[i : j + 1]))
    return max(before, now) <= min(before, now) * (1 + band)


def _running_median(curve: np.ndarray, width: int) -> np.ndarray:
    """The running median over `width` points (odd), the ends over the points there are."""
    if width == 1:
        return curve
    half = width // 2
    return np.array([np.median(curve[max(0, k - half) : k + half + 1]) for k in range(len(curve))])


def _as_ensemble(values: Any, name: str) -> np.ndarray:
    """`values` as a float64 array with an ensemble axis (added to a single network's)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    array = np.asarray(values, dtype=float)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise ShapeError(f"linear_kernel: {name} must be [E, ., .] or [., .], got {array.shape}")
    return array
