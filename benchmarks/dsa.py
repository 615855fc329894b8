"""All-pairs Dynamical Similarity Analysis of many networks: neurodyn against dsa-metric.

The networks: K random tanh RNNs (64 units, spectral radius 0.9 to 1.3) driven by noise, 20
trials x 200 steps each. Both tools fit rank-10 DMD operators on 2 delays and score pairs with
the angular Procrustes score (dsa-metric 2.0.2 `score_method='angular'`, its defaults
iters=1500, lr=5e-3; ours: 8 starts in each component of O(r), up to 300 Riemannian
Barzilai-Borwein steps, all pairs in one batch). dsa-metric runs pair by pair, so its
all-pairs time is extrapolated from `--peer-pairs` pairs; those pairs are also scored by both, to compare the answers.

dsa-metric is not a dependency: give the python of a virtual environment where it is
installed (`--peer-python`, e.g. one made with `pip install torch==2.13.0 dsa-metric==2.0.2`).

Usage: python benchmarks/dsa.py --peer-python /path/to/venv/bin/python [--networks 100]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from neurodyn.analysis.dsa import dsa

PEER = """
import json, sys, time
import numpy as np, torch
from DSA import DSA
data = np.load(sys.argv[1])
pairs = json.loads(sys.argv[2])
torch.manual_seed(0)
out, start = [], time.perf_counter()
for i, j in pairs:
    d = DSA(data[f"x{i}"], data[f"x{j}"], n_delays=2, rank=10, score_method="angular")
    out.append(float(np.asarray(d.fit_score()).ravel()[0]))
print(json.dumps({"scores": out, "seconds": time.perf_counter() - start}))
"""


def networks(k: int, n: int = 64, trials: int = 20, steps: int = 200) -> list[np.ndarray]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(k):
        gain = 0.9 + 0.4 * i / max(k - 1, 1)
        w = gain * torch.randn(n, n, generator=g) / n**0.5
        h = torch.zeros(trials, n)
        states = []
        for _ in range(steps):
            h = torch.tanh(h @ w.T + 0.3 * torch.randn(trials, n, generator=g))
            states.append(h)
        out.append(torch.stack(states, 1).numpy())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=100)
    parser.add_argument("--peer-python", required=True)
    parser.add_argument("--peer-pairs", type=int, default=10)
    args = parser.parse_args()
    data = networks(args.networks)
    start = time.perf_counter()
    # dsa-metric reads trials first, neurodyn time-major [T, B, N]
    ours = dsa([torch.from_numpy(x).transpose(0, 1) for x in data], n_delays=2, rank=10).values
    our_seconds = time.perf_counter() - start
    n_pairs = args.networks * (args.networks - 1) // 2
    rng = np.random.default_rng(0)
    all_pairs = [(i, j) for i in range(args.networks) for j in range(i + 1, args.networks)]
    picks = [all_pairs[p] for p in rng.choice(len(all_pairs), args.peer_pairs, replace=False)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, **{f"x{i}": x for i, x in enumerate(data)})
        result = subprocess.run(
            [args.peer_python, "-c", PEER, str(path), json.dumps(picks)],
            capture_output=True,
            text=True,
            check=True,
        )
    peer = json.loads(result.stdout.strip().splitlines()[-1])
    peer_all = peer["seconds"] / len(picks) * n_pairs
    theirs = np.array(peer["scores"])
    mine = np.array([ours[i, j] for i, j in picks])
    print(
        f"{args.networks} networks x (20 trials, 200 steps, 64 units), {n_pairs} pairs; "
        f"n_delays 2, rank 10, angular score; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.machine()}, python {sys.version.split()[0]}\n"
    )
    print("| tool | seconds, all pairs | per pair | speed-up |")
    print("|---|---|---|---|")
    print(
        f"| dsa-metric 2.0.2 (extrapolated from {len(picks)} pairs) | {peer_all:.0f} | "
        f"{peer['seconds'] / len(picks):.2f} | 1x |"
    )
    print(
        f"| neurodyn `dsa` (all pairs, one batch) | {our_seconds:.1f} | "
        f"{our_seconds / n_pairs * 1e3:.1f} ms | {peer_all / our_seconds:.0f}x |"
    )
    print(
        f"\non the {len(picks)} pairs both scored: ours minus theirs: mean {np.mean(mine - theirs):+.4f} rad, "
        f"max |diff| {np.max(np.abs(mine - theirs)):.4f} rad; ours lower (a better optimum) on "
        f"{int(np.sum(mine < theirs - 1e-4))}, higher on {int(np.sum(mine > theirs + 1e-4))}"
    )


if __name__ == "__main__":
    main()
