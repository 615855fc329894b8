from datetime import UTC, datetime

import numpy as np
import pytest
import torch

from neurodyn.data import bin_spike_times, load_nwb, load_recording
from neurodyn.errors import ArgumentError, CorruptFile

pynwb = pytest.importorskip("pynwb")


def _write(path, *, spikes=None, trials=None, series=None):
    nwbfile = pynwb.NWBFile(
        session_description="test",
        identifier="test",
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    if trials is not None:
        nwbfile.add_trial_column("go_time", "go cue (s)")
        nwbfile.add_trial_column("coherence", "signed coherence")
        for start, stop, go, coh in trials:
            nwbfile.add_trial(start_time=start, stop_time=stop, go_time=go, coherence=coh)
    for times in spikes or []:
        nwbfile.add_unit(spike_times=times)
    if series is not None:
        data, rate = series
        nwbfile.add_acquisition(
            pynwb.TimeSeries(name="dff", data=data, unit="a.u.", rate=rate, starting_time=0.0)
        )
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def test_units_round_trip_gives_the_binned_spikes(tmp_path):
    rng = np.random.default_rng(0)
    starts = np.array([0.0, 2.0, 4.0])
    # trial-relative spike times of 4 units over 1 s trials, then placed on the session's clock
    relative = [
        [np.sort(rng.uniform(0, 1.0, rng.integers(3, 20))) for _ in range(4)] for _ in starts
    ]
    session = [
        np.sort(np.concatenate([relative[b][n] + starts[b] for b in range(3)])) for n in range(4)
    ]
    trials = [(s, s + 1.0, s + 0.5, c) for s, c in zip(starts, [0.1, -0.2, 0.3], strict=True)]
    path = _write(tmp_path / "units.nwb", spikes=session, trials=trials)
    rec = load_nwb(path, bin_ms=50.0)
    expected = bin_spike_times(
        [[t * 1000.0 for t in trial] for trial in relative], duration_ms=1000.0, bin_ms=50.0
    )
    assert torch.equal(rec.activity, expected)
    assert rec.kind == "counts" and rec.bin_ms == 50.0
    assert rec.conditions["coherence"].tolist() == pytest.approx([0.1, -0.2, 0.3])
    assert rec.epochs["go_time"].tolist() == [10, 10, 10]  # 500 ms into the trial, 50 ms bins
    # aligned to the go cue, 200 ms either side
    aligned = load_recording(path, bin_ms=50.0, align_to="go_time", window_ms=(200.0, 200.0))
    assert torch.equal(aligned.activity, expected[6:14])


def test_series_round_trip_averages_samples_per_bin(tmp_path):
    data = np.arange(400 * 3, dtype=np.float64).reshape(400, 3)  # 100 Hz, 4 s
    trials = [(0.0, 1.0, 0.5, 0.0), (2.0, 3.0, 2.5, 1.0)]
    path = _write(tmp_path / "dff.nwb", trials=trials, series=(data, 100.0))
    rec = load_nwb(path, bin_ms=100.0, series="dff")
    expected = data.reshape(40, 10, 3).mean(1)  # 100 ms bins of 10 samples
    assert rec.kind == "rates"
    np.testing.assert_allclose(rec.activity[:, 0].numpy(), expected[:10], rtol=1e-6)
    np.testing.assert_allclose(rec.activity[:, 1].numpy(), expected[20:30], rtol=1e-6)


def test_bad_nwb_files_name_the_table_or_trial(tmp_path):
    no_trials = _write(tmp_path / "no_trials.nwb", spikes=[np.array([0.1])])
    with pytest.raises(ArgumentError, match="no trials table"):
        load_nwb(no_trials, bin_ms=10.0)
    no_units = _write(tmp_path / "no_units.nwb", trials=[(0.0, 1.0, 0.5, 0.0)])
    with pytest.raises(ArgumentError, match="no Units table"):
        load_nwb(no_units, bin_ms=10.0)
    with pytest.raises(ArgumentError, match="no TimeSeries named 'dff'"):
        load_nwb(no_units, bin_ms=10.0, series="dff")
    both = _write(
        tmp_path / "both.nwb",
        spikes=[np.array([0.1])],
        trials=[(0.0, 1.0, 0.5, 0.0), (1.0, 1.5, 1.2, 0.0)],
    )
    with pytest.raises(ArgumentError, match="trial 1"):
        load_nwb(both, bin_ms=10.0, window_ms=(0.0, 800.0))
    with pytest.raises(ArgumentError, match="no column 'cue'"):
        load_nwb(both, bin_ms=10.0, align_to="cue")
    junk = tmp_path / "junk.nwb"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(CorruptFile, match=r"junk\.nwb"):
        load_nwb(junk, bin_ms=10.0)
