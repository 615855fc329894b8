"""Delayed classification of images (Haviv, Rivkind & Barak 2019, "Understanding and controlling
memory in recurrent neural networks", ICML).

A trial is a sequence of images, one per step: noise images, except one class image shown at a
random step; at a later random step (at least `min_delay` steps after it) a query input asks
for the class, and the network must answer then; everywhere else it answers "null". Trials last
up to `t_max` steps (padded after their end). The paper grows either the number of classes or
`t_max` in a curriculum; both are parameters here, so a `curriculum:` in a config does it.

Images: the 8 x 8 handwritten digits that ship with scikit-learn (no download; scikit-learn
is needed only for them), or any array the user passes (`images [M, P]` in [0, 1] with
`labels [M]`, through the Python API). Noise images have independent pixels drawn uniformly
from [0, 1] (the paper's noise images; their distribution is our choice).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.tasks._base import Batch, Duration, Task, at_step, batch_generator, ensemble_view

N_PIXELS = 64


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8 x 8 digits: images `[1797, 64]` scaled to [0, 1] and labels `[1797]`."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError(
            "the digits come with scikit-learn: pip install scikit-learn (or pass images)"
        ) from None
    data = load_digits()
    return (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)


@dataclass(frozen=True, eq=False)
class DelayedClassification(Task):
    """Haviv et al. 2019's delayed classification (see the module docstring).

    Inputs `[64 pixels, query]`; outputs `[null, class 0 .. class C-1]` (C = `n_classes`, up
    to 10), trained by cross-entropy on every step of the trial. Performance: the share of
    trials whose output at the query step picks the right class.
    """

    name: ClassVar[str] = "delayed_classification"
    description: ClassVar[str] = (
        "Haviv et al. 2019: remember an image's class through noise images until queried"
    )
    n_inputs: ClassVar[int] = N_PIXELS + 1
    n_outputs: ClassVar[int] = 1 + 10
    loss: ClassVar = "cross_entropy"

    dt_ms: float = 10.0
    n_classes: int = 10
    t_max: int = 20
    min_delay: int = 4
    images: np.ndarray | None = None
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 2 <= self.n_classes <= 10:
            raise ConfigError(f"n_classes must lie in 2..10, got {self.n_classes}")
        if self.min_delay < 1 or self.t_max < self.min_delay + 2:
            raise ConfigError(
                f"need min_delay >= 1 and t_max >= min_delay + 2, got {self.min_delay}, {self.t_max}"
            )
        if (self.images is None) != (self.labels is None):
            raise ConfigError("give both images and labels, or neither (the digits)")
        if self.images is not None and self.images.shape[1:] != (N_PIXELS,):
            raise ConfigError(f"images must be [M, {N_PIXELS}], got {self.images.shape}")

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {"trial": self.t_max * self.dt_ms}

    def _data(self) -> tuple[Tensor, Tensor]:
        images, labels = (self.images, self.labels) if self.images is not None else digits()
        assert labels is not None
        keep = labels < self.n_classes
        return torch.from_numpy(np.asarray(images[keep], np.float32)), torch.from_numpy(
            np.asarray(labels[keep], np.int64)
        )

    def _fill(self, bounds, end, generator):
        raise NotImplementedError  # sample() below draws the whole trial

    def sample(
        self, batch_size: int, *, generator: torch.Generator | None = None, seed: int | None = None
    ) -> Batch:
        generator = batch_generator(batch_size, generator, seed)
        device = generator.device
        b = batch_size
        # trial length, then the query's step, then the image's (at least min_delay before)
        length = torch.randint(
            self.min_delay + 2, self.t_max + 1, (b,), generator=generator, device=device
        )
        query = (
            self.min_delay
            + (torch.rand(b, generator=generator, device=device) * (length - self.min_delay)).long()
        )
        shown = (
            torch.rand(b, generator=generator, device=device) * (query - self.min_delay + 1)
        ).long()
        return self._trials(shown, query, length, self.t_max, generator)

    def fixed_delay(
        self,
        batch_size: int,
        delay: int,
        *,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> Batch:
        """Trials whose query comes exactly `delay` steps after the image (which is shown at
        step 0..3), the trial ending right after the query: the probe of memory at delays
        beyond those trained (`delay` may exceed `t_max`)."""
        if delay < 1:
            raise ConfigError(f"delay must be at least 1 step, got {delay}")
        generator = batch_generator(batch_size, generator, seed)
        device = generator.device
        shown = torch.randint(0, 4, (batch_size,), generator=generator, device=device)
        query = shown + delay
        length = query + 1
        return self._trials(shown, query, length, int(length.max()), generator)

    def _trials(self, shown: Tensor, query: Tensor, length: Tensor, n_steps: int, generator):
        """The batch of trials with these image and query steps and lengths: noise images,
        the class image at `shown`, the query flag at `query`, zero input after `length`."""
        device = generator.device
        images, labels = (t.to(device) for t in self._data())
        b = len(shown)
        pick = torch.randint(len(images), (b,), generator=generator, device=device)
        label = labels[pick]
        steps = torch.arange(n_steps, device=device)[:, None]  # [T, 1]
        x = torch.rand(n_steps, b, self.n_inputs, generator=generator, device=device)
        x[..., -1] = (steps == query[None]).float()
        x[..., :N_PIXELS] = torch.where(
            (steps == shown[None])[..., None], images[pick][None], x[..., :N_PIXELS]
        )
        in_trial = steps < length[None]
        x = x * in_trial[..., None]
        target = torch.where(steps == query[None], label[None] + 1, 0)  # 0: null
        y = torch.nn.functional.one_hot(target, self.n_outputs).float()
        # classes beyond n_classes never appear; their outputs are still trained towards "no"
        mask = in_trial[..., None].float().expand(-1, -1, self.n_outputs).contiguous()
        zero = torch.zeros_like(length)
        trial = {
            "trial_start": zero,
            "trial_end": length,
            "end": length,
            "shown": shown,
            "query": query,
            "label": label,
        }
        return Batch(x=x, y=y, mask=mask, trial=trial, epochs=("trial",), dt_ms=self.dt_ms)

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        answer = at_step(outputs, trial["query"]).argmax(-1)  # [E, B]
        perf = (answer == trial["label"] + 1).float().mean(-1)
        return perf[0] if squeeze else perf


@dataclass(frozen=True)
class ClassCentres:
    """Where each class's memory sits (Haviv et al. 2019), per member.

    Attributes
    ----------
    centres : Tensor [E, C, N]
        Mean state of each class over the memory period.
    mean_input : Tensor [E, C, I]
        Mean input there.
    present : Tensor [E, C], bool
        Which classes occur in the batch (an absent class's centre is zero).
    """

    centres: Tensor
    mean_input: Tensor
    present: Tensor


def class_centres(
    states: Tensor, inputs: Tensor, trial: dict[str, Tensor], n_classes: int
) -> ClassCentres:
    """Centre of mass of the states of each class over the memory period (Haviv et al. 2019):
    the steps after the class image and before the query, of every trial of that class.

    Parameters
    ----------
    states : [T, E, B, N];  inputs : [T, E, B, I] (or [T, B, I], shared)
    trial : facts with `shown`, `query`, `label`, each `[E, B]` (or `[B]`)

    Returns
    -------
    ClassCentres
    """
    n_steps, n_members = states.shape[0], states.shape[1]
    if inputs.dim() == 3:
        inputs = inputs[:, None].expand(-1, n_members, -1, -1)
    facts = {
        k: (v if v.dim() == 2 else v[None].expand(n_members, -1))
        for k in ("shown", "query", "label")
        for v in [trial[k]]
    }
    steps = torch.arange(n_steps, device=states.device)[:, None, None]
    memory = (steps > facts["shown"][None]) & (steps < facts["query"][None])  # [T, E, B]
    onehot = torch.nn.functional.one_hot(facts["label"], n_classes).to(states.dtype)  # [E, B, C]
    weight = memory.to(states.dtype)[..., None] * onehot[None]  # [T, E, B, C]
    count = weight.sum((0, 2))  # [E, C]
    centres = torch.einsum("tebc,tebn->ecn", weight, states) / count.clamp(min=1)[..., None]
    mean_input = torch.einsum("tebc,tebi->eci", weight, inputs) / count.clamp(min=1)[..., None]
    return ClassCentres(centres=centres, mean_input=mean_input, present=count > 0)
