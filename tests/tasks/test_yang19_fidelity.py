"""The Yang et al. 2019 battery against the public code's definitions (gyyang/multitask,
`task.py` and `network.py`): the random streams (stream 1 reproducing the trials of runs made
before stream 2, bit for bit; stream 2's input noise on the rule inputs), the per-batch timing,
the population-vector read-out and the paper's performance criterion."""

import hashlib
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from neurodyn import tasks
from neurodyn.errors import ConfigError
from neurodyn.tasks import population_vector, ring_bump
from neurodyn.tasks.multitask import Multitask
from neurodyn.tasks.yang19 import BATTERY, DM1, DMC, DMS, DNMC, DelayDM1, Go, battery
from neurodyn.train._streams import member_generators, sample_ensemble

NAMES = [cls.name for cls in BATTERY]
# The public code's input noise: sigma_x * sqrt(2 / alpha), sigma_x = 0.01, alpha = 0.2.
SIGMA = 0.01 * math.sqrt(2 / 0.2)
DIGESTS = json.loads((Path(__file__).parent / "yang19_stream1_digests.json").read_text())
STREAM_2_DIGESTS = json.loads((Path(__file__).parent / "yang19_stream2_digests.json").read_text())
STREAM_3_DIGESTS = json.loads((Path(__file__).parent / "yang19_stream3_digests.json").read_text())


def digest(batch):
    """SHA-256 (first 16 hex digits) of every tensor of a batch and of its parts."""
    h = hashlib.sha256()

    def add(name, t):
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().contiguous().cpu().numpy().tobytes())

    add("x", batch.x)
    add("y", batch.y)
    add("mask", batch.mask)
    for k in sorted(batch.trial):
        add(k, batch.trial[k])
    for part in (batch.parts or {}).values():
        h.update(digest(part).encode())
    return h.hexdigest()[:16]


def stream_1_digests():
    """The batches whose digests were saved from the generator before stream 2 existed."""
    out = {}
    for cls in BATTERY:
        for n, seed in ((1, 0), (7, 3), (64, 11)):
            out[f"{cls.name}/{n}/{seed}"] = digest(tasks.get(cls.name).sample(n, seed=seed))
    out["dlygo/16/5"] = digest(tasks.get("dlygo").sample(16, seed=5))
    out["pdm/64/2"] = digest(tasks.get("pdm").sample(64, seed=2))
    out["fdgo-dt10/9/4"] = digest(tasks.get("fdgo", dt_ms=10.0).sample(9, seed=4))
    net = battery(stream=1)
    for n, seed in ((20, 0), (64, 1), (64, 2), (100, 7)):
        out[f"yang19/{n}/{seed}"] = digest(net.sample(n, seed=seed))
    g = torch.Generator().manual_seed(9)
    out["yang19/64/stream-of-3"] = [digest(net.sample(64, generator=g)) for _ in range(3)]
    sub = tasks.make(
        {"battery": "yang19", "tasks": ["fdgo", "dmcgo", "contextdm1"], "weights": {"fdgo": 2}},
        stream=1,
    )
    out["subset/16/3"] = digest(sub.sample(16, seed=3))
    inter = tasks.make({"battery": "yang19", "interleave": "batch"}, stream=1)
    generators = member_generators((1, 2), "data")
    out["interleave-batch/steps0-4"] = digest(sample_ensemble(inter, 32, generators, step=0))
    generators = member_generators((0, 1), "data")
    out["ensemble/yang19"] = digest(sample_ensemble(net, 32, generators, step=5))
    part = tasks.get("delaydm1").sample(8, seed=6)
    out["embed/delaydm1"] = digest(net.embed("delaydm1", part))
    out["embed/delaydm1/300"] = digest(net.embed("delaydm1", part, n_steps=300))
    return out


