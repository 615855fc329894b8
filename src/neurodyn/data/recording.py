"""Recordings: spike counts or rates of many trials, time-major, with what is known of them.

A `Recording` holds `activity [T, B, N_obs]` (T bins, B trials, N_obs neurons), its bin width,
the task inputs when they are known (`inputs [T, B, I]`), per-trial conditions (`[B]` each) and
epoch boundaries in bins (`[B]` each, as `Batch.trial` holds them: `stim_start`, `stim_end`).
It is made from arrays (`from_arrays`), from spike times (`from_spike_times`), from an `.npz`
file (`load_npz`, which `Recording.save` writes) or from an NWB file (`neurodyn.data.load_nwb`).

Every way in checks what it is given and names what is wrong: ragged trials, NaN or infinite
values (the trial and neuron), negative counts, spike times outside their trial.
"""

from __future__ import annotations

import html
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from neurodyn._io import atomic_write
from neurodyn.errors import ArgumentError, CorruptFile, ShapeError

Kind = Literal["counts", "rates"]
KINDS = ("counts", "rates")


@dataclass(frozen=True, repr=False)
class Recording:
    """Activity of N_obs neurons over B trials of T bins, and what is known of the trials.

    Attributes
    ----------
    activity : Tensor [T, B, N_obs]
        Spike counts per bin (`kind="counts"`) or rates / fluorescence (`kind="rates"`).
    bin_ms : float
        Width of one bin in ms.
    kind : {"counts", "rates"}
        Counts are fitted with a Poisson observation model, rates with a Gaussian one.
    inputs : Tensor [T, B, I] or None
        The task inputs of each bin, where known (a synthetic recording keeps the network's).
    conditions : dict of str to Tensor [B]
        Per-trial facts: stimulus values, choices, rule index.
    epochs : dict of str to Tensor [B]
        Epoch boundaries in bins (`stim_start`, `stim_end`, ...), as `Batch.trial` has them.
    neuron_ids : tuple of str
        A name per neuron (the NWB unit id, or its index).
    source : str
        Where it came from (a file, a run), for messages and reports.

    Example
    -------
    >>> rec = from_arrays(np.ones((20, 4, 3)), bin_ms=10.0)
    >>> rec.n_bins, rec.n_trials, rec.n_neurons
    (20, 4, 3)
    """

    activity: Tensor
    bin_ms: float
    kind: Kind = "counts"
    inputs: Tensor | None = None
    conditions: dict[str, Tensor] = field(default_factory=dict)
    epochs: dict[str, Tensor] = field(default_factory=dict)
    neuron_ids: tuple[str, ...] = ()
    source: str = "arrays"

    def __post_init__(self) -> None:
        where = self.source
        if self.kind not in KINDS:
            raise ArgumentError(f"{where}: kind must be one of {KINDS}, got {self.kind!r}")
        if not (isinstance(self.bin_ms, int | float) and 0 < self.bin_ms < math.inf):
            raise ArgumentError(f"{where}: bin_ms must be a positive number, got {self.bin_ms!r}")
        if self.activity.dim() != 3 or min(self.activity.shape) < 1:
            raise ShapeError(
                f"{where}: activity must be [T, B, N_obs] with every size at least 1, got "
                f"{tuple(self.activity.shape)}"
            )
        _check_finite(self.activity, "activity", where)
        if self.kind == "counts" and bool((self.activity < 0).any()):
            t, b, n = (int(i) for i in torch.nonzero(self.activity < 0)[0])
            raise ArgumentError(
                f"{where}: spike counts must be non-negative, trial {b} neuron {n} has "
                f"{float(self.activity[t, b, n])} at bin {t}; give kind='rates' for signed data"
            )
        n_bins, n_trials, n_neurons = self.activity.shape
        if self.inputs is not None:
            if self.inputs.dim() != 3 or tuple(self.inputs.shape[:2]) != (n_bins, n_trials):
                raise ShapeError(
                    f"{where}: inputs must be [T, B, I] = [{n_bins}, {n_trials}, I] like the "
                    f"activity, got {tuple(self.inputs.shape)}"
                )
            _check_finite(self.inputs, "inputs", where)
        for what, table in (("condition", self.conditions), ("epoch", self.epochs)):
            for name, values in table.items():
                if values.dim() != 1 or values.shape[0] != n_trials:
                    raise ShapeError(
                        f"{where}: {what} {name!r} must hold one value per trial ({n_trials}), "
                        f"got shape {tuple(values.shape)}"
                    )
        if self.neuron_ids and len(self.neuron_ids) != n_neurons:
            raise ShapeError(f"{where}: {len(self.neuron_ids)} neuron ids for {n_neurons} neurons")
        if not self.neuron_ids:
            object.__setattr__(self, "neuron_ids", tuple(str(i) for i in range(n_neurons)))

    # -- sizes ---------------------------------------------------------------------------------
    @property
    def n_bins(self) -> int:
        return int(self.activity.shape[0])

    @property
    def n_trials(self) -> int:
        return int(self.activity.shape[1])

    @property
    def n_neurons(self) -> int:
        return int(self.activity.shape[2])

    @property
    def n_inputs(self) -> int:
        """Input channels I (0 where the inputs are not known)."""
        return 0 if self.inputs is None else int(self.inputs.shape[2])

    # -- selections ----------------------------------------------------------------------------
    def select(
        self,
        *,
        trials: Sequence[int] | Tensor | None = None,
        neurons: Sequence[int] | Tensor | None = None,
    ) -> Recording:
        """The same recording restricted to some trials and / or neurons (in the given order).

        Parameters
        ----------
        trials : indices into the B trials, optional
        neurons : indices into the N_obs neurons, optional

        Returns
        -------
        Recording
            `activity [T, len(trials), len(neurons)]`.
        """
        t_idx = _indices(trials, self.n_trials, "trial", self.source)
        n_idx = _indices(neurons, self.n_neurons, "neuron", self.source)
        return replace(
            self,
            activity=self.activity[:, t_idx][:, :, n_idx],
            inputs=None if self.inputs is None else self.inputs[:, t_idx],
            conditions={k: v[t_idx] for k, v in self.conditions.items()},
            epochs={k: v[t_idx] for k, v in self.epochs.items()},
            neuron_ids=tuple(self.neuron_ids[i] for i in n_idx.tolist()),
        )

    # -- files ---------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the recording as an `.npz` file that `load_npz` reads back (no pickles)."""
        arrays = self._arrays()

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]

        return atomic_write(Path(path), write)

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {"activity": self.activity.numpy()}
        if self.inputs is not None:
            arrays["inputs"] = self.inputs.numpy()
        arrays.update({f"condition.{k}": v.numpy() for k, v in self.conditions.items()})
        arrays.update({f"epoch.{k}": v.numpy() for k, v in self.epochs.items()})
        meta = {"bin_ms": self.bin_ms, "kind": self.kind, "neuron_ids": list(self.neuron_ids)}
        arrays["meta"] = np.array(json.dumps(meta))
        return arrays

    # -- display -------------------------------------------------------------------------------
    def _summary(self) -> str:
        extra = f", inputs I={self.n_inputs}" if self.inputs is not None else ""
        conds = f", conditions {sorted(self.conditions)}" if self.conditions else ""
        return (
            f"{self.kind} of {self.n_neurons} neurons, {self.n_trials} trials x {self.n_bins} "
            f"bins of {self.bin_ms:g} ms{extra}{conds}"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._summary()}; from {self.source})"

    def _repr_html_(self) -> str:
        return f"<b>{type(self).__name__}</b>: {html.escape(self._summary())}"


