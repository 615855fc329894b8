"""Time one training step (forward, backward, Adam) of neurodyn's CTRNN against the loop users
write today: the continuous-time RNN of the public neurogym / Yang-lab PyTorch tutorials, an
`nn.Linear` input layer and an `nn.Linear` recurrent layer called inside a Python loop over
time steps, then an `nn.Linear` readout (written here from that public description).

Both networks do the same maths (relu, alpha = dt/tau = 0.2, no noise), get the same data and
use torch's Adam; only the implementation differs. Also times an ensemble of E networks in one
neurodyn model, per network.

Usage: python benchmarks/train_step.py [--hidden 256] [--batch 64] [--steps 100] [--repeats 20]
Prints a markdown table; paste it into benchmarks/RESULTS.md with the date and machine.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch import nn

from neurodyn.models import CTRNN, CTRNNSpec
from neurodyn.train import masked_mse


class TutorialCTRNN(nn.Module):
    """The tutorial network: Linear layers and a Python loop over time."""

    def __init__(self, n_inputs: int, n_hidden: int, n_outputs: int, alpha: float) -> None:
        super().__init__()
        self.alpha = alpha
        self.input2h = nn.Linear(n_inputs, n_hidden)
        self.h2h = nn.Linear(n_hidden, n_hidden)
        self.fc = nn.Linear(n_hidden, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.zeros(x.shape[1], self.h2h.out_features)
        states = []
        for t in range(x.shape[0]):
            h_new = torch.relu(self.input2h(x[t]) + self.h2h(hidden))
            hidden = hidden * (1 - self.alpha) + h_new * self.alpha
            states.append(hidden)
        return self.fc(torch.stack(states))


def time_steps(step, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--inputs", type=int, default=85)
    parser.add_argument("--outputs", type=int, default=33)
    parser.add_argument("--ensemble", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    T, B, I, N, O = args.steps, args.batch, args.inputs, args.hidden, args.outputs  # noqa: E741
    x = torch.randn(T, B, I)
    y = torch.randn(T, B, O)
    mask = torch.ones(T, B, O)

    tutorial = TutorialCTRNN(I, N, O, alpha=0.2)
    tut_opt = torch.optim.Adam(tutorial.parameters(), lr=1e-3)

    def tutorial_step() -> None:
        tut_opt.zero_grad(set_to_none=True)
        loss = ((tutorial(x) - y) ** 2 * mask).mean()
        loss.backward()
        tut_opt.step()

    def ours(n_members: int):
        model = CTRNN(
            CTRNNSpec(
                I, N, O, dt_ms=20.0, tau_ms=100.0, sigma_rec=0.0, seeds=tuple(range(n_members))
            )
        )
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            out = model(x, noise=False).outputs
            loss = masked_mse(out, y[:, None], mask[:, None]).sum()
            loss.backward()
            opt.step()

        return step

    ours_one, ours_ensemble = ours(1), ours(args.ensemble)
    # Interleave the contenders over several rounds so machine noise hits them alike.
    rounds = {"tutorial": [], "ours": [], "ensemble": []}
    for _ in range(3):
        rounds["tutorial"].append(time_steps(tutorial_step, args.repeats))
        rounds["ours"].append(time_steps(ours_one, args.repeats))
        rounds["ensemble"].append(time_steps(ours_ensemble, max(3, args.repeats // 2)))
    tut, one, ens = (statistics.median(rounds[k]) for k in ("tutorial", "ours", "ensemble"))
    print(
        f"N={N}, B={B}, T={T}, I={I}, O={O}; torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
    )
    print()
    print("| implementation | ms per training step | speed-up vs tutorial |")
    print("|---|---|---|")
    print(f"| tutorial CTRNN (nn.Linear, Python loop) | {tut:.1f} | 1.00x |")
    print(f"| neurodyn CTRNN, E=1 | {one:.1f} | {tut / one:.2f}x |")
    print(
        f"| neurodyn CTRNN, E={args.ensemble} (per network) | {ens / args.ensemble:.1f} | {tut / (ens / args.ensemble):.2f}x |"
    )


if __name__ == "__main__":
    main()
