"""Synthetic recordings from any network: its states seen through a few units (or random
projections) as Poisson spike counts or noisy rates, with the truth kept beside them.

A network neurodyn trained is a perfect synthetic "brain": its weights, states and fixed points
are known, so a model fitted to its recording can be scored on how much of the dynamics it
recovered (`neurodyn.analysis.recovery`), not only on how well it predicts the data.

The observation model (per neuron i, bin t, trial b; `z` the true states standardised over
bins and trials, `C` the readout):

- Poisson: `counts ~ Poisson(exp(C z + d))`, `d` setting each neuron's mean count to
  `mean_rate_hz * bin_ms / 1000` (the log link the latent models fit).
- Gaussian: `rates = C z + noise_std * eps`.

`C` picks `n_observed` random units (scaled by `gain`), or is a random Gaussian projection
(`projection=True`) of all of them.

Units that barely move are not neurons one can record (`silent_units`): a unit whose spread is
below `min_spread` times the median unit's is left out, with a warning naming it. A sparse unit
(a ReLU unit at 0 in most bins) has a small spread but rare large excursions, which standardised
by that spread would swing its log-rate by orders of magnitude (peak counts of 10^8 per bin);
each unit's spread is therefore floored at its largest excursion from its mean over `max_z`, so
no neuron's log-rate leaves `gain * max_z` of its mean.
"""

from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from neurodyn._io import atomic_write
from neurodyn.data.recording import Recording, from_arrays, load_npz
from neurodyn.errors import ArgumentError, ShapeError, UnitsLeftOut

Observation = Literal["poisson", "gaussian"]


@dataclass(frozen=True, repr=False)
class SyntheticRecording:
    """A recording made from a network, and the truth behind it.

    Attributes
    ----------
    recording : Recording
        `activity [T, B, N_obs]` (counts for Poisson, rates for Gaussian observations).
    states : Tensor [T, B, N]
        The network's true states.
    readout : Tensor [N_obs, N]
        `C`, from the (unstandardised) states to each neuron's log-rate (Poisson) or mean.
    offset : Tensor [N_obs]
        `d`: the mean of neuron i is `exp(readout[i] @ h + offset[i])` (Poisson) or
        `readout[i] @ h + offset[i]` (Gaussian).
    units : Tensor [N_obs]
        The observed units (indices into N); empty for random projections.
    observation : {"poisson", "gaussian"}
    network : the network the states came from (one member), for its weights and fixed points
    silent : Tensor [N_silent]
        The units left out as silent (`silent_units`): never observed, nor mixed into a
        projection.
    """

    recording: Recording
    states: Tensor
    readout: Tensor
    offset: Tensor
    units: Tensor
    observation: Observation
    network: Any = None
    silent: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))

    def save(self, path: str | Path) -> Path:
        """Write the recording with its truth (states, readout, offset, units) as one `.npz`:
        `load_npz` reads the recording alone, `load_synthetic` the whole of it given the
        network (which a file of arrays does not hold: give it from its run)."""
        arrays = self.recording._arrays()
        arrays.update(
            {
                "truth.states": self.states.numpy(),
                "truth.readout": self.readout.numpy(),
                "truth.offset": self.offset.numpy(),
                "truth.units": self.units.numpy(),
                "truth.silent": self.silent.numpy(),
                "truth.observation": np.array(self.observation),
            }
        )

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]

        return atomic_write(Path(path), write)

    def mean(self, states: Tensor | None = None) -> Tensor:
        """The true expected activity `[T, B, N_obs]` (of `states [T, B, N]`, default the true
        states): the firing rate per bin for Poisson, the noise-free rate for Gaussian."""
        h = self.states if states is None else states
        drive = h @ self.readout.T + self.offset
        return drive.exp() if self.observation == "poisson" else drive

    def __repr__(self) -> str:
        silent = f", {len(self.silent)} silent left out" if len(self.silent) else ""
        return (
            f"SyntheticRecording({self.observation} observations of {self.recording.n_neurons} of "
            f"{self.states.shape[-1]} units{silent}; {self.recording._summary()})"
        )

    def _repr_html_(self) -> str:
        return f"<b>SyntheticRecording</b>: {html.escape(repr(self)[19:-1])}"


