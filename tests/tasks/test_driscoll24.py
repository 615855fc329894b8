"""The Driscoll, Shenoy & Sussillo (2024) task set: each task's trials against the public
code's definition (stepnet/task.py, network.get_perf)."""

import math

import pytest
import torch

from neurodyn import tasks
from neurodyn.errors import ConfigError
from neurodyn.tasks.driscoll24 import PERIODS, TASKS, battery, readout_angle
from neurodyn.tasks.ring import circular_distance

NAMES = [cls.name for cls in TASKS]
DT = 20


def sample(name, n=64, seed=0):
    task = tasks.get(name, input_noise=0.0)
    return task, task.sample(n, seed=seed)


def test_the_set_is_the_papers_network_layout():
    net = tasks.make("driscoll24")
    assert (net.n_inputs, net.n_outputs) == (20, 3)
    assert [t.paper_name for t in net.tasks][:6] == [
        "DelayPro",
        "ReactPro",
        "MemoryPro",
        "DelayAnti",
        "ReactAnti",
        "MemoryAnti",
    ]
    batch = net.sample(30, seed=1)
    on = batch.x[:, :, 5:].amax(0)
    assert torch.equal(on.argmax(-1), batch.trial["task_index"])
    # held out: the layout keeps all 15 rule inputs, MemoryAnti is never sampled
    pre = tasks.make(
        {"battery": "driscoll24", "only": [n for n in net.task_names if "delayanti" not in n]}
    )
    assert pre.n_inputs == 20 and pre.counts(28)[5] == 0
    with pytest.raises(ConfigError, match="not a task of the Driscoll"):
        battery(["delaygo", "nope"])
    easy = battery(["delaydm1"], easy=True)
    assert easy.tasks[0].coherence_range == (0.01, 1.6)


@pytest.mark.parametrize("name", NAMES)
def test_every_epoch_is_a_task_period(name):
    task = tasks.get(name)
    assert set(task.epochs) <= set(task.periods)
    assert task.periods == PERIODS
    assert task.epochs[0] == "fix1" and task.epochs[-1] == "go1"


@pytest.mark.parametrize("name", NAMES)
def test_epochs_are_contiguous_and_drawn_from_the_codes_durations(name):
    task, b = sample(name, n=512)
    start = torch.zeros(512, dtype=torch.long)
    for epoch, choices in task.epoch_durations_ms().items():
        assert torch.equal(b.trial[f"{epoch}_start"], start)
        length = (b.trial[f"{epoch}_end"] - start) * DT
        assert torch.isin(length.float(), torch.tensor(choices).float()).all()
        # int(uniform(low, high) / dt): every step from low to high - dt
        assert len(set(length.tolist())) == len(choices) or len(choices) > 40
        start = b.trial[f"{epoch}_end"]
    assert torch.equal(b.trial["go"], b.trial["go1_start"]) and torch.equal(start, b.trial["end"])


@pytest.mark.parametrize("name", NAMES)
def test_mask_follows_the_codes_cost_mask(name):
    _, b = sample(name)
    go, end = b.trial["go"], b.trial["end"]
    t = torch.arange(b.n_steps)[:, None]
    expected = torch.zeros(b.n_steps, 64)
    expected[(t >= 5) & (t < go)] = 1.0  # 100 ms never checked, then 1 until the go cue
    expected[(t >= go + 5) & (t < end)] = 5.0  # 100 ms grace period, then 5
    # the code's loss squares its c_mask with the error: the weights are the squares
    torch.testing.assert_close(b.mask[:, :, 1], expected**2)
    torch.testing.assert_close(b.mask[:, :, 2], expected**2)
    torch.testing.assert_close(b.mask[:, :, 0], (2 * expected) ** 2)  # fixation counts double


@pytest.mark.parametrize("name", NAMES)
def test_targets_fixation_and_response_direction(name):
    _, b = sample(name, n=256)
    go, end, respond = b.trial["go"], b.trial["end"], b.trial["respond"]
    rows = torch.arange(256)
    t = torch.arange(b.n_steps)[:, None]
    fix_until = torch.where(respond, go, end)
    torch.testing.assert_close(b.y[..., 0], 0.8 * (t < fix_until[None]).float())
    last = b.y[end - 1, rows]
    angle = b.trial["angle"][respond]
    torch.testing.assert_close(last[respond, 1:], torch.stack([angle.sin(), angle.cos()], -1))
    assert torch.all(last[~respond, 1:] == 0)
    assert torch.all(b.y[go - 1, rows, 1:] == 0)  # nothing asked before the go cue
    # the fixation input: off at the go cue, or on to the end (React and match tasks)
    stays = any(k in name for k in ("react", "dms", "dmc"))
    off = end if stays else go
    assert torch.equal(b.x[:, :, 0] > 0.5, t < off[None])


def _shown(b, step, rows):
    """Angle and amplitude on each modality at `step [B]`: `[B, 2]` each."""
    pair = b.x[step, rows, 1:5].reshape(len(rows), 2, 2)
    return readout_angle(pair), pair.norm(dim=-1)


