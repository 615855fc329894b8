"""The report of the memory-kernels study (Li, Han, E & Li 2022): the error against width and
memory, the training curves and their plateaus, and the learned time constants, under the
runner's title and summary."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.memory_kernels.figures import plot_errors, plot_plateaus, plot_timescales
from neurodyn.studies.memory_kernels.measure import KernelsConfig, KernelsResults

__all__ = ["report"]


def report(
    results: KernelsResults, config: KernelsConfig, runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body: the settings, then the three figures."""
    d, e = config.descent, config.exact
    sampled = (
        f"; {', '.join(config.sampled_kernels)} at width {config.sampled_width} also trained "
        f"by neurodyn's trainer on the task ({config.train.get('steps')} steps of fresh white "
        "noise)"
        if config.sampled_width is not None and config.sampled_kernels
        else ""
    )
    return "\n".join(
        [
            f'<p class="meta">Linear RNNs of widths {", ".join(map(str, config.widths))}, '
            f"{len(config.seeds)} seeds each, trained by Adam on the exact white-noise loss "
            f"({e['steps']} steps of {e['lr']}); gradient descent on the exact loss at width "
            f"{d['width']}, {d['steps']} steps of {d['lr']}, read-in and read-out scaled by "
            f"{d['init_scale']} at the start{sampled}. Kernels: "
            f"{', '.join(config.kernels)}.</p>",
            figure_html(
                plot_errors(results),
                "The error of the learned kernel (the share of the target's variance missed on "
                "white noise) against the width m, one line per kernel: exponential kernels "
                "are one exponential, power laws need more the slower they decay.",
            ),
            figure_html(
                plot_plateaus(results),
                "Training curves (exact error) of the first seed, by kernel: left Adam at the "
                "largest width, right plain gradient descent from a small initialisation, "
                "whose plateau at the start lengthens with the kernel's memory.",
            ),
            figure_html(
                plot_timescales(results),
                "Left: the learned exponentials' time constants (dots, every network at the "
                "largest width) against the kernel; crosses: the exponential kernels' own. "
                "Right: the learned kernel of the first network against its target.",
            ),
        ]
    )
