"""The Yang et al. 2019 battery: each task's trial structure against its definition."""

import math

import numpy as np
import pytest
import torch

from neurodyn import tasks
from neurodyn.errors import ConfigError
from neurodyn.tasks import population_vector
from neurodyn.tasks.ring import circular_distance
from neurodyn.tasks.yang19 import BATTERY, battery

NAMES = [cls.name for cls in BATTERY]
DT = 20


def sample(name, n=64, seed=0):
    task = tasks.get(name, input_noise=0.0)
    return task, task.sample(n, seed=seed)


def test_the_battery_is_the_papers_network_layout():
    net = tasks.make("yang19")
    assert (net.n_inputs, net.n_outputs) == (85, 33)
    assert [t.paper_name for t in net.tasks][:6] == [
        "Go",
        "RT Go",
        "Dly Go",
        "Anti",
        "RT Anti",
        "Dly Anti",
    ]
    counts = net.counts(64)
    assert sum(counts) == 64 and min(counts) >= 1
    # the paper's weights: Ctx DM 1 and 2 five times as often (64 * 5/28 = 11.4, 64/28 = 2.3)
    assert [counts[NAMES.index(t)] for t in ("contextdm1", "contextdm2")] == [12, 12]
    assert set(counts) == {2, 3, 12}
    batch = net.sample(64, seed=1)
    rules = batch.x[:, :, 65:]
    # one rule input per trial, the trial's own, on while the trial lasts (plus input noise)
    in_trial = batch.trial_mask()
    mean = (rules * in_trial[..., None]).sum(0) / in_trial.sum(0)[:, None]
    one_hot = torch.nn.functional.one_hot(batch.trial["task_index"], 20).float()
    assert torch.equal(mean.round(), one_hot)
    sub = tasks.make({"battery": "yang19", "tasks": ["fdgo", "fdanti"], "weights": {"fdgo": 3}})
    assert (sub.n_inputs, sub.counts(8)) == (67, [6, 2])
    with pytest.raises(ConfigError, match="not tasks of the Yang"):
        battery(["fdgo", "nope"])


@pytest.mark.parametrize("name", NAMES)
def test_mask_follows_the_public_codes_cost_mask(name):
    _, b = sample(name)
    go, end = b.trial["go"], b.trial["end"]
    t = torch.arange(b.n_steps)[:, None]
    expected = torch.zeros(b.n_steps, 64)
    expected[(t >= 5) & (t < go)] = 1.0  # 100 ms never checked, then 1 until the go cue
    expected[(t >= go + 5) & (t < end)] = 5.0  # 100 ms grace period, then 5
    torch.testing.assert_close(b.mask[:, :, 1], expected)
    torch.testing.assert_close(b.mask[:, :, 0], 2 * expected)  # fixation counts double
    assert torch.all(b.mask[:, :, 1:] == b.mask[:, :, 1:2])


@pytest.mark.parametrize("name", NAMES)
def test_epochs_are_contiguous_and_drawn_from_the_papers_durations(name):
    task, b = sample(name, n=512)
    start = torch.zeros(512, dtype=torch.long)
    for epoch, choices in task.epoch_durations_ms().items():
        assert torch.equal(b.trial[f"{epoch}_start"], start)
        length = (b.trial[f"{epoch}_end"] - start) * DT
        allowed = torch.tensor(choices if isinstance(choices, tuple) else (choices,))
        assert torch.isin(length.float(), allowed.float()).all()
        start = b.trial[f"{epoch}_end"]
    assert torch.equal(b.trial["go"], b.trial["go1_start"]) and torch.equal(start, b.trial["end"])


@pytest.mark.parametrize("name", NAMES)
def test_targets_fixation_and_response_angle(name):
    _, b = sample(name, n=256)
    go, end, respond = b.trial["go"], b.trial["end"], b.trial["respond"]
    rows = torch.arange(256)
    last = b.y[end - 1, rows]
    # fixation target 0.8 up to the go cue; after it only where the trial asks to hold
    assert torch.all(b.y[go - 1, rows, 0] == 0.8)
    torch.testing.assert_close(last[:, 0], torch.where(respond, 0.05, 0.8))
    decoded = population_vector(last[respond, 1:] - 0.05)
    assert torch.all(circular_distance(decoded, b.trial["angle"][respond]) < 1e-4)
    assert torch.all(last[~respond, 1:] == 0.05)
    # the fixation input: off at the go cue, or on to the end (RT and matching tasks)
    fix_in = b.x[:, rows, 0]
    stays = name.startswith("react") or (name.startswith("dm") and name[2] in "sc")
    off = end if stays else go
    t = torch.arange(b.n_steps)[:, None]
    assert torch.equal(fix_in > 0.5, t < off[None])


def _stimulus_angle(x, ring):
    """Decode the stimulus on `ring` (0 or 1) at each step: `[T, B]` and its strength."""
    activity = x[:, :, 1 + 32 * ring : 33 + 32 * ring]
    return population_vector(activity), activity.amax(-1)


@pytest.mark.parametrize("name", ["fdgo", "fdanti", "reactgo", "reactanti", "delaygo", "delayanti"])
def test_go_and_anti_respond_at_or_opposite_the_stimulus(name):
    _, b = sample(name, n=128)
    shift = math.pi if "anti" in name else 0.0
    stim = b.trial["stim_angle"]
    torch.testing.assert_close(b.trial["angle"], torch.remainder(stim + shift, 2 * math.pi))
    ring = b.trial["modality"]
    t0 = b.trial["stim1_start"] if "stim1_start" in b.trial else b.trial["go"]
    rows = torch.arange(128)
    shown = b.x[t0, rows, 1:].reshape(128, 2, 32)
    assert torch.all(shown[rows, 1 - ring].abs().max(-1).values == 0)  # the other ring is silent
    decoded = population_vector(shown[rows, ring])
    assert torch.all(circular_distance(decoded, stim) < 1e-4)
    if name.startswith("delay"):  # stimulus off during the delay
        assert torch.all(b.x[b.trial["delay1_start"], rows, 1:] == 0)