def _multitask_digests(stream):
    """The digests of task sets beyond the battery that every pinned stream keeps."""
    out = {}
    mixed = Multitask(
        (Go(timing="per_batch"), DM1(input_noise=0.05), DMS(timing="per_batch"), DNMC()),
        shared_io=True,
        stream=stream,
    )
    out["mixed-timing-noise/24/4"] = digest(mixed.sample(24, seed=4))
    apart = Multitask((Go(), DelayDM1(), DMC()), stream=stream)
    out["own-channels/15/2"] = digest(apart.sample(15, seed=2))
    out["pdm+dlygo/50/0"] = digest(tasks.make(["pdm", "dlygo"], stream=stream).sample(50, seed=0))
    return out


def _ensemble_digests(net):
    """The digests of an ensemble's batch and of a noisy embedding, on `net`'s stream."""
    out = {}
    generators = member_generators((0, 1, 2), "data")
    out["ensemble/yang19"] = digest(sample_ensemble(net, 64, generators, step=5))
    part = tasks.get("delaydm1").sample(8, seed=6)
    out["embed/delaydm1/noisy"] = digest(
        net.embed("delaydm1", part, generator=torch.Generator().manual_seed(1))
    )
    return out


def stream_2_digests():
    """Stream-2 batches whose digests were saved from the task-by-task generator (each task's
    `draw_trials` in turn, then one paint), before stream 2 drew all tasks in one pass: runs
    on stream 2 (the yang19 study's among them) resume on the same trials."""
    out = {}
    net = battery(stream=2)
    for n, seed in ((20, 0), (21, 1), (64, 1), (64, 2), (100, 7), (256, 3)):
        out[f"yang19/{n}/{seed}"] = digest(net.sample(n, seed=seed))
    g = torch.Generator().manual_seed(9)
    out["yang19/64/stream-of-3"] = [digest(net.sample(64, generator=g)) for _ in range(3)]
    out["dt10/64/4"] = digest(battery(dt_ms=10.0, stream=2).sample(64, seed=4))
    out["dt5/24/4"] = digest(battery(dt_ms=5.0, stream=2).sample(24, seed=4))
    out["per-batch/64/5"] = digest(battery(timing="per_batch", stream=2).sample(64, seed=5))
    out["easy/64/6"] = digest(battery(easy=True, stream=2).sample(64, seed=6))
    out["quiet/64/8"] = digest(battery(input_noise=0.0, stream=2).sample(64, seed=8))
    out["only/32/1"] = digest(battery(only=("fdgo", "dm1", "dmcgo"), stream=2).sample(32, seed=1))
    sub = tasks.make(
        {"battery": "yang19", "tasks": ["fdgo", "dmcgo", "contextdm1"], "weights": {"fdgo": 2}},
        stream=2,
    )
    out["subset/16/3"] = digest(sub.sample(16, seed=3))
    for names in (("fdgo", "reactanti"), ("dmsgo", "dmcnogo"), ("delaydm2", "multidm")):
        out["/".join(names)] = digest(battery(tasks=names, stream=2).sample(12, seed=2))
    out.update(_multitask_digests(2))
    out["dlygo+fdgo-apart/10/1"] = digest(
        tasks.make(["dlygo", "fdgo"], stream=2).sample(10, seed=1)
    )
    inter = tasks.make({"battery": "yang19", "interleave": "batch"}, stream=2)
    generators = member_generators((1, 2), "data")
    out["interleave-batch/steps0-4"] = [
        digest(sample_ensemble(inter, 32, generators, step=step)) for step in range(4)
    ]
    out.update(_ensemble_digests(net))
    return out


def stream_3_digests():
    """Stream-3 batches, digests saved when stream 3 was made: the runs trained on it resume
    on the same trials."""
    out = {}
    net = battery(stream=3)
    for n, seed in ((20, 0), (64, 1), (100, 7), (256, 3)):
        out[f"yang19/{n}/{seed}"] = digest(net.sample(n, seed=seed))
    g = torch.Generator().manual_seed(9)
    out["yang19/64/stream-of-3"] = [digest(net.sample(64, generator=g)) for _ in range(3)]
    out["per-batch/64/5"] = digest(battery(timing="per_batch", stream=3).sample(64, seed=5))
    out["dt10/64/4"] = digest(battery(dt_ms=10.0, stream=3).sample(64, seed=4))
    out.update(_multitask_digests(3))
    out.update(_ensemble_digests(net))
    return out


