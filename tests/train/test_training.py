import pytest
import torch

from neurodyn import tasks
from neurodyn.models import CTRNN, NetworkSpec
from neurodyn.train import (
    TrainOptions,
    TrainState,
    clip_per_member,
    evaluate,
    fit,
    masked_cross_entropy,
    masked_mse,
)


def train_small(task_name, *, steps, tau_ms=100.0, n_hidden=64, lr=0.01, seeds=(1,), **task_params):
    task = tasks.get(task_name, **task_params)
    spec = NetworkSpec(
        task.n_inputs, n_hidden, task.n_outputs, dt_ms=task.dt_ms, tau_ms=tau_ms, seeds=seeds
    )
    options = TrainOptions(steps=steps, batch_size=32, lr=lr, log_every=50)
    state = fit(TrainState.new(CTRNN(spec), options), task, options, progress=False)
    return state, task


def test_pdm_is_learned_to_90_percent():
    state, task = train_small("pdm", steps=600)
    perf = evaluate(state.model, task, batch_size=512).performance["pdm"][0]
    assert perf >= 0.90, perf


def test_flipflop_is_learned_to_90_percent_bit_accuracy():
    state, task = train_small("flipflop", steps=400, tau_ms=20.0)
    perf = evaluate(state.model, task, batch_size=256).performance["flipflop"][0]
    assert perf >= 0.90, perf


def test_an_untrained_network_does_not_pass():
    # guards the two tests above against a metric that everything passes
    task = tasks.get("pdm")
    model = CTRNN(NetworkSpec(task.n_inputs, 64, task.n_outputs, seeds=(1,)))
    assert evaluate(model, task).performance["pdm"][0] < 0.5


def test_ensemble_of_three_equals_three_single_runs():
    ensemble, _ = train_small("pdm", steps=25, n_hidden=16, seeds=(1, 2, 3))
    for e, seed in enumerate((1, 2, 3)):
        single, _ = train_small("pdm", steps=25, n_hidden=16, seeds=(seed,))
        for name, p in single.model.named_parameters():
            assert torch.allclose(p[0], getattr(ensemble.model, name)[e], atol=1e-5), (seed, name)


def test_logged_metrics_per_member():
    state, _ = train_small("pdm", steps=100, n_hidden=16, seeds=(4, 5))
    assert [(r["step"], r["seed"]) for r in state.metrics] == [(50, 4), (50, 5), (100, 4), (100, 5)]
    assert all("perf.pdm" in r and r["loss"] > 0 for r in state.metrics)


def test_masked_mse_by_hand():
    out = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(4, 1, 1, 1)
    y = torch.zeros_like(out)
    mask = torch.tensor([0.0, 1.0, 2.0, 0.0]).reshape(4, 1, 1, 1)
    # (1 * 4 + 2 * 9) / 2 entries with mask > 0
    assert float(masked_mse(out, y, mask)[0]) == pytest.approx(11.0)


def test_masked_cross_entropy_matches_torch():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 2, 5, 3, generator=g)
    classes = torch.randint(3, (6, 2, 5), generator=g)
    y = torch.nn.functional.one_hot(classes, 3).float()
    mask = torch.ones(6, 2, 5, 3)
    ours = masked_cross_entropy(logits, y, mask)
    for e in range(2):
        ref = torch.nn.functional.cross_entropy(
            logits[:, e].reshape(-1, 3), classes[:, e].reshape(-1)
        )
        assert float(ours[e]) == pytest.approx(float(ref), rel=1e-5)


def test_clip_per_member_matches_torch_for_each_member():
    model = CTRNN(NetworkSpec(3, 8, 2, seeds=(0, 1)))
    loss = model(torch.randn(5, 4, 3) * 10, noise=False).outputs.pow(2).sum()
    loss.backward()
    raw = {n: p.grad.clone() for n, p in model.named_parameters()}
    clip_per_member(model, 0.5)
    for e in range(2):
        single = CTRNN(NetworkSpec(3, 8, 2, seeds=(e,)))
        for n, p in single.named_parameters():
            p.grad = raw[n][e : e + 1].clone()
        torch.nn.utils.clip_grad_norm_(single.parameters(), 0.5)
        for n, p in single.named_parameters():
            assert torch.allclose(p.grad[0], getattr(model, n).grad[e], atol=1e-6)