@pytest.mark.parametrize(
    "name",
    [
        "dm1",
        "dm2",
        "contextdm1",
        "contextdm2",
        "multidm",
        "delaydm1",
        "contextdelaydm2",
        "multidelaydm",
    ],
)
def test_decision_tasks_answer_the_stronger_stimulus_of_the_attended_evidence(name):
    _, b = sample(name, n=256)
    s1, s2 = b.trial["stim1_strength"], b.trial["stim2_strength"]
    expected = torch.where(s1 > s2, b.trial["stim1_angle"], b.trial["stim2_angle"])
    torch.testing.assert_close(b.trial["angle"], expected)
    r1 = (b.trial["stim1_strength_ring1"], b.trial["stim1_strength_ring2"])
    if name.startswith("multi"):
        torch.testing.assert_close(r1[0] + r1[1], 2 * s1)
    elif "context" in name:
        attended = 1 if name.endswith("2") else 0
        torch.testing.assert_close(r1[attended], s1)
        assert torch.all(r1[1 - attended] > 0)  # the ignored ring shows its own stimuli
    else:
        assert torch.all(r1[0 if name.endswith("2") else 1] == 0)  # the other ring is silent
    coherence = ((s1 - s2).abs() / 2 * 1000).round().unique() / 1000
    paper = (0.08, 0.16, 0.32) if "delay" in name else (0.01, 0.02, 0.04, 0.08)
    if not name.startswith("multi"):
        assert torch.allclose(coherence.sort().values, torch.tensor(paper), atol=1e-5)
    apart = circular_distance(b.trial["stim1_angle"], b.trial["stim2_angle"])
    assert apart.min() >= math.pi / 2 - 1e-4


@pytest.mark.parametrize("name", ["dmsgo", "dmsnogo", "dmcgo", "dmcnogo"])
def test_matching_tasks_respond_by_match(name):
    _, b = sample(name, n=512)
    a1, a2 = b.trial["stim1_angle"], b.trial["stim2_angle"]
    if name.startswith("dmc"):
        match = (a1 < math.pi) == (a2 < math.pi)
    else:
        match = circular_distance(a1, a2) < 1e-5
        assert circular_distance(a1, a2)[~match].min() >= math.pi / 9 - 1e-4
    assert torch.equal(match, b.trial["match"])
    assert torch.equal(b.trial["respond"], ~match if "nogo" in name else match)
    assert 0.4 < match.float().mean() < 0.6


@pytest.mark.parametrize("name", ["fdgo", "contextdelaydm1", "dmsnogo"])
def test_performance_criterion_on_hand_made_outputs(name):
    task, b = sample(name, n=128)
    right = b.y.clone()
    assert float(task.performance(right, b)) == 1.0
    rows = torch.arange(128)
    respond = b.trial["respond"]
    # the response ring turned by 0.3 pi at every step: wrong on every trial that responds
    turned = right.clone()
    turned[..., 1:] = torch.roll(right[..., 1:], shifts=5, dims=-1)  # 5/32 of a turn = 0.31 pi
    expected = (~respond).float().mean()
    assert float(task.performance(turned, b)) == pytest.approx(float(expected))
    # fixation released for one step before the go cue: wrong on every trial
    broken = right.clone()
    broken[b.trial["go"] - 2, rows, 0] = 0.2
    assert float(task.performance(broken, b)) == 0.0
    # a turn of less than 0.2 pi still counts
    near = right.clone()
    near[..., 1:] = torch.roll(right[..., 1:], shifts=3, dims=-1)  # 0.19 pi
    assert float(task.performance(near, b)) == 1.0


def test_batch_interleave_draws_one_task_per_step_with_the_papers_weights():
    from neurodyn.tasks import make
    from neurodyn.train.trainer import member_generators, sample_ensemble

    battery = make({"battery": "yang19", "interleave": "batch"})
    names = battery.task_names
    drawn = [battery.for_step(step).weights.index(1.0) for step in range(20000)]
    share = np.bincount(drawn, minlength=20) / len(drawn)
    # Ctx DM 1 and 2 five times as often: 5/28 each, the 18 others 1/28
    expected = np.array([5 / 28 if n in ("contextdm1", "contextdm2") else 1 / 28 for n in names])
    assert np.abs(share - expected).max() < 0.01
    # the draw is the step's, not a network's: the same for any seeds
    batch = sample_ensemble(battery, 16, member_generators((1, 2), "data"), step=3)
    assert list(batch.parts) == [names[drawn[3]]]
    assert batch.n_steps == battery.task(names[drawn[3]]).n_steps  # no padding to 209
    # evaluation and analyses still see every task
    assert len(battery.sample(64, seed=0).parts) == 20
    with pytest.raises(ConfigError, match="interleave must be"):
        make({"battery": "yang19", "interleave": "task"})


def test_the_easy_battery_scales_coherences_as_the_public_codes_easy_task():
    from neurodyn.tasks import make

    easy = {t.name: t for t in make({"battery": "yang19", "easy": True}).tasks}
    plain = {t.name: t for t in make("yang19").tasks}
    for name in ("dm1", "dm2", "contextdm1", "contextdm2", "multidm"):
        assert easy[name].coherences == tuple(10 * c for c in plain[name].coherences)
    for name in ("delaydm1", "contextdelaydm2", "multidelaydm"):
        assert easy[name].coherences == pytest.approx(tuple(2 * c for c in plain[name].coherences))
    assert easy["fdgo"] == plain["fdgo"]