def _indices(chosen: Sequence[int] | Tensor | None, size: int, what: str, where: str) -> Tensor:
    if chosen is None:
        return torch.arange(size)
    idx = torch.as_tensor(chosen, dtype=torch.long).reshape(-1)
    if idx.numel() == 0:
        raise ArgumentError(f"{where}: the selection leaves no {what}s; choose at least one")
    if bool((idx < 0).any() | (idx >= size).any()):
        raise ArgumentError(
            f"{where}: {what} indices must lie in [0, {size}), got {idx.min().item()} to "
            f"{idx.max().item()}"
        )
    return idx


def _check_finite(values: Tensor, what: str, where: str) -> None:
    bad = ~torch.isfinite(values)
    if bool(bad.any()):
        t, b, n = (int(i) for i in torch.nonzero(bad)[0])
        raise ArgumentError(
            f"{where}: {what} holds {int(bad.sum())} NaN or infinite values, the first in "
            f"trial {b} at bin {t} (column {n}); remove or fill them before loading"
        )


def _as_tensor(values: object, what: str, where: str) -> Tensor:
    """A float32 tensor of `values`; ragged nested sequences are refused naming the trial."""
    if isinstance(values, Tensor):
        return values.detach().to("cpu", torch.float32)
    if isinstance(values, list | tuple) and values and all(hasattr(v, "shape") for v in values):
        shapes = [tuple(np.shape(v)) for v in values]
        for b, shape in enumerate(shapes):
            if shape != shapes[0]:
                raise ShapeError(
                    f"{where}: ragged trials: {what} of trial {b} has shape {shape}, trial 0 "
                    f"{shapes[0]}; cut or pad the trials to one length first"
                )
        # a list of per-trial [T, N] arrays: trials on the second axis (time-major)
        return torch.as_tensor(
            np.stack([np.asarray(v) for v in values], axis=1), dtype=torch.float32
        )
    try:
        array = np.asarray(values, dtype=np.float32)
    except (ValueError, TypeError):
        raise ShapeError(
            f"{where}: {what} is ragged or not numeric; give an array [T, B, N] or a list of "
            "per-trial arrays [T, N] of one length"
        ) from None
    return torch.from_numpy(array.copy())