def synthesize(
    network: Any,
    inputs: Tensor,
    *,
    n_observed: int | None = None,
    observation: Observation = "poisson",
    mean_rate_hz: float = 20.0,
    gain: float = 1.0,
    noise_std: float = 0.5,
    projection: bool = False,
    member: int = 0,
    network_noise: bool = False,
    conditions: dict[str, Tensor] | None = None,
    epochs: dict[str, Tensor] | None = None,
    min_spread: float = 0.01,
    max_z: float = 5.0,
    seed: int = 0,
    source: str = "a network",
) -> SyntheticRecording:
    """Observe a network's states on `inputs` through `n_observed` neurons.

    Parameters
    ----------
    network : an EnsembleNetwork (any cell) or anything called as `network(x, noise=...)`
        returning `.states [T, E, B, N]`, with `spec.dt_ms` (the bin width)
    inputs : Tensor [T, B, I]
        The task inputs of B trials (e.g. `task.sample(B, seed=0).x`).
    n_observed : int, optional
        Neurons recorded (default: every unit that is not silent).
    observation : {"poisson", "gaussian"}
    mean_rate_hz : float
        Poisson: each neuron's mean firing rate.
    gain : float
        How strongly the standardised state modulates each neuron's log-rate (or rate).
    noise_std : float
        Gaussian: the noise's standard deviation (the signal's is `gain`).
    projection : bool
        Random Gaussian projections of all units instead of a subset of units.
    member : int
        Which member of an ensemble.
    network_noise : bool
        Run the network with its own recurrent noise (default: noise-free states).
    conditions, epochs : dicts of per-trial tensors [B], optional
        Kept with the recording (e.g. a batch's `trial`).
    min_spread : float
        A unit whose standard deviation over bins and trials is below `min_spread` times the
        median unit's is silent: it is left out (`silent_units`) and a `UnitsLeftOut` warning
        names it. 0 keeps every unit that moves at all.
    max_z : float
        Each unit's spread is floored at its largest excursion from its mean over `max_z`,
        so no standardised state leaves `[-max_z, max_z]` and no neuron's log-rate (Poisson)
        swings more than `gain * max_z` from its mean; dense units (a Gaussian state passes 5
        SD once in about 2 million bins) keep their standard deviation.
    seed : int
        Draws the observed units, the projection and the observation noise.

    Returns
    -------
    SyntheticRecording

    Example
    -------
    >>> from neurodyn.models import CTRNN, NetworkSpec
    >>> net = CTRNN(NetworkSpec(n_inputs=1, n_hidden=16, n_outputs=1, seeds=(3,)))
    >>> synth = synthesize(net, torch.ones(30, 8, 1), n_observed=5, seed=0)
    >>> tuple(synth.recording.activity.shape), tuple(synth.states.shape)
    ((30, 8, 5), (30, 8, 16))

    Raises
    ------
    ArgumentError
        More neurons asked than units that are not silent, or none left.
    """
    if observation not in ("poisson", "gaussian"):
        raise ArgumentError(f"observation must be 'poisson' or 'gaussian', got {observation!r}")
    if inputs.dim() != 3:
        raise ShapeError(f"inputs must be [T, B, I], got {tuple(inputs.shape)}")
    for name, value in (
        ("mean_rate_hz", mean_rate_hz),
        ("gain", gain),
        ("noise_std", noise_std),
        ("min_spread", min_spread),
    ):
        if not 0 <= value < math.inf:
            raise ArgumentError(f"{name} must be a finite non-negative number, got {value}")
    if not 0 < max_z < math.inf:
        raise ArgumentError(f"max_z must be a finite positive number, got {max_z}")
    generator = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        traj = network(inputs, noise=network_noise)
        states = traj.states[:, member].detach().to("cpu", torch.float32)  # [T, B, N]
    n_units = states.shape[-1]
    silent = silent_units(states, min_spread=min_spread)
    audible = torch.ones(n_units, dtype=torch.bool)
    audible[silent] = False
    n_audible = int(audible.sum())
    left_out = _named(silent)
    if n_audible == 0:
        raise ArgumentError(
            f"every unit of {source} is silent on these inputs ({left_out}): record it on "
            "inputs that drive it"
        )
    n_obs = n_audible if n_observed is None else int(n_observed)
    most = 10 * n_units if projection else n_audible
    if not 1 <= n_obs <= most:
        why = f" ({left_out} silent: spread below {min_spread:g} of the median unit's)"
        raise ArgumentError(
            f"n_observed must lie in [1, {most}] for {source}: {n_audible} of its {n_units} "
            f"units are not silent{why if len(silent) else ''}, got {n_obs}; ask for fewer "
            "neurons or lower min_spread"
        )
    if len(silent):
        warnings.warn(
            UnitsLeftOut(
                f"{left_out} of {source} left out as silent (spread below {min_spread:g} of the "
                f"median unit's); {n_audible} of {n_units} units can be recorded"
            ),
            stacklevel=2,
        )
    flat = states.reshape(-1, n_units)
    mean = flat.mean(0)
    excursion = (flat - mean).abs().max(0).values
    std = torch.maximum(flat.std(0), excursion / max_z).clamp(min=1e-6)
    if projection:
        # unit-norm random directions of the standardised state: each neuron mixes all units
        directions = torch.randn(n_obs, n_units, generator=generator)
        directions[:, silent] = 0.0
        directions = directions / directions.norm(dim=1, keepdim=True)
        units = torch.zeros(0, dtype=torch.long)
    else:
        # the permutation of all units, silent ones skipped: a network without silent units is
        # recorded through the same units as it was before silent units were left out
        order = torch.randperm(n_units, generator=generator)
        units = order[audible[order]][:n_obs].sort().values
        directions = torch.zeros(n_obs, n_units)
        directions[torch.arange(n_obs), units] = 1.0
    readout = gain * directions / std  # C: applied to the raw states
    offset = -readout @ mean
    if observation == "poisson":
        offset = offset + math.log(max(mean_rate_hz * _bin_ms(network) / 1000.0, 1e-6))
        # the log-normal correction, so each neuron's mean count is the asked one
        offset = offset - 0.5 * (gain * directions.norm(dim=1)) ** 2
        rate = (states @ readout.T + offset).exp()
        activity = torch.poisson(rate, generator=generator)
        kind = "counts"
    else:
        clean = states @ readout.T + offset
        activity = clean + noise_std * torch.randn(clean.shape, generator=generator)
        kind = "rates"
    recording = from_arrays(
        activity,
        bin_ms=_bin_ms(network),
        kind=kind,  # type: ignore[arg-type]
        inputs=inputs.detach().to("cpu", torch.float32),
        conditions=_per_trial(conditions, inputs.shape[1]),
        epochs=_per_trial(epochs, inputs.shape[1]),
        source=f"synthetic from {source}",
    )
    member_network = network.member(member) if hasattr(network, "member") else network
    return SyntheticRecording(
        recording, states, readout, offset, units, observation, member_network, silent
    )


