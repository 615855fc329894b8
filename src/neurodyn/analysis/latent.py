"""Hidden structure in a network's activity: a linear operator (DMD) and discrete states (HMM).

- `dmd`: dynamic mode decomposition of hidden states, optionally on a delay (Hankel)
  embedding; its eigenvalues approximate those of the dynamics' Koopman operator.
- `fit_hmm`: a Gaussian hidden Markov model (diagonal or full covariances) fitted by EM from
  several starts, with a vectorised log-space forward-backward pass batched over trials;
  `hmm_posteriors` and `viterbi` decode states.

Every function takes time-major states, `[T, D]` (one trial) or `[T, B, D]`, like the rest of
the package. The trials-first order `[B, T, D]` of earlier releases is still read, and given
back, when asked for by name (`layout="trials-first"`), with a DeprecationWarning; it goes in
the next release.

References: Schmid (2010) and Tu et al. (2014), DMD; Brunton et al. (2017), HAVOK delay
embeddings; Rabiner (1989), HMMs.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError

Layout = Literal["time-major", "trials-first"]


def _trials(x: Tensor, name: str, layout: Layout) -> Tensor:
    """Time-major `[T, D]` / `[T, B, D]` (or, deprecated, trials-first `[B, T, D]`) -> float64
    `[B, T, D]`, the order the recursions below run in.

    The layout is said, never guessed from the shape: T and B can be equal, and a `[T, D]`
    array would be ambiguous. Warns from the public function's caller (stacklevel 3).
    """
    if layout == "trials-first":
        warnings.warn(
            f"{name} in trials-first order [B, T, D] is deprecated and goes in the next "
            "release; pass time-major [T, B, D] (x.transpose(0, 1)) and drop layout=",
            DeprecationWarning,
            stacklevel=3,
        )
    elif layout != "time-major":
        raise ArgumentError(f"layout must be 'time-major' or 'trials-first', got {layout!r}")
    if x.dim() == 2:
        x = x[:, None] if layout == "time-major" else x[None]
    if x.dim() != 3:
        expected = "[T, D] or [T, B, D]" if layout == "time-major" else "[T, D] or [B, T, D]"
        raise ShapeError(f"{name} must be {expected}, got {tuple(x.shape)}")
    x = x.detach().to(torch.float64)
    return x.transpose(0, 1) if layout == "time-major" else x


def trials_first(x: Tensor, name: str = "states") -> Tensor:
    """Deprecated: `[T, D]` or `[B, T, D]` -> float64 `[B, T, D]`, the order these functions
    read before they were time-major; goes in the next release."""
    warnings.warn(
        "trials_first is deprecated and goes in the next release; the analyses read "
        "time-major [T, B, D] states directly",
        DeprecationWarning,
        stacklevel=2,
    )
    if x.dim() == 2:
        x = x[None]
    if x.dim() != 3:
        raise ShapeError(f"{name} must be [T, D] or [B, T, D] (trials first), got {tuple(x.shape)}")
    return x.detach().to(torch.float64)


def _out(x: Tensor, layout: Layout) -> Tensor:
    """A `[B, T, ...]` result in the caller's layout (time-major `[T, B, ...]` by default)."""
    return x.transpose(0, 1) if layout == "time-major" else x


def _delay_embed(x: Tensor, n_delays: int, interval: int) -> Tensor:
    """`[B, T, D]` -> `[B, T - (n_delays - 1) * interval, D * n_delays]`."""
    span = (n_delays - 1) * interval
    if n_delays < 1 or span >= x.shape[1]:
        raise ShapeError(
            f"cannot take {n_delays} delays of {interval} steps from {x.shape[1]} steps; "
            "use fewer delays or a shorter interval"
        )
    return torch.cat(
        [x[:, d * interval : x.shape[1] - span + d * interval] for d in range(n_delays)], -1
    )


