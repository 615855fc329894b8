"""The local reward-modulated Hebbian rule (Bredenberg et al. 2020): its expected update is the
objective's gradient, it learns, and so does the BPTT comparison."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from neurodyn.errors import ConfigError
from neurodyn.models.stochastic import CircuitSpec, energy, tuning
from neurodyn.tasks.bredenberg import StimulusTask
from neurodyn.train.plasticity import (
    Circuit,
    LocalRule,
    RunningAverages,
    _train,
    init_circuit,
    probe,
    probe_angles,
    probe_performance,
    readout_delta,
    reward_hebbian,
    train_bptt,
    train_local,
)

SPEC = CircuitSpec()
THETA = 0.3


def two_unit_circuit(kind):
    w = np.array([[0.1, 0.05], [0.05, -0.1]])  # symmetric: the circuit samples exp(-2E/s^2)
    c = np.random.default_rng(0).uniform(0, 0.5, size=(2, 12))
    b = np.array([0.8, 1.0])
    d = np.array([[0.6, 0.3], [-0.2, 0.5]]) if kind == "estimation" else np.array([[0.02, -0.01]])
    return w, c, b, d


def stationary_grid(w, c, b):
    """The 2-unit stationary density exp(-2E/sigma^2) on a grid around its mode: points
    `r [G, 2]` and weights `p [G]` summing to 1."""
    s = tuning(torch.tensor(THETA, dtype=torch.float64)).numpy()
    axis = np.linspace(0.3, 2.2, 300)
    r = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    log_p = -2 * energy(r, s, w, c, b, SPEC) / SPEC.sigma**2
    p = np.exp(log_p - log_p.max())
    return r, p / p.sum(), s


def objective(w, c, b, d, task):
    """O = E_{r|theta}[alpha(D r, theta)] by quadrature."""
    r, p, _ = stationary_grid(w, c, b)
    theta = torch.full((len(r),), THETA, dtype=torch.float64)
    alpha = task.reward(theta, torch.from_numpy(r @ d.T)).numpy()
    return float((p * alpha).sum())


def finite_difference(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (f(up) - f(down)) / (2 * h)
    return grad


@pytest.mark.parametrize("kind", ["estimation", "classification"])
def test_the_rules_expected_update_is_the_objectives_gradient(kind):
    # the rule's brackets, averaged over the exact stationary density (each grid point a
    # "chain" whose reward carries its probability), with the running averages at their exact
    # conditional means: sigma^2 dO/dW, sigma^2 / 2 dO/dC and dO/db; the readout's delta rule is
    # the gradient of alpha in D (half of it for the squared error)
    task = StimulusTask(kind, gain=5.0)  # a soft sigmoid: its clipping stays inactive
    w, c, b, d = two_unit_circuit(kind)
    r, p, s = stationary_grid(w, c, b)
    theta = torch.full((len(r),), THETA, dtype=torch.float64)
    rt, st = torch.from_numpy(r), torch.from_numpy(np.tile(s, (len(r), 1)))
    alpha = task.reward(theta, rt @ torch.from_numpy(d).T)
    mean_r = (p[:, None] * r).sum(0)
    averages = RunningAverages(
        rr=torch.from_numpy(np.tile(np.einsum("g,gi,gj->ij", p, r, r), (len(r), 1, 1))),
        rs=torch.from_numpy(np.tile(np.outer(mean_r, s), (len(r), 1, 1))),
        r=torch.from_numpy(np.tile(mean_r, (len(r), 1))),
    )
    weights = torch.from_numpy(p * len(r))
    d_w, d_c, d_b = reward_hebbian(alpha * weights, rt, st, averages)
    var = SPEC.sigma**2
    grad_w = finite_difference(lambda x: objective(x, c, b, d, task), w)
    grad_c = finite_difference(lambda x: objective(w, x, b, d, task), c)
    grad_b = finite_difference(lambda x: objective(w, c, x, d, task), b)
    assert np.abs(grad_w).max() > 1e-3  # the check has something to check
    np.testing.assert_allclose(d_w.numpy(), var * grad_w, atol=2e-4 * np.abs(var * grad_w).max())
    np.testing.assert_allclose(d_c.numpy(), var / 2 * grad_c, atol=1e-3 * np.abs(grad_c).max())
    np.testing.assert_allclose(d_b.numpy(), var / 2 * grad_b, atol=1e-3 * np.abs(grad_b).max())


@pytest.mark.parametrize(("kind", "share"), [("estimation", 0.5), ("classification", 1.0)])
def test_the_readout_rule_is_the_rewards_gradient_in_d(kind, share):
    # the delta rule is d alpha / dD (half of it for the squared error), sample by sample
    task = StimulusTask(kind, gain=3.0)  # a soft sigmoid: its clipping stays inactive
    g = torch.Generator().manual_seed(0)
    r = torch.rand(5, 3, generator=g, dtype=torch.float64)
    d = torch.rand(task.n_outputs, 3, generator=g, dtype=torch.float64) - 0.5
    d.requires_grad_(True)
    theta = 2 * math.pi * torch.rand(5, generator=g, dtype=torch.float64) - math.pi
    task.reward(theta, r @ d.T).mean().backward()
    torch.testing.assert_close(readout_delta(task, theta, r, d.detach()), share * d.grad)


def test_the_local_rule_learns_the_estimation_task():
    task = StimulusTask("estimation")
    spec = CircuitSpec()
    start = init_circuit(12, task, seed=0)
    rule = LocalRule.paper("estimation").scaled(400.0)
    trained = train_local(
        start, task, spec, rule, n_chains=16, n_trials=1, trial_time=140.0, seed=1
    )
    curve = trained.curve.objective
    assert len(curve) == 14 and curve[-3:].mean() > curve[:3].mean() + 0.2
    before = probe_performance(probe(start, spec, probe_angles(), hold_time=20.0), task)
    after = probe_performance(probe(trained.circuit, spec, probe_angles(), hold_time=20.0), task)
    assert before > 0.9 and after < 0.6 * before


def test_bptt_learns_the_classification_task():
    task = StimulusTask("classification")
    spec = CircuitSpec()
    start = init_circuit(10, task, seed=0, bias=0.7)
    trained = train_bptt(
        start, task, spec, n_chains=32, n_updates=40, window_time=2.0, lr=0.05, seed=1
    )
    before = probe_performance(probe(start, spec, probe_angles(), hold_time=10.0), task)
    after = probe_performance(probe(trained.circuit, spec, probe_angles(), hold_time=10.0), task)
    assert after < 0.5 * before and after < 0.25


def test_probe_shapes_and_a_silent_readouts_error():
    # D = 0 reports (0, 0): the squared error is |(cos, sin)|^2 = 1 at every angle
    task = StimulusTask("estimation")
    circuit = init_circuit(5, task, seed=0)
    circuit = Circuit(circuit.recurrent, circuit.input, circuit.bias, 0 * circuit.readout)
    result = probe(circuit, SPEC, probe_angles(6), n_chains=2, hold_time=2.0, transient=1.0)
    assert result.rates.shape == (6, 2 * 10, 5) and result.drive.shape == (6, 20, 2)
    assert result.inputs.shape == (6, 12)
    assert probe_performance(result, task) == pytest.approx(1.0)
    assert np.all(result.rates >= SPEC.r_min)
    # classification with D = 0 says "lower" everywhere (o = 1/2 is not above 1/2): under a
    # flat prior it is wrong on the 5 upper angles of the 10 off the boundaries (0 and -pi)
    flat = StimulusTask("classification", kappa=0.0)
    silent = Circuit(circuit.recurrent, circuit.input, circuit.bias, circuit.readout[:1])
    result = probe(silent, SPEC, probe_angles(), n_chains=1, hold_time=1.0, transient=1.0)
    assert probe_performance(result, flat) == pytest.approx(0.5)


def test_the_paper_constants_and_bad_settings():
    rule = LocalRule.paper("estimation")
    assert rule.lr_recurrent == 5e-6 and rule.decay_recurrent == pytest.approx(8e-4)
    assert LocalRule.paper("classification").lr_readout == 1e-8
    assert rule.scaled(10).lr_input == pytest.approx(5e-5) and rule.scaled(10).decay_input == (
        rule.decay_input
    )
    with pytest.raises(ConfigError, match="task kind"):
        StimulusTask("regression")
    with pytest.raises(ConfigError, match="transient"):
        train_local(
            init_circuit(3, StimulusTask("estimation"), seed=0),
            StimulusTask("estimation"),
            SPEC,
            rule,
            n_chains=2,
            n_trials=1,
            trial_time=10.0,
            seed=0,
        )
    assert math.isclose(probe_angles(12)[6], 0.0, abs_tol=1e-12)


@pytest.mark.parametrize(("kind", "bias"), [("estimation", 0.0), ("classification", 0.7)])
def test_the_compiled_loop_equals_the_python_loop(kind, bias):
    # the same noise through both: every parameter and the learning curve agree to float32
    # rounding after 3,000 steps that move the weights by 1e-2 to 1e-1
    if _train._compiled() is None:
        pytest.skip("the C++ loop could not be built here (no compiler)")
    task = StimulusTask(kind, kappa=1.5)
    start = init_circuit(12, task, seed=0, bias=bias)
    rule = dataclasses.replace(LocalRule.paper(kind).scaled(400.0), transient=5.0)
    runs = {
        engine: train_local(
            start,
            task,
            SPEC,
            rule,
            n_chains=8,
            n_trials=2,
            trial_time=15.0,
            seed=1,
            engine=engine,
        )
        for engine in ("python", "compiled")
    }
    for ours, theirs, initial in zip(
        runs["compiled"].circuit.tensors(),
        runs["python"].circuit.tensors(),
        start.tensors(),
        strict=True,
    ):
        moved = float((theirs - initial).abs().max())
        assert moved > 1e-3  # learning happened
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-3 * moved + 1e-6)
    np.testing.assert_allclose(
        runs["compiled"].curve.objective, runs["python"].curve.objective, atol=1e-5
    )
