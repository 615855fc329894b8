"""Many binary classifications of one noisy latent variable (`latent_classification`).

The task family of Vafidis, Bhargava & Rangel (ICLR 2025), "Disentangling representations
through multi-task learning" (public code: panvaf/DisentangleRes, `LinearClassificationCentOut`
and `train.py`): a latent point x* is drawn uniformly from the square [-0.5, 0.5]^D; during the
stimulus epoch the network sees x* plus Gaussian noise at every step, optionally through a
fixed random non-linear encoder that mixes the D coordinates into 40 features; at the decision
step it reports, for each of N classification lines through the centre, which side of the line
x* lies on. Each report needs only the evidence integrated along one direction, yet with
N > D lines the optimal network must hold an estimate of x* itself, and the paper finds that
RNNs then represent x* disentangled (abstract): a linear decoder of x* trained on three
quadrants generalises to the fourth.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.tasks._base import Batch, Duration, Task, at_step, between, ensemble_view

# The public code's encoder: D -> 100 -> 100 -> 40, ReLU, weights as torch's nn.Linear draws
# them, frozen. It turns the abstract (linear) input code into a non-abstract one.
ENCODER_WIDTHS = (100, 100, 40)
# The quadrants of the square, numbered as the public code numbers them for D = 2.
QUADRANT_SIGNS = ((1, 1), (-1, 1), (-1, -1), (1, -1))


@dataclass(frozen=True)
class LatentClassification(Task):
    """N binary classifications of a latent point seen through noise.

    Inputs `[fixation, features...]`: fixation is 1 through the fixation and stimulus epochs;
    the features are the noisy observation x* + noise (noise of standard deviation
    `sigma / sqrt(dt_ms)` per step and coordinate, the public code's scaling), during the
    stimulus epoch only (zero before and after), passed through the fixed random encoder when
    `encode` (40 features; the encoder also sees the zeros outside the stimulus) or given as
    they are (D features).

    Outputs: the logits of N independent binary reports, trained by binary cross-entropy on
    every step of the trial: target 0.5 (undecided) before the decision epoch, then 1 if x*
    lies above line i (`x*_2 > tan(phi_i) x*_1`, `phi_i = (i + 1/2) pi / N`: lines through the
    centre at evenly spaced angles, as the public code) and 0 otherwise. For D > 2 the lines are
    hyperplanes through the centre with normals drawn from `boundary_seed`.

    Performance: the share of right reports (logit > 0 for 1) at the trial's last step,
    averaged over the N reports.

    `quadrants` restricts x* to some quadrants (D = 2; numbered 1-4 as the public code: 1 =
    (+, +), 2 = (-, +), 3 = (-, -), 4 = (+, -)) for out-of-distribution tests.

    `trial` facts: `latent [B, D]` (x*), `labels [B, N]` (the right reports, 0/1).
    """

    name: ClassVar[str] = "latent_classification"
    description: ClassVar[str] = (
        "report which side of N lines a noisy latent point lies (Vafidis et al. 2025)"
    )
    loss: ClassVar = "binary_cross_entropy"

    dt_ms: float = 100.0
    fixation_ms: Duration = 100.0
    stimulus_ms: Duration = 2000.0
    decision_ms: Duration = 100.0
    n_dim: int = 2
    n_tasks: int = 24
    sigma: float = 2.0
    encode: bool = True
    encoder_seed: int = 0
    boundary_seed: int = 0
    quadrants: tuple[int, ...] = (1, 2, 3, 4)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.n_dim, int) or self.n_dim < 1:
            raise ConfigError(f"{self.name}: n_dim must be a positive integer, got {self.n_dim}")
        if not isinstance(self.n_tasks, int) or self.n_tasks < 1:
            raise ConfigError(
                f"{self.name}: n_tasks must be a positive integer, got {self.n_tasks}"
            )
        if not 0 <= self.sigma < math.inf:
            raise ConfigError(f"{self.name}: sigma must be a finite number >= 0, got {self.sigma}")
        if tuple(self.quadrants) != (1, 2, 3, 4):
            if self.n_dim != 2:
                raise ConfigError(
                    f"{self.name}: quadrants are defined for n_dim = 2, not {self.n_dim}; leave "
                    "quadrants at [1, 2, 3, 4]"
                )
            if not self.quadrants or not set(self.quadrants) <= {1, 2, 3, 4}:
                raise ConfigError(
                    f"{self.name}: quadrants must be a non-empty list among 1, 2, 3, 4, got "
                    f"{list(self.quadrants)}"
                )

    @property
    def n_inputs(self) -> int:  # type: ignore[override]
        return 1 + (ENCODER_WIDTHS[-1] if self.encode else self.n_dim)

    @property
    def n_outputs(self) -> int:  # type: ignore[override]
        return self.n_tasks

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {
            "fixation": self.fixation_ms,
            "stimulus": self.stimulus_ms,
            "decision": self.decision_ms,
        }

    @functools.cached_property
    def normals(self) -> Tensor:
        """`[N, D]`: each classification's normal; report 1 where `normal . x* > 0`."""
        if self.n_dim == 2:
            phi = (torch.arange(self.n_tasks, dtype=torch.float64) + 0.5) * math.pi / self.n_tasks
            # the code's report x2 > tan(phi) x1 is (-tan(phi), 1) . x* > 0, for every phi
            normal = torch.stack([-torch.tan(phi), torch.ones_like(phi)], dim=-1)
            return (normal / normal.norm(dim=-1, keepdim=True)).float()
        generator = torch.Generator().manual_seed(self.boundary_seed)
        normal = torch.randn(self.n_tasks, self.n_dim, generator=generator, dtype=torch.float64)
        return (normal / normal.norm(dim=-1, keepdim=True)).float()

    @functools.cached_property
    def encoder(self) -> torch.nn.Sequential:
        """The frozen random encoder (D -> 100 -> 100 -> 40, ReLU), drawn from `encoder_seed`
        with torch's default `nn.Linear` initialisation."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.encoder_seed)
            widths = (self.n_dim, *ENCODER_WIDTHS)
            layers: list[torch.nn.Module] = []
            for i, (a, b) in enumerate(itertools.pairwise(widths)):
                layers.append(torch.nn.Linear(a, b))
                if i < len(ENCODER_WIDTHS) - 1:
                    layers.append(torch.nn.ReLU())
        encoder = torch.nn.Sequential(*layers)
        encoder.requires_grad_(False)
        return encoder

    def encode_features(self, observation: Tensor) -> Tensor:
        """The features the network sees for an observation `[..., D]`: the encoder's output
        `[..., 40]` when `encode`, else the observation itself."""
        if not self.encode:
            return observation
        encoder = self.encoder.to(observation.device)
        with torch.no_grad():
            return encoder(observation)

    def labels(self, latent: Tensor) -> Tensor:
        """The right reports `[B, N]` (0/1 floats) for latent points `[B, D]`."""
        return (latent @ self.normals.to(latent.device).T > 0).float()

    def _draw_latent(self, batch_size: int, generator: torch.Generator) -> Tensor:
        device = generator.device
        uniform = torch.rand(batch_size, self.n_dim, generator=generator, device=device) - 0.5
        if tuple(self.quadrants) == (1, 2, 3, 4):
            return uniform
        signs = torch.tensor(
            [QUADRANT_SIGNS[q - 1] for q in self.quadrants], dtype=torch.float32, device=device
        )
        pick = torch.randint(len(signs), (batch_size,), generator=generator, device=device)
        return uniform.abs() * signs[pick]

    def _fill(self, bounds, end, generator):
        n_steps, batch_size = self.n_steps, end.shape[0]
        device = end.device
        latent = self._draw_latent(batch_size, generator)
        noise = (self.sigma / math.sqrt(self.dt_ms)) * torch.randn(
            n_steps, batch_size, self.n_dim, generator=generator, device=device
        )
        stimulus = between(n_steps, *bounds["stimulus"])
        observation = stimulus[..., None] * (latent[None] + noise)
        decision_start = bounds["decision"][0]
        fixating = between(n_steps, torch.zeros_like(end), decision_start)
        in_trial = between(n_steps, torch.zeros_like(end), end)

        x = torch.zeros(n_steps, batch_size, self.n_inputs, device=device)
        x[..., 0] = fixating.float()
        x[..., 1:] = self.encode_features(observation) * in_trial[..., None]
        labels = self.labels(latent)
        y = torch.where(fixating[..., None], 0.5, labels[None].expand(n_steps, -1, -1))
        mask = in_trial[..., None].float().expand(-1, -1, self.n_outputs).contiguous()
        return x, y.contiguous(), mask, {"latent": latent, "labels": labels}

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        final = at_step(outputs, trial["end"] - 1)  # [E, B, N]
        right = (final > 0).float() == trial["labels"]
        perf = right.float().mean((-1, -2))
        return perf[0] if squeeze else perf
