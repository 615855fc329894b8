"""Training a run: a new run trained to its steps, a stopped one resumed, a finished one
trained on past them, and `train_or_reuse`, which studies and sweeps build on.

Each keeps the run directory (`runs.run.Run`) up to date as it goes: a checkpoint every
`train.checkpoint_every` steps, and the status in `run.json` (running, stopped, interrupted,
diverged, finished), so training interrupted at any moment continues where it stopped.

Each holds the run's writer lock while it writes (`Run.writing`): a second process training,
resuming or analysing the same run is refused. A resume first checks that config.yaml is, in
every field that determines the weights, the config the checkpoint was trained with
(`Run.check_config`); only `train.steps` may grow. The run records the engine of the recurrent
loop that trained it (`RunInfo.engine`): the C++ and the Python loops agree per pass to float
rounding, not bitwise over a training, so a resume with the other engine warns.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from neurodyn._io import remove_stray_temporaries
from neurodyn._progress import stage
from neurodyn.errors import ConfigError, EngineChanged, NeurodynError, TrainingDiverged
from neurodyn.models import CTRNN, Network, build_model
from neurodyn.models.recurrence import engine
from neurodyn.runs.config import RunConfig
from neurodyn.runs.index import INDEX, remove_from_index
from neurodyn.runs.loggers import RunLoggers, check_loggers
from neurodyn.runs.run import ANALYSIS, CHECKPOINT, Run, _write_config
from neurodyn.tasks import Multitask
from neurodyn.train import TrainState, evaluate, fit


def _loggers(run: Run, state: TrainState, log_to: Sequence[str]) -> RunLoggers | None:
    names = [*run.config.train.log_to, *log_to]
    if not names:
        return None
    model, train = run.config.model, run.config.train
    params = {
        "tasks": "+".join(run.task.task_names),
        "cell": model.cell,
        "n_hidden": model.n_hidden,
        "seeds": ",".join(map(str, model.seeds)),
        "steps": train.steps,
        "batch_size": train.batch_size,
        "lr": train.lr,
    }
    return RunLoggers(names, run.path, run.id, params, seen=len(state.metrics))


def _engine_of(model: Network) -> str:
    """The implementation that runs `model`'s recurrent loop: the CTRNN's engine (compiled,
    python, reference), or 'torch' for the cells torch differentiates step by step."""
    if isinstance(model, CTRNN):
        return engine(next(model.parameters()).device)
    return "torch"


def _record_engine(run: Run, model: Network) -> None:
    """Add the engine about to train `run` to its `run.json`, warning if it is not the one
    that trained it so far."""
    now, before = _engine_of(model), run.info().engine
    if before is None or before.split("+")[-1] == now:
        if before is None:
            run._update_info(engine=now)
        return
    warnings.warn(
        EngineChanged(
            f"run {run.path} was trained by the {before.split('+')[-1]} loop and resumes on the "
            f"{now} one: they agree per pass to float rounding, not bitwise, so the weights "
            "will differ slightly from an uninterrupted run (NEURODYN_ENGINE chooses)"
        ),
        stacklevel=3,
    )
    run._update_info(engine=f"{before}+{now}")


def _saver(run: Run) -> Callable[[TrainState], None]:
    """`run.save_checkpoint`, recording the engine in `run.json` with the first checkpoint:
    by then the first step has built or loaded the C++ loops, under the trainer's signal
    handlers, and the engine is recorded with the weights it made."""
    recorded = False

    def save(state: TrainState) -> None:
        nonlocal recorded
        if not recorded:
            _record_engine(run, state.model)
            recorded = True
        run.save_checkpoint(state)

    return save


def _train(
    run: Run,
    state: TrainState,
    until_step: int | None,
    progress: bool,
    log_to: Sequence[str] = (),
) -> Run:
    options = run.config.train.options()
    save = _saver(run)
    loggers = _loggers(run, state, log_to)
    start = time.perf_counter()
    try:
        if run.config.curriculum is None:
            fit(
                state,
                run.task,
                options,
                until_step=until_step,
                on_checkpoint=save,
                progress=progress,
                on_log=loggers,
            )
            done = state.step >= options.steps or state.target_reached
        else:
            done = _fit_curriculum(run, state, until_step, progress, save, loggers)
    except TrainingDiverged as err:
        run._update_info(status="diverged")
        raise TrainingDiverged(f"{err}; {_after_divergence(run, state.step)}") from None
    except KeyboardInterrupt:
        run._update_info(status="interrupted")
        raise
    finally:
        if loggers is not None:
            loggers(state)  # rows added since the last logged step (a curriculum's evaluations)
            loggers.close()
    # recorded once training stopped by itself: a failing write here would otherwise hide
    # the error that stopped it (a full disk, a diverged loss)
    run.record_seconds("training", time.perf_counter() - start, add=True)
    if not done:
        run._update_info(status="stopped")
        return run
    evaluation = evaluate(state.model, run.task, batch_size=options.eval_batch_size)
    run._update_info(
        status="finished",
        performance=evaluation.mean,
        performance_by_member={k: list(v) for k, v in evaluation.performance.items()},
    )
    return run


def _fit_curriculum(
    run: Run,
    state: TrainState,
    until_step: int | None,
    progress: bool,
    save: Callable[[TrainState], None],
    loggers: RunLoggers | None = None,
) -> bool:
    """Train the curriculum's stages from `state.stage` on; True once the last is done."""
    stages = run.config.curriculum
    assert stages is not None
    while state.stage < len(stages):
        stage = stages[state.stage]
        end = state.stage_start + stage.steps
        options = dataclasses.replace(
            run.config.train.options(), steps=end, target_performance=stage.advance_at
        )
        state.target_reached = False
        fit(
            state,
            run.config.stage_task(state.stage),
            options,
            until_step=until_step,
            on_checkpoint=save,
            progress=progress,
            on_log=loggers,
        )
        for row in state.metrics:
            row.setdefault("stage", state.stage)
        if not (state.step >= end or state.target_reached):
            return False  # stopped by until_step; resume continues this stage
        # every task learned so far, after this stage: what continual learning keeps
        for j in range(state.stage + 1):
            by_member = evaluate(
                state.model, run.config.stage_task(j), batch_size=run.config.train.eval_batch_size
            ).performance
            for e, seed in enumerate(state.model.spec.seeds):
                evaluation: dict[str, float] = {"step": state.step, "member": e, "seed": seed}
                evaluation.update({"after_stage": state.stage, "stage": j})
                evaluation.update({f"perf.{k}": v[e] for k, v in by_member.items()})
                state.metrics.append(evaluation)
        state.end_stage(run.config.stage_task(state.stage))
        state.stage, state.stage_start = state.stage + 1, state.step
        save(state)  # the advance is part of the resumable state
    return True


