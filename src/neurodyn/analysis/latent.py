"""Hidden structure in a network's activity: a linear operator (DMD) and discrete states (HMM).

- `dmd`: dynamic mode decomposition of hidden states, optionally on a delay (Hankel)
  embedding; its eigenvalues approximate those of the dynamics' Koopman operator.
- `fit_hmm`: a Gaussian hidden Markov model fitted by EM, with a vectorised log-space
  forward-backward pass batched over trials; `hmm_posteriors` and `viterbi` decode states.

References: Schmid (2010) and Tu et al. (2014), DMD; Brunton et al. (2017), HAVOK delay
embeddings; Rabiner (1989), HMMs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ShapeError


def trials_first(x: Tensor, name: str = "states") -> Tensor:
    """`[T, D]` or `[B, T, D]` -> float64 `[B, T, D]` (one trial when there is no B axis)."""
    if x.dim() == 2:
        x = x[None]
    if x.dim() != 3:
        raise ShapeError(f"{name} must be [T, D] or [B, T, D] (trials first), got {tuple(x.shape)}")
    return x.detach().to(torch.float64)


def delay_embed(x: Tensor, n_delays: int, interval: int = 1) -> Tensor:
    """Stack `n_delays` copies of the states, each `interval` steps later: `[B, T, D]` ->
    `[B, T - (n_delays - 1) * interval, D * n_delays]` (a Hankel embedding)."""
    x = trials_first(x)
    span = (n_delays - 1) * interval
    if n_delays < 1 or span >= x.shape[1]:
        raise ShapeError(
            f"cannot take {n_delays} delays of {interval} steps from {x.shape[1]} steps"
        )
    return torch.cat(
        [x[:, d * interval : x.shape[1] - span + d * interval] for d in range(n_delays)], -1
    )


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


def dmd(states: Tensor, *, rank: int | None = None, n_delays: int = 1, interval: int = 1) -> DMD:
    """Exact DMD of states `[T, D]` or `[B, T, D]` (pairs of successive steps pooled over
    trials), after a delay embedding when `n_delays > 1`.

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
    x = delay_embed(states, n_delays, interval) if n_delays > 1 else trials_first(states)
    before = x[:, :-1].reshape(-1, x.shape[-1]).T  # [D, M]
    after = x[:, 1:].reshape(-1, x.shape[-1]).T
    u, s, vh = torch.linalg.svd(before, full_matrices=False)
    keep = int((s > s[0] * 1e-12).sum()) if rank is None else min(rank, len(s))
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
    variances : [S, D]         diagonal covariances
    log_likelihood : [iters]   total log-likelihood of the data after each EM iteration
    """

    initial: np.ndarray
    transition: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    log_likelihood: np.ndarray

    @property
    def n_states(self) -> int:
        return len(self.initial)


def _emission_log_prob(x: Tensor, means: Tensor, variances: Tensor) -> Tensor:
    """log N(x_t | mean_s, diag(var_s)): `[B, T, D]` -> `[B, T, S]`."""
    diff = x[..., None, :] - means  # [B, T, S, D]
    return -0.5 * ((diff**2 / variances).sum(-1) + torch.log(2 * math.pi * variances).sum(-1))


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
    return tuple(
        torch.as_tensor(v, dtype=torch.float64)
        for v in (model.initial, model.transition, model.means, model.variances)
    )


def hmm_posteriors(model: GaussianHMM, x: Tensor) -> tuple[Tensor, Tensor]:
    """P(state at t | all of trial b): `[B, T, S]`, and each trial's log-likelihood `[B]`."""
    x = trials_first(x, "x")
    pi, a, means, var = _params(model)
    gamma, _, log_lik = _forward_backward(
        _emission_log_prob(x, means, var), torch.log(pi), torch.log(a)
    )
    return gamma, log_lik


def viterbi(model: GaussianHMM, x: Tensor) -> Tensor:
    """The most probable state sequence of each trial: `[B, T]`."""
    x = trials_first(x, "x")
    pi, a, means, var = _params(model)
    log_b, log_a = _emission_log_prob(x, means, var), torch.log(a)
    score = torch.log(pi) + log_b[:, 0]
    back = []
    for t in range(1, x.shape[1]):
        candidates = score[:, :, None] + log_a  # [B, S(from), S(to)]
        score, best = candidates.max(dim=1)
        score = score + log_b[:, t]
        back.append(best)
    path = [score.argmax(-1)]
    for best in reversed(back):
        path.append(best.gather(1, path[-1][:, None])[:, 0])
    return torch.stack(path[::-1], 1)