def delay_embed(
    x: Tensor, n_delays: int, interval: int = 1, *, layout: Layout = "time-major"
) -> Tensor:
    """Stack `n_delays` copies of the states, each `interval` steps later (a Hankel embedding).

    Parameters
    ----------
    x : Tensor [T, D] or [T, B, D]
    n_delays, interval : int

    Returns
    -------
    Tensor [T - (n_delays - 1) * interval, B, D * n_delays], float64

    Example
    -------
    >>> delay_embed(torch.arange(5.0)[:, None], 2)[:, 0].tolist()
    [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0], [3.0, 4.0]]
    """
    return _out(_delay_embed(_trials(x, "x", layout), n_delays, interval), layout)


@dataclass(frozen=True)
class DMD(SavableResult):
    """A linear model `z_{t+1} = A z_t` of (delay-embedded) states in a reduced basis.

    Attributes
    ----------
    eigenvalues : [r]            of A (complex), by decreasing modulus
    modes : [D, r]               DMD modes (complex), in the order of `eigenvalues`
    operator : [r, r]            A in the reduced basis
    basis : [D, r]               the reduced basis (leading left singular vectors)
    n_delays : int
    interval : int
    """

    eigenvalues: np.ndarray
    modes: np.ndarray
    operator: np.ndarray
    basis: np.ndarray
    n_delays: int
    interval: int


def dmd(
    states: Tensor,
    *,
    rank: int | None = None,
    n_delays: int = 1,
    interval: int = 1,
    layout: Layout = "time-major",
) -> DMD:
    """Exact DMD of states `[T, D]` or `[T, B, D]` (pairs of successive steps pooled over
    trials, never across two trials), after a delay embedding when `n_delays > 1`.

    Example
    -------
    >>> a = torch.tensor([[0.9, -0.2], [0.2, 0.9]], dtype=torch.float64)
    >>> x = [torch.tensor([1.0, 0.0], dtype=torch.float64)]
    >>> for _ in range(20):
    ...     x.append(a @ x[-1])
    >>> result = dmd(torch.stack(x))
    >>> np.round(np.sort_complex(result.eigenvalues), 6).tolist()
    [(0.9-0.2j), (0.9+0.2j)]
    """
    x = _trials(states, "states", layout)
    if n_delays > 1:
        x = _delay_embed(x, n_delays, interval)
    before = x[:, :-1].reshape(-1, x.shape[-1]).T  # [D, M]
    after = x[:, 1:].reshape(-1, x.shape[-1]).T
    u, s, vh = torch.linalg.svd(before, full_matrices=False)
    # directions the states never take (a silent unit, a rank-deficient network) carry no
    # dynamics to fit, and dividing by their zero singular values would make the operator NaN
    nonzero = int((s > s[0] * 1e-12).sum())
    if nonzero == 0:
        raise ArgumentError("the states never change from zero: DMD has no dynamics to fit")
    keep = nonzero if rank is None else min(rank, nonzero)
    u, s, v = u[:, :keep], s[:keep], vh[:keep].T
    operator = u.T @ after @ v / s  # [r, r]
    eigenvalues, w = torch.linalg.eig(operator)
    modes = (after @ v / s).to(w.dtype) @ w
    order = torch.argsort(-eigenvalues.abs())
    return DMD(
        eigenvalues=eigenvalues[order].cpu().numpy(),
        modes=modes[:, order].cpu().numpy(),
        operator=operator.cpu().numpy(),
        basis=u.cpu().numpy(),
        n_delays=n_delays,
        interval=interval,
    )


@dataclass(frozen=True)
class GaussianHMM(SavableResult):
    """A hidden Markov model with Gaussian emissions.

    Attributes
    ----------
    initial : [S]              initial state probabilities
    transition : [S, S]        transition[i, j] = P(state j at t+1 | state i at t)
    means : [S, D]
    variances : [S, D]         each state's emission variances (the covariances' diagonals)
    log_likelihood : [iters]   total log-likelihood of the data after each EM iteration (of the
                               best start when there were several)
    covariances : [S, D, D] or None
                               full emission covariances; None for a diagonal model
    """

    initial: np.ndarray
    transition: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    log_likelihood: np.ndarray
    covariances: np.ndarray | None = None

    @property
    def n_states(self) -> int:
        return len(self.initial)