def train_run(
    config: RunConfig,
    root: str | Path = "runs",
    *,
    run_id: str | None = None,
    until_step: int | None = None,
    progress: bool = True,
    log_to: Sequence[str] = (),
    prepare: Callable[[Network], None] | None = None,
) -> Run:
    """Create a run under `root` and train it (to `config.train.steps`, or `until_step`).

    `log_to` adds loggers to the config's `train.log_to` (tensorboard, mlflow: see
    `neurodyn.runs.loggers`).

    A finished run has its final performance (fresh trials, each member's own seed) in
    `run.info().performance`. A run stopped by `until_step` or interrupted can be continued
    with `resume_run`, which gives the same weights as training straight through.

    Parameters
    ----------
    config : RunConfig
        Everything the run needs (task, model, training), e.g. from `load_config`.
    root : str or Path
        The runs folder; the run is written to `root/run_id`.
    run_id : str, optional
        The run's folder name; by default one is made from the time and config.
    until_step : int, optional
        Stop at this step (the run stays resumable).
    progress : bool
        Show a progress bar.
    prepare : callable, optional
        Called with the newly built network before training, to set initial weights in place
        (e.g. a fit's readout biases to the neurons' mean rates); a resume starts from the
        checkpoint, so it is not called again.

    Returns
    -------
    Run
        The run on disk: its config, weights `W_rec: [E, N, N]`, metrics and info.
    """
    # the network first: a bad init_from or train_only fails before a run folder is made
    model = build_model(config.model.spec(config.make_task()))
    if config.model.init_from is not None:
        init_from(model, source_run(config.model.init_from, Path(root)).load_model())
        model.constrain_()  # this run's structure, whatever the source's
    if prepare is not None:
        with torch.no_grad():
            prepare(model)
    check_loggers([*config.train.log_to, *log_to])  # a missing package fails before the run
    state = TrainState.new(model, config.train.options())
    root = Path(root)
    made = [p for p in (root, root / INDEX) if not p.exists()]
    run = Run.create(root, config, run_id)
    try:
        with run.writing():
            return _train(run, state, until_step, progress, log_to)
    except BaseException:
        # a run that failed before its first checkpoint holds nothing to resume: leave no
        # half-made folder to block its name, nor an index or runs folder made just for it
        if not (run.path / CHECKPOINT).exists():
            shutil.rmtree(run.path, ignore_errors=True)
            remove_from_index(root, run.id)
            for path in reversed(made):
                if path.is_dir():
                    with contextlib.suppress(OSError):
                        path.rmdir()  # only if empty
                else:
                    path.unlink(missing_ok=True)
        raise


