import json
import math
from pathlib import Path

import pytest
import torch

from neurodyn import tasks
from neurodyn.errors import ConfigError, TaskNotFound
from neurodyn.tasks import Multitask, population_vector, ring_bump
from neurodyn.tasks.ring import preferred_angles

ALL = tasks.names()


def perfect_outputs(task, batch):
    """Outputs that do the task exactly: targets (logits for classification)."""
    return batch.y * 20 if task.loss == "cross_entropy" else batch.y


@pytest.mark.parametrize("name", ALL)
def test_batch_shapes_and_trial_facts(name):
    task = tasks.get(name)
    batch = task.sample(16, seed=3)
    shape = (task.n_steps, 16)
    assert tuple(batch.x.shape) == (*shape, task.n_inputs)
    assert tuple(batch.y.shape) == (*shape, task.n_outputs)
    assert tuple(batch.mask.shape) == (*shape, task.n_outputs)
    for epoch in task.epochs:
        assert batch.trial[f"{epoch}_start"].shape == (16,)
    # epochs tile each trial without gaps, in order
    starts = [batch.trial[f"{e}_start"] for e in task.epochs]
    ends = [batch.trial[f"{e}_end"] for e in task.epochs]
    assert torch.all(starts[0] == 0)
    for end, nxt in zip(ends[:-1], starts[1:], strict=True):
        assert torch.equal(end, nxt)
    assert torch.equal(ends[-1], batch.trial["end"])
    assert int(batch.trial["end"].max()) <= task.n_steps


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_batch_other_seed_other_batch(name):
    task = tasks.get(name)
    a, b, c = task.sample(8, seed=5), task.sample(8, seed=5), task.sample(8, seed=6)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and torch.equal(a.mask, b.mask)
    assert not torch.equal(a.x, c.x)


@pytest.mark.parametrize("name", ALL)
def test_nothing_after_trial_end(name):
    task = tasks.get(name)
    batch = task.sample(32, seed=0)
    outside = ~batch.trial_mask()
    assert torch.all(batch.mask[outside] == 0)
    assert torch.all(batch.x[outside] == 0)


@pytest.mark.parametrize("name", ALL)
def test_perfect_outputs_score_one(name):
    task = tasks.get(name)
    batch = task.sample(64, seed=1)
    assert float(task.performance(perfect_outputs(task, batch), batch)) == 1.0


@pytest.mark.parametrize("name", ALL)
def test_performance_with_ensemble_axis(name):
    task = tasks.get(name)
    batch = task.sample(16, seed=2)
    good = perfect_outputs(task, batch)
    bad = torch.zeros_like(good)
    both = torch.stack([good, bad], dim=1)  # [T, E=2, B, O]
    perf = task.performance(both, batch)
    assert perf.shape == (2,)
    assert float(perf[0]) == 1.0 and float(perf[1]) < 1.0


def test_dlygo_mask_weights_cover_exactly_their_epochs():
    task = tasks.get("dlygo")
    batch = task.sample(64, seed=4)
    t = torch.arange(task.n_steps)[:, None]
    go = batch.trial["response_start"]
    grace_end = go + round(task.grace_ms / task.dt_ms)
    first = round(task.ignore_first_ms / task.dt_ms)
    response = (t >= grace_end) & (t < batch.trial["end"])
    before_go = (t >= first) & (t < go)
    expected = task.response_weight * response.float() + before_go.float()
    assert torch.equal(batch.mask[..., 1], expected)
    assert torch.equal(batch.mask[..., 0], task.fixation_weight * expected)
    # the heavily weighted part of the mask is exactly the response epoch after the grace period
    assert torch.equal(
        batch.mask[..., 1] == task.response_weight, response & batch.epoch_mask("response")
    )


def test_pdm_mask_weights_cover_exactly_their_epochs():
    task = tasks.get("pdm", decision_weight=3.0, stimulus_ms=(400.0, 600.0))
    batch = task.sample(64, seed=4)
    decision = batch.epoch_mask("decision")
    assert torch.equal(batch.mask[..., 0] == 3.0, decision)
    assert torch.equal(
        batch.mask[..., 0] == 1.0, batch.epoch_mask("fixation") | batch.epoch_mask("stimulus")
    )


def test_ring_bump_peaks_at_the_stimulus_angle_and_decodes_back():
    angles = torch.tensor([0.0, 0.3, 1.7, math.pi, 5.9])
    bump = ring_bump(angles, 32)
    pref = preferred_angles(32)
    nearest = torch.argmin(
        torch.abs(torch.remainder(angles[:, None] - pref + math.pi, 2 * math.pi) - math.pi), dim=1
    )
    assert torch.equal(bump.argmax(-1), nearest)
    assert torch.allclose(bump.max(-1).values[0], torch.tensor(0.8))  # angle 0 sits on a unit
    decoded = population_vector(bump)
    err = torch.remainder(decoded - angles + math.pi, 2 * math.pi) - math.pi
    assert torch.all(err.abs() < 1e-5)