def test_stream_3_gives_the_trials_it_gave_when_it_was_made_bit_for_bit():
    assert stream_3_digests() == STREAM_3_DIGESTS


@pytest.mark.parametrize("timing", ["per_trial", "per_batch"])
def test_stream_3_is_stream_2_with_the_cheaper_normals(timing):
    from neurodyn.tasks._normals import standard_normal
    from neurodyn.tasks.multitask import BLOCK_ROWS

    # the same trials, drawn from the same block of uniforms: without noise, the same batch
    quiet = battery(timing=timing, input_noise=0.0, stream=2).sample(64, seed=5)
    assert digest(battery(timing=timing, input_noise=0.0, stream=3).sample(64, seed=5)) == (
        digest(quiet)
    )
    # then the noise: one draw of `standard_normal` over the steps inside trials
    batch = battery(timing=timing, stream=3).sample(64, seed=5)
    g = torch.Generator().manual_seed(5)
    torch.rand(BLOCK_ROWS, 64, generator=g)
    inside = batch.trial_mask()
    noise = standard_normal(int(inside.sum()), 85, generator=g) * SIGMA
    torch.testing.assert_close((batch.x - quiet.x)[inside], noise, atol=1e-6, rtol=0)
    assert torch.all(batch.x[~inside] == 0)
    # the public code's input noise on every channel, rule inputs included
    rules = (batch.x - quiet.x)[..., 65:][inside]
    assert rules.std().item() == pytest.approx(SIGMA, rel=0.02)


def test_stream_2_gives_the_trials_it_gave_before_it_was_vectorised_bit_for_bit():
    assert stream_2_digests() == STREAM_2_DIGESTS


def test_stream_1_gives_the_trials_of_runs_made_before_stream_2_bit_for_bit():
    # (digests saved from the generator as it was before streams had versions: every task
    # alone, the battery mixed, a subset with weights, one task per batch, an ensemble's
    # member streams and `embed`)
    assert stream_1_digests() == DIGESTS


def test_stream_2_adds_the_input_noise_to_every_channel_rule_inputs_included():
    net = battery(stream=2)
    batch = net.sample(256, seed=0)
    in_trial = batch.trial_mask()
    one_hot = torch.nn.functional.one_hot(batch.trial["task_index"], 20).float()
    noise = (batch.x[..., 65:] - one_hot)[in_trial]  # [steps in trials, 20]
    # the public code: `x += randn(*x.shape) * sigma_x * sqrt(2 / alpha)` over all 85 inputs
    assert noise.std().item() == pytest.approx(SIGMA, rel=0.01)
    assert noise.mean().abs().item() < 0.01 * SIGMA
    assert torch.all(batch.x[~in_trial] == 0)  # nothing after a trial's end
    # on the stimulus rings too: ring 2 of Go trials shown on ring 1 carries noise only
    go = batch.parts["fdgo"]
    on_ring_1 = (go.trial["modality"] == 0) & (go.trial["end"] > 0)
    ring_2 = go.x[:, on_ring_1, 33:65][go.trial_mask()[:, on_ring_1]]
    assert ring_2.std().item() == pytest.approx(SIGMA, rel=0.05)
    # the parts are the rows of the batch: the same noise
    rows = slice(0, go.batch_size)
    assert torch.equal(go.x, batch.x[: go.n_steps, rows, :65])
    # stream 1: clean one-hot rule inputs
    old = battery(stream=1).sample(64, seed=0)
    assert torch.all(old.x[..., 65:].sum(-1)[old.trial_mask()] == 1)


