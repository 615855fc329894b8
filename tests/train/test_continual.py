"""Intelligent synapses (Zenke et al. 2017) as Yang et al. 2019 use them, and EWC."""

import pytest
import torch
from torch import nn

from neurodyn.errors import ConfigError
from neurodyn.runs import parse_config, train_run
from neurodyn.train.penalties import ElasticWeightConsolidation, IntelligentSynapses


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([[1.0, -2.0]]))  # E = 1


def test_path_integral_importance_anchor_and_penalty_by_hand():
    model, c, xi = Toy(), 0.5, 0.1
    si = IntelligentSynapses(c, xi)
    state = si.init(model)
    a = torch.tensor([[3.0, 1.0]])
    steps = []
    for _ in range(2):  # two plain gradient steps on L = sum(a w^2)
        model.w.grad = None
        (a * model.w**2).sum().backward()
        si.after_backward(state, model)
        grad, before = model.w.grad.clone(), model.w.detach().clone()
        with torch.no_grad():
            model.w -= 0.1 * model.w.grad
        si.after_update(state, model)
        steps.append((before, grad, model.w.detach().clone()))
    path = -sum((after - before) * grad for before, grad, after in steps)
    torch.testing.assert_close(state["path"]["w"], path)
    start = torch.tensor([[1.0, -2.0]])
    si.end_stage(state, model, task=None, stage=0)
    importance = torch.relu(path / ((model.w.detach() - start) ** 2 + xi))
    torch.testing.assert_close(state["importance"]["w"], importance)
    torch.testing.assert_close(state["anchor"]["w"], model.w.detach())
    assert float(state["path"]["w"].abs().sum()) == 0.0
    # the penalty, and the task gradient recovered from a penalised backward pass
    with torch.no_grad():
        model.w += 0.3
    penalty = si.value(state, model, trajectory=None, batch=None)
    torch.testing.assert_close(penalty, c * (importance * 0.09).sum(1))
    model.w.grad = None
    ((a * model.w**2).sum() + si.value(state, model, None, None).sum()).backward()
    si.after_backward(state, model)
    torch.testing.assert_close(state["_grad"]["w"], 2 * a * model.w.detach())


def test_ewc_importance_is_the_mean_squared_gradient_and_accumulates():
    model = Toy()
    ewc = ElasticWeightConsolidation(strength=2.0)
    state = ewc.init(model)
    grads = [{"w": torch.tensor([[1.0, 2.0]])}, {"w": torch.tensor([[3.0, 0.0]])}]
    ewc.consolidate(state, model, grads)
    torch.testing.assert_close(state["importance"]["w"], torch.tensor([[5.0, 2.0]]))
    ewc.consolidate(state, model, grads)  # a second group adds its own Fisher
    torch.testing.assert_close(state["importance"]["w"], torch.tensor([[10.0, 4.0]]))
    with torch.no_grad():
        model.w += 0.5
    torch.testing.assert_close(
        ewc.value(state, model, None, None), torch.tensor([0.5 * 2.0 * (10 + 4) * 0.25])
    )


def sequential(c, tmp_path, name, method="intelligent_synapses"):
    stage = {"battery": "yang19", "tasks": ["fdgo", "fdanti"]}
    config = parse_config(
        {
            "task": stage,
            "stream": 1,  # the trials the penalty's margins below were measured on
            "model": {"n_hidden": 16, "seeds": [3], "sigma_rec": 0.0},
            "train": {
                "batch_size": 16,
                "lr": 0.01,
                "log_every": 5,
                "keep_weights_every": 15,
                method: c,
            },
            "curriculum": [
                {"task": {**stage, "only": ["fdgo"]}, "steps": 15},
                {"task": {**stage, "only": ["fdanti"]}, "steps": 15},
            ],
        }
    )
    return train_run(config, tmp_path, run_id=name, progress=False)


def test_the_penalty_holds_weights_near_the_first_groups_solution(tmp_path):
    drift = {}
    for c in (0.0, 1000.0):
        run = sequential(c, tmp_path, f"c{c:g}")
        (s1, first), (s2, second) = run.weight_history()
        assert (s1, s2) == (15, 30)
        drift[c] = float((second.W_rec - first.W_rec).detach().norm())
        rows = [r for r in run.metrics() if "after_stage" in r]
        # after each group, every group so far is evaluated
        assert {(int(r["after_stage"]), int(r["stage"])) for r in rows} == {(0, 0), (1, 0), (1, 1)}
    # the second group moves the recurrent weights far less under a strong penalty
    assert drift[1000.0] < 0.5 * drift[0.0]
    (_, first), (_, second) = sequential(1e7, tmp_path, "ewc", method="ewc").weight_history()
    assert float((second.W_rec - first.W_rec).detach().norm()) < 0.5 * drift[0.0]
    with pytest.raises(ConfigError, match="choose one of"):
        parse_config({"task": "pdm", "train": {"intelligent_synapses": 0.1, "ewc": 1.0}})
    with pytest.raises(ConfigError, match="need a curriculum"):
        parse_config({"task": "pdm", "train": {"intelligent_synapses": 0.1}})


def test_a_checkpoint_that_saved_the_penalty_as_synapses_still_resumes():
    from neurodyn.models import CTRNN, NetworkSpec
    from neurodyn.train import TrainOptions, TrainState

    options = TrainOptions(penalties=(IntelligentSynapses(0.1),))
    state = TrainState.new(CTRNN(NetworkSpec(1, 2, 1)), options)
    state.penalty_states[0]["importance"]["W_rec"] += 2.0
    saved = state.state_dict()
    legacy = {k: v for k, v in saved.items() if k != "penalties"}
    legacy["synapses"] = saved["penalties"][0]
    resumed = TrainState.new(CTRNN(NetworkSpec(1, 2, 1)), options)
    resumed.load_state_dict(legacy)
    importance = resumed.penalty_states[0]["importance"]["W_rec"]
    torch.testing.assert_close(importance, torch.full((1, 2, 2), 2.0))