def source_run(init_from: str, root: Path) -> Run:
    """The run `model.init_from` names: a path (absolute, or relative to the working folder),
    else the id of a run in the same runs folder `root` as the run it starts. A study names
    its fine-tunings' starting runs by id, so its runs folder can move (or ship in the zoo).
    """
    return Run.open(source_path(init_from, root))


def source_path(init_from: str, root: Path) -> Path:
    """Where `model.init_from` points, read as `source_run` reads it."""
    path = Path(init_from)
    if not path.is_absolute() and not path.exists() and (root / path).is_dir():
        return root / path
    return path


def init_from(model: Network, source: Network) -> list[str]:
    """Copy `source`'s weights into `model` (in place); returns the names copied.

    Parameters of equal shape are copied. `W_in` may have more inputs than the source's: its
    leading columns are copied and the new ones keep their fresh initialisation (a task added
    to a battery brings one more rule input, at the end). The ensembles must have the same
    size, or the source one network, which every member then starts from.
    """
    mine, theirs = dict(model.named_parameters()), dict(source.named_parameters())
    if source.ensemble_size not in (1, model.ensemble_size):
        raise ConfigError(
            f"model.init_from has {source.ensemble_size} networks, this run {model.ensemble_size}: "
            "give as many seeds, or start from a one-network run"
        )
    with torch.no_grad():
        for name, p in mine.items():
            if name not in theirs:  # e.g. a learned h0 the source run did not have
                continue
            q = theirs[name].expand(p.shape[0], *theirs[name].shape[1:])
            if q.shape == p.shape:
                p.copy_(q)
            elif name == "W_in" and q.shape[:2] == p.shape[:2] and q.shape[2] < p.shape[2]:
                p[:, :, : q.shape[2]] = q
            else:
                raise ConfigError(
                    f"model.init_from: {name} is {tuple(q.shape[1:])} in the source run and "
                    f"{tuple(p.shape[1:])} here; only W_in may grow (new inputs at the end)"
                )
    return [name for name in mine if name in theirs]