def test_stream_2_trials_follow_each_tasks_definition():
    # the noise-free structure of stream-2 trials: targets, masks and the stimuli's values
    net = battery(input_noise=0.0)
    batch = net.sample(512, seed=3)
    for task, _, part in net.split(batch.y, batch):
        own = task.sample(part.batch_size, seed=1)  # the same task on stream 1
        assert set(part.trial) == set(own.trial)
        assert part.y.shape[0] == task.n_steps
        # each trial's targets and mask are what the task makes for its facts
        assert float(task.performance(part.y, part)) == 1.0
        assert float(task.performance_paper(part.y, part)) == 1.0
        go, end = part.trial["go"], part.trial["end"]
        t = torch.arange(part.n_steps)[:, None]
        expected = torch.zeros(part.n_steps, part.batch_size)
        expected[(t >= 5) & (t < go)] = 1.0
        expected[(t >= go + 5) & (t < end)] = 5.0
        torch.testing.assert_close(part.mask[:, :, 1], expected)
        for epoch, choices in task.epoch_durations_ms().items():
            length = (part.trial[f"{epoch}_end"] - part.trial[f"{epoch}_start"]) * task.dt_ms
            allowed = torch.tensor(choices if isinstance(choices, tuple) else (choices,))
            assert torch.isin(length.float(), allowed.float()).all()
    decision = batch.parts["dm1"]
    s1, s2 = decision.trial["stim1_strength"], decision.trial["stim2_strength"]
    chosen = torch.where(s1 > s2, decision.trial["stim1_angle"], decision.trial["stim2_angle"])
    torch.testing.assert_close(decision.trial["angle"], chosen)


def test_embed_puts_the_tasks_input_noise_on_the_rule_inputs_on_stream_2():
    part = tasks.get("delaydm1").sample(64, seed=6)
    in_trial = part.trial_mask()
    clean = battery(stream=1).embed("delaydm1", part)
    assert torch.all(clean.x[..., 65:].sum(-1)[in_trial] == 1)
    # without a generator: clean (noise-free analyses, constant inputs)
    assert torch.equal(battery(stream=2).embed("delaydm1", part).x, clean.x)
    noisy = battery(stream=2).embed("delaydm1", part, generator=torch.Generator().manual_seed(1))
    assert torch.equal(noisy.x[..., :65], clean.x[..., :65])
    rules = (noisy.x - clean.x)[..., 65:][in_trial]
    assert rules.std().item() == pytest.approx(SIGMA, rel=0.02)
    assert torch.all(noisy.x[..., 65:][~in_trial] == 0)
    # a task without input noise: clean rule inputs on both streams
    quiet = tasks.get("delaydm1", input_noise=0.0)
    net = battery(input_noise=0.0)
    assert torch.all(net.embed("delaydm1", quiet.sample(8, seed=0)).x[..., 65:] % 1 == 0)


def test_an_unknown_stream_is_refused():
    with pytest.raises(ConfigError, match="stream must be 1, 2 or 3"):
        battery(stream=4)
    with pytest.raises(ConfigError, match="stream must be 1, 2 or 3"):
        tasks.make("yang19", stream=0)


@pytest.mark.parametrize("name", NAMES)
def test_per_batch_timing_draws_one_set_of_epochs_and_rings_per_batch(name):
    task = tasks.get(name, timing="per_batch")
    lengths, rings = set(), set()
    for seed in range(40):
        batch = task.sample(16, seed=seed)
        starts = torch.stack([batch.trial[f"{e}_start"] for e in task.epochs])
        assert torch.all(starts == starts[:, :1])  # every trial the same epochs
        assert torch.all(batch.trial["end"] == batch.trial["end"][0])
        lengths.add(
            tuple(int(batch.trial[f"{e}_end"][0] - starts[i, 0]) for i, e in enumerate(task.epochs))
        )
        for key in ("modality", "modality1", "modality2"):
            if key in batch.trial:  # one ring per batch, as the public code's rng.choice([1, 2])
                assert torch.all(batch.trial[key] == batch.trial[key][0])
                rings.add((key, int(batch.trial[key][0])))
    # across batches the durations and rings vary as the per-trial draws do
    assert len(lengths) > 1
    if rings:
        assert {ring for _, ring in rings} == {0, 1}
    # the stimuli themselves are still drawn per trial
    angles = [v for k, v in batch.trial.items() if k.endswith("angle")]
    assert any(len(a.unique()) > 1 for a in angles)