def from_arrays(
    activity: object,
    *,
    bin_ms: float,
    kind: Kind = "counts",
    inputs: object | None = None,
    conditions: Mapping[str, object] | None = None,
    epochs: Mapping[str, object] | None = None,
    neuron_ids: Sequence[str] = (),
    source: str = "arrays",
) -> Recording:
    """A `Recording` from arrays.

    Parameters
    ----------
    activity : array [T, B, N_obs], or a list of B per-trial arrays [T, N_obs]
        Spike counts or rates; per-trial arrays must all have the same length.
    bin_ms : float
        Bin width in ms.
    kind : {"counts", "rates"}
    inputs : array [T, B, I] or a list of per-trial [T, I], optional
    conditions, epochs : mappings of name to per-trial values [B], optional
    neuron_ids : names of the N_obs neurons, optional
    source : str
        Named in error messages.

    Returns
    -------
    Recording

    Example
    -------
    >>> rec = from_arrays([np.zeros((5, 2)), np.ones((5, 2))], bin_ms=20.0)
    >>> tuple(rec.activity.shape)
    (5, 2, 2)
    """
    return Recording(
        activity=_as_tensor(activity, "activity", source),
        bin_ms=float(bin_ms),
        kind=kind,
        inputs=None if inputs is None else _as_tensor(inputs, "inputs", source),
        conditions={k: torch.as_tensor(np.asarray(v)) for k, v in (conditions or {}).items()},
        epochs={k: torch.as_tensor(np.asarray(v)) for k, v in (epochs or {}).items()},
        neuron_ids=tuple(str(i) for i in neuron_ids),
        source=source,
    )


