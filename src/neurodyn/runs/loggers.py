"""Send a run's training metrics to the tools people already watch: TensorBoard and MLflow.

Asked for with `train.log_to: [tensorboard, mlflow]` in a run's config (or `neurodyn train
--log-to tensorboard`). Each logged step, every member's row of `metrics.csv` goes out as
scalars named `<metric>/seed<seed>` (`loss/seed0`, `perf.pdm/seed1`), so one chart holds the
whole ensemble.

- tensorboard: event files under `RUN/tensorboard/` (torch's own `SummaryWriter`; needs the
  `tensorboard` package: `pip install 'neurodyn[tensorboard]'`); view with
  `tensorboard --logdir RUN/tensorboard`.
- mlflow: a file store under `RUN/mlruns/` (no server), one MLflow run per neurodyn run
  (`pip install 'neurodyn[mlflow]'`); view with
  `MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri RUN/mlruns` (MLflow 3 asks for
  that variable before it opens a file store, which it keeps in maintenance mode).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from neurodyn.errors import ConfigError, install_hint
from neurodyn.train import TrainState

LOGGERS = ("tensorboard", "mlflow")
TENSORBOARD = "tensorboard"
MLRUNS = "mlruns"

# Row fields that say which row it is rather than measure anything.
_KEYS = ("step", "member", "seed", "stage", "after_stage")


class MetricLogger(Protocol):
    """Where scalars go: `log(step, {name: value})`, then `close()` once training ends."""

    def log(self, step: int, values: dict[str, float]) -> None: ...

    def close(self) -> None: ...


class TensorBoardLogger:
    """Scalars to TensorBoard event files in `folder` (torch's `SummaryWriter`)."""

    def __init__(self, folder: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "train.log_to: tensorboard needs the tensorboard package: "
                "pip install 'neurodyn[tensorboard]'"
            ) from None
        self._writer = SummaryWriter(log_dir=str(folder))

    def log(self, step: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            self._writer.add_scalar(name, value, global_step=step)

    def close(self) -> None:
        self._writer.close()


class MLflowLogger:
    """Scalars to an MLflow file store in `folder`, as one MLflow run named after the run.

    An MlflowClient with its own tracking URI, so neither the process's active MLflow run nor
    its `MLFLOW_TRACKING_URI` is touched.
    """

    def __init__(self, folder: Path, run_name: str, params: dict[str, Any]) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise ConfigError(
                "train.log_to: mlflow needs the mlflow package: pip install 'neurodyn[mlflow]'"
            ) from None
        with _file_store_allowed():
            # the store is made (and cached by MLflow, per folder) on the first request
            self._client = MlflowClient(tracking_uri=folder.resolve().as_uri())
            experiment = self._client.get_experiment_by_name("neurodyn")
        experiment_id = (
            self._client.create_experiment("neurodyn")
            if experiment is None
            else experiment.experiment_id
        )
        found = self._client.search_runs(
            [experiment_id], filter_string=f"tags.mlflow.runName = '{run_name}'"
        )
        if found:  # a resumed run logs on into its MLflow run
            self._run_id = found[0].info.run_id
        else:
            self._run_id = self._client.create_run(experiment_id, run_name=run_name).info.run_id
            for key, value in params.items():
                self._client.log_param(self._run_id, key, value)

    def log(self, step: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            # MLflow's metric names allow no '/' on every store: seed tags use '.'
            self._client.log_metric(self._run_id, name.replace("/", "."), value, step=step)

    def close(self) -> None:
        self._client.set_terminated(self._run_id)


@contextlib.contextmanager
def _file_store_allowed() -> Iterator[None]:
    """MLflow 3 opens a file store only with MLFLOW_ALLOW_FILE_STORE set; set it while ours is
    opened (a file store in the run folder is the point: no server, no database), and put the
    user's environment back."""
    if "MLFLOW_ALLOW_FILE_STORE" in os.environ:
        yield
        return
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)


def check_loggers(names: Sequence[str]) -> None:
    """Raise ConfigError, before anything is trained, if a logger is unknown or its package
    is missing."""
    unknown = [n for n in names if n not in LOGGERS]
    if unknown:
        raise ConfigError(
            f"train.log_to names unknown loggers {unknown}; choose from {', '.join(LOGGERS)}"
        )
    packages = {"tensorboard": "tensorboard", "mlflow": "mlflow"}
    for name in dict.fromkeys(names):
        if importlib.util.find_spec(packages[name]) is None:
            raise ConfigError(
                f"train.log_to: {name} needs the {packages[name]} package: {install_hint(name)}"
            )


class RunLoggers:
    """The loggers of a run, called by the trainer at each logged step (`fit(on_log=...)`).

    Rows already in `state.metrics` when training (re)starts were logged before and are
    skipped.
    """

    def __init__(
        self, names: Sequence[str], path: Path, run_name: str, params: dict[str, Any], seen: int
    ) -> None:
        check_loggers(names)
        self._seen = seen
        self._loggers: list[MetricLogger] = []
        for name in dict.fromkeys(names):
            if name == "tensorboard":
                self._loggers.append(TensorBoardLogger(path / TENSORBOARD))
            else:
                self._loggers.append(MLflowLogger(path / MLRUNS, run_name, params))

    def __call__(self, state: TrainState) -> None:
        rows = state.metrics[self._seen :]
        self._seen = len(state.metrics)
        for row in rows:
            values = {
                f"{key}/seed{row['seed']}": float(value)
                for key, value in row.items()
                if key not in _KEYS and isinstance(value, int | float)
            }
            if values:
                for logger in self._loggers:
                    logger.log(int(row["step"]), values)

    def close(self) -> None:
        for logger in self._loggers:
            logger.close()
