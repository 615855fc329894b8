import itertools
import math

import pytest
import torch

from neurodyn import tasks
from neurodyn.errors import ConfigError
from neurodyn.train import task_loss


def test_gated_trains_only_the_active_output_and_orthogonal_trains_the_others_to_zero():
    for setting in ("gated", "orthogonal"):
        task = tasks.get("attractors", components=("fixed", "line"), setting=setting)
        batch = task.sample(64, seed=0)
        active = batch.trial["active"]
        assert set(active.tolist()) == {0, 1}
        # only the active component's channel pulses
        for k in (0, 1):
            quiet = batch.x[:, active != k, k]
            assert torch.all(quiet == 0)
        # hand-made outputs: perfect on the active output, garbage on the inactive one
        outputs = batch.y.clone()
        inactive = torch.stack([active != 0, active != 1], -1)  # [B, 2]
        outputs[:, inactive] = 5.0
        loss = task_loss(task, outputs[:, None], batch)[0]
        if setting == "gated":
            assert float(loss) == 0.0
            assert torch.all(batch.mask[:, inactive] == 0)
        else:
            assert float(loss) > 1.0
            assert torch.all(batch.mask[:, inactive] == 1)
            assert torch.all(batch.y[:, inactive] == 0)


def test_targets_hold_the_last_pulse_and_are_masked_during_pulses():
    task = tasks.get("attractors", components=("fixed", "line", "plane"), setting="parallel")
    batch = task.sample(32, seed=1)
    x, y, mask = batch.x, batch.y, batch.mask
    assert x.shape == (100, 32, 4) and torch.all(batch.trial["active"] == -1)
    assert torch.all(batch.trial["pulse_on"][:5])  # every channel pulses at step 0 in parallel
    pulsing = batch.trial["pulse_on"]
    assert torch.all(mask[pulsing] == 0) and torch.all(mask[~pulsing] == 1)
    # outside pulses, the target equals the value of the last pulse on that channel
    last = torch.zeros(32, 4)
    for t in range(100):
        last = torch.where(pulsing[t], x[t], last)
        assert torch.allclose(y[t][~pulsing[t]], last[~pulsing[t]])
    assert set(torch.unique(x[..., 0]).tolist()) <= {-1.0, 0.0, 1.0}
    assert x[..., 1].abs().max() <= 1 and len(torch.unique(x[..., 1])) > 10


def test_pulse_gaps_are_in_range():
    task = tasks.get("attractors", components=("fixed",), setting="gated")
    onsets = task.sample(64, seed=2).trial["pulse_on"][..., 0]
    starts = (onsets[1:] & ~onsets[:-1]).nonzero()
    for b in range(64):
        steps = [0, *starts[starts[:, 1] == b, 0].add(1).tolist()]
        gaps = [s2 - s1 - 5 for s1, s2 in itertools.pairwise(steps)]
        assert all(10 <= g <= 40 for g in gaps), gaps


def test_cycle_target_oscillates_with_period_20_around_the_cue():
    task = tasks.get(
        "attractors", components=("cycle",), setting="gated", min_gap_steps=95, max_gap_steps=95
    )
    batch = task.sample(8, seed=3)
    v = batch.x[0, :, 0]
    t = torch.arange(5, 100, dtype=torch.float32)
    expected = v[None] + 0.5 * torch.sin(2 * math.pi * (t[:, None] - 5) / 20)
    assert torch.allclose(batch.y[5:, :, 0], expected, atol=1e-5)


def test_probe_trials_and_bad_parameters():
    task = tasks.get("attractors", components=("fixed", "plane"))
    x = task.probe(1, torch.tensor([[0.5, -0.5], [1.0, 0.0]]))
    assert x.shape == (60, 2, 3) and torch.all(x[:5, 0, 1:] == torch.tensor([0.5, -0.5]))
    assert torch.all(x[5:] == 0) and torch.all(x[..., 0] == 0)
    with pytest.raises(ConfigError, match="components"):
        tasks.get("attractors", components=("spiral",))
    with pytest.raises(ConfigError, match="setting"):
        tasks.get("attractors", setting="mixed")
