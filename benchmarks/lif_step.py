"""One training step of a LIF network on pdm-sized inputs: neurodyn's `lif` cell against the
same network written as a plain PyTorch loop in the style of the snntorch tutorials.

The maths is the same in both: a current-based LIF neuron (synaptic current decay
exp(-dt/tau_syn), membrane decay exp(-dt/tau_mem)), spikes through the fast-sigmoid surrogate
(slope 10), reset to 0 without a gradient through it, an exponentially filtered spike train
read out linearly; one step is forward over T steps, MSE loss, backward and Adam. The
tutorial loop keeps `nn.Linear` layers and the neuron's variables as separate tensors, as the
snntorch tutorials write it (no snntorch needed: its `Synaptic` neuron is the same
arithmetic). Both run in the same process, alternately, and the median of `--repeats` steps
is printed with the ratio.

Usage: python benchmarks/lif_step.py [--hidden 256] [--batch 64] [--steps 100] [--repeats 20]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import torch
from torch import nn

from neurodyn.models import NetworkSpec, build_model, spike_function

N_IN, N_OUT, DT_MS, TAU_MEM, TAU_SYN, TAU_OUT = 3, 3, 20.0, 100.0, 5.0, 100.0


class TutorialLIF(nn.Module):
    """The tutorials' loop: layers, then per step syn, mem, spike, reset, filtered trace."""

    def __init__(self, n_hidden: int) -> None:
        super().__init__()
        self.fc_in = nn.Linear(N_IN, n_hidden)
        self.fc_rec = nn.Linear(n_hidden, n_hidden, bias=False)
        self.fc_out = nn.Linear(n_hidden, N_OUT)
        self.a_syn = math.exp(-DT_MS / TAU_SYN)
        self.a_mem = math.exp(-DT_MS / TAU_MEM)
        self.a_out = math.exp(-DT_MS / TAU_OUT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[1]
        n = self.fc_rec.in_features
        syn = torch.zeros(batch, n)
        mem = torch.zeros(batch, n)
        spk = torch.zeros(batch, n)
        trace = torch.zeros(batch, n)
        outputs = []
        for x_t in x:
            syn = self.a_syn * syn + self.fc_in(x_t) + self.fc_rec(spk)
            mem = self.a_mem * mem + (1 - self.a_mem) * syn
            spk = spike_function(mem - 1.0)
            mem = mem * (1 - spk.detach())
            trace = self.a_out * trace + (1 - self.a_out) * spk
            outputs.append(self.fc_out(trace))
        return torch.stack(outputs)


def time_step(model: nn.Module, forward, x: torch.Tensor, y: torch.Tensor, repeats: int) -> float:
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for i in range(repeats + 2):
        start = time.perf_counter()
        optimiser.zero_grad()
        loss = (forward(x) - y).pow(2).mean()
        loss.backward()
        optimiser.step()
        if i >= 2:  # the first steps allocate
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--flush-denormal", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    x = torch.rand(args.steps, args.batch, N_IN) * 2
    y = torch.randn(args.steps, args.batch, N_OUT)
    spec = NetworkSpec(
        n_inputs=N_IN,
        n_hidden=args.hidden,
        n_outputs=N_OUT,
        cell="lif",
        dt_ms=DT_MS,
        tau_ms=TAU_MEM,
        tau_syn_ms=TAU_SYN,
        tau_readout_ms=TAU_OUT,
        sigma_rec=0.0,
    )
    ours = build_model(spec)
    tutorial = TutorialLIF(args.hidden)
    ours_ms = time_step(ours, lambda v: ours(v, noise=False).outputs[:, 0], x, y, args.repeats)
    tutorial_ms = time_step(tutorial, tutorial, x, y, args.repeats)
    print(
        f"device cpu ({platform.machine()}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; N={args.hidden}, B={args.batch}, T={args.steps}"
    )
    print("| tutorial loop ms | neurodyn lif ms | neurodyn vs tutorial |")
    print("|---|---|---|")
    print(f"| {tutorial_ms:.1f} | {ours_ms:.1f} | {tutorial_ms / ours_ms:.2f}x |")


if __name__ == "__main__":
    main()