@pytest.mark.parametrize("name", ["fdgo", "fdanti", "reactgo", "reactanti", "delaygo", "delayanti"])
def test_pro_and_anti_respond_at_or_opposite_the_stimulus(name):
    _, b = sample(f"driscoll24.{name}", n=128)
    shift = math.pi if "anti" in name else 0.0
    stim = b.trial["stim_angle"]
    torch.testing.assert_close(b.trial["angle"], torch.remainder(stim + shift, 2 * math.pi))
    rows = torch.arange(128)
    t0 = b.trial["stim1_start"] if "stim1_start" in b.trial else b.trial["go"]
    angle, amplitude = _shown(b, t0, rows)
    modality = b.trial["modality"]
    torch.testing.assert_close(amplitude[rows, modality], torch.ones(128))
    assert torch.all(amplitude[rows, 1 - modality] == 0)  # the other modality is silent
    assert torch.all(circular_distance(angle[rows, modality], stim) < 1e-4)
    # the stimulus stays to the end, but in the memory tasks
    _, at_end = _shown(b, b.trial["end"] - 1, rows)
    expected = torch.full((128,), 0.0 if name.startswith("delay") else 1.0)
    torch.testing.assert_close(at_end.sum(-1), expected)


@pytest.mark.parametrize(
    "name", ["delaydm1", "delaydm2", "contextdelaydm1", "contextdelaydm2", "multidelaydm"]
)
def test_integration_asks_for_the_stronger_stimulus(name):
    _, b = sample(f"driscoll24.{name}", n=512)
    rows = torch.arange(512)
    _, s1 = _shown(b, b.trial["stim1_start"], rows)
    _, s2 = _shown(b, b.trial["stim2_start"], rows)
    if name == "multidelaydm":
        e1, e2 = s1.sum(-1), s2.sum(-1)
    else:
        m = 1 if name.endswith("2") else 0
        e1, e2 = s1[:, m], s2[:, m]
        if not name.startswith("context"):
            assert torch.all(s1[:, 1 - m] == 0) and torch.all(s2[:, 1 - m] == 0)
        else:  # the distractors have strengths of their own
            assert (s1[:, 1 - m] > 0).all() and not torch.allclose(s1[:, 1 - m], e1)
    torch.testing.assert_close(e1, b.trial["stim1_strength"])
    target = torch.where(e1 > e2, b.trial["stim1_angle"], b.trial["stim2_angle"])
    torch.testing.assert_close(b.trial["angle"], target)
    apart = circular_distance(b.trial["stim1_angle"], b.trial["stim2_angle"])
    assert apart.min() >= 0.5 * math.pi - 1e-5
    # mean +- coherence (each modality's, in MultSen the sum of two: twice that)
    coherence = (e1 - e2).abs() / (4 if name == "multidelaydm" else 2)
    assert coherence.max() <= 0.8 + 1e-5 and coherence.max() > 0.7
    # no stimulus in the memory periods
    _, quiet = _shown(b, b.trial["delay1_start"], rows)
    assert torch.all(quiet == 0)


@pytest.mark.parametrize(
    ("name", "go_on_match"),
    [("dmsgo", True), ("dmsnogo", False), ("dmcgo", True), ("dmcnogo", False)],
)
def test_match_tasks_respond_by_the_pair(name, go_on_match):
    _, b = sample(f"driscoll24.{name}", n=512)
    a1, a2 = b.trial["stim1_angle"], b.trial["stim2_angle"]
    if name.startswith("dms"):
        match = circular_distance(a1, a2) < 1e-5
        different = ~match
        assert circular_distance(a1, a2)[different].min() >= math.pi / 9 - 1e-5
    else:
        match = (a1 < math.pi) == (a2 < math.pi)
    assert torch.equal(b.trial["match"], match)
    assert torch.equal(b.trial["respond"], match if go_on_match else ~match)
    assert 0.4 < match.float().mean() < 0.6
    rows = torch.arange(512)
    angle, _ = _shown(b, b.trial["go"], rows)
    shown_on = _shown(b, b.trial["go"], rows)[1].argmax(-1)
    assert torch.all(circular_distance(angle[rows, shown_on], a2) < 1e-4)
    torch.testing.assert_close(b.trial["angle"], a2)


@pytest.mark.parametrize("name", NAMES)
def test_performance_is_the_codes_criterion_on_hand_made_outputs(name):
    task, b = sample(name, n=256)
    respond = b.trial["respond"]
    assert task.performance(b.y, b).item() == 1.0  # the targets themselves
    rows = torch.arange(256)
    end = b.trial["end"]

    def turned(by):
        out = b.y.clone()
        angle = b.trial["angle"] + by
        out[end - 1, rows, 1:] = torch.stack([angle.sin(), angle.cos()], -1)
        out[end - 1, rows, 0] = torch.where(respond, 0.0, 0.8)
        return out

    # within 0.1 pi: right; beyond: wrong where a response is asked
    assert task.performance(turned(0.09 * math.pi), b).item() == 1.0
    beyond = task.performance(turned(0.11 * math.pi), b).item()
    assert beyond == pytest.approx(1.0 - respond.float().mean().item())
    # fixation held at the last step where a response is asked: wrong
    held = b.y.clone()
    held[end - 1, rows, 0] = 0.8
    assert task.performance(held, b).item() == pytest.approx(1.0 - respond.float().mean().item())
    # only the last step counts (as the code): breaking fixation before the go cue is not seen
    early = b.y.clone()
    early[1, :, 0] = 0.0
    assert task.performance(early, b).item() == 1.0
    # an ensemble axis gives one value per member
    assert task.performance(torch.stack([b.y, held], 1), b).shape == (2,)
