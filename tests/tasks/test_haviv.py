"""Haviv et al. 2019's delayed classification."""

import numpy as np
import pytest
import torch
from scipy import stats

from neurodyn import tasks
from neurodyn.errors import ConfigError
from neurodyn.tasks.haviv import DelayedClassification, class_centres, digits


def test_one_class_image_then_a_query_at_least_min_delay_later():
    task = tasks.get("delayed_classification", n_classes=4, t_max=12, min_delay=4)
    b = task.sample(256, seed=0)
    images, labels = digits()
    rows = torch.arange(256)
    shown, query, end = b.trial["shown"], b.trial["query"], b.trial["end"]
    assert torch.all(query - shown >= 4) and torch.all(query < end) and torch.all(end <= 12)
    assert set(b.trial["label"].tolist()) == {0, 1, 2, 3}
    # the image at `shown` is a digit of the trial's class; the query flag is on once
    shown_images = b.x[shown, rows, :64].numpy()
    match = np.abs(shown_images[:, None] - images[None]).sum(-1) < 1e-5  # [B, 1797]
    assert all(labels[match[i]][0] == b.trial["label"][i] for i in range(256))
    assert torch.equal(b.x[..., 64].sum(0), torch.ones(256))
    assert torch.equal(b.x[query, rows, 64], torch.ones(256))
    # targets: null everywhere but the query step; nothing after the trial's end
    target = b.y.argmax(-1)
    assert torch.equal(target[query, rows], b.trial["label"] + 1)
    assert int((target != 0).sum()) == 256
    steps = torch.arange(12)[:, None]
    assert (
        float(b.mask[steps >= end[None]].sum()) == 0
        and float(b.x[steps >= end[None]].abs().sum()) == 0
    )


def delay_distribution(min_delay, t_max):
    """P(query - shown = d) of the sampler: length uniform on min_delay + 2 .. t_max, the query
    uniform on min_delay .. length - 1, the image uniform on 0 .. query - min_delay."""
    p = {}
    lengths = range(min_delay + 2, t_max + 1)
    for length in lengths:
        queries = range(min_delay, length)
        for query in queries:
            for shown in range(query - min_delay + 1):
                weight = 1 / (len(lengths) * len(queries) * (query - min_delay + 1))
                p[query - shown] = p.get(query - shown, 0.0) + weight
    return p


def test_each_trial_read_from_its_inputs_alone_has_its_class_target_and_delay():
    n_classes, t_max, min_delay, n_trials = 4, 12, 4, 4000
    task = tasks.get(
        "delayed_classification", n_classes=n_classes, t_max=t_max, min_delay=min_delay
    )
    b = task.sample(n_trials, seed=3)
    images, labels = digits()
    label_of = {
        img.astype(np.float32).tobytes(): int(lab) for img, lab in zip(images, labels, strict=True)
    }
    x, target = b.x.numpy(), b.y.argmax(-1).numpy()
    length = (np.abs(x).sum(-1) > 0).sum(0)  # input is zero after a trial's end
    delays, classes = [], []
    for i in range(n_trials):
        # the class image: the one step whose pixels are a digit (noise pixels never are)
        found = [(t, label_of.get(x[t, i, :64].tobytes())) for t in range(length[i])]
        found = [(t, c) for t, c in found if c is not None]
        assert len(found) == 1
        shown, label = found[0]
        query = np.flatnonzero(x[:, i, 64] == 1)
        assert len(query) == 1 and query[0] < length[i] and query[0] - shown >= min_delay
        # the answer is the class at the query step and null at every other step of the trial
        expected = np.zeros(t_max, dtype=int)
        expected[query[0]] = label + 1
        assert np.array_equal(target[: length[i], i], expected[: length[i]])
        assert float(b.mask[length[i] :, i].sum()) == 0
        delays.append(int(query[0] - shown))
        classes.append(label)
    # the delays follow the sampler's distribution (chi-square goodness of fit)
    p = delay_distribution(min_delay, t_max)
    ds = sorted(p)
    observed = np.array([delays.count(d) for d in ds])
    assert sum(observed) == n_trials and set(delays) <= set(ds)
    assert stats.chisquare(observed, n_trials * np.array([p[d] for d in ds])).pvalue > 0.01
    # classes in proportion to their images among the first n_classes digits
    counts = np.bincount(labels[labels < n_classes])
    observed = np.bincount(classes, minlength=n_classes)
    assert stats.chisquare(observed, n_trials * counts / counts.sum()).pvalue > 0.01


def test_any_images_can_be_used_and_bad_parameters_are_named():
    images = np.eye(64, dtype=np.float32)[:6]
    task = DelayedClassification(n_classes=2, t_max=8, images=images, labels=np.array([0, 1] * 3))
    b = task.sample(32, seed=1)
    shown = b.x[b.trial["shown"], torch.arange(32), :64]
    assert torch.equal(shown.argmax(-1) % 2, b.trial["label"])
    with pytest.raises(ConfigError, match=r"n_classes must lie in 2\.\.10"):
        DelayedClassification(n_classes=11)
    with pytest.raises(ConfigError, match="t_max >= min_delay"):
        DelayedClassification(t_max=5, min_delay=4)


MEMORY_TASK = {"n_classes": 3, "t_max": 8, "min_delay": 2}