def resume_run(
    path: str | Path,
    *,
    until_step: int | None = None,
    steps: int | None = None,
    progress: bool = True,
    log_to: Sequence[str] = (),
) -> Run:
    """Continue a run from its last checkpoint (exactly as if it had never stopped).

    `log_to` adds loggers to the config's `train.log_to`, as in `train_run`.

    `steps` trains on to that many steps in all, past the config's `train.steps`, a finished
    run included (e.g. towards a paper's budget after a first look). Nothing in training
    depends on the total, so the result is the run that `steps` in its config would have
    given from the start; config.yaml is rewritten to say so.

    Raises
    ------
    RunLocked
        Another process is writing the run.
    ConfigError
        config.yaml differs from the config the checkpoint was trained with in a field that
        determines the weights (the message names them); `train.steps` may only grow.
    """
    run = Run.open(path)
    with run.writing():
        # (under the lock: a live writer's temporary files are not stray)
        remove_stray_temporaries(run.path)  # left by a process killed mid-write
        return _resume(run, until_step, steps, progress, log_to)


def _resume(
    run: Run,
    until_step: int | None,
    steps: int | None,
    progress: bool,
    log_to: Sequence[str] = (),
) -> Run:
    saved = run.read_checkpoint() if (run.path / CHECKPOINT).exists() else None
    if saved is not None:
        run.check_config(saved)
    if steps is not None:
        run = _extend(run, steps)
    info = run.info()
    if info.status == "finished" and (steps is None or info.steps_done >= run.config.train.steps):
        raise NeurodynError(
            f"run {run.path} already finished its {run.config.train.steps} steps; nothing to "
            "resume (train on past them with `neurodyn train --resume RUN --steps N`)"
        )
    check_loggers([*run.config.train.log_to, *log_to])
    # which trials the run goes on with: its config.yaml's stream, 1 for runs made before
    # streams had versions
    stage(
        f"resuming run {run.id} at step {info.steps_done}: trials from random stream "
        f"{run.config.stream}",
        enabled=progress,
    )
    model = build_model(run.model_spec())
    if not (run.path / CHECKPOINT).exists() and run.config.model.init_from is not None:
        init_from(model, source_run(run.config.model.init_from, run.path.parent).load_model())
        model.constrain_()
    state = TrainState.new(model, run.config.train.options())
    if saved is not None:
        run.load_checkpoint(state, saved)
    _drop_analyses(run, info.steps_done, progress)
    return _train(run, state, until_step, progress, log_to)


def _drop_analyses(run: Run, steps_done: int, progress: bool) -> None:
    """Remove the analyses of the weights training is about to change: a report would
    otherwise show the fixed points and trajectories of step `steps_done` beside the
    performance of the run's new last step."""
    folder = run.path / ANALYSIS
    if folder.is_dir() and any(folder.iterdir()):
        shutil.rmtree(folder)
        stage(
            f"run {run.id}: its analyses (of the weights at step {steps_done}) removed; "
            "`neurodyn analyze` or `neurodyn report` computes them again",
            enabled=progress,
        )


def _extend(run: Run, steps: int) -> Run:
    """`run` with its config's `train.steps` raised to `steps` (config.yaml rewritten)."""
    config = run.config
    if config.curriculum is not None:
        raise ConfigError(
            f"{run.path} trains a curriculum, whose steps are set per stage; --steps cannot "
            "extend it"
        )
    if steps < config.train.steps:
        raise ConfigError(
            f"--steps {steps} is fewer than the {config.train.steps} steps {run.path} is "
            "configured for; a run can be trained on, not shortened (use --stop-at to stop early)"
        )
    if steps == config.train.steps:
        return run
    if run.info().steps_done > 0 and not (run.path / CHECKPOINT).exists():
        raise NeurodynError(f"{run.path} has no checkpoint to train on from")
    longer = dataclasses.replace(config, train=dataclasses.replace(config.train, steps=steps))
    _write_config(run.path, longer)
    return Run.open(run.path)


