"""The training's random streams: one generator per member and stream, and batches drawn from
them, so every member sees what it would see trained alone."""

from __future__ import annotations

import numpy as np
import torch

from neurodyn.tasks import Batch, stack_batches

_STREAMS = {"data": 1, "noise": 2, "eval": 3, "fisher": 4, "fisher-noise": 5}


def member_generators(seeds: tuple[int, ...], stream: str, *index: int) -> list[torch.Generator]:
    """One generator per member for a named stream ('data', 'noise', 'eval', 'fisher',
    'fisher-noise'), optionally numbered (e.g. by curriculum stage).

    Streams are derived from the member's seed with numpy's SeedSequence, so they are
    independent of each other and of the weight initialisation.
    """
    key = _STREAMS[stream]
    gens = []
    for seed in seeds:
        entropy = [int(seed), key, *index]
        state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
        gens.append(torch.Generator().manual_seed(int(state)))
    return gens


def sample_ensemble(
    task, batch_size: int, generators: list[torch.Generator], *, step: int | None = None
) -> Batch:
    """One batch per member, stacked: `x [T, E, B, I]`. With `step`, a multitask that
    interleaves tasks batch by batch gives the task of that training step."""
    if step is not None and hasattr(task, "for_step"):
        task = task.for_step(step)
    return stack_batches([task.sample(batch_size, generator=g) for g in generators])
