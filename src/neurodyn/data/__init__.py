"""Neural recordings in: spike counts or rates `[T, B, N_obs]` with their trials' facts.

- `Recording`: the data object (`from_arrays`, `from_spike_times`, `load_npz`, `load_nwb`;
  `load_recording` picks by file suffix).
- `split`: reproducible held-out trials and neurons.
- `synthesize`: a recording made from any network, with the truth behind it
  (`SyntheticRecording`, saved with its truth and read back by `load_synthetic`), so a fit
  can be scored on the dynamics it recovered.

This package sits just above the utilities: tasks (`{recording: PATH}`), the fits
(`neurodyn.fit`) and the analyses use it; it imports nothing else of neurodyn.
"""

from __future__ import annotations

from pathlib import Path

from neurodyn.data.nwb import load_nwb
from neurodyn.data.recording import (
    KINDS,
    Recording,
    bin_spike_times,
    from_arrays,
    from_spike_times,
    load_npz,
)
from neurodyn.data.splits import Split, split
from neurodyn.data.synthetic import (
    SyntheticRecording,
    load_synthetic,
    silent_units,
    synthesize,
)
from neurodyn.errors import ArgumentError


def load_recording(path: str | Path, **options: object) -> Recording:
    """The recording in `path`, by its suffix.

    Parameters
    ----------
    path : str or Path
        An `.npz` file (`load_npz`) or an NWB file (`load_nwb`).
    **options
        For NWB files: `bin_ms`, `align_to`, `window_ms`, `series`.

    Returns
    -------
    Recording
    """
    path = Path(path)
    if path.suffix == ".npz":
        if options:
            raise ArgumentError(
                f"{path}: an .npz recording takes no options (it has its bins), got {sorted(options)}"
            )
        return load_npz(path)
    if path.suffix == ".nwb":
        if "bin_ms" not in options:
            raise ArgumentError(f"{path}: an NWB file needs bin_ms (the bin width in ms)")
        return load_nwb(path, **options)  # type: ignore[arg-type]
    raise ArgumentError(
        f"{path}: a recording is an .npz or .nwb file, got {path.suffix or 'no suffix'!r}"
    )


__all__ = [
    "KINDS",
    "Recording",
    "Split",
    "SyntheticRecording",
    "bin_spike_times",
    "from_arrays",
    "from_spike_times",
    "load_npz",
    "load_nwb",
    "load_recording",
    "load_synthetic",
    "silent_units",
    "split",
    "synthesize",
]