def _after_divergence(run: Run, last_step: int) -> str:
    """What a diverged run keeps and how to go on from it; `last_step` is the last step whose
    update was made (the loss of the next one was not finite)."""
    if not (run.path / CHECKPOINT).exists():
        return "no checkpoint was written before it, so the run holds no weights"
    kept = run.info().steps_done
    if kept == last_step:
        # checkpointed after the update whose weights gave the non-finite loss
        return (
            f"the checkpoint of step {kept} holds the weights that gave it: train the run "
            "again from the start with the lower rate"
        )
    # resuming refuses a changed config (the checkpoint's optimiser state belongs to the old
    # one), so the way on with a lower rate is a new run from these weights
    return (
        f"the checkpoint of step {kept} is kept: to go on from it with another setting, train "
        f"a new run with `model.init_from: {run.id}` in its config (its optimiser starts afresh)"
    )


def _uses_stream(config: RunConfig) -> bool:
    """Whether the run's trials depend on its random stream: a task set (`Multitask`) in
    the run's task or in a curriculum stage."""
    stages = range(len(config.curriculum or ()))
    made = [config.make_task(), *(config.stage_task(k) for k in stages)]
    return any(isinstance(task, Multitask) for task in made)


def _only_more_steps(old: RunConfig, new: RunConfig) -> bool:
    """Whether `new` is `old` trained for longer, and nothing else changed."""
    if new.curriculum is not None or new.train.steps <= old.train.steps:
        return False
    return (
        dataclasses.replace(old, train=dataclasses.replace(old.train, steps=new.train.steps)) == new
    )


def train_or_reuse(
    config: RunConfig,
    root: str | Path,
    run_id: str,
    *,
    progress: bool = True,
    train: bool = True,
) -> Run:
    """The run `root/run_id` of `config`, as studies and sweeps need it: a finished run is
    reused, a stopped or interrupted one resumed, a missing one trained. With `train=False`
    an existing run is returned as it is (an unfinished one at its last checkpoint).

    A run already there with the same config but fewer `train.steps` is trained on to the new
    count (with `train=False`, returned as it is); one with any other difference is refused
    (and left as it is on disk), and so is one whose weights were trained with another config
    than its config.yaml says (`Run.check_config`). When it trains, the run's writer lock is
    held throughout.
    """
    path = Path(root) / run_id
    if not Run.is_run(path):
        if not train:
            raise NeurodynError(f"no run {path} to analyse; train it first")
        return train_run(config, root, run_id=run_id, progress=progress)
    run = Run.open(path)
    with run.writing() if train else contextlib.nullcontext():
        return _reuse(run, config, progress, train)


def in_run_spelling(run: Run, config: RunConfig) -> RunConfig:
    """`config` spelled as `run`'s config.yaml spells the same training, so that the two
    compare equal when they train the same networks: the run's random stream where the
    config's trials do not depend on it (a single task's trials are the same on any stream, so
    a run made before streams had versions, stream 1, is this config's run), and the run's
    spelling of `model.init_from` when both name the same starting run (studies named them by
    path before, by id now)."""
    if config.stream != run.config.stream and not _uses_stream(config):
        config = dataclasses.replace(config, stream=run.config.stream)
    mine, theirs = config.model.init_from, run.config.model.init_from
    if mine is None or theirs is None or mine == theirs:
        return config
    root = run.path.parent
    if source_path(mine, root).resolve() != source_path(theirs, root).resolve():
        return config
    return dataclasses.replace(config, model=dataclasses.replace(config.model, init_from=theirs))


def _reuse(run: Run, config: RunConfig, progress: bool, train: bool) -> Run:
    path = run.path
    if run.info().status == "finished" or not train:
        run.check_config()  # resume_run checks the others as it reads their checkpoint
    config = in_run_spelling(run, config)
    if _only_more_steps(run.config, config):
        return resume_run(path, steps=config.train.steps, progress=progress) if train else run
    if run.config != config:
        raise ConfigError(
            f"{path} holds a run trained with another config; move it away or choose another "
            "runs folder (--runs)"
        )
    if train and run.info().status != "finished":
        run = resume_run(path, progress=progress)
    return run