def test_per_batch_timing_in_the_mixed_battery_and_its_check():
    net = battery(timing="per_batch")
    batch = net.sample(128, seed=0)
    for part in batch.parts.values():
        assert torch.all(part.trial["end"] == part.trial["end"][0])
    assert len({int(p.trial["end"][0]) for p in batch.parts.values()}) > 1  # per task
    with pytest.raises(ConfigError, match="timing must be 'per_trial' or 'per_batch'"):
        tasks.get("fdgo", timing="per_block")


def _popvec_public(y):
    """The public code's decoding (`network.py` popvec), written out from its definition."""
    pref = np.arange(0, 2 * np.pi, 2 * np.pi / y.shape[-1])
    total = y.sum(axis=-1)
    return np.mod(
        np.arctan2((y * np.sin(pref)).sum(-1) / total, (y * np.cos(pref)).sum(-1) / total),
        2 * np.pi,
    )


def test_population_vector_divides_by_the_summed_activity_as_the_public_code():
    angles = torch.linspace(0, 2 * math.pi, 13)[:-1]
    bump = ring_bump(angles, 32)
    # a positive ring: the bump's angle
    torch.testing.assert_close(population_vector(bump), angles, atol=1e-5, rtol=0)
    # negative summed activity (a linear read-out below 0): the angle turns by pi, as in the
    # original; the activity's own vector would point at the bump
    flipped = population_vector(bump - 0.2)
    assert float((bump - 0.2).sum(-1).max()) < 0
    torch.testing.assert_close(
        flipped, torch.remainder(angles + math.pi, 2 * math.pi), atol=1e-5, rtol=0
    )
    # against the public definition on random activity of either sign
    rng = np.random.default_rng(0)
    activity = rng.normal(0.02, 0.3, size=(200, 32)).astype(np.float32)
    ours = population_vector(torch.from_numpy(activity)).numpy()
    theirs = _popvec_public(activity.astype(np.float64))
    apart = np.abs(np.angle(np.exp(1j * (ours - theirs))))
    assert apart.max() < 1e-4
    assert (activity.sum(-1) < 0).sum() > 50  # both signs were tested
    # zero summed activity: undefined, as the original's 0/0
    assert torch.isnan(population_vector(torch.zeros(32)))


@pytest.mark.parametrize("name", ["fdgo", "delaydm2", "dmcnogo"])
def test_the_papers_criterion_scores_only_the_last_step(name):
    task = tasks.get(name, input_noise=0.0)
    batch = task.sample(128, seed=0)
    right = batch.y.clone()
    rows = torch.arange(128)
    # fixation released for one step before the go cue: wrong by ours, right by the paper's
    broken = right.clone()
    broken[batch.trial["go"] - 2, rows, 0] = 0.2
    assert float(task.performance(broken, batch)) == 0.0
    assert float(task.performance_paper(broken, batch)) == 1.0
    # the last step wrong (fixation flipped): wrong by both
    last = right.clone()
    last[batch.trial["end"] - 1, rows, 0] = 1.0 - last[batch.trial["end"] - 1, rows, 0]
    assert float(task.performance(last, batch)) == 0.0
    assert float(task.performance_paper(last, batch)) == 0.0
    # a response ring below 0 at the last step (a linear read-out): the public decoding turns
    # it by pi, so trials that ask for a saccade fail by both criteria
    negative = right.clone()
    negative[batch.trial["end"] - 1, rows, 1:] -= 0.3
    respond = batch.trial["respond"].float().mean()
    assert float(task.performance_paper(negative, batch)) == pytest.approx(1 - float(respond))
    # with an ensemble axis: one value per member
    stacked = torch.stack([right, broken], dim=1)
    assert task.performance_paper(stacked, batch).tolist() == [1.0, 1.0]
    assert task.performance(stacked, batch).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("timing", ["per_trial", "per_batch"])