def test_dlygo_stimulus_input_encodes_the_trial_angle():
    task = tasks.get("dlygo", input_noise=0.0)
    batch = task.sample(32, seed=9)
    stim = batch.epoch_mask("stimulus")
    # the ring input during the stimulus decodes to the trial's angle, and is silent otherwise
    t_mid = batch.trial["stimulus_start"]
    ring = batch.x[t_mid, torch.arange(32), 1:]
    err = (
        torch.remainder(population_vector(ring) - batch.trial["angle"] + math.pi, 2 * math.pi)
        - math.pi
    )
    assert torch.all(err.abs() < 1e-4)
    assert torch.all(batch.x[..., 1:][~stim] == 0)
    # fixation input is on exactly until the go cue
    assert torch.equal(batch.x[..., 0] == 1, batch.trial_mask() & ~batch.epoch_mask("response"))


def test_dlygo_performance_rejects_wrong_angle_and_broken_fixation():
    task = tasks.get("dlygo")
    batch = task.sample(64, seed=1)
    off = batch.y.clone()
    off[..., 1:] = torch.roll(off[..., 1:], shifts=4, dims=-1)  # 4 units = 0.25 pi > 0.2 pi
    assert float(task.performance(off, batch)) == 0.0
    near = batch.y.clone()
    near[..., 1:] = torch.roll(near[..., 1:], shifts=3, dims=-1)  # 3 units = 0.1875 pi < 0.2 pi
    assert float(task.performance(near, batch)) == 1.0
    broken = batch.y.clone()
    broken[5, :, 0] = 0.0  # fixation output drops at 100 ms, before the go cue
    assert float(task.performance(broken, batch)) == 0.0


def test_pdm_evidence_means_and_choice():
    task = tasks.get("pdm", evidence_noise=0.0, coherences=(0.2, 0.6))
    batch = task.sample(128, seed=0)
    stim = batch.epoch_mask("stimulus")
    c = batch.trial["signed_coherence"]
    t = int(batch.trial["stimulus_start"][0])
    assert torch.allclose(batch.x[t, :, 1], (1 + c) / 2)
    assert torch.allclose(batch.x[t, :, 2], (1 - c) / 2)
    assert torch.equal(batch.trial["choice"] == 0, c > 0)
    assert torch.allclose(torch.unique(batch.trial["coherence"]), torch.tensor([0.2, 0.6]))
    assert torch.all(batch.x[..., 1:][~stim] == 0)
    # target: fixate class until the decision epoch, then the chosen class
    target = batch.y.argmax(-1)
    decision = batch.epoch_mask("decision")
    assert torch.all(target[~decision & batch.trial_mask()] == 0)
    assert torch.equal(target[-1], batch.trial["choice"] + 1)


def test_pdm_noise_has_the_declared_standard_deviation():
    task = tasks.get("pdm", evidence_noise=0.3, coherences=(0.0,))
    batch = task.sample(512, seed=0)
    stim = batch.epoch_mask("stimulus")
    values = batch.x[..., 1][stim]
    assert abs(float(values.mean()) - 0.5) < 0.01
    assert abs(float(values.std()) - 0.3) < 0.01


def test_pdm_ideal_observer_matches_its_analytic_accuracy():
    # A perfect integrator sums evidence_1 - evidence_2 over the stimulus: mean n*c, standard
    # deviation sqrt(2 n) * noise, so P(correct | c) = Phi(c sqrt(n / 2) / noise). This is the
    # ceiling a trained network is measured against (0.974 for the default task).
    task = tasks.get("pdm", coherences=(0.05, 0.1))
    batch = task.sample(40_000, seed=1)
    total = (batch.x[..., 1] - batch.x[..., 2]).sum(0)
    correct = (total > 0) == (batch.trial["choice"] == 0)
    n = task.stimulus_ms / task.dt_ms
    for c in (0.05, 0.1):
        expected = 0.5 * (1 + math.erf(c * math.sqrt(n / 2) / task.evidence_noise / math.sqrt(2)))
        observed = float(correct[batch.trial["coherence"] == c].float().mean())
        assert abs(observed - expected) < 0.01, (c, observed, expected)


def test_flipflop_targets_hold_the_last_pulse():
    task = tasks.get("flipflop")
    batch = task.sample(8, seed=2)
    x, y = batch.x.numpy(), batch.y.numpy()
    for b in range(8):
        for bit in range(3):
            state = 0.0
            for t in range(task.n_steps):
                if x[t, b, bit] != 0:
                    state = x[t, b, bit]
                assert y[t, b, bit] == state
    assert (x[0] != 0).all()  # every bit is set at the first step


def test_flipflop_performance_counts_steps_with_every_bit_right():
    task = tasks.get("flipflop")
    batch = task.sample(4, seed=0)
    out = batch.y.clone()
    out[:10, :, 2] *= -1  # first 10 of 50 steps have one bit wrong
    assert float(task.performance(out, batch)) == pytest.approx(40 / 50)