def _emission_log_prob(x: Tensor, means: Tensor, cov: Tensor) -> Tensor:
    """log N(x_t | mean_s, cov_s): `[B, T, D]` -> `[B, T, S]`; `cov` is `[S, D]` (diagonal)
    or `[S, D, D]` (full)."""
    diff = x[..., None, :] - means  # [B, T, S, D]
    if cov.dim() == 2:
        return -0.5 * ((diff**2 / cov).sum(-1) + torch.log(2 * math.pi * cov).sum(-1))
    chol = torch.linalg.cholesky(cov)  # [S, D, D]
    white = torch.linalg.solve_triangular(chol, diff[..., None], upper=False)[..., 0]
    log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # [S]
    return -0.5 * ((white**2).sum(-1) + log_det + x.shape[-1] * math.log(2 * math.pi))


def _forward_backward(
    log_b: Tensor, log_pi: Tensor, log_a: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Posteriors in log space. Returns (gamma [B, T, S], xi summed over t [B, S, S],
    log-likelihood [B])."""
    n_steps = log_b.shape[1]
    alpha = [log_pi + log_b[:, 0]]
    for t in range(1, n_steps):
        alpha.append(torch.logsumexp(alpha[-1][:, :, None] + log_a, dim=1) + log_b[:, t])
    beta = [torch.zeros_like(alpha[0])]
    for t in range(n_steps - 1, 0, -1):
        beta.append(torch.logsumexp(log_a + (log_b[:, t] + beta[-1])[:, None, :], dim=2))
    beta.reverse()
    log_alpha, log_beta = torch.stack(alpha, 1), torch.stack(beta, 1)  # [B, T, S]
    log_lik = torch.logsumexp(log_alpha[:, -1], dim=-1)
    gamma = torch.exp(log_alpha + log_beta - log_lik[:, None, None])
    # xi_t(i, j) = alpha_t(i) a_ij b_{t+1}(j) beta_{t+1}(j) / P(x)
    log_xi = (
        log_alpha[:, :-1, :, None]
        + log_a
        + (log_b[:, 1:] + log_beta[:, 1:])[:, :, None, :]
        - log_lik[:, None, None, None]
    )
    return gamma, torch.exp(log_xi).sum(1), log_lik


def _params(model: GaussianHMM) -> tuple[Tensor, ...]:
    cov = model.variances if model.covariances is None else model.covariances
    return tuple(
        torch.as_tensor(v, dtype=torch.float64)
        for v in (model.initial, model.transition, model.means, cov)
    )


def hmm_posteriors(
    model: GaussianHMM, x: Tensor, *, layout: Layout = "time-major"
) -> tuple[Tensor, Tensor]:
    """P(state at t | all of trial b) and each trial's log-likelihood.

    Parameters
    ----------
    model : GaussianHMM
    x : Tensor [T, D] or [T, B, D]

    Returns
    -------
    posteriors : Tensor [T, B, S]
    log_likelihood : Tensor [B]
    """
    trials = _trials(x, "x", layout)
    pi, a, means, cov = _params(model)
    gamma, _, log_lik = _forward_backward(
        _emission_log_prob(trials, means, cov), torch.log(pi), torch.log(a)
    )
    return _out(gamma, layout), log_lik


def viterbi(model: GaussianHMM, x: Tensor, *, layout: Layout = "time-major") -> Tensor:
    """The most probable state sequence of each trial of `x [T, D]` or `[T, B, D]`: `[T, B]`."""
    trials = _trials(x, "x", layout)
    pi, a, means, cov = _params(model)
    log_b, log_a = _emission_log_prob(trials, means, cov), torch.log(a)
    score = torch.log(pi) + log_b[:, 0]
    back = []
    for t in range(1, trials.shape[1]):
        candidates = score[:, :, None] + log_a  # [B, S(from), S(to)]
        score, best = candidates.max(dim=1)
        score = score + log_b[:, t]
        back.append(best)
    path = [score.argmax(-1)]
    for best in reversed(back):
        path.append(best.gather(1, path[-1][:, None])[:, 0])
    return _out(torch.stack(path[::-1], 1), layout)


def _fit_once(
    x: Tensor,
    n_states: int,
    g: torch.Generator,
    *,
    full: bool,
    n_iters: int,
    tol: float,
    min_variance: float,
) -> tuple[Tensor, Tensor, Tensor, Tensor, list[float]]:
    """EM from one start drawn with `g`, on trials `x [B, T, D]`: (pi, A, means, cov, history)."""
    n_obs, dim = x.shape[0] * x.shape[1], x.shape[-1]
    flat = x.reshape(-1, dim)
    # Farthest-point initialisation: random first mean, then each next the sample farthest
    # from those chosen (random starts often put two means in one cluster).
    sample = flat[torch.randperm(len(flat), generator=g)[:2000]]
    chosen = [sample[0]]
    for _ in range(1, n_states):
        dist = torch.cdist(sample, torch.stack(chosen)).min(1).values
        chosen.append(sample[int(dist.argmax())])
    means = torch.stack(chosen).clone()
    variances = flat.var(0).clamp(min=min_variance).expand(n_states, -1).clone()
    eye = torch.eye(dim, dtype=torch.float64, device=x.device)
    cov = torch.diag_embed(variances) if full else variances
    pi = torch.full((n_states,), 1.0 / n_states, dtype=torch.float64, device=x.device)
    a = torch.full(
        (n_states, n_states), 0.1 / max(n_states - 1, 1), dtype=torch.float64, device=x.device
    )
    a.fill_diagonal_(0.9 if n_states > 1 else 1.0)
    history: list[float] = []
    for _ in range(n_iters):
        gamma, xi, log_lik = _forward_backward(
            _emission_log_prob(x, means, cov), torch.log(pi), torch.log(a)
        )
        history.append(float(log_lik.sum()))
        pi = gamma[:, 0].mean(0)
        a = xi.sum(0) / xi.sum(0).sum(1, keepdim=True).clamp(min=1e-300)
        weights = gamma.reshape(-1, n_states)  # [BT, S]
        total = weights.sum(0).clamp(min=1e-300)
        means = (weights.T @ flat) / total[:, None]
        if full:
            diff = flat[:, None, :] - means  # [BT, S, D]
            cov = torch.einsum("ms,msd,mse->sde", weights, diff, diff) / total[:, None, None]
            # the floor keeps a state on a flat patch of data invertible, as in diagonal EM
            cov = (cov + cov.transpose(-1, -2)) / 2 + min_variance * eye
        else:
            cov = ((weights.T @ flat**2) / total[:, None] - means**2).clamp(min=min_variance)
        if len(history) > 1 and (history[-1] - history[-2]) < tol * n_obs:
            break
    return pi, a, means, cov, history


def fit_hmm(
    x: Tensor,
    n_states: int,
    *,
    n_iters: int = 100,
    tol: float = 1e-6,
    min_variance: float = 1e-6,
    n_restarts: int = 1,
    covariance: Literal["diagonal", "full"] = "diagonal",
    seed: int = 0,
    layout: Layout = "time-major",
) -> GaussianHMM:
    """Fit a Gaussian HMM to `x [T, D]` or `[T, B, D]` by EM, keeping the best of several starts.

    Each start puts the means at `n_states` data points spread apart (farthest-point sampling
    from a random first point), variances at the data's, transitions near-diagonal; EM stops
    when the log-likelihood improves by less than `tol` per observation. The starts are drawn
    one after the other from one generator seeded with `seed`, so the first is the fit of
    `n_restarts=1` and more restarts never give a lower final log-likelihood.

    Parameters
    ----------
    x : Tensor [T, D] or [T, B, D]
    n_states : int
        S, the number of hidden states.
    n_restarts : int
        Starts of EM; the fit of largest final log-likelihood is kept.
    covariance : {'diagonal', 'full'}
        Emission covariances: diagonal (D numbers per state) or full (`[D, D]` per state, for
        emissions whose dimensions are correlated within a state).
    min_variance : float
        Floor on the variances (added to the diagonal of full covariances).

    Returns
    -------
    GaussianHMM

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.cat([torch.full((50, 1), 1.0), torch.full((50, 1), 5.0)]).double()
    >>> x = x + 0.1 * torch.randn(100, 1, generator=g, dtype=torch.float64)
    >>> np.sort(fit_hmm(x, 2, n_restarts=3).means[:, 0]).round(1).tolist()
    [1.0, 5.0]
    """
    if covariance not in ("diagonal", "full"):
        raise ArgumentError(f"covariance must be 'diagonal' or 'full', got {covariance!r}")
    if n_restarts < 1:
        raise ArgumentError(f"n_restarts must be at least 1, got {n_restarts}")
    trials = _trials(x, "x", layout)
    g = torch.Generator().manual_seed(seed)
    best = None
    for _ in range(n_restarts):
        fit = _fit_once(
            trials,
            n_states,
            g,
            full=covariance == "full",
            n_iters=n_iters,
            tol=tol,
            min_variance=min_variance,
        )
        if best is None or fit[-1][-1] > best[-1][-1]:
            best = fit
    assert best is not None
    pi, a, means, cov, history = best
    full = cov.dim() == 3
    return GaussianHMM(
        initial=pi.cpu().numpy(),
        transition=a.cpu().numpy(),
        means=means.cpu().numpy(),
        variances=(torch.diagonal(cov, dim1=-2, dim2=-1) if full else cov).cpu().numpy(),
        log_likelihood=np.array(history),
        covariances=cov.cpu().numpy() if full else None,
    )


@dataclass(frozen=True)
class EpochStates(SavableResult):
    """Discrete states of a network's trajectories (a Gaussian HMM on their leading principal
    components) set against the trial's epochs.

    Attributes
    ----------
    paths : [T, B]            Viterbi state of each step; -1 after the trial's end
    epochs : list of str      the task's epochs, in order
    epoch_starts : [E, B]     first step of each epoch per trial
    epoch_ends : [E, B]       step after each epoch's last, per trial
    occupancy : [E, S]        share of each epoch's steps spent in each state (rows sum to 1)
    information : float       I(epoch; state) / H(epoch) over all in-trial steps: 1 when
                              the state tells the epoch, 0 when it tells nothing
    transition : [S, S]       the fitted HMM's transition matrix
    log_likelihood : [iters]  EM's log-likelihood per iteration (non-decreasing)
    n_components : int        principal components the HMM was fitted on
    trial_order : str         what the trials are sorted by ('' when unsorted)
    """

    paths: np.ndarray
    epochs: list[str]
    epoch_starts: np.ndarray
    epoch_ends: np.ndarray
    occupancy: np.ndarray
    information: float
    transition: np.ndarray
    log_likelihood: np.ndarray
    n_components: int
    trial_order: str = ""


def epoch_states(
    states: Tensor,
    epoch_bounds: dict[str, tuple[Tensor, Tensor]],
    *,
    n_states: int | None = None,
    n_components: int = 8,
    n_iters: int = 100,
    seed: int = 0,
    trial_order: str = "",
    layout: Layout = "time-major",
) -> EpochStates:
    """Fit a Gaussian HMM to the states `[T, B, N]` of trials whose epochs are
    `{name: (start [B], end [B])}` (steps, end exclusive, in trial order), decode each trial's
    state sequence and tabulate which states each epoch occupies.

    The HMM sees the `n_components` leading principal components of the in-trial states (an
    HMM with diagonal covariances in N raw units is slow and ill-conditioned) and has
    `n_states` states (default: one per epoch, the hypothesis that each epoch is a state).
    Only steps inside the trial (up to the last epoch's end) enter the fit and the table.
    `trial_order` only labels the result: say what the trials were sorted by, if anything.

    Example: states that sit at one point per epoch give a diagonal table.

    >>> g = torch.Generator().manual_seed(0)
    >>> centres = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    >>> x = centres.repeat_interleave(10, 0)[:, None].repeat(1, 4, 1)  # 3 epochs of 10 steps
    >>> x = x + 0.1 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    >>> bounds = {e: (torch.full((4,), 10 * i), torch.full((4,), 10 * i + 10))
    ...           for i, e in enumerate(["a", "b", "c"])}
    >>> result = epoch_states(x, bounds, n_components=2)
    >>> round(result.information, 3), result.occupancy.max(1).round(3).tolist()
    (1.0, [1.0, 1.0, 1.0])
    """
    x = _trials(states, "states", layout)  # [B, T, N]
    names = list(epoch_bounds)
    if not names:
        raise ArgumentError(
            "epoch_states needs at least one epoch; give `epoch_bounds` one or more"
        )
    starts = torch.stack([torch.as_tensor(epoch_bounds[e][0]) for e in names]).long().to(x.device)
    ends = torch.stack([torch.as_tensor(epoch_bounds[e][1]) for e in names]).long().to(x.device)
    if starts.shape[1] != x.shape[0]:
        raise ShapeError(f"epoch bounds are for {starts.shape[1]} trials, states for {x.shape[0]}")
    steps = torch.arange(x.shape[1], device=x.device)
    # epoch index of each (trial, step): -1 outside every epoch
    label = torch.full(x.shape[:2], -1, dtype=torch.long, device=x.device)
    for i in range(len(names)):
        inside = (steps[None] >= starts[i][:, None]) & (steps[None] < ends[i][:, None])
        label[inside] = i
    in_trial = label >= 0
    flat = x[in_trial]
    centred = flat - flat.mean(0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    k = min(n_components, vh.shape[0])
    z = (x - flat.mean(0)) @ vh[:k].T  # [B, T, k]
    # The HMM runs over whole padded trials; steps after the trial repeat its last state, so
    # they are fitted as one more dwell and dropped from every count below.
    last = ends.max(0).values.clamp(max=x.shape[1]) - 1  # [B]
    clamp = torch.minimum(steps[None], last[:, None])
    z = z.gather(1, clamp[..., None].expand(-1, -1, k))
    z = z.transpose(0, 1)  # [T, B, k]
    model = fit_hmm(z, n_states or len(names), n_iters=n_iters, seed=seed)
    paths = viterbi(model, z).T  # [B, T]
    paths[~in_trial & (steps[None] > last[:, None])] = -1
    s = model.n_states
    counts = torch.zeros(len(names), s, dtype=torch.float64, device=x.device)
    counts.index_put_(
        (label[in_trial], paths[in_trial]),
        torch.ones(int(in_trial.sum()), dtype=torch.float64, device=x.device),
        True,
    )
    occupancy = counts / counts.sum(1, keepdim=True).clamp(min=1)
    joint = counts / counts.sum()
    p_epoch, p_state = joint.sum(1), joint.sum(0)
    nz = joint > 0
    mutual = (joint[nz] * torch.log(joint[nz] / (p_epoch[:, None] * p_state[None])[nz])).sum()
    entropy = -(p_epoch[p_epoch > 0] * torch.log(p_epoch[p_epoch > 0])).sum()
    return EpochStates(
        paths=_out(paths, layout).cpu().numpy(),
        epochs=names,
        epoch_starts=starts.cpu().numpy(),
        epoch_ends=ends.cpu().numpy(),
        occupancy=occupancy.cpu().numpy(),
        information=float(mutual / entropy) if entropy > 0 else 0.0,
        transition=model.transition,
        log_likelihood=model.log_likelihood,
        n_components=k,
        trial_order=trial_order,
    )
