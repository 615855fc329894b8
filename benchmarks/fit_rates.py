"""The fast rate fit against a straightforward per-neuron scikit-learn ridge loop.

Data: 200 neurons x 100 trials x 100 bins of rates from a random tanh rate network
(alpha 1, gain 1.5, small noise), 3 inputs. Both fit the same problem: each neuron's
next-step drive `atanh(r_{t+1})` regressed on `[r_t, u_t]` with an unpenalised intercept and
the same absolute ridge strength. neurodyn (`fit_rates`) builds one Gram matrix and solves for
all neurons at once; the reference loops over neurons with `sklearn.linear_model.Ridge` (the
way one fits one neuron at a time), on the same design matrix built once. Both weight sets are
compared (they must agree to float rounding).

Usage: python benchmarks/fit_rates.py [--neurons 200] [--trials 100] [--bins 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from sklearn.linear_model import Ridge

from neurodyn.fit import fit_rates


def make_rates(n: int, trials: int, bins: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    w = 1.5 * torch.randn(n, n, generator=g) / n**0.5
    w_in = torch.randn(n, 3, generator=g)
    u = 0.3 * torch.randn(bins, trials, 3, generator=g)
    r = [torch.zeros(trials, n)]
    for t in range(bins - 1):
        r.append(
            torch.tanh(r[-1] @ w.T + u[t] @ w_in.T + 0.05 * torch.randn(trials, n, generator=g))
        )
    return torch.stack(r), u


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=200)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--bins", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rates, inputs = make_rates(args.neurons, args.trials, args.bins)
    n = args.neurons
    ridge = 1e-2

    ours = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        fit = fit_rates(rates, inputs=inputs, activation="tanh", ridge=ridge)
        ours.append(time.perf_counter() - start)

    # the same problem for sklearn: design [r_t, u_t], targets the inverted drive, and the
    # absolute ridge strength fit_rates used (relative to the Gram matrix's mean diagonal)
    now = rates[:-1].reshape(-1, n).double()
    design = torch.cat([now, inputs[:-1].reshape(now.shape[0], -1).double()], 1)
    target = torch.atanh(rates[1:].reshape(-1, n).double().clamp(-1 + 1e-4, 1 - 1e-4))
    with_bias = torch.cat([design, torch.ones(len(design), 1, dtype=design.dtype)], 1)
    alpha = ridge * float((with_bias.T @ with_bias).diagonal().mean())
    x, y = design.numpy(), target.numpy()
    theirs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        coefs = np.stack([Ridge(alpha=alpha).fit(x, y[:, i]).coef_ for i in range(n)])
        theirs.append(time.perf_counter() - start)
    gap = float(np.abs(coefs[:, :n] - fit.W_rec[0].double().numpy()).max())

    print(
        f"{platform.machine()}, torch {torch.__version__} ({torch.get_num_threads()} threads); "
        f"{n} neurons x {args.trials} trials x {args.bins} bins; best of {args.repeats}"
    )
    print("| fit | seconds | vs per-neuron loop |")
    print("|---|---|---|")
    print(f"| sklearn Ridge, one neuron at a time | {min(theirs):.3f} | 1.00x |")
    print(f"| neurodyn fit_rates (one solve) | {min(ours):.3f} | {min(theirs) / min(ours):.1f}x |")
    print(f"largest weight difference: {gap:.2e}")


if __name__ == "__main__":
    main()
