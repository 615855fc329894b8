"""The `neurodyn` command. Thin: it parses arguments and calls the library."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

import matplotlib

from neurodyn._version import versions, versions_line
from neurodyn.errors import (
    ConfigError,
    NeurodynError,
    NeurodynWarning,
    RunNotFound,
    excerpt,
    install_hint,
)

if TYPE_CHECKING:
    from neurodyn.runs import Run

# Commands whose process exists to train: they keep freed memory for reuse (neurodyn._malloc).
TRAINING_COMMANDS = ("train", "sweep", "study", "demo", "zoo")


def _cmd_tasks(args: argparse.Namespace) -> None:
    from neurodyn import tasks

    width = max(len(n) for n in tasks.names())
    print(
        f"{'name':<{width}} {'inputs':>6} {'outputs':>7} {'steps':>5} {'dt_ms':>5}  {'loss':<13} description"
    )
    for name in tasks.names():
        t = tasks.get(name)
        print(
            f"{name:<{width}} {t.n_inputs:>6} {t.n_outputs:>7} {t.n_steps:>5} {t.dt_ms:>5g}  {t.loss:<13} {t.description}"
        )
    print(
        f"\nbatteries (several tasks on one network, shared channels and rule inputs): "
        f"{', '.join(sorted(tasks.BATTERIES))}; e.g. `task: yang19` in a config"
    )


def _runs_folder(value: str) -> str:
    """The --runs folder, refused when it is empty or names something that is not a folder."""
    from pathlib import Path

    if not value.strip():
        raise ConfigError("--runs is empty: name the folder of runs (default: runs)")
    if Path(value).exists() and not Path(value).is_dir():
        raise ConfigError(f"--runs {excerpt(value)} is a file, not a folder of runs")
    return value


def _sweep_folder(value: str, sweep: str) -> str:
    """The folder of a sweep's runs, refused when it is not there (a mistyped --runs read as
    an empty folder said only that no run belongs to the sweep)."""
    from pathlib import Path

    _runs_folder(value)
    if not Path(value).is_dir():
        raise RunNotFound(
            f"--runs {excerpt(value)} does not exist: name the folder that holds the runs of "
            f"sweep {excerpt(sweep)} (default: runs)"
        )
    return value


def _at_least(value: int | None, low: int, option: str) -> None:
    if value is not None and value < low:
        raise ConfigError(f"{option} must be at least {low}, got {value}")


def _cmd_train(args: argparse.Namespace) -> None:
    from neurodyn.runs import load_config, resume_run, train_run
    from neurodyn.runs.config import check_name

    _runs_folder(args.runs)
    _at_least(args.stop_at, 1, "--stop-at")
    _at_least(args.steps, 1, "--steps")
    if args.name is not None:
        check_name(args.name, "--name")

    if args.resume:
        if args.config:
            raise NeurodynError("give either a CONFIG to start a run or --resume RUN, not both")
        run = resume_run(
            args.resume,
            until_step=args.stop_at,
            steps=args.steps,
            progress=not args.quiet,
            log_to=args.log_to or (),
        )
    else:
        if args.steps is not None:
            raise NeurodynError(
                "--steps trains a run on with --resume RUN; a new run takes its steps from "
                "train.steps in its config"
            )
        if not args.config:
            raise NeurodynError("give a CONFIG file to train (or --resume RUN)")
        run = train_run(
            load_config(args.config),
            args.runs,
            run_id=args.name,
            until_step=args.stop_at,
            progress=not args.quiet,
            log_to=args.log_to or (),
        )
    info = run.info()
    summary = (
        ", ".join(f"{k} {v:.3f}" for k, v in info.performance.items())
        if info.performance
        else f"stopped at step {info.steps_done}"
    )
    print(f"{run.path}  [{info.status}]  {summary}")
    if info.status == "finished":
        print(
            f"look at it: neurodyn report {run.path}; neurodyn fixedpoints {run.path}; "
            f"neurodyn dynamics {run.path} --cycles"
        )
    else:
        print(f"train on: neurodyn train --resume {run.path}")


def _cmd_analyze(args: argparse.Namespace) -> None:
    from neurodyn.runs import Run
    from neurodyn.runs.analyze import analyze_run

    _at_least(args.member, 0, "--member")
    if args.motifs and args.task_variance:
        raise ConfigError("--motifs and --task-variance are two analyses: ask for one at a time")
    if args.member is not None and (args.motifs or args.task_variance):
        raise ConfigError(
            "--member picks the network of the plain analyses; --motifs and --task-variance "
            "cover every member: leave it out"
        )
    if args.trials is not None and not (args.motifs or args.task_variance):
        raise ConfigError(
            "--trials sets the trials of --motifs or --task-variance; the plain analyses "
            "take 256: leave --trials out, or add one of those two"
        )
    run = Run.open(args.run)
    if args.motifs:
        _motifs(run, args)
        return
    if args.task_variance:
        _task_variance(run, args)
        return
    for result in analyze_run(run, member=args.member or 0, progress=not args.quiet):
        drives = result.recurrent_input_ratio
        ratio = (
            ", ".join(
                f"{k} {v:.2f}" if not math.isnan(v) else f"{k} no input"
                for k, v in drives.by_epoch.items()
            )
            if drives is not None
            else "not defined for this cell (no weight_ih/weight_hh)"
        )
        print(
            f"{result.task}: PC1-3 explain {100 * result.pca.explained_variance_ratio[:3].sum():.0f}% · recurrent/input drive: {ratio}"
        )
    print(f"results in {run.path / 'analysis'}")


def _motifs(run: Run, args: argparse.Namespace) -> None:
    from neurodyn.runs.motifs import analyze_motifs, describe

    trials = 128 if args.trials is None else args.trials
    _at_least(trials, 2, "--trials")
    results = analyze_motifs(run, trials=trials, lesion_trials=trials, progress=not args.quiet)
    for line in describe(results):
        print(line)
    print(f"results in {run.path / 'analysis'}; `neurodyn report {run.path}` shows them")


def _task_variance(run: Run, args: argparse.Namespace) -> None:
    from neurodyn.runs.task_variance import analyze_task_variance, describe

    trials = 256 if args.trials is None else args.trials
    _at_least(trials, 2, "--trials")
    for line in describe(analyze_task_variance(run, trials=trials, progress=not args.quiet)):
        print(line)
    print(f"results in {run.path / 'analysis'}; `neurodyn report {run.path}` shows them")


def _cmd_report(args: argparse.Namespace) -> None:
    from neurodyn.report import write_report
    from neurodyn.runs import Run
    from neurodyn.runs.analyze import analyze_run, load_analyses

    if args.sweep and args.run is not None:
        raise ConfigError(
            f"name a RUN or a sweep (--sweep {args.sweep}), not both: a sweep's report and a "
            "run's are two reports"
        )
    if args.sweep:
        from neurodyn.report.sweep import write_sweep_report

        runs = _sweep_folder(args.runs or "runs", args.sweep)
        print(write_sweep_report(runs, args.sweep))
        return
    if args.run is None:
        raise NeurodynError("name a RUN to report on, or a sweep (--sweep NAME)")
    if args.runs is not None:
        # a run is named by its path; --runs only says where a sweep's runs are
        raise ConfigError(
            f"--runs is the folder of a sweep's runs (--sweep NAME); a run is named by its path "
            f"({args.run}): leave --runs out"
        )
    run = Run.open(args.run)
    with run.writing():
        if not load_analyses(run):
            print("no analyses yet; running `neurodyn analyze` first", file=sys.stderr)
            analyze_run(run, progress=not args.quiet)
        print(write_report(run, progress=not args.quiet))


def _cmd_runs(args: argparse.Namespace) -> None:
    # the index and the metrics files only: listing runs imports no torch (a missing index is
    # rebuilt from the run folders by `list_runs`, which does)
    from neurodyn.runs._metrics import METRICS, logged_performance, read_metrics
    from neurodyn.runs.index import INDEX, read_index

    _runs_folder(args.runs)
    if args.sweep:
        _print_sweep(args.runs, args.sweep)
        return
    if (Path(args.runs) / INDEX).exists():
        records = read_index(args.runs)
    else:
        from neurodyn.runs import list_runs

        records = list_runs(args.runs)
    if not records:
        print(f"no runs under {args.runs}/ yet: try `neurodyn demo` or `neurodyn train CONFIG`")
        return
    rows = [("id", "tasks", "seeds", "steps", "status", "performance", "created")]
    for r in records:
        performance, logged_at = r.performance, None
        if not performance and r.status != "finished":
            # no final evaluation yet: what training last logged, labelled as such
            try:
                logged = logged_performance(read_metrics(Path(r.path) / METRICS))
            except NeurodynError:  # a folder gone or a damaged metrics.csv: nothing to show
                logged = None
            if logged is not None:
                logged_at, performance = logged
        rows.append(
            (
                r.id,
                _tasks_text(r.tasks),
                ",".join(map(str, r.seeds)),
                f"{r.steps_done}/{r.steps_total}",
                r.status,
                _performance_text(performance, logged_at),
                r.created,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(width) if i == 3 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


def _performance_text(performance: dict[str, float] | None, logged_at: int | None) -> str:
    """A run's performance in one table cell: per task for up to three tasks, else the mean
    and the worst task (a battery's 20 would not fit); `logged_at`: the step whose logged
    performance this is, for a run with no final evaluation yet."""
    if not performance:
        return "-"
    if len(performance) <= 3:
        text = ", ".join(f"{k} {v:.2f}" for k, v in performance.items())
    else:
        values = list(performance.values())
        text = f"mean {sum(values) / len(values):.2f}, min {min(values):.2f}"
    return text if logged_at is None else f"{text} (logged at step {logged_at})"


def _tasks_text(tasks: Sequence[str]) -> str:
    """A run's tasks for a table: their names joined by + up to three, else their number
    (the Yang battery's 20 names would break the table)."""
    return "+".join(tasks) if len(tasks) <= 3 else f"{len(tasks)} tasks"


def _print_sweep(root: str, name: str) -> None:
    from neurodyn.runs.sweep import sweep_table

    table = sweep_table(root, name)
    cells = table.cells()
    heads = [
        c.removeprefix("perf.").removeprefix("model.").removeprefix("train.") for c in table.columns
    ]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _cmd_fixedpoints(args: argparse.Namespace) -> None:
    from neurodyn.runs import Run

    _at_least(args.initial_states, 1, "--initial-states")
    _at_least(args.member, 0, "--member")
    if not 0 <= args.noise < math.inf:
        raise ConfigError(f"--noise must be a finite non-negative number, got {args.noise}")
    if args.interpolate and args.across_training:
        raise ConfigError(
            "--interpolate and --across-training are two searches: ask for one at a time"
        )
    if args.saddle_starts and (args.interpolate or args.across_training):
        raise ConfigError(
            "--saddle-starts applies to the search at one input, not to --interpolate or "
            "--across-training: leave it out, or run it on its own"
        )
    if args.interpolate and args.task is not None:
        raise ConfigError(
            "--task picks the task of one search; --interpolate names its two tasks (A B): "
            "leave --task out"
        )
    if args.interpolate and args.interpolate[0] == args.interpolate[1]:
        raise ConfigError(
            f"--interpolate {args.interpolate[0]} {args.interpolate[1]}: a task to itself "
            "gives one input at every alpha; name two of the run's tasks"
        )
    if args.member is not None and not (args.interpolate or args.across_training):
        raise ConfigError(
            "--member picks the network for --interpolate or --across-training; the search "
            "at one input covers every member: leave it out"
        )
    # one lock over the analyses, the fixed points and the report they update
    run = Run.open(args.run)
    with run.writing():
        _fixedpoints(run, args)


def _fixedpoints(run: Run, args: argparse.Namespace) -> None:
    from neurodyn.analysis.fixed_points import FixedPointOptions, refuse_spiking
    from neurodyn.report import write_report
    from neurodyn.runs import fixedpoints as fp
    from neurodyn.runs.analyze import analyze_run, load_analyses

    progress = not args.quiet
    if args.interpolate or args.across_training:
        # before the analyses the figures need, which a spiking run would run for nothing
        refuse_spiking(run.load_model(), "fixed points along interpolations and training")
    if not load_analyses(run):
        # the figures use the trajectories' principal components
        analyze_run(run, progress=progress)
    if args.interpolate:
        a, b = args.interpolate
        cont = fp.interpolate_run(
            run,
            a,
            b,
            epoch=args.epoch,
            member=args.member or 0,
            n_initial=args.initial_states or 256,
            noise=args.noise,
            progress=progress,
        )
        counts = cont.counts()
        print(f"{a} -> {b}: fixed points per alpha")
        for i, alpha in enumerate(cont.alphas):
            line = ", ".join(f"{counts[k][i]} {k}" for k in counts if counts[k][i])
            print(f"  alpha {alpha:.2f}: {line or 'none'}")
        changes = sorted({e["alpha"] for e in cont.events if e["kind"] == "stability"})
        if changes:
            print(
                "  a continued point changed stability at alpha "
                + ", ".join(f"{x:.2f}" for x in changes)
            )
    elif args.across_training:
        result = fp.across_training(
            run,
            task=args.task,
            epoch=args.epoch,
            member=args.member or 0,
            n_initial=args.initial_states or 256,
            noise=args.noise,
            progress=progress,
        )
        for i, step in enumerate(result.steps):
            summary = ", ".join(f"{v[i]} {k}" for k, v in result.counts.items() if v[i])
            print(
                f"step {step:>7}: {summary or 'none'}; W_rec |λ|>1: {result.n_outside_unit_circle[i]}"
            )
    else:
        found = fp.find_run_fixed_points(
            run,
            task=args.task,
            epoch=args.epoch,
            n_initial=args.initial_states or 1024,
            noise=args.noise,
            options=FixedPointOptions(saddle_starts=True) if args.saddle_starts else None,
            progress=progress,
        )
        for member in range(int(found.initial_member.max()) + 1):
            summary = ", ".join(f"{v} {k}" for k, v in found.count(member).items() if v)
            print(f"member {member}: {summary or 'no points found'}")
        if args.saddle_starts:
            by_start = found.points_by_start()
            print(
                "points reached per kind of start: "
                + ", ".join(f"{v} {k}" for k, v in by_start.items())
            )
    print(f"results in {run.path / 'analysis'}; report: {write_report(run, progress=progress)}")


def _cmd_dynamics(args: argparse.Namespace) -> None:
    from neurodyn.runs import Run

    chosen = [flag for flag in DYNAMICS if getattr(args, flag)]
    if not chosen:
        raise NeurodynError(
            "name what to compute: "
            + ", ".join(f"--{flag}" for flag in DYNAMICS)
            + " (one or several)"
        )
    _at_least(args.initial_states, 1, "--initial-states")
    _at_least(args.member, 0, "--member")
    _at_least(args.steps, 2, "--steps")
    _at_least(args.exponents, 1, "--exponents")
    _at_least(args.trajectories, 1, "--trajectories")
    for option, (name, used_by) in DYNAMICS_OPTIONS.items():
        if getattr(args, option) is not None and not used_by & set(chosen):
            # dropped, it would read as applied: `--cycles --member 1` as member 1's cycles
            raise ConfigError(
                f"{name} steers {', '.join(f'--{flag}' for flag in DYNAMICS if flag in used_by)}"
                f", not {', '.join(f'--{flag}' for flag in chosen)}: leave it out or add one"
            )
    # one lock over the results and the report they update
    run = Run.open(args.run)
    if "escape" in chosen:
        from neurodyn.runs.escape import escape_noise_levels

        escape_noise_levels(run, args.sigma)  # refused before the other analyses run
    with run.writing():
        _dynamics(run, args, chosen)


def _dynamics(run: Run, args: argparse.Namespace, chosen: list[str]) -> None:
    from neurodyn.report import write_report
    from neurodyn.runs.analyze import analyze_run, load_analyses

    progress = not args.quiet
    if not load_analyses(run):
        analyze_run(run, progress=progress)  # the report's sections hang on the analyses
    for flag in chosen:
        DYNAMICS[flag](run, args, progress)
    print(f"results in {run.path / 'analysis'}; report: {write_report(run, progress=progress)}")


def _dynamics_cycles(run: Run, args: argparse.Namespace, progress: bool) -> None:
    from neurodyn.runs.dynamics import run_limit_cycles

    cycles = run_limit_cycles(
        run,
        task=args.task,
        epoch=args.epoch,
        n_initial=args.initial_states or 32,
        progress=progress,
    )
    if not len(cycles):
        print(f"limit cycles: none ({cycles.reason})")
    unit = "ms" if cycles.continuous_time else "steps"
    for i in range(len(cycles)):
        print(
            f"member {cycles.member[i]}: limit cycle, period {cycles.period[i]:.4g} {unit} "
            f"({cycles.period_steps[i]:.3f} steps), {cycles.stability[i]}, largest Floquet "
            f"multiplier |μ| = {abs(cycles.multipliers[i, 0]):.3f}"
        )


def _dynamics_lyapunov(run: Run, args: argparse.Namespace, progress: bool) -> None:
    from neurodyn.runs.dynamics import run_lyapunov

    spectrum = run_lyapunov(
        run,
        task=args.task,
        epoch=args.epoch,
        n_initial=args.initial_states or 8,
        n_exponents=args.exponents,
        n_steps=args.steps or 2000,
        progress=progress,
    )
    scale, unit = (1e3, "1/s") if spectrum.continuous_time else (1.0, "per step")
    for member in range(int(spectrum.member.max()) + 1):
        top = ", ".join(f"{scale * v:.3g}" for v in spectrum.mean(member)[:4])
        dimension = spectrum.kaplan_yorke[spectrum.member == member].mean()
        print(
            f"member {member}: Lyapunov exponents {top}, ... {unit}; Kaplan-Yorke dimension "
            + (f"{dimension:.2f}" if math.isfinite(dimension) else "undetermined (ask for more)")
        )


def _dynamics_escape(run: Run, args: argparse.Namespace, progress: bool) -> None:
    import numpy as np

    from neurodyn.runs.escape import run_escape

    found = run_escape(
        run,
        sigmas=args.sigma,
        task=args.task,
        epoch=args.epoch,
        n_steps=2000 if args.steps is None else args.steps,
        n_per_attractor=32 if args.trajectories is None else args.trajectories,
        progress=progress,
    )
    print(f"escape between the memories of {found.task} ({found.epoch} input)")
    for member in range(found.attractors.shape[0]):
        n_memories = int((~np.isnan(found.attractors[member]).any(-1)).sum())
        parts = []
        for result in found.escapes:
            switches = int(result.counts[member].sum())
            held = float(result.time_held[member].sum())
            life = f"{held / switches:.4g} ms" if switches else f"> {held:.4g} ms"
            parts.append(f"sigma {result.sigma:g}: {switches} switches, lifetime {life}")
        print(f"member {member}: {n_memories} memories; " + "; ".join(parts))


def _dynamics_koopman(run: Run, args: argparse.Namespace, progress: bool) -> None:
    from neurodyn.runs.dynamics import run_koopman

    member = args.member or 0
    koopman = run_koopman(
        run,
        task=args.task,
        epoch=args.epoch,
        member=member,
        n_initial=args.initial_states or 64,
        n_steps=args.steps or 100,
        progress=progress,
    )
    lead = ", ".join(f"{v:.3f}" for v in koopman.eigenvalues[:4])
    print(f"member {member}: {len(koopman)} Koopman eigenvalues (per step), leading {lead}")


# `neurodyn dynamics` flags, each one function (run, args, progress) in this order
DYNAMICS = {
    "cycles": _dynamics_cycles,
    "lyapunov": _dynamics_lyapunov,
    "koopman": _dynamics_koopman,
    "escape": _dynamics_escape,
}
# `neurodyn dynamics` options that steer only some analyses: attribute, option, the analyses
DYNAMICS_OPTIONS = {
    "sigma": ("--sigma", {"escape"}),
    "trajectories": ("--trajectories", {"escape"}),
    "member": ("--member", {"koopman"}),
    "initial_states": ("--initial-states", {"cycles", "lyapunov", "koopman"}),
    "steps": ("--steps", {"lyapunov", "koopman", "escape"}),
    "exponents": ("--exponents", {"lyapunov"}),
}


def _cmd_compare(args: argparse.Namespace) -> None:
    from neurodyn.report.compare import write_comparison_report
    from neurodyn.runs import Run
    from neurodyn.runs.compare import (
        compare_runs,
        comparison_folder,
        comparison_setup,
        save_comparison,
        sweep_runs,
    )
    from neurodyn.runs.config import check_name

    if args.runs is not None:
        _runs_folder(args.runs)
    _at_least(args.trials, 1, "--trials")
    if args.name is not None:
        check_name(args.name, "--name")  # before the comparison is computed
    runs = [Run.open(path) for path in args.runs_to_compare]
    if args.sweep:
        runs += sweep_runs(_sweep_folder(args.runs or "runs", args.sweep), args.sweep)
    if not runs:
        raise NeurodynError("name the runs to compare (RUN ...) or a sweep (--sweep NAME)")
    # without --runs, the comparison goes beside the runs it compares (where `neurodyn serve`
    # of their folder finds it), not into a ./runs the user may never have made
    parents = {run.path.parent for run in runs}
    root = args.runs or (str(parents.pop()) if len(parents) == 1 else "runs")
    if args.name is not None:
        comparison_folder(root, args.name, args.metric)  # one that exists: refused before the work
    result = compare_runs(runs, args.metric, n_trials=args.trials, progress=not args.quiet)
    folder = save_comparison(result, root, args.name)
    setup = comparison_setup(runs, args.metric, n_trials=args.trials)
    report = write_comparison_report(folder / "report.html", result, setup=setup.describe())
    print(f"{len(result.labels)} networks compared with {result.metric}; report: {report}")


def _cmd_sweep(args: argparse.Namespace) -> None:
    from neurodyn.runs.sweep import load_sweep, run_sweep

    _runs_folder(args.runs)
    _at_least(args.workers, 1, "--workers")
    sweep = load_sweep(args.sweep_file)
    print(f"sweep {sweep.name}: {len(sweep.runs)} runs in {args.runs}")
    runs = run_sweep(
        sweep,
        args.runs,
        workers=args.workers,
        progress=not args.quiet,
        backend=args.backend,
        address=args.address,
    )
    for run in runs:
        info = run.info()
        text = ", ".join(f"{k} {v:.3f}" for k, v in (info.performance or {}).items())
        print(f"{run.id}: {info.status}{'; ' + text if text else ''}")
    print(
        f"table: neurodyn runs --sweep {sweep.name} --runs {args.runs}; report: neurodyn report "
        f"--sweep {sweep.name} --runs {args.runs}; compare the networks: neurodyn compare "
        f"--sweep {sweep.name} --runs {args.runs}"
    )


def _cmd_study(args: argparse.Namespace) -> None:
    from neurodyn import studies

    _runs_folder(args.runs)
    if args.list or args.name is None:
        for name in studies.names():
            study = studies.get(name)
            print(f"{name:18s} {study.title}")
            if variants := study.variants():
                print(f"{'':18s} variants (--variant): {', '.join(variants)}")
        if args.name is None and not args.list:
            raise ConfigError("name a study to run (the list above), e.g. neurodyn study yang19")
        return
    if args.zoo and not args.pretrained:
        raise ConfigError("--zoo names where --pretrained finds the networks: add --pretrained")
    if args.pretrained:
        if args.config or args.quick or args.variant or args.no_train:
            raise ConfigError(
                "--pretrained analyses the zoo's networks under the config that trained them: "
                "drop --config, --variant, --quick and --no-train"
            )
        from neurodyn import zoo

        output = zoo.pretrained_study(args.name, args.runs, zoo=args.zoo, progress=not args.quiet)
        print(output.summary)
        print(f"study results and report in {output.folder}")
        return
    out = studies.run(
        args.name,
        root=args.runs,
        config_path=args.config,
        quick=args.quick,
        progress=not args.quiet,
        train=not args.no_train,
        variant=args.variant,
    )
    print(f"study results and report in {out}")


def _cmd_demo(args: argparse.Namespace) -> None:
    from neurodyn.demo import run_demo

    _runs_folder(args.runs)
    _at_least(args.steps, 1, "--steps")
    run, report = run_demo(args.runs, steps=args.steps, progress=not args.quiet)
    perf = run.info().performance or {}
    print("demo network performance: " + ", ".join(f"{k} {v:.3f}" for k, v in perf.items()))
    print(f"report: {report}")


def _cmd_zoo(args: argparse.Namespace) -> None:
    from neurodyn import zoo

    if args.zoo_command == "list":
        _zoo_list(args.zoo)
    elif args.zoo_command == "get":
        _runs_folder(args.runs)
        entry = zoo.entry(args.name, args.zoo)
        if entry.kind == "files":
            folder = zoo.get_study_files(entry, args.runs, zoo=args.zoo)
            print(f"zoo entry {args.name}: {len(entry.files)} trained files in {folder}")
            print(f"use them: neurodyn study {entry.study} --runs {args.runs}")
            return
        run = zoo.get(args.name, args.runs, zoo=args.zoo)
        print(f"zoo network {args.name} in {run.path}")
        print(
            f"analyse it: neurodyn analyze {run.path}; neurodyn fixedpoints {run.path}; "
            f"neurodyn report {run.path}"
        )
        command = zoo.headline_command(entry.headline, run.path) if entry.headline else None
        if command is not None:
            # the CLI's default search may find fewer saddles than the headline's
            print(f"its headline ({zoo.headline_text(entry.headline)}): {command}")
    elif args.zoo_command == "add":
        progress = not args.quiet
        if args.study is not None and args.run is None:
            added = zoo.add_study(
                args.study,
                args.runs,
                config_path=args.config,
                quick=args.quick,
                variant=args.variant,
                headline_kind=args.headline,
                replace=args.replace,
                interim=args.interim,
                eval_trials=args.eval_trials,
                zoo=args.zoo,
                progress=progress,
            )
        else:
            if args.run is None or args.name is None:
                raise ConfigError("zoo add needs RUN and NAME (or --study STUDY --runs RUNS)")
            study_config = None
            if args.study is not None:
                from neurodyn import studies

                study_config = studies.load_config(
                    studies.get(args.study), args.config, quick=args.quick, variant=args.variant
                ).to_dict()
            added = [
                zoo.add(
                    args.run,
                    args.name,
                    description=args.description or "",
                    headline_kind=args.headline,
                    study=args.study,
                    study_config=study_config,
                    replace=args.replace,
                    interim=args.interim,
                    eval_trials=args.eval_trials,
                    zoo=args.zoo,
                    progress=progress,
                )
            ]
        for entry in added:
            if entry.kind == "files":
                print(f"added {entry.name}: {len(entry.files)} trained files")
                continue
            print(
                f"added {entry.name}"
                + (f" ({entry.budget_text})" if entry.interim else "")
                + f": performance {zoo.performance_text(entry.performance)}; "
                f"headline {zoo.headline_text(entry.headline)}"
            )
        print(f"the zoo now holds {zoo.total_bytes(args.zoo) / 2**20:.2f} MiB")
    else:
        result = zoo.rebuild(args.name, runs=args.runs, zoo=args.zoo, progress=not args.quiet)
        print("\n".join(result.lines()))
        if not result.agrees:
            raise NeurodynError(
                f"zoo network {args.name} was not reproduced (see the lines above): report it "
                "with them and `neurodyn --version`"
            )


def _zoo_list(folder: str | None) -> None:
    from neurodyn import studies, zoo

    entries = zoo.entries(folder)
    rows = [
        (
            e.name,
            e.study or "-",
            _tasks_text(e.tasks),
            f"{len(e.seeds)}x{e.n_hidden}",
            f"{e.steps}/{e.planned_steps}" if e.interim else str(e.steps),
            f"{e.mean_performance:.3f}",
            f"{e.size_bytes(folder) / 1e6:.2f}",
            zoo.headline_text(e.headline) if e.headline else "",
        )
        if e.kind == "run"
        # a study's trained files (circuits): no tasks, budget or performance of their own
        else (
            e.name,
            e.study or "-",
            "-",
            f"{len(e.files)} files",
            "-",
            "-",
            f"{e.size_bytes(folder) / 1e6:.2f}",
            e.description,
        )
        for e in entries
    ]
    header = ("name", "study", "tasks", "networks", "steps", "perf", "MB", "headline")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    print(f"\n{len(entries)} entries, {zoo.total_bytes(folder) / 2**20:.2f} MiB")
    if folder is None:
        coverage = zoo.coverage()
        waiting = [s for s, state in coverage.items() if state == "not shipped"]
        tied = [s for s, state in coverage.items() if state == "tied to its folder"]
        if tied:
            print(f"cannot be shipped yet (run configs name their runs folder): {', '.join(tied)}")
        if waiting:
            print(
                f"not yet shipped: {', '.join(waiting)} (train with `neurodyn study NAME "
                "--runs RUNS`, then `neurodyn zoo add --study NAME --runs RUNS`)"
            )
        outside = [s for s, state in coverage.items() if state in ("not runs", "shipped in part")]
        if outside:
            trained = "; ".join(f"{s}: {studies.get(s).trains_outside_runs}" for s in outside)
            print(f"trained by the study, not shipped (not runs): {trained}")


class _Parser(argparse.ArgumentParser):
    """argparse, whose usage errors are a one-line `ConfigError` like every other error."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.prog}: {message} (see {self.prog} --help)")


def _cmd_fit(args: argparse.Namespace) -> None:
    from pathlib import Path

    from neurodyn._yaml import read_yaml
    from neurodyn.analysis import recovery_table
    from neurodyn.fit import fit_recording
    from neurodyn.runs import Run
    from neurodyn.runs.config import check_name
    from neurodyn.runs.recovery import saved_recovery
    from neurodyn.tasks import RecordingTask

    _runs_folder(args.runs)
    if args.name is not None:
        check_name(args.name, "--name")
    config = args.config
    if args.rates:
        if config is not None and not Path(config).is_file():
            raise ConfigError(f"fit config {config} does not exist")
        config = {**((read_yaml(config) or {}) if config else {}), "method": "rates"}
    truth = None
    if args.truth is not None:
        truth = Path(args.truth)
        if not Run.is_run(truth) and not truth.exists():
            from neurodyn import zoo
            from neurodyn.errors import ZooEntryNotFound

            try:
                truth = zoo.load(args.truth).path  # a zoo network by name
            except ZooEntryNotFound as err:
                # --truth takes a run folder too: say that none is there either
                raise ZooEntryNotFound(
                    f"--truth {excerpt(args.truth)}: no run at that path, and {err}"
                ) from None
    run = fit_recording(
        args.data,
        config,
        runs=args.runs,
        name=args.name,
        truth=truth,
        truth_member=args.truth_member,
        n_starts=args.starts,
        progress=not args.quiet,
    )
    summary = ", ".join(f"{k} {v:.3f}" for k, v in (run.info().performance or {}).items())
    task = run.task
    explained = (
        "deviance"
        if not isinstance(task, RecordingTask) or task.observation_model == "poisson"
        else "variance"
    )
    print(f"{run.path}  ({explained} explained: {summary})")
    rows = saved_recovery(run)
    if rows:
        print(recovery_table(rows))


def _cmd_serve(args: argparse.Namespace) -> None:
    try:
        from neurodyn.serve import serve
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in ("starlette", "uvicorn", "plotly"):
            raise
        raise NeurodynError(
            f"neurodyn serve needs {(err.name or '').split('.')[0]}, part of the serve extra: "
            f"install it with `{install_hint('serve')}`"
        ) from None
    serve(_runs_folder(args.runs), host=args.host, port=args.port)


class _VersionAction(argparse.Action):
    """`--version`, whose text (torch's version among them) is made only when asked for:
    importing torch to build the parser cost every command, `--help` included, a second."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        print(versions_line(versions()))
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="neurodyn", description="Train RNNs on cognitive tasks and analyse their dynamics."
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the versions of neurodyn, torch and numpy",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("tasks", help="list every task with its sizes")
    p.set_defaults(func=_cmd_tasks)

    p = sub.add_parser("train", help="train a run from a YAML config, or resume one")
    p.add_argument("config", nargs="?", help="YAML config (see configs/)")
    p.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint")
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--name", help="run directory name (default: timestamp-configname)")
    p.add_argument(
        "--stop-at", type=int, metavar="STEP", help="stop at STEP, leaving the run resumable"
    )
    p.add_argument(
        "--steps",
        type=int,
        metavar="N",
        help="with --resume: train on to N steps in all, past the config's (a finished run too)",
    )
    p.add_argument(
        "--log-to",
        action="append",
        choices=("tensorboard", "mlflow"),
        help="also send the metrics to RUN/tensorboard/ or RUN/mlruns/ (repeatable; adds to "
        "train.log_to)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "fit",
        help="fit latent networks (or the fast rate fit) to a recording (.npz or .nwb), "
        "written as a run",
    )
    p.add_argument("data", help="the recording: an .npz (neurodyn.data) or an NWB file")
    p.add_argument(
        "--config",
        help="fit config (YAML): recording split and loading, model, train (see neurodyn.fit)",
    )
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--name", help="run directory name (default: timestamp-fit-DATA)")
    p.add_argument(
        "--rates",
        action="store_true",
        help="the fast rate fit (one unit per neuron, ridge regression; method: rates)",
    )
    p.add_argument(
        "--truth",
        metavar="RUN",
        help="the run (or zoo network) that made DATA, a synthetic recording saved with its "
        "truth: score the fit's recovery of its dynamics",
    )
    p.add_argument("--truth-member", type=int, help="the truth run's member (default 0)")
    p.add_argument(
        "--starts",
        type=int,
        help="with --truth: starts of each fixed-point search (default 128)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("analyze", help="run the analyses of a trained run")
    p.add_argument("run")
    p.add_argument(
        "--member", type=int, help="which ensemble member (default 0; the plain analyses)"
    )
    p.add_argument(
        "--motifs",
        action="store_true",
        help="the motif analysis instead (task-period variance, Ward clusters, motif blocks, "
        "cluster lesions per period) of every member; needs tasks with periods",
    )
    p.add_argument(
        "--task-variance",
        action="store_true",
        help="Yang et al.'s task variance instead: each member's normalised variance per task, "
        "its unit clusters and the effect of lesioning each cluster; needs several tasks",
    )
    p.add_argument(
        "--trials",
        type=int,
        help="with --motifs or --task-variance: trials per task (default 128 and 256)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("report", help="write RUN/report.html (or a sweep's report)")
    p.add_argument("run", nargs="?")
    p.add_argument(
        "--sweep", metavar="NAME", help="a sweep's report: metrics against its hyper-parameters"
    )
    p.add_argument("--runs", help="folder of runs, for --sweep (default: runs)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("runs", help="list the runs in the run index")
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--sweep", metavar="NAME", help="the table of one sweep's trials")
    p.set_defaults(func=_cmd_runs)

    p = sub.add_parser(
        "fixedpoints",
        help="fixed and slow points of a run (per epoch input, along a rule interpolation, "
        "or across training)",
    )
    p.add_argument("run")
    p.add_argument("--task", help="which of the run's tasks (default: its first)")
    p.add_argument(
        "--epoch", help="whose constant input to use (default: delay, memory or stimulus)"
    )
    p.add_argument(
        "--member",
        type=int,
        help="ensemble member for --interpolate or --across-training (default 0)",
    )
    p.add_argument(
        "--initial-states",
        type=int,
        help="starts per member (default 1024; 256 per alpha or checkpoint)",
    )
    p.add_argument(
        "--noise",
        type=float,
        default=0.1,
        help="noise added to the starts, in units of the states' spread (default 0.1)",
    )
    p.add_argument(
        "--interpolate",
        nargs=2,
        metavar=("A", "B"),
        help="follow the fixed points as the input moves from task A's to task B's",
    )
    p.add_argument(
        "--across-training",
        action="store_true",
        help="fixed points at every set of weights kept during training",
    )
    p.add_argument(
        "--saddle-starts",
        action="store_true",
        help="search again half-way between each pair of stable points found (the saddles)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_fixedpoints)

    p = sub.add_parser(
        "dynamics",
        help="limit cycles, Lyapunov spectra, Koopman modes and noise-driven escape of a run",
    )
    p.add_argument("run")
    p.add_argument("--cycles", action="store_true", help="limit cycles and Floquet multipliers")
    p.add_argument("--lyapunov", action="store_true", help="Lyapunov spectrum (QR method)")
    p.add_argument("--koopman", action="store_true", help="Koopman eigenvalues (extended DMD)")
    p.add_argument(
        "--escape",
        action="store_true",
        help="switching between the memories (stable points) under the network's own noise",
    )
    p.add_argument(
        "--sigma",
        type=float,
        nargs="+",
        help="noise levels for --escape, sigma_rec units (default: the run's training noise)",
    )
    p.add_argument(
        "--trajectories",
        type=int,
        help="--escape: trajectories started at each memory (default 32)",
    )
    p.add_argument("--task", help="which of the run's tasks (default: its first)")
    p.add_argument(
        "--epoch", help="whose constant input to use (default: delay, memory or stimulus)"
    )
    p.add_argument("--member", type=int, help="ensemble member for --koopman (default 0)")
    p.add_argument(
        "--initial-states",
        type=int,
        help="starts per member (default 32 for --cycles, 8 for --lyapunov, 64 for --koopman)",
    )
    p.add_argument(
        "--steps",
        type=int,
        help="steps per trajectory (default 2000 for --lyapunov and --escape, 100 for --koopman)",
    )
    p.add_argument("--exponents", type=int, help="how many Lyapunov exponents (default: up to 10)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_dynamics)

    p = sub.add_parser("compare", help="compare the networks of runs (every member) pairwise")
    p.add_argument("runs_to_compare", nargs="*", metavar="RUN", help="run folders")
    p.add_argument(
        "--sweep",
        help="also every run in --runs whose id starts with NAME- (or matches a glob, 'sb-*-gated')",
    )
    p.add_argument(
        "--metric",
        default="cka",
        help="cka, rbf_cka, procrustes, cca, svcca, rsa, dsa (default cka)",
    )
    p.add_argument("--trials", type=int, default=32, help="trials of the task (default 32)")
    p.add_argument(
        "--runs",
        help="runs folder: the sweep's runs and compare-NAME/ (default: the compared runs' "
        "folder, else runs)",
    )
    p.add_argument("--name", help="name of the comparison folder")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("sweep", help="train every run of a grid over a base config")
    p.add_argument("sweep_file", metavar="SWEEP", help="sweep YAML: name, base (or config), grid")
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--workers", type=int, default=1, help="runs trained at once (default 1)")
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local processes (default) or a Ray cluster (pip install 'neurodyn[ray]')",
    )
    p.add_argument(
        "--address",
        help="Ray cluster to join ('auto': the running one; default: start one in-process)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("study", help="reproduce a paper: train, measure, report")
    p.add_argument("name", nargs="?", help="the study (neurodyn study --list names them)")
    p.add_argument("--list", action="store_true", help="list the studies and their papers")
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--config", help="study config YAML (default: the study's own)")
    p.add_argument(
        "--variant", help="a variant config of the study (neurodyn study --list names them)"
    )
    p.add_argument("--quick", action="store_true", help="a tiny version, to check it runs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--no-train",
        action="store_true",
        help="analyse the runs as they are (an unfinished run at its last checkpoint)",
    )
    p.add_argument(
        "--pretrained",
        action="store_true",
        help="analyse and report the zoo's networks of the study, without training",
    )
    p.add_argument("--zoo", help="with --pretrained: another zoo folder than the package's")
    p.set_defaults(func=_cmd_study)

    p = sub.add_parser(
        "zoo", help="trained networks shipped with neurodyn: list, get, add, rebuild"
    )
    p.set_defaults(func=_cmd_zoo)
    zoo_sub = p.add_subparsers(dest="zoo_command", required=True, metavar="ZOO_COMMAND")
    zoo_help = "another zoo folder than the package's (default: the package's)"
    q = zoo_sub.add_parser("list", help="the networks of the zoo, as a table")
    q.add_argument("--zoo", help=zoo_help)
    q = zoo_sub.add_parser("get", help="copy a zoo network into a runs folder, as a run")
    q.add_argument("name")
    q.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    q.add_argument("--zoo", help=zoo_help)
    q = zoo_sub.add_parser(
        "add", help="put a finished run (or every run of a study) into the zoo, with checksums"
    )
    q.add_argument("run", nargs="?", help="the finished run")
    q.add_argument("name", nargs="?", help="its name in the zoo")
    q.add_argument("--description", help="what the networks are, in a line")
    q.add_argument(
        "--headline",
        choices=("fixed_points", "outliers"),
        help="the analysis result the entry promises to reproduce",
    )
    q.add_argument(
        "--study",
        help="the study whose run RUN is; without RUN NAME, add every run of the study "
        "trained under --runs",
    )
    q.add_argument("--runs", default="runs", help="with --study alone: its folder of runs")
    q.add_argument("--config", help="with --study: the study config that trained them")
    q.add_argument("--variant", help="with --study: the variant that trained them")
    q.add_argument("--quick", action="store_true", help="with --study: its quick config")
    q.add_argument("--replace", action="store_true", help="replace entries of the same name")
    q.add_argument(
        "--interim",
        action="store_true",
        help="ship unfinished runs at their last checkpoint, labelled as such",
    )
    q.add_argument(
        "--eval-trials",
        type=int,
        default=512,
        help="fresh trials per task and member for the stated performance (default 512)",
    )
    q.add_argument("--quiet", action="store_true", help="no progress lines")
    q.add_argument("--zoo", help=zoo_help)
    q = zoo_sub.add_parser(
        "rebuild", help="retrain a zoo network from its config and compare with the shipped one"
    )
    q.add_argument("name")
    q.add_argument(
        "--runs", help="keep the retrained run in this folder (default: a temporary one)"
    )
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.add_argument("--zoo", help=zoo_help)

    p = sub.add_parser(
        "demo", help="train a small network on pdm and dlygo, analyse it, write its report"
    )
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--steps", type=int, help="training steps (default 3000)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("serve", help="explore the runs in a browser (a local web app)")
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    p.set_defaults(func=_cmd_serve)
    return parser


def _one_line(message: str) -> str:
    """`message` on one line of printable text: it may quote a name or value from a file or
    the command line, which must not move the cursor or colour the terminal."""
    return "".join(c if c.isprintable() else "?" for c in " ".join(message.split()))


def main(argv: Sequence[str] | None = None) -> int:
    # every command writes its figures to files: no window opens, and no display is needed
    matplotlib.use("Agg")
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:
            # parse_args would blame the top-level command and point at its --help; name the
            # subcommand, and only the options it does not know (a value after an unknown
            # option is taken for a positional)
            command = " ".join(
                c for c in (args.command, getattr(args, "zoo_command", None)) if c is not None
            )
            unknown = [a for a in extra if a.startswith("-")] or extra
            raise ConfigError(
                f"neurodyn {command}: unknown argument(s) {' '.join(unknown)} (see neurodyn "
                f"{command} --help)"
            )
        with warnings.catch_warnings(), _freed_memory_kept(args.command):
            warnings.showwarning = _show_warning
            args.func(args)
    except NeurodynError as err:
        print(f"neurodyn: error: {_one_line(str(err))}", file=sys.stderr)
        return 2
    except OSError as err:
        # the machine refused (permissions, a full disk, a read-only folder): not a bug of
        # ours, so one line naming the file and no traceback
        where = f" ({err.filename})" if err.filename else ""
        print(f"neurodyn: error: {_one_line(err.strerror or str(err))}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        run = _interrupted_run(args) if "args" in locals() else None
        interrupted = getattr(args, "command", None) if "args" in locals() else None
        if run is not None:
            how = f"; continue it with `neurodyn train --resume {run}`"
        elif interrupted in (*TRAINING_COMMANDS, "fit", None):
            how = "; a training run can be continued with `neurodyn train --resume RUN`"
        else:  # an analysis, a report, a comparison: nothing to resume, run it again
            how = ""
        print(f"\nneurodyn: interrupted{how}", file=sys.stderr)
        return 130
    return 0


def _interrupted_run(args: argparse.Namespace) -> Path | None:
    """The run a Ctrl-C stopped `neurodyn train` in, for the message: the one resumed or
    named, else the newest interrupted run of the runs folder (a new run's name is made
    inside training). None for other commands or where there is none."""
    if getattr(args, "command", None) != "train" or sys.modules.get("neurodyn.runs") is None:
        # a Ctrl-C while torch was still being imported: no run was made yet, and importing
        # again would fail on the half-imported torch with a page of traceback
        return None
    from neurodyn.runs import Run

    if args.resume:
        return Path(args.resume)
    root = Path(args.runs)
    if args.name is not None:
        return root / args.name if Run.is_run(root / args.name) else None
    interrupted = [
        p
        for p in (root.iterdir() if root.is_dir() else [])
        if Run.is_run(p) and Run(p).info().status == "interrupted"
    ]
    return max(interrupted, key=lambda p: p.stat().st_mtime, default=None)


_show_python_warning = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Our own warnings as one line, like our errors; the rest as Python shows them."""
    if issubclass(category, NeurodynWarning):
        print(f"neurodyn: warning: {message}", file=file or sys.stderr)
    else:
        _show_python_warning(message, category, filename, lineno, file, line)


@contextlib.contextmanager
def _freed_memory_kept(command: str) -> Iterator[None]:
    """For a training command, ask this process and the workers it starts to keep freed memory
    for reuse (`NEURODYN_MALLOC=keep`, see neurodyn._malloc), unless the user set the variable."""
    if command not in TRAINING_COMMANDS or "NEURODYN_MALLOC" in os.environ:
        yield
        return
    os.environ["NEURODYN_MALLOC"] = "keep"
    try:
        yield
    finally:
        os.environ.pop("NEURODYN_MALLOC", None)


if __name__ == "__main__":
    sys.exit(main())
