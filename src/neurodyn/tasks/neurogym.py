"""Any neurogym environment as a neurodyn task.

neurogym (Molano-Mazón et al., https://github.com/neurogym/neurogym) describes a task as an
environment that makes one trial at a time: observations `ob [T_i, I]`, ground-truth actions
`gt [T_i]` and the steps of each period (`start_ind`, `end_ind`). `from_neurogym` wraps one so
every neurodyn tool (training, runs, analyses, fixed points) can use it:

- inputs are the observations, padded with zeros after each trial's end;
- targets are the ground-truth actions as one-hot vectors, trained by cross-entropy on every
  step of the trial (neurogym has no loss mask; its tutorials train on every step);
- performance is the share of trials whose output at the trial's last step picks the
  ground-truth action (the decision neurogym's tasks score);
- the periods become epochs: `batch.trial["<period>_start"]`, `["<period>_end"]`.

Trials are drawn with the environment seeded from the batch's generator, so a batch is
reproducible from its seed. neurogym is an optional dependency (`pip install neurogym`); it
is imported only when a task is made.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from neurodyn.errors import ConfigError, ShapeError, nearest_names
from neurodyn.errors import excerpt as _excerpt
from neurodyn.tasks._base import Batch, Duration, Task, at_step, batch_generator, ensemble_view

_PROBE_TRIALS = 200  # trials drawn once to learn the periods and the longest trial


def _make_env(env_id: str, dt_ms: float, kwargs: dict[str, Any]):
    # gymnasium's make() imports the module of a 'module:Env' id, so an id from a config
    # file could run any installed module: only ids neurogym registers are accepted.
    if not isinstance(env_id, str) or ":" in env_id:
        raise ConfigError(
            f"neurogym id {_excerpt(env_id)} is not a registered environment id: "
            "give a name such as 'PerceptualDecisionMaking-v0' (no 'module:Env' imports)"
        )
    try:
        import neurogym as ngym
    except ImportError:
        raise ConfigError(
            f"neurogym task {env_id!r} needs neurogym: pip install neurogym (or neurodyn[neurogym])"
        ) from None
    registered = set(ngym.all_envs())
    if env_id not in registered:
        near = nearest_names(env_id, registered)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise ConfigError(
            f"neurogym id {_excerpt(env_id)} is not a registered neurogym environment{hint}: "
            "see neurogym.all_envs()"
        )
    try:
        env = ngym.make(env_id, dt=dt_ms, **kwargs)
    except Exception as err:  # gymnasium raises several kinds for unknown ids and arguments
        raise ConfigError(f"neurogym could not make {env_id!r} with {kwargs}: {err}") from None
    return env.unwrapped


@dataclass(frozen=True)
class NeurogymTask(Task):
    """A neurogym environment as a task (see the module docstring).

    Parameters: `env_id` (e.g. 'PerceptualDecisionMaking-v0'), `env_kwargs` (passed to
    `neurogym.make`, as (name, value) pairs), `dt_ms` (the environment's dt), `max_steps`
    (the batch length; default: the longest of 200 probe trials, with a quarter more room).
    """

    description: ClassVar[str] = "any neurogym environment (neurodyn.tasks.from_neurogym)"
    loss: ClassVar = "cross_entropy"

    env_id: str = "PerceptualDecisionMaking-v0"
    env_kwargs: tuple[tuple[str, Any], ...] = ()
    max_steps: int | None = None

    @property  # type: ignore[misc]
    def name(self) -> str:  # type: ignore[override]
        """The environment's id: metrics, analyses and multitask rules name it so."""
        return self.env_id

    @functools.cached_property
    def env(self):
        return _make_env(self.env_id, self.dt_ms, dict(self.env_kwargs))

    @functools.cached_property
    def _probe(self) -> tuple[tuple[str, ...], int]:
        env = self.env
        env.seed(0)
        periods: tuple[str, ...] = ()
        longest = 0
        for _ in range(_PROBE_TRIALS):
            env.new_trial()
            periods = periods or tuple(env.start_ind)
            longest = max(longest, len(env.gt))
        return periods, longest

    @property  # type: ignore[misc]
    def n_inputs(self) -> int:  # type: ignore[override]
        return int(np.prod(self.env.observation_space.shape))

    @property  # type: ignore[misc]
    def n_outputs(self) -> int:  # type: ignore[override]
        return int(self.env.action_space.n)

    @property
    def n_steps(self) -> int:
        if self.max_steps is not None:
            return self.max_steps
        return int(np.ceil(1.25 * self._probe[1]))

    def epoch_durations_ms(self) -> dict[str, Duration]:
        # the periods' names; their lengths come from the environment, trial by trial
        return dict.fromkeys(self._probe[0], 0.0)

    def _fill(self, bounds, end, generator):  # pragma: no cover - sample() is overridden
        raise NotImplementedError

    def sample(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> Batch:
        generator = batch_generator(batch_size, generator, seed)
        env = self.env
        env.seed(int(torch.randint(2**31 - 1, (1,), generator=generator)))
        n_steps, periods = self.n_steps, self.epochs
        x = np.zeros((n_steps, batch_size, self.n_inputs), dtype=np.float32)
        labels = np.zeros((n_steps, batch_size), dtype=np.int64)
        mask = np.zeros((n_steps, batch_size), dtype=np.float32)
        ends = np.zeros(batch_size, dtype=np.int64)
        starts = {p: np.zeros(batch_size, dtype=np.int64) for p in periods}
        stops = {p: np.zeros(batch_size, dtype=np.int64) for p in periods}
        for b in range(batch_size):
            env.new_trial()
            length = len(env.gt)
            if length > n_steps:
                raise ShapeError(
                    f"{self.env_id} made a trial of {length} steps, longer than the batch's "
                    f"{n_steps}; set the task's max_steps"
                )
            x[:length, b] = np.asarray(env.ob, dtype=np.float32).reshape(length, -1)
            labels[:length, b] = np.asarray(env.gt).reshape(length)
            mask[:length, b] = 1.0
            ends[b] = length
            for p in periods:
                starts[p][b], stops[p][b] = env.start_ind[p], env.end_ind[p]
        device = generator.device
        y = torch.nn.functional.one_hot(torch.from_numpy(labels), self.n_outputs).float()
        trial = {f"{p}_start": torch.from_numpy(starts[p]) for p in periods}
        trial.update({f"{p}_end": torch.from_numpy(stops[p]) for p in periods})
        trial["end"] = torch.from_numpy(ends)
        trial["label"] = torch.from_numpy(labels[ends - 1, np.arange(batch_size)])
        return Batch(
            x=torch.from_numpy(x),
            y=y,
            mask=torch.from_numpy(mask)[..., None].expand(-1, -1, self.n_outputs).contiguous(),
            trial=trial,
            epochs=periods,
            dt_ms=self.dt_ms,
        ).to(device)

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        final = at_step(outputs, trial["end"] - 1)  # [E, B, O]
        perf = (final.argmax(-1) == trial["label"]).float().mean(-1)
        return perf[0] if squeeze else perf


def from_neurogym(
    env_id: str, *, dt_ms: float = 100.0, max_steps: int | None = None, **env_kwargs: Any
) -> NeurogymTask:
    """The neurogym environment `env_id` as a neurodyn task (neurogym must be installed).

    Example: `from_neurogym("PerceptualDecisionMaking-v0", dt_ms=100)`; keyword arguments
    other than `dt_ms` and `max_steps` go to `neurogym.make`.
    """
    task = NeurogymTask(
        dt_ms=dt_ms,
        env_id=env_id,
        env_kwargs=tuple(sorted(env_kwargs.items())),
        max_steps=max_steps,
    )
    task.env  # noqa: B018 - make the environment now, so a bad id fails here
    return task