def load_synthetic(
    path: str | Path, network: Any, *, member: int = 0, atol: float = 1e-4
) -> SyntheticRecording:
    """A synthetic recording saved by `SyntheticRecording.save`, with the network that made it.

    The network is run noise-free on the recording's inputs and must give the saved true
    states: a network that did not make the recording is refused, not scored against.

    Parameters
    ----------
    path : str or Path
        The `.npz` file.
    network : the network the states came from (as for `synthesize`), e.g. its run's model
    member : int
        Which member of an ensemble.
    atol : float
        Largest difference allowed between its states and the saved ones.

    Returns
    -------
    SyntheticRecording
    """
    path = Path(path)
    recording = load_npz(path)
    with np.load(path, allow_pickle=False) as archive:
        truth = {k.split(".", 1)[1]: archive[k] for k in archive.files if k.startswith("truth.")}
    missing = {"states", "readout", "offset", "units", "observation"} - set(truth)
    if missing:
        raise ArgumentError(
            f"{path} holds no truth ({', '.join(sorted(missing))} missing): save synthetic "
            "recordings with SyntheticRecording.save to score fits against their network"
        )
    if recording.inputs is None:
        raise ArgumentError(f"{path} holds no inputs to run the network on")
    states = torch.as_tensor(truth["states"])
    with torch.no_grad():
        ran = network(recording.inputs, noise=False).states[:, member].to("cpu", torch.float32)
    if ran.shape != states.shape or not torch.allclose(ran, states, atol=atol):
        differ = (
            f"its states have shape {tuple(ran.shape)}, the recording's {tuple(states.shape)}"
            if ran.shape != states.shape
            else f"its states differ from the recording's by up to {float((ran - states).abs().max()):.3g}"
        )
        raise ArgumentError(
            f"the network given did not make {path} ({differ}): give the run (and member) "
            "the recording was synthesized from"
        )
    member_network = network.member(member) if hasattr(network, "member") else network
    return SyntheticRecording(
        recording,
        states,
        torch.as_tensor(truth["readout"]),
        torch.as_tensor(truth["offset"]),
        torch.as_tensor(truth["units"]),
        str(truth["observation"]),  # type: ignore[arg-type]
        member_network,
        # files written before silent units were left out have no such entry: none was
        torch.as_tensor(truth.get("silent", np.zeros(0, dtype=np.int64))),
    )


