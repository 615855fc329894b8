"""Recordings from NWB files (Neurodata Without Borders), through `pynwb` (the `nwb` extra).

Trials come from the file's trials table (`start_time`, `stop_time` and any column to align
to); each trial is a window of bins around its alignment time. Spikes come from the Units
table (each unit's `spike_times`, counted per bin); calcium or rate traces from a TimeSeries
(a `RoiResponseSeries` too) named by `series`, averaged per bin. The trials table's other
one-number-per-trial columns become the recording's conditions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurodyn.data.recording import Recording, from_arrays
from neurodyn.errors import ArgumentError, CorruptFile, install_hint


def _pynwb() -> Any:
    try:
        import pynwb
    except ImportError:
        raise ArgumentError(
            f"reading NWB files needs pynwb: {install_hint('nwb')} (or pip install pynwb)"
        ) from None
    return pynwb


def load_nwb(
    path: str | Path,
    *,
    bin_ms: float,
    align_to: str = "start_time",
    window_ms: tuple[float, float] | None = None,
    series: str | None = None,
) -> Recording:
    """Bin an NWB file's spikes (or a TimeSeries) into trials.

    Parameters
    ----------
    path : str or Path
        An NWB file with a trials table, and a Units table (or the TimeSeries `series`).
    bin_ms : float
        Bin width in ms.
    align_to : str
        The trials table's column each trial is aligned to (seconds), e.g. a go cue.
    window_ms : (before, after), optional
        The window kept around the alignment time, in ms; it must lie inside every trial
        (`start_time` to `stop_time`). Default: from the alignment time for the shortest
        trial's remaining duration.
    series : str, optional
        Read this TimeSeries / RoiResponseSeries (rates, fluorescence), averaged per bin,
        instead of the Units table's spikes.

    Returns
    -------
    Recording
        `activity [T, B, N_obs]`: counts from units, rates from a series; `conditions` from
        the trials table's other numeric columns.

    Raises
    ------
    CorruptFile
        A file pynwb cannot read.
    ArgumentError
        A file without a trials or Units table (or without the series), an unknown alignment
        column, a window reaching outside a trial (naming the trial), NaN values.
    """
    pynwb = _pynwb()
    path = Path(path)
    if not path.is_file():
        raise ArgumentError(f"{path} does not exist: give the path of an NWB file")
    try:
        io = pynwb.NWBHDF5IO(str(path), "r")
        nwbfile = io.read()
    except Exception as err:  # h5py and hdmf raise many kinds for a file that is not NWB
        raise CorruptFile(f"{path} cannot be read as NWB ({type(err).__name__}: {err})") from None
    try:
        return _read(nwbfile, path, bin_ms, align_to, window_ms, series)
    finally:
        io.close()


def _read(
    nwbfile: Any,
    path: Path,
    bin_ms: float,
    align_to: str,
    window_ms: tuple[float, float] | None,
    series: str | None,
) -> Recording:
    trials = nwbfile.trials
    if trials is None or len(trials) == 0:
        raise ArgumentError(
            f"{path} has no trials table (or it is empty): add one with nwbfile.add_trial"
        )
    columns = list(trials.colnames)
    if align_to not in ("start_time", *columns):
        raise ArgumentError(
            f"{path}: the trials table has no column {align_to!r} to align to; it has {columns}"
        )
    start = np.asarray(trials["start_time"][:], dtype=np.float64)
    stop = np.asarray(trials["stop_time"][:], dtype=np.float64)
    align = np.asarray(trials[align_to][:], dtype=np.float64)
    if window_ms is None:
        window_ms = (0.0, float(np.min(stop - align)) * 1000.0)
    before, after = (float(w) for w in window_ms)
    n_bins = round((before + after) / bin_ms)
    if n_bins < 1:
        raise ArgumentError(f"{path}: the window {window_ms} ms holds no bin of {bin_ms} ms")
    first = align - before / 1000.0  # [B] seconds
    last = first + n_bins * bin_ms / 1000.0
    tolerance = 1e-9
    for b in range(len(start)):
        if first[b] < start[b] - tolerance or last[b] > stop[b] + tolerance:
            raise ArgumentError(
                f"{path}: trial {b} ({start[b]:g} to {stop[b]:g} s) does not hold the window "
                f"{before:g} ms before to {after:g} ms after its {align_to} ({align[b]:g} s); "
                "give a window_ms inside every trial"
            )
    edges = first[:, None] + np.arange(n_bins + 1)[None] * bin_ms / 1000.0  # [B, T + 1]
    if series is None:
        activity, ids, kind = _units(nwbfile, path, edges), _unit_ids(nwbfile), "counts"
    else:
        activity, ids, kind = _series(nwbfile, path, series, edges), (), "rates"
    conditions = {}
    for name in columns:
        if name in ("start_time", "stop_time"):
            continue
        values = np.asarray(trials[name][:])
        if values.ndim == 1 and np.issubdtype(values.dtype, np.number):
            conditions[name] = values
    epochs = {
        f"{name}": np.round(
            (np.asarray(trials[name][:], dtype=np.float64) - first) * 1000.0 / bin_ms
        ).astype(np.int64)
        for name in conditions
        if name.endswith("_time")
    }
    conditions = {k: v for k, v in conditions.items() if k not in epochs}
    return from_arrays(
        activity,
        bin_ms=bin_ms,
        kind=kind,  # type: ignore[arg-type]
        conditions=conditions,
        epochs=epochs,
        neuron_ids=ids,
        source=str(path),
    )


def _units(nwbfile: Any, path: Path, edges: np.ndarray) -> np.ndarray:
    units = nwbfile.units
    if units is None or len(units) == 0 or "spike_times" not in units.colnames:
        raise ArgumentError(
            f"{path} has no Units table with spike_times: add units with nwbfile.add_unit, or "
            "read a TimeSeries with series=NAME"
        )
    n_trials, n_edges = edges.shape
    counts = np.zeros((n_edges - 1, n_trials, len(units)), dtype=np.float32)
    for n in range(len(units)):
        times = np.sort(np.asarray(units["spike_times"][n], dtype=np.float64))
        if not np.isfinite(times).all():
            raise ArgumentError(f"{path}: unit {n} of the Units table has NaN spike times")
        # counts per bin of every trial at once: spikes before each edge, differenced
        before_edge = np.searchsorted(times, edges, side="left")  # [B, T + 1]
        counts[:, :, n] = np.diff(before_edge, axis=1).T
    return counts


def _unit_ids(nwbfile: Any) -> tuple[str, ...]:
    return tuple(str(i) for i in nwbfile.units.id[:])


def _series(nwbfile: Any, path: Path, name: str, edges: np.ndarray) -> np.ndarray:
    pynwb = _pynwb()
    found = [
        obj
        for obj in nwbfile.objects.values()
        if isinstance(obj, pynwb.TimeSeries) and obj.name == name
    ]
    if not found:
        names = sorted(
            {o.name for o in nwbfile.objects.values() if isinstance(o, pynwb.TimeSeries)}
        )
        raise ArgumentError(f"{path} has no TimeSeries named {name!r}; it has {names}")
    ts = found[0]
    data = np.asarray(ts.data[:], dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if ts.timestamps is not None:
        times = np.asarray(ts.timestamps[:], dtype=np.float64)
    else:
        times = ts.starting_time + np.arange(data.shape[0]) / ts.rate
    n_trials, n_edges = edges.shape
    out = np.zeros((n_edges - 1, n_trials, data.shape[1]), dtype=np.float32)
    cumulative = np.concatenate([np.zeros((1, data.shape[1])), np.cumsum(data, axis=0)])
    index = np.searchsorted(times, edges, side="left")  # [B, T + 1]
    per_bin = np.diff(index, axis=1)  # samples in each bin
    if (per_bin == 0).any():
        b, t = (int(i[0]) for i in np.nonzero(per_bin == 0))
        raise ArgumentError(
            f"{path}: series {name!r} has no sample in bin {t} of trial {b}; choose a bin_ms "
            "of at least its sampling interval"
        )
    sums = cumulative[index[:, 1:]] - cumulative[index[:, :-1]]  # [B, T, N]
    out[:] = np.transpose(sums / per_bin[..., None], (1, 0, 2))
    return out