def memory_spec(n_hidden):
    """A discrete-time tanh network (tau = dt) for the delayed-classification task."""
    from neurodyn.models import NetworkSpec

    return NetworkSpec(
        n_inputs=65,
        n_hidden=n_hidden,
        n_outputs=11,
        dt_ms=10,
        tau_ms=10,
        activation="tanh",
        sigma_rec=0.0,
        seeds=(0,),
    )


@pytest.fixture(scope="module")
def memory_network():
    """A 48-unit network trained 300 steps on 3 classes (shared by the tests that need it)."""
    from neurodyn.models import CTRNN
    from neurodyn.train import TrainOptions, TrainState, fit

    task = tasks.get("delayed_classification", **MEMORY_TASK)
    options = TrainOptions(steps=300, batch_size=64, lr=0.01, log_every=300, checkpoint_every=300)
    return fit(TrainState.new(CTRNN(memory_spec(48)), options), task, options, progress=False).model


def test_a_small_network_learns_to_remember_the_class(memory_network):
    task = tasks.get("delayed_classification", **MEMORY_TASK)
    batch = task.sample(512, seed=9)
    with torch.no_grad():
        outputs = memory_network(batch.x, noise=False).outputs
    assert float(task.performance(outputs, batch)) > 0.8  # chance: 1/3


def test_class_centres_average_the_memory_steps_of_each_class():
    states = torch.arange(6, dtype=torch.float32).reshape(6, 1, 1, 1).expand(6, 1, 2, 1).clone()
    states[:, 0, 1] += 100  # trial 1 sits 100 higher
    trial = {
        "shown": torch.tensor([0, 1]),
        "query": torch.tensor([3, 5]),
        "label": torch.tensor([1, 0]),
    }
    found = class_centres(states, torch.zeros(6, 2, 3), trial, 3)
    # class 1: trial 0, steps 1..2 -> 1.5; class 0: trial 1, steps 2..4 -> 103
    torch.testing.assert_close(found.centres[0, :2, 0], torch.tensor([103.0, 1.5]))
    assert found.present.tolist() == [[True, True, False]] and found.mean_input.shape == (1, 3, 3)


def test_the_speed_penalty_slows_the_network_at_the_class_centres():
    from neurodyn.models import CTRNN
    from neurodyn.train import SpeedAtClassCentres, TrainOptions, TrainState, fit
    from neurodyn.train.losses import speed_at_class_centres

    task = tasks.get("delayed_classification", **MEMORY_TASK)
    spec = memory_spec(32)
    speeds = {}
    for weight in (None, 10.0):
        options = TrainOptions(
            steps=100,
            batch_size=64,
            lr=0.01,
            log_every=100,
            checkpoint_every=100,
            penalties=() if weight is None else (SpeedAtClassCentres(weight),),
        )
        model = fit(TrainState.new(CTRNN(spec), options), task, options, progress=False).model
        batch = task.sample(256, seed=4)
        with torch.no_grad():
            states = model(batch.x, noise=False).states
            speeds[weight] = float(speed_at_class_centres(model, states, batch.x, batch.trial)[0])
    assert speeds[10.0] < 0.5 * speeds[None]


def test_each_remembered_class_sits_at_a_slow_point_of_its_own(memory_network):
    from neurodyn.analysis.memory import class_slow_points

    task = tasks.get("delayed_classification", **MEMORY_TASK)
    found = class_slow_points(memory_network, task, n_trials=128, starts_per_class=16)
    assert list(found.classes) == [0, 1, 2]
    assert found.n_distinct.tolist() == [3]  # three memories, three slow points
    # most starts of each class settle at its point, far slower than the memory trajectory
    assert np.all(found.share > 0.5) and np.all(found.q < 0.01 * found.start_q)


def test_slow_points_of_an_lstm_live_in_its_h_and_c_state():
    from neurodyn.analysis.memory import class_slow_points
    from neurodyn.models import NetworkSpec, build_model

    task = tasks.get("delayed_classification", **MEMORY_TASK)
    lstm = build_model(
        NetworkSpec(n_inputs=task.n_inputs, n_hidden=8, n_outputs=task.n_outputs, cell="lstm")
    )
    found = class_slow_points(lstm, task, n_trials=32, starts_per_class=4, max_iters=50)
    assert found.point.shape == (1, 3, 16) and found.centre.shape == (1, 3, 16)


def test_fixed_delay_trials_ask_exactly_d_steps_after_the_image_even_beyond_t_max():
    task = DelayedClassification(n_classes=4, t_max=10)
    for delay in (5, 37):
        batch = task.fixed_delay(32, delay, seed=0)
        trial = batch.trial
        assert torch.equal(trial["query"] - trial["shown"], torch.full((32,), delay))
        assert batch.n_steps == int(trial["query"].max()) + 1
        query_flag = batch.x[..., -1]
        steps = torch.nonzero(query_flag.T)[:, 1]  # the query step of each trial
        assert torch.equal(steps, trial["query"])
        # the class label is the target at the query step only; "null" (0) elsewhere
        target = batch.y.argmax(-1)
        at_query = target[trial["query"], torch.arange(32)]
        assert torch.equal(at_query, trial["label"] + 1)
        assert int((target != 0).sum()) == 32
    with pytest.raises(ConfigError, match="delay must be at least 1"):
        task.fixed_delay(4, 0)