def silent_units(states: Tensor, *, min_spread: float = 0.01) -> Tensor:
    """The units of `states` that barely move: their standard deviation over bins and trials
    is below `min_spread` times the median unit's (or zero).

    Such a unit carries no signal a recording could see; standardised by its tiny spread, its
    rounding noise would drive a neuron as fully as a real unit's activity does.

    Parameters
    ----------
    states : Tensor [T, B, N]
    min_spread : float
        Relative to the median unit's standard deviation.

    Returns
    -------
    Tensor [N_silent] of int64
        The silent units' indices, ascending.

    Example
    -------
    >>> states = torch.randn(20, 4, 5, generator=torch.Generator().manual_seed(0))
    >>> states[:, :, 3] = 0.0
    >>> silent_units(states).tolist()
    [3]
    """
    if states.dim() != 3:
        raise ShapeError(f"states must be [T, B, N], got {tuple(states.shape)}")
    spread = states.reshape(-1, states.shape[-1]).double().std(0)
    spread = torch.nan_to_num(spread, nan=0.0)  # one bin of one trial has no spread
    threshold = min_spread * float(spread.median())
    return torch.nonzero((spread < threshold) | (spread == 0)).flatten()


def _named(units: Tensor, limit: int = 12) -> str:
    """'3 units (4, 9, 17)': how many and which, the list cut after `limit`."""
    listed = [str(int(u)) for u in units[:limit]]
    more = f", ... {len(units) - limit} more" if len(units) > limit else ""
    noun = "unit" if len(units) == 1 else "units"
    return f"{len(units)} {noun} ({', '.join(listed)}{more})"


def _bin_ms(network: Any) -> float:
    spec = getattr(network, "spec", None)
    return float(getattr(spec, "dt_ms", 1.0))


def _per_trial(values: dict[str, Tensor] | None, n_trials: int) -> dict[str, Tensor]:
    """The entries of a batch's `trial` that hold one number per trial (labels, epoch bins)."""
    return {
        k: v.detach().cpu()
        for k, v in (values or {}).items()
        if isinstance(v, Tensor) and v.dim() == 1 and v.shape[0] == n_trials
    }
