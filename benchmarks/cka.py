"""All-pairs linear CKA of many networks: neurodyn's feature-space form against the Gram form.

The networks: K responses of 64 units to the same M = 8,000 conditions (float64), each a
random linear read-out of a shared 16-dimensional latent plus its own noise, so the pairs'
CKA values spread between 0 and 1. neurodyn's `linear_cka` computes all K^2 pairs from the
cross-covariances of the networks side by side, `||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)`,
in blocked matrix products. The reference is the Gram form as the CKA reference code
(Kornblith et al. 2019) writes it, pair by pair: two centred `[M, M]` Gram matrices and their
inner product; its all-pairs time is extrapolated from `--peer-pairs` pairs, which both score.

Usage: python benchmarks/cka.py [--networks 100] [--rows 8000] [--units 64] [--device cuda]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import torch

from neurodyn.analysis.similarity import linear_cka


def responses(k: int, m: int, n: int, device: str) -> torch.Tensor:
    """`[K, M, N]` float64 responses sharing a 16-dimensional latent."""
    g = torch.Generator().manual_seed(0)
    latent = torch.randn(m, 16, generator=g, dtype=torch.float64)
    readout = torch.randn(k, 16, n, generator=g, dtype=torch.float64)
    noise = torch.linspace(0.1, 3.0, k, dtype=torch.float64)[:, None, None]
    x = latent @ readout + noise * torch.randn(k, m, n, generator=g, dtype=torch.float64)
    return x.to(device)


def gram_form(x: torch.Tensor, y: torch.Tensor) -> float:
    """CKA of one pair from centred linear Gram matrices (Kornblith et al. 2019, eq. 3)."""

    def centred_gram(z: torch.Tensor) -> torch.Tensor:
        gram = z @ z.T
        means = gram.mean(0)
        return gram - means[None, :] - means[:, None] + means.mean()

    gram_x, gram_y = centred_gram(x), centred_gram(y)
    return float((gram_x * gram_y).sum() / (gram_x.norm() * gram_y.norm()))


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_rate(device: str) -> float:
    """float64 FLOP/s of a 2048 x 2048 matmul on `device`, measured now (the machine's
    load at the time sets what the all-pairs time can reach)."""
    a = torch.randn(2048, 2048, dtype=torch.float64, device=device)
    a @ a
    sync(device)
    start = time.perf_counter()
    for _ in range(3):
        a @ a
    sync(device)
    return 3 * 2 * 2048**3 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=100)
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--peer-pairs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x = responses(args.networks, args.rows, args.units, args.device)
    linear_cka(x[:2])  # load the kernels before timing
    times = []
    for _ in range(args.repeats):
        sync(args.device)
        start = time.perf_counter()
        ours = linear_cka(x).values
        times.append(time.perf_counter() - start)
    our_seconds = min(times)
    pairs = [(i, (i * 37 + 11) % args.networks) for i in range(args.peer_pairs)]
    pairs = [(i, j) for i, j in pairs if i != j]
    sync(args.device)
    start = time.perf_counter()
    theirs = [gram_form(x[i], x[j]) for i, j in pairs]
    sync(args.device)
    per_pair = (time.perf_counter() - start) / len(pairs)
    n_pairs = args.networks * (args.networks - 1) // 2
    rate = matmul_rate(args.device)
    # the least arithmetic all pairs need: one M x N x N product per unordered pair and self
    flops = args.networks * (args.networks + 1) * args.rows * args.units**2
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.machine()
    print(
        f"{args.networks} networks x [{args.rows} rows, {args.units} units], {n_pairs} pairs, "
        f"float64 on {args.device} ({device}); torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, python {sys.version.split()[0]}\n"
    )
    print("| form | seconds, all pairs | per pair | speed-up |")
    print("|---|---|---|---|")
    print(
        f"| Gram form, pair by pair (extrapolated from {len(pairs)} pairs) | "
        f"{per_pair * n_pairs:.1f} | {per_pair * 1e3:.1f} ms | 1x |"
    )
    print(
        f"| neurodyn `linear_cka` (feature space, all pairs; best of {args.repeats}) | "
        f"{our_seconds:.2f} | {our_seconds / n_pairs * 1e3:.3f} ms | "
        f"{per_pair * n_pairs / our_seconds:.0f}x |"
    )
    print(
        f"\nfloat64 matmul rate now: {rate / 1e9:.0f} GFLOP/s; the all-pairs products at that "
        f"rate: {flops / rate:.2f} s, ours {our_seconds / (flops / rate):.2f}x that"
    )
    gap = max(abs(ours[i, j] - t) for (i, j), t in zip(pairs, theirs, strict=True))
    print(f"on the {len(pairs)} pairs both scored: max |ours - Gram form| = {gap:.1e}")


if __name__ == "__main__":
    main()