def test_stream_2_is_one_uniform_block_read_task_by_task_then_the_noise(timing):
    from neurodyn.tasks._base import BlockDraws
    from neurodyn.tasks.multitask import BLOCK_ROWS

    noisy = battery(timing=timing, stream=2)
    batch = noisy.sample(64, seed=5)
    quiet = battery(timing=timing, input_noise=0.0, stream=2).sample(64, seed=5)
    # the definition: a block of uniforms [R, B]; task k's trials read their columns, row by
    # row, in the order the task draws (its epochs first)
    g = torch.Generator().manual_seed(5)
    block = torch.rand(BLOCK_ROWS, 64, generator=g)
    row = 0
    for task, n in zip(noisy.tasks, noisy.counts(64), strict=True):
        bounds, end, _, facts = task.draw_trials(BlockDraws(block[:, row : row + n]))
        part = batch.parts[task.name]
        assert torch.equal(part.trial["end"], end)
        for epoch, (start, stop) in bounds.items():
            assert torch.equal(part.trial[f"{epoch}_start"], start)
            assert torch.equal(part.trial[f"{epoch}_end"], stop)
        for key, value in facts.items():
            assert torch.equal(part.trial[key], value), (task.name, key)
        row += n
    # then the noise: one draw over the steps inside trials (time-major), every channel
    inside = batch.trial_mask()
    noise = torch.randn(int(inside.sum()), 85, generator=g) * SIGMA
    torch.testing.assert_close((batch.x - quiet.x)[inside], noise, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "params",
    [
        {"easy": True},
        {"dt_ms": 10.0},
        {"tasks": ("reactgo", "delayanti", "multidelaydm", "contextdm2", "dmsgo", "dmcnogo")},
        {"tasks": ("fdanti",), "timing": "per_batch"},
    ],
)
def test_the_one_pass_draws_what_each_task_draws_from_its_rows(params):
    from neurodyn.tasks._base import BlockDraws
    from neurodyn.tasks.multitask import BLOCK_ROWS
    from neurodyn.tasks.yang19._together import draw_together

    net = battery(**params)
    n = 3 * len(net.tasks)
    block = torch.rand(BLOCK_ROWS, n, generator=torch.Generator().manual_seed(2))
    layout = net._layout(tuple(net.counts(n)), block.device)
    starts, ends = net._draw_epoch_table(block.numpy(), layout)
    plan, facts = draw_together(layout.sampled, layout.sampled_counts, block, starts, ends)
    # the definition: each task's `draw_trials` on its columns of the block, plans merged
    drawn, row = [], 0
    for task, count in zip(layout.sampled, layout.sampled_counts, strict=True):
        drawn.append(task.draw_trials(BlockDraws(block[:, row : row + count])))
        row += count
    merged = layout.sampled[0].merge_plans([p for _, _, p, _ in drawn])
    for name in ("on", "off", "angle", "strength", "ring"):
        assert torch.equal(getattr(plan.stimuli, name), getattr(merged.stimuli, name)), name
    for name in ("fixation_off", "respond", "target", "go", "end"):
        assert torch.equal(getattr(plan, name), getattr(merged, name)), name
    for (_, _, _, own), ours in zip(drawn, facts, strict=True):
        assert own.keys() == ours.keys()
        assert all(torch.equal(own[k], ours[k]) and own[k].dtype == ours[k].dtype for k in own)