def test_multitask_layout_rules_and_performance():
    mt = tasks.make(["pdm", "dlygo"], stream=1)
    assert isinstance(mt, Multitask)
    assert mt.n_inputs == 3 + 33 + 2 and mt.n_outputs == 3 + 33
    batch = mt.sample(10, seed=0)
    assert batch.x.shape == (100, 10, 38)
    k = batch.trial["task_index"]
    assert k.tolist() == [0] * 5 + [1] * 5
    # exactly one rule input is on inside each trial, and it names the trial's task
    rules = batch.x[..., 36:]
    in_trial = batch.trial_mask()
    assert torch.all(rules.sum(-1)[in_trial] == 1)
    assert torch.equal(rules[0].argmax(-1), k)
    # each task's channels are silent on the other task's trials
    assert torch.all(batch.x[:, :5, 3:36] == 0) and torch.all(batch.mask[:, 5:, :3] == 0)
    outputs = batch.y.clone()
    outputs[:, :5, :3] *= 20
    perf = mt.performance_by_task(outputs, batch)
    assert {k: float(v) for k, v in perf.items()} == {"pdm": 1.0, "dlygo": 1.0}


def test_multitask_stream_2_puts_a_tasks_input_noise_on_its_channels_and_the_rules():
    batch = tasks.make(["pdm", "dlygo"], stream=2).sample(400, seed=0)
    pdm, dlygo = slice(0, 200), slice(200, 400)
    in_trial = batch.trial_mask()
    rules = batch.x[..., 36:]
    # pdm draws its own trials (its evidence noise is its signal): clean rule inputs
    assert torch.all(rules[:, pdm].sum(-1)[in_trial[:, pdm]] == 1)
    # dlygo's trials: its input noise on its own 33 channels and on both rule inputs while
    # the trial lasts, none on pdm's channels nor after the trial's end
    sigma = tasks.get("dlygo").input_noise
    noise = rules[:, dlygo] - torch.tensor([0.0, 1.0])
    inside = noise[in_trial[:, dlygo]]
    assert inside.std().item() == pytest.approx(sigma, rel=0.02)
    assert inside.mean().abs().item() < 0.01 * sigma
    assert torch.all(batch.x[:, dlygo, :3] == 0)
    assert torch.all(batch.x[:, dlygo][~in_trial[:, dlygo]] == 0)
    quiet = batch.x[:, dlygo, 3:36][batch.parts["dlygo"].epoch_mask("delay")[: batch.n_steps]]
    assert quiet[:, 1:].std().item() == pytest.approx(sigma, rel=0.02)  # ring silent, noise only


def test_unknown_task_lists_nearest_names():
    with pytest.raises(TaskNotFound, match="dlygo"):
        tasks.get("dlygoo")


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="coherence"):
        tasks.get("pdm", coherence=(0.1,))


def test_duration_must_be_a_multiple_of_dt():
    with pytest.raises(ConfigError, match="multiple of dt_ms"):
        tasks.get("pdm", stimulus_ms=610.0)


def test_generator_device_is_used():
    task = tasks.get("pdm")
    g = torch.Generator(device="cpu").manual_seed(0)
    assert task.sample(4, generator=g).x.device.type == "cpu"


def test_dlygo_is_the_battery_dly_go_on_one_ring():
    # At Dly Go's timing and without noise, dlygo draws the same epochs and angles and makes the
    # same targets and mask; its one input ring carries what Dly Go shows on either of its two.
    timing = {
        "fixation_ms": (300.0, 500.0, 700.0),
        "stimulus_ms": (200.0, 400.0, 600.0),
        "delay_ms": (200.0, 400.0, 800.0, 1600.0),
        "response_ms": 500.0,
    }
    one = tasks.get("dlygo", input_noise=0.0, **timing).sample(32, seed=3)
    two = tasks.get("delaygo", input_noise=0.0).sample(32, seed=3)
    assert torch.equal(one.y, two.y) and torch.equal(one.mask, two.mask)
    assert torch.equal(one.trial["angle"], two.trial["angle"])
    assert torch.equal(one.trial["response_start"], two.trial["go1_start"])
    assert torch.equal(one.x[..., 0], two.x[..., 0])
    assert torch.equal(one.x[..., 1:], two.x[..., 1:33] + two.x[..., 33:])
    assert (one.x.shape[-1], two.x.shape[-1]) == (33, 65)


def test_pdm_gives_the_trials_it_gave_before_its_windows_were_made_at_once():
    # digests saved from the generator before it drew its windows in one comparison
    from tests.tasks.test_yang19_fidelity import digest

    saved = json.loads((Path(__file__).parent / "pdm_digests.json").read_text())
    made = {
        f"pdm/{n}/{seed}": digest(tasks.get("pdm").sample(n, seed=seed))
        for n, seed in ((1, 0), (7, 3), (64, 2), (100, 9))
    }
    made["pdm-dt10"] = digest(tasks.get("pdm", dt_ms=10.0).sample(16, seed=1))
    varied = tasks.get(
        "pdm",
        fixation_ms=(100.0, 200.0, 300.0),
        stimulus_ms=(200.0, 800.0),
        decision_weight=2.5,
        coherences=(0.0, 0.5),
        evidence_noise=0.1,
    )
    made["pdm-var"] = digest(varied.sample(33, seed=4))
    assert made == saved
