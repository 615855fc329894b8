"""The 3-bit flip-flop of Sussillo & Barak (2013).

Each of `n_bits` input channels carries occasional pulses of +1 or -1; the matching output
must hold the sign of the last pulse it received. A trained network stores 2**n_bits discrete
memories, which makes this the standard test bed for fixed-point analysis.

Reference: Sussillo & Barak (2013), "Opening the black box", Neural Computation 25, 626-649.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.tasks._base import Batch, Duration, Task, between, ensemble_view


@dataclass(frozen=True)
class FlipFlop(Task):
    """n-bit flip-flop memory (default 3 bits).

    Every bit gets a pulse of random sign at step 0, so its target is defined from the start;
    after that each bit gets a pulse with probability `pulse_probability` per step. Targets
    `[T, B, n_bits]` are the sign of the last pulse; mean squared error on every step.

    Performance: fraction of time steps at which every output bit has the right sign.
    """

    name: ClassVar[str] = "flipflop"
    description: ClassVar[str] = (
        "3-bit flip-flop: hold the sign of the last pulse on each of 3 channels"
    )
    n_inputs: ClassVar[int] = 3
    n_outputs: ClassVar[int] = 3
    loss: ClassVar = "mse"

    dt_ms: float = 10.0
    trial_ms: Duration = 500.0
    pulse_probability: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.pulse_probability <= 1:
            raise ConfigError(
                f"flipflop: pulse_probability must be in [0, 1], got {self.pulse_probability}"
            )

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {"memory": self.trial_ms}

    def _fill(self, bounds, end, generator):
        n_steps, batch_size, device = self.n_steps, end.shape[0], end.device
        shape = (n_steps, batch_size, self.n_inputs)
        pulse = torch.rand(shape, generator=generator, device=device) < self.pulse_probability
        pulse[0] = True
        sign = torch.where(torch.rand(shape, generator=generator, device=device) < 0.5, -1.0, 1.0)
        in_trial = between(n_steps, torch.zeros_like(end), end)[..., None]
        x = pulse * sign * in_trial
        # The target is the last pulse's sign: carry the latest nonzero input forward in time.
        last_pulse_step = torch.where(pulse, torch.arange(n_steps, device=device)[:, None, None], 0)
        last_pulse_step = torch.cummax(last_pulse_step, dim=0).values
        y = torch.gather(sign, 0, last_pulse_step) * in_trial
        mask = in_trial.float().expand(shape).contiguous()
        return x.float(), y, mask, {}

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        targets = batch.y if batch.y.dim() == 4 else batch.y[:, None]
        in_trial = between(outputs.shape[0], torch.zeros_like(trial["end"]), trial["end"])
        right = (torch.sign(outputs) == torch.sign(targets)).all(-1)  # [T, E, B]
        perf = (right & in_trial).sum((0, 2)).float() / in_trial.sum((0, 2)).float()
        return perf[0] if squeeze else perf