def fit_hmm(
    x: Tensor,
    n_states: int,
    *,
    n_iters: int = 100,
    tol: float = 1e-6,
    min_variance: float = 1e-6,
    seed: int = 0,
) -> GaussianHMM:
    """Fit a Gaussian HMM (diagonal covariances) to `x [T, D]` or `[B, T, D]` by EM.

    Means start at `n_states` data points spread apart (farthest-point sampling from a random
    first point drawn with `seed`), variances at the data's, transitions near-diagonal. Stops when the log-likelihood improves by less than `tol`
    (relative to the number of observations).
    """
    x = trials_first(x, "x")
    n_obs = x.shape[0] * x.shape[1]
    flat = x.reshape(-1, x.shape[-1])
    g = torch.Generator().manual_seed(seed)
    # Farthest-point initialisation: random first mean, then each next the sample farthest
    # from those chosen (random starts often put two means in one cluster).
    sample = flat[torch.randperm(len(flat), generator=g)[:2000]]
    chosen = [sample[0]]
    for _ in range(1, n_states):
        dist = torch.cdist(sample, torch.stack(chosen)).min(1).values
        chosen.append(sample[int(dist.argmax())])
    means = torch.stack(chosen).clone()
    variances = flat.var(0).clamp(min=min_variance).expand(n_states, -1).clone()
    pi = torch.full((n_states,), 1.0 / n_states, dtype=torch.float64, device=x.device)
    a = torch.full(
        (n_states, n_states), 0.1 / max(n_states - 1, 1), dtype=torch.float64, device=x.device
    )
    a.fill_diagonal_(0.9 if n_states > 1 else 1.0)
    history: list[float] = []
    for _ in range(n_iters):
        gamma, xi, log_lik = _forward_backward(
            _emission_log_prob(x, means, variances), torch.log(pi), torch.log(a)
        )
        history.append(float(log_lik.sum()))
        pi = gamma[:, 0].mean(0)
        a = xi.sum(0) / xi.sum(0).sum(1, keepdim=True).clamp(min=1e-300)
        weights = gamma.reshape(-1, n_states)  # [BT, S]
        total = weights.sum(0).clamp(min=1e-300)
        means = (weights.T @ flat) / total[:, None]
        variances = ((weights.T @ flat**2) / total[:, None] - means**2).clamp(min=min_variance)
        if len(history) > 1 and (history[-1] - history[-2]) < tol * n_obs:
            break
    return GaussianHMM(
        initial=pi.cpu().numpy(),
        transition=a.cpu().numpy(),
        means=means.cpu().numpy(),
        variances=variances.cpu().numpy(),
        log_likelihood=np.array(history),
    )


@dataclass(frozen=True)
class EpochStates(SavableResult):
    """Discrete states of a network's trajectories (a Gaussian HMM on their leading principal
    components) set against the trial's epochs.

    Attributes
    ----------
    paths : [B, T]            Viterbi state of each step; -1 after the trial's end
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
) -> EpochStates:
    """Fit a Gaussian HMM to the states `[B, T, N]` of trials whose epochs are
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
    >>> x = centres.repeat_interleave(10, 0)[None].repeat(4, 1, 1)  # 3 epochs of 10 steps
    >>> x = x + 0.1 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    >>> bounds = {e: (torch.full((4,), 10 * i), torch.full((4,), 10 * i + 10))
    ...           for i, e in enumerate(["a", "b", "c"])}
    >>> result = epoch_states(x, bounds, n_components=2)
    >>> round(result.information, 3), result.occupancy.max(1).round(3).tolist()
    (1.0, [1.0, 1.0, 1.0])
    """
    x = trials_first(states)
    names = list(epoch_bounds)
    if not names:
        raise ValueError("epoch_states needs at least one epoch")
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
    model = fit_hmm(z, n_states or len(names), n_iters=n_iters, seed=seed)
    paths = viterbi(model, z)
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
        paths=paths.cpu().numpy(),
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