def test_a_task_that_shows_its_own_stimuli_is_drawn_task_by_task():
    from dataclasses import dataclass

    from neurodyn.tasks.yang19._together import draw_together

    @dataclass(frozen=True)
    class Dimmer(Go):  # its own `_show`: the one pass does not know it
        name = "dimmer"

        def _show(self, bounds, end, draws):
            stimuli, off, respond, target, facts = super()._show(bounds, end, draws)
            return replace(stimuli, strength=stimuli.strength / 2), off, respond, target, facts

    net = Multitask((Go(input_noise=0.0), Dimmer(input_noise=0.0)), shared_io=True)
    block = torch.rand(16, 4)
    layout = net._layout((2, 2), block.device)
    starts, ends = net._draw_epoch_table(block.numpy(), layout)
    assert draw_together(layout.sampled, (2, 2), block, starts, ends) is None
    batch = net.sample(4, seed=0)  # drawn task by task: the dimmer's stimuli at half strength
    # a bump's peak on the ring: 0.8 exp(-d^2 / 2 (pi/8)^2) with d at most pi/32 from a unit
    peaks = {name: part.x[..., 1:65].amax((0, 2)) for name, part in batch.parts.items()}
    assert torch.all((peaks["fdgo"] > 0.77) & (peaks["fdgo"] <= 0.8))
    assert torch.all((peaks["dimmer"] > 0.385) & (peaks["dimmer"] <= 0.4))


def test_the_host_remainder_is_torchs_signed_zeros_included():
    from neurodyn.tasks.yang19._together import _remainder

    two_pi = np.float32(2 * math.pi)
    edges = [-2 * two_pi, -two_pi, -0.0, 0.0, two_pi, 3 * two_pi, -1e-30, 1e-30, 7.0, -7.0]
    values = torch.cat([torch.tensor(edges), torch.rand(10_000) * 60 - 30])
    ours = torch.from_numpy(_remainder(values.numpy(), 2 * math.pi))
    theirs = torch.remainder(values, 2 * math.pi)
    assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)
    assert torch.equal(torch.signbit(ours), torch.signbit(theirs))  # -0.0 stays -0.0


def test_the_one_pass_moves_its_plan_to_another_device_with_the_same_shapes():
    # the packed transfer of a non-CPU device, run on the meta device (shapes and dtypes)
    from neurodyn.tasks.yang19._together import draw_together

    net = battery()
    block = torch.rand(16, 40, generator=torch.Generator().manual_seed(1))
    layout = net._layout(tuple(net.counts(40)), block.device)
    starts, ends = net._draw_epoch_table(block.numpy(), layout)
    args = (layout.sampled, layout.sampled_counts, block.numpy(), starts, ends)
    on_cpu, cpu_facts = draw_together(*args)
    on_meta, meta_facts = draw_together(*args, device=torch.device("meta"))
    pairs = [(getattr(on_cpu, f), getattr(on_meta, f)) for f in ("respond", "target", "go", "end")]
    pairs += [
        (getattr(on_cpu.stimuli, f), getattr(on_meta.stimuli, f))
        for f in ("on", "off", "angle", "strength", "ring")
    ]
    pairs += [(a[k], b[k]) for a, b in zip(cpu_facts, meta_facts, strict=True) for k in a]
    for cpu, meta in pairs:
        assert meta.device.type == "meta" and (meta.shape, meta.dtype) == (cpu.shape, cpu.dtype)


def test_the_window_code_sets_the_bits_between_gives_empty_windows_included():
    from neurodyn.tasks._base import between
    from neurodyn.tasks.yang19._trial import _window_code

    g = torch.Generator().manual_seed(3)
    n_steps = 30
    starts = torch.randint(0, n_steps + 1, (9, 40), generator=g)
    ends = torch.randint(0, n_steps + 1, (9, 40), generator=g)
    starts[0, :5], ends[0, :5] = 7, 7  # empty: start at the end
    starts[1, :5], ends[1, :5] = 12, 4  # empty: start after the end
    ends[2, :5] = n_steps  # open to the last step
    code = _window_code(n_steps, starts, ends)
    windows = between(n_steps, starts, ends)  # [T, W, B]
    expected = (windows.long() << torch.arange(9)[None, :, None]).sum(1)
    assert torch.equal(code, expected)