def bin_spike_times(
    spike_times_ms: Sequence[Sequence[object]],
    *,
    duration_ms: float,
    bin_ms: float,
    source: str = "spike times",
) -> Tensor:
    """Counts per bin from spike times measured from each trial's start.

    Parameters
    ----------
    spike_times_ms : B trials, each a list of N_obs arrays of spike times in ms
    duration_ms : float
        Every trial's length; T = duration_ms / bin_ms bins (rounded down).
    bin_ms : float

    Returns
    -------
    Tensor [T, B, N_obs]
        Spike counts.

    Raises
    ------
    ArgumentError
        A spike time outside [0, duration_ms) (naming the trial and neuron), or trials with
        different numbers of neurons.
    """
    n_bins = int(duration_ms // bin_ms)
    if n_bins < 1:
        raise ArgumentError(f"{source}: duration_ms={duration_ms} holds no bin of {bin_ms} ms")
    if not spike_times_ms:
        raise ArgumentError(f"{source}: no trials given")
    n_neurons = len(spike_times_ms[0])
    edges = np.arange(n_bins + 1) * bin_ms
    counts = np.zeros((n_bins, len(spike_times_ms), n_neurons), dtype=np.float32)
    for b, trial in enumerate(spike_times_ms):
        if len(trial) != n_neurons:
            raise ShapeError(
                f"{source}: trial {b} has {len(trial)} neurons, trial 0 has {n_neurons}"
            )
        for n, times in enumerate(trial):
            t = np.asarray(times, dtype=np.float64).reshape(-1)
            outside = (t < 0) | (t >= duration_ms) | ~np.isfinite(t)
            if outside.any():
                raise ArgumentError(
                    f"{source}: trial {b} neuron {n} has a spike at {t[outside][0]:g} ms, outside "
                    f"the trial [0, {duration_ms:g}) ms; give times from each trial's start"
                )
            counts[:, b, n] = np.histogram(t, bins=edges)[0]
    return torch.from_numpy(counts)


def from_spike_times(
    spike_times_ms: Sequence[Sequence[object]],
    *,
    duration_ms: float,
    bin_ms: float,
    source: str = "spike times",
    **known: object,
) -> Recording:
    """A counts `Recording` from spike times per trial and neuron (ms from the trial's start).

    Parameters
    ----------
    spike_times_ms, duration_ms, bin_ms, source
        As `bin_spike_times` takes them.
    **known
        `inputs`, `conditions`, `epochs` and `neuron_ids`, as `from_arrays` takes them.

    Returns
    -------
    Recording
        Counts `[T, B, N_obs]`.

    Example
    -------
    >>> rec = from_spike_times([[[1.0, 12.0], []]], duration_ms=20.0, bin_ms=10.0)
    >>> rec.activity[:, 0, 0].tolist()
    [1.0, 1.0]
    """
    counts = bin_spike_times(spike_times_ms, duration_ms=duration_ms, bin_ms=bin_ms, source=source)
    return from_arrays(counts, bin_ms=bin_ms, kind="counts", source=source, **known)  # type: ignore[arg-type]


def load_npz(path: str | Path) -> Recording:
    """The recording in an `.npz` file: `Recording.save`'s, or a plain file with `activity`
    `[T, B, N_obs]` and `bin_ms` (optional: `inputs`, `kind`, `condition.NAME`, `epoch.NAME`).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Recording

    Raises
    ------
    CorruptFile
        A file that is not an npz archive, or one without `activity` or `bin_ms`.
    """
    path = Path(path)
    if not path.is_file():
        raise ArgumentError(f"{path} does not exist: give the path of a recording (.npz, .nwb)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        raise CorruptFile(
            f"{path} is not a readable .npz archive (of arrays, no pickles); save recordings "
            "with Recording.save"
        ) from None
    meta: dict[str, object] = {}
    if "meta" in arrays:
        try:
            meta = json.loads(str(arrays.pop("meta")))
        except json.JSONDecodeError:
            raise CorruptFile(f"{path}: its 'meta' entry is not JSON") from None
    for key in ("bin_ms", "kind"):
        if key in arrays:
            meta[key] = arrays.pop(key).item()
    if "activity" not in arrays or "bin_ms" not in meta:
        raise CorruptFile(
            f"{path} holds no 'activity' [T, B, N_obs] array or no 'bin_ms': it has "
            f"{sorted(arrays)}; save recordings with Recording.save"
        )
    return from_arrays(
        arrays["activity"],
        bin_ms=float(meta["bin_ms"]),  # type: ignore[arg-type]
        kind=str(meta.get("kind", "counts")),  # type: ignore[arg-type]
        inputs=arrays.get("inputs"),
        conditions={k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("condition.")},
        epochs={k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith("epoch.")},
        neuron_ids=tuple(meta.get("neuron_ids", ())),  # type: ignore[arg-type]
        source=str(path),
    )
